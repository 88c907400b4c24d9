"""NameChangeRequests: what kea-dhcp-ddns is asked to do, in its wire format.

Theory of operation
-------------------

A DHCP server does not talk to DNS itself: it sends *NameChangeRequests*
(NCRs) to ``kea-dhcp-ddns``, which updates the forward (A/AAAA) and reverse
(PTR) records.  leased sends them for the lease commands that touch DNS
(``lease4/6-resend-ddns`` adds, ``lease4/6-del`` with ``update-ddns``
removes) and for expired-lease reclamation (removes).  This module builds
them from a lease; it does no I/O.

An NCR is built from the lease as Kea 2.2 builds it:

* ``fqdn``: the lease's hostname as an absolute DNS name (a trailing dot
  added).  A single-label hostname (no dot) is a partial name; it is
  qualified with the subnet's ``ddns-qualifying-suffix`` when one is
  configured, as Kea's DHCP servers qualify a partial name from a client
  (Kea's lease commands send such a name unqualified, which no DNS zone
  below the root accepts).
* ``dhcid``: the DHCID RDATA of RFC 4701: a 2-byte identifier type, the
  digest type 1 (SHA-256), and the SHA-256 digest of the identifier followed
  by the FQDN in wire form (lower-cased labels, each after its length byte,
  ending with the root's 0 byte).  The identifier is, for IPv4, the
  client-id (type 1), or the DUID inside an RFC 4361 client-id (first byte
  255; type 2), or else the hardware type and address (type 0); for IPv6,
  the DUID (type 2).
* ``lease-length``: the DNS TTL: ``valid-lft / 3``, but at least 600 s
  (RFC 4702); or ``ddns-ttl-percent`` of ``valid-lft`` when the subnet sets
  one (Kea 2.4's rule).
* ``lease-expires-on``: ``cltt`` plus that TTL (not the lease's expiry;
  Kea 2.2 computes it so), as ``YYYYMMDDHHMMSS`` in UTC.
* ``use-conflict-resolution``: the subnet's
  ``ddns-use-conflict-resolution`` (true when the subnet is not configured).

On the wire an NCR is one UDP datagram: a 2-byte big-endian length, then
that many bytes of JSON with the keys in Kea's fixed order and no spaces.
Kea writes the FQDN into its JSON unescaped; leased escapes it as JSON
requires, which is byte-identical for ordinary names and still readable by
kea-dhcp-ddns for names holding a quote or a backslash.

A lease gets no NCR unless it has a hostname and at least one of
``fqdn-fwd``/``fqdn-rev``, and, for IPv6, is an address (not a prefix);
:func:`qualifies` tells.  :func:`build` raises :class:`NcrError` for a
lease whose hostname is not a valid DNS name or that has no identifier to
compute the DHCID from.
"""

from __future__ import annotations

import hashlib
import time
from typing import Final

import attrs
import orjson

from leased.model import TYPE_PD, Family, Lease, Lease4, Lease6

# Change types, as numbered on the wire.
CHG_ADD: Final = 0
CHG_REMOVE: Final = 1
CHANGE_WORDS: Final = ("add", "remove")

# DHCID identifier types (RFC 4701, section 3.3).
DHCID_HW_ADDRESS: Final = 0
DHCID_CLIENT_ID: Final = 1
DHCID_DUID: Final = 2

HTYPE_ETHER: Final = 1
MAX_LABEL: Final = 63
MAX_WIRE_NAME: Final = 255
# The lease-length used when a lifetime is short (RFC 4702, section 5).
MIN_TTL: Final = 600
UINT32_MAX: Final = (1 << 32) - 1

# Characters a DNS name's text form escapes with a backslash.
_SPECIAL: Final = frozenset(b'"().;\\@$')


class NcrError(ValueError):
    """A lease cannot be turned into a NameChangeRequest; the text says why."""


@attrs.frozen
class DdnsSettings:
    """What a lease's subnet contributes to its NCR.

    Attributes:
        qualifying_suffix: Appended to single-label hostnames ("" for none).
        use_conflict_resolution: Sent as ``use-conflict-resolution``.
        ttl_percent: ``ddns-ttl-percent``, or None when not configured.
    """

    qualifying_suffix: str = ""
    use_conflict_resolution: bool = True
    ttl_percent: float | None = None


@attrs.frozen
class NameChangeRequest:
    """One request to kea-dhcp-ddns, in the fields of its JSON form."""

    change_type: int
    forward_change: bool
    reverse_change: bool
    fqdn: str
    ip_address: str
    dhcid: str
    lease_expires_on: int
    lease_length: int
    use_conflict_resolution: bool = True

    def to_json(self) -> bytes:
        """The JSON text, with Kea's key order and no spaces."""
        fqdn = orjson.dumps(self.fqdn).decode()
        return (
            f'{{"change-type":{self.change_type},'
            f'"forward-change":{_json_bool(self.forward_change)},'
            f'"reverse-change":{_json_bool(self.reverse_change)},'
            f'"fqdn":{fqdn},'
            f'"ip-address":"{self.ip_address}",'
            f'"dhcid":"{self.dhcid}",'
            f'"lease-expires-on":"{format_time(self.lease_expires_on)}",'
            f'"lease-length":{self.lease_length},'
            f'"use-conflict-resolution":'
            f"{_json_bool(self.use_conflict_resolution)}}}"
        ).encode()

    def encode(self) -> bytes:
        """The datagram: a 2-byte big-endian length, then the JSON text."""
        body = self.to_json()
        return len(body).to_bytes(2, "big") + body

    def fields(self) -> tuple[str, str, str]:
        """What logs show of a request: change (add/remove), FQDN, address."""
        return CHANGE_WORDS[self.change_type], self.fqdn, self.ip_address


def _json_bool(value: bool) -> str:
    return "true" if value else "false"


def decode(datagram: bytes) -> dict[str, object]:
    """Read a datagram back into its JSON map (for tests and tools).

    Raises:
        NcrError: The length prefix does not match or the body is not a
            JSON map.
    """
    if len(datagram) < 2:
        raise NcrError("datagram shorter than its length prefix")
    length = int.from_bytes(datagram[:2], "big")
    if length != len(datagram) - 2:
        raise NcrError(
            f"length prefix says {length} bytes, the datagram carries "
            f"{len(datagram) - 2}"
        )
    try:
        value = orjson.loads(datagram[2:])
    except orjson.JSONDecodeError as error:
        raise NcrError(f"not JSON: {error}") from None
    if not isinstance(value, dict):
        raise NcrError("the JSON text is not a map")
    return value


def format_time(seconds: int) -> str:
    """Render a time as ``YYYYMMDDHHMMSS`` in UTC, as Kea's NCRs do."""
    return time.strftime("%Y%m%d%H%M%S", time.gmtime(seconds))


# DNS names.


def name_labels(text: str) -> list[bytes]:
    """Parse a DNS name in text form into its labels (the root excluded).

    Follows the master-file rules Kea's ``dns::Name`` applies: labels are
    separated by dots, ``\\X`` stands for the character X and ``\\DDD`` for
    the byte with decimal value DDD; a final dot is optional.

    Raises:
        NcrError: An empty label, a label over 63 bytes, a name over 255
            bytes in wire form, or a bad escape.
    """
    data = text.encode()
    if data == b".":
        return []
    if not data:
        raise NcrError("the name is empty")
    labels: list[bytes] = []
    label = bytearray()
    index = 0
    ended = False
    while index < len(data):
        byte = data[index]
        index += 1
        if byte == ord("."):
            if not label:
                raise NcrError("the name has an empty label")
            labels.append(bytes(label))
            label = bytearray()
            ended = index == len(data)
            continue
        if byte == ord("\\"):
            if index >= len(data):
                raise NcrError("the name ends with a lone backslash")
            if chr(data[index]).isdigit():
                digits = data[index : index + 3]
                if len(digits) != 3 or not digits.isdigit() or int(digits) > 255:
                    raise NcrError("the name has a bad \\DDD escape")
                byte = int(digits)
                index += 3
            else:
                byte = data[index]
                index += 1
        label.append(byte)
        if len(label) > MAX_LABEL:
            raise NcrError(f"a label is longer than {MAX_LABEL} bytes")
    if label:
        labels.append(bytes(label))
    elif not ended:  # pragma: no cover - an empty text is refused above
        raise NcrError("the name is empty")
    if sum(len(label) + 1 for label in labels) + 1 > MAX_WIRE_NAME:
        raise NcrError(f"the name is longer than {MAX_WIRE_NAME} bytes")
    return labels


def wire_name(labels: list[bytes]) -> bytes:
    """A name in wire form: each label after its length, then a 0 byte."""
    return b"".join(bytes((len(label),)) + label for label in labels) + b"\x00"


def text_name(labels: list[bytes]) -> str:
    """A name in absolute text form, escaped as Kea's ``dns::Name`` does."""
    if not labels:
        return "."
    parts = []
    for label in labels:
        out = []
        for byte in label:
            if byte in _SPECIAL:
                out.append("\\" + chr(byte))
            elif 0x21 <= byte <= 0x7E:
                out.append(chr(byte))
            else:
                out.append(f"\\{byte:03d}")
        parts.append("".join(out))
    return ".".join(parts) + "."


def qualify(hostname: str, suffix: str) -> str:
    """Qualify a single-label hostname with ``suffix``; keep others as is.

    A hostname with a dot inside (``host.example.org``, ``host.``) is taken
    as complete, as Kea's DHCP servers take a multi-label name from a client.
    """
    bare = hostname[:-1] if hostname.endswith(".") else hostname
    if not suffix or "." in bare or hostname.endswith("."):
        return hostname
    return f"{bare}.{suffix}"


# DHCID and TTL.


def dhcid(identifier_type: int, identifier: bytes, fqdn_wire: bytes) -> bytes:
    """The DHCID RDATA (RFC 4701) of an identifier and a wire-form FQDN."""
    digest = hashlib.sha256(identifier + fqdn_wire).digest()
    return identifier_type.to_bytes(2, "big") + b"\x01" + digest


def lease_identifier(lease: Lease) -> tuple[int, bytes]:
    """The DHCID identifier type and bytes of a lease, as Kea picks them.

    Raises:
        NcrError: The lease has nothing to compute a DHCID from.
    """
    if isinstance(lease, Lease6):
        if not lease.duid:
            raise NcrError("the lease has no DUID")
        return DHCID_DUID, lease.duid
    if lease.client_id:
        client_id = lease.client_id
        if client_id[0] == 0xFF:
            # RFC 4361: type 255, a 4-byte IAID, then a DUID of 2 to 130
            # bytes (Kea checks the bounds the same way).
            if len(client_id) <= 5:
                raise NcrError(
                    "unable to compute DHCID from client identifier, embedded "
                    f"DUID length of: {len(client_id)}, is too short"
                )
            if len(client_id) > 135:
                raise NcrError(
                    "unable to compute DHCID from client identifier, embedded "
                    f"DUID length of: {len(client_id)}, is too long"
                )
            return DHCID_DUID, client_id[5:]
        return DHCID_CLIENT_ID, client_id
    if not lease.hw_address:
        raise NcrError(
            "unable to compute DHCID from the HW address, HW address is empty"
        )
    return DHCID_HW_ADDRESS, bytes((HTYPE_ETHER,)) + lease.hw_address


def ttl(valid_lft: int, percent: float | None = None) -> int:
    """The DNS TTL of a lease (``lease-length``).

    ``valid-lft / 3`` with a floor of 600 s, as RFC 4702 suggests and Kea
    2.2 computes; with ``ddns-ttl-percent`` set, that share of the lifetime
    (rounded) whenever it comes to at least one second, as in Kea 2.4.
    """
    if percent is not None and percent > 0.0:
        scaled = int(min(_round_half_away(percent * valid_lft), UINT32_MAX))
        if scaled > 0:
            return scaled
    if valid_lft < 3 * MIN_TTL:
        return MIN_TTL
    return valid_lft // 3


def _round_half_away(value: float) -> float:
    # C's round(): halves go away from zero (Python's round() goes to even).
    whole = float(int(value))
    return whole + 1.0 if value - whole >= 0.5 else whole


# Building a request from a lease.


def qualifies(lease: Lease) -> bool:
    """Whether a lease may have DNS entries: a hostname and a direction.

    IPv6 prefixes (IA_PD) never have DNS entries.
    """
    if not lease.hostname or not (lease.fqdn_fwd or lease.fqdn_rev):
        return False
    return not (isinstance(lease, Lease6) and lease.type == TYPE_PD)


def build(
    change_type: int,
    family: Family,
    lease: Lease,
    settings: DdnsSettings | None = None,
) -> NameChangeRequest:
    """The NCR that adds or removes a lease's DNS entries.

    Args:
        change_type: :data:`CHG_ADD` or :data:`CHG_REMOVE`.
        family: The lease's family.
        lease: A lease for which :func:`qualifies` is true.
        settings: The lease's subnet's DDNS settings (None: the defaults,
            as for a lease whose subnet is not configured).

    Raises:
        NcrError: The hostname is not a valid DNS name, or the lease has
            no identifier for the DHCID.
    """
    settings = settings or DdnsSettings()
    name = qualify(lease.hostname, settings.qualifying_suffix)
    try:
        labels = name_labels(name)
    except NcrError as error:
        raise NcrError(f"invalid FQDN '{name}': {error}") from None
    identifier_type, identifier = lease_identifier(lease)
    lower = [label.lower() for label in labels]
    digest = dhcid(identifier_type, identifier, wire_name(lower))
    length = ttl(lease.valid_lft, settings.ttl_percent)
    assert isinstance(lease, Lease4 | Lease6)
    return NameChangeRequest(
        change_type=change_type,
        forward_change=lease.fqdn_fwd,
        reverse_change=lease.fqdn_rev,
        fqdn=text_name(labels),
        ip_address=family.format_ip(lease.address),
        dhcid=digest.hex().upper(),
        lease_expires_on=lease.cltt + length,
        lease_length=length,
        use_conflict_resolution=settings.use_conflict_resolution,
    )
