"""Crash consistency through a real daemon: SIGKILL at random moments while
several clients write, in the middle of a change of many rows, at each step
of a compaction (the daemon's fork and ``leased-lfc``), and a power cut with
durable writes.  The long run is ``python -m tests.crash_soak``; see
docs/reliability.md."""

from __future__ import annotations

import random
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from leased.leasefile import FileSet, load
from leased.model import V4, V6
from tests.crashkit import (
    ROOT,
    Client,
    Leased,
    NotSent,
    Strace,
    Unanswered,
    alive,
    check_recovery,
    crash_config,
    drop_caches,
    power_cut_image,
    request,
    running,
    seed_files,
    strace_missing,
    table_parts,
    wait_gone,
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


def run_trials(
    leased: Leased,
    clients: list[Client],
    trials: int,
    rng: random.Random,
    after_kill: Any = None,
) -> None:
    """Write, kill at a random moment, restart, check; ``trials`` times.

    Every other kill spares the compaction children; with ``after_kill``
    (a power cut) none does.
    """
    for trial in range(trials):
        before = sum(client.acknowledged for client in clients)
        with running(clients, leased.socket_path):
            time.sleep(rng.uniform(0.1, 0.4))
            # A power cut stops every process at once.
            left = leased.kill(children=trial % 2 == 0 or after_kill is not None)
        if after_kill is not None:
            after_kill(trial)
        leased.start()
        failures = check_recovery(clients, table_parts(leased))
        errors = [error for client in clients for error in client.errors]
        assert not failures, "\n".join(failures)
        assert not errors, errors
        assert sum(client.acknowledged for client in clients) > before
        wait_gone(left)


def test_crash_random_kills_lose_no_acknowledged_change(
    tmp_path: Path, daemons: Daemons
) -> None:
    """After each SIGKILL the table is exactly the acknowledged changes,
    plus or minus whole unanswered ones, with compactions running."""
    clients = [Client(index, seed=index) for index in range(3)]
    leased = daemons(tmp_path, crash_config(3, lfc_interval=1))
    leased.start()
    try:
        run_trials(leased, clients, 3, random.Random(7))
    finally:
        leased.stop()


@needs_strace
def test_crash_wipe_cut_short_is_all_or_nothing(
    tmp_path: Path, daemons: Daemons
) -> None:
    """A wipe of 30,000 leases whose write was cut short when the daemon
    died leaves the subnet whole after the restart, never half wiped.

    A file-size limit cuts the write short (the kernel writes what fits),
    and strace kills the daemon as it starts to cut the partial rows off
    again: the file is left as a kill in the middle of the write leaves it.
    """
    seed_files(tmp_path, 4, 30_000)
    live = tmp_path / "kea-leases4.csv"
    size = live.stat().st_size
    room = 100_000

    def limited() -> None:
        limit = (size + room, resource.RLIM_INFINITY)
        resource.setrlimit(resource.RLIMIT_FSIZE, limit)

    leased = daemons(tmp_path, crash_config(1, persist=(4,)))
    leased.preexec = limited
    leased.start()
    assert len(leases(leased)) == 30_000
    assert leased.process is not None
    with Strace(leased.process.pid, "ftruncate:signal=SIGKILL:when=1"):
        payload = {"command": "lease4-wipe", "arguments": {"subnet-id": 100}}
        with pytest.raises((NotSent, Unanswered)):
            request(leased.socket_path, payload)
        leased.process.wait(timeout=30)
    written = live.read_bytes()[size:]
    assert len(written) == room
    assert written.count(b"\n") > 1000  # whole delete rows of the wipe

    leased.preexec = None
    leased.start()

    assert len(leases(leased)) == 30_000
    assert "change that was cut short, which is cut off" in leased.log_path.read_text()
    assert live.stat().st_size == size
    leased.stop()


def test_crash_durable_writes_survive_a_power_cut(
    tmp_path: Path, daemons: Daemons
) -> None:
    """With durable writes, the lease files as a power cut could leave them
    (pages not yet written back dropped) still hold every acknowledged
    change."""
    reason = drop_caches()
    if reason is not None:
        pytest.skip(reason)
    clients = [Client(index, seed=10 + index) for index in range(3)]
    config = crash_config(3, durable=True, lfc_interval=1)
    data = tmp_path / "data"
    leased = daemons(data, config)
    leased.start()

    def cut_power(trial: int) -> None:
        assert drop_caches() is None
        image = tmp_path / f"image{trial}"
        power_cut_image(data, image)
        restored = daemons(image, config)
        restored.start()
        try:
            failures = check_recovery(
                clients, table_parts(restored), adopt=False, power_cut=True
            )
        finally:
            restored.stop()
        assert not failures, "\n".join(failures)

    try:
        run_trials(leased, clients, 2, random.Random(3), after_kill=cut_power)
    finally:
        leased.stop()


def test_crash_power_cut_image_loses_unsynced_changes(
    tmp_path: Path, daemons: Daemons
) -> None:
    """The power-cut check can fail: without durable writes the same image
    misses acknowledged changes that were still only in memory."""
    reason = drop_caches()
    if reason is not None:
        pytest.skip(reason)
    clients = [Client(index, seed=20 + index, compactions=False) for index in range(2)]
    config = crash_config(2)
    data = tmp_path / "data"
    leased = daemons(data, config)
    leased.start()
    with running(clients, leased.socket_path):
        time.sleep(0.3)
        leased.kill(children=True)
    assert drop_caches() is None
    dropped = power_cut_image(data, tmp_path / "image")
    if not dropped:
        pytest.skip("the kernel wrote the lease file back before the check")
    restored = daemons(tmp_path / "image", config)
    restored.start()
    try:
        failures = check_recovery(
            clients, table_parts(restored), adopt=False, power_cut=True
        )
    finally:
        restored.stop()

    assert failures, f"nothing lost although {dropped} bytes were dropped"


# Compaction killed at each step.

# (name, strace rule, files that must exist after the kill besides F).
# Counts are per process; the daemon itself makes one rename (F -> F.1)
# and no fsync, unlink or setpriority call in this test (durable writes
# off, one family persisting), so these rules stop only the child, except
# the two named "daemon".  The child's first unlink removes a leftover
# F.output (there is none), then F.2, F.1 and F.pid.
STEPS = [
    ("daemon before handing F over", "rename:signal=SIGKILL:when=1", {".2"}),
    ("daemon before forking", "clone:signal=SIGKILL:when=1", {".1", ".2"}),
    ("child before F.pid", "setpriority:signal=SIGKILL:when=1", {".1", ".2"}),
    (
        "child before syncing F.output",
        "fsync:signal=SIGKILL:when=1",
        {".1", ".2", ".output", ".pid"},
    ),
    (
        "child after F.completed",
        "fsync:signal=SIGKILL:when=2",
        {".1", ".2", ".completed", ".pid"},
    ),
    (
        "child before removing F.1",
        "unlink:signal=SIGKILL:when=3",
        {".1", ".completed", ".pid"},
    ),
    (
        "child before renaming F.completed",
        "rename:signal=SIGKILL:when=2",
        {".completed", ".pid"},
    ),
    ("child before removing F.pid", "unlink:signal=SIGKILL:when=4", {".2", ".pid"}),
]

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


def wait_compacted(leased: Leased, live: Path) -> None:
    deadline = time.monotonic() + 30
    while present(live) != {".2"} or leased.children():
        assert time.monotonic() < deadline, present(live)
        time.sleep(0.01)


def restart_and_finish_compaction(
    leased: Leased, live: Path, expected: list[Any]
) -> None:
    """Start the daemon again: it holds the leases it had, and the
    compaction left unfinished ends (at start, or on command)."""
    leased.start()
    assert leases(leased) == expected
    assert leased.command("kea-lfc-start")["result"] in (0, 3)
    wait_compacted(leased, live)


@needs_strace
@pytest.mark.parametrize(("step", "rule", "files"), STEPS, ids=[s[0] for s in STEPS])
def test_crash_compaction_killed_at_each_step(
    tmp_path: Path, daemons: Daemons, step: str, rule: str, files: set[str]
) -> None:
    """Whichever step of a compaction is killed, the table survives a
    restart, and the next compaction finishes the job."""
    seed_files(tmp_path, 4, 300)
    live = tmp_path / "kea-leases4.csv"
    leased = daemons(tmp_path, crash_config(1, persist=(4,)))
    leased.start()
    expected = leases(leased)
    assert len(expected) == 300
    daemon = leased.process
    assert daemon is not None

    with Strace(daemon.pid, rule):
        try:
            leased.command("kea-lfc-start")
        except (NotSent, Unanswered):
            assert step.startswith("daemon")
        deadline = time.monotonic() + 20
        while (
            alive(daemon.pid)
            if step.startswith("daemon")
            else "compaction failed" not in leased.log_path.read_text()
        ):
            assert time.monotonic() < deadline, f"not killed at {rule}"
            time.sleep(0.01)
    assert present(live) == files

    if daemon.poll() is None:
        # The daemon lives on, its table whole.
        assert leases(leased) == expected
        leased.kill(children=True)
    restart_and_finish_compaction(leased, live, expected)
    leased.kill(children=True)
    assert on_disk(live, 4) == expected


@needs_strace
def test_crash_output_killed_mid_write_is_replaced(
    tmp_path: Path, daemons: Daemons
) -> None:
    """A compaction child killed while writing a 20,000-lease F.output
    leaves a partial file that the next compaction truncates.

    The file (1.4 MB) takes two writes of the child's 1 MiB buffer; each
    write is held back half a second, so the kill lands between them.
    """
    seed_files(tmp_path, 4, 20_000)
    live = tmp_path / "kea-leases4.csv"
    output = live.with_name(live.name + ".output")
    leased = daemons(tmp_path, crash_config(1, persist=(4,)))
    leased.start()
    expected = leases(leased)
    daemon = leased.process
    assert daemon is not None

    with Strace(daemon.pid, "write:delay_enter=500000"):
        assert leased.command("kea-lfc-start")["result"] == 0
        deadline = time.monotonic() + 20
        while not (output.exists() and output.stat().st_size > 1000):
            assert time.monotonic() < deadline, "F.output was not written"
            time.sleep(0.005)
        leased.kill(children=True)
    partial = output.stat().st_size

    restart_and_finish_compaction(leased, live, expected)
    assert partial < live.with_name(live.name + ".2").stat().st_size
    leased.kill(children=True)
    assert on_disk(live, 4) == expected


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


@needs_strace
@pytest.mark.parametrize(
    ("rule", "files"),
    [
        ("fsync:signal=SIGKILL:when=1", {".1", ".2", ".output", ".pid"}),
        ("unlink:signal=SIGKILL:when=2", {".1", ".2", ".completed", ".pid"}),
        ("unlink:signal=SIGKILL:when=3", {".1", ".completed", ".pid"}),
        ("rename:signal=SIGKILL:when=2", {".completed", ".pid"}),
        ("unlink:signal=SIGKILL:when=4", {".2", ".pid"}),
    ],
)
def test_crash_standalone_compactor_killed_at_each_step(
    tmp_path: Path, daemons: Daemons, rule: str, files: set[str]
) -> None:
    """leased-lfc killed at a step leaves files that load to the same
    table, and its next run finishes the job."""
    seed_files(tmp_path, 6, 300)
    live = tmp_path / "kea-leases6.csv"
    live.rename(live.with_name(live.name + ".1"))
    leased = daemons(tmp_path, crash_config(1, persist=(6,)))
    expected = on_disk(live, 6)
    assert len(expected) == 300
    arguments = [
        sys.executable,
        "-m",
        "leased.lfc",
        "-6",
        *("-x", f"{live}.2", "-i", f"{live}.1", "-o", f"{live}.output"),
        *("-f", f"{live}.completed", "-p", f"{live}.pid", "-c", "unused"),
    ]
    environment = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    strace = shutil.which("strace")
    assert strace is not None
    syscall = rule.split(":")[0]

    killed = subprocess.run(
        [
            *(strace, "-f", "-qq", "-o", "/dev/null", "-e", f"trace={syscall}"),
            *("-e", f"inject={rule}", *arguments),
        ],
        env=environment,
        capture_output=True,
        timeout=60,
    )
    assert killed.returncode != 0
    assert present(live) == files

    leased.start()
    assert leased.command("lease6-get-all")["arguments"]["leases"] == expected
    leased.stop()
    finished = subprocess.run(
        arguments, env=environment, capture_output=True, timeout=60
    )
    assert finished.returncode == 0, finished.stderr
    assert present(live) == {".2"}
    assert on_disk(live, 6) == expected
