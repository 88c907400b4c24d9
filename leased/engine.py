"""The one way through: a decoded request in, an answer out.

Theory of operation
-------------------

:meth:`Engine.execute` takes a decoded request and

1. checks its top level as Kea does (a map, a string ``command``, no keys
   but ``command``, ``arguments``, ``service`` and ``remote-address``);
2. finds the handler in the registry (:mod:`leased.commands`);
3. calls it.  A handler is a plain function: it reads the tables through a
   :class:`State` and returns an :class:`Outcome`, the answer plus the lease
   changes it implies; it never changes a table itself;
4. commits the changes: each goes to the journal first (persist), then to
   the table and its indexes (apply), then to the observers (statistics,
   DNS updates); only then does the answer leave (answer).  That is Kea's
   disk-first order.  If the journal refuses a change, nothing is applied
   and the answer is an error: memory and disk never disagree.

A handler that finds bad arguments raises :class:`~leased.errors.LeasedError`;
the engine turns it into an answer here, in one place.  Anything else a
handler raises is a bug: it is logged with its traceback and answered with
result 1, and the daemon goes on.

Everything here is synchronous: one command runs to completion before the
next starts, so the tables need no locks.

Logger: ``leased.commands``.
"""

from __future__ import annotations

import itertools
import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from itertools import repeat
from operator import attrgetter, is_, itemgetter
from typing import Any, Final, NamedTuple, Protocol, overload

import attrs

from leased.config import Config
from leased.errors import (
    RESULT_ERROR,
    RESULT_UNSUPPORTED,
    LeasedError,
    StorageError,
)
from leased.model import V4, V6, Family, Lease
from leased.ncr import NameChangeRequest
from leased.table import LeaseTable

LOGGER: Final = logging.getLogger("leased.commands")

ALLOWED_KEYS: Final = frozenset({"command", "arguments", "service", "remote-address"})
# Stands for a key the request does not have (``null`` is a value).
ABSENT: Final[Any] = object()


# Why a change is made, for observers that count by cause (statistics).
CAUSE_COMMAND: Final = "command"
CAUSE_RECLAIM: Final = "reclaim"  # expired-lease reclamation
CAUSE_FLUSH: Final = "flush"  # removal of a reclaimed lease after its hold time


class Change(NamedTuple):
    """One lease change: insert (no ``old``), replace, remove (no ``new``)."""

    family: Family
    old: Lease | None
    new: Lease | None
    cause: str = CAUSE_COMMAND


class Removals(Sequence[Change]):
    """Many leases of one family removed for one cause: a wipe's changes.

    A sequence of :class:`Change` like any other batch, for any code that
    reads it so, but held as the list of leases: a wipe removes leases by
    the hundred thousand, and the commit path (journal, table, statistics)
    takes that list whole rather than a tuple per lease made and taken
    apart at each step (a fifth of a wipe's time).
    """

    __slots__ = ("cause", "family", "leases")

    def __init__(
        self, family: Family, leases: list[Lease], cause: str = CAUSE_COMMAND
    ) -> None:
        self.family = family
        self.leases = leases
        self.cause = cause

    def __len__(self) -> int:
        return len(self.leases)

    @overload
    def __getitem__(self, index: int) -> Change: ...

    @overload
    def __getitem__(self, index: slice) -> list[Change]: ...

    def __getitem__(self, index: int | slice) -> Change | list[Change]:
        if isinstance(index, slice):
            return list(Removals(self.family, self.leases[index], self.cause))
        return Change(self.family, self.leases[index], None, self.cause)

    def __iter__(self) -> Iterator[Change]:
        family, cause = self.family, self.cause
        return (Change(family, lease, None, cause) for lease in self.leases)


@attrs.frozen
class DnsRequest:
    """A NameChangeRequest a command asks for, queued once it has committed."""

    family: Family
    request: NameChangeRequest


@attrs.frozen
class Outcome:
    """What a handler decided: the answer, the changes, the DNS requests."""

    answer: dict[str, Any]
    changes: Sequence[Change] = ()
    dns: Sequence[DnsRequest] = ()


class Journal(Protocol):
    """Where changes are made durable before they are applied."""

    def append(self, changes: Sequence[Change]) -> None:
        """Persist ``changes`` or raise ``StorageError``."""


Observer = Callable[[Sequence[Change]], None]


@attrs.define
class State:
    """What handlers read: configuration, tables, clock and server facts."""

    config: Config
    tables: dict[int, LeaseTable] = attrs.field(
        factory=lambda: {4: LeaseTable(V4), 6: LeaseTable(V6)}
    )
    clock: Callable[[], float] = time.time
    started: float = attrs.field(factory=time.monotonic)
    reloaded: float = attrs.field(factory=time.monotonic)
    shutdown_requested: int | None = None
    # The lease files (``leased.storage.Storage``), for the few handlers
    # that act on them; ``None`` in core tests without files.
    storage: Any = None
    # Re-reads the configuration file (``leased.reload.Reloader``): returns
    # the result and text of config-reload; ``None`` where there is no file.
    reload: Callable[[], tuple[int, str]] | None = None
    # Reclaims expired leases (``leased.reclaim.Reclaimer``), for
    # leases-reclaim; ``None`` in core tests.
    reclaimer: Any = None
    # The DNS update queues (``leased.ddns.DnsUpdates``: ``enabled``,
    # ``has_room``, ``submit``, ``queue_remove(family, lease)``); ``None``
    # in core tests without them.
    ddns: Any = None
    # The lease statistics (``leased.stats.Statistics``), fed by an engine
    # observer; ``None`` in core tests that do not attach them.
    statistics: Any = None
    # Where the command being handled came from: the control socket's path
    # (``None`` when not through a socket) and the request's ``service``
    # key, if any.  Statistics and config-get answer for the family they
    # address, as each of Kea's two servers answers for its own.
    socket: str | None = None
    service: Any = None
    pid: int = attrs.field(factory=os.getpid)

    def table(self, family: Family) -> LeaseTable:
        """The table of one family."""
        return self.tables[family.version]

    def now(self) -> int:
        """The current time in whole seconds."""
        return int(self.clock())


Handler = Callable[[State, Any], Outcome]


def answer(
    result: int, text: str | None = None, arguments: Any = None
) -> dict[str, Any]:
    """Build an answer with Kea's keys (sorted), leaving out empty parts."""
    out: dict[str, Any] = {}
    if arguments is not None:
        out["arguments"] = arguments
    out["result"] = result
    if text:
        out["text"] = text
    return out


_VERSION: Final = attrgetter("family.version")
_OLD: Final = attrgetter("old")
_NEW: Final = attrgetter("new")
_KEY: Final = itemgetter(0)
_VALUE: Final = itemgetter(1)


def runs(changes: Sequence[Change]) -> Iterator[tuple[int, bool, list[Lease]]]:
    """Split ``changes`` into runs of one family and one kind, in order.

    Yields the family's version, whether the run removes leases, and the
    leases of the run: the removed ones (``old``) for a removal, the new
    versions otherwise.  A wipe makes a hundred thousand changes, so the
    run keys are computed with ``map`` of C functions and cut apart by
    ``groupby`` on them, with no Python step per change (a tenth of a
    wipe's time when each place split the changes itself).
    """
    if isinstance(changes, Removals):
        yield changes.family.version, True, changes.leases
        return
    keys = zip(
        map(_VERSION, changes), map(is_, map(_NEW, changes), repeat(None)), strict=True
    )
    for (version, removed), run in itertools.groupby(
        zip(keys, changes, strict=True), key=_KEY
    ):
        leases = map(_OLD if removed else _NEW, map(_VALUE, run))
        yield version, removed, list(leases)


@attrs.define
class Engine:
    """Dispatches requests to handlers and commits what they decide.

    Args:
        state: The shared state handlers read.
        registry: Command name to handler.
        journal: Where changes are persisted first; ``None`` keeps them in
            memory only (``persist`` false).
        observers: Called with each committed batch of changes.
    """

    state: State
    registry: dict[str, Handler]
    journal: Journal | None = None
    observers: list[Observer] = attrs.field(factory=list)

    def execute(self, request: Any, *, socket: str | None = None) -> dict[str, Any]:
        """Run one decoded request and return its answer.

        Args:
            request: The decoded request.
            socket: The path of the control socket it came through.
        """
        try:
            name, arguments = self._parse(request)
        except LeasedError as error:
            return answer(error.result, str(error))
        self.state.socket = socket
        self.state.service = request.get("service")
        handler = self.registry.get(name)
        if handler is None:
            LOGGER.debug("command not supported command=%s", name)
            return answer(RESULT_UNSUPPORTED, f"'{name}' command not supported.")
        try:
            outcome = handler(self.state, arguments)
            if outcome.changes:
                self.commit(outcome.changes)
            # DNS requests leave only for changes that were made.
            if outcome.dns and self.state.ddns is not None:
                for dns in outcome.dns:
                    self.state.ddns.submit(dns.family, dns.request)
        except LeasedError as error:
            LOGGER.debug("command failed command=%s reason=%s", name, error)
            return answer(error.result, str(error))
        except Exception as error:  # a bug: keep serving, but say so loudly
            LOGGER.exception("command raised an unexpected error command=%s", name)
            return answer(RESULT_ERROR, f"internal error: {error}")
        LOGGER.debug(
            "command handled command=%s result=%s", name, outcome.answer.get("result")
        )
        return outcome.answer

    def commit(self, changes: Sequence[Change]) -> None:
        """Persist, then apply, then tell the observers.

        This is the only place the tables change.  The order is Kea's: the
        journal first, so that a change the client hears about is on its way
        to disk, and nothing is applied if the journal refuses.

        Raises:
            StorageError: The journal refused; nothing was applied.
        """
        if self.journal is not None:
            try:
                self.journal.append(changes)
            except OSError as error:
                raise StorageError(
                    "the lease change was not made: the lease file could not be "
                    f"written ({error.strerror or error})"
                ) from error
        tables = self.state.tables
        if isinstance(changes, Removals):
            removed = changes.leases
            tables[changes.family.version].apply_all(removed, [None] * len(removed))
        elif len(changes) == 1:
            change = changes[0]
            tables[change.family.version].apply(change.old, change.new)
        else:
            for version, run in itertools.groupby(changes, key=_VERSION):
                same = list(run)
                tables[version].apply_all(list(map(_OLD, same)), list(map(_NEW, same)))
        for observer in self.observers:
            observer(changes)

    @staticmethod
    def _parse(request: Any) -> tuple[str, Any]:
        """Check the top level of a request as Kea 2.2 does."""
        prefix = "Error during command processing: "
        if not isinstance(request, dict):
            raise LeasedError(
                f"{prefix}Invalid command Element specified, expected map"
            )
        if "command" not in request:
            raise LeasedError(
                f"{prefix}Invalid answer specified, does not contain mandatory 'command'"
            )
        if not ALLOWED_KEYS.issuperset(request):
            # Kea names the first unsupported key in sorted order.
            key = min(key for key in request if key not in ALLOWED_KEYS)
            raise LeasedError(
                f"{prefix}Received command contains unsupported parameter '{key}'"
            )
        name = request["command"]
        if not isinstance(name, str):
            raise LeasedError(
                f"{prefix}'command' element in command message is not a string"
            )
        return name, request.get("arguments", ABSENT)
