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
from leased.engine import Engine, State
from leased.journal import Journal, LiveFile
from leased.leasefile import FileSet, load
from leased.model import V4, V6
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
