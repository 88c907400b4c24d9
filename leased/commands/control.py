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
from leased import config as config_module
from leased.commands.params import is_int
from leased.commands.statistics import addressed_families
from leased.engine import ABSENT, Outcome, State, answer
from leased.errors import RESULT_ERROR, RESULT_SUCCESS, CommandError, ConfigError
from leased.storage import StorageSetupError


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
    """The configuration in force, as it was read (comments removed).

    Each subnet shows the ``id`` leased uses (also where the file gives
    none) and each family map a subnet list, as in Kea's answer, which
    monitoring tools read.  On a control socket of one family only the
    other family's map is left out, as that family's Kea server would.
    """
    families = addressed_families(state)
    shown = config_module.with_subnet_ids(state.config.raw, state.config)
    if families == (4,):
        shown.pop("Dhcp6", None)
    elif families == (6,):
        shown.pop("Dhcp4", None)
    return Outcome(answer(RESULT_SUCCESS, None, shown))


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


def config_reload(state: State, args: Any) -> Outcome:
    """Re-read the configuration file, as SIGHUP does (Kea's texts)."""
    if state.reload is None:
        return Outcome(
            answer(RESULT_ERROR, "Config reload failed: no configuration file")
        )
    result, text = state.reload()
    return Outcome(answer(result, text))


def config_test(state: State, args: Any) -> Outcome:
    """Check a configuration sent in the command; apply nothing."""
    if args is ABSENT or args is None:
        raise CommandError("Missing mandatory 'arguments' parameter.")
    if not isinstance(args, dict):
        raise CommandError("'arguments' parameter expected to be a map.")
    try:
        candidate = config_module.build(args)
        if state.storage is not None:
            state.storage.check_paths(candidate)
    except (ConfigError, StorageSetupError) as error:
        raise CommandError(str(error)) from None
    return Outcome(
        answer(
            RESULT_SUCCESS,
            "Configuration seems sane. Control-socket, hook-libraries, and D2 "
            "configuration were sanity checked, but not applied.",
        )
    )
