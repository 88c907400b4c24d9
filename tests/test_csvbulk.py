"""The bulk (column-wise) parser agrees with the row-by-row parser.

Whatever chunk it accepts it must parse exactly as the row parser does, and
it must refuse (return None for) every chunk with a row the row parser
refuses, so that such rows are reported with Kea's texts.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from leased.csvbulk import chunk_parser
from leased.csvfile import (
    SCHEMA4,
    SCHEMA6,
    RowError,
    format_row,
    parse_header,
    row_parser,
)
from leased.model import Lease, Lease4, Lease6

HEADERS = {
    4: [SCHEMA4.header, SCHEMA4.header.rsplit(",", 1)[0]],
    6: [SCHEMA6.header, SCHEMA6.header.rsplit(",", 1)[0]],
}

identifiers = st.binary(min_size=0, max_size=8)
texts = st.text(alphabet=st.sampled_from("abc.-,&\n\t\x7fé"), max_size=6)
u32 = st.integers(0, 2**32 - 1)


@st.composite
def leases4(draw: st.DrawFn) -> Lease4:
    return Lease4(
        address=draw(st.integers(0, 2**32 - 1)),
        hw_address=draw(identifiers),
        client_id=draw(st.none() | st.binary(min_size=2, max_size=6)),
        valid_lft=draw(st.sampled_from([0, 1, 3600, 2**32 - 1])),
        cltt=draw(st.integers(0, 2**33)),
        subnet_id=draw(u32),
        fqdn_fwd=draw(st.booleans()),
        fqdn_rev=draw(st.booleans()),
        hostname=draw(texts),
        state=draw(st.integers(0, 4)),
        user_context=draw(st.sampled_from([None, None, None, {"a": 1}])),
        pool_id=draw(st.integers(0, 3)),
    )


@st.composite
def leases6(draw: st.DrawFn) -> Lease6:
    kind = draw(st.integers(0, 2))
    hw = draw(st.none() | identifiers)
    return Lease6(
        address=draw(st.integers(0, 2**128 - 1)),
        type=kind,
        prefix_len=draw(st.integers(1, 128)) if kind == 2 else 128,
        duid=draw(st.binary(min_size=1, max_size=10)),
        iaid=draw(u32),
        valid_lft=draw(st.sampled_from([0, 3600, 2**32 - 1])),
        preferred_lft=draw(st.sampled_from([0, 1800])),
        cltt=draw(st.integers(0, 2**33)),
        subnet_id=draw(u32),
        fqdn_fwd=draw(st.booleans()),
        fqdn_rev=draw(st.booleans()),
        hostname=draw(texts),
        state=draw(st.integers(0, 4)),
        hw_address=hw,
        hw_type=draw(st.sampled_from([1, 6])) if hw else 1,
        hw_source=draw(st.sampled_from([0, 4])) if hw else 0,
        pool_id=draw(st.integers(0, 3)),
    )


# Ways a field can be damaged: each must be refused, or read as the row
# parser reads it.
DAMAGE = [
    "", "x", "-1", "+5", " 5", "5_0", "٣", "1:2", "0a:", "::", ":0a", "0A:0B",
    "0a::0b", "0a 0b", "0a\t0b", "99999999999", "2", "3", "00", "1e3", "a:b:c",
    "65536", "256", "4294967296", "18446744073709551616",
    ":".join(["0a"] * 21), ":".join(["0a"] * 129),
]  # fmt: skip


def corrupt(draw: st.DrawFn, row: str) -> str:
    """Maybe damage one field of a row in a way rows can be damaged."""
    fields = row.split(",")
    index = draw(st.integers(0, len(fields) - 1))
    fields[index] = draw(st.sampled_from([fields[index], *DAMAGE]))
    line = ",".join(fields)
    return draw(st.sampled_from([line, line, line + "\r", line + ",extra", ""]))


def row_outcomes(header: str, version: int, lines: list[str]) -> list[object]:
    parse = row_parser(parse_header(header, version, "f"))
    outcomes: list[object] = []
    for line in lines:
        try:
            outcomes.append(parse(line))
        except (RowError, ValueError):
            outcomes.append("error")
    return outcomes


@settings(max_examples=500, deadline=None)
@given(st.data())
def test_bulk_parse_equals_row_parse(data: st.DataObject) -> None:
    version = data.draw(st.sampled_from([4, 6]))
    header = data.draw(st.sampled_from(HEADERS[version]))
    strategy = leases4() if version == 4 else leases6()
    leases: list[Lease] = data.draw(st.lists(strategy, min_size=1, max_size=8))
    width = len(header.split(","))
    lines = [",".join(format_row(lease).split(",")[:width]) for lease in leases]
    if data.draw(st.booleans()):
        index = data.draw(st.integers(0, len(lines) - 1))
        lines[index] = corrupt(data.draw, lines[index])
    bulk = chunk_parser(parse_header(header, version, "f"))
    assert bulk is not None

    parsed = bulk(lines)

    if parsed is None:
        return  # refused: the row parser takes over, which is always right
    assert "" not in lines  # an empty line is skipped by the row parser only
    assert parsed == row_outcomes(header, version, lines)


def test_bulk_parse_takes_plain_rows() -> None:
    lease = Lease4(
        address=0xC0000201,
        hw_address=b"\x01\x02\x03\x04\x05\x06",
        client_id=None,
        valid_lft=3600,
        cltt=1_900_000_000,
        subnet_id=1,
        hostname="host.example.",
    )
    header = parse_header(SCHEMA4.header, 4, "f")
    bulk = chunk_parser(header)
    assert bulk is not None

    assert bulk([format_row(lease)] * 3) == [lease] * 3


PLAIN4 = Lease4(
    address=0xC0000201,
    hw_address=b"\x01\x02\x03\x04\x05\x06",
    client_id=b"\x01\x02",
    valid_lft=3600,
    cltt=1_900_000_000,
    subnet_id=1,
    hostname="host.example.",
)
PLAIN6 = Lease6(
    address=0x20010DB8 << 96 | 1,
    type=2,
    prefix_len=56,
    duid=b"\x01\x02\x03",
    iaid=7,
    valid_lft=3600,
    preferred_lft=1800,
    cltt=1_900_000_000,
    subnet_id=1,
    hw_address=b"\x0a\x0b",
    hw_type=1,
    hw_source=4,
)


def test_bulk_parse_every_single_damage() -> None:
    """Each damage in each field of one row of an otherwise plain chunk."""
    for version, lease in ((4, PLAIN4), (6, PLAIN6)):
        for header in HEADERS[version]:
            width = len(header.split(","))
            row = ",".join(format_row(lease).split(",")[:width])
            bulk = chunk_parser(parse_header(header, version, "f"))
            assert bulk is not None
            assert bulk([row, row]) is not None
            for index in range(width):
                for damage in DAMAGE:
                    fields = row.split(",")
                    fields[index] = damage
                    lines = [row, ",".join(fields), row]

                    parsed = bulk(lines)

                    if parsed is not None:
                        assert parsed == row_outcomes(header, version, lines), (
                            version,
                            index,
                            damage,
                        )


def test_bulk_parse_hex_fields_of_one_length_damaged_in_place() -> None:
    """Identifier fields all of one length take the fixed-width way, which
    checks the separators by position: a field damaged at any one place
    without changing its length (a colon moved, a digit blanked, a space
    or tab for a digit, two separators in a row) is refused or parsed as
    the row parser does."""
    header = SCHEMA4.header
    row = format_row(PLAIN4)
    fields = row.split(",")
    hw = fields[1]
    assert hw == "01:02:03:04:05:06"
    bulk = chunk_parser(parse_header(header, 4, "f"))
    assert bulk is not None
    for position in range(len(hw)):
        for character in ": \tg0":
            if hw[position] == character:
                continue
            variant = hw[:position] + character + hw[position + 1 :]
            lines = [row, ",".join([fields[0], variant, *fields[2:]]), row]

            parsed = bulk(lines)

            if character == "0" and position % 3 != 2:
                # A digit for a digit: a good field, read as the row parser.
                assert parsed is not None, variant
                assert parsed == row_outcomes(header, 4, lines), variant
            else:
                assert parsed is None, variant
