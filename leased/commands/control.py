"""Handlers of the server commands: list-commands, version-get, status-get,
config-get and shutdown.

They answer as Kea's built-in commands of the same names do.  The registry
itself is passed in where a handler needs it (list-commands).

Handlers in this module do no I/O.
"""

from __future__ import annotations

import platform
import time
from typing import Any

import orjson

from leased import __version__
from leased.commands.params import is_int
from leased.engine import ABSENT, Outcome, State, answer
from leased.errors import RESULT_SUCCESS, CommandError


def list_commands(names: list[str], state: State, args: Any) -> Outcome:
    """The sorted names of every command leased answers."""
    return Outcome(answer(RESULT_SUCCESS, None, sorted(names)))


def version_get(state: State, args: Any) -> Outcome:
    """The version, with the versions of what leased runs on."""
    import attrs
    import netaddr
    import sortedcontainers
    import trio

    extended = "\n".join(
        [
            __version__,
            f"Python {platform.python_version()}",
            "linked with:",
            f"trio {trio.__version__}",
            f"attrs {attrs.__version__}",
            f"netaddr {netaddr.__version__}",
            f"sortedcontainers {sortedcontainers.__version__}",
            f"orjson {orjson.__version__}",
            "lease storage: in-memory table, Kea memfile CSV lease files",
        ]
    )
    return Outcome(answer(RESULT_SUCCESS, __version__, {"extended": extended}))


def status_get(state: State, args: Any) -> Outcome:
    """Process facts, with Kea's keys (monitoring tools read them)."""
    now = time.monotonic()
    return Outcome(
        answer(
            RESULT_SUCCESS,
            None,
            {
                "multi-threading-enabled": False,
                "pid": state.pid,
                "reload": int(now - state.reloaded),
                "uptime": int(now - state.started),
            },
        )
    )


def config_get(state: State, args: Any) -> Outcome:
    """The configuration in force, as it was read (comments removed)."""
    return Outcome(answer(RESULT_SUCCESS, None, state.config.raw))


def shutdown(state: State, args: Any) -> Outcome:
    """Ask the server to stop once this answer is sent.

    ``exit-value`` (an integer) sets the process's exit status, as in Kea.
    """
    exit_value = 0
    if args is not ABSENT and isinstance(args, dict) and "exit-value" in args:
        exit_value = args["exit-value"]
        if not is_int(exit_value):
            raise CommandError("parameter 'exit-value' is not an integer")
    state.shutdown_requested = int(exit_value)
    return Outcome(answer(RESULT_SUCCESS, "Shutting down."))
