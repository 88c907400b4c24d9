"""Starting the servers under test, and what a workload reads from them.

:func:`start_server` starts leased or Kea for a
:class:`~leased.bench.workloads.Setup` through :mod:`leased.harness`, with
its lease file copied from a generated table when the setup has one, and
pins it to the server's cores.  A workload that measures the start itself
(start-up time, memory per lease) calls it directly from its action and
times it.  The other helpers read what the operating system knows about a
server: its resident memory and peak (``/proc/PID/status``), its CPU time,
and whether a compaction of its lease file set is still running.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

from leased.bench.plan import Server, Setup
from leased.client import send_command
from leased.harness import run_kea, run_leased

__all__ = [
    "answer_time",
    "compaction_done",
    "pin_process",
    "process_cpu",
    "reset_peak",
    "start_server",
    "status_bytes",
    "wait_compaction_done",
]

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# Loading a few million lease file rows takes Kea a minute or more.
START_TIMEOUT = 900.0


def pin_process(pid: int, cpus: set[int]) -> None:
    """Pin every thread of ``pid`` to ``cpus``."""
    try:
        threads = [int(tid) for tid in os.listdir(f"/proc/{pid}/task")]
    except OSError:
        threads = [pid]
    for tid in threads:
        with contextlib.suppress(OSError):
            os.sched_setaffinity(tid, cpus)


def _durability(side: str, setup: Setup, lease_file: str | None) -> str:
    """Say how ``side`` was configured to keep leases."""
    if lease_file is None:
        return "memory only (persist false)"
    loaded = ", loaded from a generated lease file" if setup.table else ""
    if side == "kea":
        return (
            f"memfile persist true, lfc-interval 0{loaded}: Kea writes one lease "
            "file row per change before it answers, without fsync"
        )
    durable = (
        "; durable-writes true: every change is on disk (fdatasync, shared by "
        "concurrent changes) before its answer"
        if setup.durable
        else ""
    )
    return f"persist true, lfc-interval 0{loaded}{durable}"


@contextlib.contextmanager
def start_server(
    side: str,
    setup: Setup,
    workdir: Path,
    *,
    cpus: set[int] | None = None,
    table: Path | None = None,
) -> Iterator[Server]:
    """Start one side's server for ``setup``, pinned to ``cpus``.

    Args:
        side: ``"leased"`` or ``"kea"``.
        setup: The configuration to start from (nothing is preloaded here).
        workdir: A directory of the caller's own for sockets and files.
        cpus: The cores for every thread of the server, or None to leave
            it to the scheduler.
        table: A lease file to copy in as the server's lease file before it
            starts (the setup then keeps its leases in that file).

    Yields:
        The running :class:`~leased.bench.workloads.Server`, once it answers.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    persist = setup.persist or table is not None
    lease_file = str(workdir / f"leases{setup.family}.csv") if persist else None
    if table is not None and lease_file is not None:
        shutil.copyfile(table, lease_file)
    if side == "leased":
        runner = run_leased(setup.config(lease_file), workdir, timeout=START_TIMEOUT)
    else:
        runner = run_kea(
            setup.config(None),
            setup.family,
            workdir,
            lease_file=lease_file,
            timeout=START_TIMEOUT,
        )
    launched = time.monotonic()
    with runner as daemon:
        if cpus is not None:
            pin_process(daemon.process.pid, cpus)
        server = Server(
            side=side,
            socket_path=daemon.socket_path,
            pid=daemon.process.pid,
            durability=_durability(side, setup, lease_file),
            workdir=workdir,
            cpus=cpus,
            lease_file=lease_file,
            family=setup.family,
        )
        answered = answer_time(server.socket_path, time.monotonic() + START_TIMEOUT)
        server.started_in = answered - launched
        yield server


def answer_time(path: str, deadline: float) -> float:
    """Wait until the server on ``path`` answers ``version-get``.

    Returns:
        The moment (``time.monotonic``) the answer arrived.

    Raises:
        TimeoutError: No answer before ``deadline``.
    """
    while True:
        try:
            send_command(path, "version-get")
            return time.monotonic()
        except (OSError, ValueError):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no answer on {path}") from None
            time.sleep(0.005)


def status_bytes(pid: int, field: str) -> int:
    """A ``kB`` field of ``/proc/PID/status`` (``VmRSS``, ``VmHWM``) in bytes.

    Raises:
        OSError: The process is gone or has no such field.
    """
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise OSError(f"no {field} in /proc/{pid}/status")


def reset_peak(pid: int) -> bool:
    """Reset the process's peak resident size (``VmHWM``) to its current one.

    Returns False where the kernel does not allow it (the caller then polls
    ``VmRSS`` instead).
    """
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as clear:
            clear.write("5")
    except OSError:
        return False
    return True


def process_cpu(pid: int) -> float:
    """The user plus system CPU seconds ``pid`` has used since it started."""
    with open(f"/proc/{pid}/stat", "rb") as stat:
        text = stat.read()
    fields = text[text.rindex(b")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def compaction_done(lease_file: str) -> bool:
    """Whether no compaction of the lease file set is running or unfinished.

    During a compaction the previous live file (``F.1``) exists, and so do
    its pid file and, at the end, its finished output; after it, none does.
    """
    return not any(
        os.path.exists(lease_file + suffix) for suffix in (".1", ".pid", ".completed")
    )


def wait_compaction_done(lease_file: str, deadline: float) -> float:
    """Wait until :func:`compaction_done`; return when it was seen.

    Raises:
        TimeoutError: Still running at ``deadline``.
    """
    while not compaction_done(lease_file):
        if time.monotonic() > deadline:
            raise TimeoutError(f"compaction of {lease_file} did not finish")
        time.sleep(0.005)
    return time.monotonic()
