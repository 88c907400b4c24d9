"""The lease file row codec (leased.csvfile), without files or event loop.

Kea's texts below were read from Kea 2.2's own loader (``kea-lfc -d`` on
files holding these rows); where newest Kea reads a column in another
order, the text follows newest Kea.
"""

from __future__ import annotations

import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leased.csvfile import (
    SCHEMA4,
    SCHEMA6,
    HeaderError,
    RowError,
    decode_text,
    delete_row,
    escape,
    format_row,
    format_rows,
    parse_header,
    parse_rows,
    row_parser,
    unescape,
)
from leased.model import Lease, Lease4, Lease6
from tests.test_csvbulk import leases4 as bulk_leases4
from tests.test_csvbulk import leases6 as bulk_leases6

HEADER4_22 = (
    "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,"
    "hostname,state,user_context"
)
HEADER6_22 = (
    "address,duid,valid_lifetime,expire,subnet_id,pref_lifetime,lease_type,iaid,"
    "prefix_len,fqdn_fwd,fqdn_rev,hostname,hwaddr,state,user_context,hwtype,"
    "hwaddr_source"
)

LEASE4 = Lease4(
    address=0xC0000205,
    hw_address=bytes.fromhex("0102030405a6"),
    client_id=bytes.fromhex("ff01"),
    valid_lft=3600,
    cltt=1_900_000_000,
    subnet_id=44,
    fqdn_fwd=True,
    fqdn_rev=False,
    hostname="host.example.",
    state=0,
    user_context={"comment": "a, b & c", "n": [1, 2]},
    pool_id=7,
)
LEASE6 = Lease6(
    address=0x20010DB8000100000000000000000001,
    type=0,
    prefix_len=128,
    duid=bytes.fromhex("0102030405"),
    iaid=42,
    valid_lft=4000,
    preferred_lft=3000,
    cltt=1_900_000_000,
    subnet_id=66,
    fqdn_fwd=False,
    fqdn_rev=True,
    hostname="six.example.",
    state=0,
    user_context={"x": "y,z"},
    hw_address=bytes.fromhex("0a0b0c0d0e0f"),
    hw_type=1,
    hw_source=4,
    pool_id=3,
)
PREFIX6 = Lease6(
    address=0x20010DB8ABCD00000000000000000000,
    type=2,
    prefix_len=48,
    duid=bytes.fromhex("4242"),
    iaid=43,
    valid_lft=1000,
    preferred_lft=500,
    cltt=1_999_999_000,
    subnet_id=66,
)


def read(header: str, version: int, row: str) -> Lease:
    """Parse one row of a file with ``header``."""
    return row_parser(parse_header(header, version, "f"))(row)


def reason(header: str, version: int, row: str) -> str:
    """The reason a row of a file with ``header`` is refused."""
    with pytest.raises(RowError) as error:
        read(header, version, row)
    return str(error.value)


# Headers.


def test_csvfile_header_written_is_newest_kea() -> None:
    """leased writes newest Kea's headers, with pool_id."""
    assert SCHEMA4.header == HEADER4_22 + ",pool_id"
    assert SCHEMA6.header == HEADER6_22 + ",pool_id"


@pytest.mark.parametrize(
    ("version", "width"),
    # Every header Kea ever wrote: v4 schema 1.0, 2.0, 2.1 (Kea 2.2), 3.0;
    # v6 schema 1.0, 2.0, 3.0, 3.1, 4.0 (Kea 2.2), 5.0.
    [(4, width) for width in (9, 10, 11, 12)]
    + [(6, width) for width in (12, 13, 14, 15, 17, 18)],
)
def test_csvfile_every_kea_header_reads_with_defaults(version: int, width: int) -> None:
    """Missing columns take their defaults; a shorter header is outdated."""
    schema = SCHEMA4 if version == 4 else SCHEMA6
    lease = LEASE4 if version == 4 else LEASE6
    header_line = ",".join(schema.columns[:width])
    row = ",".join(format_row(lease).split(",")[:width])

    header = parse_header(header_line, version, "f")
    parsed = row_parser(header)(row)

    assert header.outdated == (width < len(schema.columns))
    assert not header.newer
    columns = schema.columns[:width]
    assert parsed.pool_id == (lease.pool_id if "pool_id" in columns else 0)
    assert parsed.state == 0
    has_context = "user_context" in columns
    assert parsed.user_context == (lease.user_context if has_context else None)
    assert parsed.hostname == lease.hostname
    assert (parsed.address, parsed.valid_lft, parsed.cltt) == (
        lease.address,
        lease.valid_lft,
        lease.cltt,
    )
    if isinstance(parsed, Lease6):
        assert isinstance(lease, Lease6)
        expected_hw = lease.hw_address if "hwaddr" in columns else None
        assert parsed.hw_address == expected_hw
        # A file without hwtype and hwaddr_source means Ethernet, unknown.
        assert (parsed.hw_type, parsed.hw_source) == (
            (1, 4) if "hwaddr_source" in columns else (1, 0)
        )


def test_csvfile_extra_unknown_columns_are_ignored() -> None:
    """A newer Kea's extra columns (and extra fields in rows) are ignored."""
    header = parse_header(SCHEMA4.header + ",future,more", 4, "f")
    row = format_row(LEASE4) + ",x,y"

    parsed = row_parser(header)(row)

    assert header.newer and not header.outdated
    assert parsed == LEASE4


def test_csvfile_extra_fields_in_a_row_are_ignored() -> None:
    """As in Kea, a row longer than its header still reads."""
    row = format_row(LEASE4).rsplit(",", 1)[0] + ",9,extra"

    parsed = read(HEADER4_22, 4, row)

    assert parsed.pool_id == 0
    assert parsed.address == LEASE4.address


@pytest.mark.parametrize(
    ("version", "line", "text"),
    [
        (
            4,
            "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,"
            "fqdn_rev,hostname,status",
            "invalid header 'address,hwaddr,client_id,valid_lifetime,expire,"
            "subnet_id,fqdn_fwd,fqdn_rev,hostname,status' in CSV file 'f':  - header "
            "contains an invalid column: 'status'",
        ),
        (
            4,
            "address,hwaddr,client_id",
            "invalid header 'address,hwaddr,client_id' in CSV file 'f':  - header "
            "has only 3 valid column(s), it must have at least 9",
        ),
        (
            6,
            "address,duid,valid_lifetime",
            "invalid header 'address,duid,valid_lifetime' in CSV file 'f':  - "
            "header has only 3 valid column(s), it must have at least 12",
        ),
        (
            6,
            HEADER4_22,
            f"invalid header '{HEADER4_22}' in CSV file 'f':  - header contains "
            "an invalid column: 'hwaddr'",
        ),
    ],
)
def test_csvfile_bad_header_gives_kea_text(version: int, line: str, text: str) -> None:
    """A header no schema accepts is refused with Kea's text."""
    with pytest.raises(HeaderError) as error:
        parse_header(line, version, "f")

    assert str(error.value) == text


def test_csvfile_header_with_cr_reads() -> None:
    """A header ending in CR (a file edited elsewhere) is accepted."""
    header = parse_header(SCHEMA4.header + "\r", 4, "f")

    assert not header.outdated


# Writing.


def test_csvfile_format_row_is_kea_row() -> None:
    """Rows are Kea's: hex with colons, expire = cltt + valid, escaped text."""
    assert format_row(LEASE4) == (
        "192.0.2.5,01:02:03:04:05:a6,ff:01,3600,1900003600,44,1,0,host.example.,0,"
        '{ "comment": "a&#x2c b &#x26 c"&#x2c "n": [ 1&#x2c 2 ] },7'
    )
    assert format_row(LEASE6) == (
        "2001:db8:1::1,01:02:03:04:05,4000,1900004000,66,3000,0,42,128,0,1,"
        'six.example.,0a:0b:0c:0d:0e:0f,0,{ "x": "y&#x2cz" },1,4,3'
    )
    # No hardware address: newest Kea's empty address, type 0, source 0.
    assert format_row(PREFIX6) == (
        "2001:db8:abcd::,42:42,1000,2000000000,66,500,2,43,48,0,0,,,0,,0,0,0"
    )


def test_csvfile_delete_row_has_lifetime_zero() -> None:
    """A removal is the stored lease with lifetime 0: expire is its cltt."""
    row4 = delete_row(LEASE4).split(",")
    row6 = delete_row(LEASE6).split(",")

    assert row4[3:5] == ["0", str(LEASE4.cltt)]
    assert row4[:3] == format_row(LEASE4).split(",")[:3]
    assert row6[2:6] == ["0", str(LEASE6.cltt), "66", "0"]
    parsed = read(SCHEMA6.header, 6, delete_row(LEASE6))
    assert (parsed.valid_lft, parsed.cltt) == (0, LEASE6.cltt)


# Escaping.

CONTROL = [chr(code) for code in range(0x20)] + ["\x7f"]


@pytest.mark.parametrize("char", [*CONTROL, ",", "&"])
def test_csvfile_escape_every_control_character_both_ways(char: str) -> None:
    """Each control character, comma and ampersand is written as &#xNN."""
    escaped = escape(f"a{char}b")

    assert escaped == f"a&#x{ord(char):02x}b"
    assert unescape(escaped) == f"a{char}b"
    assert unescape(f"a&#x{ord(char):02X}b") == f"a{char}b"


def test_csvfile_control_characters_round_trip_in_rows() -> None:
    """A newline in a hostname or a user context keeps its row whole."""
    text = "".join(CONTROL) + ",&é"
    lease4 = Lease4(
        address=0xC0000207,
        hw_address=b"\x01\x02",
        client_id=None,
        valid_lft=10,
        cltt=100,
        subnet_id=1,
        hostname="new\nline\r,tab\t&" + text.lower(),
        user_context={"s": "x\ny", "k,\n": text},
    )
    lease6 = Lease6(
        address=1,
        type=0,
        prefix_len=128,
        duid=b"\x01\x02",
        iaid=1,
        valid_lft=10,
        preferred_lft=5,
        cltt=100,
        subnet_id=1,
        hostname="Up\nPer," + text,
        user_context={"s": text},
    )

    for version, lease in ((4, lease4), (6, lease6)):
        row = format_row(lease)
        schema = SCHEMA4 if version == 4 else SCHEMA6

        assert row.isprintable()
        assert len(row.split(",")) == len(schema.columns)
        assert read(schema.header, version, row) == lease


@pytest.mark.parametrize(
    ("escaped", "text"),
    [
        ("a&#x2cb&#x26c&#xzz", "a,b&c&#xzz"),  # Kea 2.2's own example
        ("&#x2C&#X2c", ",&#X2c"),  # either case of digits, lower-case tag only
        ("x&#x", "x&#x"),
        ("x&#x4", "x&#x4"),
        ("&#x26#x2c", "&#x2c"),  # escapes are not read twice
        ("&#xc3&#xa9", "é"),  # escaped UTF-8 bytes
        ("&#xe9", "é"),  # a byte that is not UTF-8: Latin-1
    ],
)
def test_csvfile_unescape_reads_kea_forms(escaped: str, text: str) -> None:
    """``&#x`` with two hex digits is a byte; anything else stays."""
    assert unescape(escaped) == text


def test_csvfile_bytes_that_are_not_utf8_read_as_latin1() -> None:
    """Kea's raw hostname bytes read as Kea's answers show them."""
    assert decode_text(b"x\xe9y\xc3\xa9") == "x\u00e9y\u00e9"
    # Kea keeps a client's "\u00e9" as the single byte e9; its file then
    # holds "\u00e9" in the user context, which must not cost the lease.
    row = (
        "192.0.2.3,01,,100,1000,44,0,0,x\u00e9y,0,"
        '{ "a": "\\u00e9"&#x2c "b": "\\u00c3\\u00a9"&#x2c "c": "\\\\u00e9" }'
    )

    lease = read(HEADER4_22, 4, row)

    assert lease.hostname == "x\u00e9y"
    assert lease.user_context == {"a": "\u00e9", "b": "\u00e9", "c": "\\u00e9"}


# Reading.


def test_csvfile_kea_22_rows_read() -> None:
    """Rows as Kea 2.2 writes them (its documented examples)."""
    lease4 = read(
        HEADER4_22,
        4,
        "192.0.2.2,09:09:09:09:09:09,56:56:56:56:56:56:56:56,1000,2000000000,44,1,"
        '1,myhost.example.com.,0,{ "bar": [ 1&#x2c 2 ]&#x2c "foo": "a&#x2cb" }',
    )
    lease6 = read(
        HEADER6_22,
        6,
        "2001:db8:2::1,42:42:42:42:42:42:42:42,1000,2000000000,99,4,0,42,128,0,0,,"
        '1a:1b:1c:1d:1e:1f,1,{ "x": "y&#x2cz" },1,0',
    )
    no_hw6 = read(
        HEADER6_22,
        6,
        "2001:db8:1::1,42:42:42:42:42:42:42:42,4294967294,6218189366,66,1800,0,42,"
        "128,0,1,myhost.example.com.,,0,,,",
    )

    assert isinstance(lease4, Lease4)
    assert lease4.user_context == {"bar": [1, 2], "foo": "a,b"}
    assert lease4.cltt == 2000000000 - 1000
    assert lease4.client_id == b"\x56" * 8
    assert isinstance(lease6, Lease6)
    assert (lease6.hw_address, lease6.hw_type, lease6.hw_source) == (
        bytes.fromhex("1a1b1c1d1e1f"),
        1,
        0,
    )
    assert lease6.state == 1
    assert isinstance(no_hw6, Lease6)
    assert no_hw6.hw_address is None
    assert no_hw6.cltt == 6218189366 - 4294967294


def test_csvfile_identifiers_in_every_form_kea_reads() -> None:
    """Client ids and DUIDs read in plain and one-digit forms, as in Kea."""
    lease4 = read(HEADER4_22, 4, "192.0.2.1,1:2:3,0x0102,1,2,1,0,0,,0,")
    lease6 = read(HEADER6_22, 6, "2001:db8::1,0a0b0c,1,2,1,1,0,1,128,0,0,,,0,,,")

    assert isinstance(lease4, Lease4) and isinstance(lease6, Lease6)
    assert (lease4.hw_address, lease4.client_id) == (b"\x01\x02\x03", b"\x01\x02")
    assert lease6.duid == b"\x0a\x0b\x0c"


def test_csvfile_ipv4_hostname_lower_cased_ipv6_not() -> None:
    """Kea lower-cases IPv4 hostnames it reads, not IPv6 ones."""
    lease4 = read(HEADER4_22, 4, "192.0.2.1,01,,1,2,1,0,0,Host.EXAMPLE&#x2cÉ,0,")
    lease6 = read(HEADER6_22, 6, "2001:db8::1,01,1,2,1,1,0,1,128,0,0,Host.EX,,0,,,")

    assert lease4.hostname == "host.example,É"
    assert lease6.hostname == "Host.EX"


@pytest.mark.parametrize(
    ("row", "hw"),
    [
        ("2001:db8::1,01:02,100,1000,1,50,0,1,128,0,0,,zz,0,,1,0", None),
        ("2001:db8::1,01:02,100,1000,1,50,0,1,128,0,0,,01:02,0,,x,0", None),
        ("2001:db8::1,01:02,100,1000,1,50,0,1,128,0,0,,01:02,0,,1,y", None),
        ("2001:db8::1,01:02,100,1000,1,50,0,1,128,0,0,,01:02,0,,0,0", b"\x01\x02"),
    ],
)
def test_csvfile_ipv6_unreadable_hardware_address_keeps_the_lease(
    row: str, hw: bytes | None, caplog: pytest.LogCaptureFixture
) -> None:
    """As in Kea, a bad IPv6 hardware address is dropped, not the lease."""
    with caplog.at_level(logging.WARNING, logger="leased.journal"):
        lease = read(HEADER6_22, 6, row)

    assert isinstance(lease, Lease6)
    assert lease.hw_address == hw
    assert ("unreadable hardware address" in caplog.text) == (hw is None)


def test_csvfile_cr_at_line_end_is_dropped() -> None:
    """A CRLF line reads like an LF one (Kea keeps the CR and fails)."""
    parse = row_parser(parse_header(SCHEMA4.header, 4, "f"))
    row = format_row(LEASE4)

    outcomes = list(parse_rows([row + "\r", row], parse))

    assert outcomes == [(1, LEASE4), (2, LEASE4)]


LONG = ":".join(["0a"] * 21)
LONGER = ":".join(["0a"] * 129)
LEXICAL = "bad lexical cast: source type value could not be interpreted as target"

BAD4 = [
    ("192.0.2.1,01:02", "value index '2' of the CSV row is out of bounds; maximal index is '1'"),
    ("192.0.2.1,01:02:03:04:05:06,,100,1000", "value index '9' of the CSV row is out of bounds; maximal index is '4'"),
    ("192.0.2.1,01:02:03:04:05:06,,100,1000,44,0,0,", "value index '9' of the CSV row is out of bounds; maximal index is '8'"),
    ("192.0.2.1,01:02:03:04:05:06,,100,1000,44,0,0,,0", "value index '10' of the CSV row is out of bounds; maximal index is '9'"),
    ("garbage line", "Failed to convert string to address 'garbage line': Invalid argument"),
    (" 192.0.2.8,01,,100,1000,44,0,0,,0,", "Failed to convert string to address ' 192.0.2.8': Invalid argument"),
    ("192.0.2.2,,,100,1000,44,0,0,,0,", "Lease4: 192.0.2.2, state: default has neither hardware address or client id"),
    ("192.0.2.2,,,x,y,44,0,0,,0,", "Lease4: 192.0.2.2, state: default has neither hardware address or client id"),
    ("192.0.2.2,,,100,1000,44,0,0,,7,", "Lease4: 192.0.2.2, state: unknown (7) has neither hardware address or client id"),
    ("192.0.2.3,01:02:03:04:05:06,,x,1000,44,0,0,,0,", LEXICAL),
    ("192.0.2.9,01:02:03:04:05:06,, 100,1000,44,0,0,,0,", LEXICAL),
    ("192.0.2.4,01:02:03:04:05:06,,100,1000,44,2,0,,0,", LEXICAL),
    ("192.0.2.13,01:02:03:04:05:06,,100,1000,4294967296,0,0,,0,", LEXICAL),
    ("192.0.2.5,01:02:03:04:05:06,,100,1000,44,0,0,,0,[1]", "user context '[1]' is not a JSON map"),
    ("192.0.2.6,01,,100,1000,44,0,0,,0,null", "user context 'null' is not a JSON map"),
    ("192.0.2.9,01::02,,100,1000,44,0,0,,0,", "two consecutive separators (':') specified in a decoded string '01::02'"),
    ("192.0.2.10,01:02:03:04:05:06,0x01,100,1000,44,0,0,,0,", "client-id is too short (1), at least 2 is required"),
    ("192.0.2.11,01:02:03:04:05:06,01,100,1000,44,0,0,,0,", "client-id is too short (1), at least 2 is required"),
    (f"192.0.2.1,{LONG},,100,1000,44,0,0,,0,", "address vector size exceeds MAX_HWADDR_LEN"),
    (f"192.0.2.2,,{LONGER},100,1000,44,0,0,,0,", "DUID size is 129 bytes, exceeds maximum of 128"),
]  # fmt: skip
BAD6 = [
    ("2001:db8::1,01:02,100", "value index '6' of the CSV row is out of bounds; maximal index is '2'"),
    ("2001:db8::1,01:02,100,1000,1,50,0,1,128,0,0", "value index '11' of the CSV row is out of bounds; maximal index is '10'"),
    ("2001:db8::1,01:02,100,1000,1,50,2,1", "value index '8' of the CSV row is out of bounds; maximal index is '7'"),
    ("2001:db8::1,01:02,100,1000,1,50,0", "value index '7' of the CSV row is out of bounds; maximal index is '6'"),
    ("2001:db8::1,01:02,100,1000,1,50,0,1,128,0,0,", "value index '13' of the CSV row is out of bounds; maximal index is '11'"),
    ("2001:db8::5,00,100,1000,1,50,0,1,128,0,0,,,0,,,", "The Empty DUID is only valid for declined leases"),
    ("2001:db8::5,,100,1000,1,50,0,1,128,0,0,,,0,,,", "Empty DUIDs are not allowed"),
    ("2001:db8::x,01,100,1000,1,50,0,1,128,0,0,,,0,,,", "Failed to convert string to address '2001:db8::x': Invalid argument"),
    ("2001:db8::1,01,100,1000,1,50,0,1,128,0,2,,,0,,,", LEXICAL),
]  # fmt: skip


@pytest.mark.parametrize(("row", "text"), BAD4)
def test_csvfile_bad_ipv4_row_gives_kea_reason(row: str, text: str) -> None:
    """An IPv4 row that makes no lease is refused with Kea's reason."""
    assert reason(HEADER4_22, 4, row) == text


@pytest.mark.parametrize(("row", "text"), BAD6)
def test_csvfile_bad_ipv6_row_gives_kea_reason(row: str, text: str) -> None:
    """An IPv6 row that makes no lease is refused with Kea's reason."""
    assert reason(HEADER6_22, 6, row) == text


def test_csvfile_declined_lease_needs_no_identifier() -> None:
    """Declined leases may lack hw-address and client-id (v4) or DUID (v6)."""
    lease4 = read(HEADER4_22, 4, "192.0.2.2,,,100,1000,44,0,0,,1,")
    lease6 = read(HEADER6_22, 6, "2001:db8::5,00,100,1000,1,50,0,1,128,0,0,,,1,,,")

    assert (lease4.state, lease6.state) == (1, 1)


def test_csvfile_bad_rows_carry_their_row_number() -> None:
    """Rows are numbered from 1 after the header; empty lines not counted."""
    parse = row_parser(parse_header(HEADER4_22, 4, "f"))
    good = "192.0.2.7,01:02:03:04:05:06,,100,1000,44,0,0,,0,"
    lines = [good, "garbage", "", good, "192.0.2.2,,,100,1000,44,0,0,,0,", good]

    outcomes = list(parse_rows(lines, parse, start=10))

    numbers = [number for number, _ in outcomes]
    failed = [number for number, result in outcomes if isinstance(result, RowError)]
    assert numbers == [11, 12, 13, 14, 15]
    assert failed == [12, 14]


def test_csvfile_negative_cltt_reads_as_kea_does() -> None:
    """An expire before the lifetime gives a cltt before 1970, as in Kea."""
    lease = read(HEADER4_22, 4, "192.0.2.15,01:02:03:04:05:06,,100,50,44,0,0,,0,")

    assert lease.cltt == -50
    assert format_row(lease).split(",")[3:5] == ["100", "50"]


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_csvfile_format_rows_equals_format_row_of_each(data: st.DataObject) -> None:
    """The batch formatter writes exactly the rows format_row/delete_row do."""
    version = data.draw(st.sampled_from([4, 6]))
    strategy = bulk_leases4() if version == 4 else bulk_leases6()
    leases: list[Lease] = data.draw(st.lists(strategy, min_size=1, max_size=6))

    rows = format_rows(leases)
    removals = format_rows(leases, removed=True)

    assert rows == [format_row(lease) for lease in leases]
    assert removals == [delete_row(lease) for lease in leases]
