"""The load generator: the same client code for every server under test.

Theory of operation
-------------------

The benchmark compares two servers on a machine with two cores: the server
under test runs on one, this load generator on the other.  Whatever the load
generator costs per request is paid in front of both servers alike, but it
must stay well below what the faster server can take, or the comparison
measures the client.  So the code here is deliberately plain: raw ``socket``
calls, requests encoded before the clock starts, no event-loop framework.

Three shapes of load are offered, each run for a fixed time after a warm-up:

* :func:`one_shot` is one client in a tight loop: connect, send one request,
  read to end of file, close, next.  Its rate is bounded by the round trip,
  so it includes the client's own per-request cost (measured and reported).
* :func:`concurrent` keeps a fixed number of such one-request connections in
  flight with a non-blocking :mod:`selectors` loop, starts a new one as soon
  as one finishes, and records each request's latency from before
  ``connect`` until end of file.
* :func:`batch` sends one JSON list of many requests per connection and reads
  back the list of answers.

Every answer is decoded and its ``result`` checked against what the workload
expects, so a server that answers errors quickly cannot look fast.  Each run
also reads the CPU time the client process and the server process spent
during the timed window: a client near a whole core means the client, not the
server, set the pace, and the server's CPU time per request is a figure that
the noise of a shared machine disturbs much less than a rate.
"""

from __future__ import annotations

import contextlib
import functools
import os
import resource
import selectors
import signal
import socket
import time
from array import array
from collections import Counter
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any, ParamSpec, cast

import attrs
import orjson

__all__ = [
    "CpuMeter",
    "Sample",
    "Usage",
    "batch",
    "concurrent",
    "exchange",
    "one_shot",
    "percentile",
    "result_of",
]

_P = ParamSpec("_P")
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_CHUNK = 1 << 16
_UNTIL_EVERY = 0.02


@attrs.frozen(kw_only=True)
class Sample:
    """What one timed run measured.

    Attributes:
        count: Commands answered inside the timed window.
        elapsed: Length of the timed window in seconds.
        rate: Commands answered per second.
        latencies_ms: Percentiles of the per-request latency in milliseconds
            (``p50``, ``p90``, ``p99``, ``max``), empty when not recorded.
        client_cpu: CPU time of this process during the window, as a share of
            one core (1.0 means the client was busy all the time).
        server_cpu: The same for the server process, or None if unknown.
        other_cpu: CPU time the rest of the machine spent during the window
            (other processes, interrupts, time stolen by the hypervisor), in
            cores: how much outside noise the sample suffered.
        results: How many answers carried each ``result`` code.
        unexpected: Answers whose ``result`` the workload did not expect, plus
            connections closed without an answer.
        extra: More figures a workload's action measured itself (start-up
            seconds, bytes per lease, ...), reported like the others.
    """

    count: int
    elapsed: float
    rate: float
    latencies_ms: dict[str, float]
    client_cpu: float
    server_cpu: float | None
    other_cpu: float
    results: dict[int, int]
    unexpected: int
    extra: dict[str, float] = attrs.field(factory=dict)

    def figures(self) -> dict[str, float]:
        """Return the sample's numbers under the keys metrics refer to."""
        figures = {
            "rate": self.rate,
            "client_cpu": self.client_cpu,
            "other_cpu": self.other_cpu,
            "client_us": self.client_cpu * self.elapsed / max(self.count, 1) * 1e6,
        }
        if self.server_cpu is not None:
            figures["server_cpu"] = self.server_cpu
            figures["server_us"] = (
                self.server_cpu * self.elapsed / max(self.count, 1) * 1e6
            )
        for name, value in self.latencies_ms.items():
            figures[f"{name}_ms"] = value
        figures.update(self.extra)
        return figures

    def as_json(self) -> dict[str, Any]:
        """Return the sample as plain JSON-ready data."""
        data = attrs.asdict(self)
        data["results"] = {str(code): n for code, n in self.results.items()}
        return data


@attrs.frozen
class Usage:
    """CPU shares over a timed window (see :class:`Sample`)."""

    elapsed: float
    client: float
    server: float | None
    other: float


class CpuMeter:
    """Read the CPU time of this process, the server and the whole machine.

    :meth:`stop` returns the shares of a core each used since :meth:`start`.
    """

    def __init__(self, server_pid: int | None) -> None:
        self._server_pid = server_pid
        self._start = (0.0, 0.0, 0.0, 0.0)

    def _now(self) -> tuple[float, float, float, float]:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return (
            time.perf_counter(),
            usage.ru_utime + usage.ru_stime,
            _process_cpu(self._server_pid),
            _machine_busy(),
        )

    def start(self) -> None:
        self._start = self._now()

    def stop(self) -> Usage:
        """Return the window's length and the CPU shares spent in it."""
        end = self._now()
        elapsed = end[0] - self._start[0]
        client = (end[1] - self._start[1]) / elapsed
        server = None
        if self._server_pid is not None and end[2] >= 0 and self._start[2] >= 0:
            server = (end[2] - self._start[2]) / elapsed
        busy = (end[3] - self._start[3]) / elapsed
        other = max(0.0, busy - client - (server or 0.0))
        return Usage(elapsed, client, server, other)


def _process_cpu(pid: int | None) -> float:
    """Return the user plus system CPU seconds of ``pid``, or -1 if unknown."""
    if pid is None:
        return -1.0
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            text = stat.read()
    except OSError:
        return -1.0

    # The command name in parentheses may hold spaces, so count the fields
    # from the last closing parenthesis: utime and stime are fields 14 and 15.
    fields = text[text.rindex(b")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


# A server that stops answering must not hang the benchmark, yet a timeout on
# every socket would add system calls to every request.  One alarm per run
# costs nothing per request: its handler raises inside the blocking call.
_STALL_GRACE = 30.0


@contextlib.contextmanager
def _watchdog(seconds: float) -> Iterator[None]:
    """Raise :class:`TimeoutError` when the block outlasts ``seconds``."""

    def expire(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError(f"the server stopped answering ({seconds:.0f} s passed)")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _guarded(run: Callable[_P, Sample]) -> Callable[_P, Sample]:
    """Run a load shape under a watchdog sized from its keyword arguments."""

    @functools.wraps(run)
    def guarded(*args: _P.args, **kwargs: _P.kwargs) -> Sample:
        # Every load shape takes both as keyword-only floats.
        limit = cast(float, kwargs["duration"]) + cast(float, kwargs["warmup"])
        with _watchdog(limit + _STALL_GRACE):
            return run(*args, **kwargs)

    return guarded


def _machine_busy() -> float:
    """Return the CPU seconds all cores spent on anything but idling."""
    try:
        with open("/proc/stat", "rb") as stat:
            fields = stat.readline().split()
    except OSError:
        return 0.0

    # The first line sums every core: user, nice, system, idle, iowait, irq,
    # softirq, steal, then guest times already counted in user.
    ticks = [int(value) for value in fields[1:9]]
    return (sum(ticks) - ticks[3] - ticks[4]) / _CLOCK_TICKS


def percentile(ordered: list[float], share: float) -> float:
    """Return the nearest-rank percentile of an ascending list.

    Args:
        ordered: The values, sorted ascending; must not be empty.
        share: Which percentile, as a fraction (0.99 for p99).

    Returns:
        The smallest value that at least ``share`` of the values do not
        exceed.
    """
    rank = max(1, -(-len(ordered) * share // 1))
    return ordered[min(int(rank), len(ordered)) - 1]


def _latency_summary(latencies: array[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    if not ordered:
        return {}
    return {
        "p50": percentile(ordered, 0.50) * 1e3,
        "p90": percentile(ordered, 0.90) * 1e3,
        "p99": percentile(ordered, 0.99) * 1e3,
        "max": ordered[-1] * 1e3,
    }


def result_of(answer: bytes) -> int:
    """Return the ``result`` of one answer, or -1 if there is none."""
    if not answer:
        return -1
    try:
        decoded = orjson.loads(answer)
    except orjson.JSONDecodeError:
        return -1
    if isinstance(decoded, dict) and isinstance(decoded.get("result"), int):
        return int(decoded["result"])
    return -1


@_guarded
def one_shot(
    path: str,
    requests: Iterator[bytes],
    *,
    duration: float,
    warmup: float,
    expect: frozenset[int] = frozenset({0}),
    server_pid: int | None = None,
) -> Sample:
    """Send one request per connection, one connection after the other.

    Args:
        path: The server's Unix socket.
        requests: Encoded requests, taken one per connection; it must not run
            out before ``warmup + duration`` has passed.
        duration: Length of the timed window in seconds.
        warmup: Seconds of the same load before the window, not counted.
        expect: The ``result`` codes that count as correct answers.
        server_pid: The server's process, for its CPU time.

    Returns:
        The :class:`Sample` of the timed window.
    """
    new_socket = socket.socket
    family, kind = socket.AF_UNIX, socket.SOCK_STREAM
    perf_counter = time.perf_counter
    results: Counter[int] = Counter()
    meter = CpuMeter(server_pid)

    # The loop body is written out once and run twice, for the warm-up and
    # for the timed window, so both pay exactly the same per-request cost.
    for timed in (False, True):
        if timed:
            results.clear()
            meter.start()
        deadline = perf_counter() + (duration if timed else warmup)
        count = 0
        while perf_counter() < deadline:
            sock = new_socket(family, kind)
            sock.connect(path)
            sock.sendall(next(requests))
            answer = sock.recv(_CHUNK)
            if answer:
                chunk = sock.recv(_CHUNK)
                while chunk:
                    answer += chunk
                    chunk = sock.recv(_CHUNK)
            sock.close()
            results[result_of(answer)] += 1
            count += 1

    usage = meter.stop()
    return Sample(
        count=count,
        elapsed=usage.elapsed,
        rate=count / usage.elapsed,
        latencies_ms={},
        client_cpu=usage.client,
        server_cpu=usage.server,
        other_cpu=usage.other,
        results=dict(results),
        unexpected=sum(n for code, n in results.items() if code not in expect),
    )


@_guarded
def concurrent(
    path: str,
    requests: Iterator[bytes],
    *,
    clients: int,
    duration: float,
    warmup: float,
    expect: frozenset[int] = frozenset({0}),
    server_pid: int | None = None,
    until: Callable[[], bool] | None = None,
) -> Sample:
    """Keep ``clients`` one-request connections in flight at all times.

    Each connection is opened with a blocking ``connect`` (a Unix socket
    connects at once unless the server's backlog is full) and a blocking send
    of its small request, then waits non-blocking for the answer in one
    :mod:`selectors` loop.  When it reaches end of file it is closed and a new
    one takes its place, until the window ends.

    Args:
        path: The server's Unix socket.
        requests: Encoded requests, taken one per connection.
        clients: How many connections are in flight at once.
        duration: Length of the timed window in seconds.
        warmup: Seconds of the same load before the window, not counted.
        expect: The ``result`` codes that count as correct answers.
        server_pid: The server's process, for its CPU time.
        until: Ends the window early once it returns True (asked every
            20 ms inside the window).

    Returns:
        The :class:`Sample` of the timed window, with latency percentiles of
        the requests that both started and finished inside it.
    """
    perf_counter = time.perf_counter
    selector = selectors.DefaultSelector()
    meter = CpuMeter(server_pid)
    results: Counter[int] = Counter()
    latencies: array[float] = array("d")

    def start() -> None:
        began = perf_counter()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(path)
        sock.sendall(next(requests))
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ, (began, []))

    # The window opens after the warm-up; connections still in flight when it
    # closes are drained but not counted.
    window_start = perf_counter() + warmup
    window_end = window_start + duration
    timing = False
    next_check = window_start
    count = 0
    for _ in range(clients):
        start()

    while selector.get_map():
        for key, _ in selector.select():
            # Only sockets are registered, never raw descriptors.
            sock: socket.socket = key.fileobj  # type: ignore[assignment]
            began, chunks = key.data
            finished = False
            try:
                while True:
                    chunk = sock.recv(_CHUNK)
                    if not chunk:
                        finished = True
                        break
                    chunks.append(chunk)
            except BlockingIOError:
                pass
            if not finished:
                continue
            selector.unregister(sock)
            sock.close()

            now = perf_counter()
            if not timing and now >= window_start:
                timing = True
                meter.start()
            if until is not None and timing and now >= next_check:
                next_check = now + _UNTIL_EVERY
                if now < window_end and until():
                    window_end = now
            if timing and now <= window_end:
                results[result_of(b"".join(chunks))] += 1
                count += 1
                if began >= window_start:
                    latencies.append(now - began)
            if now < window_end:
                start()

    if not timing:
        meter.start()
    usage = meter.stop()
    selector.close()
    elapsed = max(window_end - window_start, 1e-9)
    return Sample(
        count=count,
        elapsed=elapsed,
        rate=count / elapsed,
        latencies_ms=_latency_summary(latencies),
        client_cpu=usage.client,
        server_cpu=usage.server,
        other_cpu=usage.other,
        results=dict(results),
        unexpected=sum(n for code, n in results.items() if code not in expect),
    )


@_guarded
def batch(
    path: str,
    request: bytes,
    size: int,
    *,
    duration: float,
    warmup: float,
    expect: frozenset[int] = frozenset({0}),
    server_pid: int | None = None,
) -> Sample:
    """Send a JSON list of ``size`` commands per connection, repeatedly.

    Args:
        path: The server's Unix socket.
        request: One encoded JSON list of ``size`` commands.
        size: How many commands ``request`` holds.
        duration: Length of the timed window in seconds (the batch running
            when it ends is finished and counted).
        warmup: Seconds of the same load before the window, not counted.
        expect: The ``result`` codes that count as correct answers.
        server_pid: The server's process, for its CPU time.

    Returns:
        The :class:`Sample` of the timed window; ``rate`` counts commands,
        not batches, and the latencies are those of whole batches.
    """
    perf_counter = time.perf_counter
    results: Counter[int] = Counter()
    latencies: array[float] = array("d")
    meter = CpuMeter(server_pid)

    for timed in (False, True):
        if timed:
            results.clear()
            latencies = array("d")
            meter.start()
        deadline = perf_counter() + (duration if timed else warmup)
        count = 0
        while perf_counter() < deadline:
            began = perf_counter()
            answer = exchange(path, request)
            latencies.append(perf_counter() - began)
            _tally_batch(answer, size, results)
            count += size

    usage = meter.stop()
    return Sample(
        count=count,
        elapsed=usage.elapsed,
        rate=count / usage.elapsed,
        latencies_ms=_latency_summary(latencies),
        client_cpu=usage.client,
        server_cpu=usage.server,
        other_cpu=usage.other,
        results=dict(results),
        unexpected=sum(n for code, n in results.items() if code not in expect),
    )


def _tally_batch(answer: bytes, size: int, results: Counter[int]) -> None:
    """Count the ``result`` codes of a batch answer into ``results``.

    A batch answer that is not a list of ``size`` answers counts as ``size``
    answers of result -1, so a server that does not batch cannot pass.
    """
    try:
        decoded = orjson.loads(answer)
    except orjson.JSONDecodeError:
        decoded = None
    if not isinstance(decoded, list) or len(decoded) != size:
        results[-1] += size
        return
    for item in decoded:
        code = item.get("result") if isinstance(item, dict) else None
        results[code if isinstance(code, int) else -1] += 1


def exchange(path: str, request: bytes) -> bytes:
    """Send one request on a new connection and read the answer to the end."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(path)
        sock.sendall(request)
        chunks = []
        chunk = sock.recv(_CHUNK)
        while chunk:
            chunks.append(chunk)
            chunk = sock.recv(_CHUNK)
    return b"".join(chunks)
