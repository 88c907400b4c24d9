"""Shared fixtures: Kea's own lease-commands test configuration, an engine."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from leased import config
from leased.commands import build_registry
from leased.engine import Engine, State
from leased.leasefile import FileSet
from leased.wire import streamed

# The configuration Kea's lease commands tests use: two IPv4 and two IPv6
# subnets without pools, lifetimes small enough to tell apart.
KEA_TEST_CONFIG: dict[str, Any] = {
    "Dhcp4": {
        "valid-lifetime": 3,
        "subnet4": [
            {"id": 44, "subnet": "192.0.2.0/24"},
            {"id": 88, "subnet": "192.0.3.0/24"},
        ],
    },
    "Dhcp6": {
        "preferred-lifetime": 3,
        "valid-lifetime": 4,
        "subnet6": [
            {"id": 66, "subnet": "2001:db8:1::/48"},
            {"id": 99, "subnet": "2001:db8:2::/48"},
        ],
    },
}

NOW = 1_900_000_000


@pytest.fixture
def engine() -> Engine:
    """An engine on the Kea test configuration with a fixed clock."""
    state = State(config.build(KEA_TEST_CONFIG), clock=lambda: NOW)
    return Engine(state, build_registry())


def run(
    engine: Engine, command: str, arguments: Any = ..., **extra: Any
) -> dict[str, Any]:
    """Execute one command; ``...`` leaves ``arguments`` out."""
    request: dict[str, Any] = {"command": command, **extra}
    if arguments is not ...:
        request["arguments"] = arguments
    answer = engine.execute(request)
    leases = streamed(answer)
    if leases is not None:
        # A lease list is rendered as it is sent; render it as the wire does.
        answer["arguments"]["leases"] = orjson.loads(b"".join(leases.chunks()))
    return answer


def lfc_arguments(files: FileSet, version: int = 4) -> list[str]:
    """kea-lfc's command line for a file set (leased-lfc takes the same)."""
    return [
        f"-{version}",
        "-x",
        str(files.compacted),
        "-i",
        str(files.previous),
        "-o",
        str(files.output),
        "-f",
        str(files.completed),
        "-p",
        str(files.pid),
        "-c",
        "ignored",
    ]
