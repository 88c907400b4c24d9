"""Lease files on disk: Kea's file set, reading it back, writing it whole.

Theory of operation
-------------------

For a lease file ``F`` Kea keeps a set of files (see :mod:`leased.lfc` for
how compaction moves between them):

``F``            the live file, rows appended as changes happen
``F.1``          the previous live file, handed to a compaction
``F.2``          the output of the last finished compaction
``F.output``     a compaction's output while it is being written
``F.completed``  a compaction's output once it is whole
``F.pid``        the process id of a running compaction
``F.pid.lock``   held (``flock``) for as long as a compaction runs
``F.pending``    where the last change of several rows starts and ends

At every moment "``F.completed``, or else ``F.2`` then ``F.1``, followed by
``F``" holds every lease, and :func:`load` reads exactly that, replaying the
rows in order keyed by address (a later row wins, a row with valid lifetime
0 removes the address).  ``F.output`` is never read: it may be half written.

Files are read in large chunks and split into lines here, which is much
faster than reading line by line; a file of millions of rows never sits in
memory whole.

A live file whose last line has no newline was cut short by a crash in the
middle of a write.  That row was never acknowledged (an answer is sent only
after the whole row is written), so :func:`load` reports where the file
should end and the journal cuts the torn bytes off before it appends again;
Kea instead glues its next row to the torn one and loses both.

:func:`write_leases` writes a whole table as a fresh file, for compaction
and for lease4-write / lease6-write.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import logging
import operator
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Final

import attrs

from leased.csvbulk import chunk_parser
from leased.csvfile import (
    SCHEMAS,
    Header,
    HeaderError,
    RowError,
    decode_text,
    format_rows,
    parse_header,
    parse_rows,
    row_parser,
)
from leased.model import Lease

LOGGER: Final = logging.getLogger("leased.journal")

CHUNK: Final = 1 << 20
# How much of an unreadable row a warning quotes.
ROW_LOGGED: Final = 1000
# How many leading bytes of a multi-row change ``F.pending`` keeps.
PENDING_HEAD: Final = 32
# Leases formatted and written at a time.
_WRITE_BATCH: Final = 4096
_VALID_LFT: Final = operator.attrgetter("terms.valid_lft")
_ADDRESS: Final = operator.attrgetter("address")
# Files leased creates: owner read/write, group read (the umask may take
# more away, never add).
FILE_MODE: Final = 0o640


class LoadError(Exception):
    """A lease file set that cannot be loaded (Kea's text where it has one)."""


@attrs.frozen
class FileSet:
    """The names of one lease file's set (see the module docstring)."""

    live: Path
    previous: Path  # F.1: the live file handed over to a compaction
    compacted: Path  # F.2: the last finished compaction's output
    output: Path  # F.output: a compaction's output being written
    completed: Path  # F.completed: a compaction's whole output
    pid: Path  # F.pid: the process id of a running compaction
    lock: Path  # F.pid.lock: held while a compaction runs (newest Kea's name)
    pending: Path  # F.pending: the span of the last change of several rows

    @classmethod
    def of(cls, live: Path) -> FileSet:
        """The set Kea names after the live file ``live``."""

        def named(suffix: str) -> Path:
            return live.with_name(live.name + suffix)

        return cls(
            live=live,
            previous=named(".1"),
            compacted=named(".2"),
            output=named(".output"),
            completed=named(".completed"),
            pid=named(".pid"),
            lock=named(".pid.lock"),
            pending=named(".pending"),
        )

    def unfinished(self) -> bool:
        """True when a compaction's files are still waiting to be finished."""
        return self.completed.exists() or self.previous.exists()


@attrs.define
class Loaded:
    """The outcome of :func:`load`.

    Attributes:
        leases: Address to lease, in the order addresses first appeared.
        outdated: Some file had an older header: compact once to upgrade it.
        rows: Data rows read, over all files.
        errors: Rows skipped as unreadable, over all files.
        live_end: Where the live file's last whole line ends, when a torn
            line follows it (``None`` when the file ends cleanly).
    """

    leases: dict[int, Lease] = attrs.field(factory=dict)
    outdated: bool = False
    rows: int = 0
    errors: int = 0
    live_end: int | None = None


def try_lock(files: FileSet) -> int | None:
    """Take ``F.pid.lock`` without waiting; its descriptor, or ``None``.

    ``None`` means another process holds the lock: a compaction runs.  A
    compaction holds the lock for as long as it runs.  The daemon takes it
    before it forks the compaction child, which inherits it (an ``flock``
    belongs to the open file, which both processes' descriptors share) and
    keeps it until it exits; so even a child whose daemon was killed before
    the child wrote ``F.pid`` is seen running.  Newest Kea guards ``F.pid``
    with a lock of the same name.  Closing the descriptor releases the lock
    once no other process shares it.

    Raises:
        OSError: The lock file cannot be opened or created.
    """
    fd = os.open(files.lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    except OSError:
        os.close(fd)
        raise
    return fd


def pending_record(start: int, end: int, head: bytes) -> bytes:
    """``F.pending``'s content: a change spans ``start`` to ``end`` in the
    live file and begins with ``head`` (at most :data:`PENDING_HEAD` bytes).

    Fixed width, so that it is always written over whole.
    """
    return b"%020d %020d %-64s\n" % (start, end, head.hex().encode())


def unfinished_change(files: FileSet) -> int | None:
    """Where the live file must be cut because its last change is partial.

    ``F.pending`` (see :mod:`leased.journal`) names the span of the last
    change of several rows; when the live file ends strictly inside that
    span and holds the change's first bytes at its start, the change was
    cut short: returns the span's start.  ``None`` otherwise (also for a
    missing or unreadable record).
    """
    try:
        record = files.pending.read_bytes()
        size = files.live.stat().st_size
    except OSError:
        return None
    fields = record.split()
    try:
        start, end = int(fields[0]), int(fields[1])
        head = bytes.fromhex(fields[2].decode()) if len(fields) > 2 else b""
    except (IndexError, ValueError):
        if record.strip():
            LOGGER.warning("ignoring unreadable change record path=%s", files.pending)
        return None
    if not start < size < end:
        return None
    try:
        with open(files.live, "rb") as stream:
            stream.seek(start)
            found = stream.read(len(head))
    except OSError:
        return None
    if found != head[: len(found)]:
        return None
    return start


def compaction_running(files: FileSet) -> int | None:
    """The pid in ``F.pid`` when that process is alive, else ``None``."""
    try:
        text = files.pid.read_text().strip()
        pid = int(text)
    except (OSError, ValueError):
        return None
    if pid <= 0:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid  # alive, but someone else's
    return pid


def older_files(files: FileSet) -> list[Path]:
    """The files read before the live one, oldest first."""
    if files.completed.exists():
        return [files.completed]
    return [path for path in (files.compacted, files.previous) if path.exists()]


def load(files: FileSet, version: int, *, max_row_errors: int = 0) -> Loaded:
    """Read a lease file set into an address-to-lease map, as Kea does.

    Args:
        files: The set to read.
        version: 4 or 6.
        max_row_errors: Give up once more rows than this failed in one
            file; 0 tolerates any number.

    Raises:
        LoadError: A header no schema accepts, too many bad rows, or a file
            that cannot be read.
    """
    loaded = Loaded()
    for path in older_files(files):
        read_into(loaded, path, version, max_row_errors=max_row_errors)
    if files.live.exists():
        limit = unfinished_change(files)
        if limit is not None:
            LOGGER.warning(
                "lease file ends in a change that was cut short, which is cut off "
                "path=%s offset=%d bytes=%d",
                files.live,
                limit,
                files.live.stat().st_size - limit,
            )
        read_into(
            loaded,
            files.live,
            version,
            max_row_errors=max_row_errors,
            live=True,
            limit=limit,
        )
    return loaded


def read_into(
    loaded: Loaded,
    path: Path,
    version: int,
    *,
    max_row_errors: int = 0,
    live: bool = False,
    limit: int | None = None,
) -> None:
    """Replay one file's rows onto ``loaded.leases``.

    Args:
        limit: Read only the file's first ``limit`` bytes; the live file is
            to be cut there.

    Raises:
        LoadError: As :func:`load`.
    """
    try:
        with open(path, "rb") as stream:
            chunks = read_lines(_bounded(stream.read, limit), tail := Tail())
            first = next(chunks, None)
            if not first:
                # Empty, or nothing but a torn header: Kea (re)creates an
                # empty live file with a header, and so does the journal.
                # Other bytes without a newline are no lease file.
                errors = 0
                _check_headless(tail.torn, version, path)
            else:
                errors = _read_rows(
                    loaded, first, chunks, version, path, max_row_errors
                )
    except OSError as error:
        raise LoadError(f"cannot read lease file {path}: {error.strerror}") from None
    if live and limit is not None and not tail.torn:
        loaded.live_end = limit
    _report_torn(loaded, path, tail, live=live)
    LOGGER.info("lease file read path=%s bad_rows=%d", path, errors)


def _report_torn(loaded: Loaded, path: Path, tail: Tail, *, live: bool) -> None:
    """Log a torn last line; for the live file, note where to cut it off."""
    if not tail.torn:
        return
    if live:
        loaded.live_end = tail.end
        LOGGER.warning(
            "lease file ends in a torn row, which is cut off path=%s offset=%d bytes=%r",
            path,
            tail.end,
            tail.torn[:200],
        )
    else:
        LOGGER.warning(
            "lease file ends in a torn row, which is skipped path=%s bytes=%r",
            path,
            tail.torn[:200],
        )


def _check_headless(torn: bytes, version: int, path: Path) -> None:
    """Accept a file without one whole line only if it is empty or holds
    the start of a header (a crash while the file was being created).

    Raises:
        LoadError: Anything else: not a lease file, which must not be
            appended to (Kea's text for a bad header).
    """
    if not torn or (SCHEMAS[version].header + "\n").encode().startswith(torn):
        return
    try:
        parse_header(torn.decode("utf-8", "replace"), version, str(path))
    except HeaderError as error:
        raise LoadError(str(error)) from None


def _read_rows(
    loaded: Loaded,
    first: list[str],
    chunks: Iterator[list[str]],
    version: int,
    path: Path,
    max_row_errors: int,
) -> int:
    """Check the header, then replay the rows; the number of bad rows."""
    header_line = first[0]
    chunks = itertools.chain([first[1:]], chunks)
    try:
        header = parse_header(header_line, version, str(path))
    except HeaderError as error:
        raise LoadError(str(error)) from None
    loaded.outdated |= header.outdated
    if header.newer:
        LOGGER.warning(
            "lease file has columns this version does not know, they are ignored path=%s",
            path,
        )
    return _replay(loaded, chunks, header, path, max_row_errors)


def _replay(
    loaded: Loaded,
    chunks: Iterator[list[str]],
    header: Header,
    path: Path,
    max_row_errors: int,
) -> int:
    leases = loaded.leases
    errors = 0
    rows = 0
    bulk = chunk_parser(header)
    parse = row_parser(header)
    for chunk in chunks:
        parsed = bulk(chunk) if bulk is not None else None
        if parsed is not None:
            # A plain chunk (see leased.csvbulk): every line a good row.
            rows += len(parsed)
            if all(map(_VALID_LFT, parsed)):
                # No removal among them: one update in C.
                leases.update(zip(map(_ADDRESS, parsed), parsed, strict=True))
                continue
            for lease in parsed:
                if lease.valid_lft:
                    leases[lease.address] = lease
                else:
                    leases.pop(lease.address, None)
            continue
        errors, rows = _replay_rows(
            loaded, chunk, parse, rows, errors, path, max_row_errors
        )
    loaded.rows += rows
    loaded.errors += errors
    return errors


def _replay_rows(
    loaded: Loaded,
    lines: list[str],
    parse: Callable[[str], Lease],
    rows: int,
    errors: int,
    path: Path,
    max_row_errors: int,
) -> tuple[int, int]:
    """Replay a chunk row by row; return the error and row counts so far."""
    leases = loaded.leases
    for number, outcome in parse_rows(lines, parse, start=rows):
        rows = number
        if isinstance(outcome, RowError):
            errors += 1
            # The row's text is logged: the file keeps it only until the
            # next compaction, which writes leases, not rows.
            LOGGER.warning(
                "discarding unreadable lease file row path=%s row=%d reason=%s text=%r",
                path,
                number,
                outcome,
                outcome.row[:ROW_LOGGED],
            )
            if max_row_errors and errors > max_row_errors:
                raise LoadError(
                    f"exceeded maximum number of failures {max_row_errors} to read "
                    f"a lease from the lease file {path}"
                )
            continue
        if outcome.valid_lft:
            leases[outcome.address] = outcome
        else:
            leases.pop(outcome.address, None)
    return errors, rows


@attrs.define
class Tail:
    """What follows a file's last newline, if anything."""

    end: int = 0
    torn: bytes = b""


def _bounded(read: Callable[[int], bytes], limit: int | None) -> Callable[[int], bytes]:
    """``read``, giving out at most ``limit`` bytes in all."""
    if limit is None:
        return read
    left = limit

    def bounded(size: int) -> bytes:
        nonlocal left
        data = read(min(size, left))
        left -= len(data)
        return data

    return bounded


def read_lines(read: Callable[[int], bytes], tail: Tail) -> Iterator[list[str]]:
    """The complete lines of a stream, decoded, a chunk of lines at a time.

    What follows the last newline (a torn line) goes to ``tail``.
    """
    rest = b""
    offset = 0
    while chunk := read(CHUNK):
        data = rest + chunk
        cut = data.rfind(b"\n")
        if cut < 0:
            rest = data
            continue
        rest = data[cut + 1 :]
        offset += cut + 1
        text = decode_text(data[: cut + 1])
        yield text.split("\n")[:-1]
    tail.end = offset
    tail.torn = rest


def write_leases(
    path: Path, leases: Iterable[Lease], version: int, *, durable: bool = True
) -> int:
    """Write ``leases`` as a fresh lease file at ``path``; return the count.

    A file already at ``path`` is removed first, so the content is never
    appended to an old one (Kea's compactor appends to a leftover output
    file) and the new file gets leased's mode, whatever the old one had.
    With ``durable`` it is on disk (fsync) before this returns.

    Raises:
        OSError: The file could not be written.
    """
    # Rows are made a batch at a time (see format_rows).
    iterator = iter(leases)
    batches = iter(lambda: list(itertools.islice(iterator, _WRITE_BATCH)), [])
    return _write(path, map(format_rows, batches), version, durable=durable)


def write_rows(
    path: Path,
    rows: Sequence[str],
    version: int,
    *,
    suffix: str = "",
    durable: bool = True,
) -> int:
    """Write rows (each followed by ``suffix``), as :func:`write_leases`.

    The rows, with their suffix, must be in this version's format.
    """
    batches = (
        list(rows[start : start + _WRITE_BATCH])
        for start in range(0, len(rows), _WRITE_BATCH)
    )
    return _write(path, batches, version, suffix=suffix, durable=durable)


def _write(
    path: Path,
    batches: Iterable[list[str]],
    version: int,
    *,
    suffix: str = "",
    durable: bool,
) -> int:
    count = 0
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    # O_EXCL: a file or symbolic link planted at this name since is refused,
    # so the daemon never writes through one to a file elsewhere.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW
    fd = os.open(path, flags, FILE_MODE)
    try:
        with os.fdopen(
            fd, "w", encoding="utf-8", buffering=1 << 20, closefd=False
        ) as out:
            out.write(SCHEMAS[version].header + "\n")
            end = suffix + "\n"
            for rows in batches:
                count += len(rows)
                rows.append("")
                out.write(end.join(rows))
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)
    return count


def sync_directory(path: Path) -> None:
    """Make renames and creations in ``path``'s directory durable."""
    fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
