"""Statistics through a real daemon: per-family sockets, config-get, the
recount at start-up and at reload, reclamation on its timer, big numbers
on the wire."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from leased.client import send_command, send_raw
from leased.harness import Daemon, run_leased

CONFIG: dict[str, Any] = {
    "Dhcp4": {
        "control-socket": {"socket-type": "unix", "socket-name": "kea4.sock"},
        "lease-database": {
            "type": "memfile",
            "name": "leases4.csv",
            "lfc-interval": 0,
        },
        "expired-leases-processing": {
            "reclaim-timer-wait-time": 0,
            "flush-reclaimed-timer-wait-time": 0,
        },
        "subnet4": [
            {"id": 1, "subnet": "192.0.2.0/24", "pools": [{"pool": "192.0.2.0/25"}]},
            {"subnet": "198.51.100.0/24"},
        ],
    },
    "Dhcp6": {
        "control-socket": {"socket-type": "unix", "socket-name": "kea6.sock"},
        "lease-database": {
            "type": "memfile",
            "name": "leases6.csv",
            "lfc-interval": 0,
        },
        "subnet6": [
            {"id": 1, "subnet": "2001:db8::/32", "pools": [{"pool": "2001:db8::/56"}]}
        ],
    },
}


def command(path: Path, name: str, arguments: Any = None) -> Any:
    """One command to a socket, decoded exactly (big integers stay exact)."""
    request: dict[str, Any] = {"command": name}
    if arguments is not None:
        request["arguments"] = arguments
    return json.loads(send_raw(str(path), json.dumps(request).encode()))


def samples(path: Path, name: str) -> list[int]:
    answer = command(path, "statistic-get", {"name": name})
    return [value for value, _ in answer["arguments"][name]]


def add4(daemon: Daemon, octet: int, **extra: Any) -> None:
    answer = daemon.command(
        "lease4-add",
        {"ip-address": f"192.0.2.{octet}", "hw-address": "08:00:2b:01:02:03", **extra},
    )
    assert answer["result"] == 0, answer


def test_stats_daemon_each_family_socket_answers_for_its_family(
    tmp_path: Path,
) -> None:
    """The Dhcp4 socket shows IPv4 statistics, the Dhcp6 socket IPv6 ones."""
    with run_leased(CONFIG, tmp_path, own_sockets=True):
        v4 = command(tmp_path / "kea4.sock", "statistic-get-all")["arguments"]
        v6 = command(tmp_path / "kea6.sock", "statistic-get-all")["arguments"]
        v6_by_service = send_raw(
            str(tmp_path / "kea4.sock"),
            b'{"command": "statistic-get-all", "service": ["dhcp6"]}',
        )
        total = send_command(
            str(tmp_path / "kea6.sock"),
            "statistic-get",
            {"name": "subnet[1].total-nas"},
        )["arguments"]["subnet[1].total-nas"][0][0]

    assert "subnet[1].total-addresses" in v4
    assert "subnet[1].total-nas" not in v4
    assert v6["subnet[1].total-nas"][0][0] == 1 << 72
    assert "subnet[1].total-addresses" not in v6
    assert set(json.loads(v6_by_service)["arguments"]) == set(v6)
    # leased's own client decodes big integers exactly too.
    assert total == 1 << 72
    assert isinstance(total, int)


def test_stats_daemon_config_get_shows_one_family_with_ids(tmp_path: Path) -> None:
    """config-get on a family's socket has that family's map, ids filled in."""
    with run_leased(CONFIG, tmp_path, own_sockets=True):
        v4 = command(tmp_path / "kea4.sock", "config-get")["arguments"]
        v6 = command(tmp_path / "kea6.sock", "config-get")["arguments"]

    assert "Dhcp6" not in v4
    assert [subnet["id"] for subnet in v4["Dhcp4"]["subnet4"]] == [1, 2]
    assert "Dhcp4" not in v6
    assert v6["Dhcp6"]["subnet6"][0]["id"] == 1


def test_stats_daemon_start_up_recounts_the_lease_files(tmp_path: Path) -> None:
    """After a restart the counts come from the lease files, one sample."""
    with run_leased(CONFIG, tmp_path, own_sockets=True) as daemon:
        for octet in range(1, 6):
            add4(daemon, octet, state=1 if octet == 2 else 0)
        add4(daemon, 200)
        before = samples(tmp_path / "kea4.sock", "subnet[1].assigned-addresses")

    with run_leased(CONFIG, tmp_path, own_sockets=True):
        socket = tmp_path / "kea4.sock"
        assigned = samples(socket, "subnet[1].assigned-addresses")
        pool = samples(socket, "subnet[1].pool[0].assigned-addresses")
        declined = samples(socket, "declined-addresses")

    assert before[0] == 6
    assert assigned == [6]
    assert pool == [5]
    assert declined == [1]


def test_stats_daemon_reload_recounts_with_new_pools(tmp_path: Path) -> None:
    """config-reload takes new pools on: totals change, counts recounted."""
    with run_leased(CONFIG, tmp_path, own_sockets=True) as daemon:
        add4(daemon, 100)
        add4(daemon, 200)
        socket = tmp_path / "kea4.sock"
        assert samples(socket, "subnet[1].pool[0].assigned-addresses")[0] == 1
        changed = copy.deepcopy(CONFIG)
        changed["Dhcp4"]["subnet4"][0]["pools"] = [{"pool": "192.0.2.0/24"}]
        daemon.config_path.write_text(json.dumps(changed))

        reloaded = command(socket, "config-reload")
        total = samples(socket, "subnet[1].total-addresses")
        pool = samples(socket, "subnet[1].pool[0].assigned-addresses")

    assert reloaded == {"result": 0, "text": "Configuration successful."}
    assert total == [256]
    assert pool == [2]


def test_stats_daemon_reclamation_timer_counts_reclaimed_leases(
    tmp_path: Path,
) -> None:
    """Expired leases reclaimed on the timer show in reclaimed-leases."""
    config = copy.deepcopy(CONFIG)
    config["Dhcp4"]["expired-leases-processing"] = {
        "reclaim-timer-wait-time": 1,
        "flush-reclaimed-timer-wait-time": 0,
    }
    with run_leased(config, tmp_path, own_sockets=True) as daemon:
        add4(daemon, 7, expire=1000, **{"valid-lft": 10})
        add4(daemon, 8, expire=1000, state=1, **{"valid-lft": 10})
        socket = tmp_path / "kea4.sock"
        deadline = time.monotonic() + 10
        while samples(socket, "reclaimed-leases")[0] < 2:
            assert time.monotonic() < deadline, "nothing reclaimed"
            time.sleep(0.1)
        declined = samples(socket, "reclaimed-declined-addresses")
        assigned = samples(socket, "subnet[1].assigned-addresses")

    assert declined[0] == 1
    assert assigned[0] == 0


@pytest.mark.skipif(shutil.which("socat") is None, reason="socat is not installed")
def test_stats_daemon_big_totals_reach_socat_exactly(tmp_path: Path) -> None:
    """A 2**72-address pool's size travels as an exact JSON integer."""
    with run_leased(CONFIG, tmp_path, own_sockets=True):
        output = subprocess.run(
            ["socat", "-", f"UNIX-CONNECT:{tmp_path / 'kea6.sock'}"],
            input=b'{"command": "statistic-get", '
            b'"arguments": {"name": "subnet[1].total-nas"}}',
            capture_output=True,
            timeout=10,
            check=True,
        ).stdout

    assert b'"subnet[1].total-nas":[[4722366482869645213696,"' in output
