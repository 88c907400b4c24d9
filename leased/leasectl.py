"""``leasectl``: send a command to leased (or Kea) and show the answer.

Usage::

    leasectl [-s SOCKET] [--json] COMMAND [key=value ...]
    leasectl [-s SOCKET] export [-o FILE] [--format jsonl|csv] [--family 4|6]
    leasectl [-s SOCKET] import [--update] FILE

Any command name is sent as it is, with arguments built from the
``key=value`` words (:mod:`leased.ctl.request`), and the answer is shown
readably (:mod:`leased.ctl.render`) or, with ``--json``, as the daemon sent
it.  The exit status is the answer's ``result`` (0 success, 1 error, 2
unsupported, 3 empty), or one of the :data:`EXIT_USAGE` family when no
answer came.  ``export`` and ``import`` move every lease
(:mod:`leased.ctl.transfer`).
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import sys
import tempfile
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import IO, Any, Final, NoReturn

import orjson

from leased.client import send_command, send_raw
from leased.ctl.progress import Progress
from leased.ctl.render import render_answer
from leased.ctl.request import ArgumentError, build_arguments
from leased.ctl.transfer import (
    BATCH_SIZE,
    PAGE_SIZE,
    CsvWriter,
    JsonLinesWriter,
    TransferError,
    export_leases,
    import_leases,
    read_leases,
)

# Exit statuses when there is no answer to take the status from (BSD's
# sysexits numbers, far from Kea's result codes).
EXIT_USAGE: Final = 64  # bad command line
EXIT_NOINPUT: Final = 66  # the import file cannot be read
EXIT_UNAVAILABLE: Final = 69  # no daemon on the socket
EXIT_IOERR: Final = 74  # the export file cannot be written
EXIT_TEMPFAIL: Final = 75  # the daemon did not answer in time
EXIT_PROTOCOL: Final = 76  # the answer is not JSON

# Where the socket is looked for: the quick start's socket in the current
# directory, then the one leased.socket makes.
DEFAULT_SOCKETS: Final = ("leased.sock", "/run/leased/leased.sock")
SOCKET_VARIABLE: Final = "LEASECTL_SOCKET"
# How long --help waits for the daemon's list of commands.
HELP_TIMEOUT: Final = 2.0

DESCRIPTION: Final = """\
Send one command to leased's control socket (Kea's lease commands; Kea's own
control sockets work too) and show the answer: a table for lease lists,
aligned fields otherwise. COMMAND is any command the daemon answers, sent as
typed; `leasectl list-commands` asks the daemon for its list."""

EPILOG: Final = """\
arguments (key=value words after COMMAND):
  valid-lft=3600            numbers, true/false/null, [lists] and {maps} are
  fqdn-fwd=true             sent as JSON values; anything else as a string:
  subnets=[1,2]             hostname=printer.example.org
  hw-address, client-id, duid, hostname, identifier, ip-address and the other
  text parameters stay strings even when they look like numbers
  (client-id=0102, hostname=1234); key:=JSON forces a JSON value
  (hostname:=null); a JSON map word gives all arguments at once.

examples:
  leasectl lease4-add ip-address=192.0.2.10 hw-address=08:00:2b:01:02:03
  leasectl lease4-get ip-address=192.0.2.10
  leasectl lease6-get-by-duid duid=00:01:02:03:04:05
  leasectl lease4-get-all subnets=[1,2]
  leasectl --json lease4-get-page from=start limit=100 | jq .
  leasectl lease4-del ip-address=192.0.2.10 update-ddns=true
  leasectl config-reload
  leasectl export -o leases.jsonl          every lease, JSON lines
  leasectl export --family 4 -o leases4.csv  IPv4 leases, Kea's lease file format
  leasectl import leases.jsonl             add them to a (fresh) daemon
  (`leasectl export --help` and `leasectl import --help` give their options)

socket: -s, else $LEASECTL_SOCKET, else leased.sock in the current
  directory when it exists, else /run/leased/leased.sock (leased.socket's).

exit status: the answer's result: 0 success, 1 error, 2 unsupported command,
  3 empty (nothing found or done); import: 0 when every lease went in, 1
  otherwise. Without an answer: 64 bad usage, 66 unreadable input file, 69
  no daemon on the socket, 74 output file not written, 75 no answer in
  time, 76 an answer that is not JSON.
"""

EXPORT_EPILOG: Final = """\
Every lease is read through lease4-get-page / lease6-get-page, a page at a
time, and written as it arrives. JSON lines (one lease map a line, both
families) read back with `leasectl import`; CSV is Kea's lease file format,
one family, which leased and Kea load as a lease file. A progress line is
shown on a terminal, nothing in a pipe. The export is not a snapshot of one
instant: leases changed meanwhile are written as their page found them
(lease4-write / lease6-write dump the table at one instant).
"""

IMPORT_EPILOG: Final = """\
FILE holds JSON lines (as `leasectl export` writes) or a Kea lease file
(CSV, IPv4 or IPv6: its rows are replayed as Kea loads a lease file); - reads
standard input. Leases are sent with lease4-add / lease6-add (with --update:
lease4-update / lease6-update with force-create, replacing existing leases)
in batches, one JSON list of commands a connection. The subnets must exist
in the daemon's configuration. Each failure is reported with its address and
the daemon's text; the exit status is 0 when every lease went in, 1 if not.
A progress bar is shown on a terminal, nothing in a pipe.
"""


class UsageError(Exception):
    """A bad command line; the text says what is wrong."""


class _Parser(argparse.ArgumentParser):
    """argparse with leasectl's usage exit status (64, not Kea's result 2)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _common(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """The options every form takes (``suppress``: keep the outer value)."""
    default: Any = argparse.SUPPRESS if suppress else None
    parser.add_argument(
        "-s",
        "--socket",
        metavar="SOCKET",
        default=default,
        help="the daemon's control socket (see below)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        default=argparse.SUPPRESS if suppress else 30.0,
        help="give up when the socket makes no progress for this long (30)",
    )


def main_parser() -> argparse.ArgumentParser:
    """The parser of ``leasectl [options] COMMAND [words]``."""
    parser = _Parser(
        prog="leasectl",
        usage=(
            "leasectl [-s SOCKET] [--json] COMMAND [key=value ...]\n"
            "       leasectl [-s SOCKET] export [-o FILE] [--format jsonl|csv] "
            "[--family 4|6]\n"
            "       leasectl [-s SOCKET] import [--update] FILE"
        ),
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        add_help=False,
    )
    parser.add_argument(
        "-h", "--help", action="store_true", help="show this help and exit"
    )
    _common(parser, suppress=False)
    parser.add_argument(
        "-j",
        "--json",
        action="store_true",
        help="print the answer as the daemon sent it (JSON), for scripts",
    )
    parser.add_argument(
        "command",
        nargs="?",
        metavar="COMMAND",
        help="a command the daemon answers (listed below), or export or import",
    )
    parser.add_argument(
        "words",
        nargs=argparse.REMAINDER,
        metavar="key=value",
        help="the command's arguments (see below)",
    )
    return parser


def command_parser(command: str) -> argparse.ArgumentParser:
    """The parser of a command's words (options may come among them)."""
    parser = _Parser(prog=f"leasectl {command}", add_help=False)
    _common(parser, suppress=True)
    parser.add_argument("-j", "--json", action="store_true", default=argparse.SUPPRESS)
    parser.add_argument("-h", "--help", action="store_true")
    parser.add_argument("words", nargs="*")
    return parser


def export_parser() -> argparse.ArgumentParser:
    """The parser of ``leasectl export``."""
    parser = _Parser(
        prog="leasectl export",
        description="Write every lease of the daemon to a file or stdout.",
        epilog=EXPORT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(parser, suppress=True)
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write here (replaced only once the export is whole); default stdout",
    )
    parser.add_argument(
        "--format",
        choices=["jsonl", "csv"],
        help="jsonl (default; csv when FILE ends in .csv)",
    )
    parser.add_argument(
        "--family",
        type=int,
        choices=[4, 6],
        help="only this family (needed for csv); default both",
    )
    parser.add_argument(
        "--page-size",
        type=int,
        default=PAGE_SIZE,
        metavar="N",
        help=f"leases asked for a page ({PAGE_SIZE})",
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="no progress line on a terminal"
    )
    return parser


def import_parser() -> argparse.ArgumentParser:
    """The parser of ``leasectl import``."""
    parser = _Parser(
        prog="leasectl import",
        description="Add the leases of a file to the daemon.",
        epilog=IMPORT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(parser, suppress=True)
    parser.add_argument("file", metavar="FILE", help="JSON lines or a Kea lease file")
    parser.add_argument(
        "--update",
        action="store_true",
        help="replace leases that exist (default: such leases fail)",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=BATCH_SIZE,
        metavar="N",
        help=f"commands sent a connection ({BATCH_SIZE})",
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bar on a terminal"
    )
    return parser


def resolve_socket(option: str | None) -> str:
    """The socket to use: the option, the variable, or a default path."""
    if option:
        return option
    variable = os.environ.get(SOCKET_VARIABLE)
    if variable:
        return variable
    for path in DEFAULT_SOCKETS:
        if os.path.exists(path):
            return path
    return DEFAULT_SOCKETS[-1]


def _say(text: str) -> None:
    print(f"leasectl: {text}", file=sys.stderr)


def _commands_section(socket_path: str) -> str:
    """The help's list of commands, asked of the daemon itself."""
    try:
        answer = send_command(socket_path, "list-commands", timeout=HELP_TIMEOUT)
        names = answer["arguments"]
        if not isinstance(names, list):
            raise TypeError(names)
    except (OSError, ValueError, TypeError, KeyError) as error:
        reason = error.strerror if isinstance(error, OSError) else str(error)
        return (
            f"commands: the daemon at {socket_path} did not list its commands\n"
            f"  ({reason}); start it, or name its socket with -s, and ask again.\n"
        )
    lines = [f"commands answered by the daemon at {socket_path}:"]
    line = " "
    for name in names:
        if len(line) + len(name) + 1 > 78:
            lines.append(line)
            line = " "
        line += " " + str(name)
    lines.append(line)
    return "\n".join(lines) + "\n"


def _help(parser: argparse.ArgumentParser, socket_path: str, *, asked: bool) -> int:
    """Print the help with the daemon's commands: asked for (stdout, 0), or
    for a command line without a command (stderr, usage status)."""
    out = sys.stdout if asked else sys.stderr
    parser.print_help(out)
    print(file=out)
    out.write(_commands_section(socket_path))
    return 0 if asked else EXIT_USAGE


def _failure_status(error: OSError) -> int:
    """The exit status for a socket that gave no answer."""
    if isinstance(error, TimeoutError):
        return EXIT_TEMPFAIL
    if error.errno in (errno.ENOENT, errno.ECONNREFUSED, errno.ENOTSOCK):
        return EXIT_UNAVAILABLE
    return EXIT_UNAVAILABLE


def run_command(
    socket_path: str, command: str, words: list[str], *, raw: bool, timeout: float
) -> int:
    """Send one command; print its answer; return the exit status."""
    try:
        arguments = build_arguments(words)
    except ArgumentError as error:
        raise UsageError(str(error)) from None
    request: dict[str, Any] = {"command": command}
    if arguments is not None:
        request["arguments"] = arguments
    try:
        data = send_raw(socket_path, _encode(request), timeout=timeout)
    except OSError as error:
        _say(f"no answer from {socket_path}: {error.strerror or error}")
        return _failure_status(error)
    if not data:
        _say(f"{socket_path} closed the connection without an answer")
        return EXIT_PROTOCOL
    try:
        answer = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        _say(f"the answer is not JSON ({error}): {data[:200]!r}")
        return EXIT_PROTOCOL
    status = _status(answer)
    if raw:
        sys.stdout.buffer.write(data + b"\n")
        sys.stdout.flush()
        return status
    text = "\n".join(render_answer(answer))
    stream = sys.stdout if status in (0, 3) else sys.stderr
    print(text, file=stream)
    return status


def _encode(request: dict[str, Any]) -> bytes:
    """The request as JSON (integers of any size, text as UTF-8)."""
    return json.dumps(request, ensure_ascii=False).encode()


def _status(answer: Any) -> int:
    """The exit status an answer gives: its result (the first failing one
    of a list)."""
    if isinstance(answer, list):
        for item in answer:
            status = _status(item)
            if status:
                return status
        return 0
    result = answer.get("result") if isinstance(answer, dict) else None
    if type(result) is int and 0 <= result < EXIT_USAGE:
        return result
    return EXIT_PROTOCOL


def run_export(socket_path: str, args: argparse.Namespace, timeout: float) -> int:
    """``leasectl export``."""
    form = args.format
    if form is None:
        form = "csv" if args.output and args.output.endswith(".csv") else "jsonl"
    if form == "csv" and args.family is None:
        raise UsageError("a CSV export holds one family: give --family 4 or 6")
    if args.page_size < 1:
        raise UsageError("--page-size must be at least 1")
    versions = [args.family] if args.family else [4, 6]
    label = "export" + (f" IPv{args.family}" if args.family else "")
    progress = Progress(sys.stderr, label, enabled=None if not args.quiet else False)

    def export(stream: IO[bytes]) -> dict[int, int]:
        writer: CsvWriter | JsonLinesWriter
        if form == "csv":
            writer = CsvWriter(stream, args.family)
        else:
            writer = JsonLinesWriter(stream)
        return export_leases(
            socket_path,
            versions,
            writer.write,
            page_size=args.page_size,
            timeout=timeout,
            progress=lambda count: progress.update(count=count),
        )

    try:
        if args.output:
            counts = _write_whole(Path(args.output), export)
        else:
            counts = export(sys.stdout.buffer)
            sys.stdout.flush()
    except TransferError as error:
        _say(f"export failed: {error}")
        return 1
    except _OutputError as error:
        _say(f"export failed: cannot write {args.output}: {error}")
        return EXIT_IOERR
    except OSError as error:
        _say(f"export failed: no answer from {socket_path}: {error.strerror or error}")
        return _failure_status(error)
    progress.finish()
    if progress.enabled:
        done = ", ".join(f"{count:,} IPv{v}" for v, count in counts.items())
        _say(f"exported {done} leases")
    return 0


class _OutputError(Exception):
    """The export file could not be written (the text is the reason)."""


def _write_whole(
    path: Path, fill: Callable[[IO[bytes]], dict[int, int]]
) -> dict[int, int]:
    """Write a file through a temporary one, renamed only once whole.

    A failed export never leaves a half-written file under the name (an
    earlier export there stays as it was).
    """
    directory = path.parent if str(path.parent) else Path(".")
    try:
        handle, temporary = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix=".tmp", dir=directory
        )
    except OSError as error:
        raise _OutputError(error.strerror or str(error)) from None
    try:
        with os.fdopen(handle, "wb") as stream:
            counts = fill(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o640)
        os.replace(temporary, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(temporary)
        raise
    return counts


def run_import(socket_path: str, args: argparse.Namespace, timeout: float) -> int:
    """``leasectl import``."""
    if args.batch_size < 1:
        raise UsageError("--batch-size must be at least 1")
    try:
        stream: IO[bytes] = (
            sys.stdin.buffer if args.file == "-" else open(args.file, "rb")  # noqa: SIM115
        )
    except OSError as error:
        _say(f"cannot read {args.file}: {error.strerror}")
        return EXIT_NOINPUT
    try:
        try:
            items, total = read_leases(stream, args.file)
        except TransferError as error:
            _say(str(error))
            return EXIT_NOINPUT
        progress = Progress(
            sys.stderr,
            "import",
            total=total,
            enabled=None if not args.quiet else False,
        )
        try:
            report = import_leases(
                socket_path,
                items,
                update=args.update,
                batch_size=args.batch_size,
                timeout=timeout,
                progress=lambda position, count: progress.update(
                    position=position, count=count
                ),
            )
        except TransferError as error:
            progress.finish()
            _say(f"import stopped: {error}")
            return 1
        except OSError as error:
            _say(
                f"import failed: no answer from {socket_path}: {error.strerror or error}"
            )
            return _failure_status(error)
        progress.finish()
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
    for where, text in report.failures:
        _say(f"not imported: {where}: {text}")
    if report.failed > len(report.failures):
        _say(f"... and {report.failed - len(report.failures)} more not imported")
    if report.failed or progress.enabled:
        _say(
            f"imported {report.imported:,} leases, {report.failed:,} failed, "
            f"in {report.seconds:.1f} s"
        )
    return 1 if report.failed else 0


def main(argv: list[str] | None = None) -> int:
    """Run leasectl; return the exit status."""
    parser = main_parser()
    args = parser.parse_args(argv)
    if args.help or args.command is None:
        return _help(parser, resolve_socket(args.socket), asked=args.help)
    words = list(args.words)
    try:
        if args.command == "export":
            sub = export_parser().parse_args(words)
            return run_export(
                resolve_socket(getattr(sub, "socket", None) or args.socket),
                sub,
                getattr(sub, "timeout", args.timeout),
            )
        if args.command == "import":
            sub = import_parser().parse_args(words)
            return run_import(
                resolve_socket(getattr(sub, "socket", None) or args.socket),
                sub,
                getattr(sub, "timeout", args.timeout),
            )
        sub = command_parser(args.command).parse_intermixed_args(words)
        if sub.help:
            socket_path = resolve_socket(getattr(sub, "socket", None) or args.socket)
            return _help(parser, socket_path, asked=True)
        return run_command(
            resolve_socket(getattr(sub, "socket", None) or args.socket),
            args.command,
            sub.words,
            raw=args.json or getattr(sub, "json", False),
            timeout=getattr(sub, "timeout", args.timeout),
        )
    except UsageError as error:
        parser.print_usage(sys.stderr)
        _say(f"error: {error}")
        return EXIT_USAGE
    except BrokenPipeError:
        # The reader went away (``leasectl ... | head``): not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
