"""The journal: every lease change appended to the live lease file first.

Theory of operation
-------------------

The engine hands each command's changes to :meth:`Journal.append` before it
touches the tables (persist, then apply, then answer).  The journal turns
them into Kea's rows (:mod:`leased.csvfile`) and writes them to the family's
live file with one ``write`` on a descriptor opened with ``O_APPEND``; when
it returns, the rows are in the operating system, so they survive the
daemon being killed.  The answer is sent after that.

Durable mode (``Leased/durable-writes``) adds the disk: an answer to a
change waits until ``fdatasync`` has returned for it.  Syncing happens in a
worker thread, and while one sync runs, more changes are appended; the next
sync covers all of them at once, so concurrent clients share the cost of a
sync (group commit).  :meth:`Journal.sync` is what the server awaits.
Reads are not held back: a read may show a change whose answer is still
waiting for the disk, and that change could be lost if the machine loses
power in that moment (its writer was never told it succeeded).

When a write fails (disk full, file-size limit, I/O error) the bytes that
did go out are cut off again with ``ftruncate``, so the file ends after the
last whole change, and the error goes back to the engine, which applies
nothing and answers with an error.  If even the cut fails, the journal
remembers it and retries the cut before the next append; until it succeeds
every change is refused, so memory and disk never disagree.  Once the cause
is gone, changes are written again.

A change of one row that a crash cuts short leaves a torn last row, which
the next start cuts off (:mod:`leased.leasefile`).  A change of several
rows (wipe, bulk-apply, a reclamation pass) is written with one ``write``
call too, but the kernel copies a large write a few pages at a time, and a
SIGKILL between two of them leaves the first rows on disk, each of them
whole: a start would apply part of a change whose answer never left (Kea
does).  So before such a write the journal records in ``F.pending`` where
the change starts and ends in the live file, and the first bytes it will
write there: a live file that ends inside that span at the next start is
cut back to where the change started, and the change is gone whole.  The
record is one small ``pwrite`` (with durable writes, synced before the rows
are written, so that a power cut cannot keep rows whose record was lost).
In durable mode the span starts at the first multi-row change not yet on
disk, since after a power cut any change not yet synced may be partial;
cutting there drops only changes whose answers were still waiting.  The
record is cleared whenever the live file is whole and about to be replaced
or rotated, so it never describes another file.
"""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import attrs
import trio

from leased.csvfile import SCHEMAS, delete_row, format_row, format_rows
from leased.engine import Change, runs
from leased.leasefile import (
    FILE_MODE,
    PENDING_HEAD,
    FileSet,
    pending_record,
    sync_directory,
)

LOGGER: Final = logging.getLogger("leased.journal")


@attrs.define(eq=False)
class LiveFile:
    """One family's live lease file, open for appending.

    Attributes:
        files: The lease file's set (:class:`~leased.leasefile.FileSet`).
        version: 4 or 6.
        durable: Whether changes must reach the disk before their answer.
    """

    files: FileSet
    version: int
    durable: bool = False
    _fd: int = -1
    # Where the file's last whole change ends.
    size: int = 0
    # A failed write whose bytes could not be cut off yet.
    _needs_cut: bool = False
    # The file was replaced and could not be opened again: every write
    # tries to open it first (see reopen).
    _lost: bool = False
    # Counters for group commit: appends made, and appends known on disk.
    appended: int = 0
    synced: int = 0
    # The file size the last finished sync covered.
    synced_size: int = 0
    _sync_done: trio.Event | None = None
    # ``F.pending`` and the span it records (start, end), if any.
    _pending_fd: int = -1
    _span: tuple[int, int] | None = None
    # The first bytes at the span's start.
    _span_head: bytes = b""

    @property
    def path(self) -> Path:
        """The live file's path."""
        return self.files.live

    def open(self, *, end: int | None = None) -> None:
        """Open (creating with a header) the live file for appending.

        Args:
            end: Cut the file to this size first: a torn last row follows.

        Raises:
            OSError: The file cannot be opened or created.
        """
        if self._pending_fd < 0:
            self._pending_fd = os.open(
                self.files.pending, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE
            )
        fd = os.open(
            self.path,
            os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC,
            FILE_MODE,
        )
        try:
            if end is not None:
                os.ftruncate(fd, end)
                if self.durable:
                    os.fsync(fd)  # the cut is on disk before its record goes
            self.settle()
            size = os.fstat(fd).st_size
            if size == 0:
                header = (SCHEMAS[self.version].header + "\n").encode()
                _write_all(fd, header)
                size = len(header)
                if self.durable:
                    os.fsync(fd)
                    sync_directory(self.path)
        except OSError:
            os.close(fd)
            raise
        self._fd = fd
        self.size = size
        self.synced_size = size

    def settle(self) -> None:
        """Clear ``F.pending``: the live file ends after a whole change.

        Called before the live file is rotated or replaced, and when it is
        opened, so that the record never describes another file.

        Raises:
            OSError: The record could not be cleared.
        """
        self._span = None
        if self._pending_fd >= 0 and os.fstat(self._pending_fd).st_size:
            if self.durable and self._fd >= 0:
                # Every change the record may cover is on disk first.
                os.fdatasync(self._fd)
            os.ftruncate(self._pending_fd, 0)
            if self.durable:
                os.fdatasync(self._pending_fd)

    def close(self) -> None:
        """Sync the file to disk and close it (at shutdown, in every mode)."""
        if self._pending_fd >= 0:
            os.close(self._pending_fd)
            self._pending_fd = -1
        if self._fd >= 0:
            try:
                os.fsync(self._fd)
            finally:
                os.close(self._fd)
                self._fd = -1

    def write(self, data: bytes, *, rows: int = 1) -> None:
        """Append ``data`` (``rows`` rows) whole, or raise, the file unchanged.

        Raises:
            OSError: The data could not be written; the file still ends after
                the last whole change.
        """
        if self._fd < 0:
            if not self._lost:
                raise OSError(errno.EBADF, "the lease file is not open")
            try:
                self.open()
            except OSError as error:
                LOGGER.critical(
                    "lease file write failed, the change is refused path=%s reason=%s",
                    self.path,
                    error.strerror,
                )
                raise
            self._lost = False
            LOGGER.warning("lease file writable again path=%s", self.path)
        if self._needs_cut:
            os.ftruncate(self._fd, self.size)
            self._needs_cut = False
            LOGGER.warning("lease file writable again path=%s", self.path)
        try:
            if rows > 1:
                self._record(data)
            _write_all(self._fd, data)
        except OSError as error:
            LOGGER.critical(
                "lease file write failed, the change is refused path=%s reason=%s",
                self.path,
                error.strerror,
            )
            try:
                os.ftruncate(self._fd, self.size)
            except OSError:
                self._needs_cut = True
            raise
        self.size += len(data)
        self.appended += 1

    def _record(self, data: bytes) -> None:
        """Record in ``F.pending`` the span ``data`` is about to fill.

        Raises:
            OSError: The record could not be written (nothing was appended).
        """
        start, end = self.size, self.size + len(data)
        head = data[:PENDING_HEAD]
        if self.durable and self._span is not None and self._span[1] > self.synced_size:
            # An earlier multi-row change is not on disk yet either.
            start, head = self._span[0], self._span_head
        record = pending_record(start, end, head)
        written = os.pwrite(self._pending_fd, record, 0)
        if written != len(record):
            raise OSError(errno.ENOSPC, "the change record was cut short")
        if self.durable:
            # Limitation: this sync blocks the event loop (about 0.1 ms on a
            # disk with a write cache) because a commit cannot wait; moving
            # it to the sync thread would need a commit that can.
            os.fdatasync(self._pending_fd)
        self._span, self._span_head = (start, end), head

    def rotate(self) -> bool:
        """Hand the live file to a compaction: ``F`` becomes ``F.1``.

        A fresh ``F`` is opened in its place.  Returns False, having changed
        nothing, when the rename or the new file fails (logged).
        """
        previous = self.files.previous
        try:
            if self.durable and self._fd >= 0:
                os.fsync(self._fd)
            self.settle()
            os.rename(self.path, previous)
        except OSError as error:
            LOGGER.error(
                "cannot hand the lease file to compaction path=%s reason=%s",
                self.path,
                error.strerror,
            )
            return False
        old_fd, old_size = self._fd, self.size
        try:
            self.open()
        except OSError as error:
            LOGGER.error(
                "cannot create a new lease file, compaction skipped path=%s reason=%s",
                self.path,
                error.strerror,
            )
            os.rename(previous, self.path)
            self._fd, self.size = old_fd, old_size
            return False
        if old_fd >= 0:
            os.close(old_fd)
        self._lost = False
        self.synced = self.appended
        return True

    def reopen(self) -> None:
        """Open the live file again after it was replaced on disk.

        The old descriptor is closed whatever happens: the file it writes
        to no longer has the live file's name, and rows written there would
        not be read at the next start.  If the new file cannot be opened,
        every change is refused until a later write manages to open it.

        Raises:
            OSError: The new file cannot be opened.
        """
        old_fd = self._fd
        self._fd = -1
        self.synced = self.appended
        try:
            self.open()
        except OSError:
            self._lost = True
            raise
        finally:
            if old_fd >= 0:
                os.close(old_fd)
        self._lost = False

    async def sync(self) -> None:
        """Return once every append made so far is on disk.

        One sync at a time runs in a worker thread, on a duplicate of the
        descriptor (so a rotation may close the original meanwhile); callers
        that arrive while it runs wait for the next one, which covers them
        all.
        """
        target = self.appended
        while self.synced < target:
            if self._sync_done is not None:
                await self._sync_done.wait()
                continue
            done = self._sync_done = trio.Event()
            covered, covered_size = self.appended, self.size
            fd = os.dup(self._fd)
            try:
                await trio.to_thread.run_sync(os.fdatasync, fd)
                self.synced = max(self.synced, covered)
                self.synced_size = max(self.synced_size, covered_size)
            except OSError as error:
                LOGGER.critical(
                    "lease file sync failed path=%s reason=%s",
                    self.path,
                    error.strerror,
                )
                raise
            finally:
                os.close(fd)
                self._sync_done = None
                done.set()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


# Changes of one command formatted row by row, at most; more are formatted
# in batches.
_FEW: Final = 16


@attrs.define
class Journal:
    """Appends committed changes to each family's live lease file."""

    files: dict[int, LiveFile]

    def append(self, changes: Sequence[Change]) -> None:
        """Write the rows of ``changes``, or raise ``OSError`` writing none.

        A command's changes belong to one family; should they ever span two,
        a failure on the second cuts the first back too.
        """
        rows: dict[int, list[str]] = {}
        if len(changes) <= _FEW:
            for change in changes:
                version = change.family.version
                if change.new is not None:
                    row = format_row(change.new)
                else:
                    assert change.old is not None
                    row = delete_row(change.old)
                rows.setdefault(version, []).append(row)
        else:
            # Many changes (a wipe, a bulk apply): runs of the same family
            # and kind are formatted together (see format_rows).
            for version, removed, leases in runs(changes):
                rows.setdefault(version, []).extend(
                    format_rows(leases, removed=removed)
                )
        written: list[tuple[LiveFile, int]] = []
        try:
            for version, lines in rows.items():
                live = self.files.get(version)
                if live is None:
                    continue  # this family keeps its leases in memory only
                count = len(lines)
                lines.append("")
                size = live.size
                live.write("\n".join(lines).encode(), rows=count)
                written.append((live, size))
        except OSError:
            for live, size in written:
                os.ftruncate(live._fd, size)
                live.size = size
            raise

    def pending(self) -> bool:
        """Whether a durable file has appends not yet on disk."""
        return any(
            live.durable and live.synced < live.appended for live in self.files.values()
        )

    async def sync(self) -> None:
        """Wait until every durable file's appends are on disk."""
        for live in self.files.values():
            if live.durable:
                await live.sync()

    def close(self) -> None:
        """Close every file."""
        for live in self.files.values():
            live.close()
