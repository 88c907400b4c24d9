"""Expired-lease reclamation and the flushing of reclaimed leases.

Theory of operation
-------------------

A lease whose expiry (cltt + valid lifetime) has passed is still in the
table until it is *reclaimed*, as in Kea: every ``reclaim-timer-wait-time``
seconds (counted from the end of the previous cycle) a cycle takes the
expired leases, oldest expiry first, from the table's expiration index, and
for each one

* asks for the removal of its DNS entries (a NameChangeRequest, when DNS
  updates are on and the lease had entries),
* either keeps it in state expired-reclaimed, with hostname and DNS flags
  cleared and lifetimes unchanged, or removes it: when
  ``flush-reclaimed-timer-wait-time`` is 0 (nothing would ever flush it),
  when the lease was declined (a declined lease identifies no client), or
  when ``leases-reclaim`` asks with ``remove`` true.

A cycle stops after ``max-reclaim-leases`` leases or ``max-reclaim-time``
milliseconds (0 lifts either limit), so that commands keep flowing; what is
left waits for the next cycle, and ``unwarned-reclaim-cycles`` cycles in a
row that leave leases behind are reported with a warning.  Each cycle's
changes go through the engine's one commit path: journaled first, then
applied, then counted by the statistics, with the cause "reclaim".

Every ``flush-reclaimed-timer-wait-time`` seconds, reclaimed leases whose
expiry lies more than ``hold-reclaimed-time`` seconds back are removed (cause
"flush"), in bounded batches with a pause for commands in between.

Finding the work costs O(leases reclaimed) (the expiration index is ordered
by reclaimed flag, then expiry), never O(table).

The settings are read from each family's configuration at every cycle, so
a reload takes effect at the next one.

Logger: ``leased.reclaim``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Final

import attrs
import trio

from leased.config import ExpiredLeases
from leased.engine import CAUSE_FLUSH, CAUSE_RECLAIM, Change, Engine
from leased.errors import StorageError
from leased.model import (
    STATE_DECLINED,
    STATE_EXPIRED_RECLAIMED,
    V4,
    V6,
    Family,
    Lease,
)

LOGGER: Final = logging.getLogger("leased.reclaim")

# Leases removed per flush batch, and the pause between batches.
FLUSH_BATCH: Final = 1000
# How often a family whose reclamation timer is off looks again (a reload
# may turn it on).
IDLE_RECHECK: Final = 1.0


@attrs.define
class Cycle:
    """What one reclamation cycle did."""

    reclaimed: int = 0
    removed: int = 0
    dns_removals: int = 0
    # Expired leases left for the next cycle because a limit was reached.
    left: bool = False


def plan_reclaim(
    family: Family,
    expired: Any,
    *,
    remove: bool,
    max_leases: int,
    deadline: float | None,
    clock: Callable[[], float] = time.monotonic,
) -> tuple[list[Change], bool]:
    """The changes that reclaim expired leases, and whether some are left.

    Args:
        family: The leases' family.
        expired: The expired, unreclaimed leases, oldest expiry first.
        remove: Remove reclaimed leases instead of keeping them.
        max_leases: Most leases to take (0: no limit).
        deadline: ``clock()`` value at which to stop (None: no limit).
        clock: The monotonic clock (tests pass their own).
    """
    changes: list[Change] = []
    for lease in expired:
        if (max_leases and len(changes) >= max_leases) or (
            deadline is not None and clock() >= deadline
        ):
            return changes, True
        if remove or lease.state == STATE_DECLINED:
            changes.append(Change(family, lease, None, CAUSE_RECLAIM))
        else:
            reclaimed = lease.replace(
                state=STATE_EXPIRED_RECLAIMED,
                hostname="",
                fqdn_fwd=False,
                fqdn_rev=False,
            )
            changes.append(Change(family, lease, reclaimed, CAUSE_RECLAIM))
    return changes, False


@attrs.define
class Reclaimer:
    """Runs reclamation and flushing on their timers, and on command."""

    engine: Engine
    _unfinished: dict[int, int] = attrs.field(factory=dict)

    def settings(self, family: Family) -> ExpiredLeases | None:
        """The family's settings, or None when the family is not configured."""
        config = self.engine.state.config.family(family.version)
        return config.expired_leases if config is not None else None

    def reclaim(
        self,
        family: Family,
        *,
        remove: bool | None = None,
        limited: bool = True,
    ) -> Cycle:
        """Run one cycle now.

        Args:
            family: Which table.
            remove: Remove instead of keeping reclaimed leases; by default,
                when the flush timer is off.
            limited: Apply ``max-reclaim-leases`` and ``max-reclaim-time``
                (``leases-reclaim`` lifts them, as Kea's does).

        Raises:
            StorageError: The lease file refused the changes; none was made.
        """
        settings = self.settings(family) or ExpiredLeases()
        state = self.engine.state
        if remove is None:
            remove = settings.flush_reclaimed_timer_wait_time == 0
        deadline = None
        max_leases = 0
        if limited:
            max_leases = settings.max_reclaim_leases
            if settings.max_reclaim_time:
                deadline = time.monotonic() + settings.max_reclaim_time / 1000
        table = state.table(family)
        changes, left = plan_reclaim(
            family,
            table.expired(state.now()),
            remove=remove,
            max_leases=max_leases,
            deadline=deadline,
        )
        cycle = Cycle(left=left)
        if not changes:
            return cycle
        self.engine.commit(changes)
        ddns = state.ddns
        for change in changes:
            if change.new is None:
                cycle.removed += 1
            else:
                cycle.reclaimed += 1
            if ddns is not None and _had_dns(change.old):
                cycle.dns_removals += bool(ddns.queue_remove(family, change.old))
        LOGGER.info(
            "expired leases reclaimed family=%s reclaimed=%d removed=%d dns_removals=%d",
            family.word,
            cycle.reclaimed,
            cycle.removed,
            cycle.dns_removals,
        )
        return cycle

    def flush(self, family: Family, *, limit: int = FLUSH_BATCH) -> int:
        """Remove up to ``limit`` reclaimed leases past their hold time.

        Raises:
            StorageError: The lease file refused the changes; none was made.
        """
        settings = self.settings(family) or ExpiredLeases()
        state = self.engine.state
        cutoff = state.now() - settings.hold_reclaimed_time
        changes: list[Change] = []
        for lease in state.table(family).expired(cutoff, reclaimed=True):
            changes.append(Change(family, lease, None, CAUSE_FLUSH))
            if len(changes) >= limit:
                break
        if changes:
            self.engine.commit(changes)
            LOGGER.info(
                "reclaimed leases flushed family=%s leases=%d",
                family.word,
                len(changes),
            )
        return len(changes)

    async def run(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Keep both timers of both families until cancelled."""
        async with trio.open_nursery() as nursery:
            for family in (V4, V6):
                nursery.start_soon(self._reclaim_loop, family)
                nursery.start_soon(self._flush_loop, family)
            task_status.started()

    async def _reclaim_loop(self, family: Family) -> None:
        while True:
            settings = self.settings(family)
            if settings is None or settings.reclaim_timer_wait_time == 0:
                await trio.sleep(IDLE_RECHECK)
                continue
            await trio.sleep(settings.reclaim_timer_wait_time)
            try:
                cycle = self.reclaim(family)
            except StorageError as error:
                LOGGER.error(
                    "reclamation postponed family=%s reason=%s", family.word, error
                )
                continue
            self._count_unfinished(family, cycle, settings)

    def _count_unfinished(
        self, family: Family, cycle: Cycle, settings: ExpiredLeases
    ) -> None:
        if not cycle.left:
            self._unfinished[family.version] = 0
            return
        count = self._unfinished.get(family.version, 0) + 1
        if (
            settings.unwarned_reclaim_cycles
            and count >= settings.unwarned_reclaim_cycles
        ):
            LOGGER.warning(
                "expired leases pile up, reclamation cannot keep pace family=%s "
                "cycles=%d max_reclaim_leases=%d max_reclaim_time=%d",
                family.word,
                count,
                settings.max_reclaim_leases,
                settings.max_reclaim_time,
            )
            count = 0
        self._unfinished[family.version] = count

    async def _flush_loop(self, family: Family) -> None:
        while True:
            settings = self.settings(family)
            if settings is None or settings.flush_reclaimed_timer_wait_time == 0:
                await trio.sleep(IDLE_RECHECK)
                continue
            await trio.sleep(settings.flush_reclaimed_timer_wait_time)
            try:
                while self.flush(family) == FLUSH_BATCH:
                    await trio.sleep(0)  # let commands in between batches
            except StorageError as error:
                LOGGER.error("flush postponed family=%s reason=%s", family.word, error)


def _had_dns(lease: Lease | None) -> bool:
    """Whether a lease may have DNS entries to remove."""
    return bool(lease and lease.hostname and (lease.fqdn_fwd or lease.fqdn_rev))
