"""Compaction (leased.lfc, leased.storage): Kea's file protocol on real
files, the standalone compactor, and ``kea-lfc-start`` through a daemon.

The comparisons with Kea's own ``kea-lfc`` are in ``test_kea_files``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trio
from hypothesis import given, settings
from hypothesis import strategies as st

from leased import config, lfc, storage
from leased.csvfile import SCHEMA4, delete_row, format_row
from leased.engine import State
from leased.harness import run_leased
from leased.leasefile import FileSet, load, try_lock
from leased.lfc import AlreadyRunning, compact_files
from leased.model import Lease4
from leased.storage import Storage, open_storage
from tests.conftest import NOW, lfc_arguments
from tests.test_leasefile import lease4
from tests.test_storage import add4, config_with, wait_for


def lines(*rows: str) -> str:
    return "".join(f"{line}\n" for line in (SCHEMA4.header, *rows))


@pytest.fixture
def files(tmp_path: Path) -> FileSet:
    return FileSet.of(tmp_path / "leases4.csv")


def names(directory: Path) -> list[str]:
    # leased's lock file and change record stay with the live file.
    return sorted(
        path.name
        for path in directory.iterdir()
        if not path.name.endswith((".lock", ".pending"))
    )


# The compactor on files.


def test_lfc_merges_previous_and_copy_in_address_order(
    files: FileSet, tmp_path: Path
) -> None:
    """F.2 then F.1 become one row per lease in F.2; the rest is removed."""
    files.compacted.write_text(lines(format_row(lease4(9)), format_row(lease4(1))))
    files.previous.write_text(
        lines(
            format_row(lease4(5)), delete_row(lease4(9)), format_row(lease4(1, state=2))
        )
    )
    files.live.write_text(lines(format_row(lease4(7))))

    written = compact_files(files, 4)

    assert written == 2
    assert names(tmp_path) == ["leases4.csv", "leases4.csv.2"]
    assert files.compacted.read_text() == lines(
        format_row(lease4(1, state=2)), format_row(lease4(5))
    )
    assert files.live.read_text() == lines(format_row(lease4(7)))


def test_lfc_leftover_output_is_truncated_never_appended(
    files: FileSet, tmp_path: Path
) -> None:
    """A leftover F.output (its last row torn) is replaced, not appended to."""
    files.previous.write_text(lines(format_row(lease4(1))))
    files.output.write_text(lines(format_row(lease4(8))) + "192.0.2.9,01:0")
    files.output.chmod(0o644)

    compact_files(files, 4)

    assert names(tmp_path) == ["leases4.csv.2"]
    assert files.compacted.read_text() == lines(format_row(lease4(1)))
    assert files.compacted.stat().st_mode & 0o007 == 0


def test_lfc_completed_file_is_only_rotated(files: FileSet, tmp_path: Path) -> None:
    """With F.completed, F.2 and F.1 are not read: it becomes F.2 as it is."""
    files.compacted.write_text(lines(format_row(lease4(1))))
    files.previous.write_text(lines(format_row(lease4(2))))
    finished = lines(format_row(lease4(3)))
    files.completed.write_text(finished)
    files.output.write_text(lines(format_row(lease4(4))) + "torn")

    written = compact_files(files, 4)

    assert written is None
    assert names(tmp_path) == ["leases4.csv.2"]
    assert files.compacted.read_text() == finished


def test_lfc_refuses_while_another_compactor_runs(
    files: FileSet, tmp_path: Path
) -> None:
    """F.pid naming a live process means a compaction runs: nothing is done."""
    files.previous.write_text(lines(format_row(lease4(1))))
    files.pid.write_text(f"{os.getppid()}\n")

    with pytest.raises(AlreadyRunning):
        compact_files(files, 4)

    assert names(tmp_path) == ["leases4.csv.1", "leases4.csv.pid"]


def test_lfc_stale_pid_file_is_taken_over(files: FileSet, tmp_path: Path) -> None:
    """F.pid naming a process that is gone does not stop a compaction."""
    files.pid.write_text("999999999\n")  # above any pid_max
    files.previous.write_text(lines(format_row(lease4(1))))

    compact_files(files, 4)

    assert names(tmp_path) == ["leases4.csv.2"]


def test_lfc_standalone_input_it_cannot_read_changes_nothing(
    files: FileSet, tmp_path: Path
) -> None:
    """leased-lfc stops (exit 1) on more than 100 bad rows in a file."""
    content = lines(format_row(lease4(1)), *["garbage"] * 101)
    files.previous.write_text(content)
    files.compacted.write_text(lines(format_row(lease4(2))))

    process = subprocess.run(
        [sys.executable, "-m", "leased.lfc", *lfc_arguments(files)],
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert process.returncode == 1
    assert "exceeded maximum number of failures 100" in process.stderr
    assert names(tmp_path) == ["leases4.csv.1", "leases4.csv.2"]
    assert files.previous.read_text() == content


# Compaction in the daemon.


def config_interval(interval: int) -> dict[str, Any]:
    return config_with(**{"lfc-interval": interval})


def test_lfc_kea_lfc_start_compacts_and_the_result_loads(tmp_path: Path) -> None:
    """Result 0, one row per lease in F.2, the same leases after a restart."""
    settings = config_interval(0)
    with run_leased(settings, tmp_path) as daemon:
        for octet in (5, 1, 3):
            assert add4(daemon, octet)["result"] == 0
        daemon.command("lease4-del", {"ip-address": "192.0.2.3"})
        daemon.command(
            "lease6-add",
            {"ip-address": "2001:db8:1::1", "duid": "01:02", "iaid": 1},
        )

        started = daemon.command("kea-lfc-start")
        wait_for(lambda: not (tmp_path / "kea-leases4.csv.pid").exists())
        wait_for(lambda: not (tmp_path / "kea-leases6.csv.pid").exists())
        assert add4(daemon, 9)["result"] == 0
        before = [daemon.command(f"lease{v}-get-all") for v in (4, 6)]

    with run_leased(settings, tmp_path) as daemon:
        after = [daemon.command(f"lease{v}-get-all") for v in (4, 6)]

    assert started == {"result": 0, "text": "kea-lfc started"}
    compacted = (tmp_path / "kea-leases4.csv.2").read_text().splitlines()
    assert [row.split(",")[0] for row in compacted[1:]] == ["192.0.2.1", "192.0.2.5"]
    assert (tmp_path / "kea-leases6.csv.2").exists()
    assert not (tmp_path / "kea-leases4.csv.1").exists()
    assert after == before


def test_lfc_unfinished_compaction_finished_at_start(tmp_path: Path) -> None:
    """F.1 left by an interrupted compaction is compacted right at start-up."""
    (tmp_path / "kea-leases4.csv.2").write_text(lines(format_row(lease4(1))))
    (tmp_path / "kea-leases4.csv.1").write_text(
        lines(format_row(lease4(2)), delete_row(lease4(1)))
    )
    (tmp_path / "kea-leases4.csv.output").write_text(lines() + "192.0.2.7,0")

    with run_leased(config_interval(0), tmp_path) as daemon:
        wait_for(lambda: not (tmp_path / "kea-leases4.csv.1").exists())
        wait_for(lambda: not (tmp_path / "kea-leases4.csv.pid").exists())
        leases = daemon.command("lease4-get-all")["arguments"]["leases"]
        stderr = daemon.stderr_text()

    assert [lease["ip-address"] for lease in leases] == ["192.0.2.2"]
    assert not (tmp_path / "kea-leases4.csv.output").exists()
    assert (tmp_path / "kea-leases4.csv.2").read_text() == lines(format_row(lease4(2)))
    assert "unfinished compaction found, finishing it" in stderr


class Nursery:
    """Stands in for the storage's nursery: records what it would start."""

    def __init__(self) -> None:
        self.started: list[object] = []

    def start_soon(self, function: object, *args: object) -> None:
        self.started.append(function)


@pytest.fixture
def stored(tmp_path: Path) -> Iterator[Storage]:
    """The daemon's storage on ``tmp_path`` (compaction every 10 s)."""
    built = config.build(config_interval(10))
    state = State(built, clock=lambda: NOW)
    opened = open_storage(built, tmp_path, state.tables)
    yield opened
    opened.journal.close()


def test_lfc_kea_lfc_start_that_cannot_start_answers_1(
    stored: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A compaction that cannot start answers newest Kea's failure."""

    def no_fork(*args: object) -> int:
        raise OSError(12, "Cannot allocate memory")

    monkeypatch.setattr(storage, "start_from_snapshot", no_fork)
    stored._nursery = Nursery()  # type: ignore[assignment]  # records only

    answer = stored.compact()

    assert answer == (1, "failed to start kea-lfc")


async def test_lfc_kea_lfc_start_rearms_the_timer(
    stored: Storage, monkeypatch: pytest.MonkeyPatch, autojump_clock: Any
) -> None:
    """As in newest Kea, the next periodic run counts from the command."""
    runs: list[tuple[int, float]] = []

    def record(self: Storage, family: storage.FamilyFiles) -> str:
        runs.append((family.family.version, trio.current_time()))
        return "started"

    monkeypatch.setattr(Storage, "_compact_one", record)

    async with trio.open_nursery() as nursery:
        await nursery.start(stored.run)
        await trio.sleep(6)
        assert stored.compact(4) == (0, "kea-lfc started")
        await trio.sleep(15)
        nursery.cancel_scope.cancel()

    assert [(version, round(at)) for version, at in runs] == [
        (4, 6),
        (6, 10),
        (4, 16),
        (6, 20),
    ]


@settings(max_examples=120, deadline=None)
@given(data=st.data())
def test_lfc_rows_as_written_load_as_the_rows_parsed(
    data: st.DataObject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The compactor's fast way (the last row of each address, kept as it
    is) gives the same leases as parsing every row."""
    outcomes = []
    journal = data.draw(
        st.lists(
            st.tuples(
                st.integers(1, 12),
                st.sampled_from(["add", "add", "delete", "upper", "bad"]),
                st.booleans(),
            ),
            min_size=1,
            max_size=30,
        )
    )
    width = data.draw(st.sampled_from([11, 12]))
    header = ",".join(SCHEMA4.columns[:width])
    rows: list[str] = []
    for last, kind, renewed in journal:
        lease = lease4(last, cltt=1_900_000_000 + renewed, hostname=f"h{last}.example.")
        if kind == "delete":
            row = delete_row(lease)
        elif kind == "upper":
            row = format_row(lease.replace(hostname=f"H{last}.Example."))
        elif kind == "bad":
            row = format_row(lease).replace(",3600,", ",x,")
        else:
            row = format_row(lease)
        rows.append(",".join(row.split(",")[:width]))
    cut = data.draw(st.integers(0, len(rows)))
    for fast in (True, False):
        directory = tmp_path_factory.mktemp("lfc")
        files = FileSet.of(directory / "leases4.csv")
        files.compacted.write_text("".join(f"{r}\n" for r in (header, *rows[:cut])))
        files.previous.write_text("".join(f"{r}\n" for r in (header, *rows[cut:])))
        if not fast:
            files = FileSet.of(directory / "leases4.csv")
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(lfc, "compacted_rows", lambda files, version: None)
                written = compact_files(files, 4)
        else:
            written = compact_files(files, 4)

        outcomes.append((written, load(files, 4).leases))

    assert outcomes[0] == outcomes[1]


def test_lfc_compacted_rows_keeps_the_last_row_of_each_address(files: FileSet) -> None:
    """A plain journal compacts without parsing every row: last rows win,
    removals drop out, an older header's rows get the pool id column."""
    old_header = SCHEMA4.header.rsplit(",", 1)[0]

    def old(row: str) -> str:
        return row.rsplit(",", 1)[0]

    files.compacted.write_text(
        f"{old_header}\n{old(format_row(lease4(9)))}\n{old(format_row(lease4(1)))}\n"
    )
    files.previous.write_text(
        f"{old_header}\n{old(format_row(lease4(5)))}\n{old(delete_row(lease4(9)))}\n"
        f"{old(format_row(lease4(1, state=2)))}\n"
    )

    compacted = lfc.compacted_rows(files, 4)

    assert compacted is not None
    rows, suffix = compacted
    assert [row + suffix for row in rows] == [
        format_row(lease4(1, state=2)),
        format_row(lease4(5)),
    ]


def test_lfc_snapshot_child_keeps_no_socket_of_the_daemon(files: FileSet) -> None:
    """The forked compactor closes the sockets it inherited: a client's
    connection ends when the daemon closes it, not when the child exits."""
    client, server_side = socket.socketpair()
    release = files.live.with_name("go")

    def leases() -> list[Lease4]:
        while not release.exists():  # hold the child until it was looked at
            time.sleep(0.01)
        return [lease4(1)]

    lock = try_lock(files)
    assert lock is not None
    pid = lfc.start_from_snapshot(files, 4, leases, lock)
    os.close(lock)
    try:
        server_side.close()
        client.settimeout(5)
        ended = client.recv(1)
        descriptors = [
            os.readlink(f"/proc/{pid}/fd/{name}")
            for name in os.listdir(f"/proc/{pid}/fd")
        ]
    finally:
        release.touch()
        _, status = os.waitpid(pid, 0)
        client.close()

    assert ended == b""
    assert not [name for name in descriptors if name.startswith("socket:")]
    assert os.waitstatus_to_exitcode(status) == 0
    assert files.compacted.exists()
