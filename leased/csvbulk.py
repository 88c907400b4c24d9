"""Bulk parsing of lease file rows, a column at a time.

Start-up reads millions of rows, and nearly every one is plain: no escapes,
no user context, two-digit hex identifiers.  Parsed row by row, each costs
a few microseconds of Python calls per field.  Here a whole chunk of rows
(a few tens of thousands) is split, turned into columns with one ``zip``,
and each column is checked with one regular expression over the column
joined by newlines and converted with ``map`` of a C function (``int``,
``bytes.fromhex``, ``inet_pton``), so the per-row cost that remains is
building the lease record.

Every check is strict enough that a chunk it accepts parses exactly as the
row-by-row parser (:mod:`leased.csvfile`) would.  Anything unusual in a
chunk (an escape, a user context, a bad row, a CR line end, an empty line)
makes :func:`chunk_parser`'s function return ``None``, and the caller
parses that chunk row by row, which reports errors with Kea's texts and row
numbers.

This module does no I/O.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from itertools import repeat
from typing import Final

from leased.csvfile import Header
from leased.model import (
    STATE_DECLINED,
    TYPE_PD,
    Lease,
    Lease4,
    Lease6,
    lower_hostname,
)

__all__ = ["chunk_parser"]

ChunkParser = Callable[[list[str]], "list[Lease] | None"]

_U32: Final = 0xFFFFFFFF
_U64: Final = (1 << 64) - 1
_FLAGS: Final = frozenset({"0", "1"})
# Most distinct values a column may have to be converted through a table.
_FEW: Final = 4096
_TYPES: Final = frozenset({"0", "1", "2"})
_FLAG_VALUE: Final = {"0": False, "1": True}


def _numbers(column: tuple[str, ...], high: int) -> list[int] | None:
    """Decimal numbers up to ``high``, or None.

    Most columns hold a few distinct values (subnet ids, lifetimes,
    states): those are checked and converted once each, and the column is
    mapped through that small table, which also makes every lease share one
    int object per value.  A column of mostly distinct values is checked
    whole: every field non-empty, and all of them together ASCII digits only,
    is exactly "each field is a plain decimal number".
    """
    distinct = set(column)
    if len(distinct) <= _FEW:
        table: dict[str, int] = {}
        for text in distinct:
            if not (text.isdigit() and text.isascii()) or int(text) > high:
                return None
            table[text] = int(text)
        return list(map(table.__getitem__, column))
    joined = "".join(column)
    if not (all(column) and joined.isdigit() and joined.isascii()):
        return None
    values = list(map(int, column))
    return values if max(values) <= high else None


def _hex(column: tuple[str, ...], *, empty: bool) -> list[bytes] | None:
    """Colon-separated two-digit hex fields (or empty ones if allowed).

    ``bytes.fromhex`` with the colons made spaces reads the pairs; the
    field must then be exactly ``3 * bytes - 1`` long, hold nothing but hex
    digits and colons, and not start or end with a colon nor hold two in a
    row: together that is exactly "pairs joined by single colons".
    """
    joined = "\n".join(column)
    if (
        not joined.isascii()
        or " " in joined
        or "::" in joined
        or ":\n" in joined
        or "\n:" in joined
        or joined.startswith(":")
        or joined.endswith(":")
        or not "".join(column).isprintable()
    ):
        return None
    try:
        data = list(
            map(bytes.fromhex, map(str.replace, column, repeat(":"), repeat(" ")))
        )
    except ValueError:
        return None
    lengths = list(map(len, data))
    expected = list(map(max, map(_minus_one, map(_times_three, lengths)), repeat(0)))
    if list(map(len, column)) != expected or (not empty and 0 in lengths):
        return None
    return data


def _times_three(n: int) -> int:
    return 3 * n


def _minus_one(n: int) -> int:
    return n - 1


def _addresses(column: tuple[str, ...], family: int) -> list[int]:
    """Raises OSError for an address that does not parse."""
    return list(
        map(
            # typeshed's signature of int.from_bytes does not fit map's
            # positional form; the byte order is passed positionally here.
            int.from_bytes,  # type: ignore[arg-type]
            map(socket.inet_pton, repeat(family), column),
            repeat("big"),
        )
    )


def chunk_parser(header: Header) -> ChunkParser | None:
    """A bulk parser for files with this header, or None (row by row then).

    Only the column layouts Kea 2.2 and newer write are taken: IPv4 with 11
    or 12 columns, IPv6 with 17 or 18.
    """
    width = len(header.positions)
    if header.schema.version == 4 and width in (11, 12):
        return lambda lines: _chunk4(lines, width)
    if header.schema.version == 6 and width in (17, 18):
        return lambda lines: _chunk6(lines, width)
    return None


def _common(lines: list[str], width: int) -> list[tuple[str, ...]] | None:
    """The columns of a chunk whose rows all have ``width`` fields."""
    rows = [line.split(",") for line in lines]
    if set(map(len, rows)) != {width}:
        return None
    return list(zip(*rows, strict=True))


def _chunk4(lines: list[str], width: int) -> list[Lease] | None:
    columns = _common(lines, width)
    if columns is None:
        return None
    hw_col, cid_col, host_col, context_col = (
        columns[1],
        columns[2],
        columns[8],
        columns[10],
    )
    if (
        any(context_col)
        or "&" in "".join(host_col)
        or not set(columns[6]) <= _FLAGS
        or not set(columns[7]) <= _FLAGS
    ):
        return None
    valid = _numbers(columns[3], _U32)
    expire = _numbers(columns[4], _U64)
    subnet = _numbers(columns[5], _U32)
    state = _numbers(columns[9], _U32)
    pool = _numbers(columns[11], _U32) if width == 12 else [0] * len(lines)
    if (
        valid is None
        or expire is None
        or subnet is None
        or state is None
        or pool is None
    ):
        return None
    try:
        addresses = _addresses(columns[0], socket.AF_INET)
    except OSError:
        return None
    hws = _hex(hw_col, empty=True)
    cids = _hex(cid_col, empty=True)
    if hws is None or cids is None:
        return None
    if max(map(len, hws)) > 20 or not {len(c) for c in cids} <= {0, *range(2, 129)}:
        return None
    # Kea lower-cases an IPv4 hostname it reads (not an IPv6 one).
    if _has_upper(host_col):
        host_col = tuple(map(lower_hostname, host_col))
    flag = _FLAG_VALUE
    leases: list[Lease] = []
    append = leases.append
    for address, hw, cid, valid_lft, exp, subnet_id, fwd, rev, host, st, pool_id in zip(
        addresses,
        hws,
        cids,
        valid,
        expire,
        subnet,
        columns[6],
        columns[7],
        host_col,
        state,
        pool,
        strict=True,
    ):
        if not hw and not cid and st != STATE_DECLINED:
            return None  # the row parser gives Kea's error for this row
        append(
            Lease4(
                address=address,
                hw_address=hw,
                client_id=cid or None,
                valid_lft=valid_lft,
                cltt=exp - valid_lft,
                subnet_id=subnet_id,
                fqdn_fwd=flag[fwd],
                fqdn_rev=flag[rev],
                hostname=host,
                state=st,
                pool_id=pool_id,
            )
        )
    return leases


def _chunk6(lines: list[str], width: int) -> list[Lease] | None:
    columns = _common(lines, width)
    if columns is None:
        return None
    duid_col, host_col, hw_col, context_col = (
        columns[1],
        columns[11],
        columns[12],
        columns[14],
    )
    if (
        any(context_col)
        or "&" in "".join(host_col)
        or not set(columns[6]) <= _TYPES
        or not set(columns[9]) <= _FLAGS
        or not set(columns[10]) <= _FLAGS
    ):
        return None
    count = len(lines)
    valid = _numbers(columns[2], _U32)
    expire = _numbers(columns[3], _U64)
    subnet = _numbers(columns[4], _U32)
    preferred = _numbers(columns[5], _U32)
    iaid = _numbers(columns[7], _U32)
    prefix = _numbers(columns[8], 255)
    state = _numbers(columns[13], _U32)
    pool = _numbers(columns[17], _U32) if width == 18 else [0] * count
    if any(
        column is None
        for column in (valid, expire, subnet, preferred, iaid, prefix, state, pool)
    ):
        return None
    assert valid is not None and expire is not None and subnet is not None
    assert preferred is not None and iaid is not None and prefix is not None
    assert state is not None and pool is not None
    try:
        addresses = _addresses(columns[0], socket.AF_INET6)
    except OSError:
        return None
    duids = _hex(duid_col, empty=False)
    if duids is None:
        return None
    if b"\x00" in set(duids) or max(map(len, duids)) > 128:
        return None  # the row parser decides (declined leases may have it)
    hws = _hex(hw_col, empty=True)
    if hws is None or max(map(len, hws)) > 20:
        return None
    flag = _FLAG_VALUE
    leases: list[Lease] = []
    append = leases.append
    try:
        for (
            address,
            duid,
            valid_lft,
            exp,
            subnet_id,
            preferred_lft,
            kind,
            iaid_value,
            length,
            fwd,
            rev,
            host,
            hw,
            st,
            hw_type,
            hw_source,
            pool_id,
        ) in zip(
            addresses,
            duids,
            valid,
            expire,
            subnet,
            preferred,
            columns[6],
            iaid,
            prefix,
            columns[9],
            columns[10],
            host_col,
            hws,
            state,
            columns[15],
            columns[16],
            pool,
            strict=True,
        ):
            lease_type = int(kind)
            append(
                Lease6(
                    address=address,
                    type=lease_type,
                    prefix_len=length if lease_type == TYPE_PD else 128,
                    duid=duid,
                    iaid=iaid_value,
                    valid_lft=valid_lft,
                    preferred_lft=preferred_lft,
                    cltt=exp - valid_lft,
                    subnet_id=subnet_id,
                    fqdn_fwd=flag[fwd],
                    fqdn_rev=flag[rev],
                    hostname=host,
                    state=st,
                    hw_address=hw if hw else None,
                    hw_type=_small(hw_type, 0xFFFF) if hw else 1,
                    hw_source=_small(hw_source, _U32) if hw else 0,
                    pool_id=pool_id,
                )
            )
    except ValueError:
        return None
    return leases


def _has_upper(column: tuple[str, ...]) -> bool:
    """Whether any field of a column holds an ASCII capital letter."""
    joined = "".join(column)
    return joined != joined.lower() and joined != lower_hostname(joined)


def _small(text: str, high: int) -> int:
    """A hardware type or source number: plain digits up to ``high``."""
    if not (text.isdigit() and text.isascii()) or int(text) > high:
        raise ValueError(text)
    return int(text)
