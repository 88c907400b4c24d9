"""The journal (leased.journal): commands through the engine append Kea rows.

Each test runs real commands through an engine whose journal writes real
lease files in a temporary directory, then reads the rows back.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from leased import config
from leased.commands import build_registry
from leased.csvfile import SCHEMA4, SCHEMA6, delete_row, format_row
from leased.engine import CAUSE_RECLAIM, Change, Engine, Removals, State, runs
from leased.journal import Journal, LiveFile
from leased.leasefile import FileSet, load
from leased.model import TYPE_NA, V4, V6, Lease, Lease4, Lease6
from tests.conftest import KEA_TEST_CONFIG, NOW, run

HW = "08:08:08:08:08:08"


@pytest.fixture
def journaled(tmp_path: Path) -> Iterator[Engine]:
    """An engine whose changes go to lease files in ``tmp_path``."""
    state = State(config.build(KEA_TEST_CONFIG), clock=lambda: NOW)
    files = {}
    for version in (4, 6):
        live = LiveFile(FileSet.of(tmp_path / f"leases{version}.csv"), version)
        live.open()
        files[version] = live
    journal = Journal(files)
    yield Engine(state, build_registry(), journal=journal)
    journal.close()


def rows(tmp_path: Path, version: int) -> list[str]:
    return (tmp_path / f"leases{version}.csv").read_text().splitlines()


def replayed(engine: Engine, tmp_path: Path, version: int) -> bool:
    """Whether the file, read back, gives exactly the engine's table."""
    loaded = load(FileSet.of(tmp_path / f"leases{version}.csv"), version)
    family = V4 if version == 4 else V6
    table = list(engine.state.table(family).in_address_order())
    return sorted(loaded.leases.values(), key=lambda lease: lease.address) == table


def test_journal_new_file_starts_with_newest_header(
    journaled: Engine, tmp_path: Path
) -> None:
    """A new live file holds the newest header and nothing else."""
    assert rows(tmp_path, 4) == [SCHEMA4.header]
    assert rows(tmp_path, 6) == [SCHEMA6.header]


def test_journal_existing_file_is_appended_to(tmp_path: Path) -> None:
    """Opening a file with rows keeps them and writes no second header."""
    path = tmp_path / "leases4.csv"
    path.write_text(f"{SCHEMA4.header}\nold row\n")
    live = LiveFile(FileSet.of(path), 4)

    live.open()
    live.write(b"new row\n")
    live.close()

    assert path.read_text() == f"{SCHEMA4.header}\nold row\nnew row\n"


def test_journal_add_update_del_rows(journaled: Engine, tmp_path: Path) -> None:
    """Add and update write the lease; del writes Kea's delete row."""
    table = journaled.state.table(V4)

    added = run(journaled, "lease4-add", {"ip-address": "192.0.2.1", "hw-address": HW})
    first = table.get(0xC0000201)
    updated = run(
        journaled,
        "lease4-update",
        {"ip-address": "192.0.2.1", "hw-address": HW, "hostname": "a,b&c\n."},
    )
    second = table.get(0xC0000201)
    deleted = run(journaled, "lease4-del", {"ip-address": "192.0.2.1"})

    assert [added["result"], updated["result"], deleted["result"]] == [0, 0, 0]
    assert first is not None and second is not None
    assert rows(tmp_path, 4)[1:] == [
        format_row(first),
        format_row(second),
        delete_row(second),
    ]
    assert rows(tmp_path, 4)[2].split(",")[8] == "a&#x2cb&#x26c&#x0a."
    assert rows(tmp_path, 4)[3].split(",")[3:5] == ["0", str(NOW)]
    assert replayed(journaled, tmp_path, 4)


def test_journal_refused_command_writes_nothing(
    journaled: Engine, tmp_path: Path
) -> None:
    """A command that changes nothing appends nothing."""
    run(journaled, "lease4-add", {"ip-address": "192.0.2.1", "hw-address": HW})
    before = rows(tmp_path, 4)

    again = run(journaled, "lease4-add", {"ip-address": "192.0.2.1", "hw-address": HW})
    missing = run(journaled, "lease4-del", {"ip-address": "192.0.2.9"})

    assert (again["result"], missing["result"]) == (1, 3)
    assert rows(tmp_path, 4) == before


def test_journal_wipe_writes_a_delete_row_per_lease(
    journaled: Engine, tmp_path: Path
) -> None:
    """Wiping a subnet removes each of its leases with a delete row."""
    for address in ("192.0.2.1", "192.0.2.2", "192.0.3.3"):
        run(journaled, "lease4-add", {"ip-address": address, "hw-address": HW})
    stored = [
        journaled.state.table(V4).get(address) for address in (0xC0000201, 0xC0000202)
    ]

    wiped = run(journaled, "lease4-wipe", {"subnet-id": 44})

    assert wiped["result"] == 0
    assert rows(tmp_path, 4)[4:] == [delete_row(lease) for lease in stored if lease]
    assert replayed(journaled, tmp_path, 4)


def test_journal_ipv6_add_del_and_prefix(journaled: Engine, tmp_path: Path) -> None:
    """IPv6: an address, a prefix, a delete row with both lifetimes 0."""
    run(
        journaled,
        "lease6-add",
        {"ip-address": "2001:db8:1::1", "duid": "01:02:03", "iaid": 7},
    )
    run(
        journaled,
        "lease6-add",
        {
            "ip-address": "2001:db8:1:1::",
            "type": "IA_PD",
            "prefix-len": 64,
            "subnet-id": 66,
            "duid": "01:02:03",
            "iaid": 8,
        },
    )
    run(journaled, "lease6-del", {"ip-address": "2001:db8:1::1"})

    lines = rows(tmp_path, 6)[1:]
    assert [line.split(",")[0] for line in lines] == [
        "2001:db8:1::1",
        "2001:db8:1:1::",
        "2001:db8:1::1",
    ]
    assert lines[1].split(",")[6:9] == ["2", "8", "64"]
    assert lines[2].split(",")[2:6] == ["0", str(NOW), "66", "0"]
    assert replayed(journaled, tmp_path, 6)


def test_journal_bulk_apply_writes_every_change(
    journaled: Engine, tmp_path: Path
) -> None:
    """lease6-bulk-apply appends the rows of all its changes, in order."""
    run(
        journaled,
        "lease6-add",
        {"ip-address": "2001:db8:1::1", "duid": "01:02:03", "iaid": 7},
    )

    applied = run(
        journaled,
        "lease6-bulk-apply",
        {
            "deleted-leases": [{"ip-address": "2001:db8:1::1"}],
            "leases": [
                {"ip-address": "2001:db8:1::2", "duid": "01:02:04", "iaid": 9},
                {"ip-address": "2001:db8:1::3", "duid": "01:02:05", "iaid": 9},
            ],
        },
    )

    assert applied["result"] == 0
    lines = rows(tmp_path, 6)[1:]
    assert [(line.split(",")[0], line.split(",")[2]) for line in lines] == [
        ("2001:db8:1::1", "4"),
        ("2001:db8:1::1", "0"),
        ("2001:db8:1::2", "4"),
        ("2001:db8:1::3", "4"),
    ]
    assert replayed(journaled, tmp_path, 6)


def test_journal_rotate_hands_the_file_over(journaled: Engine, tmp_path: Path) -> None:
    """Rotation renames F to F.1 and goes on in a fresh F with a header."""
    run(journaled, "lease4-add", {"ip-address": "192.0.2.1", "hw-address": HW})
    assert journaled.journal is not None
    live = journaled.journal.files[4]  # type: ignore[attr-defined]  # the real one

    assert live.rotate()
    run(journaled, "lease4-add", {"ip-address": "192.0.2.2", "hw-address": HW})

    assert len((tmp_path / "leases4.csv.1").read_text().splitlines()) == 2
    assert rows(tmp_path, 4)[0] == SCHEMA4.header
    assert [line[:9] for line in rows(tmp_path, 4)[1:]] == ["192.0.2.2"]
    assert replayed(journaled, tmp_path, 4)


# Changes of several rows: whole or absent after a crash.


def numbered(n: int, hostname: str = "") -> Lease4:
    return Lease4(
        address=0x0A000000 + n,
        hw_address=bytes([8, 0, 0, 0, 0, n % 256]),
        client_id=None,
        valid_lft=3600,
        cltt=1_900_000_000,
        subnet_id=1,
        hostname=hostname,
    )


def open_journal(tmp_path: Path, *, durable: bool = False) -> tuple[Journal, LiveFile]:
    live = LiveFile(FileSet.of(tmp_path / "leases4.csv"), 4, durable=durable)
    live.open()
    return Journal({4: live}), live


def add(log: Journal, *numbers: int) -> None:
    log.append([Change(V4, None, numbered(n)) for n in numbers])


def cut_inside_last_change(live: LiveFile, start: int) -> None:
    """Leave the file as a kill mid-write would: some whole rows of the
    last change, then part of one."""
    data = live.path.read_bytes()
    rows_end = data.index(b"\n", start + 200) + 1
    live.path.write_bytes(data[: rows_end + 10])


def test_journal_multi_row_change_cut_short_is_dropped_whole(tmp_path: Path) -> None:
    """Rows of a wipe-sized change that reached the file are not applied."""
    log, live = open_journal(tmp_path)
    add(log, 1)
    start = live.size
    add(log, *range(2, 60))
    live.close()
    cut_inside_last_change(live, start)

    loaded = load(live.files, 4)

    assert sorted(loaded.leases) == [numbered(1).address]
    assert loaded.live_end == start
    reopened = LiveFile(live.files, 4)
    reopened.open(end=loaded.live_end)
    assert live.path.stat().st_size == start
    assert live.files.pending.read_bytes() == b""


def test_journal_whole_multi_row_change_is_kept(tmp_path: Path) -> None:
    """A change written whole loads whole, and so do single rows after it."""
    log, live = open_journal(tmp_path)
    add(log, *range(1, 60))
    add(log, 60)
    live.close()

    loaded = load(live.files, 4)

    assert len(loaded.leases) == 60
    assert loaded.live_end is None


def test_journal_record_naming_other_bytes_is_ignored(tmp_path: Path) -> None:
    """A file that ends exactly at a row inside the span but whose record
    names other bytes (another file's record) is not cut."""
    log, live = open_journal(tmp_path)
    add(log, 1)
    start = live.size
    add(log, *range(2, 60))
    live.close()
    cut_inside_last_change(live, start)
    record = live.files.pending.read_bytes()
    # The same span, but other first bytes: a record of another file.
    live.files.pending.write_bytes(record[:42] + b"00" * 32 + b"\n")

    loaded = load(live.files, 4)

    assert len(loaded.leases) > 1
    assert loaded.live_end is not None and loaded.live_end > start


def test_journal_rotation_clears_the_record(tmp_path: Path) -> None:
    """After the live file is handed to compaction its record is gone."""
    log, live = open_journal(tmp_path)
    add(log, *range(1, 60))
    assert live.files.pending.read_bytes() != b""

    assert live.rotate()

    assert live.files.pending.read_bytes() == b""
    live.close()


async def test_journal_durable_span_covers_every_unsynced_change(
    tmp_path: Path,
) -> None:
    """With durable writes, the span starts at the first multi-row change
    not yet synced, and a sync ends that."""
    log, live = open_journal(tmp_path, durable=True)
    first = live.size
    add(log, *range(1, 10))
    add(log, 10)
    add(log, *range(11, 20))
    assert int(live.files.pending.read_bytes().split()[0]) == first

    await live.sync()
    second = live.size
    add(log, *range(20, 30))
    assert int(live.files.pending.read_bytes().split()[0]) == second
    live.close()


def test_journal_record_written_before_the_rows(tmp_path: Path) -> None:
    """The record names the change's span and its first bytes."""
    log, live = open_journal(tmp_path)
    start = live.size
    add(log, 1, 2)
    fields = live.files.pending.read_bytes().split()

    assert int(fields[0]) == start
    assert int(fields[1]) == live.size
    data = live.path.read_bytes()
    assert bytes.fromhex(fields[2].decode()) == data[start : start + 32]
    live.close()


def test_runs_cut_changes_by_family_and_kind_in_order() -> None:
    """The runs a batch is formatted and applied in: one family and one
    kind each, in the batch's order, with the removed or new leases."""
    a, b, c = numbered(1), numbered(2), numbered(3)
    v6 = Lease6(
        address=0x20010DB8 << 96,
        duid=b"\x01\x02",
        iaid=1,
        type=TYPE_NA,
        prefix_len=128,
        valid_lft=3600,
        preferred_lft=1800,
        cltt=1_900_000_000,
        subnet_id=1,
    )
    changes = [
        Change(V4, a, None),
        Change(V4, b, None),
        Change(V4, None, c),
        Change(V4, b, c),
        Change(V6, None, v6),
        Change(V4, c, None),
    ]
    assert list(runs(changes)) == [
        (4, True, [a, b]),
        (4, False, [c, c]),
        (6, False, [v6]),
        (4, True, [c]),
    ]


def test_journal_many_changes_of_both_kinds_keep_their_order(tmp_path: Path) -> None:
    """A batch past the row-by-row size, removals and adds interleaved,
    writes each change's row in the batch's order."""
    log, live = open_journal(tmp_path)
    leases = [numbered(n) for n in range(1, 41)]
    changes = [
        Change(V4, lease, None) if n % 7 == 3 else Change(V4, None, lease)
        for n, lease in enumerate(leases)
    ]
    log.append(changes)
    rows = live.path.read_text().splitlines()[1:]
    assert rows == [
        delete_row(lease) if n % 7 == 3 else format_row(lease)
        for n, lease in enumerate(leases)
    ]


def test_journal_large_wipe_rows_and_table_agree(
    journaled: Engine, tmp_path: Path
) -> None:
    """A wipe of hundreds of leases (the bulk way through journal, table
    and indexes) writes a delete row for each, in the subnet's order, and
    the file read back is the table left."""
    addresses = [f"192.0.2.{n}" for n in range(1, 251)]
    addresses += [f"192.0.3.{n}" for n in range(1, 51)]
    for address in addresses:
        run(journaled, "lease4-add", {"ip-address": address, "hw-address": HW})
    table = journaled.state.table(V4)
    in_subnet = table.in_subnet(44)
    assert len(in_subnet) == 250

    wiped = run(journaled, "lease4-wipe", {"subnet-id": 44})

    assert wiped["text"] == "Deleted 250 IPv4 lease(s) from subnet(s) 44"
    assert rows(tmp_path, 4)[301:] == [delete_row(lease) for lease in in_subnet]
    assert table.in_subnet(44) == []
    assert len(table) == 50
    assert table.by_hw_address.get(bytes.fromhex("080808080808")) == table.in_subnet(
        table.get(0xC0000301).subnet_id  # type: ignore[union-attr]
    )
    assert replayed(journaled, tmp_path, 4)


def test_removals_read_as_their_changes() -> None:
    """A wipe's batch reads as the list of its Change records."""
    leases: list[Lease] = [numbered(n) for n in range(1, 6)]
    removals = Removals(V4, leases, CAUSE_RECLAIM)
    changes = [Change(V4, lease, None, CAUSE_RECLAIM) for lease in leases]

    assert len(removals) == 5
    assert list(removals) == changes
    assert removals[1] == changes[1]
    assert removals[-1] == changes[-1]
    assert removals[1:3] == changes[1:3]
    assert list(reversed(removals)) == changes[::-1]
    assert list(runs(removals)) == [(4, True, leases)]
