"""Handlers that act on the lease files: lease4-write, lease6-write and
kea-lfc-start (newest Kea's commands; Kea 2.2 has none of them).

They reach the files through ``State.storage`` (:mod:`leased.storage`) and
answer with newest Kea's texts.  They change no lease.
"""

from __future__ import annotations

from typing import Any

from leased.engine import ABSENT, Outcome, State, answer
from leased.errors import RESULT_UNSUPPORTED, CommandError
from leased.model import Family


def lease_write(family: Family, state: State, args: Any) -> Outcome:
    """Dump the family's table to a lease file in the data directory."""
    if args is ABSENT or args is None:
        raise CommandError("no parameters specified for the command")
    if not isinstance(args, dict) or "filename" not in args:
        raise CommandError("'filename' parameter not specified")
    name = args["filename"]
    if not isinstance(name, str):
        raise CommandError("'filename' parameter must be a string")
    if state.storage is None:
        return Outcome(answer(RESULT_UNSUPPORTED, "no lease backend"))
    result, text = state.storage.write_file(family, state.table(family), name)
    return Outcome(answer(result, text))


def kea_lfc_start(state: State, args: Any) -> Outcome:
    """Start a lease file compaction now, for every family with a file."""
    if state.storage is None:
        return Outcome(answer(RESULT_UNSUPPORTED, "no lease backend"))
    result, text = state.storage.compact()
    return Outcome(answer(result, text))
