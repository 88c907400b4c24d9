"""Run workloads against leased and Kea, alternating, and collect samples.

Theory of operation
-------------------

The machine is shared and noisy, so no single measurement is trusted: every
workload is measured ``repeat`` times on each server, and the servers take
turns (leased then Kea in even repetitions, Kea then leased in odd ones) so
that a burst of outside load hits both about equally.  The report keeps
every sample and summarises them by their median and spread.

Placement matters as much as noise.  With ``split`` placement (the default)
the server and all its threads are pinned to one core and this process,
the load generator, to another, so neither steals the other's core.
``same`` pins both to one core, ``free`` leaves it to the scheduler.  On a
virtual machine a request that crosses cores pays for waking the idle core
on both sides, which weighs heavily on one-connection-at-a-time workloads;
the report says which placement was used.

Servers are started per :class:`~leased.bench.workloads.Setup` and kept for
the following workloads with the same setup, unless a workload changes the
leases.  Before the workloads, the load generator runs against a trivial
stand-in server (:mod:`leased.bench.standin`) to measure its own ceiling.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs

from leased.bench import datafiles, loadgen
from leased.bench.plan import SIDES, Plan, Server, Setup, Workload
from leased.bench.servers import pin_process, start_server, wait_compaction_done
from leased.bench.standin import run_standin
from leased.bench.workloads import add_request
from leased.client import send_raw

__all__ = [
    "PLACEMENTS",
    "Ceiling",
    "Outcome",
    "preload",
    "run",
    "start_server",
]

PLACEMENTS = ("split", "same", "free")


@attrs.define(kw_only=True)
class Outcome:
    """Everything measured for one workload.

    Attributes:
        workload: The workload measured.
        samples: The samples of each side, in the order they were taken.
        durability: How each side kept its leases, in words.
        errors: Why a side could not be measured, by side.
        checks: Facts checked after the run, by side (e.g. lease file rows).
    """

    workload: Workload
    samples: dict[str, list[loadgen.Sample]] = attrs.field(factory=dict)
    durability: dict[str, str] = attrs.field(factory=dict)
    errors: dict[str, str] = attrs.field(factory=dict)
    checks: dict[str, str] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class Ceiling:
    """The load generator against the stand-in server.

    Attributes:
        one_shot: The one-connection-at-a-time loop's sample.
        concurrent: The concurrent loop's sample at the plan's client count.
    """

    one_shot: loadgen.Sample
    concurrent: loadgen.Sample


def _cpus() -> tuple[int, int] | None:
    """Pick a core for the server and one for the load generator."""
    available = sorted(os.sched_getaffinity(0))
    if len(available) < 2:
        return None
    return available[0], available[1]


def _placement_cpus(placement: str) -> tuple[set[int], set[int]] | None:
    """Return the server's and the load generator's cores, or None if free."""
    pair = _cpus()
    if placement == "free" or pair is None:
        return None
    if placement == "same":
        return {pair[0]}, {pair[0]}
    return {pair[0]}, {pair[1]}


def preload(server: Server, count: int) -> None:
    """Add leases ``0 .. count - 1``, one ``lease4-add`` per connection.

    Raises:
        RuntimeError: The server refused one of them.
    """
    for index in range(server.next_index, count):
        request = add_request(index)
        answer = send_raw(server.socket_path, request)
        if loadgen.result_of(answer) != 0:
            raise RuntimeError(
                f"{server.side} refused preloaded lease {index}: {answer[:300]!r}"
            )
    server.next_index = max(server.next_index, count)


def measure_ceiling(plan: Plan, workdir: Path, cpus: set[int] | None) -> Ceiling:
    """Drive the stand-in server with both load shapes.

    Args:
        plan: The scale (duration, warm-up, clients).
        workdir: Where the stand-in's socket goes.
        cpus: The stand-in's cores, or None to leave it to the scheduler.

    Returns:
        The samples, to be reported as the load generator's ceiling.
    """
    path = str(workdir / "standin.sock")
    request = b'{"command":"lease4-get","arguments":{"ip-address":"10.0.0.1"}}'
    with run_standin(path) as pid:
        if cpus is not None:
            pin_process(pid, cpus)
        one_shot = loadgen.one_shot(
            path,
            itertools.repeat(request),
            duration=plan.duration,
            warmup=plan.warmup,
            server_pid=pid,
        )
        concurrent = loadgen.concurrent(
            path,
            itertools.repeat(request),
            clients=plan.clients,
            duration=plan.duration,
            warmup=plan.warmup,
            server_pid=pid,
        )
    return Ceiling(one_shot=one_shot, concurrent=concurrent)


def _file_rows(path: str | None) -> int | None:
    if path is None or not os.path.exists(path):
        return None
    rows = 0
    with open(path, "rb") as lease_file:
        for chunk in iter(lambda: lease_file.read(1 << 20), b""):
            rows += chunk.count(b"\n")
    return rows


class _ServerPool:
    """Servers started per setup and side, kept until a workload mutates."""

    def __init__(
        self, root: Path, plan: Plan, cpus: set[int] | None, cache: Path
    ) -> None:
        self._root = root
        self._plan = plan
        self._cpus = cpus
        self._cache = cache
        self._stacks: dict[Setup, contextlib.ExitStack] = {}
        self._servers: dict[tuple[Setup, str], Server] = {}
        self._failures: dict[tuple[Setup, str], str] = {}
        self._generation = itertools.count()

    def get(self, setup: Setup, side: str) -> Server:
        """Return the running server of ``setup`` on ``side``, starting it.

        Raises:
            RuntimeError: It could not be started or preloaded (also on every
                later call for the same setup and side).
        """
        key = (setup, side)
        if key in self._failures:
            raise RuntimeError(self._failures[key])
        if key not in self._servers:
            stack = self._stacks.setdefault(setup, contextlib.ExitStack())
            workdir = self._root / f"{setup.name}-{next(self._generation)}-{side}"
            try:
                if setup.own:
                    # The actions start their servers; they get where to.
                    server = Server(
                        side=side,
                        socket_path="",
                        pid=0,
                        durability="started by the workload, see its notes",
                        workdir=workdir,
                        cpus=self._cpus,
                        family=setup.family,
                    )
                else:
                    table = None
                    if setup.table is not None:
                        spec = self._plan.table(setup.table, setup.family)
                        table = datafiles.ensure(spec, self._cache)
                    server = stack.enter_context(
                        start_server(side, setup, workdir, cpus=self._cpus, table=table)
                    )
                    if setup.table is not None and server.lease_file is not None:
                        # leased turns a Kea 2.2 file into its own format
                        # with a compaction as it starts: let it finish.
                        wait_compaction_done(server.lease_file, time.monotonic() + 900)
                if setup.preload:
                    preload(server, self._plan.leases)
                server.cache = self._cache
            except Exception as error:
                self._failures[key] = f"{type(error).__name__}: {error}"
                raise RuntimeError(self._failures[key]) from error
            self._servers[key] = server
        return self._servers[key]

    def close(self, setup: Setup) -> None:
        """Stop the servers of ``setup``; the next :meth:`get` starts anew."""
        stack = self._stacks.pop(setup, None)
        if stack is not None:
            stack.close()
        for side in SIDES:
            self._servers.pop((setup, side), None)
            self._failures.pop((setup, side), None)

    def close_all(self) -> None:
        """Stop every server."""
        for setup in list(self._stacks):
            self.close(setup)


def run(
    workloads: Sequence[Workload],
    plan: Plan,
    *,
    sides: Sequence[str] = SIDES,
    placement: str = "split",
    workdir: Path | None = None,
    cache: Path | None = None,
    progress: Callable[[str], None] = lambda line: None,
) -> tuple[Ceiling | None, list[Outcome], dict[str, Any]]:
    """Measure ``workloads`` on ``sides``, alternating the sides.

    Args:
        workloads: What to measure, in order.
        plan: The scale.
        sides: Which servers to measure, a subset of :data:`SIDES`.
        placement: One of :data:`PLACEMENTS`.
        workdir: Where servers keep sockets and files; a temporary directory
            when None.
        cache: Where generated lease files are kept between runs
            (:func:`leased.bench.datafiles.default_cache` when None).
        progress: Called with a line of text as the run advances.

    Returns:
        The load generator's ceiling (None if it could not be measured), one
        :class:`Outcome` per workload, and facts about the run (placement
        and cores used).
    """
    facts: dict[str, Any] = {"placement": placement, "sides": list(sides)}
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = Path(
                stack.enter_context(tempfile.TemporaryDirectory(prefix="lb"))
            )

        # Choose the cores once, before this process is pinned to its own
        # (which would hide the others).
        cpus = _placement_cpus(placement)
        server_cpus = None if cpus is None else cpus[0]
        if cpus is not None:
            previous = os.sched_getaffinity(0)
            os.sched_setaffinity(0, cpus[1])
            stack.callback(os.sched_setaffinity, 0, previous)
            facts["server_cpus"] = sorted(cpus[0])
            facts["client_cpus"] = sorted(cpus[1])
        elif placement != "free":
            facts["placement"] = "free"
            facts["placement_note"] = "fewer than two cores available: not pinned"

        progress("measuring the load generator against the stand-in server")
        ceiling: Ceiling | None
        try:
            ceiling = measure_ceiling(plan, workdir, server_cpus)
        except (OSError, RuntimeError) as error:
            ceiling = None
            facts["ceiling_error"] = f"{type(error).__name__}: {error}"

        cache = cache if cache is not None else datafiles.default_cache()
        facts["cache"] = str(cache)
        _generate_tables(workloads, plan, cache, progress)
        pool = _ServerPool(workdir, plan, server_cpus, cache)
        stack.callback(pool.close_all)
        outcomes = []
        for workload in workloads:
            outcomes.append(_run_workload(workload, plan, sides, pool, progress))
            if workload.mutates:
                pool.close(workload.setup)
    return ceiling, outcomes, facts


def _generate_tables(
    workloads: Sequence[Workload],
    plan: Plan,
    cache: Path,
    progress: Callable[[str], None],
) -> None:
    """Make the lease files the workloads load, before anything is timed."""
    wanted: list[datafiles.TableFile] = []
    for workload in workloads:
        setup = workload.setup
        names = [setup.table] if setup.table else []
        if setup.own:
            names = [*workload.tables]
        wanted.extend(plan.table(name, setup.family) for name in names)
    for spec in dict.fromkeys(wanted):
        if not (cache / spec.name).exists():
            progress(f"generating {spec.rows} rows of lease file {spec.name}")
        datafiles.ensure(spec, cache)


def _run_workload(
    workload: Workload,
    plan: Plan,
    sides: Sequence[str],
    pool: _ServerPool,
    progress: Callable[[str], None],
) -> Outcome:
    """Measure one workload on every side, ``plan.repeat`` times each."""
    outcome = Outcome(workload=workload)
    servers: dict[str, Server] = {}
    for side in sides:
        if side not in workload.actions:
            continue
        progress(f"{workload.name}: starting {side} ({workload.setup.name})")
        try:
            servers[side] = pool.get(workload.setup, side)
        except RuntimeError as error:
            outcome.errors[side] = str(error)
            continue
        outcome.durability[side] = servers[side].durability
        outcome.samples[side] = []

    # Alternate: even repetitions in the given order, odd ones reversed.
    for repetition in range(plan.repeat):
        order = list(servers) if repetition % 2 == 0 else list(reversed(servers))
        for side in order:
            if side in outcome.errors:
                continue
            progress(f"{workload.name}: {side} repetition {repetition + 1}")
            began = time.monotonic()
            try:
                sample = workload.actions[side](servers[side], plan)
            except (OSError, RuntimeError, TimeoutError) as error:
                outcome.errors[side] = f"{type(error).__name__}: {error}"
                continue
            outcome.samples[side].append(sample)
            if workload.per_command:
                measured = f"{sample.rate:,.0f} commands/s"
            else:
                measured = ", ".join(
                    f"{key} {value:,.3g}" for key, value in sample.extra.items()
                )
            progress(
                f"{workload.name}: {side} {measured} "
                f"in {time.monotonic() - began:.1f} s"
            )

    # A lease file must hold a row for every lease acknowledged so far.
    for side, server in servers.items():
        if server.lease_file is None or workload.setup.table is not None:
            continue
        rows = _file_rows(server.lease_file)
        if rows is None:
            outcome.checks[side] = (
                "WARNING: no lease file was written, so its leases were kept in "
                "memory only and its figures are not comparable"
            )
        else:
            outcome.checks[side] = (
                f"lease file holds {rows} lines after {server.next_index} "
                "acknowledged adds (one header line expected)"
            )
    return outcome
