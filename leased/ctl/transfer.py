"""Every lease out of a daemon (export), and leases into one (import).

Theory of operation
-------------------

Export
    ``lease4-get-page`` / ``lease6-get-page`` from ``start``, each page
    beginning after the last address of the page before, until a page comes
    back empty or short.  Each lease is written as its page arrives, so
    memory holds one page whatever the table's size:

    * JSON lines: one lease map a line, exactly as the daemon answered it;
      both families may share a file (the address tells them apart).
    * CSV: Kea's lease file format for one family (its header, then one row
      a lease), which leased and Kea load as a lease file.

    The pages are read one after another while the daemon goes on serving,
    so an export is not a snapshot of one instant: a lease changed meanwhile
    is written as its page found it.  ``lease4-write`` / ``lease6-write``
    dump the table at one instant instead (into the daemon's data
    directory).

Import
    JSON lines (as exported) or a Kea lease file (CSV; its rows replayed as
    Kea loads a lease file: a later row for an address replaces an earlier
    one, a row with valid lifetime 0 removes it) become ``lease4-add`` /
    ``lease6-add`` commands (``-update`` with ``force-create`` to replace
    leases that exist), sent in batches: one JSON list of commands a
    connection, answered by a list of answers in the same order (leased's
    batch extension; Kea does not take lists).  A lease's ``cltt`` is sent
    as ``expire`` (cltt + valid-lft), the add commands' way of setting the
    client's last transmission time, so imported leases keep their times.

Limitation: the lease JSON of Kea's commands has no IPv6 hardware address
type and source, and the add commands take no pool id, so an export and
import through JSON sets them to their defaults (type 1, source 0, pool 0);
a CSV file written by the daemon (``lease6-write``) keeps them.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any, Final

import attrs
import orjson

from leased.client import send_command, send_raw
from leased.csvfile import (
    SCHEMAS,
    Header,
    HeaderError,
    RowError,
    format_row,
    parse_header,
    parse_rows,
    row_parser,
)
from leased.model import (
    TYPE_NAMES,
    V4,
    V6,
    Lease,
    Lease4,
    Lease6,
    decode_formatted_hex,
    decode_separated_hex,
    parse_ip,
)

__all__ = [
    "CsvWriter",
    "ImportReport",
    "Item",
    "JsonLinesWriter",
    "TransferError",
    "add_arguments",
    "export_leases",
    "import_leases",
    "lease_from_json",
    "read_leases",
]

# Leases a page asks for, and commands a batch sends, by default.
PAGE_SIZE: Final = 5000
BATCH_SIZE: Final = 1000
# Failures kept with their text (the rest are only counted).
KEPT_FAILURES: Final = 20


class TransferError(Exception):
    """The daemon refused, or the input cannot be read; the text says why."""


# Export.


class JsonLinesWriter:
    """Leases as JSON lines, exactly as the daemon sent them."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream

    def write(self, version: int, leases: list[dict[str, Any]]) -> None:
        """Write one page of leases."""
        self.stream.write(b"".join(orjson.dumps(lease) + b"\n" for lease in leases))


class CsvWriter:
    """Leases of one family as a Kea lease file (header, one row a lease)."""

    def __init__(self, stream: IO[bytes], version: int) -> None:
        self.stream = stream
        self.version = version
        stream.write(SCHEMAS[version].header.encode() + b"\n")

    def write(self, version: int, leases: list[dict[str, Any]]) -> None:
        """Write one page of leases.

        Raises:
            TransferError: A lease the daemon sent does not make a row.
        """
        rows = []
        for lease in leases:
            try:
                rows.append(format_row(lease_from_json(version, lease)))
            except (KeyError, TypeError, ValueError) as error:
                raise TransferError(
                    f"lease {lease.get('ip-address')} cannot be written as CSV: {error}"
                ) from None
        self.stream.write("".join(row + "\n" for row in rows).encode())


def lease_from_json(version: int, data: dict[str, Any]) -> Lease:
    """Rebuild a lease record from its JSON form (for CSV rows).

    Raises:
        KeyError, TypeError, ValueError: A key is missing or malformed.
    """
    _, address = parse_ip(data["ip-address"])
    common: dict[str, Any] = {
        "address": address,
        "valid_lft": int(data["valid-lft"]),
        "cltt": int(data["cltt"]),
        "subnet_id": int(data["subnet-id"]),
        "fqdn_fwd": bool(data.get("fqdn-fwd", False)),
        "fqdn_rev": bool(data.get("fqdn-rev", False)),
        "hostname": str(data.get("hostname", "")),
        "state": int(data.get("state", 0)),
        "user_context": data.get("user-context"),
        "pool_id": int(data.get("pool-id", 0)),
    }
    hw_text = data.get("hw-address")
    if version == 4:
        client_id = data.get("client-id")
        return Lease4(
            hw_address=decode_separated_hex(hw_text or "", ":"),
            client_id=decode_formatted_hex(client_id) if client_id else None,
            **common,
        )
    return Lease6(
        type=TYPE_NAMES.index(data.get("type", "IA_NA")),
        prefix_len=int(data.get("prefix-len", 128)),
        duid=decode_formatted_hex(data["duid"]),
        iaid=int(data["iaid"]),
        preferred_lft=int(data.get("preferred-lft", 0)),
        hw_address=None if hw_text is None else decode_separated_hex(hw_text, ":"),
        **common,
    )


def export_leases(
    socket_path: str,
    versions: Iterable[int],
    write: Callable[[int, list[dict[str, Any]]], None],
    *,
    page_size: int = PAGE_SIZE,
    timeout: float = 30.0,
    progress: Callable[[int], None] = lambda count: None,
) -> dict[int, int]:
    """Page through every lease of each family and hand each page to ``write``.

    Args:
        socket_path: The daemon's control socket.
        versions: The families, 4 and/or 6, in the order to export.
        write: Called with the family and each page's leases.
        page_size: Leases a page asks for.
        timeout: Seconds without progress on the socket before giving up.
        progress: Called with the number of leases of each page.

    Returns:
        The number of leases exported, by family.

    Raises:
        TransferError: The daemon answered a page with an error.
        OSError: The socket cannot be reached.
    """
    counts = {}
    for version in versions:
        command = f"lease{version}-get-page"
        after = "start"
        counts[version] = 0
        while True:
            answer = send_command(
                socket_path,
                command,
                {"from": after, "limit": page_size},
                timeout=timeout,
            )
            result = answer.get("result") if isinstance(answer, dict) else None
            if result == 3:
                break
            if result != 0:
                text = answer.get("text") if isinstance(answer, dict) else answer
                raise TransferError(f"{command} failed: {text}")
            leases = answer["arguments"]["leases"]
            if not leases:
                break
            write(version, leases)
            counts[version] += len(leases)
            progress(len(leases))
            if len(leases) < page_size:
                break
            after = leases[-1]["ip-address"]
    return counts


# Import.


@attrs.frozen
class Item:
    """One lease to import, or why a piece of the input is not one.

    Attributes:
        where: The lease's address, or the input line or row.
        version: 4 or 6 (0 for an input error).
        arguments: The add command's arguments (``None`` for an error).
        position: How far into the input (bytes or leases) this item is.
        error: Why the input is not a lease, if it is not.
    """

    where: str
    version: int = 0
    arguments: dict[str, Any] | None = None
    position: int = 0
    error: str = ""


def add_arguments(lease: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """The family and add-command arguments of an exported lease.

    ``cltt`` becomes ``expire``; every other key passes unchanged.

    Raises:
        ValueError: The map has no usable ``ip-address``.
    """
    # Limitation: Kea's lease JSON has no IPv6 hardware address type or
    # source, and the add commands ignore ``pool-id``, so a lease imported
    # here gets type 1, source 0 and pool 0 whatever it had (a lease file
    # row read by the daemon itself keeps them).  Lifting it needs the add
    # commands to take those keys, which Kea's do not.
    # tests/test_leasectl.py::test_leasectl_import_keeps_ipv6_hardware_type
    address = lease.get("ip-address")
    if not isinstance(address, str):
        raise ValueError("no ip-address")
    version = 6 if ":" in address else 4
    arguments = dict(lease)
    cltt = arguments.pop("cltt", None)
    valid = arguments.get("valid-lft")
    if type(cltt) is int and type(valid) is int:
        arguments["expire"] = cltt + valid
    return version, arguments


def read_leases(stream: IO[bytes], name: str) -> tuple[Iterator[Item], int | None]:
    """What to import from ``stream``: JSON lines or a Kea lease file.

    The format is told by the first line that is not blank: a JSON map, or
    a Kea lease file header (IPv4 or IPv6).

    Returns:
        The items, and the position at which the input ends when known (the
        input's size for JSON lines from a file, the lease count for CSV).

    Raises:
        TransferError: Neither format; the text quotes the first line.
    """
    consumed = 0
    number = 0
    first = b""
    for line in stream:
        consumed += len(line)
        number += 1
        if line.strip():
            first = line
            break
    if not first:
        return iter(()), 0
    if first.lstrip().startswith(b"{"):
        return _json_lines(first, stream, number, consumed), _size(stream)
    header_text = first.decode("utf-8", "replace").rstrip("\r\n")
    header = None
    for version in (4, 6):
        try:
            header = parse_header(header_text, version, name)
            break
        except HeaderError:
            continue
    if header is None:
        raise TransferError(
            f"{name} is neither JSON lines nor a Kea lease file; its first line "
            f"is {header_text[:80]!r}"
        )
    items = _csv_leases(header, stream)
    return iter(items), len(items)


def _size(stream: IO[bytes]) -> int | None:
    """The size of a regular file; ``None`` for a pipe or a terminal."""
    try:
        status = os.fstat(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return None
    return status.st_size if stat.S_ISREG(status.st_mode) else None


def _json_lines(
    first: bytes, stream: IO[bytes], number: int, position: int
) -> Iterator[Item]:
    """Items of a JSON lines input, read as they are needed."""
    line = first
    while True:
        if line.strip():
            yield _json_item(line, number, position)
        line = stream.readline()
        if not line:
            return
        number += 1
        position += len(line)


def _json_item(line: bytes, number: int, position: int) -> Item:
    """One line of JSON lines: a lease to add, or why it is not one."""
    where = f"line {number}"
    try:
        lease = orjson.loads(line)
    except orjson.JSONDecodeError as error:
        return Item(where, position=position, error=f"not JSON: {error}")
    try:
        if not isinstance(lease, dict):
            raise ValueError("not a JSON map")
        version, arguments = add_arguments(lease)
    except ValueError as error:
        return Item(where, position=position, error=str(error))
    return Item(arguments["ip-address"], version, arguments, position)


def _csv_leases(header: Header, stream: IO[bytes]) -> list[Item]:
    """The rows that failed, then the leases a lease file's rows add up to."""
    version = header.schema.version
    family = V4 if version == 4 else V6
    parse = row_parser(header)
    leases: dict[int, Lease] = {}
    items: list[Item] = []
    lines = (line.decode("utf-8", "replace").rstrip("\n") for line in stream)
    for number, outcome in parse_rows(lines, parse):
        if isinstance(outcome, RowError):
            items.append(Item(f"row {number}", error=str(outcome)))
        elif outcome.valid_lft:
            leases[outcome.address] = outcome
        else:
            leases.pop(outcome.address, None)
    for index, lease in enumerate(leases.values(), 1):
        _, arguments = add_arguments(family.to_json(lease))
        items.append(Item(arguments["ip-address"], version, arguments, index))
    return items


@attrs.define
class ImportReport:
    """How an import went.

    Attributes:
        imported: Leases the daemon took (result 0).
        failed: Leases or input pieces that were not imported.
        failures: The first failures: where, and the daemon's or the input's
            reason.
        seconds: How long the import took.
    """

    imported: int = 0
    failed: int = 0
    failures: list[tuple[str, str]] = attrs.field(factory=list)
    seconds: float = 0.0

    def fail(self, where: str, text: str) -> None:
        """Count a failure; keep its text while there are few."""
        self.failed += 1
        if len(self.failures) < KEPT_FAILURES:
            self.failures.append((where, text))


def import_leases(
    socket_path: str,
    items: Iterable[Item],
    *,
    update: bool = False,
    batch_size: int = BATCH_SIZE,
    timeout: float = 30.0,
    progress: Callable[[int, int], None] = lambda position, count: None,
) -> ImportReport:
    """Send every item's add (or update) command, in batches.

    Args:
        socket_path: The daemon's control socket.
        items: What to import (see :func:`read_leases`).
        update: Replace leases that exist (``leaseN-update`` with
            ``force-create``) instead of adding (``leaseN-add``, which
            refuses an address that has a lease).
        batch_size: Commands sent a connection.
        timeout: Seconds without progress on the socket before giving up.
        progress: Called after each batch with the input position reached
            and the number of items the batch held.

    Returns:
        What was imported and what failed, and why.

    Raises:
        TransferError: The daemon ended a batch without answering it all;
            the leases it did not answer may or may not be in.
        OSError: The socket cannot be reached.
    """
    report = ImportReport()
    started = time.monotonic()
    batch: list[Item] = []
    for item in items:
        if item.arguments is None:
            report.fail(item.where, item.error)
            continue
        batch.append(item)
        if len(batch) >= batch_size:
            _send(socket_path, batch, update, timeout, report)
            progress(item.position, len(batch))
            batch = []
    if batch:
        _send(socket_path, batch, update, timeout, report)
        progress(batch[-1].position, len(batch))
    report.seconds = time.monotonic() - started
    return report


def _send(
    socket_path: str,
    batch: list[Item],
    update: bool,
    timeout: float,
    report: ImportReport,
) -> None:
    """Send one batch and count its answers."""
    commands = []
    for item in batch:
        assert item.arguments is not None
        if update:
            name = f"lease{item.version}-update"
            arguments = {**item.arguments, "force-create": True}
        else:
            name = f"lease{item.version}-add"
            arguments = item.arguments
        commands.append(orjson.dumps({"command": name, "arguments": arguments}))
    raw = send_raw(socket_path, b"[" + b",".join(commands) + b"]", timeout=timeout)
    answers = _answers(raw)
    for item, answer in zip(batch, answers, strict=False):
        result = answer.get("result") if isinstance(answer, dict) else None
        if result == 0:
            report.imported += 1
        else:
            text = answer.get("text") if isinstance(answer, dict) else str(answer)
            report.fail(item.where, str(text))
    if len(answers) < len(batch):
        missing = len(batch) - len(answers)
        for item in batch[len(answers) :]:
            report.fail(item.where, "no answer: the daemon ended the batch early")
        raise TransferError(
            f"the daemon ended a batch after {len(answers)} of {len(batch)} "
            f"answers; {missing} leases may or may not be imported"
        )


def _answers(raw: bytes) -> list[Any]:
    """The answers of a batch, also of one the daemon cut short."""
    try:
        answers = orjson.loads(raw)
    except orjson.JSONDecodeError:
        # A batch the daemon had to end early: keep the whole answers.
        cut = raw.rfind(b"}")
        try:
            answers = orjson.loads(raw[: cut + 1] + b"]") if cut > 0 else []
        except orjson.JSONDecodeError:
            answers = []
    if isinstance(answers, dict):
        # Not a list: the whole request was refused (too large, say).
        raise TransferError(f"the daemon refused the batch: {answers.get('text')}")
    return answers if isinstance(answers, list) else []
