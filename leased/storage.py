"""The daemon's lease files: load at start, journal, compaction, dumps.

Theory of operation
-------------------

:func:`open_storage` runs once before the daemon listens.  For each family
whose ``lease-database`` has ``persist`` true it finds the lease file (a
bare name, or none, lies in the data directory; see :mod:`leased.paths`),
waits for a compaction a previous daemon left running, loads the file set
into the family's table (:mod:`leased.leasefile`), cuts off a torn last row,
and opens the live file for the journal (:mod:`leased.journal`).

While the daemon serves, :meth:`Storage.run` keeps the compaction timers
(``lfc-interval``) and reaps compaction children; :meth:`Storage.compact`
starts a compaction now (the ``kea-lfc-start`` command, the timers, and
once at start-up when a file had an older header), and
:meth:`Storage.write_file` dumps a table for ``lease4-write`` /
``lease6-write``.  Command handlers reach these through
``State.storage``; they are the only handlers with effects outside the
tables, and they answer from what these methods report.

Limitation: ``lease4-write`` / ``lease6-write`` write the file in the event
loop, so other commands wait while a large table is written (about a second
per 300,000 leases); onto the live file they also wait while the older files
are read and a running compaction ends.  Moving the dump to a worker thread
on a snapshot of the table would lift this.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import gc
import itertools
import logging
import os
import time
from pathlib import Path
from typing import Final

import attrs
import trio

from leased.config import Config
from leased.csvfile import removal
from leased.errors import (
    RESULT_EMPTY,
    RESULT_ERROR,
    RESULT_FATAL,
    RESULT_SUCCESS,
    RESULT_UNSUPPORTED,
)
from leased.journal import Journal, LiveFile
from leased.leasefile import (
    FileSet,
    Loaded,
    LoadError,
    compaction_running,
    load,
    older_files,
    read_into,
    sync_directory,
    try_lock,
    write_leases,
)
from leased.lfc import start_from_snapshot
from leased.model import V4, V6, Family, Lease
from leased.paths import PathError, resolve
from leased.table import LeaseTable

LOGGER: Final = logging.getLogger("leased.journal")
COMPACTION_LOGGER: Final = logging.getLogger("leased.compaction")

DEFAULT_NAMES: Final = {4: "kea-leases4.csv", 6: "kea-leases6.csv"}
# How long start-up waits for a compaction a previous daemon left running.
COMPACTION_WAIT: Final = 60.0
# How long shutdown waits for a running compaction to finish.
SHUTDOWN_WAIT: Final = 60.0
# How often a child's end is checked where pidfd is not available.
REAP_POLL: Final = 0.05


class StorageSetupError(Exception):
    """The lease files cannot be used; the daemon must not start."""


@attrs.define(eq=False)
class FamilyFiles:
    """One family's lease files and its compaction state."""

    family: Family
    files: FileSet
    live: LiveFile
    lfc_interval: int
    table: LeaseTable
    child: int | None = None
    started: float = 0.0
    timer: trio.CancelScope | None = None


def lease_file_path(
    config: Config, version: int, directory: Path, *, anywhere: bool = False
) -> Path | None:
    """The live lease file of a family, or ``None`` when it keeps none.

    Raises:
        PathError: The configured name lies outside the data directory
            (and ``anywhere`` does not allow that).
    """
    family = config.family(version)
    if family is None or not family.lease_database.persist:
        return None
    return resolve(
        family.lease_database.name or DEFAULT_NAMES[version],
        directory,
        anywhere=anywhere,
    )


@attrs.define(eq=False)
class Storage:
    """Every persisted family's files; see the module docstring."""

    directory: Path
    families: dict[int, FamilyFiles]
    journal: Journal
    # Families whose files need a compaction as soon as the daemon runs.
    upgrade: list[int] = attrs.field(factory=list)
    # Lease file names may lie outside the data directory (option -X).
    anywhere: bool = False
    # Families whose files hold a compaction left unfinished (by leased or
    # by Kea): it is finished as soon as the daemon runs.
    unfinished: list[int] = attrs.field(factory=list)
    _nursery: trio.Nursery | None = None

    # Compaction.

    def compact(self, version: int | None = None) -> tuple[int, str]:
        """Start a compaction of one family, or of every persisted one.

        Returns newest Kea's ``kea-lfc-start`` result and text.
        """
        if not self.families:
            return (
                RESULT_UNSUPPORTED,
                "'persist' parameter of 'memfile' lease backend was configured to 'false'",
            )
        versions = [version] if version is not None else list(self.families)
        outcomes = [self._compact_one(self.families[v]) for v in versions]
        # As newest Kea does, the periodic compaction counts anew from now.
        for v in versions:
            self._start_timer(self.families[v])
        if "started" in outcomes:
            return RESULT_SUCCESS, "kea-lfc started"
        if "failed" in outcomes:
            return RESULT_ERROR, "failed to start kea-lfc"
        return RESULT_EMPTY, "kea-lfc already running"

    def _compact_one(self, family: FamilyFiles) -> str:
        if family.child is not None or compaction_running(family.files) is not None:
            COMPACTION_LOGGER.info(
                "compaction already running path=%s", family.files.live
            )
            return "running"
        if self._nursery is None:
            return "failed"
        try:
            lock = try_lock(family.files)
        except OSError as error:
            COMPACTION_LOGGER.error(
                "cannot start compaction path=%s reason=%s",
                family.files.live,
                error.strerror,
            )
            return "failed"
        if lock is None:
            COMPACTION_LOGGER.info(
                "compaction already running path=%s", family.files.live
            )
            return "running"
        table = family.table
        try:
            if not family.files.unfinished() and not family.live.rotate():
                return "failed"
            # The child inherits the lock and holds it until it exits.
            family.child = start_from_snapshot(
                family.files, family.family.version, table.in_address_order, lock
            )
        except OSError as error:
            COMPACTION_LOGGER.error(
                "cannot start compaction path=%s reason=%s",
                family.files.live,
                error.strerror,
            )
            return "failed"
        finally:
            os.close(lock)
        family.started = time.monotonic()
        COMPACTION_LOGGER.info(
            "compaction started path=%s leases=%d pid=%d",
            family.files.live,
            len(table),
            family.child,
        )
        self._nursery.start_soon(self._reap, family)
        return "started"

    async def _reap(self, family: FamilyFiles) -> None:
        pid = family.child
        assert pid is not None
        # Cancelled (the daemon stops), the child stays recorded, and
        # close() waits for it.
        status = await _wait_child(pid)
        family.child = None
        code = os.waitstatus_to_exitcode(status)
        seconds = time.monotonic() - family.started
        if code == 0:
            COMPACTION_LOGGER.info(
                "compaction finished path=%s seconds=%.2f", family.files.live, seconds
            )
        elif code == 3:
            COMPACTION_LOGGER.info(
                "compaction already running path=%s", family.files.live
            )
        else:
            COMPACTION_LOGGER.error(
                "compaction failed path=%s status=%d", family.files.live, code
            )

    async def run(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Keep the compaction timers and reap children until cancelled."""
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            for version in self.upgrade:
                COMPACTION_LOGGER.warning(
                    "lease file has an older format, compacting it to upgrade path=%s",
                    self.families[version].files.live,
                )
                self._compact_one(self.families[version])
            for version in self.unfinished:
                if version in self.upgrade:
                    continue  # that compaction finishes it too
                COMPACTION_LOGGER.info(
                    "unfinished compaction found, finishing it path=%s",
                    self.families[version].files.live,
                )
                self._compact_one(self.families[version])
            for family in self.families.values():
                self._start_timer(family)
            task_status.started()
            try:
                await trio.sleep_forever()
            finally:
                self._nursery = None

    def _start_timer(self, family: FamilyFiles) -> None:
        if family.timer is not None:
            family.timer.cancel()
            family.timer = None
        if family.lfc_interval and self._nursery is not None:
            family.timer = trio.CancelScope()
            self._nursery.start_soon(self._timer, family, family.timer)

    async def _timer(self, family: FamilyFiles, scope: trio.CancelScope) -> None:
        with scope:
            while True:
                await trio.sleep(family.lfc_interval)
                self._compact_one(family)

    # Reload.

    def check_paths(self, config: Config) -> None:
        """Refuse lease file names outside the data directory.

        Raises:
            StorageSetupError: With the bad name's path and newest Kea's text.
        """
        for version in (4, 6):
            try:
                lease_file_path(config, version, self.directory, anywhere=self.anywhere)
            except PathError as error:
                raise StorageSetupError(
                    f"Dhcp{version}/lease-database/name: {error}"
                ) from None

    def check_reload(self, config: Config) -> None:
        """Refuse a new configuration whose lease files differ from ours.

        Raises:
            StorageSetupError: Which setting needs a restart to change.
        """
        for version in (4, 6):
            where = f"Dhcp{version}/lease-database"
            try:
                path = lease_file_path(
                    config, version, self.directory, anywhere=self.anywhere
                )
            except PathError as error:
                raise StorageSetupError(f"{where}/name: {error}") from None
            current = self.families.get(version)
            if (current.files.live if current else None) != path:
                raise StorageSetupError(
                    f"{where}: lease files (persist, name) change only at a restart"
                )

    def reconfigure(self, config: Config) -> None:
        """Take a new configuration's compaction interval and durability.

        (``max-row-errors`` matters only when files are loaded, at start-up.)

        :meth:`check_reload` has accepted it.
        """
        for version, family in self.families.items():
            family_config = config.family(version)
            assert family_config is not None
            family.live.durable = config.durable_writes
            interval = family_config.lease_database.lfc_interval
            if interval != family.lfc_interval:
                family.lfc_interval = interval
                self._start_timer(family)

    # lease4-write / lease6-write.

    def write_file(
        self, family: Family, table: LeaseTable, name: str
    ) -> tuple[int, str]:
        """Write ``table`` to ``name`` in the data directory, as Kea does.

        The table goes to ``<file>.tmp<pid>``; an existing ``<file>`` is kept
        as ``<file>.bak<pid>``; the temporary file then takes its name.

        When ``<file>`` is the family's live file, the journal goes on in
        the new file.  The new live file is read after ``F.completed`` (or
        ``F.2`` and ``F.1``) at the next start, so it begins with a delete
        row for each lease those files hold that the table no longer has
        (Kea's dump lacks these, and such a lease comes back at the next
        start).  A running compaction is waited for first, since its output
        becomes one of those files.

        Returns the result and text of the answer.
        """
        try:
            path = resolve(name, self.directory)
        except PathError as error:
            return RESULT_ERROR, f"'filename' parameter is invalid: {error}"
        refused = self._refused_target(family, path)
        if refused is not None:
            return RESULT_ERROR, f"'filename' parameter is invalid: {refused}"
        owner = self.families.get(family.version)
        live = owner is not None and path == owner.files.live
        pid = os.getpid()
        temporary = path.with_name(f"{path.name}.tmp{pid}")
        backup = path.with_name(f"{path.name}.bak{pid}")
        try:
            removed: list[Lease] = []
            if owner is not None and live:
                removed = self._removed_since_older_files(owner, table)
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
            leases = itertools.chain(map(removal, removed), table.in_address_order())
            write_leases(temporary, leases, family.version)
            with contextlib.suppress(FileNotFoundError):
                backup.unlink()
            if path.is_symlink():
                os.replace(path, backup)  # the link itself, never its target
            elif path.exists():
                # A second name for the old file, so that the name itself
                # never goes missing: a crash leaves the old or the new file.
                os.link(path, backup)
            if owner is not None and path == owner.files.live:
                owner.live.settle()  # its change record ends with this file
            os.replace(temporary, path)
            sync_directory(path)
        except (OSError, LoadError) as error:
            with contextlib.suppress(OSError):
                temporary.unlink()
            reason = error.strerror if isinstance(error, OSError) else str(error)
            LOGGER.error("lease dump failed path=%s reason=%s", path, reason)
            return RESULT_ERROR, f"cannot write '{path}': {reason}"
        if owner is not None and live:
            try:
                owner.live.reopen()
            except OSError as error:
                LOGGER.critical(
                    "lease file broken after dump path=%s reason=%s",
                    path,
                    error.strerror,
                )
                return (
                    RESULT_FATAL,
                    f"Fatal issue: lease file '{path}' is broken: {error.strerror}. "
                    f"See backup '{backup}' or dump '{path}' files which can "
                    "still contain leases.",
                )
        LOGGER.info("leases written path=%s leases=%d", path, len(table))
        return RESULT_SUCCESS, f"{family.word} lease database into '{path}'."

    def _refused_target(self, family: Family, path: Path) -> str | None:
        """Why a dump must not go to ``path`` (a file of the lease files)."""
        for files in self.families.values():
            members = files.files
            if path in (
                members.previous,
                members.compacted,
                members.output,
                members.completed,
                members.pid,
                members.lock,
                members.pending,
            ):
                return f"'{path}' is a file of lease file compaction"
            if path == members.live and files.family != family:
                return f"'{path}' is the other family's lease file"
        return None

    def _removed_since_older_files(
        self, owner: FamilyFiles, table: LeaseTable
    ) -> list[Lease]:
        """Leases the files before the live one hold and the table has not.

        Raises:
            OSError: A compaction still runs after a while.
            LoadError: Those files cannot be read.
        """
        deadline = time.monotonic() + COMPACTION_WAIT
        while not _compaction_over(owner):
            if time.monotonic() > deadline:
                raise OSError(errno.EBUSY, "a lease file compaction is running")
            time.sleep(REAP_POLL)
        older = Loaded()
        for path in older_files(owner.files):
            read_into(older, path, owner.family.version)
        return [
            lease
            for address, lease in older.leases.items()
            if table.get(address) is None
        ]

    # Shutdown.

    def close(self) -> None:
        """Close the live files; give running compactions time to finish."""
        self.journal.close()
        deadline = time.monotonic() + SHUTDOWN_WAIT
        for family in self.families.values():
            pid = family.child
            if pid is None:
                continue
            COMPACTION_LOGGER.info("waiting for compaction to finish pid=%d", pid)
            while time.monotonic() < deadline:
                done, _ = os.waitpid(pid, os.WNOHANG)
                if done:
                    break
                time.sleep(REAP_POLL)
            else:
                COMPACTION_LOGGER.warning(
                    "compaction still running, left to finish on its own pid=%d", pid
                )


def _compaction_over(family: FamilyFiles) -> bool:
    """Whether no compaction runs on the family's files now.

    The daemon's own compaction child is checked without reaping it (the
    reaping task does that), so that a child that has ended, however it
    ended, counts as over even before it is reaped.
    """
    if family.child is not None:
        flags = os.WEXITED | os.WNOHANG | os.WNOWAIT
        try:
            return os.waitid(os.P_PID, family.child, flags) is not None
        except ChildProcessError:
            return True
    return compaction_running(family.files) is None


async def _wait_child(pid: int) -> int:
    """Wait for a child process without blocking the event loop."""
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        pidfd = -1
    try:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return status
            if pidfd >= 0:
                await trio.lowlevel.wait_readable(pidfd)
            else:
                await trio.sleep(REAP_POLL)
    finally:
        if pidfd >= 0:
            os.close(pidfd)


def open_storage(
    config: Config,
    directory: Path,
    tables: dict[int, LeaseTable],
    *,
    anywhere: bool = False,
) -> Storage:
    """Load every persisted family's lease files and open them for the journal.

    Raises:
        StorageSetupError: A name outside the data directory, a compaction
            that does not end, a file that cannot be read or created.
    """
    # Every family's files are read before any is opened for appending (an
    # open may cut a torn row off), so that a start refused for one family
    # leaves the other's files untouched too.
    found: list[tuple[Family, FileSet, Loaded, int, float]] = []
    unfinished: list[int] = []
    for family in (V4, V6):
        version = family.version
        try:
            path = lease_file_path(config, version, directory, anywhere=anywhere)
        except PathError as error:
            raise StorageSetupError(
                f"Dhcp{version}/lease-database/name: {error}"
            ) from None
        if path is None:
            if config.family(version) is not None:
                LOGGER.warning(
                    "persist is false, leases are kept in memory only family=%s",
                    family.word,
                )
            continue
        family_config = config.family(version)
        assert family_config is not None
        database = family_config.lease_database
        files = FileSet.of(path)
        lock = _wait_for_compaction(files)
        if files.unfinished():
            unfinished.append(version)
        started = time.monotonic()
        table = tables[version]
        # Millions of new objects would set off the cyclic collector again
        # and again, each time walking every lease made so far; leases form
        # no cycles, so it waits until the table is built (see freeze below).
        gc.disable()
        try:
            loaded = load(files, version, max_row_errors=database.max_row_errors)
            table.load(loaded.leases)
        except LoadError as error:
            raise StorageSetupError(str(error)) from None
        finally:
            # Frozen first (see below): the collector, enabled again with
            # millions of new objects counted, would otherwise walk them all
            # at once (a third of a second per million leases).
            gc.freeze()
            gc.enable()
            os.close(lock)
        loaded.leases = {}  # the table holds them now
        found.append(
            (family, files, loaded, database.lfc_interval, time.monotonic() - started)
        )

    families: dict[int, FamilyFiles] = {}
    upgrade: list[int] = []
    for family, files, loaded, lfc_interval, seconds in found:
        version = family.version
        table = tables[version]
        live = LiveFile(files, version, durable=config.durable_writes)
        try:
            live.open(end=loaded.live_end)
        except OSError as error:
            raise StorageSetupError(
                f"cannot open lease file {files.live}: {error.strerror}"
            ) from None
        LOGGER.info(
            "leases loaded family=%s path=%s leases=%d rows=%d bad_rows=%d seconds=%.2f",
            family.word,
            files.live,
            len(table),
            loaded.rows,
            loaded.errors,
            seconds,
        )
        if loaded.outdated:
            upgrade.append(version)
        families[version] = FamilyFiles(family, files, live, lfc_interval, table)
    # The loaded leases live until replaced and hold no cycles: moved out of
    # the collector's sight, they no longer make every full collection walk
    # millions of objects (a pause of a good part of a second per million).
    gc.freeze()
    journal = Journal({version: f.live for version, f in families.items()})
    return Storage(
        directory, families, journal, upgrade, anywhere, unfinished=unfinished
    )


def release_free_memory() -> None:
    """Hand memory freed after loading back to the system, where possible.

    Parsing leaves freed space spread over the C library's heap, which keeps
    it and counts it as resident; after a large load ``malloc_trim`` returns
    about 30 bytes per lease loaded.  It is glibc's: elsewhere nothing
    happens.
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return
    trim(0)


def _wait_for_compaction(files: FileSet) -> int:
    """Wait until no compaction runs; return ``F.pid.lock``, now held.

    A compaction runs while another process holds ``F.pid.lock`` (leased's
    compaction children, newest Kea's ``kea-lfc``) or while ``F.pid`` names
    a live process (Kea 2.2's ``kea-lfc``, which takes no lock).  Holding
    the lock while the files are read keeps a compaction from starting
    meanwhile.

    Raises:
        StorageSetupError: Still running after :data:`COMPACTION_WAIT`
            seconds (Kea's text), or the lock file cannot be opened.
    """
    deadline = time.monotonic() + COMPACTION_WAIT
    logged = False
    while True:
        try:
            lock = try_lock(files)
        except OSError as error:
            raise StorageSetupError(
                f"cannot open lease file lock {files.lock}: {error.strerror}"
            ) from None
        pid = compaction_running(files)
        if lock is not None and pid is None:
            return lock
        if lock is not None:
            os.close(lock)
        if not logged:
            COMPACTION_LOGGER.info(
                "waiting for a running compaction to finish pid=%s",
                pid or "unknown",
            )
            logged = True
        if time.monotonic() > deadline:
            raise StorageSetupError(
                "unable to load leases from files while the lease file cleanup is in progress"
            )
        time.sleep(REAP_POLL)
