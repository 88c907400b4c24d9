"""The workloads on large tables: start-up, scan, get-all, wipe, compaction.

Theory of operation
-------------------

These workloads measure what an operator sees with millions of leases, and
a figure here is a duration or an amount of memory rather than a rate.  The
tables come from lease files in Kea 2.2's format
(:mod:`leased.bench.datafiles`), generated once and cached, so that both
servers load exactly the same data; every server gets a copy of the file as
its own lease file.

* **Start-up** (:func:`startup`): the time from launching the server until
  its socket answers ``version-get``, with the big table as its lease file;
  and its resident memory (``VmRSS``) then, minus that of the same server
  started on an empty file, per lease.  The CPU time the server used until
  then is shown beside it: it suffers less from a busy machine than the
  time does.
* **Scan** (:func:`page_scan`): ``lease4-get-page`` from ``start`` to the
  end, one connection per page, each page starting after the last address
  of the one before.  The client finds that address and counts the leases
  in the raw answer, without decoding it, so that its own cost stays small.
* **get-all** (:func:`get_all`): the time until the whole answer has been
  read, and how far the server's resident memory rose above where it was
  before the command: the kernel's peak (``VmHWM``) is reset first through
  ``/proc/PID/clear_refs`` and read afterwards (sampled every millisecond
  where the reset is not allowed).
* **Wipe** (:func:`wipe`): ``lease4-wipe`` of one of the two subnets, on a
  server freshly loaded for every repetition.
* **Compaction** (:func:`compaction`): the time until the compacted ``F.2``
  exists, from a journal of three rows per lease: ``kea-lfc`` run on the
  file set; leased's compaction started with ``kea-lfc-start`` on a daemon
  that loaded the journal (it forks and writes its table); and
  ``leased-lfc`` run on the file set like ``kea-lfc``.  Each compactor is
  pinned to the server's core, as a child of the server would be.
* **Latency during a compaction** (:func:`compaction_latency`): the p99 of
  the concurrent lookup mix on the big table while a compaction runs, over
  its p99 just before.

leased starts on a Kea 2.2 file by compacting it once into its own format
(in a forked child, after the table is loaded).  Measurements other than
start-up wait until that compaction has finished.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

import attrs
import orjson

from leased.bench import datafiles, loadgen
from leased.bench.plan import Action, Metric, Plan, Server, Setup, Target
from leased.bench.servers import (
    compaction_done,
    pin_process,
    process_cpu,
    reset_peak,
    start_server,
    status_bytes,
    wait_compaction_done,
)
from leased.client import send_command
from leased.errors import RESULT_EMPTY

__all__ = [
    "STARTUP_METRICS",
    "compaction",
    "compaction_latency",
    "get_all",
    "page_scan",
    "startup",
    "wipe",
]

STARTUP_METRICS: Final = (
    Metric("startup_s", "start-up time", "s", Target(0.25, higher_is_better=False)),
    Metric("startup_cpu_s", "start-up CPU time", "s"),
    Metric("bytes_per_lease", "resident memory", "B/lease", Target(1.0, False)),
)

_LAST_ADDRESS: Final = re.compile(rb'"ip-address"\s*:\s*"([^"]+)"')
_RESULT: Final = re.compile(rb'"result"\s*:\s*(-?\d+)')
# How long a compaction of the big table may take, at most.
_COMPACTION_TIMEOUT: Final = 900.0


def _fresh(server: Server, name: str) -> Path:
    """A new directory beside the server's for one more server's files."""
    server.workdir.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{name}-", dir=server.workdir))


def _measured(
    seconds: float,
    extra: dict[str, float],
    usage: loadgen.Usage,
    *,
    count: int = 1,
    server_cpu: float | None = None,
    results: dict[int, int] | None = None,
    unexpected: int = 0,
) -> loadgen.Sample:
    """A sample of a timed operation whose figures are in ``extra``.

    ``server_cpu`` is the server's (or compactor's) CPU seconds in the
    window when the meter could not see it.
    """
    server = usage.server
    other = usage.other
    if server is None and server_cpu is not None:
        server = server_cpu / usage.elapsed
        other = max(0.0, other - server)
    return loadgen.Sample(
        count=count,
        elapsed=seconds,
        rate=count / max(seconds, 1e-9),
        latencies_ms={},
        client_cpu=usage.client,
        server_cpu=server,
        other_cpu=other,
        results=results if results is not None else {0: count},
        unexpected=unexpected,
        extra=extra,
    )


# Start-up.


def startup(table: str) -> Action:
    """An action: start on ``table`` (big or journal); time and memory."""

    def action(server: Server, plan: Plan) -> loadgen.Sample:
        spec = plan.table(table, server.family)
        source = datafiles.ensure(spec, server.cache)
        empty = datafiles.empty(server.family, server.cache)
        setup = Setup(
            name=f"v{server.family}-{table}",
            family=server.family,
            preload=False,
            table=table,
        )

        # The same server on an empty file: what it holds without leases.
        with start_server(
            server.side, setup, _fresh(server, "empty"), cpus=server.cpus, table=empty
        ) as bare:
            baseline = status_bytes(bare.pid, "VmRSS")

        meter = loadgen.CpuMeter(None)
        meter.start()
        with start_server(
            server.side, setup, _fresh(server, table), cpus=server.cpus, table=source
        ) as loaded:
            resident = status_bytes(loaded.pid, "VmRSS")
            cpu = process_cpu(loaded.pid)
            usage = meter.stop()
            seconds = loaded.started_in
        return _measured(
            seconds,
            {
                "startup_s": seconds,
                "startup_cpu_s": cpu,
                "bytes_per_lease": (resident - baseline) / spec.leases,
            },
            usage,
            server_cpu=cpu,
        )

    return action


# Scan.


def _page_request(after: str, limit: int) -> bytes:
    return orjson.dumps(
        {"command": "lease4-get-page", "arguments": {"from": after, "limit": limit}}
    )


def _result(answer: bytes) -> int:
    """The ``result`` of an answer, found near its end (-1 if none)."""
    found = _RESULT.search(answer, max(0, len(answer) - 400)) or _RESULT.search(answer)
    return int(found[1]) if found else -1


def page_scan(server: Server, plan: Plan) -> loadgen.Sample:
    """Read every lease with ``lease4-get-page``, page after page."""
    after = "start"
    pages = 0
    seen = 0
    results: Counter[int] = Counter()
    meter = loadgen.CpuMeter(server.pid)
    meter.start()
    began = time.perf_counter()
    while True:
        answer = loadgen.exchange(server.socket_path, _page_request(after, plan.page))
        pages += 1
        code = _result(answer)
        results[code] += 1
        if code != 0:
            break
        seen += answer.count(b'"ip-address"')
        last = answer.rfind(b'"ip-address"')
        found = _LAST_ADDRESS.match(answer, last)
        if found is None:
            results[-1] += 1
            break
        after = found[1].decode()
    seconds = time.perf_counter() - began
    usage = meter.stop()
    # The end is an empty page (result 3) after exactly every lease.
    unexpected = sum(n for code, n in results.items() if code not in (0, 3))
    if seen != plan.big or results[3] != 1:
        unexpected += 1
    return _measured(
        seconds,
        {"scan_s": seconds, "pages": pages},
        usage,
        count=pages,
        results=dict(results),
        unexpected=unexpected,
    )


# get-all.


class _PeakPoller:
    """Samples a process's ``VmRSS`` every millisecond in a thread."""

    def __init__(self, pid: int) -> None:
        self._pid = pid
        self.peak = status_bytes(pid, "VmRSS")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.001):
            with contextlib.suppress(OSError):
                self.peak = max(self.peak, status_bytes(self._pid, "VmRSS"))

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def get_all(server: Server, plan: Plan) -> loadgen.Sample:
    """Time ``lease4-get-all`` and the server's memory growth during it."""
    pid = server.pid
    before = status_bytes(pid, "VmRSS")
    poller = None if reset_peak(pid) else _PeakPoller(pid)
    meter = loadgen.CpuMeter(pid)
    meter.start()
    began = time.perf_counter()
    answer = loadgen.exchange(server.socket_path, b'{"command":"lease4-get-all"}')
    seconds = time.perf_counter() - began
    usage = meter.stop()
    peak = status_bytes(pid, "VmHWM") if poller is None else poller.stop()

    decoded = orjson.loads(answer) if answer else {}
    leases = decoded.get("arguments", {}).get("leases", [])
    code = decoded.get("result", -1)
    wrong = code != 0 or len(leases) != plan.mid
    return _measured(
        seconds,
        {"answer_s": seconds, "growth_mb": max(0, peak - before) / 1e6},
        usage,
        results={code: 1},
        unexpected=1 if wrong else 0,
    )


# Wipe.


def wipe(server: Server, plan: Plan) -> loadgen.Sample:
    """Time ``lease4-wipe`` of subnet 1 (half the mid table), loaded anew."""
    source = datafiles.ensure(plan.table("mid", 4), server.cache)
    setup = Setup(name="v4-mid", preload=False, table="mid")
    with start_server(
        server.side, setup, _fresh(server, "wipe"), cpus=server.cpus, table=source
    ) as loaded:
        assert loaded.lease_file is not None
        wait_compaction_done(loaded.lease_file, time.monotonic() + _COMPACTION_TIMEOUT)
        meter = loadgen.CpuMeter(loaded.pid)
        meter.start()
        began = time.perf_counter()
        answer = loadgen.exchange(
            loaded.socket_path,
            b'{"command":"lease4-wipe","arguments":{"subnet-id":1}}',
        )
        seconds = time.perf_counter() - began
        usage = meter.stop()
    decoded = orjson.loads(answer) if answer else {}
    code = decoded.get("result", -1)
    expected = f"Deleted {plan.mid // 2} IPv4 lease(s) from subnet(s) 1"
    wrong = code != 0 or decoded.get("text") != expected
    return _measured(
        seconds,
        {"wipe_s": seconds},
        usage,
        results={code: 1},
        unexpected=1 if wrong else 0,
    )


# Compaction.


def _kea_lfc() -> str:
    return shutil.which("kea-lfc") or "/usr/sbin/kea-lfc"


def _named(live: Path, suffix: str) -> Path:
    return live.with_name(live.name + suffix)


def _lfc_arguments(live: Path) -> list[str]:
    """kea-lfc's arguments for the file set of ``live`` (IPv4)."""
    config = _named(live, ".lfc.json")
    config.write_text('{"Dhcp4": {}}')
    return [
        "-4",
        *("-x", str(_named(live, ".2"))),
        *("-i", str(_named(live, ".1"))),
        *("-o", str(_named(live, ".output"))),
        *("-f", str(_named(live, ".completed"))),
        *("-p", str(_named(live, ".pid"))),
        *("-c", str(config)),
    ]


def _file_rows(path: Path) -> int:
    with open(path, "rb") as stream:
        return sum(
            chunk.count(b"\n") for chunk in iter(lambda: stream.read(1 << 20), b"")
        )


def _compact_files(
    command: list[str],
    journal: Path,
    leases: int,
    directory: Path,
    cpus: set[int] | None,
) -> tuple[float, float, bool]:
    """Run a kea-lfc-like compactor on a copy of ``journal`` as ``F.1``.

    Returns:
        Its wall time, its CPU time, and whether ``F.2`` came out whole
        (one row per lease plus the header, ``F.1`` gone).
    """
    live = directory / "leases4.csv"
    shutil.copyfile(journal, _named(live, ".1"))
    arguments = _lfc_arguments(live)
    environment = dict(
        os.environ, KEA_LOCKFILE_DIR=str(directory), KEA_PIDFILE_DIR=str(directory)
    )
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(directory / "compactor.out", "wb") as output:
        began = time.perf_counter()
        process = subprocess.Popen(
            [*command, *arguments],
            cwd=directory,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        if cpus is not None:
            pin_process(process.pid, cpus)
        status = process.wait(timeout=_COMPACTION_TIMEOUT)
        seconds = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    compacted = _named(live, ".2")
    whole = (
        status == 0
        and compacted.exists()
        and not _named(live, ".1").exists()
        and _file_rows(compacted) == leases + 1
    )
    return seconds, cpu, whole


def compaction(server: Server, plan: Plan) -> loadgen.Sample:
    """Compact the journal: kea-lfc, or leased's two ways."""
    journal = datafiles.ensure(plan.table("journal", 4), server.cache)
    meter = loadgen.CpuMeter(None)
    if server.side == "kea":
        meter.start()
        seconds, cpu, whole = _compact_files(
            [_kea_lfc()], journal, plan.big, _fresh(server, "kea-lfc"), server.cpus
        )
        usage = meter.stop()
        return _measured(
            seconds,
            {"fork_s": seconds, "lfc_s": seconds},
            usage,
            server_cpu=cpu,
            unexpected=0 if whole else 1,
        )

    # leased-lfc: the standalone compactor, on the files as kea-lfc.
    lfc_seconds, _, lfc_whole = _compact_files(
        [sys.executable, "-m", "leased.lfc"],
        journal,
        plan.big,
        _fresh(server, "leased-lfc"),
        server.cpus,
    )

    # The daemon's compaction, once its start-up one (to its own format) is
    # done: rotate, fork, write the table.
    setup = Setup(name="v4-journal", preload=False, table="journal")
    with start_server(
        server.side, setup, _fresh(server, "fork"), cpus=server.cpus, table=journal
    ) as loaded:
        assert loaded.lease_file is not None
        wait_compaction_done(loaded.lease_file, time.monotonic() + _COMPACTION_TIMEOUT)
        meter.start()
        began = time.monotonic()
        answer = _start_compaction(loaded.socket_path)
        finished = wait_compaction_done(loaded.lease_file, began + _COMPACTION_TIMEOUT)
        fork_seconds = finished - began
        usage = meter.stop()
        compacted = Path(loaded.lease_file + ".2")
        fork_whole = (
            answer.get("result") == 0
            and compacted.exists()
            and _file_rows(compacted) == plan.big + 1
        )
    return _measured(
        fork_seconds,
        {"fork_s": fork_seconds, "lfc_s": lfc_seconds},
        usage,
        unexpected=0 if (lfc_whole and fork_whole) else 1,
    )


def _start_compaction(path: str) -> Any:
    """Send ``kea-lfc-start``; again while the last one's child still exits.

    The files show a compaction finished a moment before the daemon has
    reaped its child, and until then it answers "already running".
    """
    deadline = time.monotonic() + 10
    while True:
        answer = send_command(path, "kea-lfc-start")
        if answer.get("result") != RESULT_EMPTY or time.monotonic() > deadline:
            return answer
        time.sleep(0.002)


# Latency during a compaction.


def _lookups(plan: Plan) -> Iterator[bytes]:
    """The concurrent-get mix of lookups, on leases of the big table."""
    picker = random.Random(4)
    requests = []
    for number in range(min(plan.big, 20_000)):
        keys = datafiles.lease4_keys(picker.randrange(plan.big), plan.big)
        kind = number % 6
        if kind == 0:
            command, arguments = "lease4-get", {"ip-address": keys["ip-address"]}
        elif kind in (1, 2):
            identifier = "hw-address" if kind == 1 else "client-id"
            command = "lease4-get"
            arguments = {
                "identifier-type": identifier,
                "identifier": keys[identifier],
                "subnet-id": keys["subnet-id"],
            }
        elif kind == 3:
            command, arguments = (
                "lease4-get-by-hw-address",
                {"hw-address": keys["hw-address"]},
            )
        elif kind == 4:
            command, arguments = (
                "lease4-get-by-client-id",
                {"client-id": keys["client-id"]},
            )
        else:
            command, arguments = (
                "lease4-get-by-hostname",
                {"hostname": keys["hostname"]},
            )
        requests.append(orjson.dumps({"command": command, "arguments": arguments}))
    return itertools.cycle(requests)


def compaction_latency(server: Server, plan: Plan) -> loadgen.Sample:
    """p99 of the lookup mix while a compaction runs, and when idle."""
    lookups = _lookups(plan)
    assert server.lease_file is not None
    lease_file = server.lease_file

    def load(warmup: float, until: Callable[[], bool] | None) -> loadgen.Sample:
        return loadgen.concurrent(
            server.socket_path,
            lookups,
            clients=plan.clients,
            duration=plan.duration,
            warmup=warmup,
            server_pid=server.pid,
            until=until,
        )

    process: subprocess.Popen[bytes] | None = None
    directory = _fresh(server, "compaction")
    if server.side == "kea":
        # kea-lfc on a copy of Kea's own lease file, as Kea's timer would
        # start it (Kea 2.2 has no command for it).
        shutil.copyfile(lease_file, directory / "leases4.csv.1")
    idle = load(plan.warmup, None)

    began = time.perf_counter()
    if server.side == "kea":
        output = open(directory / "compactor.out", "wb")  # noqa: SIM115 closed below
        process = subprocess.Popen(
            [_kea_lfc(), *_lfc_arguments(directory / "leases4.csv")],
            cwd=directory,
            env=dict(os.environ, KEA_LOCKFILE_DIR=str(directory)),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        output.close()
        if server.cpus is not None:
            pin_process(process.pid, server.cpus)
        running = process

        def done() -> bool:
            return running.poll() is not None

        started = True
    else:
        answer = _start_compaction(server.socket_path)
        started = answer.get("result") == 0

        def done() -> bool:
            return compaction_done(lease_file)

    # The window ends with the compaction, but not before a quarter of it
    # has passed (a tiny table compacts in a moment).
    during = load(
        0.0, lambda: done() and time.perf_counter() - began > plan.duration / 4
    )

    if process is not None:
        if process.poll() is None:
            process.terminate()
        process.wait()
    else:
        wait_compaction_done(lease_file, time.monotonic() + _COMPACTION_TIMEOUT)
    idle_p99 = idle.latencies_ms.get("p99", 0.0)
    during_p99 = during.latencies_ms.get("p99", idle_p99)
    extra = {
        "p99_idle_ms": idle_p99,
        "p99_during_ms": during_p99,
        "p99_ratio": during_p99 / idle_p99 if idle_p99 else 0.0,
    }
    return attrs.evolve(
        during,
        extra=extra,
        unexpected=during.unexpected + idle.unexpected + (0 if started else 1),
    )
