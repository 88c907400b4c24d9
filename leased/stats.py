"""Kea's lease statistics, kept by watching committed changes.

Theory of operation
-------------------

Each address family has its own statistics, as each of Kea's two servers
has: the same names mean different things for IPv4 and IPv6
(``declined-addresses``, ``subnet[1].reclaimed-leases``), so they are never
mixed.  For each family a :class:`FamilyStatistics` keeps a
:class:`~leased.observations.StatisticStore` true to the lease table:

* :meth:`FamilyStatistics.configure` runs at start-up, once the lease files
  are loaded, and at every configuration reload.  Like Kea it forgets the
  per-subnet statistics of the subnets configured before (ids may change),
  sets ``total-*`` from the configured pools, creates the cumulative
  statistics that do not exist yet (as 0), and recounts the assigned and
  declined ones from the table.  That costs one pass over the table.

* :meth:`Statistics.observe` is an observer of the engine's commit path:
  every committed batch of changes (lease commands, wipe, bulk-apply,
  reclamation, flush) comes through it after the table applied it.  A
  lease's *contribution* is the set of statistics it counts in (an assigned
  IPv4 lease counts in ``assigned-addresses`` globally, in its subnet and in
  its pool; a declined one in the ``declined-addresses`` ones too); a change
  takes the old lease's contribution away and adds the new one's, so every
  transition of state, subnet or pool is right by construction.  The net
  amounts of a batch are recorded once per statistic, as the value after
  the batch: one sample per command, however many leases it changed.
  Reclamation (cause ``reclaim``) also counts ``reclaimed-leases`` and, for
  a declined lease, ``reclaimed-declined-addresses``.  The work is O(1) per
  change.

What counts where (Kea's newest rules, which 2.2 follows except where its
bookkeeping drifts):

=========================  ===========================================
lease                      counted in
=========================  ===========================================
IPv4, state 0 (default)    ``assigned-addresses``
IPv4, state 1 (declined)   ``assigned-addresses``, ``declined-addresses``
IPv6 IA_NA, state 0        ``assigned-nas``
IPv6 IA_NA, state 1        ``assigned-nas``, ``declined-addresses``
IPv6 IA_NA, state 4        ``registered-nas`` (subnet level only)
IPv6 IA_PD, state 0        ``assigned-pds``
anything else              nothing (expired-reclaimed, released; IA_TA
                           and declined prefixes, which Kea's recount
                           leaves out too)
=========================  ===========================================

Each count is kept globally, per subnet (``subnet[ID].``) and per pool
(``subnet[ID].pool[PID].``, for prefixes ``subnet[ID].pd-pool[PID].``)
when the lease's address lies in a pool of its subnet.  ``PID`` is the
pool's ``pool-id``, 0 unless configured, so pools without one share
``pool[0]``, as in Kea.

The cumulative statistics (``cumulative-assigned-*``) count what Kea's
allocation engine hands out to DHCP clients.  leased hands out nothing and,
like Kea's lease commands, does not count leases added by command, so they
stay at 0; they exist because monitoring tools expect them.

This module does no I/O.  Logger: ``leased.stats``.
"""

from __future__ import annotations

import logging
import time
from bisect import bisect_right
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from itertools import groupby, repeat
from operator import add, attrgetter, le, mul
from typing import Final, TypeVar

import attrs

from leased.config import Config, FamilyConfig, Subnet, pd_pool_range
from leased.engine import CAUSE_RECLAIM, Change, Engine, Removals
from leased.model import (
    STATE_DECLINED,
    STATE_DEFAULT,
    STATE_REGISTERED,
    TYPE_NA,
    TYPE_PD,
    V4,
    V6,
    Family,
    Lease,
    Lease4,
    Lease6,
)
from leased.observations import StatisticStore
from leased.table import LeaseTable, grouped

LOGGER: Final = logging.getLogger("leased.stats")

# Statistics that are counted (from the table, then from each change), by
# level: global, per subnet, per pool, per prefix pool.
COUNTED4: Final = ("assigned-addresses", "declined-addresses")
COUNTED6: Final = ("assigned-nas", "assigned-pds", "declined-addresses")
SUBNET_COUNTED6: Final = (*COUNTED6, "registered-nas")
POOL_COUNTED6: Final = ("assigned-nas", "declined-addresses")
PD_POOL_COUNTED6: Final = ("assigned-pds",)

# Statistics that only ever grow (or stay 0), at every level; created as 0
# when missing, never recounted.
CUMULATIVE4: Final = (
    "cumulative-assigned-addresses",
    "reclaimed-declined-addresses",
    "reclaimed-leases",
)
CUMULATIVE6: Final = (
    "cumulative-assigned-nas",
    "cumulative-assigned-pds",
    "reclaimed-declined-addresses",
    "reclaimed-leases",
)
POOL_CUMULATIVE6: Final = (
    "cumulative-assigned-nas",
    "reclaimed-declined-addresses",
    "reclaimed-leases",
)
PD_POOL_CUMULATIVE6: Final = ("cumulative-assigned-pds", "reclaimed-leases")


def pool_capacity(first: int, last: int) -> int:
    """Addresses in a pool, first and last included."""
    return last - first + 1


def pd_pool_capacity(length: int, delegated: int) -> int:
    """Prefixes of ``delegated`` bits in a pool of ``length`` bits."""
    return 1 << (delegated - length)


_K = TypeVar("_K", bound=Hashable)
_TERMS: Final = attrgetter("terms")
_SUBNET: Final = attrgetter("terms.subnet_id")
_ADDRESS: Final = attrgetter("address")
_OLD: Final = attrgetter("old")
_NEW: Final = attrgetter("new")
_CAUSE: Final = attrgetter("cause")
_VERSION: Final = attrgetter("family.version")
# Groups a lease of each is found for by a scan of its own.
_FEW_GROUPS: Final = 16
# Changes from which a batch is counted in groups.
_BATCH: Final = 64


def _pool_keys(
    pools: tuple[_Pools, _Pools] | None, addresses: list[int]
) -> list[int] | None:
    """For each address, which pools hold it (as one number), or None.

    Computed in C; the number is the position of the address pool
    (:meth:`_Pools.find`, 0 for none) and of the prefix pool.  None when the
    subnet has no pools at all.
    """
    if pools is None or not (pools[0].firsts or pools[1].firsts):
        return None
    address_pools, prefix_pools = pools
    return list(
        map(
            add,
            map(
                mul,
                _positions(address_pools, addresses),
                repeat(len(prefix_pools.firsts) + 1),
            ),
            _positions(prefix_pools, addresses),
        )
    )


def _positions(pools: _Pools, addresses: list[int]) -> Iterable[int]:
    """1 + the index of the pool holding each address, 0 for none."""
    if not pools.firsts:
        return repeat(0, len(addresses))
    lasts = (-1, *pools.lasts)
    positions = list(map(bisect_right, repeat(pools.firsts), addresses))
    # Past the end of the pool found (or before the first): position 0.
    return map(mul, positions, map(le, addresses, map(lasts.__getitem__, positions)))


@attrs.frozen
class _Pools:
    """The pools of one kind in one subnet, ordered for lookup by address."""

    firsts: tuple[int, ...]
    lasts: tuple[int, ...]
    ids: tuple[int, ...]

    @classmethod
    def of(cls, ranges: Sequence[tuple[int, int]], ids: Sequence[int]) -> _Pools:
        ordered = sorted(zip(ranges, ids, strict=True))
        return cls(
            tuple(first for (first, _), _ in ordered),
            tuple(last for (_, last), _ in ordered),
            tuple(pool_id for _, pool_id in ordered),
        )

    def find(self, address: int) -> int | None:
        """The id of the pool holding ``address``, if one does."""
        index = bisect_right(self.firsts, address) - 1
        if index >= 0 and address <= self.lasts[index]:
            return self.ids[index]
        return None


class FamilyStatistics:
    """The lease statistics of one address family.

    Args:
        family: Which family.
        store: Where the statistics live (a fresh one by default).
    """

    def __init__(self, family: Family, store: StatisticStore | None = None) -> None:
        self.family = family
        self.store = store if store is not None else StatisticStore()
        self._v4 = family.version == 4
        # Configured subnets: their pools (addresses, prefixes) for lookup.
        self._pools: dict[int, tuple[_Pools, _Pools]] = {}
        # Memoised contributions: (subnet, kind, pool) to statistic names.
        self._names: dict[tuple[int, int, int | None], tuple[str, ...]] = {}

    # Configuration and recount.

    def configure(self, config: FamilyConfig | None, table: LeaseTable) -> None:
        """Take a configuration on and recount from ``table``.

        Called at start-up after the lease files are loaded, and at every
        reload (subnets, pools and sample limits may have changed).
        """
        store = self.store
        started = time.monotonic()
        now = store.clock()

        # Kea forgets the statistics of the subnets configured so far: ids
        # may have moved, pools changed.  Subnets without configuration keep
        # theirs (their leases are recounted below).
        old = {f"subnet[{subnet_id}]." for subnet_id in self._pools}
        store.remove_many(
            [
                name
                for name in store.names()
                if name.startswith("subnet[") and name[: name.find("]") + 2] in old
            ]
        )
        self._pools = {}
        self._names = {}
        subnets: tuple[Subnet, ...] = config.subnets if config is not None else ()
        if config is not None:
            self._apply_sample_limits(config)

        # Totals and the statistics every configured subnet and pool has.
        for subnet in subnets:
            self._pools[subnet.id] = (
                _Pools.of(subnet.pools, subnet.pool_ids),
                _Pools.of(
                    [
                        pd_pool_range(prefix, length)
                        for prefix, length, _ in subnet.pd_pools
                    ],
                    subnet.pd_pool_ids,
                ),
            )
            self._create_subnet(subnet, now)

        # The counted statistics, from the table, then the cumulative global
        # ones (which a reload keeps).
        counts = self._count(table)
        for name in self._counted_names(subnets, table, counts):
            store.set(name, counts.get(name, 0), now)
        for name in CUMULATIVE4 if self._v4 else CUMULATIVE6:
            store.create(name, now)
        if config is not None:
            LOGGER.info(
                "statistics recounted family=%s subnets=%d leases=%d seconds=%.2f",
                self.family.word,
                len(subnets),
                len(table),
                time.monotonic() - started,
            )

    def _apply_sample_limits(self, config: FamilyConfig) -> None:
        """Kea's ``statistic-default-sample-count`` and ``-age``.

        A count other than 0 limits every statistic to that many samples; a
        count of 0 switches to the age limit (0 seconds unless set); with no
        count set, the age is not used and the limit stays as it is.
        """
        if config.sample_count:
            self.store.limit_count_all(config.sample_count)
        elif config.sample_count == 0:
            self.store.limit_age_all(config.sample_age or 0)

    def _create_subnet(self, subnet: Subnet, now: int) -> None:
        store = self.store
        prefix = f"subnet[{subnet.id}]."
        if self._v4:
            store.set(
                prefix + "total-addresses",
                sum(pool_capacity(first, last) for first, last in subnet.pools),
                now,
            )
            for name in CUMULATIVE4:
                store.create(prefix + name, now)
            pool_totals = _sum_by_id(
                subnet.pool_ids,
                (pool_capacity(first, last) for first, last in subnet.pools),
            )
            for pool_id, total in pool_totals.items():
                pool_prefix = f"{prefix}pool[{pool_id}]."
                store.set(pool_prefix + "total-addresses", total, now)
                for name in CUMULATIVE4:
                    store.create(pool_prefix + name, now)
            return

        store.set(
            prefix + "total-nas",
            sum(pool_capacity(first, last) for first, last in subnet.pools),
            now,
        )
        store.set(
            prefix + "total-pds",
            sum(
                pd_pool_capacity(length, delegated)
                for _, length, delegated in subnet.pd_pools
            ),
            now,
        )
        for name in CUMULATIVE6:
            store.create(prefix + name, now)
        na_totals = _sum_by_id(
            subnet.pool_ids,
            (pool_capacity(first, last) for first, last in subnet.pools),
        )
        for pool_id, total in na_totals.items():
            pool_prefix = f"{prefix}pool[{pool_id}]."
            store.set(pool_prefix + "total-nas", total, now)
            for name in POOL_CUMULATIVE6:
                store.create(pool_prefix + name, now)
        pd_totals = _sum_by_id(
            subnet.pd_pool_ids,
            (
                pd_pool_capacity(length, delegated)
                for _, length, delegated in subnet.pd_pools
            ),
        )
        for pool_id, total in pd_totals.items():
            pool_prefix = f"{prefix}pd-pool[{pool_id}]."
            store.set(pool_prefix + "total-pds", total, now)
            for name in PD_POOL_CUMULATIVE6:
                store.create(pool_prefix + name, now)

    def _count(self, table: LeaseTable) -> dict[str, int]:
        """Every counted statistic's value, from one pass over the table.

        Leases of a subnet that share their terms record (state, type and
        the rest: see :class:`leased.model.Terms4`) and lie in the same pools
        count in the same statistics.  So each subnet's leases are grouped by
        those in C (``map``, ``zip``, ``Counter``; a million leases in a
        fraction of a second) and :meth:`contribution` is asked once a group.
        """
        counts: dict[str, int] = {}
        for subnet_id, held in table.by_subnet.items():
            self._tally(subnet_id, list(held.values()), list(held), counts)
        return counts

    def _tally(
        self,
        subnet_id: int,
        leases: list[Lease],
        addresses: list[int],
        counts: dict[str, int],
        amount: int = 1,
    ) -> None:
        """Add ``amount`` for each of a subnet's leases to what it counts in.

        See :meth:`_count` for the grouping.
        """
        in_pools = _pool_keys(self._pools.get(subnet_id), addresses)
        # A terms record is shared by identity; one with a user context is a
        # group of its own.
        terms = list(map(id, map(_TERMS, leases)))
        if in_pools is None:
            by_terms = Counter(terms)
            if len(by_terms) <= _FEW_GROUPS:
                # A lease of each group, found by a scan in C per group.
                samples = {key: leases[terms.index(key)] for key in by_terms}
            else:
                samples = dict(zip(terms, leases, strict=True))
            self._add(counts, by_terms.items(), samples, amount)
            return
        # Pool keys are paired with the terms as they are used, not kept: a
        # million tuples would stay behind as fragments.
        by_pool = Counter(zip(terms, in_pools, strict=True))
        pooled = dict(zip(zip(terms, in_pools, strict=True), leases, strict=True))
        self._add(counts, by_pool.items(), pooled, amount)

    def _add(
        self,
        counts: dict[str, int],
        groups: Iterable[tuple[_K, int]],
        samples: dict[_K, Lease],
        amount: int,
    ) -> None:
        """Count each group's size in what a lease of it counts in."""
        for key, number in groups:
            for name in self.contribution(samples[key]):
                counts[name] = counts.get(name, 0) + number * amount

    def _tally_many(
        self, leases: list[Lease], counts: dict[str, int], amount: int
    ) -> None:
        """:meth:`_tally` of leases of any subnets."""
        subnets = list(map(_SUBNET, leases))
        for subnet_id, group in grouped(subnets, leases).items():
            addresses = list(map(_ADDRESS, group))
            self._tally(subnet_id, group, addresses, counts, amount)

    def _counted_names(
        self, subnets: Iterable[Subnet], table: LeaseTable, counts: dict[str, int]
    ) -> list[str]:
        """The counted statistics a recount sets.

        The global ones; those of every configured subnet and pool; and for
        subnets that hold leases without being configured, those that exist
        already or that the leases count in.
        """
        store = self.store
        names: list[str] = list(COUNTED4 if self._v4 else COUNTED6)
        subnet_names = COUNTED4 if self._v4 else SUBNET_COUNTED6
        configured = set()
        for subnet in subnets:
            configured.add(subnet.id)
            prefix = f"subnet[{subnet.id}]."
            names.extend(prefix + name for name in subnet_names)
            pools: list[tuple[str, tuple[str, ...]]] = [
                (f"{prefix}pool[{pool_id}].", COUNTED4 if self._v4 else POOL_COUNTED6)
                for pool_id in dict.fromkeys(subnet.pool_ids)
            ]
            if not self._v4:
                pools.extend(
                    (f"{prefix}pd-pool[{pool_id}].", PD_POOL_COUNTED6)
                    for pool_id in dict.fromkeys(subnet.pd_pool_ids)
                )
            for pool_prefix, pool_names in pools:
                names.extend(pool_prefix + name for name in pool_names)
        for subnet_id in table.by_subnet:
            if subnet_id in configured:
                continue
            prefix = f"subnet[{subnet_id}]."
            names.extend(
                prefix + name
                for name in subnet_names
                if prefix + name in store or prefix + name in counts
            )
        return names

    # Bookkeeping of changes.

    def contribution(self, lease: Lease) -> tuple[str, ...]:
        """The statistics ``lease`` counts in, each once."""
        state = lease.state
        if self._v4:
            if state > STATE_DECLINED:
                return ()
            kind = state
        else:
            assert isinstance(lease, Lease6)
            if lease.type == TYPE_NA:
                if state > STATE_DECLINED and state != STATE_REGISTERED:
                    return ()
                kind = state
            elif lease.type == TYPE_PD and state == STATE_DEFAULT:
                kind = _KIND_PD
            else:
                return ()
        subnet_id = lease.subnet_id
        pool_id = self._pool_of(lease, kind == _KIND_PD)
        key = (subnet_id, kind, pool_id)
        names = self._names.get(key)
        if names is None:
            names = self._names[key] = self._contribution_names(*key)
        return names

    def reclaimed(self, lease: Lease) -> tuple[str, ...]:
        """The cumulative statistics reclaiming ``lease`` counts in."""
        subnet = f"subnet[{lease.subnet_id}]."
        names = ["reclaimed-leases", subnet + "reclaimed-leases"]
        pool_id = None
        if isinstance(lease, Lease4) or lease.type in (TYPE_NA, TYPE_PD):
            is_pd = isinstance(lease, Lease6) and lease.type == TYPE_PD
            pool_id = self._pool_of(lease, is_pd)
            if pool_id is not None:
                kind = "pd-pool" if is_pd else "pool"
                names.append(f"{subnet}{kind}[{pool_id}].reclaimed-leases")
        if lease.state == STATE_DECLINED:
            names.append("reclaimed-declined-addresses")
            names.append(subnet + "reclaimed-declined-addresses")
            if pool_id is not None:
                names.append(f"{subnet}pool[{pool_id}].reclaimed-declined-addresses")
        return tuple(names)

    def _pool_of(self, lease: Lease, prefix: bool) -> int | None:
        pools = self._pools.get(lease.subnet_id)
        if pools is None:
            return None
        return pools[1 if prefix else 0].find(lease.address)

    def _contribution_names(
        self, subnet_id: int, kind: int, pool_id: int | None
    ) -> tuple[str, ...]:
        subnet = f"subnet[{subnet_id}]."
        pool = None
        if pool_id is not None:
            pool = f"{subnet}{'pd-pool' if kind == _KIND_PD else 'pool'}[{pool_id}]."
        if kind == STATE_REGISTERED:
            return (subnet + "registered-nas",)
        if kind == _KIND_PD:
            counted = ["assigned-pds"]
        else:
            counted = ["assigned-addresses" if self._v4 else "assigned-nas"]
            if kind == STATE_DECLINED:
                counted.append("declined-addresses")
        names = []
        for name in counted:
            names.append(name)
            names.append(subnet + name)
            if pool is not None:
                names.append(pool + name)
        return tuple(names)

    def observe(self, changes: Sequence[Change]) -> None:
        """Count a committed batch of this family's changes."""
        if len(changes) == 1:
            # The common case, a lease added or deleted by a command: its
            # contribution is the change, with no sums to gather.
            change = changes[0]
            lease, amount = change.new, 1
            if lease is None:
                lease, amount = change.old, -1
            if (change.old is None or change.new is None) and (
                change.cause != CAUSE_RECLAIM
            ):
                assert lease is not None
                names = self.contribution(lease)
                if names:
                    store = self.store
                    now = store.clock()
                    for name in names:
                        store.add(name, amount, now)
                return
        deltas: dict[str, int] = {}
        if len(changes) >= _BATCH:
            # Many changes (a wipe, reclamation of many leases): the leases
            # removed and added are counted in groups, as in a recount.
            if isinstance(changes, Removals):
                removed, added = changes.leases, []
            else:
                # (Leases are never false: filter(None, ...) drops the Nones
                # in C.)
                removed = list(filter(None, map(_OLD, changes)))
                added = list(filter(None, map(_NEW, changes)))
            self._tally_many(removed, deltas, -1)
            self._tally_many(added, deltas, 1)
            reclaiming = (
                changes.cause == CAUSE_RECLAIM
                if isinstance(changes, Removals)
                else CAUSE_RECLAIM in map(_CAUSE, changes)
            )
            if reclaiming:
                for change in changes:
                    if change.cause == CAUSE_RECLAIM and change.old is not None:
                        for name in self.reclaimed(change.old):
                            deltas[name] = deltas.get(name, 0) + 1
            changes = ()
        contribution = self.contribution
        for change in changes:
            old, new = change.old, change.new
            if old is not None:
                for name in contribution(old):
                    deltas[name] = deltas.get(name, 0) - 1
                if change.cause == CAUSE_RECLAIM:
                    for name in self.reclaimed(old):
                        deltas[name] = deltas.get(name, 0) + 1
            if new is not None:
                for name in contribution(new):
                    deltas[name] = deltas.get(name, 0) + 1
        if not deltas:
            return
        store = self.store
        now = store.clock()
        for name, amount in deltas.items():
            if amount:
                store.add(name, amount, now)


# A contribution kind beside the lease states: an assigned prefix.
_KIND_PD: Final = -1


def _sum_by_id(ids: Sequence[int], sizes: Iterable[int]) -> dict[int, int]:
    """Pool sizes summed by pool id (pools sharing an id share statistics)."""
    totals: dict[int, int] = {}
    for pool_id, size in zip(ids, sizes, strict=True):
        totals[pool_id] = totals.get(pool_id, 0) + size
    return totals


@attrs.define
class Statistics:
    """Both families' statistics, and the engine observer that feeds them."""

    v4: FamilyStatistics = attrs.field(factory=lambda: FamilyStatistics(V4))
    v6: FamilyStatistics = attrs.field(factory=lambda: FamilyStatistics(V6))

    @classmethod
    def attach(cls, engine: Engine) -> Statistics:
        """Count the engine's tables now and its committed changes from now on.

        The statistics become ``engine.state.statistics``, where the
        statistic commands and the configuration reload find them.
        """
        statistics = cls()
        state = engine.state
        statistics.configure(state.config, state.tables)
        engine.observers.append(statistics.observe)
        state.statistics = statistics
        return statistics

    def family(self, version: int) -> FamilyStatistics:
        """The statistics of one family."""
        return self.v4 if version == 4 else self.v6

    def configure(self, config: Config, tables: dict[int, LeaseTable]) -> None:
        """Take a (re)loaded configuration on; recount both families."""
        for version in (4, 6):
            self.family(version).configure(config.family(version), tables[version])

    def observe(self, changes: Sequence[Change]) -> None:
        """The engine observer: count each committed batch."""
        if len(changes) == 1:
            # The common case, one lease changed by one command.
            self.family(changes[0].family.version).observe(changes)
            return
        if isinstance(changes, Removals):
            self.family(changes.family.version).observe(changes)
            return
        for version, run in groupby(changes, key=_VERSION):
            self.family(version).observe(list(run))
