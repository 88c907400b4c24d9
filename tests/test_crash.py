"""Crash consistency through a real daemon: SIGKILL at random moments while
several clients write, in the middle of a change of many rows, at each step
of a compaction (the daemon's fork and ``leased-lfc``), and a power cut with
durable writes.  The long run is ``python -m tests.crash_soak``; see
docs/reliability.md."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from leased.leasefile import FileSet, load
from leased.model import V4, V6
from tests.crashkit import (
    Leased,
    Strace,
    alive,
    crash_config,
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
