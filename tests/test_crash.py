"""Crash consistency through a real daemon: SIGKILL at random moments while
several clients write, in the middle of a change of many rows, at each step
of a compaction (the daemon's fork and ``leased-lfc``), and a power cut with
durable writes.  The long run is ``python -m tests.crash_soak``; see
docs/reliability.md."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from leased.leasefile import FileSet, load
from leased.model import V4, V6
from tests.crashkit import (
    Leased,
    NotSent,
    Strace,
    Unanswered,
    alive,
    crash_config,
    request,
    seed_files,
    strace_missing,
)

Daemons = Callable[[Path, dict[str, Any]], Leased]


@pytest.fixture
def daemons() -> Iterator[Daemons]:
    """Make :class:`Leased` daemons; any still running at the end is killed."""
    made: list[Leased] = []

    def make(workdir: Path, config: dict[str, Any]) -> Leased:
        made.append(Leased(workdir, config))
        return made[-1]

    yield make
    for leased in made:
        if leased.process is not None and leased.process.poll() is None:
            leased.kill(children=True)


needs_strace = pytest.mark.skipif(
    strace_missing() is not None, reason=strace_missing() or ""
)


def wipe(path: str, payload: Any) -> None:
    with contextlib.suppress(NotSent, Unanswered):
        request(path, payload)


def test_crash_wipe_killed_mid_write_is_all_or_nothing(
    tmp_path: Path, daemons: Daemons
) -> None:
    """A wipe of 40,000 leases killed while its rows are being written is
    either whole or absent after the restart, never half done."""
    count = 40_000
    live = tmp_path / "kea-leases4.csv"
    cut_short = 0
    for attempt in range(4):
        directory = tmp_path / str(attempt)
        directory.mkdir()
        live = directory / "kea-leases4.csv"
        seed_files(directory, 4, 3 * count // 4)
        leased = daemons(directory, crash_config(1, persist=(4,)))
        leased.start()
        expected = len(leased.command("lease4-get-all")["arguments"]["leases"])
        assert expected == count // 2 + count // 4
        size = live.stat().st_size

        payload = {"command": "lease4-wipe", "arguments": {"subnet-id": 100}}
        thread = threading.Thread(target=wipe, args=(leased.socket_path, payload))
        thread.start()
        while live.stat().st_size == size:
            pass  # the first rows of the wipe reach the file: kill now
        leased.kill(children=True)
        grown = live.stat().st_size - size
        thread.join()

        leased.start()
        answer = leased.command("lease4-get-all")
        left = len(answer.get("arguments", {}).get("leases", []))
        leased.stop()
        assert left in (0, expected), f"{left} of {expected} leases left"
        if left == expected:
            assert grown > 0
            assert "change that was cut short, which is cut off" in (
                leased.log_path.read_text()
            )
            cut_short += 1
            break
    assert cut_short, "the kill never landed inside the wipe's write"


COMPACTION_FILES = {".1", ".2", ".output", ".completed", ".pid"}


def leases(leased: Leased) -> list[Any]:
    answer = leased.command("lease4-get-all")
    found: list[Any] = answer.get("arguments", {}).get("leases", [])
    return found


def on_disk(live: Path, version: int) -> list[Any]:
    """The leases the files hold, as get-all would show them (read with the
    daemon's own loader, in this process)."""
    family = V4 if version == 4 else V6
    loaded = load(FileSet.of(live), version).leases
    return [family.to_json(loaded[address]) for address in sorted(loaded)]


def present(live: Path) -> set[str]:
    return {
        suffix
        for suffix in COMPACTION_FILES
        if live.with_name(live.name + suffix).exists()
    }


@needs_strace
def test_crash_orphan_compaction_is_waited_for(
    tmp_path: Path, daemons: Daemons
) -> None:
    """A daemon killed right after it forked a compaction (before the child
    wrote F.pid) leaves the child running; the next start waits for it."""
    seed_files(tmp_path, 4, 300)
    live = tmp_path / "kea-leases4.csv"
    leased = daemons(tmp_path, crash_config(1, persist=(4,)))
    leased.start()
    expected = leases(leased)
    daemon = leased.process
    assert daemon is not None

    # The child stops for 1.5 s before it lowers its priority, its first
    # step, long before it writes F.pid.
    with Strace(daemon.pid, "setpriority:delay_enter=1500000"):
        assert leased.command("kea-lfc-start")["result"] == 0
        [child] = leased.children()
        leased.kill(children=False)
        assert not live.with_name(live.name + ".pid").exists()
        leased.start()
        assert not alive(child)
    log = leased.log_path.read_text().split("--- start 1")[1]

    assert "waiting for a running compaction to finish pid=unknown" in log
    assert leases(leased) == expected
    assert present(live) == {".2"}
    leased.stop()
