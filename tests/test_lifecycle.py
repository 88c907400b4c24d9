"""Reload and shutdown of a running daemon, with clients connected.

A reload (SIGHUP or ``config-reload``) must change subnets, lifetimes and
the compaction interval while connections stay open and no lease is lost;
a bad file is refused and the running configuration stays.  A stop
(SIGTERM, SIGINT or ``shutdown``) refuses new clients at once, lets a
command in flight (a batch still streaming) finish, writes the lease files
to disk, removes the socket and exits 0.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from leased.client import send_command
from leased.harness import Daemon, run_leased
from tests.conftest import KEA_TEST_CONFIG

ROOT = Path(__file__).resolve().parent.parent


def config_with(**dhcp4: Any) -> dict[str, Any]:
    config: dict[str, Any] = json.loads(json.dumps(KEA_TEST_CONFIG))
    config["Dhcp4"].update(dhcp4)
    return config


def rewrite(daemon: Daemon, **dhcp4: Any) -> None:
    """Change the daemon's own configuration file (not applied yet)."""
    written = json.loads(daemon.config_path.read_text())
    written["Dhcp4"].update(dhcp4)
    daemon.config_path.write_text(json.dumps(written))


def wait_for_log(daemon: Daemon, phrase: str, count: int = 1) -> None:
    """Wait until ``phrase`` was logged ``count`` times."""
    deadline = time.monotonic() + 20
    while daemon.stderr_text().count(phrase) < count:
        assert time.monotonic() < deadline, f"never logged: {phrase}"
        time.sleep(0.02)


def connect(path: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(20)
    try:
        sock.connect(path)
    except OSError:
        sock.close()
        raise
    return sock


def read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def adds(first: int, count: int) -> list[bytes]:
    """lease4-add commands for 192.0.2.<first>... as bytes."""
    return [
        orjson.dumps(
            {
                "command": "lease4-add",
                "arguments": {
                    "ip-address": f"192.0.2.{first + number}",
                    "hw-address": f"08:00:2b:00:00:{first + number:02x}",
                },
            }
        )
        for number in range(count)
    ]


def answers_so_far(sock: socket.socket, count: int) -> bytes:
    """Read until ``count`` answers of a batch have come."""
    data = b""
    while data.count(b'"result"') < count:
        chunk = sock.recv(65536)
        assert chunk, "connection closed early"
        data += chunk
    return data


@pytest.mark.parametrize("trigger", ["sighup", "config-reload"])
def test_lifecycle_reload_keeps_connections_and_leases(
    tmp_path: Path, trigger: str
) -> None:
    """A reload applies new subnets and lifetimes to connections already open
    (one mid-request, one mid-batch) and keeps every lease."""
    with run_leased(KEA_TEST_CONFIG, tmp_path) as daemon:
        daemon.command(
            "lease4-add",
            {"ip-address": "192.0.2.200", "hw-address": "01:02:03:04:05:06"},
        )
        half = connect(daemon.socket_path)
        half.sendall(
            b'{"command": "lease4-add", "arguments": {"ip-address": "10.0.0.5", '
        )
        batch = connect(daemon.socket_path)
        batch.sendall(b"[" + adds(1, 1)[0])
        first = answers_so_far(batch, 1)

        subnets = [
            *KEA_TEST_CONFIG["Dhcp4"]["subnet4"],
            {"id": 7, "subnet": "10.0.0.0/8"},
        ]
        rewrite(daemon, **{"subnet4": subnets, "valid-lifetime": 1234})
        if trigger == "sighup":
            os.kill(daemon.process.pid, signal.SIGHUP)
            reloaded = None
        else:
            reloaded = daemon.command("config-reload")
        wait_for_log(daemon, "configuration reloaded path=")

        half.sendall(b'"hw-address": "0a:0b:0c:0d:0e:0f"}}')
        finished = orjson.loads(read_all(half))
        batch.sendall(b", " + b", ".join(adds(2, 2)) + b"]")
        rest = read_all(batch)
        half.close()
        batch.close()
        answers = orjson.loads(first + rest)
        added = daemon.command("lease4-get", {"ip-address": "10.0.0.5"})
        kept = daemon.command("lease4-get", {"ip-address": "192.0.2.200"})
        later = daemon.command("lease4-get", {"ip-address": "192.0.2.3"})

    assert reloaded in (None, {"result": 0, "text": "Configuration successful."})
    assert finished == {
        "result": 0,
        "text": "Lease for address 10.0.0.5, subnet-id 7 added.",
    }
    assert [answer["result"] for answer in answers] == [0, 0, 0]
    assert added["arguments"]["valid-lft"] == 1234
    assert kept["arguments"]["valid-lft"] == 3  # an existing lease is unchanged
    assert later["arguments"]["valid-lft"] == 1234


def test_lifecycle_reload_changes_the_compaction_interval(tmp_path: Path) -> None:
    """lfc-interval from 0 (never) to 1 s: compactions start, leases stay."""
    config = config_with(
        **{"lease-database": {"type": "memfile", "persist": True, "lfc-interval": 0}}
    )
    with run_leased(config, tmp_path) as daemon:
        daemon.command(
            "lease4-add", {"ip-address": "192.0.2.1", "hw-address": "01:02:03:04:05:06"}
        )
        time.sleep(0.5)
        before = sorted(
            path.name
            for path in tmp_path.glob("kea-leases4.csv*")
            if not path.name.endswith((".lock", ".pending"))  # kept beside F
        )
        rewrite(
            daemon,
            **{
                "lease-database": {
                    "type": "memfile",
                    "persist": True,
                    "lfc-interval": 1,
                }
            },
        )
        reloaded = daemon.command("config-reload")
        wait_for_log(daemon, "compaction finished path=")
        leases = daemon.command("lease4-get-all")["arguments"]["leases"]

    assert before == ["kea-leases4.csv"]
    assert reloaded["result"] == 0
    assert (tmp_path / "kea-leases4.csv.2").exists()
    assert [lease["ip-address"] for lease in leases] == ["192.0.2.1"]


def test_lifecycle_bad_reload_on_sighup_keeps_the_running_config(
    tmp_path: Path,
) -> None:
    """SIGHUP with a broken file: the error is logged with its path, the
    old configuration and the leases stay, the daemon serves on."""
    with run_leased(KEA_TEST_CONFIG, tmp_path) as daemon:
        daemon.command(
            "lease4-add", {"ip-address": "192.0.2.1", "hw-address": "01:02:03:04:05:06"}
        )
        before = daemon.command("config-get")
        rewrite(daemon, **{"valid-lifetime": "long"})
        os.kill(daemon.process.pid, signal.SIGHUP)
        wait_for_log(daemon, "configuration reload refused")
        after = daemon.command("config-get")
        added = daemon.command(
            "lease4-add", {"ip-address": "192.0.2.2", "hw-address": "01:02:03:04:05:06"}
        )
        count = len(daemon.command("lease4-get-all")["arguments"]["leases"])
        log = daemon.stderr_text()

    assert after == before
    assert added["result"] == 0
    assert count == 2
    assert "configuration reload refused reason=Dhcp4/valid-lifetime" in log


@pytest.mark.parametrize("how", ["SIGTERM", "SIGINT", "shutdown"])
def test_lifecycle_stop_finishes_the_batch_in_flight(tmp_path: Path, how: str) -> None:
    """A stop refuses new clients at once, lets a batch still streaming
    finish, writes the leases to disk, removes the socket and exits 0."""
    with run_leased(KEA_TEST_CONFIG, tmp_path) as daemon:
        batch = connect(daemon.socket_path)
        batch.sendall(b"[" + b", ".join(adds(1, 50)))
        first = answers_so_far(batch, 50)

        if how == "shutdown":
            stopping = send_command(daemon.socket_path, "shutdown")
        else:
            stopping = None
            daemon.process.send_signal(getattr(signal, how))
        deadline = time.monotonic() + 10
        while os.path.exists(daemon.socket_path):
            assert time.monotonic() < deadline, "the socket stayed"
            time.sleep(0.01)
        with pytest.raises((FileNotFoundError, ConnectionRefusedError)):
            connect(daemon.socket_path)

        batch.sendall(b", " + b", ".join(adds(51, 50)) + b"]")
        rest = read_all(batch)
        batch.close()
        status = daemon.process.wait(timeout=20)
        log = daemon.stderr_text()
    answers = orjson.loads(first + rest)
    with run_leased(KEA_TEST_CONFIG, tmp_path) as again:
        kept = again.command("lease4-get-all")["arguments"]["leases"]

    assert stopping in (None, {"result": 0, "text": "Shutting down."})
    assert [answer["result"] for answer in answers] == [0] * 100
    assert status == 0
    assert len(kept) == 100
    if how != "shutdown":
        assert f"shutting down on signal signal={how}" in log
    assert "stopped serving" in log and "shutdown complete" in log


def test_lifecycle_stop_removes_socket_and_lock(tmp_path: Path) -> None:
    """After SIGTERM neither the socket nor its lock file is left."""
    with run_leased(KEA_TEST_CONFIG, tmp_path) as daemon:
        daemon.process.send_signal(signal.SIGTERM)
        status = daemon.process.wait(timeout=20)

    assert status == 0
    assert not (tmp_path / "leased.sock").exists()
    assert not (tmp_path / "leased.sock.lock").exists()


def run_leased_help(*words: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "leased", *words],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def test_lifecycle_leased_help_names_the_key_options() -> None:
    """leased --help explains options, files, signals, exit status, systemd."""
    shown = run_leased_help("--help")

    assert shown.returncode == 0
    for text in (
        "-c FILE",
        "-t FILE",
        "--data-dir DIR",
        "--log-level",
        "-X",
        "SIGHUP",
        "SIGTERM",
        "exit status",
        "Type=notify",
        "LISTEN_FDS",
        "leasectl",
        "lease4-get",
    ):
        assert text in shown.stdout, text


def test_lifecycle_leased_without_options_says_what_it_needs() -> None:
    """No -c or -t: a usage error naming them, exit 2 (argparse)."""
    shown = run_leased_help()

    assert shown.returncode == 2
    assert "one of the arguments -c -t -v/--version is required" in shown.stderr
