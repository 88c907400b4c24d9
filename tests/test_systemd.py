"""Running under systemd: units, socket activation, readiness, reload, logs.

The daemon is started the way systemd starts it, through the real
``systemd-socket-activate`` (which passes the listening socket as systemd
does), with a datagram socket of the test as ``NOTIFY_SOCKET``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from leased.client import send_command
from leased.harness import run_leased
from tests.conftest import KEA_TEST_CONFIG

ROOT = Path(__file__).resolve().parent.parent
UNITS = ROOT / "systemd"
ACTIVATE = shutil.which("systemd-socket-activate")
ANALYZE = shutil.which("systemd-analyze")


@pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed")
def test_systemd_units_verify_clean(tmp_path: Path) -> None:
    for unit in ("leased.service", "leased.socket"):
        shutil.copy(UNITS / unit, tmp_path / unit)

    process = subprocess.run(
        [
            str(ANALYZE),
            "verify",
            str(tmp_path / "leased.service"),
            str(tmp_path / "leased.socket"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert process.returncode == 0, process.stdout + process.stderr
    assert process.stdout + process.stderr == ""


class Notifications:
    """A datagram socket standing in for systemd's notification socket."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.messages: list[dict[str, str]] = []

    def wait_for(self, key: str, timeout: float = 20.0) -> dict[str, str]:
        """Read messages until one has ``key``; return it."""
        deadline = time.monotonic() + timeout
        while True:
            self.sock.settimeout(max(deadline - time.monotonic(), 0.01))
            data = self.sock.recv(65536).decode()
            message = dict(line.split("=", 1) for line in data.splitlines())
            self.messages.append(message)
            if key in message:
                return message

    def keys(self) -> list[str]:
        """The first key of every message so far, in order."""
        return [next(iter(message)) for message in self.messages]


def config_file(path: Path, **changes: Any) -> Path:
    config = json.loads(json.dumps(KEA_TEST_CONFIG))
    for name in ("Dhcp4", "Dhcp6"):
        config[name]["lease-database"] = {"type": "memfile", "lfc-interval": 0}
    config["Dhcp4"].update(changes)
    path.write_text(json.dumps(config))
    return path


@pytest.fixture
def activated(
    tmp_path: Path,
) -> Iterator[tuple[subprocess.Popen[bytes], Notifications, Path]]:
    """leased started by systemd-socket-activate, with a notify socket."""
    if ACTIVATE is None:
        pytest.skip("systemd-socket-activate is not installed")
    notifications = Notifications(tmp_path / "notify")
    socket_path = tmp_path / "leased.sock"
    config_file(tmp_path / "leased.json")
    stderr = open(tmp_path / "stderr", "wb")  # noqa: SIM115 closed below
    process = subprocess.Popen(
        [
            ACTIVATE,
            "-l",
            str(socket_path),
            "--fdname=control",
            "-E",
            f"NOTIFY_SOCKET={notifications.path}",
            "-E",
            "WATCHDOG_USEC=400000",
            "-E",
            f"PYTHONPATH={ROOT}",
            sys.executable,
            "-m",
            "leased",
            "-c",
            str(tmp_path / "leased.json"),
            "-d",
            str(tmp_path),
        ],
        stderr=stderr,
    )
    try:
        deadline = time.monotonic() + 20
        while not socket_path.exists():
            assert time.monotonic() < deadline, "systemd-socket-activate did not listen"
            time.sleep(0.01)
        yield process, notifications, socket_path
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=20)
        stderr.close()
        notifications.sock.close()


def test_systemd_activation_readiness_reload_and_stop(
    activated: tuple[subprocess.Popen[bytes], Notifications, Path],
) -> None:
    process, notifications, socket_path = activated

    # systemd-socket-activate starts the daemon on the first connection;
    # that connection waits in the socket's backlog and is answered.
    first = send_command(str(socket_path), "version-get")
    ready = notifications.wait_for("READY")
    added = send_command(
        str(socket_path),
        "lease4-add",
        {"ip-address": "192.0.2.1", "hw-address": "01:02:03:04:05:06"},
    )
    process.send_signal(signal.SIGHUP)
    reloading = notifications.wait_for("RELOADING")
    ready_again = notifications.wait_for("READY")
    watchdog = notifications.wait_for("WATCHDOG")
    process.send_signal(signal.SIGTERM)
    stopping = notifications.wait_for("STOPPING")
    status = process.wait(timeout=20)

    assert first["result"] == 0
    assert added["result"] == 0
    assert ready["STATUS"] == "serving, 0 IPv4 and 0 IPv6 leases"
    assert ready["MAINPID"] == str(process.pid)
    assert int(reloading["MONOTONIC_USEC"]) > 0
    assert ready_again["STATUS"] == "serving, 1 IPv4 and 0 IPv6 leases"
    assert watchdog == {"WATCHDOG": "1"}
    assert stopping["STOPPING"] == "1"
    assert status == 0
    keys = notifications.keys()
    assert keys.index("READY") < keys.index("RELOADING") < keys.index("STOPPING")
    assert keys[-1] == "STOPPING"
    # The socket belongs to whoever passed it: the daemon leaves it alone.
    assert socket_path.exists()


def test_systemd_reload_applies_a_good_config_and_refuses_a_bad_one(
    tmp_path: Path,
) -> None:
    config: dict[str, Any] = json.loads(json.dumps(KEA_TEST_CONFIG))
    with run_leased(config, tmp_path) as daemon:
        outside = {"ip-address": "10.0.0.1", "hw-address": "01:02:03:04:05:06"}
        before = daemon.command("lease4-add", outside)
        # A new subnet, written into the daemon's own file, then reloaded.
        written = json.loads(daemon.config_path.read_text())
        written["Dhcp4"]["subnet4"].append({"id": 7, "subnet": "10.0.0.0/8"})
        daemon.config_path.write_text(json.dumps(written))
        good = daemon.command("config-reload")
        after = daemon.command("lease4-add", outside)
        # A broken file is refused; the configuration in force stays.
        daemon.config_path.write_text('{"Dhcp4": {"subnet4": [{"subnet": "bogus"}]}}')
        bad = daemon.command("config-reload")
        still = daemon.command(
            "lease4-add", {"ip-address": "10.0.0.2", "hw-address": "01:02:03:04:05:06"}
        )
        os.kill(daemon.process.pid, signal.SIGHUP)
        time.sleep(0.3)
        alive = daemon.command("version-get")
        stderr = daemon.stderr_text()

    assert before["result"] == 1
    assert good == {"result": 0, "text": "Configuration successful."}
    assert after["result"] == 0
    assert bad["result"] == 1
    assert bad["text"].startswith("Config reload failed: Dhcp4/subnet4[0]/subnet")
    assert still["result"] == 0
    assert alive["result"] == 0
    assert "configuration reload refused" in stderr


def test_systemd_reload_refuses_to_move_the_lease_files(tmp_path: Path) -> None:
    config: dict[str, Any] = json.loads(json.dumps(KEA_TEST_CONFIG))
    with run_leased(config, tmp_path) as daemon:
        written = json.loads(daemon.config_path.read_text())
        written["Dhcp4"]["lease-database"] = {"type": "memfile", "name": "other4.csv"}
        daemon.config_path.write_text(json.dumps(written))
        answer = daemon.command("config-reload")

    assert answer == {
        "result": 1,
        "text": "Config reload failed: Dhcp4/lease-database: lease files "
        "(persist, name) change only at a restart",
    }


def test_systemd_config_test_checks_without_applying(tmp_path: Path) -> None:
    config: dict[str, Any] = json.loads(json.dumps(KEA_TEST_CONFIG))
    with run_leased(config, tmp_path) as daemon:
        good = daemon.command(
            "config-test", {"Dhcp4": {"subnet4": [{"id": 9, "subnet": "10.9.0.0/16"}]}}
        )
        bad = daemon.command("config-test", {"Dhcp4": {"subnet4": [{"subnet": 5}]}})
        missing = daemon.command("config-test")
        unchanged = daemon.command(
            "lease4-add", {"ip-address": "10.9.0.1", "hw-address": "01:02:03:04:05:06"}
        )

    assert good["result"] == 0
    assert good["text"].startswith("Configuration seems sane.")
    assert bad["result"] == 1
    assert bad["text"].startswith("Dhcp4/subnet4[0]/subnet")
    assert missing == {"result": 1, "text": "Missing mandatory 'arguments' parameter."}
    assert unchanged["result"] == 1  # subnet 9 was only tested, not applied


def test_systemd_journal_lines_carry_syslog_priorities(tmp_path: Path) -> None:
    path = config_file(
        tmp_path / "leased.json",
        **{
            "control-socket": {
                "socket-type": "unix",
                "socket-name": str(tmp_path / "s"),
            }
        },
    )
    environment = {
        **os.environ,
        "JOURNAL_STREAM": "8:12345",
        "PYTHONPATH": str(ROOT),
    }

    process = subprocess.run(
        [
            sys.executable,
            "-m",
            "leased",
            "-c",
            str(path),
            "-d",
            str(tmp_path / "nowhere"),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        env=environment,
    )

    lines = process.stderr.splitlines()
    assert process.returncode == 1
    assert lines, "nothing logged"
    assert all(line[:3] in ("<6>", "<4>", "<3>") for line in lines), lines
    assert any(line.startswith("<3>ERROR leased.server: cannot") for line in lines)
