"""Top-level request checks and the server commands."""

from __future__ import annotations

from typing import Any

import pytest

from leased import __version__
from leased.engine import Engine
from tests.conftest import KEA_TEST_CONFIG, run

PREFIX = "Error during command processing: "


@pytest.mark.parametrize(
    ("request_value", "answer"),
    [
        (
            [1, 2],
            {
                "result": 1,
                "text": PREFIX + "Invalid command Element specified, expected map",
            },
        ),
        (
            {},
            {
                "result": 1,
                "text": PREFIX
                + "Invalid answer specified, does not contain mandatory 'command'",
            },
        ),
        (
            {"command": "x", "extra": 1, "arguments": {}},
            {
                "result": 1,
                "text": PREFIX
                + "Received command contains unsupported parameter 'extra'",
            },
        ),
        (
            {"command": 1, "extra": 1},
            {
                "result": 1,
                "text": PREFIX
                + "Received command contains unsupported parameter 'extra'",
            },
        ),
        (
            {"command": {}},
            {
                "result": 1,
                "text": PREFIX + "'command' element in command message is not a string",
            },
        ),
        ({"command": "foo"}, {"result": 2, "text": "'foo' command not supported."}),
        ({"command": ""}, {"result": 2, "text": "'' command not supported."}),
        (
            {"command": "ha-heartbeat"},
            {"result": 2, "text": "'ha-heartbeat' command not supported."},
        ),
    ],
)
def test_engine_top_level_checks(
    engine: Engine, request_value: Any, answer: dict[str, Any]
) -> None:
    assert engine.execute(request_value) == answer


def test_engine_accepts_service_and_remote_address(engine: Engine) -> None:
    answer = run(engine, "version-get", service=["dhcp4"], **{"remote-address": "::1"})

    assert answer["result"] == 0


def test_list_commands_is_sorted_and_complete(engine: Engine) -> None:
    answer = run(engine, "list-commands")

    assert answer["result"] == 0
    assert "text" not in answer
    assert answer["arguments"] == sorted(answer["arguments"])
    assert set(answer["arguments"]) == set(engine.registry)


def test_version_get(engine: Engine) -> None:
    answer = run(engine, "version-get")

    assert answer["text"] == __version__
    assert answer["arguments"]["extended"].startswith(__version__ + "\n")


def test_status_get_has_kea_keys(engine: Engine) -> None:
    arguments = run(engine, "status-get")["arguments"]

    assert {"pid", "uptime", "reload", "multi-threading-enabled"} <= set(arguments)


def test_config_get_returns_the_configuration(engine: Engine) -> None:
    assert run(engine, "config-get") == {"arguments": KEA_TEST_CONFIG, "result": 0}


def test_shutdown_records_the_exit_value(engine: Engine) -> None:
    assert run(engine, "shutdown", {"exit-value": 3}) == {
        "result": 0,
        "text": "Shutting down.",
    }
    assert engine.state.shutdown_requested == 3


def test_engine_survives_a_handler_bug(engine: Engine) -> None:
    def broken(state: Any, arguments: Any) -> Any:
        raise ZeroDivisionError("boom")

    engine.registry["broken"] = broken

    assert run(engine, "broken") == {"result": 1, "text": "internal error: boom"}
    assert run(engine, "version-get")["result"] == 0
