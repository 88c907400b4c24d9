"""Lease records and the text forms of their fields.

A lease is a small record that is never changed once built (the classes are
not frozen only because a frozen class's constructor costs twice as much,
which start-up pays once per lease loaded).  Addresses are integers (an IPv6
address is a 128-bit integer), identifiers are ``bytes``, the hostname is
kept lower-cased as Kea does, and times are whole seconds since the epoch.
A change never edits a record: it builds a new one (``lease.replace``),
which keeps the indexes of :mod:`leased.table` simple and lets a snapshot
share records with the live table.

A million leases must fit in less memory than Kea needs for them, so the
records are laid out for size: see :class:`Lease4`.

The two address families differ in a handful of places: how an address is
parsed and printed, the word "IPv4"/"IPv6" in texts, and the lease's JSON
form.  :class:`Family` gathers those differences so that command handlers can
share one body for both families.

This module does no I/O.
"""

from __future__ import annotations

import socket
from collections import deque
from collections.abc import Iterable, Sequence
from itertools import repeat
from typing import Any, Final, NamedTuple, Self

import attrs

# Lease states, as numbered by Kea.  Kea 2.2 knows the first three; newer
# Kea adds "released" and the IPv6-only "registered".
STATE_DEFAULT: Final = 0
STATE_DECLINED: Final = 1
STATE_EXPIRED_RECLAIMED: Final = 2
STATE_RELEASED: Final = 3
STATE_REGISTERED: Final = 4

# The word Kea uses for each state, by number.
STATE_WORDS: Final = (
    "default",
    "declined",
    "expired-reclaimed",
    "released",
    "registered",
)

STATE_NAMES: Final = {
    "default": STATE_DEFAULT,
    "assigned": STATE_DEFAULT,
    "declined": STATE_DECLINED,
    "expired-reclaimed": STATE_EXPIRED_RECLAIMED,
    "released": STATE_RELEASED,
    "registered": STATE_REGISTERED,
}

# IPv6 lease types, with Kea's numbers (the CSV ``lease_type`` column).
TYPE_NA: Final = 0
TYPE_TA: Final = 1
TYPE_PD: Final = 2
TYPE_NAMES: Final = ("IA_NA", "IA_TA", "IA_PD")

MAX_HWADDR_LEN: Final = 20
MAX_DUID_LEN: Final = 128
MIN_CLIENT_ID_LEN: Final = 2


class Terms4(NamedTuple):
    """The fields of an IPv4 lease that many leases have in common.

    See :class:`Lease4`: a lease refers to one shared record of these.
    """

    valid_lft: int
    subnet_id: int
    fqdn_fwd: bool
    fqdn_rev: bool
    state: int
    user_context: dict[str, Any] | None
    pool_id: int


class Terms6(NamedTuple):
    """The fields of an IPv6 lease that many leases have in common."""

    type: int
    prefix_len: int
    valid_lft: int
    preferred_lft: int
    subnet_id: int
    fqdn_fwd: bool
    fqdn_rev: bool
    state: int
    user_context: dict[str, Any] | None
    hw_type: int
    hw_source: int
    pool_id: int


# Shared term records, each its own key.  A record with a user context (a
# dict, which cannot be a key) is never shared.  The table is emptied when
# it is full, so that a stream of changes with ever new lifetimes cannot
# make it grow without bound; records already shared stay shared.
_SHARED_LIMIT: Final = 1 << 16
_shared4: dict[Terms4, Terms4] = {}
_shared6: dict[Terms6, Terms6] = {}


def share4(terms: Terms4) -> Terms4:
    """The shared record equal to ``terms`` (``terms`` itself if new)."""
    if terms.user_context is not None:
        return terms
    found = _shared4.get(terms)
    if found is None:
        if len(_shared4) >= _SHARED_LIMIT:
            _shared4.clear()
        found = _shared4[terms] = terms
    return found


def share6(terms: Terms6) -> Terms6:
    """The shared record equal to ``terms`` (``terms`` itself if new)."""
    if terms.user_context is not None:
        return terms
    found = _shared6.get(terms)
    if found is None:
        if len(_shared6) >= _SHARED_LIMIT:
            _shared6.clear()
        found = _shared6[terms] = terms
    return found


class _Lease:
    """What IPv4 and IPv6 leases share: the fields read through their
    shared terms record, and equality, hashing, ``replace`` and ``repr``
    over :meth:`fields` and :meth:`_key`, which each family defines."""

    __slots__ = ()

    terms: Terms4 | Terms6
    cltt: int

    @property
    def valid_lft(self) -> int:
        return self.terms.valid_lft

    @property
    def subnet_id(self) -> int:
        return self.terms.subnet_id

    @property
    def fqdn_fwd(self) -> bool:
        return self.terms.fqdn_fwd

    @property
    def fqdn_rev(self) -> bool:
        return self.terms.fqdn_rev

    @property
    def state(self) -> int:
        return self.terms.state

    @property
    def user_context(self) -> dict[str, Any] | None:
        return self.terms.user_context

    @property
    def pool_id(self) -> int:
        return self.terms.pool_id

    @property
    def expire(self) -> int:
        """When the lease expires (``cltt + valid_lft``)."""
        return self.cltt + self.terms.valid_lft

    def fields(self) -> dict[str, Any]:
        """Every field by its constructor name."""
        raise NotImplementedError

    def _key(self) -> tuple[Any, ...]:
        raise NotImplementedError

    def replace(self, **changes: Any) -> Self:
        """A new lease with ``changes`` (constructor names) applied."""
        return type(self)(**(self.fields() | changes))

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={value!r}" for name, value in self.fields().items())
        return f"{type(self).__name__}({fields})"


class Lease4(_Lease):
    """An IPv4 lease.

    ``hw_address`` is empty when the lease has none (Kea prints ``""``);
    ``client_id`` is ``None`` when the lease has none.  ``user_context`` is
    a JSON map or ``None``; it is shared, never mutated.

    Memory per lease decides how many leases fit, so the record keeps only
    the fields that differ from lease to lease in slots of its own (with
    ``__slots__`` and six of them the record takes 80 bytes); the others
    (lifetime, subnet, flags, state, user context, pool) sit in a
    :class:`Terms4` record that every lease with the same values shares, and
    are read through properties.  Code that reads several of them from many
    leases may read ``terms`` once instead.
    """

    __slots__ = ("address", "client_id", "cltt", "hostname", "hw_address", "terms")

    address: int
    hw_address: bytes
    client_id: bytes | None
    cltt: int
    hostname: str
    terms: Terms4

    def __init__(
        self,
        *,
        address: int,
        hw_address: bytes,
        client_id: bytes | None,
        valid_lft: int,
        cltt: int,
        subnet_id: int,
        fqdn_fwd: bool = False,
        fqdn_rev: bool = False,
        hostname: str = "",
        state: int = STATE_DEFAULT,
        user_context: dict[str, Any] | None = None,
        pool_id: int = 0,
    ) -> None:
        self.address = address
        self.hw_address = hw_address
        self.client_id = client_id
        self.cltt = cltt
        self.hostname = hostname
        # bool(): True equals 1, so a shared record must not hold an int
        # where JSON wants a boolean.
        self.terms = share4(
            Terms4(
                valid_lft,
                subnet_id,
                bool(fqdn_fwd),
                bool(fqdn_rev),
                state,
                user_context,
                pool_id,
            )
        )

    def _set(
        self,
        address: int,
        hw_address: bytes,
        client_id: bytes | None,
        cltt: int,
        hostname: str,
        terms: Terms4,
    ) -> None:
        """Fill a bare record (see :func:`build4`)."""
        self.address = address
        self.hw_address = hw_address
        self.client_id = client_id
        self.cltt = cltt
        self.hostname = hostname
        self.terms = terms

    def fields(self) -> dict[str, Any]:
        """Every field by its constructor name."""
        terms = self.terms
        return {
            "address": self.address,
            "hw_address": self.hw_address,
            "client_id": self.client_id,
            "valid_lft": terms.valid_lft,
            "cltt": self.cltt,
            "subnet_id": terms.subnet_id,
            "fqdn_fwd": terms.fqdn_fwd,
            "fqdn_rev": terms.fqdn_rev,
            "hostname": self.hostname,
            "state": terms.state,
            "user_context": terms.user_context,
            "pool_id": terms.pool_id,
        }

    def _key(self) -> tuple[Any, ...]:
        return (
            self.address,
            self.hw_address,
            self.client_id,
            self.cltt,
            self.hostname,
            self.terms,
        )


class Lease6(_Lease):
    """An IPv6 lease: an address (IA_NA, IA_TA) or a prefix (IA_PD).

    ``prefix_len`` is 128 for addresses.  ``hw_address`` is ``None`` when
    the lease has no hardware address object at all, and ``b""`` when one
    was given empty (Kea prints the key only in the second case).

    As in :class:`Lease4`, the fields leases tend to have in common sit in a
    shared :class:`Terms6` record.
    """

    __slots__ = (
        "address",
        "cltt",
        "duid",
        "hostname",
        "hw_address",
        "iaid",
        "terms",
    )

    address: int
    duid: bytes
    iaid: int
    cltt: int
    hostname: str
    hw_address: bytes | None
    terms: Terms6

    def __init__(
        self,
        *,
        address: int,
        type: int,
        prefix_len: int,
        duid: bytes,
        iaid: int,
        valid_lft: int,
        preferred_lft: int,
        cltt: int,
        subnet_id: int,
        fqdn_fwd: bool = False,
        fqdn_rev: bool = False,
        hostname: str = "",
        state: int = STATE_DEFAULT,
        user_context: dict[str, Any] | None = None,
        hw_address: bytes | None = None,
        hw_type: int = 1,
        hw_source: int = 0,
        pool_id: int = 0,
    ) -> None:
        self.address = address
        self.duid = duid
        self.iaid = iaid
        self.cltt = cltt
        self.hostname = hostname
        self.hw_address = hw_address
        self.terms = share6(
            Terms6(
                type,
                prefix_len,
                valid_lft,
                preferred_lft,
                subnet_id,
                bool(fqdn_fwd),
                bool(fqdn_rev),
                state,
                user_context,
                hw_type,
                hw_source,
                pool_id,
            )
        )

    def _set(
        self,
        address: int,
        duid: bytes,
        iaid: int,
        cltt: int,
        hostname: str,
        hw_address: bytes | None,
        terms: Terms6,
    ) -> None:
        """Fill a bare record (see :func:`build6`)."""
        self.address = address
        self.duid = duid
        self.iaid = iaid
        self.cltt = cltt
        self.hostname = hostname
        self.hw_address = hw_address
        self.terms = terms

    @property
    def type(self) -> int:
        return self.terms.type

    @property
    def prefix_len(self) -> int:
        return self.terms.prefix_len

    @property
    def preferred_lft(self) -> int:
        return self.terms.preferred_lft

    @property
    def hw_type(self) -> int:
        return self.terms.hw_type

    @property
    def hw_source(self) -> int:
        return self.terms.hw_source

    def fields(self) -> dict[str, Any]:
        """Every field by its constructor name."""
        terms = self.terms
        return {
            "address": self.address,
            "type": terms.type,
            "prefix_len": terms.prefix_len,
            "duid": self.duid,
            "iaid": self.iaid,
            "valid_lft": terms.valid_lft,
            "preferred_lft": terms.preferred_lft,
            "cltt": self.cltt,
            "subnet_id": terms.subnet_id,
            "fqdn_fwd": terms.fqdn_fwd,
            "fqdn_rev": terms.fqdn_rev,
            "hostname": self.hostname,
            "state": terms.state,
            "user_context": terms.user_context,
            "hw_address": self.hw_address,
            "hw_type": terms.hw_type,
            "hw_source": terms.hw_source,
            "pool_id": terms.pool_id,
        }

    def _key(self) -> tuple[Any, ...]:
        return (
            self.address,
            self.duid,
            self.iaid,
            self.cltt,
            self.hostname,
            self.hw_address,
            self.terms,
        )


def build4(
    addresses: Sequence[int],
    hw_addresses: Iterable[bytes],
    client_ids: Iterable[bytes | None],
    cltts: Iterable[int],
    hostnames: Iterable[str],
    terms: Iterable[Terms4],
) -> list[Lease4]:
    """IPv4 leases from columns of their slots, for start-up.

    Built this way, with no Python-level loop and no keyword arguments, a
    lease costs about a third of what the constructor costs.  ``terms``
    must already be shared records (see :func:`share4`).
    """
    leases = list(map(object.__new__, repeat(Lease4, len(addresses))))
    deque(
        map(
            Lease4._set,
            leases,
            addresses,
            hw_addresses,
            client_ids,
            cltts,
            hostnames,
            terms,
        ),
        maxlen=0,
    )
    return leases


def build6(
    addresses: Sequence[int],
    duids: Iterable[bytes],
    iaids: Iterable[int],
    cltts: Iterable[int],
    hostnames: Iterable[str],
    hw_addresses: Iterable[bytes | None],
    terms: Iterable[Terms6],
) -> list[Lease6]:
    """IPv6 leases from columns of their slots (see :func:`build4`)."""
    leases = list(map(object.__new__, repeat(Lease6, len(addresses))))
    deque(
        map(
            Lease6._set,
            leases,
            addresses,
            duids,
            iaids,
            cltts,
            hostnames,
            hw_addresses,
            terms,
        ),
        maxlen=0,
    )
    return leases


Lease = Lease4 | Lease6


# Identifier text forms.  Kea prints identifiers as lowercase two-digit hex
# bytes joined by colons, and accepts a few more forms on input.


def format_hex(data: bytes) -> str:
    """Render bytes as Kea does: ``08:00:2b:01:02:03``."""
    return data.hex(":")


def decode_separated_hex(text: str, separator: str) -> bytes:
    """Decode ``aa:b:cc`` style text, one or two hex digits a group.

    Raises:
        ValueError: With Kea's text for the first bad group.
    """
    # Nearly every identifier is two-digit pairs joined by colons, which
    # bytes.fromhex reads in one call (a fifth of the loop's time).  With no
    # space, no colon at either end nor two in a row, and a length of three
    # per byte less one, every gap between two pairs holds one colon.
    if (
        separator == ":"
        and len(text) % 3 == 2
        and " " not in text
        and "::" not in text
        and not text.startswith(":")
        and not text.endswith(":")
    ):
        try:
            data = bytes.fromhex(text.replace(":", " "))
        except ValueError:
            pass
        else:
            if len(data) * 3 - 1 == len(text) and text.isprintable():
                return data
    groups = text.split(separator)
    out = bytearray()
    for group in groups:
        if not group and len(groups) > 1:
            raise ValueError(
                f"two consecutive separators ('{separator}') specified in a decoded string '{text}'"
            )
        if len(group) > 2:
            raise ValueError(f"invalid format of the decoded string '{text}'")
        for char in group:
            if char not in "0123456789abcdefABCDEF":
                raise ValueError(
                    f"'{char}' is not a valid hexadecimal digit in decoded string '{text}'"
                )
        if group:
            out.append(int(group, 16))
    return bytes(out)


def decode_formatted_hex(text: str) -> bytes:
    """Decode an identifier given as colon, space or plain hex text.

    Colons win over spaces; plain hex may carry a ``0x`` prefix and an odd
    number of digits gets a leading zero (Kea pads before it strips the
    prefix, and so does this).

    Raises:
        ValueError: With Kea's text.
    """
    if ":" in text:
        return decode_separated_hex(text, ":")
    if " " in text:
        return decode_separated_hex(text, " ")
    digits = ("0" if len(text) % 2 else "") + (
        text[2:] if len(text) > 2 and text.startswith("0x") else text
    )
    try:
        if not digits.isascii() or not all(c in _HEX for c in digits):
            raise ValueError(digits)
        return bytes.fromhex(digits)
    except ValueError:
        raise ValueError(
            f"'{text}' is not a valid string of hexadecimal digits"
        ) from None


_HEX = frozenset("0123456789abcdefABCDEF")


def parse_hw_address(text: str) -> bytes:
    """Parse a hardware address as Kea's ``HWAddr::fromText`` does.

    Raises:
        ValueError: With Kea's text.
    """
    data = decode_separated_hex(text, ":")
    if len(data) > MAX_HWADDR_LEN:
        raise ValueError("address vector size exceeds MAX_HWADDR_LEN")
    return data


def parse_duid(text: str) -> bytes:
    """Parse a DUID as Kea's ``DUID::fromText`` does.

    Raises:
        ValueError: With Kea's text.
    """
    data = decode_formatted_hex(text)
    check_duid(data)
    return data


def check_duid(data: bytes) -> None:
    """Refuse an empty or oversized DUID with Kea's text."""
    if len(data) > MAX_DUID_LEN:
        raise ValueError(
            f"DUID size is {len(data)} bytes, exceeds maximum of {MAX_DUID_LEN}"
        )
    if not data:
        raise ValueError("Empty DUIDs are not allowed")


def parse_client_id(text: str) -> bytes:
    """Parse a DHCPv4 client identifier as Kea's ``ClientId::fromText`` does.

    Raises:
        ValueError: With Kea's text.
    """
    data = decode_formatted_hex(text)
    # A client identifier is checked as a DUID first (empty, too long), then
    # for its own minimum length, as Kea's ClientId does.
    check_duid(data)
    if len(data) < MIN_CLIENT_ID_LEN:
        raise ValueError(
            f"client-id is too short ({len(data)}), at least {MIN_CLIENT_ID_LEN} is required"
        )
    return data


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def lower_hostname(name: str) -> str:
    """Lower-case the ASCII letters of a hostname, as Kea does."""
    return name.lower() if name.isascii() else name.translate(_ASCII_LOWER)


# Address text forms.


def parse_ip(text: str) -> tuple[int, int]:
    """Parse an IPv4 or IPv6 address.

    Returns:
        ``(version, integer)``, version being 4 or 6.

    Raises:
        ValueError: With Kea's text.
    """
    try:
        if ":" in text:
            return 6, int.from_bytes(socket.inet_pton(socket.AF_INET6, text))
        return 4, int.from_bytes(socket.inet_pton(socket.AF_INET, text))
    except (OSError, ValueError):
        raise ValueError(
            f"Failed to convert string to address '{text}': Invalid argument"
        ) from None


def format_ip4(address: int) -> str:
    """Render an IPv4 address held as an integer."""
    return socket.inet_ntop(socket.AF_INET, address.to_bytes(4))


def format_ip6(address: int) -> str:
    """Render an IPv6 address held as an integer, in compressed form."""
    return socket.inet_ntop(socket.AF_INET6, address.to_bytes(16))


# JSON forms.  Keys are produced in sorted order, the order Kea prints them.


def lease4_to_json(lease: Lease4) -> dict[str, Any]:
    """Render an IPv4 lease as Kea's lease commands do."""
    terms = lease.terms
    out: dict[str, Any] = {}
    if lease.client_id is not None:
        out["client-id"] = lease.client_id.hex(":")
    out["cltt"] = lease.cltt
    out["fqdn-fwd"] = terms.fqdn_fwd
    out["fqdn-rev"] = terms.fqdn_rev
    out["hostname"] = lease.hostname
    out["hw-address"] = lease.hw_address.hex(":")
    out["ip-address"] = format_ip4(lease.address)
    if terms.pool_id:
        out["pool-id"] = terms.pool_id
    out["state"] = terms.state
    out["subnet-id"] = terms.subnet_id
    if terms.user_context is not None:
        out["user-context"] = terms.user_context
    out["valid-lft"] = terms.valid_lft
    return out


def lease6_to_json(lease: Lease6) -> dict[str, Any]:
    """Render an IPv6 lease as Kea's lease commands do."""
    terms = lease.terms
    out: dict[str, Any] = {
        "cltt": lease.cltt,
        "duid": lease.duid.hex(":"),
        "fqdn-fwd": terms.fqdn_fwd,
        "fqdn-rev": terms.fqdn_rev,
        "hostname": lease.hostname,
    }
    if lease.hw_address is not None:
        out["hw-address"] = lease.hw_address.hex(":")
    out["iaid"] = lease.iaid
    out["ip-address"] = format_ip6(lease.address)
    if terms.pool_id:
        out["pool-id"] = terms.pool_id
    out["preferred-lft"] = terms.preferred_lft
    if terms.type == TYPE_PD:
        out["prefix-len"] = terms.prefix_len
    out["state"] = terms.state
    out["subnet-id"] = terms.subnet_id
    out["type"] = TYPE_NAMES[terms.type]
    if terms.user_context is not None:
        out["user-context"] = terms.user_context
    out["valid-lft"] = terms.valid_lft
    return out


@attrs.frozen
class Family:
    """What differs between the IPv4 and IPv6 sides of a command.

    Attributes:
        version: 4 or 6.
        word: ``IPv4`` or ``IPv6``, as it appears in Kea's texts.
        max_address: The highest address of the family.
    """

    version: int
    word: str
    max_address: int

    def format_ip(self, address: int) -> str:
        """Render an address of this family."""
        return format_ip4(address) if self.version == 4 else format_ip6(address)

    def to_json(self, lease: Lease) -> dict[str, Any]:
        """Render a lease of this family."""
        if isinstance(lease, Lease4):
            return lease4_to_json(lease)
        return lease6_to_json(lease)


V4: Final = Family(4, "IPv4", (1 << 32) - 1)
V6: Final = Family(6, "IPv6", (1 << 128) - 1)
