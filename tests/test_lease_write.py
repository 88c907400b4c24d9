"""lease4-write / lease6-write: dumps into the data directory, newest Kea's
texts, temporary file and rename, the old file kept, the live file swapped.

Most tests run the commands through an engine on real lease files (no event
loop); the last one restarts a real daemon.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from leased import config
from leased.commands import build_registry
from leased.csvfile import SCHEMA4, format_row
from leased.engine import Engine, State
from leased.harness import run_leased
from leased.journal import LiveFile
from leased.leasefile import FileSet, load
from leased.lfc import compact_files
from leased.model import V4, V6
from leased.storage import Storage, open_storage
from tests.conftest import NOW, run
from tests.test_storage import add4, config_with, wait_for

HW = "08:08:08:08:08:08"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """An engine on the daemon's storage, ``tmp_path`` the data directory."""
    built = config.build(config_with(**{"lfc-interval": 0}))
    state = State(built, clock=lambda: NOW)
    storage = open_storage(built, tmp_path, state.tables)
    state.storage = storage
    yield Engine(state, build_registry(), journal=storage.journal)
    storage.journal.close()


def storage_of(engine: Engine) -> Storage:
    storage: Storage = engine.state.storage
    return storage


def add(engine: Engine, *octets: int) -> None:
    for octet in octets:
        answer = run(
            engine, "lease4-add", {"ip-address": f"192.0.2.{octet}", "hw-address": HW}
        )
        assert answer["result"] == 0, answer


def table_rows(engine: Engine) -> list[str]:
    return [format_row(lease) for lease in engine.state.table(V4).in_address_order()]


def test_lease_write_bare_name_lands_in_data_directory(
    engine: Engine, tmp_path: Path
) -> None:
    """A bare name is written in the data directory; Kea's success text."""
    add(engine, 3, 1, 2)
    run(engine, "lease6-add", {"ip-address": "2001:db8:1::1", "duid": "01", "iaid": 1})

    written4 = run(engine, "lease4-write", {"filename": " dump4.csv "})
    written6 = run(engine, "lease6-write", {"filename": "dump6.csv"})

    assert written4 == {
        "result": 0,
        "text": f"IPv4 lease database into '{tmp_path}/dump4.csv'.",
    }
    assert written6 == {
        "result": 0,
        "text": f"IPv6 lease database into '{tmp_path}/dump6.csv'.",
    }
    dump = (tmp_path / "dump4.csv").read_text().splitlines()
    assert dump == [SCHEMA4.header, *table_rows(engine)]
    assert [row[:9] for row in dump[1:]] == ["192.0.2.1", "192.0.2.2", "192.0.2.3"]
    dumped6 = load(FileSet.of(tmp_path / "dump6.csv"), 6).leases
    assert list(dumped6.values()) == list(engine.state.table(V6).in_address_order())
    assert not list(tmp_path.glob("*.tmp*")) and not list(tmp_path.glob("*.bak*"))


def test_lease_write_keeps_the_old_file_as_backup(
    engine: Engine, tmp_path: Path
) -> None:
    """An old file is kept as <file>.bak<pid>; the new one takes its name."""
    add(engine, 1)
    run(engine, "lease4-write", {"filename": "dump.csv"})
    first = (tmp_path / "dump.csv").read_text()
    add(engine, 2)

    answer = run(engine, "lease4-write", {"filename": "dump.csv"})

    assert answer["result"] == 0
    assert (tmp_path / f"dump.csv.bak{os.getpid()}").read_text() == first
    assert (tmp_path / "dump.csv").read_text().splitlines()[1:] == table_rows(engine)


DIRECTORY = "<data>"


@pytest.mark.parametrize(
    ("arguments", "text"),
    [
        (..., "no parameters specified for the command"),
        ({}, "'filename' parameter not specified"),
        ({"filename": 5}, "'filename' parameter must be a string"),
        ({"filename": ""}, "'filename' parameter is invalid: path: '' has no filename"),
        (
            {"filename": "/foo-bar/myleases.txt"},
            "'filename' parameter is invalid: invalid path specified: '/foo-bar', "
            f"supported path is '{DIRECTORY}'",
        ),
        (
            {"filename": "/myleases.txt"},
            "'filename' parameter is invalid: invalid path specified: '/', "
            f"supported path is '{DIRECTORY}'",
        ),
        (
            {"filename": "sub/myleases.txt"},
            "'filename' parameter is invalid: invalid path specified: 'sub', "
            f"supported path is '{DIRECTORY}'",
        ),
        (
            {"filename": f"{DIRECTORY}/../myleases.txt"},
            "'filename' parameter is invalid: invalid path specified: "
            f"'{DIRECTORY}/..', supported path is '{DIRECTORY}'",
        ),
        (
            {"filename": f"{DIRECTORY}/.."},
            f"'filename' parameter is invalid: path: '{DIRECTORY}/..' has no filename",
        ),
        (
            {"filename": "kea-leases4.csv.2"},
            "'filename' parameter is invalid: "
            f"'{DIRECTORY}/kea-leases4.csv.2' is a file of lease file compaction",
        ),
        (
            {"filename": "kea-leases6.csv.pid"},
            "'filename' parameter is invalid: "
            f"'{DIRECTORY}/kea-leases6.csv.pid' is a file of lease file compaction",
        ),
        (
            {"filename": "kea-leases6.csv"},
            "'filename' parameter is invalid: "
            f"'{DIRECTORY}/kea-leases6.csv' is the other family's lease file",
        ),
    ],
)
def test_lease_write_refuses_with_newest_kea_texts(
    engine: Engine, tmp_path: Path, arguments: Any, text: str
) -> None:
    """Bad arguments and names outside the data directory write nothing."""
    add(engine, 1)
    before = sorted(tmp_path.iterdir())
    if isinstance(arguments, dict) and isinstance(arguments.get("filename"), str):
        arguments = {
            "filename": arguments["filename"].replace(DIRECTORY, str(tmp_path))
        }

    answer = run(engine, "lease4-write", arguments)

    assert answer == {"result": 1, "text": text.replace(DIRECTORY, str(tmp_path))}
    assert sorted(tmp_path.iterdir()) == before


def test_lease_write_onto_the_live_file_swaps_the_journal(
    engine: Engine, tmp_path: Path
) -> None:
    """The dump replaces the live file and the journal goes on in it."""
    add(engine, 1, 2)
    run(engine, "lease4-del", {"ip-address": "192.0.2.1"})
    live = tmp_path / "kea-leases4.csv"
    old = live.read_text()

    answer = run(engine, "lease4-write", {"filename": "kea-leases4.csv"})
    add(engine, 3)

    assert answer["result"] == 0
    assert (tmp_path / f"kea-leases4.csv.bak{os.getpid()}").read_text() == old
    assert live.read_text().splitlines() == [SCHEMA4.header, *table_rows(engine)]
    loaded = load(FileSet.of(live), 4).leases
    assert list(loaded.values()) == list(engine.state.table(V4).in_address_order())


def test_lease_write_onto_the_live_file_keeps_deletions(
    engine: Engine, tmp_path: Path
) -> None:
    """A lease deleted since the last compaction stays deleted after a dump.

    The dump is read after ``F.2`` at the next start, so it must say that
    the lease went away (Kea's dump does not, and the lease comes back).
    """
    add(engine, 1, 2)
    files = storage_of(engine).families[4].files
    assert storage_of(engine).families[4].live.rotate()
    compact_files(files, 4)  # F.2 now holds both leases
    run(engine, "lease4-del", {"ip-address": "192.0.2.1"})

    answer = run(engine, "lease4-write", {"filename": "kea-leases4.csv"})
    add(engine, 3)

    assert answer["result"] == 0
    assert files.compacted.exists()
    loaded = load(files, 4).leases
    assert list(loaded.values()) == list(engine.state.table(V4).in_address_order())
    assert [lease.address & 255 for lease in loaded.values()] == [2, 3]


def test_lease_write_onto_the_live_file_waits_for_a_compaction(
    engine: Engine,
) -> None:
    """A compaction still running is waited for before the swap."""
    add(engine, 1)
    family = storage_of(engine).families[4]
    # Stands in for the daemon's compaction child: a child that ends soon.
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.3)"])
    family.child = child.pid
    started = time.monotonic()

    try:
        answer = run(engine, "lease4-write", {"filename": "kea-leases4.csv"})
        waited = time.monotonic() - started
    finally:
        family.child = None
        child.wait()

    assert answer["result"] == 0
    assert waited >= 0.25


def test_lease_write_live_file_that_cannot_be_reopened(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Result 5 with Kea's text; changes are refused until the file opens."""
    add(engine, 1)
    real_open = LiveFile.open

    def failing_open(self: LiveFile, *, end: int | None = None) -> None:
        raise OSError(errno.EMFILE, os.strerror(errno.EMFILE))

    monkeypatch.setattr(LiveFile, "open", failing_open)
    live = tmp_path / "kea-leases4.csv"

    answer = run(engine, "lease4-write", {"filename": "kea-leases4.csv"})
    refused = run(engine, "lease4-add", {"ip-address": "192.0.2.2", "hw-address": HW})
    monkeypatch.setattr(LiveFile, "open", real_open)
    accepted = run(engine, "lease4-add", {"ip-address": "192.0.2.3", "hw-address": HW})

    assert answer == {
        "result": 5,
        "text": f"Fatal issue: lease file '{live}' is broken: Too many open files. "
        f"See backup '{live}.bak{os.getpid()}' or dump '{live}' files which can "
        "still contain leases.",
    }
    assert refused["result"] == 1
    assert "the lease file could not be written" in refused["text"]
    assert accepted["result"] == 0
    loaded = load(FileSet.of(live), 4).leases
    assert [lease.address & 255 for lease in loaded.values()] == [1, 3]


def test_lease_write_live_file_then_restart_loads_everything(tmp_path: Path) -> None:
    """A daemon: compaction, delete, dump onto the live file, restart."""
    settings = config_with(**{"lfc-interval": 0})
    with run_leased(settings, tmp_path) as daemon:
        for octet in (1, 2, 3):
            assert add4(daemon, octet)["result"] == 0
        assert daemon.command("kea-lfc-start")["result"] == 0
        wait_for(lambda: not (tmp_path / "kea-leases4.csv.pid").exists())
        assert daemon.command("lease4-del", {"ip-address": "192.0.2.2"})["result"] == 0
        written = daemon.command("lease4-write", {"filename": "kea-leases4.csv"})
        assert add4(daemon, 4)["result"] == 0
        before = daemon.command("lease4-get-all")

    with run_leased(settings, tmp_path) as daemon:
        after = daemon.command("lease4-get-all")

    assert written["result"] == 0
    assert after == before
    addresses = [lease["ip-address"] for lease in after["arguments"]["leases"]]
    assert addresses == ["192.0.2.1", "192.0.2.3", "192.0.2.4"]
