"""Limits that keep the daemon serving: the connection cap, clients that
stop reading, many idle connections, unsafe socket directories and lease
file paths."""

from __future__ import annotations

import json
import os
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from leased.client import send_raw
from leased.harness import run_leased
from tests.conftest import KEA_TEST_CONFIG

ROOT = Path(__file__).resolve().parent.parent


def config_with(**leased: Any) -> dict[str, Any]:
    config: dict[str, Any] = json.loads(json.dumps(KEA_TEST_CONFIG))
    config["Leased"] = leased
    return config


def connect(path: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(10)
    sock.connect(path)
    return sock


def read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def test_limits_connections_over_the_cap_are_refused_clearly(tmp_path: Path) -> None:
    with run_leased(config_with(**{"max-connections": 4}), tmp_path) as daemon:
        idle = [connect(daemon.socket_path) for _ in range(4)]
        time.sleep(0.2)  # let the daemon accept them all
        with connect(daemon.socket_path) as extra:
            refused = orjson.loads(read_all(extra))
        for sock in idle:
            sock.close()
        time.sleep(0.2)
        after = daemon.command("version-get")

    assert refused == {
        "result": 1,
        "text": "too many connections: the server holds 4, try again later",
    }
    assert after["result"] == 0


def test_limits_client_that_stops_reading_is_dropped(tmp_path: Path) -> None:
    config = config_with(**{"idle-timeout": 0.5})
    with run_leased(config, tmp_path) as daemon:
        batch = [
            {
                "command": "lease6-add",
                "arguments": {
                    "ip-address": f"2001:db8:1::{n:x}",
                    "duid": "01:02:03:04",
                    "iaid": n,
                    "hostname": "x" * 60,
                },
            }
            for n in range(1, 4001)
        ]
        reply = orjson.loads(send_raw(daemon.socket_path, orjson.dumps(batch)))
        assert all(answer["result"] == 0 for answer in reply)
        stalled = connect(daemon.socket_path)
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.sendall(b'{"command": "lease6-get-all"}')
        time.sleep(2.0)  # well past the idle timeout, without reading
        others = daemon.command("version-get")
        stderr = daemon.stderr_text()
        received = read_all(stalled)
        stalled.close()

    assert others["result"] == 0
    assert "peer stopped reading its answer, connection closed" in stderr
    # The answer was cut off: the client got part of it, then the close.
    assert 0 < len(received) < 4000 * 60


def test_limits_a_thousand_idle_connections_do_not_stop_service(
    tmp_path: Path,
) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < 2200:
        pytest.skip(f"descriptor limit {hard} is too low for 1000 connections")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 2200), hard))
    try:
        with run_leased(config_with(), tmp_path) as daemon:
            idle = [connect(daemon.socket_path) for _ in range(1000)]
            latencies = []
            for _ in range(200):
                started = time.perf_counter()
                answer = daemon.command("version-get")
                latencies.append(time.perf_counter() - started)
                assert answer["result"] == 0
            for sock in idle:
                sock.close()
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    latencies.sort()
    # Figures for the reliability page, not a timed assertion.
    print(f"p99 with 1000 idle connections: {latencies[197] * 1000:.2f} ms")


def test_limits_socket_directory_writable_by_others_is_refused(
    tmp_path: Path,
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    config: dict[str, Any] = json.loads(json.dumps(KEA_TEST_CONFIG))
    config["Dhcp4"]["control-socket"] = {
        "socket-type": "unix",
        "socket-name": str(shared / "leased.sock"),
    }
    (tmp_path / "leased.json").write_text(json.dumps(config))

    process = subprocess.run(
        [
            sys.executable,
            "-m",
            "leased",
            "-c",
            str(tmp_path / "leased.json"),
            "-d",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )

    assert process.returncode == 1
    assert (
        f"the control socket directory {shared} is writable by other users"
        in process.stderr
    )
    assert not (shared / "leased.sock").exists()


def test_limits_lease_file_outside_the_data_directory_needs_x(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    config: dict[str, Any] = {
        "Dhcp4": {
            "lease-database": {"type": "memfile", "name": str(outside / "leases4.csv")}
        }
    }
    path = tmp_path / "leased.json"
    path.write_text(json.dumps(config))
    data = tmp_path / "data"
    data.mkdir()

    def check(*options: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "leased",
                "-t",
                str(path),
                "-d",
                str(data),
                *options,
            ],
            capture_output=True,
            text=True,
            timeout=30,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )

    refused = check()
    allowed = check("-X")

    assert refused.returncode == 1
    assert "supported path is" in refused.stderr
    assert allowed.returncode == 0
    assert "lease file outside the data directory allowed by -X" in allowed.stderr


def peak_memory(pid: int) -> int:
    """The process's peak resident memory, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def send_stream(path: str, head: bytes, filler: bytes, total: int) -> bytes:
    """Send ``head``, then ``filler`` up to ``total`` bytes; read answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(30)
        sock.connect(path)
        sent = 0
        try:
            sock.sendall(head)
            while sent < total:
                sock.sendall(filler)
                sent += len(filler)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the daemon answered and closed: the rest is not wanted
        try:
            return read_all(sock)
        except ConnectionResetError:
            # A client that goes on sending long after its refusal (past
            # the daemon's bounded drain) may lose the answer to the reset.
            return b""


def test_limits_million_deep_nesting_and_gigabyte_stream(tmp_path: Path) -> None:
    """Neither a 1M-deep request nor a 1 GiB request costs the daemon memory
    in proportion: both are refused early and the connection is closed."""
    with run_leased(config_with(), tmp_path) as daemon:
        before = peak_memory(daemon.process.pid)
        deep = send_stream(
            daemon.socket_path,
            b'{"command": "version-get", "arguments": ',
            b"[" * 65536,
            1 << 20,
        )
        huge = send_stream(
            daemon.socket_path,
            b'{"command": "version-get", "arguments": "',
            b"a" * (1 << 20),
            1 << 30,
        )
        after = peak_memory(daemon.process.pid)
        alive = daemon.command("version-get")
        stderr = daemon.stderr_text()

    assert orjson.loads(deep) == {
        "result": 1,
        "text": "elements nested too deeply: the limit is 100 levels",
    }
    assert huge == b"" or orjson.loads(huge) == {
        "result": 1,
        "text": "request is larger than the limit of 67108864 bytes",
    }
    assert "request refused reason=request is larger than the limit" in stderr
    assert alive["result"] == 0
    # Bounded by the request size limit (64 MiB), not by the 1 GiB sent.
    assert after - before < 200 << 20, (before, after)
    print(f"peak memory {before >> 20} MiB before, {after >> 20} MiB after")


def test_limits_client_that_disconnects_mid_request_changes_nothing(
    tmp_path: Path,
) -> None:
    """Half a lease4-add, then the client is gone: nothing is added, and
    the daemon serves the next client."""
    with run_leased(config_with(), tmp_path) as daemon:
        with connect(daemon.socket_path) as gone:
            gone.sendall(
                b'{"command": "lease4-add", "arguments": {"ip-address": '
                b'"192.0.2.9", "hw-address": "08:00:2b:01:02:03"'
            )
        time.sleep(0.2)
        lease = daemon.command("lease4-get", {"ip-address": "192.0.2.9"})
        alive = daemon.command("version-get")

    assert lease == {"result": 3, "text": "Lease not found."}
    assert alive["result"] == 0
