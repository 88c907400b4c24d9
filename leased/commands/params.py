"""Reading command arguments, with Kea's checks in Kea's order.

Kea's lease commands read their arguments in two styles, and clients see the
difference in the error texts, so both are kept:

- *Typed getters* (the lease parser used by add, update and bulk-apply, and
  wipe): ``missing parameter 'X'``, ``invalid type specified for parameter
  'X'``, ``out of range value (N) specified for parameter 'X'``.
- *Hand-written checks* (get, del, get-page, get-by-*), each with a text of
  its own, e.g. ``'ip-address' is not a string.``.

Kea appends the position of the offending JSON element to some texts
(``(<wire>:0:37)``); leased leaves that suffix out.

JSON types are checked strictly, as Kea does: ``true`` is not an integer and
``1.0`` is not an integer (Python's ``bool`` is an ``int``, hence the
``type(value) is int`` tests below).

This module does no I/O.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Final

import attrs

from leased.config import UINT32_MAX, FamilyConfig, Subnet
from leased.engine import ABSENT
from leased.errors import CommandError
from leased.model import (
    STATE_DECLINED,
    STATE_NAMES,
    STATE_REGISTERED,
    STATE_WORDS,
    TYPE_NA,
    TYPE_PD,
    TYPE_TA,
    Family,
    Lease,
    Lease4,
    Lease6,
    format_ip4,
    format_ip6,
    lower_hostname,
    parse_client_id,
    parse_duid,
    parse_hw_address,
    parse_ip,
)
from leased.wire import render

UINT8_MAX: Final = 255
INT64_MIN: Final = -(1 << 63)
INT64_MAX: Final = (1 << 63) - 1

# Kea 2.2 accepts states 0 to 2 from the lease commands.
MAX_STATE_ACCEPTED: Final = 2


def is_int(value: Any) -> bool:
    """True for a JSON integer (not a boolean, not a real number)."""
    return type(value) is int


def lookup(args: Any, name: str) -> Any:
    """``args[name]`` or :data:`ABSENT`; non-map arguments are refused."""
    if not isinstance(args, dict):
        raise CommandError("get(string) called on a non-map Element")
    return args.get(name, ABSENT)


# Typed getters.


def get_string(args: Any, name: str) -> str:
    """A required string."""
    value = lookup(args, name)
    if value is ABSENT:
        raise CommandError(f"missing parameter '{name}'")
    if not isinstance(value, str):
        raise CommandError(f"invalid type specified for parameter '{name}'")
    return value


def get_bool(args: Any, name: str) -> bool:
    """A required boolean."""
    value = lookup(args, name)
    if value is ABSENT:
        raise CommandError(f"missing parameter '{name}'")
    if not isinstance(value, bool):
        raise CommandError(f"invalid type specified for parameter '{name}'")
    return value


def get_integer(
    args: Any, name: str, low: int = INT64_MIN, high: int = INT64_MAX
) -> int:
    """A required integer within ``[low, high]``."""
    value = lookup(args, name)
    if value is ABSENT:
        raise CommandError(f"missing parameter '{name}'")
    if not is_int(value):
        raise CommandError(f"invalid type specified for parameter '{name}'")
    if not low <= value <= high:
        raise CommandError(
            f"out of range value ({value}) specified for parameter '{name}'"
        )
    return int(value)


def get_uint32(args: Any, name: str) -> int:
    """A required unsigned 32-bit integer."""
    return get_integer(args, name, 0, UINT32_MAX)


def get_uint8(args: Any, name: str) -> int:
    """A required unsigned 8-bit integer."""
    return get_integer(args, name, 0, UINT8_MAX)


def get_address(args: Any, name: str) -> tuple[int, int, str]:
    """A required address: ``(version, integer, text)``."""
    text = get_string(args, name)
    try:
        version, address = parse_ip(text)
    except ValueError as error:
        raise CommandError(f"Failed to convert '{text}' to address: {error}") from None
    return version, address, text


def has(args: Any, name: str) -> bool:
    """True when the map ``args`` holds ``name``."""
    return lookup(args, name) is not ABSENT


# The lease parser shared by add, update and bulk-apply.


@attrs.frozen
class ParsedLease:
    """A lease built from arguments, and the update-only flag."""

    lease: Lease
    force_create: bool


def parse_lease(
    family: Family,
    config: FamilyConfig | None,
    args: Any,
    now: Callable[[], float] = time.time,
) -> ParsedLease:
    """Build a lease from add/update arguments, in Kea's check order.

    Args:
        family: The family of the command.
        config: The family's configuration (``None`` when the file has no
            map for that family: then no subnet exists).
        args: The command's ``arguments``.
        now: The clock, for a lease given without ``expire``.

    Raises:
        CommandError: With Kea's text for the first problem found.
    """
    # 1. The address, and its family.
    version, address, _ = get_address(args, "ip-address")
    if version != family.version:
        raise CommandError(
            f"Non-{family.word} address specified: {_canonical(version, address)}"
        )

    # 2. The identifier (IPv4: hardware address; IPv6: DUID, then the type).
    lease_type = TYPE_NA
    prefix_len = 128
    duid = b""
    hw_address: bytes | None = None
    if family.version == 4:
        hw_address = _identifier(parse_hw_address, get_string(args, "hw-address"))
    else:
        duid = _identifier(parse_duid, get_string(args, "duid"))
        if has(args, "type"):
            lease_type = _lease_type(get_string(args, "type"))
        if lease_type == TYPE_PD:
            prefix_len = get_uint8(args, "prefix-len")

    # 3. The subnet: given and checked, or selected from the address.
    subnet_id = get_uint32(args, "subnet-id") if has(args, "subnet-id") else 0
    subnet = _subnet(family, config, subnet_id, address, lease_type)

    # 4. The remaining identifiers.
    client_id: bytes | None = None
    iaid = 0
    if family.version == 4:
        if has(args, "client-id"):
            client_id = _identifier(parse_client_id, get_string(args, "client-id"))
    else:
        iaid = get_uint32(args, "iaid")
        if has(args, "hw-address"):
            hw_address = _identifier(parse_hw_address, get_string(args, "hw-address"))

    # 5. Lifetimes.  Kea gives an IPv6 lease without "preferred-lft" the
    # subnet's *valid* lifetime, in 2.2 and since; so does leased.
    valid_lft = (
        get_uint32(args, "valid-lft")
        if has(args, "valid-lft")
        else subnet.valid_lifetime
    )
    preferred_lft = 0
    if family.version == 6:
        preferred_lft = (
            get_uint32(args, "preferred-lft")
            if has(args, "preferred-lft")
            else subnet.valid_lifetime
        )

    # 6. The client's last transmission time, from "expire" or the clock.
    if has(args, "expire"):
        expire = get_integer(args, "expire")
        shown = family.format_ip(address)
        if expire <= 0:
            raise CommandError(f"expiration time must be positive for address {shown}")
        if expire < valid_lft:
            raise CommandError(
                f"expiration time must be greater than valid lifetime for address {shown}"
            )
        cltt = expire - valid_lft
    else:
        cltt = int(now())

    # 7. DNS: the flags need a hostname.
    fqdn_fwd = get_bool(args, "fqdn-fwd") if has(args, "fqdn-fwd") else False
    fqdn_rev = get_bool(args, "fqdn-rev") if has(args, "fqdn-rev") else False
    hostname = (
        lower_hostname(get_string(args, "hostname")) if has(args, "hostname") else ""
    )
    if not hostname and (fqdn_fwd or fqdn_rev):
        raise CommandError(
            "No hostname specified and either forward or reverse fqdn was set to true."
        )

    # 8. State.
    state = get_uint8(args, "state") if has(args, "state") else 0
    if state > MAX_STATE_ACCEPTED:
        raise CommandError(
            f"Invalid state value: {state}, supported values are: 0 (default), 1 (declined) and 2 (expired-reclaimed)"
        )
    if family.version == 6 and state == STATE_DECLINED and lease_type == TYPE_PD:
        raise CommandError("Invalid declined state for PD prefix.")

    # 9. User context, with "comment" folded into it.
    user_context = _user_context(args)

    force_create = (
        get_bool(args, "force-create") if has(args, "force-create") else False
    )
    lease: Lease
    if family.version == 4:
        assert hw_address is not None
        lease = Lease4(
            address=address,
            hw_address=hw_address,
            client_id=client_id,
            valid_lft=valid_lft,
            cltt=cltt,
            subnet_id=subnet.id,
            fqdn_fwd=fqdn_fwd,
            fqdn_rev=fqdn_rev,
            hostname=hostname,
            state=state,
            user_context=user_context,
        )
    else:
        lease = Lease6(
            address=address,
            type=lease_type,
            prefix_len=prefix_len,
            duid=duid,
            iaid=iaid,
            valid_lft=valid_lft,
            preferred_lft=preferred_lft,
            cltt=cltt,
            subnet_id=subnet.id,
            fqdn_fwd=fqdn_fwd,
            fqdn_rev=fqdn_rev,
            hostname=hostname,
            state=state,
            user_context=user_context,
            hw_address=hw_address,
        )
    return ParsedLease(lease, force_create)


def _canonical(version: int, address: int) -> str:
    return format_ip4(address) if version == 4 else format_ip6(address)


def _identifier(parse: Callable[[str], bytes], text: str) -> bytes:
    try:
        return parse(text)
    except ValueError as error:
        raise CommandError(str(error)) from None


def _lease_type(text: str) -> int:
    types = {"IA_NA": TYPE_NA, "IA_TA": TYPE_TA, "IA_PD": TYPE_PD}
    if text not in types:
        raise CommandError(
            f"Incorrect lease type: {text}, the only supported values are: na, ta and pd"
        )
    return types[text]


def _subnet(
    family: Family,
    config: FamilyConfig | None,
    subnet_id: int,
    address: int,
    lease_type: int,
) -> Subnet:
    """Find the lease's subnet as Kea's lease parser does."""
    shown = family.format_ip(address)
    bits = 32 if family.version == 4 else 128
    if subnet_id:
        subnet = config.subnet(subnet_id) if config else None
        if subnet is None:
            raise CommandError(
                f"Invalid subnet-id: No {family.word} subnet with subnet-id={subnet_id} currently configured."
            )
        # Only addresses are checked against the prefix; Kea does not check
        # delegated prefixes or temporary addresses against the subnet.
        if lease_type == TYPE_NA and not subnet.contains(address, bits):
            raise CommandError(
                f"The address {shown} does not belong to subnet {subnet.prefix}, subnet-id={subnet_id}"
            )
        return subnet
    if lease_type != TYPE_NA:
        raise CommandError(
            "Subnet-id is 0 or not specified. This is allowed for address leases only, not prefix leases."
        )
    subnet = config.select_subnet(address) if config else None
    if subnet is None:
        raise CommandError(
            f"subnet-id not specified and failed to find a subnet for address {shown}"
        )
    return subnet


def _user_context(args: dict[str, Any]) -> dict[str, Any] | None:
    context: Any = args.get("user-context", ABSENT)
    if context is not ABSENT and not isinstance(context, dict):
        raise CommandError(
            f"Invalid user context '{render(context)}' is not a JSON map."
        )
    comment = args.get("comment", ABSENT)
    if comment is ABSENT:
        return None if context is ABSENT else context
    if context is ABSENT:
        return {"comment": comment}
    if "comment" in context:
        raise CommandError(
            f"Duplicated comment entry '{render(comment)}' in user context '{render(context)}'"
        )
    merged = dict(context)
    merged["comment"] = comment
    return dict(sorted(merged.items()))


def check_storable(state: Any, family: Family, lease: Lease) -> None:
    """Refuse a lease Kea's lease file could not hold, with Kea's text.

    An IPv4 lease needs a hardware address or a client identifier, and an
    IPv6 lease a real DUID, unless it is declined.  As in Kea, the check is
    made where leases are written to a lease file (``persist`` true, the
    default): such a lease could not be read back after a restart.  With
    ``persist`` false it is not made, as in Kea.
    """
    config = state.config.family(family.version)
    if config is not None and not config.lease_database.persist:
        return
    if lease.state == STATE_DECLINED:
        return
    word = (
        STATE_WORDS[lease.state] if lease.state < len(STATE_WORDS) else str(lease.state)
    )
    if isinstance(lease, Lease4):
        if not lease.hw_address and not lease.client_id:
            raise CommandError(
                f"Lease4: {family.format_ip(lease.address)}, state: {word} has neither hardware address or client id"
            )
    elif lease.duid == b"\x00":
        raise CommandError(
            f"Lease6: {family.format_ip(lease.address)}, state: {word}, has no DUID"
        )


# The "Parameters" extraction shared by get and del (and bulk-apply deletes).

QUERY_ADDRESS: Final = 0
QUERY_HW_ADDRESS: Final = 1
QUERY_DUID: Final = 2
QUERY_CLIENT_ID: Final = 3

_QUERY_TYPES: Final = {
    "address": QUERY_ADDRESS,
    "hw-address": QUERY_HW_ADDRESS,
    "duid": QUERY_DUID,
    "client-id": QUERY_CLIENT_ID,
}

_TYPE_WORDS: Final = {
    "IA_NA": TYPE_NA,
    "0": TYPE_NA,
    "IA_TA": TYPE_TA,
    "1": TYPE_TA,
    "IA_PD": TYPE_PD,
    "2": TYPE_PD,
    "V4": 3,
    "3": 3,
}


@attrs.frozen
class Query:
    """Which lease a get or del names."""

    kind: int
    lease_type: int = TYPE_NA
    address: int = 0
    subnet_id: int = 0
    iaid: int = 0
    identifier: bytes = b""
    update_ddns: bool = False


def parse_query(family: Family, args: Any) -> Query:
    """Read get/del arguments: an address, or an identifier and a subnet.

    Raises:
        CommandError: With Kea's text for the first problem found.
    """
    if not isinstance(args, dict):
        raise CommandError("Parameters missing or are not a map.")
    update_ddns = False
    if "update-ddns" in args:
        update_ddns = args["update-ddns"]
        if not isinstance(update_ddns, bool):
            raise CommandError("'update-ddns' is not a boolean")
    lease_type = TYPE_NA
    if "type" in args:
        word = args["type"]
        if not isinstance(word, str):
            raise CommandError("stringValue() called on non-string Element")
        if word not in _TYPE_WORDS:
            raise CommandError(
                f"Invalid lease type specified: {word}, only supported values are: IA_NA, IA_TA, IA_PD and V4"
            )
        lease_type = _TYPE_WORDS[word]

    if "ip-address" in args:
        text = args["ip-address"]
        if not isinstance(text, str):
            raise CommandError("'ip-address' is not a string.")
        try:
            version, address = parse_ip(text)
        except ValueError as error:
            raise CommandError(str(error)) from None
        if version != family.version:
            raise CommandError(f"Invalid {family.word} address specified: {text}")
        return Query(QUERY_ADDRESS, lease_type, address, update_ddns=update_ddns)

    if "subnet-id" not in args:
        raise CommandError("Mandatory 'subnet-id' parameter missing.")
    subnet_id = args["subnet-id"]
    if not is_int(subnet_id):
        raise CommandError("'subnet-id' parameter is not integer.")
    iaid = args.get("iaid", 0)
    if not is_int(iaid):
        raise CommandError("intValue() called on non-integer Element")
    kind_text = args.get("identifier-type")
    if not isinstance(kind_text, str):
        raise CommandError(
            "No 'ip-address' provided and 'identifier-type' is either missing or not a string."
        )
    identifier_text = args.get("identifier")
    if not isinstance(identifier_text, str):
        raise CommandError(
            "No 'ip-address' provided and 'identifier' is either missing or not a string."
        )
    if kind_text not in _QUERY_TYPES:
        raise CommandError(
            f"Incorrect identifier type: {kind_text}, the only supported values are: address, hw-address, duid"
        )
    kind = _QUERY_TYPES[kind_text]
    identifier = b""
    if kind == QUERY_HW_ADDRESS:
        identifier = _identifier(parse_hw_address, identifier_text)
    elif kind == QUERY_CLIENT_ID:
        identifier = _identifier(parse_client_id, identifier_text)
    elif kind == QUERY_DUID:
        identifier = _identifier(parse_duid, identifier_text)
    return Query(
        kind,
        lease_type,
        0,
        subnet_id=subnet_id,
        iaid=iaid,
        identifier=identifier,
        update_ddns=update_ddns,
    )


def state_number(value: Any) -> int:
    """Read the ``state`` of get-by-state: a number or a state's name."""
    if is_int(value):
        return int(value)
    if isinstance(value, str):
        if not value:
            raise CommandError("'state' parameter is empty")
        if value not in STATE_NAMES:
            raise CommandError(f"'state' parameter value ({value}) is not recognized")
        return STATE_NAMES[value]
    raise CommandError("'state' parameter must be a number or a string")


__all__ = [
    "ABSENT",
    "STATE_REGISTERED",
    "ParsedLease",
    "Query",
    "check_storable",
    "get_uint32",
    "parse_lease",
    "parse_query",
    "state_number",
]
