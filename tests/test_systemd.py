"""Running under systemd: units, socket activation, readiness, reload, logs.

The daemon is started the way systemd starts it, through the real
``systemd-socket-activate`` (which passes the listening socket as systemd
does), with a datagram socket of the test as ``NOTIFY_SOCKET``.
"""

from __future__ import annotations

import contextlib
import itertools
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


def unit_settings(name: str) -> list[tuple[str, str, str]]:
    """A unit file's settings: (key, value, the line before it)."""
    lines = (UNITS / name).read_text().splitlines()
    settings = []
    for before, line in zip(["", *lines], lines, strict=False):
        if line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            settings.append((key, value, before))
    return settings


@pytest.mark.parametrize("unit", ["leased.service", "leased.socket"])
def test_systemd_units_explain_every_setting(unit: str) -> None:
    """Each setting but the description has its reason in a comment right
    above it."""
    unexplained = [
        f"{key}={value}"
        for key, value, before in unit_settings(unit)
        if key != "Description" and not before.startswith("#")
    ]

    assert len(unit_settings(unit)) > 5
    assert unexplained == []


def test_systemd_units_have_what_a_reviewer_expects() -> None:
    """Readiness, reload, directories, an unprivileged user, hardening; the
    socket 0660 with a group, at the path the example configuration and
    ExecReload use."""
    service = dict((key, value) for key, value, _ in unit_settings("leased.service"))
    socket_unit = dict((key, value) for key, value, _ in unit_settings("leased.socket"))
    example = json.loads(
        "\n".join(
            line
            for line in (ROOT / "examples" / "systemd.json").read_text().splitlines()
            if not line.lstrip().startswith("//")
        )
    )

    assert service["Type"] == "notify"
    assert service["ExecStart"].endswith("leased -c /etc/leased/leased.json")
    assert "config-reload" in service["ExecReload"]
    assert service["StateDirectory"] == service["RuntimeDirectory"] == "leased"
    assert service.get("User", "root") != "root" or service.get("DynamicUser") == "yes"
    for key, value in {
        "ProtectSystem": "strict",
        "NoNewPrivileges": "yes",
        "PrivateTmp": "yes",
        "ProtectHome": "yes",
        "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
        "UMask": "0027",
        "CapabilityBoundingSet": "",
    }.items():
        assert service[key] == value, key
    assert socket_unit["SocketMode"] == "0660"
    assert socket_unit["SocketGroup"] == service["Group"] == "leased"
    path = socket_unit["ListenStream"]
    assert f"-s {path} " in service["ExecReload"]
    assert example["Dhcp4"]["control-socket"]["socket-name"] == path


@pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed")
def test_systemd_service_exposure_is_low(tmp_path: Path) -> None:
    """systemd-analyze security rates the service's exposure 2.0 or lower."""
    shutil.copy(UNITS / "leased.service", tmp_path / "leased.service")

    process = subprocess.run(
        [
            str(ANALYZE),
            "security",
            "--offline=true",
            "--threshold=20",
            str(tmp_path / "leased.service"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if "--offline" in process.stderr:
        pytest.skip("this systemd-analyze cannot rate unit files offline")

    assert process.returncode == 0, process.stdout[-2000:]
    assert "Overall exposure level for leased.service: 1." in process.stdout


def test_systemd_exec_reload_reports_a_refused_config(tmp_path: Path) -> None:
    """The unit's ExecReload (leasectl config-reload) fails with the error
    when the new configuration is refused, and succeeds otherwise."""
    service = dict((key, value) for key, value, _ in unit_settings("leased.service"))
    words = service["ExecReload"].split()
    assert words[:2] == ["/usr/bin/env", "leasectl"]
    config: dict[str, Any] = json.loads(json.dumps(KEA_TEST_CONFIG))

    with run_leased(config, tmp_path) as daemon:
        command = [sys.executable, "-m", "leased.leasectl", *words[2:]]
        command[command.index("-s") + 1] = daemon.socket_path
        environment = {**os.environ, "PYTHONPATH": str(ROOT)}
        good = subprocess.run(command, capture_output=True, text=True, env=environment)
        daemon.config_path.write_text('{"Dhcp4": {"valid-lifetime": -1}}')
        bad = subprocess.run(command, capture_output=True, text=True, env=environment)

    assert (good.returncode, good.stdout) == (0, "Configuration successful.\n")
    assert bad.returncode == 1
    assert bad.stderr.startswith("Config reload failed: Dhcp4/valid-lifetime")


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

    def first_keys(self) -> list[str]:
        """The first key of every message so far, in order."""
        return [next(iter(message)) for message in self.messages]


def config_file(path: Path, **changes: Any) -> Path:
    config = json.loads(json.dumps(KEA_TEST_CONFIG))
    for name in ("Dhcp4", "Dhcp6"):
        config[name]["lease-database"] = {"type": "memfile", "lfc-interval": 0}
    config["Dhcp4"].update(changes)
    path.write_text(json.dumps(config))
    return path


def lease_file(path: Path, count: int) -> None:
    """A Kea lease file with ``count`` IPv4 leases in subnet 44."""
    rows = [
        f"192.0.2.{number},08:00:2b:00:00:{number:02x},,3600,{2_000_000_000},44,"
        "0,0,,0,,0"
        for number in range(1, count + 1)
    ]
    header = (
        "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,"
        "fqdn_rev,hostname,state,user_context,pool_id"
    )
    path.write_text("\n".join([header, *rows]) + "\n")


@contextlib.contextmanager
def start_activated(
    tmp_path: Path, *environment: str
) -> Iterator[tuple[subprocess.Popen[bytes], Notifications, Path]]:
    """leased started by systemd-socket-activate, with a notify socket.

    ``environment`` holds more ``NAME=value`` settings for the daemon.
    """
    if ACTIVATE is None:
        pytest.skip("systemd-socket-activate is not installed")
    notifications = Notifications(tmp_path / "notify")
    socket_path = tmp_path / "leased.sock"
    config_file(tmp_path / "leased.json")
    settings = [f"NOTIFY_SOCKET={notifications.path}", f"PYTHONPATH={ROOT}"]
    stderr = open(tmp_path / "stderr", "wb")  # noqa: SIM115 closed below
    process = subprocess.Popen(
        [
            ACTIVATE,
            "-l",
            str(socket_path),
            "--fdname=control",
            *(f"--setenv={setting}" for setting in [*settings, *environment]),
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


def monotonic_usec() -> int:
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000


def test_systemd_activation_readiness_reload_and_stop(tmp_path: Path) -> None:
    """Under systemd-socket-activate: READY once the lease files are loaded
    (the first client waits in the socket's backlog and is answered),
    RELOADING with the monotonic time then READY around SIGHUP, STOPPING
    last, exit 0, and the passed socket (and its name) left to systemd."""
    lease_file(tmp_path / "kea-leases4.csv", 200)
    with start_activated(tmp_path, "WATCHDOG_USEC=400000") as started:
        process, notifications, socket_path = started
        first = send_command(str(socket_path), "version-get")
        ready = notifications.wait_for("READY")
        added = send_command(
            str(socket_path),
            "lease4-add",
            {"ip-address": "192.0.2.201", "hw-address": "01:02:03:04:05:06"},
        )
        before_reload = monotonic_usec()
        process.send_signal(signal.SIGHUP)
        reloading = notifications.wait_for("RELOADING")
        after_reload = monotonic_usec()
        ready_again = notifications.wait_for("READY")
        process.send_signal(signal.SIGTERM)
        stopping = notifications.wait_for("STOPPING")
        status = process.wait(timeout=20)
        log = (tmp_path / "stderr").read_text()

    assert first["result"] == 0
    assert added["result"] == 0
    assert ready["STATUS"] == "serving, 200 IPv4 and 0 IPv6 leases"
    assert ready["MAINPID"] == str(process.pid)
    assert before_reload <= int(reloading["MONOTONIC_USEC"]) <= after_reload
    assert reloading["STATUS"] == "reloading"
    assert ready_again["STATUS"] == "serving, 201 IPv4 and 0 IPv6 leases"
    assert stopping == {"STOPPING": "1", "STATUS": "stopping"}
    assert status == 0
    keys = [key for key in notifications.first_keys() if key != "WATCHDOG"]
    assert keys == ["READY", "RELOADING", "READY", "STOPPING"]
    # The socket belongs to whoever passed it: the daemon leaves it alone.
    assert socket_path.exists()
    assert (
        f"using control socket passed by systemd path={socket_path} name=control" in log
    )


def test_systemd_watchdog_pings_at_half_the_timeout(tmp_path: Path) -> None:
    """WATCHDOG=1 every half of WATCHDOG_USEC (0.4 s: every 0.2 s)."""
    with start_activated(tmp_path, "WATCHDOG_USEC=400000") as started:
        _, notifications, socket_path = started
        send_command(str(socket_path), "version-get")
        notifications.wait_for("READY")
        times = []
        for _ in range(8):
            notifications.wait_for("WATCHDOG")
            times.append(time.monotonic())

    gaps = sorted(later - earlier for earlier, later in itertools.pairwise(times))
    median = gaps[len(gaps) // 2]
    assert 0.12 < median < 0.35, gaps


def test_systemd_watchdog_for_another_process_is_ignored(tmp_path: Path) -> None:
    """WATCHDOG_PID naming another process: no pings from this one."""
    with start_activated(
        tmp_path, "WATCHDOG_USEC=200000", f"WATCHDOG_PID={os.getpid()}"
    ) as started:
        _, notifications, socket_path = started
        send_command(str(socket_path), "version-get")
        notifications.wait_for("READY")
        with pytest.raises(TimeoutError):
            notifications.wait_for("WATCHDOG", timeout=0.8)

    assert "WATCHDOG" not in notifications.first_keys()


def test_systemd_config_reload_command_notifies_too(tmp_path: Path) -> None:
    """config-reload, good or refused, is wrapped in RELOADING and READY;
    shutdown ends with STOPPING."""
    with start_activated(tmp_path) as started:
        process, notifications, socket_path = started
        send_command(str(socket_path), "version-get")
        notifications.wait_for("READY")
        good = send_command(str(socket_path), "config-reload")
        notifications.wait_for("READY")
        (tmp_path / "leased.json").write_text("{ not json")
        bad = send_command(str(socket_path), "config-reload")
        after_bad = notifications.wait_for("READY")
        stop = send_command(str(socket_path), "shutdown")
        notifications.wait_for("STOPPING")
        status = process.wait(timeout=20)

    assert good["result"] == 0
    assert bad["result"] == 1 and bad["text"].startswith("Config reload failed: ")
    assert after_bad["STATUS"] == "serving, 0 IPv4 and 0 IPv6 leases"
    assert stop["result"] == 0 and status == 0
    assert notifications.first_keys() == [
        "READY",
        "RELOADING",
        "READY",
        "RELOADING",
        "READY",
        "STOPPING",
    ]


def test_systemd_ready_only_once_the_socket_listens(tmp_path: Path) -> None:
    """Without socket activation: when READY=1 arrives, the daemon's own
    socket answers at once (no retry), with the lease files loaded."""
    notifications = Notifications(tmp_path / "notify")
    lease_file(tmp_path / "kea-leases4.csv", 100)
    socket_path = tmp_path / "own.sock"
    config_file(
        tmp_path / "leased.json",
        **{"control-socket": {"socket-type": "unix", "socket-name": str(socket_path)}},
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "leased", "-c", str(tmp_path / "leased.json")],
        cwd=tmp_path,
        env={
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "NOTIFY_SOCKET": str(notifications.path),
            "LEASED_DATA_DIR": str(tmp_path),
        },
        stderr=subprocess.DEVNULL,
    )
    try:
        ready = notifications.wait_for("READY")
        answer = send_command(str(socket_path), "lease4-get-all")
    finally:
        process.send_signal(signal.SIGTERM)
        status = process.wait(timeout=20)
        notifications.sock.close()

    assert ready["STATUS"] == "serving, 100 IPv4 and 0 IPv6 leases"
    assert len(answer["arguments"]["leases"]) == 100
    assert status == 0
    assert not socket_path.exists()


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
