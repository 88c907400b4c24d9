"""Answers as text for people: tables for lease lists, aligned fields.

Theory of operation
-------------------

An answer is Kea's map: ``result``, ``text`` and ``arguments``.  The text
comes first, then the arguments, shaped by what they hold rather than by
the command that produced them, so a command added to the daemon later
is shown sensibly without a change here:

* a list of leases (``arguments.leases``) becomes a table, one lease a
  row, with the columns a person looks for first (address, identifiers,
  hostname, subnet, state, lifetime and the expiry time in local time)
  and then any other key that some lease has;
* a single lease (a map with ``ip-address`` and ``valid-lft``) becomes
  aligned ``key  value`` lines, with its expiry time and state name;
* any other list of maps becomes a table; a list of plain values one value
  a line; a map aligned lines, with nested values as indented JSON.

A column disappears when no row has anything to say in it: no lease has
the key, or every value is empty or ``false`` (DNS flags nobody set).

This module does no I/O.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any, Final

__all__ = ["lease_table", "render_answer"]

# Columns of a lease table in the order shown; keys not listed follow,
# sorted.  ``cltt`` is not shown: ``expires`` (cltt + valid-lft) is.
LEASE_COLUMNS: Final = (
    "ip-address",
    "type",
    "hw-address",
    "client-id",
    "duid",
    "iaid",
    "hostname",
    "fqdn-fwd",
    "fqdn-rev",
    "subnet-id",
    "state",
    "valid-lft",
    "preferred-lft",
    "expires",
)
HIDDEN: Final = frozenset({"cltt", "prefix-len"})

# Kea's lease states by number.
STATE_NAMES: Final = (
    "default",
    "declined",
    "expired-reclaimed",
    "released",
    "registered",
)

EMPTY: Final = "-"
# Cells that say nothing: a column of only these is left out of a table.
BLANK: Final = frozenset({EMPTY, "false"})


def format_time(seconds: int) -> str:
    """A time in seconds since the epoch, as local date and time."""
    try:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds))
    except (OverflowError, OSError, ValueError):
        return str(seconds)


def _scalar(value: Any) -> str:
    """One value as a table cell or field."""
    if value is None or value == "":
        return EMPTY
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def _is_lease(value: Any) -> bool:
    return isinstance(value, dict) and "ip-address" in value and "valid-lft" in value


def _lease_cells(lease: dict[str, Any]) -> dict[str, str]:
    """A lease's values as they are shown."""
    cells = {key: _scalar(value) for key, value in lease.items() if key not in HIDDEN}
    if "prefix-len" in lease:
        cells["ip-address"] = f"{lease['ip-address']}/{lease['prefix-len']}"
    state = lease.get("state")
    if isinstance(state, int) and 0 <= state < len(STATE_NAMES):
        cells["state"] = STATE_NAMES[state]
    cltt, valid = lease.get("cltt"), lease.get("valid-lft")
    if isinstance(cltt, int) and isinstance(valid, int):
        cells["expires"] = format_time(cltt + valid)
    return cells


def table(rows: Sequence[dict[str, str]], order: Sequence[str] = ()) -> list[str]:
    """Rows of cells as aligned columns under a header line.

    Columns in ``order`` come first, the others sorted; a column that is
    empty (or ``false``) in every row is left out.
    """
    keys: dict[str, None] = {}
    for row in rows:
        keys.update(dict.fromkeys(row))
    first = [key for key in order if key in keys]
    columns = first + sorted(key for key in keys if key not in order)
    columns = [
        key for key in columns if any(row.get(key, EMPTY) not in BLANK for row in rows)
    ]
    widths = [
        max(len(key), *(len(row.get(key, EMPTY)) for row in rows)) for key in columns
    ]
    lines = []
    for cells in [dict(zip(columns, columns, strict=True)), *rows]:
        line = "  ".join(
            cells.get(key, EMPTY).ljust(width)
            for key, width in zip(columns, widths, strict=True)
        )
        lines.append(line.rstrip())
    return lines


def lease_table(leases: Sequence[dict[str, Any]]) -> list[str]:
    """Leases as a table, one a row."""
    return table([_lease_cells(lease) for lease in leases], LEASE_COLUMNS)


def _fields(items: Sequence[tuple[str, Any]]) -> list[str]:
    """``key  value`` lines, aligned; nested values as indented JSON."""
    width = max((len(key) for key, _ in items), default=0)
    lines = []
    for key, value in items:
        if isinstance(value, (dict, list)) and value and not _flat(value):
            lines.append(f"{key}:")
            text = json.dumps(value, indent=2, ensure_ascii=False)
            lines.extend("  " + line for line in text.splitlines())
        elif isinstance(value, str) and "\n" in value:
            lines.append(f"{key}:")
            lines.extend("  " + line for line in value.splitlines())
        else:
            lines.append(f"{key.ljust(width)}  {_scalar(value)}".rstrip())
    return lines


def _flat(value: dict[str, Any] | list[Any]) -> bool:
    """Whether a value is small and flat enough for one line."""
    members = value.values() if isinstance(value, dict) else value
    return len(members) <= 8 and not any(
        isinstance(member, (dict, list)) for member in members
    )


def _lease_fields(lease: dict[str, Any]) -> list[str]:
    """One lease: every key as sent, with its state's name, then its expiry."""
    items: list[tuple[str, Any]] = []
    for key, value in sorted(lease.items()):
        if key == "state" and isinstance(value, int) and 0 <= value < len(STATE_NAMES):
            value = f"{value} ({STATE_NAMES[value]})"
        items.append((key, value))
    cells = _lease_cells(lease)
    if "expires" in cells:
        items.append(("expires", cells["expires"]))
    return _fields(items)


def render_arguments(arguments: Any) -> list[str]:
    """The ``arguments`` of an answer as lines."""
    if arguments is None:
        return []
    if _is_lease(arguments):
        return _lease_fields(arguments)
    if isinstance(arguments, list):
        return _render_list(arguments)
    if not isinstance(arguments, dict):
        return [_scalar(arguments)]
    lines: list[str] = []
    plain: list[tuple[str, Any]] = []
    for key, value in arguments.items():
        if key == "leases" and isinstance(value, list):
            if value:
                lines.extend(lease_table(value))
        elif key == "count" and isinstance(arguments.get("leases"), list):
            continue  # the text and the table say it
        elif (
            isinstance(value, list)
            and value
            and all(isinstance(item, dict) for item in value)
        ):
            lines.append(f"{key}:")
            lines.extend("  " + line for line in _render_list(value))
        else:
            plain.append((key, value))
    return _fields(plain) + lines


def _render_list(items: list[Any]) -> list[str]:
    if items and all(_is_lease(item) for item in items):
        return lease_table(items)
    if items and all(isinstance(item, dict) for item in items):
        rows = [{key: _scalar(value) for key, value in item.items()} for item in items]
        return table(rows)
    return [_scalar(item) for item in items]


def render_answer(answer: Any) -> list[str]:
    """An answer (or a list of answers) as lines of text."""
    if isinstance(answer, list):
        lines: list[str] = []
        for number, item in enumerate(answer, 1):
            lines.append(f"[{number}]")
            lines.extend("  " + line for line in render_answer(item))
        return lines
    if not isinstance(answer, dict):
        return [_scalar(answer)]
    lines = []
    text = answer.get("text")
    if isinstance(text, str) and text:
        lines.extend(text.splitlines())
    elif "arguments" not in answer:
        lines.append(f"result {answer.get('result')}")
    lines.extend(render_arguments(answer.get("arguments")))
    return lines
