"""The benchmark's vocabulary: plan, setup, server, metric, workload.

These records are shared by the workload table (:mod:`leased.bench.workloads`),
the actions that drive servers (there and in :mod:`leased.bench.tables`), the
runner and the report.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final

import attrs

from leased.bench import datafiles, loadgen

__all__ = [
    "SIDES",
    "Action",
    "Metric",
    "Plan",
    "Server",
    "Setup",
    "Target",
    "Workload",
]

# The two servers compared, in the order the first repetition runs them.
SIDES: Final = ("leased", "kea")

# The subnet of the command workloads' leases, per family.
SUBNET4: Final = {"id": 1, "subnet": "10.0.0.0/8"}
SUBNET6: Final = {"id": 1, "subnet": "2001:db8::/32"}


@attrs.frozen(kw_only=True)
class Plan:
    """How long and how big: the scale every workload runs at.

    Attributes:
        duration: Seconds in each timed window.
        warmup: Seconds of load before each timed window, not counted.
        repeat: Timed windows per server and workload.
        leases: Leases preloaded into each server.
        clients: Connections in flight in the concurrent workloads.
        batch_size: Commands in one batch request.
        big: Leases in the large tables (start-up, scan, compaction).
        mid: Leases in the get-all and wipe table (two subnets, half each).
        page: The ``limit`` of each ``get-page`` of the scan.
    """

    duration: float = 3.0
    warmup: float = 0.5
    repeat: int = 3
    leases: int = 10_000
    clients: int = 32
    batch_size: int = 1000
    big: int = 1_000_000
    mid: int = 200_000
    page: int = 1000

    def table(self, name: str, family: int) -> datafiles.TableFile:
        """The generated lease file a setup names: big, mid or journal.

        The journal holds the big table's leases, each updated twice.
        """
        if name == "big":
            return datafiles.TableFile(family, self.big)
        if name == "mid":
            return datafiles.TableFile(family, self.mid)
        if name == "journal":
            return datafiles.TableFile(family, self.big, updates=2)
        raise ValueError(f"no table {name!r}")


@attrs.frozen
class Target:
    """A bound on the ratio leased/Kea of one metric.

    With ``absolute`` the bound applies to leased's own figure instead (a
    figure that is already a ratio, such as p99 during a compaction over
    idle p99).
    """

    ratio: float
    higher_is_better: bool = True
    absolute: bool = False

    def met(self, ratio: float) -> bool:
        """Return whether ``ratio`` (leased/Kea) reaches the bound."""
        if self.higher_is_better:
            return ratio >= self.ratio
        return ratio <= self.ratio

    def text(self) -> str:
        """Return the bound as printed in the table, e.g. ``>= 1.5x``."""
        bound = f"{'>=' if self.higher_is_better else '<='} {self.ratio:g}"
        return f"{bound} (leased)" if self.absolute else f"{bound}x"


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
        table: A generated lease file both servers load at start (``big``,
            ``mid`` or ``journal``, see :meth:`Plan.table`), or None.
        durable: leased makes every change durable (``Leased/durable-writes``);
            Kea has no such setting.
        own: The actions start their servers themselves (start-up time, a
            fresh table for each repetition); the runner starts none.
    """

    name: str
    family: int = 4
    persist: bool = False
    preload: bool = True
    table: str | None = None
    durable: bool = False
    own: bool = False

    def config(self, lease_file: str | None) -> dict[str, Any]:
        """Return the Kea-shaped configuration, with leases kept in a file.

        Args:
            lease_file: Where the leases persist, or None to keep them in
                memory only (used only when the setup keeps a file).

        Returns:
            A new configuration dictionary.
        """
        database: dict[str, Any] = {"type": "memfile", "persist": False}
        if lease_file is not None and (self.persist or self.table):
            database = {
                "type": "memfile",
                "persist": True,
                "name": lease_file,
                "lfc-interval": 0,
            }
        if self.table:
            subnets = datafiles.subnets(self.family)
        else:
            subnets = [dict(SUBNET4 if self.family == 4 else SUBNET6)]
        section: dict[str, Any] = {
            "valid-lifetime": datafiles.VALID_LIFETIME,
            "lease-database": database,
            f"subnet{self.family}": subnets,
        }
        if self.family == 6:
            section["preferred-lifetime"] = datafiles.PREFERRED_LIFETIME
        config: dict[str, Any] = {f"Dhcp{self.family}": section}
        if self.durable:
            config["Leased"] = {"durable-writes": True}
        return config


@attrs.define(kw_only=True)
class Server:
    """A running server as a workload's action sees it.

    Attributes:
        side: ``"leased"`` or ``"kea"``.
        socket_path: Its control socket (empty for a setup whose actions
            start their own servers).
        pid: Its process, for CPU time (0 when there is none).
        durability: How it keeps leases, in words for the output.
        workdir: Its working directory; an action that starts more servers
            (see :func:`leased.bench.servers.start_server`) uses fresh
            directories beside it.
        cache: Where generated lease files are kept between runs.
        cpus: The cores it is pinned to, or None; more servers started by an
            action should be pinned alike.
        lease_file: Its lease file, when it keeps one.
        next_index: The first lease index not used yet; the preload takes
            ``0 .. leases - 1`` and a workload that adds leases moves it on.
        family: 4 or 6, the family of its setup.
        started_in: Seconds from launching the process until it answered.
    """

    side: str
    socket_path: str
    pid: int
    durability: str
    workdir: Path
    cache: Path = attrs.field(factory=datafiles.default_cache)
    cpus: set[int] | None = None
    lease_file: str | None = None
    next_index: int = 0
    family: int = 4
    started_in: float = 0.0


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
        per_command: Whether the samples count commands, so that CPU time
            per command is worth showing.
        tables: The generated tables the actions load themselves (a setup
            with ``own`` servers), made before anything is timed.
    """

    name: str
    summary: str
    setup: Setup
    actions: Mapping[str, Action]
    metrics: tuple[Metric, ...]
    mutates: bool = False
    notes: Mapping[str, str] = attrs.field(factory=dict)
    per_command: bool = True
    tables: tuple[str, ...] = ()
