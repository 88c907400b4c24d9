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
import socket
from collections.abc import Callable, Iterator
from typing import Any

import orjson

from leased.bench import loadgen, tables
from leased.bench.plan import (
    SIDES,
    Action,
    Metric,
    Plan,
    Server,
    Setup,
    Target,
    Workload,
)

__all__ = [
    "SIDES",
    "WORKLOADS",
    "Action",
    "Metric",
    "Plan",
    "Server",
    "Setup",
    "Target",
    "Workload",
    "add_request",
    "lease4_arguments",
    "lease6_arguments",
]

_SUBNET = "10.0.0.0/8"
_SUBNET_ID = 1
_FIRST_ADDRESS = 0x0A000001
_LAST_INDEX = 0x00FFFFFD
# IPv6 addresses from 2001:db8::1 on, prefixes (/56) from 2001:db8:8000::.
_FIRST_ADDRESS6 = (0x20010DB8 << 96) + 1
_FIRST_PREFIX6 = 0x20010DB88000 << 80
_PREFIX_LEN = 56


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


def lease6_arguments(index: int, *, prefix: bool) -> dict[str, Any]:
    """Return the ``lease6-add`` arguments of IPv6 lease number ``index``.

    Args:
        index: The lease's number: its address (or prefix), DUID and IAID
            derive from it.
        prefix: An IA_PD lease (a /56 prefix) instead of an IA_NA address.
    """
    mac = "02:" + index.to_bytes(5, "big").hex(":")
    if prefix:
        address = _FIRST_PREFIX6 + (index << (128 - _PREFIX_LEN))
    else:
        address = _FIRST_ADDRESS6 + index
    arguments: dict[str, Any] = {
        "ip-address": socket.inet_ntop(socket.AF_INET6, address.to_bytes(16, "big")),
        "subnet-id": _SUBNET_ID,
        "duid": "00:03:00:01:" + mac,
        "iaid": index,
        "hw-address": mac,
        "hostname": f"host-{index}.example.com.",
    }
    if prefix:
        arguments.update(type="IA_PD", **{"prefix-len": _PREFIX_LEN})
    return arguments


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


def _adds(server: Server, build: Callable[[int], bytes]) -> Iterator[bytes]:
    """Endless add requests of new leases, numbered on from the server's."""
    while True:
        request = build(server.next_index)
        server.next_index += 1
        yield request


def _add6(prefix: bool) -> Callable[[int], bytes]:
    def build(index: int) -> bytes:
        return orjson.dumps(
            {
                "command": "lease6-add",
                "arguments": lease6_arguments(index, prefix=prefix),
            }
        )

    return build


def one_shot_add6(*, prefix: bool) -> Action:
    """An action: ``lease6-add`` of new leases, one connection per command."""

    def action(server: Server, plan: Plan) -> loadgen.Sample:
        return loadgen.one_shot(
            server.socket_path,
            _adds(server, _add6(prefix)),
            duration=plan.duration,
            warmup=plan.warmup,
            server_pid=server.pid,
        )

    return action


def concurrent_add(server: Server, plan: Plan) -> loadgen.Sample:
    """Measure ``lease4-add`` of new leases from ``plan.clients`` at once."""
    return loadgen.concurrent(
        server.socket_path,
        _adds(server, add_request),
        clients=plan.clients,
        duration=plan.duration,
        warmup=plan.warmup,
        server_pid=server.pid,
    )


_PRELOADED = Setup(name="v4-preloaded")
_JOURNALED = Setup(name="v4-journaled", persist=True, preload=False)
_JOURNALED6 = Setup(name="v6-journaled", family=6, persist=True, preload=False)
_DURABLE = Setup(name="v4-durable", persist=True, preload=False, durable=True)
_OWN4 = Setup(name="v4-own", preload=False, own=True)
_OWN6 = Setup(name="v6-own", family=6, preload=False, own=True)
_BIG = Setup(name="v4-big", preload=False, table="big")
_MID = Setup(name="v4-mid", preload=False, table="mid")

_SECONDS = "s"
_BYTES = "B/lease"
_FASTER = Target(0.25, higher_is_better=False)

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
        Workload(
            name="oneshot-add6-na",
            summary="lease6-add of new IA_NA addresses, one connection per "
            "command, one client, leases kept in a lease file",
            setup=_JOURNALED6,
            actions={
                "leased": one_shot_add6(prefix=False),
                "kea": one_shot_add6(prefix=False),
            },
            metrics=(Metric("rate", "rate", _RATE, Target(1.5)),),
            mutates=True,
        ),
        Workload(
            name="oneshot-add6-pd",
            summary="lease6-add of new IA_PD prefixes (/56), one connection per "
            "command, one client, leases kept in a lease file",
            setup=_JOURNALED6,
            actions={
                "leased": one_shot_add6(prefix=True),
                "kea": one_shot_add6(prefix=True),
            },
            metrics=(Metric("rate", "rate", _RATE, Target(1.5)),),
            mutates=True,
        ),
        Workload(
            name="durable-add",
            summary="lease4-add of new leases from concurrent clients; leased "
            "makes each change durable (fsync) before answering, Kea only "
            "writes it",
            setup=_DURABLE,
            actions={"leased": concurrent_add, "kea": concurrent_add},
            metrics=(
                Metric("rate", "throughput", _RATE, Target(0.5)),
                Metric("p99_ms", "p99 latency", "ms"),
            ),
            mutates=True,
            notes={"kea": "not durable: Kea 2.2 never calls fsync"},
        ),
        Workload(
            name="startup-v4",
            summary="start with the big IPv4 table in a Kea 2.2 lease file: "
            "time until the socket answers, resident memory per lease "
            "(VmRSS after loading minus an empty server's)",
            setup=_OWN4,
            actions={"leased": tables.startup("big"), "kea": tables.startup("big")},
            metrics=tables.STARTUP_METRICS,
            per_command=False,
            tables=("big",),
        ),
        Workload(
            name="startup-v6",
            summary="start with the big IPv6 table in a Kea 2.2 lease file "
            "(IA_NA, with hardware addresses): as startup-v4",
            setup=_OWN6,
            actions={"leased": tables.startup("big"), "kea": tables.startup("big")},
            metrics=tables.STARTUP_METRICS,
            per_command=False,
            tables=("big",),
        ),
        Workload(
            name="startup-journal",
            summary="start from a journal of three rows per lease of the big "
            "IPv4 table (each lease added, then updated twice)",
            setup=_OWN4,
            actions={
                "leased": tables.startup("journal"),
                "kea": tables.startup("journal"),
            },
            metrics=(
                Metric("startup_s", "start-up time", _SECONDS, _FASTER),
                Metric("startup_cpu_s", "start-up CPU time", _SECONDS),
                Metric("bytes_per_lease", "resident memory", _BYTES),
            ),
            per_command=False,
            tables=("journal",),
        ),
        Workload(
            name="get-page-scan",
            summary="every lease of the big IPv4 table read with lease4-get-page "
            "(limit --page), one connection per page, until the end",
            setup=_BIG,
            actions={"leased": tables.page_scan, "kea": tables.page_scan},
            metrics=(Metric("scan_s", "scan time", _SECONDS, _FASTER),),
            per_command=False,
        ),
        Workload(
            name="get-all",
            summary="lease4-get-all of the mid table: time until the answer "
            "is read, and how much the server's resident memory grows meanwhile",
            setup=_MID,
            actions={"leased": tables.get_all, "kea": tables.get_all},
            metrics=(
                Metric("answer_s", "answer time", _SECONDS, _FASTER),
                Metric("growth_mb", "memory growth", "MB", _FASTER),
            ),
            per_command=False,
        ),
        Workload(
            name="wipe",
            summary="lease4-wipe of subnet 1, half of the mid table, each "
            "repetition on a freshly loaded server",
            setup=_OWN4,
            actions={"leased": tables.wipe, "kea": tables.wipe},
            metrics=(Metric("wipe_s", "wipe time", _SECONDS, Target(0.5, False)),),
            per_command=False,
            tables=("mid",),
        ),
        Workload(
            name="compaction",
            summary="compaction of the journal (three rows per lease of the big "
            "table) into one row per lease: kea-lfc on the files against "
            "leased's fork compaction (kea-lfc-start) and leased-lfc on the "
            "same files; time until the new .2 file is finished",
            setup=_OWN4,
            actions={"leased": tables.compaction, "kea": tables.compaction},
            metrics=(
                Metric("fork_s", "kea-lfc-start (fork)", _SECONDS, Target(0.1, False)),
                Metric("lfc_s", "leased-lfc process", _SECONDS, Target(0.1, False)),
            ),
            per_command=False,
            tables=("journal",),
            notes={
                "kea": "both rows time kea-lfc on the same files",
                "leased": "kea-lfc-start writes the table from a forked "
                "snapshot; leased-lfc reads the files as kea-lfc does",
            },
        ),
        Workload(
            name="compaction-p99",
            summary="p99 latency of the concurrent-get mix on the big table "
            "while a compaction runs, over its p99 when idle",
            setup=_BIG,
            actions={
                "leased": tables.compaction_latency,
                "kea": tables.compaction_latency,
            },
            metrics=(
                Metric("p99_idle_ms", "idle p99", "ms"),
                Metric("p99_during_ms", "p99 during compaction", "ms"),
                Metric(
                    "p99_ratio",
                    "p99 during / idle",
                    "x",
                    Target(2.0, higher_is_better=False, absolute=True),
                ),
            ),
            mutates=True,
            per_command=False,
            notes={
                "kea": "kea-lfc runs on a copy of Kea's lease file, pinned to "
                "Kea's core, as Kea's own child would be",
            },
        ),
    )
}
