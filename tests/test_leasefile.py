"""Loading a lease file set (leased.leasefile) from real files, no daemon."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest

from leased import leasefile
from leased.csvfile import SCHEMA4, SCHEMA6, delete_row, format_row
from leased.journal import LiveFile
from leased.leasefile import FileSet, LoadError, load, write_leases
from leased.model import Lease4, Lease6

HEADER4_22 = SCHEMA4.header.rsplit(",", 1)[0]


def lease4(last: int, **fields: object) -> Lease4:
    """An IPv4 lease on 192.0.2.<last>."""
    values: dict[str, object] = {
        "address": 0xC0000200 + last,
        "hw_address": bytes([1, 2, 3, 4, 5, last]),
        "client_id": None,
        "valid_lft": 3600,
        "cltt": 1_900_000_000,
        "subnet_id": 44,
        **fields,
    }
    return Lease4(**values)  # type: ignore[arg-type]  # test fields by name


def lines(*rows: str, header: str = SCHEMA4.header) -> str:
    return "".join(f"{line}\n" for line in (header, *rows))


@pytest.fixture
def files(tmp_path: Path) -> FileSet:
    return FileSet.of(tmp_path / "leases4.csv")


def test_leasefile_later_rows_win_and_lifetime_zero_deletes(files: FileSet) -> None:
    """Rows replay in order keyed by address; a valid lifetime 0 removes."""
    files.live.write_text(
        lines(
            format_row(lease4(1)),
            format_row(lease4(2)),
            format_row(lease4(1, hostname="later.")),
            delete_row(lease4(2)),
            delete_row(lease4(3)),  # removing what is not there is harmless
            format_row(lease4(4, valid_lft=0)),  # an added lifetime-0 lease
        )
    )

    loaded = load(files, 4)

    assert loaded.leases == {lease4(1).address: lease4(1, hostname="later.")}
    assert (loaded.rows, loaded.errors, loaded.outdated) == (6, 0, False)


def test_leasefile_reads_previous_then_copy_then_live(files: FileSet) -> None:
    """Without F.completed: F.2, then F.1, then F, later files winning."""
    files.compacted.write_text(lines(format_row(lease4(1)), format_row(lease4(2))))
    files.previous.write_text(
        lines(format_row(lease4(1, hostname="one.")), delete_row(lease4(2)))
    )
    files.live.write_text(
        lines(format_row(lease4(2, hostname="back.")), format_row(lease4(3)))
    )
    files.output.write_text(lines(format_row(lease4(9))))  # never read

    loaded = load(files, 4)

    assert list(loaded.leases.values()) == [
        lease4(1, hostname="one."),
        lease4(2, hostname="back."),
        lease4(3),
    ]


def test_leasefile_completed_replaces_previous_and_copy(files: FileSet) -> None:
    """F.completed already holds F.2 and F.1: they are not read."""
    files.compacted.write_text(lines(format_row(lease4(1))))
    files.previous.write_text(lines(format_row(lease4(2))))
    files.completed.write_text(lines(format_row(lease4(3))))
    files.live.write_text(lines(format_row(lease4(3, hostname="new."))))

    loaded = load(files, 4)

    assert list(loaded.leases.values()) == [lease4(3, hostname="new.")]


def test_leasefile_older_header_is_outdated(files: FileSet) -> None:
    """A file with Kea 2.2's header loads and asks for an upgrade."""
    row = ",".join(format_row(lease4(1)).split(",")[:11])
    files.previous.write_text(lines(row, header=HEADER4_22))
    files.live.write_text(lines())

    loaded = load(files, 4)

    assert loaded.outdated
    assert list(loaded.leases.values()) == [lease4(1)]


def test_leasefile_bad_header_stops_loading(files: FileSet) -> None:
    """A header no schema accepts stops the load with Kea's text."""
    files.live.write_text("address,hwaddr,bogus\n")

    with pytest.raises(LoadError) as error:
        load(files, 4)

    assert str(error.value) == (
        f"invalid header 'address,hwaddr,bogus' in CSV file '{files.live}':  - "
        "header contains an invalid column: 'bogus'"
    )


def test_leasefile_bad_rows_logged_with_number_and_reason(
    files: FileSet, caplog: pytest.LogCaptureFixture
) -> None:
    """A row that makes no lease is logged with its number and skipped."""
    files.live.write_text(
        lines(format_row(lease4(1)), "", "garbage line", format_row(lease4(2)))
    )

    with caplog.at_level(logging.WARNING, logger="leased.journal"):
        loaded = load(files, 4)

    assert len(loaded.leases) == 2
    assert (loaded.rows, loaded.errors) == (3, 1)
    assert (
        f"discarding unreadable lease file row path={files.live} row=2 "
        "reason=Failed to convert string to address 'garbage line': Invalid argument"
    ) in caplog.text


BAD = "192.0.2.250,,,1,2,44,0,0,,0,,0"


@pytest.mark.parametrize("limit", [0, 3])
def test_leasefile_max_row_errors_tolerated(files: FileSet, limit: int) -> None:
    """0 tolerates any number of bad rows, N tolerates N in each file."""
    files.previous.write_text(lines(*[BAD] * 3, format_row(lease4(1))))
    files.live.write_text(lines(format_row(lease4(2)), *[BAD] * 3))

    loaded = load(files, 4, max_row_errors=limit)

    assert len(loaded.leases) == 2
    assert loaded.errors == 6


def test_leasefile_max_row_errors_exceeded_stops(files: FileSet) -> None:
    """N+1 bad rows in one file stop the load with Kea's text."""
    files.live.write_text(lines(format_row(lease4(1)), *[BAD] * 4))

    with pytest.raises(LoadError) as error:
        load(files, 4, max_row_errors=3)

    assert str(error.value) == (
        "exceeded maximum number of failures 3 to read a lease from the lease "
        f"file {files.live}"
    )


def test_leasefile_torn_last_line_cut_before_appending(
    files: FileSet, caplog: pytest.LogCaptureFixture
) -> None:
    """A torn last row is logged and cut; the next row is not glued to it."""
    whole = lines(format_row(lease4(1)))
    files.live.write_text(whole + format_row(lease4(2))[:17])

    with caplog.at_level(logging.WARNING, logger="leased.journal"):
        loaded = load(files, 4)
    live = LiveFile(files, 4)
    live.open(end=loaded.live_end)
    live.write((format_row(lease4(3)) + "\n").encode())
    live.close()
    reloaded = load(files, 4)

    assert loaded.live_end == len(whole)
    assert list(loaded.leases.values()) == [lease4(1)]
    assert "lease file ends in a torn row, which is cut off" in caplog.text
    assert list(reloaded.leases.values()) == [lease4(1), lease4(3)]
    assert (reloaded.errors, reloaded.live_end) == (0, None)


def test_leasefile_torn_header_cut_and_header_written_again(files: FileSet) -> None:
    """A live file cut short inside its header is started afresh."""
    files.live.write_text(SCHEMA4.header[:20])

    loaded = load(files, 4)
    live = LiveFile(files, 4)
    live.open(end=loaded.live_end)
    live.write((format_row(lease4(1)) + "\n").encode())
    live.close()

    assert loaded.live_end == 0
    assert files.live.read_text() == lines(format_row(lease4(1)))
    assert list(load(files, 4).leases.values()) == [lease4(1)]


def test_leasefile_torn_row_of_older_file_skipped_not_cut(
    files: FileSet, caplog: pytest.LogCaptureFixture
) -> None:
    """A torn end of F.1 is skipped and logged; that file is left alone."""
    content = lines(format_row(lease4(1))) + "192.0.2.9,01:0"
    files.previous.write_text(content)

    with caplog.at_level(logging.WARNING, logger="leased.journal"):
        loaded = load(files, 4)

    assert list(loaded.leases.values()) == [lease4(1)]
    assert loaded.live_end is None
    assert "lease file ends in a torn row, which is skipped" in caplog.text
    assert files.previous.read_text() == content


def test_leasefile_reads_across_chunk_boundaries(
    files: FileSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lines and multi-byte characters split between reads come out whole."""
    monkeypatch.setattr(leasefile, "CHUNK", 7)
    leases = [lease4(n, hostname=f"h\u00e9\u20ac{n}.") for n in range(1, 40)]
    files.live.write_text(lines(*map(format_row, leases)), encoding="utf-8")

    loaded = load(files, 4)

    assert list(loaded.leases.values()) == leases


def test_leasefile_bulk_and_row_paths_agree(files: FileSet) -> None:
    """A plain chunk and a chunk with a bad row give the same good leases."""
    good = [lease4(n, hostname=f"Host{n}.") for n in range(1, 50)]
    files.compacted.write_text(lines(*map(format_row, good)))
    files.previous.write_text(lines(*map(format_row, good[:10]), "garbage"))

    loaded = load(files, 4)

    expected = [lease4(n, hostname=f"host{n}.") for n in range(1, 50)]
    assert list(loaded.leases.values()) == expected


def test_leasefile_ipv6_file_set(tmp_path: Path) -> None:
    """The same rules for an IPv6 set, prefixes included."""
    files = FileSet.of(tmp_path / "leases6.csv")
    na = Lease6(
        address=0x20010DB8 << 96 | 1,
        type=0,
        prefix_len=128,
        duid=b"\x01\x02",
        iaid=1,
        valid_lft=100,
        preferred_lft=50,
        cltt=1000,
        subnet_id=66,
    )
    pd = Lease6(
        address=0x20010DB8ABCD << 80,
        type=2,
        prefix_len=48,
        duid=b"\x01\x02",
        iaid=2,
        valid_lft=100,
        preferred_lft=50,
        cltt=1000,
        subnet_id=66,
    )
    files.compacted.write_text(
        lines(format_row(na), format_row(pd), header=SCHEMA6.header)
    )
    files.live.write_text(lines(delete_row(na), header=SCHEMA6.header))

    loaded = load(files, 6)

    assert list(loaded.leases.values()) == [pd]


def test_leasefile_write_leases_truncates_and_restricts(tmp_path: Path) -> None:
    """A written file replaces any old content and is not world-readable."""
    path = tmp_path / "out.csv"
    path.write_text("old content that is longer than the new file\n" * 100)

    count = write_leases(path, [lease4(1), lease4(2)], 4)

    assert count == 2
    assert path.read_text() == lines(format_row(lease4(1)), format_row(lease4(2)))
    assert stat.S_IMODE(path.stat().st_mode) & 0o007 == 0


def test_leasefile_unreadable_row_is_logged_with_its_text(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A skipped row's text is in the warning: the next compaction drops it
    from the files, so the log is where it stays."""
    files = FileSet.of(tmp_path / "leases4.csv")
    files.live.write_text(
        SCHEMA4.header
        + "\n10.0.0.1,08:00:00:00:00:01,,3600,1900003600,1,0,0,a,0,,0"
        + "\n10.0.0.2,not a hardware address,,3600\n"
    )

    with caplog.at_level(logging.WARNING, logger="leased.journal"):
        loaded = load(files, 4)

    assert len(loaded.leases) == 1
    assert loaded.errors == 1
    assert "text='10.0.0.2,not a hardware address,,3600'" in caplog.text


def test_leasefile_file_without_a_line_that_is_no_header_is_refused(
    files: FileSet,
) -> None:
    """Bytes without a newline that do not start a header are not taken
    for an empty lease file (appending would glue rows to them, and cutting
    them off would destroy a file that is not a lease file)."""
    files.live.write_bytes(b"\x00" * 512)

    with pytest.raises(LoadError, match="invalid header"):
        load(files, 4)
    assert files.live.read_bytes() == b"\x00" * 512
