"""Bulk parsing of lease file rows, a column at a time.

Start-up reads millions of rows, and nearly every one is plain: no escapes,
no user context, two-digit hex identifiers.  Parsed row by row, each costs
a few microseconds of Python calls per field.  Here a whole chunk of rows
(a few tens of thousands) is split in one call into columns, each column is
checked with a few string operations over the whole column and converted
with ``map`` of a C function (``int``, ``bytes.fromhex``, ``inet_pton``),
and the lease records are built from the columns
(:func:`leased.model.build4`), so no Python code runs per row at all.

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
from collections.abc import Callable, Sequence
from itertools import compress, repeat
from operator import sub
from typing import Final

from leased.csvfile import Header
from leased.model import (
    STATE_DECLINED,
    TYPE_PD,
    Lease,
    Terms4,
    Terms6,
    build4,
    build6,
    lower_hostname,
    share4,
    share6,
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
# Characters bytes.fromhex skips between pairs besides the space.
_WHITESPACE: Final = ("\t", "\r", "\x0b", "\x0c")


def _numbers(column: Sequence[str], high: int) -> list[int] | None:
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


def _shared_ints(values: list[int]) -> list[int]:
    """``values`` with equal numbers made one object.

    Computed columns (cltt is expire minus lifetime) would otherwise hold a
    new int per row; leases renewed in the same second then share one.
    """
    first = dict(zip(values, values, strict=True))
    return list(map(first.__getitem__, values))


def _hex(column: Sequence[str], *, empty: bool) -> list[bytes] | None:
    """Colon-separated two-digit hex fields (or empty ones if allowed).

    ``bytes.fromhex`` reads the pairs once the colons are spaces, and
    refuses a pair cut by a space or anything but hex digits and spaces; with
    no colon at either end of a field nor two in a row, a field then has at
    most one colon between each two pairs, so it is at most ``3 * bytes -
    1`` long, and exactly that long when every gap has its colon.  One sum
    over the column checks that for every field at once.
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
        or any(space in joined for space in _WHITESPACE)
    ):
        return None
    try:
        data = list(map(bytes.fromhex, joined.replace(":", " ").split("\n")))
    except ValueError:
        return None
    blanks = data.count(b"")
    if blanks and not empty:
        return None
    total = sum(map(len, data))
    if len(joined) - (len(data) - 1) != 3 * total - (len(data) - blanks):
        return None
    return data


def _addresses(column: Sequence[str], family: int) -> list[int]:
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


def _columns(lines: list[str], width: int) -> list[list[str]] | None:
    """The columns of a chunk whose rows all have ``width`` fields.

    The chunk is split in one call, its rows joined by commas, after the
    comma count of every row was checked (in C, ``map`` of ``str.count``).
    """
    if set(map(str.count, lines, repeat(","))) != {width - 1}:
        return None
    fields = ",".join(lines).split(",")
    return [fields[column::width] for column in range(width)]


def _chunk4(lines: list[str], width: int) -> list[Lease] | None:
    columns = _columns(lines, width)
    if columns is None:
        return None
    count = len(lines)
    hw_col, cid_col, host_col, context_col = (
        columns[1],
        columns[2],
        columns[8],
        columns[10],
    )
    hosts = "\n".join(host_col)
    if (
        any(context_col)
        or "&" in hosts
        or not set(columns[6]) <= _FLAGS
        or not set(columns[7]) <= _FLAGS
    ):
        return None
    valid = _numbers(columns[3], _U32)
    expire = _numbers(columns[4], _U64)
    subnet = _numbers(columns[5], _U32)
    state = _numbers(columns[9], _U32)
    pool = _numbers(columns[11], _U32) if width == 12 else [0] * count
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
    if max(map(len, hws)) > 20 or not {len(c) for c in set(cids)} <= {
        0,
        *range(2, 129),
    }:
        return None
    if b"" in hws:
        # A row with neither identifier: the row parser gives Kea's error,
        # unless the lease is declined.
        bare = compress(state, map(_neither, hws, cids))
        if any(value != STATE_DECLINED for value in bare):
            return None
    # Kea lower-cases an IPv4 hostname it reads (not an IPv6 one).
    if _has_upper(hosts):
        host_col = list(map(lower_hostname, host_col))

    # The shared part of each lease: one record per distinct combination.
    flag = _FLAG_VALUE
    keys = list(zip(valid, subnet, columns[6], columns[7], state, pool, strict=True))
    shared = {
        key: share4(
            Terms4(key[0], key[1], flag[key[2]], flag[key[3]], key[4], None, key[5])
        )
        for key in set(keys)
    }
    return list(
        build4(
            addresses,
            hws,
            map(_none_if_empty, cids),
            _shared_ints(list(map(sub, expire, valid))),
            host_col,
            map(shared.__getitem__, keys),
        )
    )


def _neither(hw: bytes, cid: bytes) -> bool:
    return not hw and not cid


def _none_if_empty(data: bytes) -> bytes | None:
    return data or None


def _chunk6(lines: list[str], width: int) -> list[Lease] | None:
    columns = _columns(lines, width)
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
    kinds = _numbers(columns[6], 2)
    iaid = _numbers(columns[7], _U32)
    state = _numbers(columns[13], _U32)
    pool = _numbers(columns[17], _U32) if width == 18 else [0] * count
    if (
        valid is None
        or expire is None
        or subnet is None
        or preferred is None
        or kinds is None
        or iaid is None
        or state is None
        or pool is None
    ):
        return None
    if TYPE_PD in kinds:
        prefix = _numbers(columns[8], 255)
        if prefix is None:
            return None
        prefix = [
            length if kind == TYPE_PD else 128
            for kind, length in zip(kinds, prefix, strict=True)
        ]
    else:
        prefix = [128] * count
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
    hw_types = _numbers(columns[15], 0xFFFF)
    hw_sources = _numbers(columns[16], _U32)
    if hw_types is None or hw_sources is None:
        return None
    hw_addresses: list[bytes | None] = list(hws)
    if b"" in hws:
        # No hardware address: none at all, with Kea's type and source.
        missing = list(map(_none_if_empty, hws))
        hw_addresses = missing
        hw_types = [
            1 if hw is None else t for hw, t in zip(missing, hw_types, strict=True)
        ]
        hw_sources = [
            0 if hw is None else s for hw, s in zip(missing, hw_sources, strict=True)
        ]

    flag = _FLAG_VALUE
    keys = list(
        zip(
            kinds,
            prefix,
            valid,
            preferred,
            subnet,
            columns[9],
            columns[10],
            state,
            hw_types,
            hw_sources,
            pool,
            strict=True,
        )
    )
    shared = {
        key: share6(
            Terms6(
                key[0],
                key[1],
                key[2],
                key[3],
                key[4],
                flag[key[5]],
                flag[key[6]],
                key[7],
                None,
                key[8],
                key[9],
                key[10],
            )
        )
        for key in set(keys)
    }
    return list(
        build6(
            addresses,
            duids,
            iaid,
            _shared_ints(list(map(sub, expire, valid))),
            host_col,
            hw_addresses,
            map(shared.__getitem__, keys),
        )
    )


def _has_upper(joined: str) -> bool:
    """Whether a joined column holds an ASCII capital letter."""
    return joined != joined.lower() and joined != lower_hostname(joined)
