"""Handlers of Kea's statistic commands.

``statistic-get``, ``-get-all``, ``-reset``, ``-reset-all``, ``-remove``,
``-remove-all``, ``-sample-count-set``, ``-sample-count-set-all``,
``-sample-age-set``, ``-sample-age-set-all`` (Kea 2.2) and
``statistic-global-get-all`` (newer Kea), with Kea's argument checks,
texts and answer shapes.  Where Kea 2.2 breaks (a negative age limit kills
it; a count limit of 0 leaves a statistic that every later read fails on),
leased refuses the value instead.

Each of Kea's servers answers with its own family's statistics.  leased
keeps both families apart too (:mod:`leased.stats`), and a request
addresses one of them by where it comes from (:func:`addressed_families`):

* a ``service`` key naming one family, ``["dhcp4"]`` or ``["dhcp6"]``, as
  Kea's control agent takes it;
* else the control socket: one that only the ``Dhcp4`` map names answers
  for IPv4, one that only ``Dhcp6`` names for IPv6, as Kea's servers would;
* a socket that serves both families (named in both maps, or in one map
  while the other names none) answers for IPv4 when it is configured.

The handlers do no I/O.
"""

from __future__ import annotations

import os
from typing import Any

from leased.commands.params import is_int
from leased.engine import ABSENT, Outcome, State, answer
from leased.errors import RESULT_SUCCESS, CommandError
from leased.observations import StatisticStore

UINT32_MAX = (1 << 32) - 1

# Kea reports an exception a built-in command handler raised with this prefix.
_PROCESSING = "Error during command processing: "


def addressed_families(state: State) -> tuple[int, ...]:
    """The families a request addresses, by its ``service`` or its socket."""
    config = state.config
    configured = tuple(v for v in (4, 6) if config.family(v) is not None)
    service = state.service
    if isinstance(service, list) and len(service) == 1:
        chosen = (
            {"dhcp4": 4, "dhcp6": 6}.get(service[0])
            if isinstance(service[0], str)
            else None
        )
        if chosen in configured:
            return (chosen,)
    if state.socket is None:
        return configured
    path = os.path.abspath(state.socket)
    named = []
    unnamed = []
    for version in configured:
        family = config.family(version)
        assert family is not None
        paths = [os.path.abspath(each) for each in family.socket_paths]
        if path in paths:
            named.append(version)
        elif not paths:
            unnamed.append(version)
    if not named:
        # A socket no map names (passed by systemd under another path).
        return configured
    return tuple(sorted(named + unnamed))


def _store(state: State) -> StatisticStore:
    """The statistics of the family the request addresses."""
    if state.statistics is None:
        raise CommandError("statistics are not kept by this server")
    store: StatisticStore = state.statistics.family(addressed_families(state)[0]).store
    return store


def _arguments(args: Any, missing: str) -> dict[str, Any]:
    """The arguments map; ``missing`` is the text when there is none."""
    if args is ABSENT:
        raise CommandError(missing)
    if not isinstance(args, dict):
        raise CommandError(f"{_PROCESSING}get(string) called on a non-map Element")
    return args


def _name(args: Any) -> str:
    """The ``name`` argument, checked as Kea does."""
    missing = "Missing mandatory 'name' parameter."
    args = _arguments(args, missing)
    if "name" not in args:
        raise CommandError(missing)
    name = args["name"]
    if not isinstance(name, str):
        raise CommandError("'name' parameter expected to be a string.")
    return name


def _max_samples(args: Any) -> int:
    """The ``max-samples`` argument: a count from 1 to 2**32 - 1.

    Kea 2.2 takes any integer and keeps it modulo 2**32; a limit of 0
    (also reached as 2**32) leaves a statistic without samples, which every
    later read of it fails on.  leased refuses those values.
    """
    missing = "Missing mandatory 'max-samples' parameter."
    args = _arguments(args, missing)
    if "max-samples" not in args:
        raise CommandError(missing)
    count = args["max-samples"]
    if not is_int(count):
        raise CommandError("'max-samples' parameter expected to be an integer.")
    if count == 0:
        raise CommandError("'max-samples' parameter must not be zero")
    if not 0 < count <= UINT32_MAX:
        raise CommandError(
            f"'max-samples' parameter must be between 1 and {UINT32_MAX}"
        )
    return int(count)


def _duration(args: Any) -> int:
    """The ``duration`` argument: whole seconds, not negative.

    A negative duration kills Kea 2.2; leased refuses it.
    """
    missing = "Missing mandatory 'duration' parameter."
    args = _arguments(args, missing)
    if "duration" not in args:
        raise CommandError(missing)
    duration = args["duration"]
    if not is_int(duration):
        raise CommandError(f"{_PROCESSING}intValue() called on non-integer Element")
    if duration < 0:
        raise CommandError("'duration' parameter must not be negative")
    return int(duration)


def _not_found(name: str) -> CommandError:
    return CommandError(f"No '{name}' statistic found")


# The commands.


def statistic_get(state: State, args: Any) -> Outcome:
    """One statistic's samples, or an empty map when there is none."""
    name = _name(args)
    return Outcome(answer(RESULT_SUCCESS, None, _store(state).to_json(name)))


def statistic_get_all(state: State, args: Any) -> Outcome:
    """Every statistic's samples (arguments are ignored, as in Kea)."""
    return Outcome(answer(RESULT_SUCCESS, None, _store(state).all_to_json()))


def statistic_global_get_all(state: State, args: Any) -> Outcome:
    """Every statistic but the per-subnet ones (newer Kea's command)."""
    store = _store(state)
    return Outcome(answer(RESULT_SUCCESS, None, store.all_to_json(subnets=False)))


def statistic_reset(state: State, args: Any) -> Outcome:
    """Reset one statistic to 0, dropping its history."""
    name = _name(args)
    if not _store(state).reset(name):
        raise _not_found(name)
    return Outcome(answer(RESULT_SUCCESS, f"Statistic '{name}' reset."))


def statistic_reset_all(state: State, args: Any) -> Outcome:
    """Reset every statistic to 0."""
    _store(state).reset_all()
    return Outcome(answer(RESULT_SUCCESS, "All statistics reset to neutral values."))


def statistic_remove(state: State, args: Any) -> Outcome:
    """Forget one statistic (it comes back when something counts in it)."""
    name = _name(args)
    if not _store(state).remove(name):
        raise _not_found(name)
    return Outcome(answer(RESULT_SUCCESS, f"Statistic '{name}' removed."))


def statistic_remove_all(state: State, args: Any) -> Outcome:
    """Forget every statistic (with Kea 2.2's deprecation warning)."""
    _store(state).remove_all()
    return Outcome(
        answer(
            RESULT_SUCCESS,
            "Warning: statistic-remove-all command is deprecated. "
            "All statistics removed.",
        )
    )


def statistic_sample_count_set(state: State, args: Any) -> Outcome:
    """Keep at most ``max-samples`` samples of one statistic."""
    name = _name(args)
    count = _max_samples(args)
    if not _store(state).limit_count(name, count):
        raise _not_found(name)
    return Outcome(answer(RESULT_SUCCESS, f"Statistic '{name}' count limit is set."))


def statistic_sample_count_set_all(state: State, args: Any) -> Outcome:
    """Keep at most ``max-samples`` samples of each statistic, new ones too."""
    count = _max_samples(args)
    _store(state).limit_count_all(count)
    return Outcome(answer(RESULT_SUCCESS, "All statistics count limit are set."))


def statistic_sample_age_set(state: State, args: Any) -> Outcome:
    """Keep one statistic's samples of the last ``duration`` seconds."""
    name = _name(args)
    duration = _duration(args)
    if not _store(state).limit_age(name, duration):
        raise _not_found(name)
    return Outcome(answer(RESULT_SUCCESS, f"Statistic '{name}' duration limit is set."))


def statistic_sample_age_set_all(state: State, args: Any) -> Outcome:
    """Keep the last ``duration`` seconds of samples of every statistic."""
    duration = _duration(args)
    _store(state).limit_age_all(duration)
    return Outcome(answer(RESULT_SUCCESS, "All statistics duration limit are set."))


# Kea's command names, for the registry.
HANDLERS = {
    "statistic-get": statistic_get,
    "statistic-get-all": statistic_get_all,
    "statistic-global-get-all": statistic_global_get_all,
    "statistic-reset": statistic_reset,
    "statistic-reset-all": statistic_reset_all,
    "statistic-remove": statistic_remove,
    "statistic-remove-all": statistic_remove_all,
    "statistic-sample-count-set": statistic_sample_count_set,
    "statistic-sample-count-set-all": statistic_sample_count_set_all,
    "statistic-sample-age-set": statistic_sample_age_set,
    "statistic-sample-age-set-all": statistic_sample_age_set_all,
}
