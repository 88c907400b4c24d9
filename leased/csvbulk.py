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
import struct
from collections.abc import Callable, Iterable, Sequence
from itertools import compress, repeat
from operator import itemgetter, sub
from typing import Any, Final, TypeVar

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

_T = TypeVar("_T")

ChunkParser = Callable[[list[str]], "list[Lease] | None"]

_U32: Final = 0xFFFFFFFF
_U64: Final = (1 << 64) - 1
_FLAGS: Final = frozenset({"0", "1"})
# Most distinct values a column may have to be converted through a table.
_FEW: Final = 4096
_TYPES: Final = frozenset({"0", "1", "2"})
_FLAG_VALUE: Final = {"0": False, "1": True}
# A client identifier field is empty or holds 2 to 128 bytes.
_FIRST: Final = itemgetter(0)
_CLIENT_ID_LENGTHS: Final = frozenset({0, *range(2, 129)})
# Characters bytes.fromhex skips between pairs besides the space.
_WHITESPACE: Final = ("\t", "\r", "\x0b", "\x0c")


def _numbers(column: Sequence[str], high: int) -> list[int] | None:
    """Decimal numbers up to ``high``, or None.

    Most columns hold a few distinct values (subnet ids, lifetimes,
    states): those are checked and converted once each (a Python step per
    distinct value), and the column is mapped through that small table,
    which also makes every lease share one int object per value.  A column
    of many distinct values is checked whole: every field non-empty, and
    all of them together ASCII digits only, is exactly "each field is a
    plain decimal number".
    """
    first = column[0]
    if column.count(first) == len(column):
        # One value throughout (the usual case): checked once, and without
        # hashing every field as a set would.
        if not (first.isdigit() and first.isascii()) or int(first) > high:
            return None
        return [int(first)] * len(column)
    # A sample tells a column of many values (expiry times, IAIDs) early,
    # before hashing every field into a set for nothing.
    few = len(set(column[:256])) <= 32
    distinct = set(column) if few else set()
    if few and len(distinct) <= min(_FEW, len(column) // 8):
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

    ``bytes.fromhex`` reads the pairs once the colons are spaces (and skips
    the newlines the fields are joined with), and refuses a pair cut by a
    space or anything but hex digits and white space.
    """
    joined = "\n".join(column)
    if not joined.isascii():
        return None
    lengths = set(map(len, column))
    if len(lengths) == 1:
        return _hex_fixed(joined, lengths.pop(), len(column), empty=empty)
    # Fields of several lengths: with no colon at either end of a field nor
    # two in a row, a field has at most one colon between each two pairs,
    # so it is at most ``3 * bytes - 1`` long, and exactly that long when
    # every gap has its colon.  One sum over the column checks that for
    # every field at once.
    if (
        " " in joined
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


def _hex_fixed(
    joined: str, width: int, count: int, *, empty: bool
) -> list[bytes] | None:
    """:func:`_hex` of ``count`` fields of one ``width``, joined by newlines.

    Hardware addresses nearly always have one length.  A field of ``size``
    pairs is ``3 * size - 1`` long, so with its newline each takes a
    multiple of three characters, and the separators (colons, newlines) are
    exactly every third character from the third on: one slice checks that
    for all fields (a third of the time of searching for misplaced colons).
    The pairs are then read in one call, which fails on anything but hex
    digits and white space; white space that it skips in place of a digit
    leaves fewer bytes than ``size`` a field, which the total shows (no
    field can hold more).  The bytes are cut apart without a string per
    field.
    """
    if width == 0:
        return [b""] * count if empty else None
    if width % 3 != 2:
        return None
    separators = joined[2::3]
    if separators.count(":") + separators.count("\n") != len(separators):
        return None
    size = (width + 1) // 3
    try:
        whole = bytes.fromhex(joined.replace(":", " "))
    except ValueError:
        return None
    if len(whole) != size * count:
        return None
    return list(map(_FIRST, struct.iter_unpack(f"{size}s", whole)))


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

    The chunk is split in one call, its rows joined by ``,\n,``: each row
    is then followed by a field that is a lone newline, which no row holds.
    Every row has ``width`` fields exactly when those newline fields fall
    every ``width + 1`` fields and the count comes out right: one C-level
    ``count``, cheaper than counting each row's commas.
    """
    fields = ",\n,".join(lines).split(",")
    stride = width + 1
    if (
        len(fields) != len(lines) * stride - 1
        or fields[width::stride].count("\n") != len(lines) - 1
    ):
        return None
    return [fields[column::stride] for column in range(width)]


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
        or not _only(columns[6], _FLAGS)
        or not _only(columns[7], _FLAGS)
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
    if max(map(len, hws)) > 20 or not set(map(len, cids)) <= _CLIENT_ID_LENGTHS:
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

    flag = _FLAG_VALUE

    def terms4(key: tuple[int, int, str, str, int, int]) -> Terms4:
        valid, subnet, fwd, rev, state, pool = key
        return share4(Terms4(valid, subnet, flag[fwd], flag[rev], state, None, pool))

    terms = _shared_terms(
        [valid, subnet, columns[6], columns[7], state, pool], terms4, count
    )
    leases: list[Lease] = list(
        build4(
            addresses,
            hws,
            [cid or None for cid in cids] if b"" in cids else cids,
            _shared_ints(list(map(sub, expire, valid))),
            host_col,
            terms,
        )
    )
    return leases


def _only(column: Sequence[str], allowed: frozenset[str]) -> bool:
    """Whether every field of ``column`` is one of a few ``allowed`` texts.

    Counting each allowed text compares fields in C without hashing them.
    """
    return sum(map(column.count, allowed)) == len(column)


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
        or not _only(columns[6], _TYPES)
        or not _only(columns[9], _FLAGS)
        or not _only(columns[10], _FLAGS)
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
    if b"\x00" in duids or max(map(len, duids)) > 128:
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

    def terms6(
        key: tuple[int, int, int, int, int, str, str, int, int, int, int],
    ) -> Terms6:
        (
            kind,
            length,
            valid,
            preferred,
            subnet,
            fwd,
            rev,
            state,
            hw_type,
            hw_source,
            pool,
        ) = key
        return share6(
            Terms6(
                kind,
                length,
                valid,
                preferred,
                subnet,
                flag[fwd],
                flag[rev],
                state,
                None,
                hw_type,
                hw_source,
                pool,
            )
        )

    terms = _shared_terms(
        [
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
        ],
        terms6,
        count,
    )
    leases: list[Lease] = list(
        build6(
            addresses,
            duids,
            iaid,
            _shared_ints(list(map(sub, expire, valid))),
            host_col,
            hw_addresses,
            terms,
        )
    )
    return leases


def _shared_terms(
    columns: Sequence[Sequence[Any]], make: Callable[[Any], _T], count: int
) -> Iterable[_T]:
    """The shared terms record of each row, from the columns it is made of.

    ``make`` builds the record of one row's values (a tuple in column
    order), once for each distinct combination.  Most columns hold a single
    value throughout a chunk (a lifetime, a subnet, the default state), and
    only the others are combined per row, so that a chunk of one subnet
    and lifetime costs no per-row work at all.
    """
    varying = [
        position
        for position, column in enumerate(columns)
        if column.count(column[0]) != len(column)
    ]
    first = [column[0] for column in columns]
    if not varying:
        return repeat(make(tuple(first)), count)
    if len(varying) == 1:
        keys: Iterable[Any] = columns[varying[0]]
    else:
        keys = list(zip(*(columns[position] for position in varying), strict=True))
    shared = {}
    for key in set(keys):
        values = list(first)
        for position, value in zip(
            varying, key if len(varying) > 1 else (key,), strict=True
        ):
            values[position] = value
        shared[key] = make(tuple(values))
    return map(shared.__getitem__, keys)


def _has_upper(joined: str) -> bool:
    """Whether a joined column holds an ASCII capital letter."""
    if joined.islower():
        return False  # no capital letter at all: a scan, without a copy
    return joined != joined.lower() and joined != lower_hostname(joined)
