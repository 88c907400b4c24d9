"""Lease file compaction (Kea's "lease file cleanup", LFC).

Theory of operation
-------------------

The live lease file only grows: every change appends a row.  Compaction
rewrites what the rows add up to, one row per lease, in Kea's file set
(:mod:`leased.leasefile`), with Kea's protocol, so that Kea's ``kea-lfc``
and leased can each finish what the other started:

1. The daemon hands the live file over: ``F`` is renamed ``F.1`` and a fresh
   ``F`` is opened.  This is skipped while ``F.1`` or ``F.completed`` is
   still there from an unfinished run: that run is finished first.
2. The compactor holds ``F.pid.lock`` (newest Kea's lock file) for as long
   as it runs, and writes its process id to ``F.pid``; a lock held by
   another process, or a live process already named in ``F.pid`` (Kea
   2.2's ``kea-lfc`` takes no lock), means a compaction is running, and
   this one stops.
3. Unless ``F.completed`` exists, the leases are written in address order to
   ``F.output`` (truncated first: Kea's compactor appends to a leftover
   one, gluing a torn row to its first new row), synced to disk, and
   renamed ``F.completed``.
4. ``F.2`` and ``F.1`` are removed (and a leftover ``F.output``, when
   ``F.completed`` was already there) and ``F.completed`` becomes ``F.2``;
   the directory is synced after each rename, and ``F.pid`` is removed.

A crash at any point leaves "``F.completed``, or ``F.2`` then ``F.1``,
then ``F``" holding every lease, which is what start-up loads.

Where the leases of step 3 come from is the one difference between the two
ways to run a compaction:

* The daemon forks (:func:`start_from_snapshot`).  At the moment of the
  fork, right after step 1, the lease table holds exactly what ``F.2`` and
  ``F.1`` add up to (the new ``F`` is still empty), and the child process
  gets that table as a copy-on-write snapshot: it writes it out without
  parsing a single row, while the daemon goes on serving commands at full
  speed.  The child runs at the lowest priority (nice 19) and closes the
  descriptors it inherited (a client would otherwise see its answer end
  only when the child does).  Memory pages the daemon changes meanwhile
  are copied, so a compaction can cost up to the table's memory again
  while it runs.  If an unfinished run had left ``F.1``
  behind, the snapshot also holds the rows of ``F``; they are replayed
  again after ``F.2`` at the next start, which changes nothing.
* ``leased-lfc`` (:func:`main`) takes ``kea-lfc``'s arguments and reads
  ``F.2`` and ``F.1`` as ``kea-lfc`` does (up to 100 unreadable rows per
  file).  Kea's daemon can run it in place of ``kea-lfc``
  (``KEA_LFC_EXECUTABLE``), and an operator can run it by hand.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import itertools
import logging
import operator
import os
import signal
import sys
from collections.abc import Callable, Iterable, Sequence
from itertools import compress, repeat
from pathlib import Path
from typing import Final

from leased.csvbulk import chunk_parser
from leased.csvfile import SCHEMAS, HeaderError, parse_header
from leased.leasefile import (
    FileSet,
    Loaded,
    LoadError,
    Tail,
    compaction_running,
    read_into,
    read_lines,
    sync_directory,
    try_lock,
    write_leases,
    write_rows,
)
from leased.model import Lease

LOGGER: Final = logging.getLogger("leased.compaction")

# kea-lfc's fixed tolerance of unreadable rows per input file.
MAX_ROW_ERRORS: Final = 100
# Rows parsed at a time by compacted_rows.
_PARSE_ROWS: Final = 10_000
_BEFORE_COMMA: Final = operator.itemgetter(0)
_VALID_LFT: Final = operator.attrgetter("terms.valid_lft")
_ADDRESS: Final = operator.attrgetter("address")


class AlreadyRunning(Exception):
    """``F.pid`` names a live process."""


def claim(files: FileSet) -> None:
    """Write our pid to ``F.pid`` unless a live compactor is named there.

    Raises:
        AlreadyRunning: Another compaction runs.
    """
    running = compaction_running(files)
    if running is not None and running != os.getpid():
        raise AlreadyRunning(running)
    files.pid.write_text(f"{os.getpid()}\n")


def finish(
    files: FileSet,
    version: int,
    leases: Callable[[], Iterable[Lease]],
    rows: Callable[[], tuple[Sequence[str], str] | None] | None = None,
) -> int | None:
    """Steps 3 and 4 of the protocol; return the leases written.

    ``leases`` is called only when there is no ``F.completed`` yet, and only
    when ``rows`` (the compacted rows and what each lacks at its end, if it
    can give them) gives None.
    Returns ``None`` when only the rotation of step 4 was left to do.
    """
    written = None
    if not files.completed.exists():
        ready = rows() if rows is not None else None
        if ready is not None:
            done, suffix = ready
            written = write_rows(
                files.output, done, version, suffix=suffix, durable=True
            )
        else:
            written = write_leases(files.output, leases(), version, durable=True)
        os.rename(files.output, files.completed)
        sync_directory(files.completed)
    else:
        # An output beside a finished one is what a run killed while
        # writing left behind; nothing reads it.
        with contextlib.suppress(FileNotFoundError):
            files.output.unlink()
    for path in (files.compacted, files.previous):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    os.rename(files.completed, files.compacted)
    sync_directory(files.compacted)
    return written


def release(files: FileSet) -> None:
    """Remove ``F.pid``."""
    with contextlib.suppress(FileNotFoundError):
        files.pid.unlink()


def compact_files(files: FileSet, version: int) -> int | None:
    """Compact ``F.2`` and ``F.1`` as ``kea-lfc`` does.

    Raises:
        AlreadyRunning: Another compaction runs.
        LoadError: An input could not be read.
        OSError: A file could not be written.
    """
    lock = try_lock(files)
    if lock is None:
        raise AlreadyRunning(compaction_running(files) or "unknown")
    try:
        claim(files)
    except BaseException:
        os.close(lock)
        raise
    # Millions of new objects would set off the cyclic collector again and
    # again, each time walking all made so far (it doubled the run time);
    # nothing made here forms a cycle.
    collecting = gc.isenabled()
    gc.disable()
    try:

        def read() -> Iterable[Lease]:
            loaded = Loaded()
            for path in (files.compacted, files.previous):
                if path.exists():
                    read_into(loaded, path, version, max_row_errors=MAX_ROW_ERRORS)
            return sorted(loaded.leases.values(), key=lambda lease: lease.address)

        return finish(files, version, read, lambda: compacted_rows(files, version))
    finally:
        if collecting:
            gc.enable()
        release(files)
        os.close(lock)


def compacted_rows(files: FileSet, version: int) -> tuple[list[str], str] | None:
    """The rows ``F.2`` and ``F.1`` compact to, taken as they are, or None.

    Reading every row into a lease costs most of a compaction, and most rows
    of a journal are overwritten later.  So the last row of each address (as
    written: the text before the first comma) is kept first, from the plain
    text, and only those rows are parsed, with the bulk parser
    (:mod:`leased.csvbulk`), which checks each row as strictly as the row
    parser.  The rows go out in address order as they came in, with the
    columns an older header lacks (returned as the text to add to each row)
    at their defaults: read back they are the same leases.

    Returns None, for the row-by-row way, whenever the rows are not plain:
    files with different headers, a torn or bad row (an earlier good row of
    that address would win), an address written in two forms.
    """
    header_line: str | None = None
    last: dict[str, str] = {}
    for path in (files.compacted, files.previous):
        if not path.exists():
            continue
        try:
            with open(path, "rb") as stream:
                chunks = read_lines(stream.read, tail := Tail())
                first = next(chunks, None)
                if not first:
                    continue
                if header_line not in (None, first[0]):
                    return None
                header_line = first[0]
                for lines in itertools.chain([first[1:]], chunks):
                    keys = map(_BEFORE_COMMA, map(str.partition, lines, repeat(",")))
                    last.update(zip(keys, lines, strict=True))
        except OSError:
            return None
        if tail.torn:
            return None
    if header_line is None:
        return None
    try:
        header = parse_header(header_line, version, str(files.previous))
    except HeaderError:
        return None
    parse = chunk_parser(header)
    if parse is None:
        return None

    rows = list(last.values())
    leases: list[Lease] = []
    for start in range(0, len(rows), _PARSE_ROWS):
        parsed = parse(rows[start : start + _PARSE_ROWS])
        if parsed is None:
            return None
        leases.extend(parsed)
    # A row with valid lifetime 0 removes its lease.
    kept = list(map(_VALID_LFT, leases))
    if not all(kept):
        rows = list(compress(rows, kept))
        leases = list(compress(leases, kept))
    addresses = list(map(_ADDRESS, leases))
    if len(set(addresses)) != len(addresses):
        return None
    order = sorted(range(len(addresses)), key=addresses.__getitem__)
    # The columns an older header lacks (the pool id) are the last ones.
    missing = len(SCHEMAS[version].columns) - len(header.positions)
    added = SCHEMAS[version].columns[len(header.positions) :] if missing else ()
    suffix = "".join("," + header.schema.defaults[column] for column in added)
    return list(map(rows.__getitem__, order)), suffix


def start_from_snapshot(
    files: FileSet, version: int, leases: Callable[[], Iterable[Lease]], lock: int
) -> int:
    """Fork a child that runs steps 2 to 4 on the table as it is now.

    The caller has done step 1, holding ``F.pid.lock`` on descriptor
    ``lock`` (:func:`~leased.leasefile.try_lock`): the child inherits the
    lock and holds it until it exits, and the caller closes its own
    descriptor once this returns.  Returns the child's pid; the caller reaps
    it (exit status 0: done, 3: another compaction runs, 1: failed).
    """
    # Objects that exist now are moved out of the collector's sight for
    # good, so that neither process touches them for a collection (each
    # touch would copy a page).  Leases hold no reference cycles, so
    # reference counting alone frees them.
    gc.freeze()
    pid = os.fork()
    if pid:
        return pid
    status = 1
    try:
        gc.disable()
        _child_signals()
        _close_inherited(keep=lock)
        with contextlib.suppress(OSError):
            # The lowest priority: on a busy daemon's core the compaction takes
            # what commands leave (a busy core still gives it a small share).
            os.nice(19)
        try:
            claim(files)
        except AlreadyRunning:
            status = 3
        else:
            try:
                finish(files, version, leases)
                status = 0
            finally:
                release(files)
    except BaseException:  # the child must never return into the daemon
        LOGGER.exception("compaction failed path=%s", files.live)
    finally:
        logging.shutdown()
        os._exit(status)
    return 0  # not reached


def _close_inherited(keep: int) -> None:
    """Close the daemon's descriptors the child does not use.

    The child would otherwise hold the control socket (clients could
    connect to a process that never answers) and the socket's lock (a
    restarted daemon could not take it) for as long as it runs, should the
    daemon die first; and every connection open at the fork (the one that
    asked for the compaction, too) would end for its client only when the
    child does.  Standard input, output and error stay, and ``keep``.
    """
    os.closerange(3, keep)
    os.closerange(keep + 1, os.sysconf("SC_OPEN_MAX"))


def _child_signals() -> None:
    """Give the child the default signal handling, not the daemon's."""
    with contextlib.suppress(ValueError):
        signal.set_wakeup_fd(-1)
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, set())


# The standalone compactor, with kea-lfc's command line.


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Read kea-lfc's arguments."""
    parser = argparse.ArgumentParser(
        prog="leased-lfc",
        description=(
            "Compact a lease file set (Kea's memfile format) as kea-lfc does: "
            "read PREVIOUS then COPY, write every lease once to OUTPUT, "
            "rename it FINISH, then make it the new PREVIOUS."
        ),
    )
    family = parser.add_mutually_exclusive_group(required=True)
    family.add_argument("-4", dest="version", action="store_const", const=4)
    family.add_argument("-6", dest="version", action="store_const", const=6)
    parser.add_argument("-x", dest="previous", required=True, metavar="PREVIOUS")
    parser.add_argument("-i", dest="copy", required=True, metavar="COPY")
    parser.add_argument("-o", dest="output", required=True, metavar="OUTPUT")
    parser.add_argument("-f", dest="finish", required=True, metavar="FINISH")
    parser.add_argument("-p", dest="pid", required=True, metavar="PIDFILE")
    parser.add_argument(
        "-c", dest="config", required=True, metavar="CONFIG", help="accepted, unused"
    )
    parser.add_argument("-d", dest="debug", action="store_true", help="log debug too")
    parser.add_argument("-v", action="version", version="leased-lfc")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run one compaction; exit 0 when done or already running, else 1."""
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    copy = Path(args.copy)
    # The live file itself is not touched; Kea names the copy F.1.
    live = copy.with_name(copy.name[:-2]) if copy.name.endswith(".1") else copy
    files = FileSet(
        live=live,
        previous=copy,
        compacted=Path(args.previous),
        output=Path(args.output),
        completed=Path(args.finish),
        pid=Path(args.pid),
        lock=Path(args.pid + ".lock"),
        pending=live.with_name(live.name + ".pending"),
    )
    try:
        written = compact_files(files, args.version)
    except AlreadyRunning as running:
        LOGGER.info("compaction already running pid=%s", running)
        return 0
    except (LoadError, OSError) as error:
        LOGGER.critical("compaction failed reason=%s", error)
        return 1
    LOGGER.info("compaction finished leases=%s path=%s", written, files.compacted)
    return 0


if __name__ == "__main__":
    sys.exit(main())
