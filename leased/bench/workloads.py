"""The workload table: what the benchmark measures, one entry per workload.

Theory of operation
-------------------

A :class:`Workload` is three things:

* a :class:`Setup`: the Kea-shaped configuration both servers start from and
  the leases preloaded into them before anything is timed;
* an action per server side (``"leased"`` and ``"kea"``): a function that
  drives the running server through :mod:`leased.bench.loadgen` and returns
  one :class:`~leased.bench.loadgen.Sample`.  Both sides usually run the same
  action; a workload that compares a leased-only feature with Kea's closest
  equivalent (the batch) gives each side its own;
* the :class:`Metric` figures taken from the samples, each with the target
  ratio leased/Kea it must reach.

The runner starts the servers of a setup once and reuses them for every
workload with the same setup that does not change the leases, so the
preload is paid once.  A workload that changes them (``mutates``) gets fresh
servers.  Adding a workload is adding an entry to :data:`WORKLOADS`; one
that needs a different life cycle (start-up time from a large lease file,
memory per lease) can start servers itself from its action through
:func:`leased.bench.runner.start_server` and return figures of its own in
:attr:`~leased.bench.loadgen.Sample.extra`.

Leases are generated from an index: lease ``i`` has address ``10.0.0.0 + 1 +
i`` in subnet 1 (``10.0.0.0/8``), a hardware address and a client identifier
derived from ``i`` and the host name ``host-<i>.example.com.``, so every
lookup key is unique and any request can be rebuilt from the index alone.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import orjson

from leased.bench import loadgen

__all__ = [
    "SIDES",
    "WORKLOADS",
    "Metric",
    "Plan",
    "Server",
    "Setup",
    "Target",
    "Workload",
    "add_request",
    "lease4_arguments",
]

# The two servers compared, in the order the first repetition runs them.
SIDES = ("leased", "kea")

_SUBNET = "10.0.0.0/8"
_SUBNET_ID = 1
_FIRST_ADDRESS = 0x0A000001
_LAST_INDEX = 0x00FFFFFD


@attrs.frozen(kw_only=True)
class Plan:
    """How long and how big: the scale every workload runs at.

    Attributes:
        duration: Seconds in each timed window.
        warmup: Seconds of load before each timed window, not counted.
        repeat: Timed windows per server and workload.
        leases: Leases preloaded into each server.
        clients: Connections in flight in the concurrent workload.
        batch_size: Commands in one batch request.
    """

    duration: float = 3.0
    warmup: float = 0.5
    repeat: int = 3
    leases: int = 10_000
    clients: int = 32
    batch_size: int = 1000


@attrs.frozen
class Target:
    """A bound on the ratio leased/Kea of one metric."""

    ratio: float
    higher_is_better: bool = True

    def met(self, ratio: float) -> bool:
        """Return whether ``ratio`` (leased/Kea) reaches the bound."""
        if self.higher_is_better:
            return ratio >= self.ratio
        return ratio <= self.ratio

    def text(self) -> str:
        """Return the bound as printed in the table, e.g. ``>= 1.5x``."""
        return f"{'>=' if self.higher_is_better else '<='} {self.ratio:g}x"


@attrs.frozen
class Metric:
    """One figure a workload reports, taken from each sample.

    Attributes:
        key: The key in :meth:`Sample.figures`, e.g. ``rate`` or ``p99_ms``.
        label: The name printed in the table.
        unit: The unit printed after the figures.
        target: The ratio leased/Kea to reach, or None when the figure is
            only informative.
    """

    key: str
    label: str
    unit: str
    target: Target | None = None


@attrs.frozen(kw_only=True)
class Setup:
    """How both servers are configured and filled before a workload.

    Attributes:
        name: Names the setup in the output; workloads with equal setups
            share servers.
        family: 4 or 6: the lease family (and the Kea server) involved.
        persist: Whether both servers keep a lease file.  Kea then appends a
            row per change to it and never compacts it (``lfc-interval`` 0);
            leased gets the same ``lease-database`` settings.
        preload: Whether ``Plan.leases`` leases are added, one ``lease4-add``
            per connection, before anything is timed.
    """

    name: str
    family: int = 4
    persist: bool = False
    preload: bool = True

    def config(self, lease_file: str | None) -> dict[str, Any]:
        """Return the Kea-shaped configuration, with leases kept in a file.

        Args:
            lease_file: Where the leases persist, or None to keep them in
                memory only (used only when :attr:`persist` is set).

        Returns:
            A new configuration dictionary.
        """
        database: dict[str, Any] = {"type": "memfile", "persist": False}
        if self.persist and lease_file is not None:
            database = {
                "type": "memfile",
                "persist": True,
                "name": lease_file,
                "lfc-interval": 0,
            }
        return {
            "Dhcp4": {
                "valid-lifetime": 4000,
                "lease-database": database,
                "subnet4": [{"id": _SUBNET_ID, "subnet": _SUBNET}],
            }
        }


@attrs.define(kw_only=True)
class Server:
    """A running server as a workload's action sees it.

    Attributes:
        side: ``"leased"`` or ``"kea"``.
        socket_path: Its control socket.
        pid: Its process, for CPU time.
        durability: How it keeps leases, in words for the output.
        lease_file: Its lease file, when it keeps one.
        workdir: Its working directory; an action that starts more servers
            (see :func:`leased.bench.runner.start_server`) uses fresh
            directories beside it.
        cpus: The cores it is pinned to, or None; more servers started by an
            action should be pinned alike.
        next_index: The first lease index not used yet; the preload takes
            ``0 .. leases - 1`` and a workload that adds leases moves it on.
    """

    side: str
    socket_path: str
    pid: int
    durability: str
    workdir: Path
    cpus: set[int] | None = None
    lease_file: str | None = None
    next_index: int = 0


# An action drives one running server at the plan's scale and measures it.
Action = Callable[[Server, Plan], loadgen.Sample]


@attrs.frozen(kw_only=True)
class Workload:
    """One entry of the workload table.

    Attributes:
        name: The name given to ``--workload`` and printed in the table.
        summary: One sentence saying what is measured.
        setup: How the servers are configured and filled first.
        actions: The measured action of each side in :data:`SIDES`; a side
            without one runs only when the runner is told to skip it.
        metrics: The figures reported, each with its target.
        mutates: Whether the actions change the leases, so the servers may
            not be reused by later workloads.
        notes: Per-side remarks printed beside the results, e.g. that Kea
            runs a different action.
    """

    name: str
    summary: str
    setup: Setup
    actions: Mapping[str, Action]
    metrics: tuple[Metric, ...]
    mutates: bool = False
    notes: Mapping[str, str] = attrs.field(factory=dict)


def lease4_arguments(index: int) -> dict[str, Any]:
    """Return the ``lease4-add`` arguments of lease number ``index``.

    Raises:
        ValueError: ``index`` does not fit in the subnet.
    """
    if not 0 <= index <= _LAST_INDEX:
        raise ValueError(f"lease index {index} does not fit in {_SUBNET}")
    address = _FIRST_ADDRESS + index
    hw_address = ":".join(f"{byte:02x}" for byte in (2, *index.to_bytes(5, "big")))
    return {
        "ip-address": ".".join(str(address >> shift & 255) for shift in (24, 16, 8, 0)),
        "subnet-id": _SUBNET_ID,
        "hw-address": hw_address,
        "client-id": "01:" + hw_address,
        "hostname": f"host-{index}.example.com.",
    }


def add_request(index: int) -> bytes:
    """Return the encoded ``lease4-add`` request of lease number ``index``."""
    return orjson.dumps({"command": "lease4-add", "arguments": lease4_arguments(index)})


def _get_requests(count: int, leases: int, *, mix: bool) -> list[bytes]:
    """Return ``count`` encoded get requests for random preloaded leases.

    Args:
        count: How many requests (they are cycled through afterwards).
        leases: How many leases were preloaded; indexes are drawn below it.
        mix: False for ``lease4-get`` by address only; True to rotate through
            every IPv4 lookup Kea 2.2 offers.
    """
    picker = random.Random(4)
    requests = []
    for number in range(count):
        lease = lease4_arguments(picker.randrange(leases))
        kind = number % 6 if mix else 0
        if kind == 0:
            command, arguments = "lease4-get", {"ip-address": lease["ip-address"]}
        elif kind in (1, 2):
            identifier_type = "hw-address" if kind == 1 else "client-id"
            command, arguments = (
                "lease4-get",
                {
                    "identifier-type": identifier_type,
                    "identifier": lease[identifier_type],
                    "subnet-id": _SUBNET_ID,
                },
            )
        elif kind == 3:
            command = "lease4-get-by-hw-address"
            arguments = {"hw-address": lease["hw-address"]}
        elif kind == 4:
            command = "lease4-get-by-client-id"
            arguments = {"client-id": lease["client-id"]}
        else:
            command = "lease4-get-by-hostname"
            arguments = {"hostname": lease["hostname"]}
        requests.append(orjson.dumps({"command": command, "arguments": arguments}))
    return requests


def _request_pool(plan: Plan, *, mix: bool) -> Iterator[bytes]:
    return itertools.cycle(
        _get_requests(min(plan.leases, 20_000), plan.leases, mix=mix)
    )


def one_shot_get(server: Server, plan: Plan) -> loadgen.Sample:
    """Measure ``lease4-get`` by address, one connection per command."""
    return loadgen.one_shot(
        server.socket_path,
        _request_pool(plan, mix=False),
        duration=plan.duration,
        warmup=plan.warmup,
        server_pid=server.pid,
    )


def one_shot_add(server: Server, plan: Plan) -> loadgen.Sample:
    """Measure ``lease4-add`` of new leases, one connection per command."""

    def requests() -> Iterator[bytes]:
        while True:
            request = add_request(server.next_index)
            server.next_index += 1
            yield request

    return loadgen.one_shot(
        server.socket_path,
        requests(),
        duration=plan.duration,
        warmup=plan.warmup,
        server_pid=server.pid,
    )


def concurrent_get_mix(server: Server, plan: Plan) -> loadgen.Sample:
    """Measure a mix of IPv4 lookups from ``plan.clients`` clients at once."""
    return loadgen.concurrent(
        server.socket_path,
        _request_pool(plan, mix=True),
        clients=plan.clients,
        duration=plan.duration,
        warmup=plan.warmup,
        server_pid=server.pid,
    )


def batch_get(server: Server, plan: Plan) -> loadgen.Sample:
    """Measure ``lease4-get`` sent ``plan.batch_size`` at a time in a list."""
    commands = b",".join(
        itertools.islice(_request_pool(plan, mix=False), plan.batch_size)
    )
    return loadgen.batch(
        server.socket_path,
        b"[" + commands + b"]",
        plan.batch_size,
        duration=plan.duration,
        warmup=plan.warmup,
        server_pid=server.pid,
    )


_PRELOADED = Setup(name="v4-preloaded")
_JOURNALED = Setup(name="v4-journaled", persist=True, preload=False)

_RATE = "commands/s"

WORKLOADS: dict[str, Workload] = {
    workload.name: workload
    for workload in (
        Workload(
            name="oneshot-get",
            summary="lease4-get by address, one connection per command, one client",
            setup=_PRELOADED,
            actions={"leased": one_shot_get, "kea": one_shot_get},
            metrics=(Metric("rate", "rate", _RATE, Target(1.5)),),
        ),
        Workload(
            name="oneshot-add",
            summary="lease4-add of new leases, one connection per command, "
            "one client, leases kept in a lease file",
            setup=_JOURNALED,
            actions={"leased": one_shot_add, "kea": one_shot_add},
            metrics=(Metric("rate", "rate", _RATE, Target(1.5)),),
            mutates=True,
        ),
        Workload(
            name="concurrent-get",
            summary="mix of lease4-get (address, hw-address, client-id), "
            "lease4-get-by-hw-address, -by-client-id and -by-hostname "
            "from concurrent clients, one connection per command",
            setup=_PRELOADED,
            actions={"leased": concurrent_get_mix, "kea": concurrent_get_mix},
            metrics=(
                Metric("rate", "throughput", _RATE, Target(1.5)),
                Metric("p50_ms", "p50 latency", "ms"),
                Metric("p99_ms", "p99 latency", "ms", Target(0.5, False)),
            ),
        ),
        Workload(
            name="batch-get",
            summary="lease4-get by address sent as one JSON list per "
            "connection (leased only); Kea, which has no batch, runs "
            "oneshot-get instead",
            setup=_PRELOADED,
            actions={"leased": batch_get, "kea": one_shot_get},
            metrics=(Metric("rate", "rate", _RATE, Target(10)),),
            notes={"kea": "runs oneshot-get: Kea 2.2 has no batch"},
        ),
    )
}
