"""The statistic-* commands: one test per outcome, with Kea's texts."""

from __future__ import annotations

from typing import Any

import pytest

from leased.commands import build_registry
from leased.engine import Engine
from leased.stats import Statistics
from tests.conftest import run

PREFIX = "Error during command processing: "
NON_MAP = {"result": 1, "text": PREFIX + "get(string) called on a non-map Element"}
NO_NAME = {"result": 1, "text": "Missing mandatory 'name' parameter."}
NAME_TYPE = {"result": 1, "text": "'name' parameter expected to be a string."}


@pytest.fixture
def counted(engine: Engine) -> Engine:
    """The Kea test engine, keeping statistics."""
    Statistics.attach(engine)
    return engine


def samples(engine: Engine, name: str) -> list[int]:
    answer = run(engine, "statistic-get", {"name": name})
    return [value for value, _ in answer["arguments"][name]]


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (..., NO_NAME),
        ({}, NO_NAME),
        ({"other": 1}, NO_NAME),
        (None, NON_MAP),
        ("x", NON_MAP),
        ([1], NON_MAP),
        ({"name": 1}, NAME_TYPE),
        ({"name": None}, NAME_TYPE),
    ],
)
@pytest.mark.parametrize(
    "command", ["statistic-get", "statistic-reset", "statistic-remove"]
)
def test_statistic_name_commands_check_name_as_kea(
    counted: Engine, command: str, arguments: Any, expected: dict[str, Any]
) -> None:
    """get, reset and remove refuse a missing or non-string name alike."""
    assert run(counted, command, arguments) == expected


def test_statistic_get_answers_samples(counted: Engine) -> None:
    """A known statistic comes back as its samples, without a text."""
    answer = run(counted, "statistic-get", {"name": "subnet[44].assigned-addresses"})

    assert list(answer) == ["arguments", "result"]
    assert answer["result"] == 0
    [[value, when]] = answer["arguments"]["subnet[44].assigned-addresses"]
    assert value == 0
    assert len(when) == len("2026-12-03 18:32:53.481668")


def test_statistic_get_unknown_answers_an_empty_map(counted: Engine) -> None:
    """An unknown name is not an error: result 0 and no statistic."""
    assert run(counted, "statistic-get", {"name": "nope"}) == {
        "arguments": {},
        "result": 0,
    }


def test_statistic_get_follows_lease_commands(counted: Engine) -> None:
    """Adding and deleting leases shows in the samples, newest first."""
    for octet in (1, 2):
        run(
            counted,
            "lease4-add",
            {"ip-address": f"192.0.2.{octet}", "hw-address": "08:08:08:08:08:08"},
        )
    run(counted, "lease4-del", {"ip-address": "192.0.2.1"})

    assert samples(counted, "subnet[44].assigned-addresses") == [1, 2, 1, 0]
    assert samples(counted, "assigned-addresses") == [1, 2, 1, 0]


def test_statistic_get_all_lists_every_statistic(counted: Engine) -> None:
    """get-all answers every statistic of the family, arguments ignored."""
    answer = run(counted, "statistic-get-all", "ignored")

    assert answer["result"] == 0
    assert "text" not in answer
    names = list(answer["arguments"])
    assert names == sorted(names)
    assert "subnet[88].total-addresses" in names
    assert "declined-addresses" in names


def test_statistic_global_get_all_leaves_out_subnets(counted: Engine) -> None:
    """Newer Kea's global-get-all lists only the global statistics."""
    answer = run(counted, "statistic-global-get-all")

    assert answer["result"] == 0
    assert sorted(answer["arguments"]) == [
        "assigned-addresses",
        "cumulative-assigned-addresses",
        "declined-addresses",
        "reclaimed-declined-addresses",
        "reclaimed-leases",
    ]


def test_statistic_reset_sets_zero(counted: Engine) -> None:
    """reset leaves one sample of 0 and says so."""
    answer = run(counted, "statistic-reset", {"name": "subnet[44].total-addresses"})

    assert answer == {
        "result": 0,
        "text": "Statistic 'subnet[44].total-addresses' reset.",
    }
    assert samples(counted, "subnet[44].total-addresses") == [0]


def test_statistic_reset_unknown_is_an_error(counted: Engine) -> None:
    """reset of an unknown name: result 1, Kea's text."""
    assert run(counted, "statistic-reset", {"name": "nope"}) == {
        "result": 1,
        "text": "No 'nope' statistic found",
    }


def test_statistic_remove_forgets_it(counted: Engine) -> None:
    """remove drops the statistic; a second remove finds nothing."""
    name = "subnet[44].total-addresses"

    first = run(counted, "statistic-remove", {"name": name})
    second = run(counted, "statistic-remove", {"name": name})

    assert first == {"result": 0, "text": f"Statistic '{name}' removed."}
    assert second == {"result": 1, "text": f"No '{name}' statistic found"}
    assert run(counted, "statistic-get", {"name": name})["arguments"] == {}


def test_statistic_remove_then_count_creates_it_again(counted: Engine) -> None:
    """A removed statistic comes back when a change counts in it."""
    run(counted, "statistic-remove", {"name": "subnet[44].assigned-addresses"})

    run(
        counted,
        "lease4-add",
        {"ip-address": "192.0.2.1", "hw-address": "08:08:08:08:08:08"},
    )

    assert samples(counted, "subnet[44].assigned-addresses") == [1]


def test_statistic_reset_all_and_remove_all(counted: Engine) -> None:
    """reset-all zeroes everything; remove-all (deprecated) empties all."""
    reset = run(counted, "statistic-reset-all", "ignored")
    assert reset == {"result": 0, "text": "All statistics reset to neutral values."}
    assert samples(counted, "subnet[44].total-addresses") == [0]

    removed = run(counted, "statistic-remove-all", {})

    assert removed == {
        "result": 0,
        "text": "Warning: statistic-remove-all command is deprecated. "
        "All statistics removed.",
    }
    assert run(counted, "statistic-get-all") == {"arguments": {}, "result": 0}


def test_statistic_sample_count_set_limits_one(counted: Engine) -> None:
    """sample-count-set keeps that many samples of the named statistic."""
    name = "subnet[44].assigned-addresses"
    for octet in (1, 2, 3):
        run(
            counted,
            "lease4-add",
            {"ip-address": f"192.0.2.{octet}", "hw-address": "08:08:08:08:08:08"},
        )

    answer = run(
        counted, "statistic-sample-count-set", {"name": name, "max-samples": 2}
    )

    assert answer == {"result": 0, "text": f"Statistic '{name}' count limit is set."}
    assert samples(counted, name) == [3, 2]
    assert len(samples(counted, "assigned-addresses")) == 4


@pytest.mark.parametrize(
    ("arguments", "text"),
    [
        ({"max-samples": 2}, "Missing mandatory 'name' parameter."),
        ({"name": "x"}, "Missing mandatory 'max-samples' parameter."),
        (
            {"name": "x", "max-samples": "2"},
            "'max-samples' parameter expected to be an integer.",
        ),
        (
            {"name": "x", "max-samples": True},
            "'max-samples' parameter expected to be an integer.",
        ),
        (
            {"name": "x", "max-samples": 1.5},
            "'max-samples' parameter expected to be an integer.",
        ),
        ({"name": "x", "max-samples": 0}, "'max-samples' parameter must not be zero"),
        (
            {"name": "x", "max-samples": -1},
            "'max-samples' parameter must be between 1 and 4294967295",
        ),
        (
            {"name": "x", "max-samples": 1 << 32},
            "'max-samples' parameter must be between 1 and 4294967295",
        ),
        ({"name": "x", "max-samples": 2}, "No 'x' statistic found"),
    ],
)
def test_statistic_sample_count_set_refuses(
    counted: Engine, arguments: dict[str, Any], text: str
) -> None:
    """Bad or missing arguments, and unknown names, get a clear error."""
    assert run(counted, "statistic-sample-count-set", arguments) == {
        "result": 1,
        "text": text,
    }


def test_statistic_sample_count_set_all_limits_every_one(counted: Engine) -> None:
    """sample-count-set-all applies to all statistics, new ones included."""
    answer = run(counted, "statistic-sample-count-set-all", {"max-samples": 1})
    for octet in (1, 2):
        run(
            counted,
            "lease4-add",
            {"ip-address": f"192.0.3.{octet}", "hw-address": "08:08:08:08:08:08"},
        )

    assert answer == {"result": 0, "text": "All statistics count limit are set."}
    assert samples(counted, "subnet[88].assigned-addresses") == [2]


@pytest.mark.parametrize(
    ("arguments", "text"),
    [
        (..., "Missing mandatory 'max-samples' parameter."),
        ({}, "Missing mandatory 'max-samples' parameter."),
        ("x", PREFIX + "get(string) called on a non-map Element"),
        ({"max-samples": True}, "'max-samples' parameter expected to be an integer."),
        ({"max-samples": 0}, "'max-samples' parameter must not be zero"),
        (
            {"max-samples": -3},
            "'max-samples' parameter must be between 1 and 4294967295",
        ),
    ],
)
def test_statistic_sample_count_set_all_refuses(
    counted: Engine, arguments: Any, text: str
) -> None:
    """count-set-all checks max-samples as count-set does."""
    assert run(counted, "statistic-sample-count-set-all", arguments) == {
        "result": 1,
        "text": text,
    }


def test_statistic_sample_age_set_limits_one(counted: Engine) -> None:
    """sample-age-set switches the named statistic to an age limit."""
    name = "subnet[44].assigned-addresses"

    answer = run(counted, "statistic-sample-age-set", {"name": name, "duration": 0})
    run(
        counted,
        "lease4-add",
        {"ip-address": "192.0.2.1", "hw-address": "08:08:08:08:08:08"},
    )

    assert answer == {
        "result": 0,
        "text": f"Statistic '{name}' duration limit is set.",
    }
    # Samples taken in the same microsecond may both stay; the old one of
    # start-up is gone.
    assert samples(counted, name)[0] == 1
    assert 0 not in samples(counted, name)


@pytest.mark.parametrize(
    ("arguments", "text"),
    [
        ({"duration": 5}, "Missing mandatory 'name' parameter."),
        ({"name": "x"}, "Missing mandatory 'duration' parameter."),
        (
            {"name": "x", "duration": "5"},
            PREFIX + "intValue() called on non-integer Element",
        ),
        (
            {"name": "x", "duration": 1.5},
            PREFIX + "intValue() called on non-integer Element",
        ),
        ({"name": "x", "duration": -5}, "'duration' parameter must not be negative"),
        ({"name": "x", "duration": 5}, "No 'x' statistic found"),
    ],
)
def test_statistic_sample_age_set_refuses(
    counted: Engine, arguments: dict[str, Any], text: str
) -> None:
    """Bad or missing arguments get an error; a negative age too (Kea dies)."""
    assert run(counted, "statistic-sample-age-set", arguments) == {
        "result": 1,
        "text": text,
    }


def test_statistic_sample_age_set_all(counted: Engine) -> None:
    """age-set-all answers Kea's text; bad durations are refused."""
    assert run(counted, "statistic-sample-age-set-all", {"duration": 60}) == {
        "result": 0,
        "text": "All statistics duration limit are set.",
    }
    assert run(counted, "statistic-sample-age-set-all", ...) == {
        "result": 1,
        "text": "Missing mandatory 'duration' parameter.",
    }
    assert run(counted, "statistic-sample-age-set-all", {"duration": -1}) == {
        "result": 1,
        "text": "'duration' parameter must not be negative",
    }


def test_statistic_commands_address_a_family_by_service(counted: Engine) -> None:
    """service ["dhcp6"] reaches the IPv6 statistics on a shared socket."""
    v4 = run(counted, "statistic-get", {"name": "subnet[66].total-nas"})
    v6 = run(
        counted,
        "statistic-get",
        {"name": "subnet[66].total-nas"},
        service=["dhcp6"],
    )

    assert v4["arguments"] == {}
    assert v6["arguments"]["subnet[66].total-nas"][0][0] == 0


def test_statistic_commands_without_statistics_say_so(engine: Engine) -> None:
    """An engine keeping no statistics answers an error, not a guess."""
    assert run(engine, "statistic-get-all") == {
        "result": 1,
        "text": "statistics are not kept by this server",
    }


def test_statistic_commands_are_listed(counted: Engine) -> None:
    """list-commands names every statistic command."""
    names = run(counted, "list-commands")["arguments"]

    assert set(names) >= {
        "statistic-get",
        "statistic-get-all",
        "statistic-global-get-all",
        "statistic-reset",
        "statistic-reset-all",
        "statistic-remove",
        "statistic-remove-all",
        "statistic-sample-count-set",
        "statistic-sample-count-set-all",
        "statistic-sample-age-set",
        "statistic-sample-age-set-all",
    }
    assert build_registry().keys() == set(names)
