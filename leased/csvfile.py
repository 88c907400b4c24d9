"""Kea's memfile lease file format: one CSV row per lease change.

Theory of operation
-------------------

A lease file is a header line naming its columns, then one row per change:
an added or updated lease is written whole; a deleted lease is the stored
lease written again with its valid lifetime (and, for IPv6, its preferred
lifetime) set to 0, so that its ``expire`` column equals its cltt.  Reading
a file replays the rows in order, keyed by address: a later row replaces an
earlier one, a row with valid lifetime 0 removes the address.  There is no
quoting: fields are split on every comma, and the two free-text columns
(hostname and user context) escape characters as ``&#xNN``.

leased writes the newest header Kea writes (with ``pool_id``), and reads
every older one Kea ever wrote: a column the file lacks takes its default
(state 0, pool id 0, nothing otherwise).  :class:`Schema` holds, per family,
the columns and the shortest header still accepted.

Where leased differs from Kea on purpose (each closes a way Kea loses data):

* Every control character (and ``,`` and ``&``) is escaped, not only ``,``
  and ``&``: a newline in a hostname would otherwise split its row in two.
  Kea reads the escapes back, so the file stays readable by Kea.
* A carriage return at the end of a line is dropped before splitting (a file
  edited on another system would otherwise lose every row, as Kea's loader
  makes the ``\\r`` part of the last field).

Rows are read a field at a time in the order Kea reads them, so that a
row with several faults, or with too few fields, is reported with the
reason Kea gives.  As in Kea, an IPv4 hostname is lower-cased when it is
read (an IPv6 one is not), and an IPv6 hardware address that does not read
is dropped (logged) rather than the whole row.

Text is UTF-8.  Kea writes hostname bytes as they came, so a file may hold
bytes that are not UTF-8: each such byte is read as the character with its
number (Latin-1), which is how Kea's own answers show it (``"\\u00e9"``
for the byte ``e9``); see :func:`decode_text`.

This module does no I/O: :func:`format_row` and :func:`parse_rows` work on
strings; :mod:`leased.leasefile` reads and writes files.
"""

from __future__ import annotations

import codecs
import logging
import re
import socket
import struct
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import repeat
from operator import add, attrgetter, itemgetter
from typing import Any, Final

import attrs
import orjson

from leased.model import (
    MAX_DUID_LEN,
    MAX_HWADDR_LEN,
    MIN_CLIENT_ID_LEN,
    STATE_DECLINED,
    STATE_WORDS,
    TYPE_NAMES,
    TYPE_PD,
    Lease,
    Lease4,
    Lease6,
    decode_separated_hex,
    format_ip6,
    lower_hostname,
    parse_client_id,
    parse_duid,
)
from leased.wire import render

__all__ = [
    "SCHEMA4",
    "SCHEMA6",
    "HeaderError",
    "RowError",
    "Schema",
    "decode_text",
    "delete_row",
    "escape",
    "format_row",
    "format_rows",
    "parse_header",
    "removal",
    "unescape",
]


LOGGER: Final = logging.getLogger("leased.journal")


class HeaderError(ValueError):
    """A header line no known schema accepts (Kea's text)."""


class RowError(ValueError):
    """A row that does not make a lease (Kea's text where Kea has one).

    Attributes:
        row: The row's text, once :func:`parse_rows` knows it.
    """

    row: str = ""


@attrs.frozen
class Schema:
    """The columns of one family's lease file, newest last.

    Attributes:
        version: 4 or 6.
        columns: Every column leased knows, in file order.
        minimum: How many leading columns a header must have at least.
        defaults: Column to the value a file without it implies.
    """

    version: int
    columns: tuple[str, ...]
    minimum: int
    defaults: dict[str, str]

    @property
    def header(self) -> str:
        """The header leased writes."""
        return ",".join(self.columns)


SCHEMA4: Final = Schema(
    4,
    (
        "address",
        "hwaddr",
        "client_id",
        "valid_lifetime",
        "expire",
        "subnet_id",
        "fqdn_fwd",
        "fqdn_rev",
        "hostname",
        "state",
        "user_context",
        "pool_id",
    ),
    minimum=9,
    defaults={"state": "0", "pool_id": "0"},
)

SCHEMA6: Final = Schema(
    6,
    (
        "address",
        "duid",
        "valid_lifetime",
        "expire",
        "subnet_id",
        "pref_lifetime",
        "lease_type",
        "iaid",
        "prefix_len",
        "fqdn_fwd",
        "fqdn_rev",
        "hostname",
        "hwaddr",
        "state",
        "user_context",
        "hwtype",
        "hwaddr_source",
        "pool_id",
    ),
    minimum=12,
    defaults={"state": "0", "pool_id": "0"},
)

SCHEMAS: Final = {4: SCHEMA4, 6: SCHEMA6}


# Escaping of the free-text columns.

# Characters written as &#xNN: the separator, the escape character itself,
# and every control character.
_ESCAPED: Final = frozenset([",", "&", "\x7f", *map(chr, range(0x20))])
_ESCAPE_TABLE: Final = {ord(char): f"&#x{ord(char):02x}" for char in _ESCAPED}
_NEEDS_ESCAPE: Final = re.compile("[,&\x00-\x1f\x7f]")
_ESCAPE_SEQUENCE: Final = re.compile("&#x([0-9a-fA-F]{2})")


def escape(text: str) -> str:
    """Escape a free-text column for the file."""
    if _NEEDS_ESCAPE.search(text) is None:
        return text
    return text.translate(_ESCAPE_TABLE)


def unescape(text: str) -> str:
    """Undo :func:`escape` (and Kea's escaping, a subset of it).

    An ``&#xNN`` stands for the byte NN; ``&#x`` without two hex digits
    after it is kept as it is, as Kea does.
    """
    if "&#x" not in text:
        return text
    if not any(int(m[1], 16) >= 0x80 for m in _ESCAPE_SEQUENCE.finditer(text)):
        return _ESCAPE_SEQUENCE.sub(lambda m: chr(int(m[1], 16)), text)
    # Escaped bytes above 0x7f are parts of UTF-8 sequences: rebuild bytes.
    out = bytearray()
    last = 0
    for match in _ESCAPE_SEQUENCE.finditer(text):
        out += text[last : match.start()].encode()
        out.append(int(match[1], 16))
        last = match.end()
    out += text[last:].encode()
    return decode_text(bytes(out))


def _bytes_as_latin1(error: UnicodeError) -> tuple[str, int]:
    """Decoding error handler: each byte that is not UTF-8 as Latin-1."""
    assert isinstance(error, UnicodeDecodeError)
    return error.object[error.start : error.end].decode("latin-1"), error.end


codecs.register_error("leased-latin1", _bytes_as_latin1)


def decode_text(data: bytes) -> str:
    """Decode bytes of a lease file: UTF-8, any other byte as Latin-1.

    Kea keeps text as bytes and shows a byte above 0x7f in its answers as
    ``\\u00XX``, that is as the Latin-1 character; a byte that is not part
    of valid UTF-8 is read as that same character here.
    """
    return data.decode("utf-8", "leased-latin1")


# Writing.


def _hex(data: bytes | None) -> str:
    return data.hex(":") if data else ""


def _context(context: dict[str, Any] | None) -> str:
    return escape(render(context)) if context is not None else ""


def format_row(lease: Lease) -> str:
    """The row (without its newline) that records ``lease``."""
    if isinstance(lease, Lease4):
        # Building the row with one f-string is the cheapest way in Python;
        # start-up compaction and lease4-write format a row per lease.
        address = lease.address
        return (
            f"{address >> 24}.{(address >> 16) & 255}.{(address >> 8) & 255}."
            f"{address & 255},{_hex(lease.hw_address)},{_hex(lease.client_id)},"
            f"{lease.valid_lft},{lease.cltt + lease.valid_lft},{lease.subnet_id},"
            f"{int(lease.fqdn_fwd)},{int(lease.fqdn_rev)},{escape(lease.hostname)},"
            f"{lease.state},{_context(lease.user_context)},{lease.pool_id}"
        )
    hw = lease.hw_address
    if hw is None:
        # Newest Kea's form for "no hardware address" (2.2 left all three
        # columns empty; both read either).
        hw_text, hw_type, hw_source = "", 0, 0
    else:
        hw_text, hw_type, hw_source = _hex(hw), lease.hw_type, lease.hw_source
    return (
        f"{format_ip6(lease.address)},{_hex(lease.duid)},{lease.valid_lft},"
        f"{lease.cltt + lease.valid_lft},{lease.subnet_id},{lease.preferred_lft},"
        f"{lease.type},{lease.iaid},{lease.prefix_len},{int(lease.fqdn_fwd)},"
        f"{int(lease.fqdn_rev)},{escape(lease.hostname)},{hw_text},{lease.state},"
        f"{_context(lease.user_context)},{hw_type},{hw_source},{lease.pool_id}"
    )


def format_rows(leases: Sequence[Lease], *, removed: bool = False) -> list[str]:
    """The rows of many leases of one family: ``format_row`` of each.

    With ``removed``, the rows that record their removal instead
    (``delete_row`` of each).

    Compaction, lease4-write and a wipe write rows by the hundred thousand,
    so they are built a column at a time with ``map`` of C functions and
    joined with one ``str.join`` per row, at about a third of the cost of
    ``format_row`` each; the values leases share come from their shared
    terms record, rendered once per record.
    """
    if not leases:
        return []
    if isinstance(leases[0], Lease4):
        return _rows4(leases, removed)
    return _rows6(leases, removed)


def _hex_column(column: list[bytes | None]) -> Iterable[str]:
    if None in column:
        return [data.hex(":") if data else "" for data in column]
    return map(bytes.hex, column, repeat(":"))  # type: ignore[arg-type]


def _hosts_column(hostnames: list[str]) -> Iterable[str]:
    if _NEEDS_ESCAPE.search("".join(hostnames)) is None:
        return hostnames
    return map(escape, hostnames)


def _per_terms(
    leases: Sequence[Lease], render: Callable[[Any], tuple[Any, ...]]
) -> tuple[list[Any], dict[int, tuple[Any, ...]]]:
    """Each lease's terms record and each distinct record's rendered parts.

    Records are told apart by identity (the leases keep them alive for the
    call); ``render`` runs once per distinct record.
    """
    terms = list(map(_TERMS, leases))
    distinct = dict(zip(map(id, terms), terms, strict=True))
    return terms, {key: render(record) for key, record in distinct.items()}


def _rows4(leases: Sequence[Lease], removed: bool) -> list[str]:
    # Each distinct terms record gives a %-template of the whole row: its
    # own columns as text (a "%" in them doubled), the lease's as
    # conversions.  A row is then one C-level "%" of a tuple made by zip,
    # not a join of parts looked up one by one: a third less time for a
    # wipe's 100k rows.
    def render(terms: Any) -> tuple[Any, ...]:
        valid = 0 if removed else terms.valid_lft
        fixed = (
            f"{valid},",
            f",{terms.subnet_id},{int(terms.fqdn_fwd)},{int(terms.fqdn_rev)},",
            f",{terms.state},{_context(terms.user_context)},{terms.pool_id}",
        )
        return valid, "%d.%d.%d.%d,%s,%s,{}%d{}%s{}".format(
            *(text.replace("%", "%%") for text in fixed)
        )

    terms, parts = _per_terms(leases, render)
    rendered: list[tuple[Any, ...]] = []
    if len(parts) > 1:
        rendered = list(map(parts.__getitem__, map(id, terms)))
    cltts = map(_CLTT, leases)
    if removed:
        expires: Iterable[int] = cltts  # a lifetime of 0
    elif rendered:
        expires = map(add, cltts, map(_FIRST, rendered))
    else:
        expires = map(add, cltts, repeat(next(iter(parts.values()))[0]))
    # The four bytes of each address (big-endian) as the small ints a bytes
    # object yields, taken four at a time from one iterator by zip:
    # cheaper than inet_ntoa of each.
    octets = iter(struct.pack(f">{len(leases)}I", *map(_ADDRESS, leases)))
    values = zip(
        octets,
        octets,
        octets,
        octets,
        _hex_column(list(map(_HW, leases))),
        _hex_column(list(map(_CLIENT_ID, leases))),
        expires,
        _hosts_column(list(map(_HOSTNAME, leases))),
        strict=True,
    )
    if not rendered:
        # One terms record (a wipe of a subnet, usually): one template.
        return list(map(next(iter(parts.values()))[1].__mod__, values))
    return list(map(str.__mod__, map(_SECOND, rendered), values))


def _rows6(leases: Sequence[Lease], removed: bool) -> list[str]:
    def render(terms: Any) -> tuple[Any, ...]:
        valid = 0 if removed else terms.valid_lft
        preferred = 0 if removed else terms.preferred_lft
        context = _context(terms.user_context)
        return (
            valid,
            str(valid),
            f"{terms.subnet_id},{preferred},{terms.type}",
            f"{terms.prefix_len},{int(terms.fqdn_fwd)},{int(terms.fqdn_rev)}",
            # After the hardware address: with one, and (newest Kea's
            # form) without.
            f"{terms.state},{context},{terms.hw_type},{terms.hw_source},"
            f"{terms.pool_id}",
            f"{terms.state},{context},0,0,{terms.pool_id}",
        )

    terms, parts = _per_terms(leases, render)
    rendered = list(map(parts.__getitem__, map(id, terms)))
    addresses = map(
        socket.inet_ntop,
        repeat(socket.AF_INET6),
        map(int.to_bytes, map(_ADDRESS, leases), repeat(16)),
    )
    expires = map(str, map(add, map(_CLTT, leases), map(_FIRST, rendered)))
    hardware = list(map(_HW, leases))
    if None in hardware:
        tails: Iterable[str] = [
            part[5] if hw is None else part[4]
            for hw, part in zip(hardware, rendered, strict=True)
        ]
    else:
        tails = map(_FIFTH, rendered)
    return list(
        map(
            ",".join,
            zip(
                addresses,
                _hex_column(list(map(_DUID, leases))),
                map(_SECOND, rendered),
                expires,
                map(_THIRD, rendered),
                map(str, map(_IAID, leases)),
                map(_FOURTH, rendered),
                _hosts_column(list(map(_HOSTNAME, leases))),
                _hex_column(hardware),
                tails,
                strict=True,
            ),
        )
    )


_TERMS: Final = attrgetter("terms")
_ADDRESS: Final = attrgetter("address")
_CLTT: Final = attrgetter("cltt")
_HW: Final = attrgetter("hw_address")
_CLIENT_ID: Final = attrgetter("client_id")
_DUID: Final = attrgetter("duid")
_IAID: Final = attrgetter("iaid")
_HOSTNAME: Final = attrgetter("hostname")
_FIRST, _SECOND, _THIRD, _FOURTH, _FIFTH = map(itemgetter, range(5))


def removal(lease: Lease) -> Lease:
    """The record whose row removes the stored ``lease`` (Kea's delete marker).

    It is the lease with lifetime 0 (IPv6: both lifetimes), so its expire is
    its cltt.
    """
    if isinstance(lease, Lease4):
        return lease.replace(valid_lft=0)
    return lease.replace(valid_lft=0, preferred_lft=0)


def delete_row(lease: Lease) -> str:
    """The row that records the removal of the stored ``lease``."""
    return format_row(removal(lease))


# Reading.


@attrs.frozen
class Header:
    """What a file's header says: which columns, where, and its age."""

    schema: Schema
    positions: dict[str, int]
    # True when the file lacks columns leased writes (an older Kea wrote
    # it): such a file is rewritten by a compaction at start-up.
    outdated: bool
    # True when the file has columns leased does not know (a newer Kea).
    newer: bool


def parse_header(line: str, version: int, file_name: str) -> Header:
    """Check a header line against the family's schema, as Kea does.

    Raises:
        HeaderError: With Kea's text.
    """
    schema = SCHEMAS[version]
    names = line.rstrip("\r").split(",")
    valid = 0
    # Columns past the ones leased knows come from a newer Kea: ignored.
    for name, expected in zip(names, schema.columns, strict=False):
        if name != expected:
            raise HeaderError(
                f"invalid header '{line}' in CSV file '{file_name}':  "
                f"- header contains an invalid column: '{name}'"
            )
        valid += 1
    if valid < schema.minimum:
        raise HeaderError(
            f"invalid header '{line}' in CSV file '{file_name}':  "
            f"- header has only {valid} valid column(s), it must have at least "
            f"{schema.minimum}"
        )
    return Header(
        schema=schema,
        positions={name: index for index, name in enumerate(schema.columns[:valid])},
        outdated=valid < len(schema.columns),
        newer=len(names) > len(schema.columns),
    )


_LEXICAL: Final = (
    "bad lexical cast: source type value could not be interpreted as target"
)


def _uint(text: str, bits: int = 32) -> int:
    # int() alone would also take " 5", "+5" and "5_0"; Kea's cast does not.
    if not (text.isdigit() and text.isascii()):
        raise RowError(_LEXICAL)
    value = int(text)
    if value >= 1 << bits:
        raise RowError(_LEXICAL)
    return value


def _flag(text: str) -> bool:
    if text == "0":
        return False
    if text == "1":
        return True
    raise RowError(_LEXICAL)


def _pairs(text: str) -> bytes | None:
    """Bytes written as two hex digits each, joined by colons, or None.

    Nearly every identifier in a file has that form; ``bytes.fromhex``
    reads it in one call, and anything else takes Kea's slower parsers.
    """
    if len(text) % 3 == 2 and text.isascii():
        try:
            data = bytes.fromhex(text.replace(":", " "))
        except ValueError:
            return None
        if len(data) * 3 - 1 == len(text):
            return data
    return None


def _hw_address(text: str) -> bytes:
    """A hardware address (colon-separated hex only, as Kea's reader)."""
    data = _pairs(text)
    if data is None:
        try:
            data = decode_separated_hex(text, ":")
        except ValueError as error:
            raise RowError(str(error)) from None
    if len(data) > MAX_HWADDR_LEN:
        raise RowError("address vector size exceeds MAX_HWADDR_LEN")
    return data


def _client_id(text: str) -> bytes:
    """A client identifier in any form Kea reads (colons, spaces, plain)."""
    data = _pairs(text)
    if data is not None and MIN_CLIENT_ID_LEN <= len(data) <= MAX_DUID_LEN:
        return data
    try:
        return parse_client_id(text)
    except ValueError as error:
        raise RowError(str(error)) from None


def _duid(text: str) -> bytes:
    """A DUID in any form Kea reads (colons, spaces, plain hex)."""
    data = _pairs(text)
    if data is not None and len(data) <= MAX_DUID_LEN:
        return data
    try:
        return parse_duid(text)
    except ValueError as error:
        raise RowError(str(error)) from None


_RAW_BYTE_ESCAPE: Final = re.compile(rb"(?<!\\)((?:\\\\)*)\\u00([89a-fA-F][0-9a-fA-F])")


def _user_context(text: str) -> dict[str, Any] | None:
    if not text:
        return None
    context = unescape(text)
    raw = context.encode()
    if b"\\u00" in raw:
        # Kea writes each byte of a non-ASCII character as its own \u00XX:
        # put the bytes back together.  Bytes that do not make UTF-8 (Kea
        # keeps a client's "\u00e9" as the one byte e9) are Latin-1.
        raw = _RAW_BYTE_ESCAPE.sub(lambda m: m[1] + bytes([int(m[2], 16)]), raw)
        raw = decode_text(raw).encode()
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise RowError(f"user context '{context}' is not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise RowError(f"user context '{context}' is not a JSON map")
    return value


def _ip4_address(text: str) -> int:
    try:
        return int.from_bytes(socket.inet_pton(socket.AF_INET, text), "big")
    except OSError:
        raise RowError(
            f"Failed to convert string to address '{text}': Invalid argument"
        ) from None


def _ip6_address(text: str) -> int:
    try:
        return int.from_bytes(socket.inet_pton(socket.AF_INET6, text), "big")
    except OSError:
        raise RowError(
            f"Failed to convert string to address '{text}': Invalid argument"
        ) from None


def _at(fields: list[str], index: int) -> str:
    """The field at ``index``; Kea's text when the row is too short."""
    try:
        return fields[index]
    except IndexError:
        raise RowError(
            f"value index '{index}' of the CSV row is out of bounds; maximal "
            f"index is '{len(fields) - 1}'"
        ) from None


def _field(fields: list[str], index: int | None, default: str = "") -> str:
    """A field by column position; ``None`` is a column the file lacks."""
    return default if index is None else _at(fields, index)


def row_parser(header: Header) -> Callable[[str], Lease]:
    """A function that turns one row of a file with ``header`` into a lease.

    The lease it returns has the row's lifetimes; a lifetime of 0 marks a
    removal (the caller decides what that means).

    The returned function raises :class:`RowError` for a row that does not
    make a lease.
    """
    where = header.positions.get
    defaults = header.schema.defaults
    if header.schema.version == 4:
        return _parser4(where, defaults)
    return _parser6(where, defaults)


# The parsers read the fields in the order Kea reads them (so that the first
# fault found is the one Kea reports): IPv4 address, client id, hardware
# address, state, then the user context, hostname, FQDN flags, subnet id,
# expiration and valid lifetime; IPv6 lease type, prefix length (prefixes
# only), hardware address, subnet id, lifetimes, IAID, DUID, address,
# expiration, FQDN flags, hostname, state and user context.


def _parser4(
    where: Callable[[str], int | None], defaults: dict[str, str]
) -> Callable[[str], Lease]:
    state_at, context_at, pool_at = (
        where("state"),
        where("user_context"),
        where("pool_id"),
    )
    state_default, pool_default = defaults["state"], defaults["pool_id"]
    # Positions 0-8 are in every accepted header.

    def parse(row: str) -> Lease:
        fields = row.split(",")
        address = _ip4_address(fields[0])
        client_id_text = _at(fields, 2)
        client_id = _client_id(client_id_text) if client_id_text else None
        hw_text = fields[1]
        hw = _hw_address(hw_text) if hw_text else b""
        state = _uint(_field(fields, state_at, state_default))
        if not hw and client_id is None and state != STATE_DECLINED:
            raise RowError(
                f"Lease4: {fields[0]}, state: {_state_word(state)} "
                "has neither hardware address or client id"
            )
        context = _user_context(_field(fields, context_at))
        hostname = _at(fields, 8)
        if "&" in hostname:
            hostname = unescape(hostname)
        fqdn_rev = _flag(fields[7])
        fqdn_fwd = _flag(fields[6])
        subnet_id = _uint(fields[5])
        expire = _uint(fields[4], 64)
        valid = _uint(fields[3])
        return Lease4(
            address=address,
            hw_address=hw,
            client_id=client_id,
            valid_lft=valid,
            cltt=expire - valid,
            subnet_id=subnet_id,
            fqdn_fwd=fqdn_fwd,
            fqdn_rev=fqdn_rev,
            hostname=lower_hostname(hostname),
            state=state,
            user_context=context,
            pool_id=_uint(_field(fields, pool_at, pool_default)),
        )

    return parse


def _parser6(
    where: Callable[[str], int | None], defaults: dict[str, str]
) -> Callable[[str], Lease]:
    hw_at, state_at, context_at = where("hwaddr"), where("state"), where("user_context")
    hwtype_at, source_at, pool_at = (
        where("hwtype"),
        where("hwaddr_source"),
        where("pool_id"),
    )
    state_default, pool_default = defaults["state"], defaults["pool_id"]

    def hardware(fields: list[str]) -> tuple[bytes | None, int, int]:
        """The hardware address, its type and source (Kea's defaults)."""
        try:
            type_text = _field(fields, hwtype_at)
            hw_type = _uint(type_text, 16) if type_text else 1
            hw_text = _field(fields, hw_at)
            hw = _hw_address(hw_text) if hw_text else b""
            if not hw:
                return None, 1, 0
            source_text = _field(fields, source_at)
            return hw, hw_type, _uint(source_text) if source_text else 0
        except RowError as error:
            LOGGER.warning(
                "lease file row has an unreadable hardware address, read without one address=%s reason=%s",
                fields[0],
                error,
            )
            return None, 1, 0

    def parse(row: str) -> Lease:
        fields = row.split(",")
        lease_type = _uint(_at(fields, 6))
        if lease_type >= len(TYPE_NAMES):
            raise RowError(f"invalid lease type {lease_type}")
        prefix_len = _uint(_at(fields, 8), 8) if lease_type == TYPE_PD else 128
        hw, hw_type, hw_source = hardware(fields)
        subnet_id = _uint(fields[4])
        valid = _uint(fields[2])
        preferred = _uint(fields[5])
        iaid = _uint(_at(fields, 7))
        duid = _duid(fields[1])
        address = _ip6_address(fields[0])
        expire = _uint(fields[3], 64)
        fqdn_fwd = _flag(_at(fields, 9))
        fqdn_rev = _flag(_at(fields, 10))
        hostname = _at(fields, 11)
        if "&" in hostname:
            hostname = unescape(hostname)
        state = _uint(_field(fields, state_at, state_default))
        if duid == b"\x00" and state != STATE_DECLINED:
            raise RowError("The Empty DUID is only valid for declined leases")
        return Lease6(
            address=address,
            type=lease_type,
            prefix_len=prefix_len,
            duid=duid,
            iaid=iaid,
            valid_lft=valid,
            preferred_lft=preferred,
            cltt=expire - valid,
            subnet_id=subnet_id,
            fqdn_fwd=fqdn_fwd,
            fqdn_rev=fqdn_rev,
            hostname=hostname,
            state=state,
            user_context=_user_context(_field(fields, context_at)),
            hw_address=hw,
            hw_type=hw_type,
            hw_source=hw_source,
            pool_id=_uint(_field(fields, pool_at, pool_default)),
        )

    return parse


def _state_word(state: int) -> str:
    """Kea's word for a state in texts (``unknown (7)`` for others)."""
    if state < len(STATE_WORDS):
        return STATE_WORDS[state]
    return f"unknown ({state})"


def parse_rows(
    lines: Iterable[str], parse: Callable[[str], Lease], *, start: int = 0
) -> Iterator[tuple[int, Lease | RowError]]:
    """Parse data rows: (row number, lease or the error), empty lines skipped.

    Row numbers count the data rows read so far (``start`` before these), as
    Kea's messages do.
    """
    number = start
    for line in lines:
        if line.endswith("\r"):
            line = line[:-1]
        if not line:
            continue
        number += 1
        try:
            yield number, parse(line)
        except ValueError as error:
            bad = error if isinstance(error, RowError) else RowError(str(error))
            bad.row = line
            yield number, bad
