"""The real daemon on a real socket: clients, framing, limits and lifecycle."""

from __future__ import annotations

import contextlib
import grp
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from leased.client import send_raw
from leased.harness import Daemon, run_leased, wait_for_socket, with_socket
from tests.conftest import KEA_TEST_CONFIG

CONFIG: dict[str, Any] = {
    **KEA_TEST_CONFIG,
    "Leased": {"idle-timeout": 0.5, "max-request-size": 65536},
}
ADD = {
    "command": "lease4-add",
    "arguments": {"ip-address": "192.0.2.1", "hw-address": "08:08:08:08:08:08"},
}


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    with run_leased(CONFIG, tmp_path_factory.mktemp("server")) as running:
        yield running


@pytest.fixture(autouse=True)
def _empty_tables(daemon: Daemon) -> None:
    daemon.command("lease4-wipe")
    daemon.command("lease6-wipe")


def ask(daemon: Daemon, request: bytes) -> Any:
    return orjson.loads(send_raw(daemon.socket_path, request))


def connect(daemon: Daemon) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(10)
    sock.connect(daemon.socket_path)
    return sock


def read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.skipif(shutil.which("socat") is None, reason="socat is not installed")
def test_server_socat_one_shot(daemon: Daemon) -> None:
    def socat(request: dict[str, Any]) -> Any:
        done = subprocess.run(
            ["socat", "-", f"UNIX-CONNECT:{daemon.socket_path}"],
            input=json.dumps(request).encode(),
            capture_output=True,
            timeout=10,
            check=True,
        )
        return json.loads(done.stdout)

    added = socat(ADD)
    found = socat({"command": "lease4-get", "arguments": {"ip-address": "192.0.2.1"}})

    assert added == {
        "result": 0,
        "text": "Lease for address 192.0.2.1, subnet-id 44 added.",
    }
    assert found["arguments"]["hw-address"] == "08:08:08:08:08:08"


@pytest.mark.skipif(shutil.which("nc") is None, reason="netcat is not installed")
def test_server_netcat_one_shot(daemon: Daemon) -> None:
    done = subprocess.run(
        ["nc", "-U", daemon.socket_path],
        input=b'{ "command": "list-commands" }\n',
        capture_output=True,
        timeout=10,
        check=True,
    )

    answer = json.loads(done.stdout)
    assert answer["result"] == 0
    assert "lease6-bulk-apply" in answer["arguments"]


@pytest.mark.skipif(shutil.which("socat") is None, reason="socat is not installed")
def test_server_socat_batch(daemon: Daemon) -> None:
    batch = [ADD, {"command": "lease4-get-all"}, {"command": "nope"}, 5]
    done = subprocess.run(
        ["socat", "-", f"UNIX-CONNECT:{daemon.socket_path}"],
        input=json.dumps(batch).encode(),
        capture_output=True,
        timeout=10,
        check=True,
    )

    answers = json.loads(done.stdout)
    assert [answer["result"] for answer in answers] == [0, 0, 2, 1]
    assert answers[1]["arguments"]["leases"][0]["ip-address"] == "192.0.2.1"


def test_server_batch_answers_stream_before_the_list_ends(daemon: Daemon) -> None:
    """The first answer arrives while the batch is still open."""
    with connect(daemon) as sock:
        sock.sendall(b'[{"command": "version-get"}, ')
        first = b""
        while b"}" not in first:
            first += sock.recv(4096)
        sock.sendall(b'{"command": "status-get"}]')
        rest = read_all(sock)

    answers = orjson.loads(first + rest)
    assert first.startswith(b"[")
    assert [answer["result"] for answer in answers] == [0, 0]


def test_server_request_in_pieces_with_comments(daemon: Daemon) -> None:
    with connect(daemon) as sock:
        for piece in (
            b"# hello\n",
            b'{"command": // the name\n',
            b' "version-get" /* x */ }',
        ):
            sock.sendall(piece)
            time.sleep(0.05)
        answer = orjson.loads(read_all(sock))

    assert answer["result"] == 0


def test_server_bytes_after_the_request_are_ignored(daemon: Daemon) -> None:
    answer = ask(daemon, b'{"command": "version-get"}trailing garbage')

    assert answer["result"] == 0


@pytest.mark.parametrize(
    ("request_bytes", "text"),
    [
        (b'{"command": }', "error: unexpected character } in <wire>:0:13"),
        (b'{"command": "list-commands",}', "String expected in <wire>:0:29"),
        (b"x", "invalid first character x"),
        (b"[1, 2}", "invalid character } after a batch element, expected , or ]"),
    ],
)
def test_server_malformed_requests_get_kea_texts(
    daemon: Daemon, request_bytes: bytes, text: str
) -> None:
    answer = ask(daemon, request_bytes)
    if isinstance(answer, list):
        answer = answer[-1]

    assert answer == {"result": 1, "text": text}


def test_server_idle_timeout_answers_and_closes(daemon: Daemon) -> None:
    with connect(daemon) as idle, connect(daemon) as partial:
        partial.sendall(b'{"command": "version-')
        silent = orjson.loads(read_all(idle))
        cut = orjson.loads(read_all(partial))

    assert silent == {"result": 1, "text": "Connection over control channel timed out"}
    assert cut == {
        "result": 1,
        "text": "Connection over control channel timed out, discarded partial command of 21 bytes",
    }


def test_server_peer_closing_early_gets_no_answer(daemon: Daemon) -> None:
    with connect(daemon) as sock:
        sock.sendall(b'{"command": "version-')
        sock.shutdown(socket.SHUT_WR)
        assert read_all(sock) == b""

    assert daemon.command("version-get")["result"] == 0


def test_server_deep_nesting_is_refused_and_service_goes_on(daemon: Daemon) -> None:
    """Kea 2.2 dies on this request; leased answers it."""
    deep = (
        b'{"command": "version-get", "arguments": '
        + b"[" * 100_000
        + b"]" * 100_000
        + b"}"
    )

    answer = ask(daemon, deep)

    assert answer == {
        "result": 1,
        "text": "elements nested too deeply: the limit is 100 levels",
    }
    assert daemon.command("version-get")["result"] == 0


def test_server_oversized_request_is_refused_and_service_goes_on(
    daemon: Daemon,
) -> None:
    huge = b'{"command": "version-get", "arguments": {"x": "' + b"a" * 200_000 + b'"}}'

    with connect(daemon) as sock:
        # The server may answer and stop reading before all of it is sent.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(huge)
        answer = orjson.loads(read_all(sock))

    assert answer == {
        "result": 1,
        "text": "request is larger than the limit of 65536 bytes",
    }
    assert daemon.command("version-get")["result"] == 0


def add_many(daemon: Daemon, count: int) -> None:
    """Add ``count`` IPv6 leases in one batch request."""
    batch = [
        {
            "command": "lease6-add",
            "arguments": {
                "ip-address": f"2001:db8:1::{n:x}",
                "duid": "01:02:03",
                "iaid": n,
            },
        }
        for n in range(1, count + 1)
    ]
    answers = ask(daemon, orjson.dumps(batch))
    assert [answer["result"] for answer in answers] == [0] * count


def test_server_large_answer_arrives_whole(daemon: Daemon) -> None:
    add_many(daemon, 3000)

    answer = daemon.command("lease6-get-all")

    assert answer["text"] == "3000 IPv6 lease(s) found."
    assert len(answer["arguments"]["leases"]) == 3000


def test_server_slow_reader_does_not_stall_others(daemon: Daemon) -> None:
    add_many(daemon, 3000)

    with connect(daemon) as slow:
        slow.sendall(b'{"command": "lease6-get-all"}')
        time.sleep(0.2)
        # The slow client has not read its large answer; others still pass.
        assert daemon.command("version-get")["result"] == 0
        assert len(orjson.loads(read_all(slow))["arguments"]["leases"]) == 3000


def test_server_concurrent_clients_all_answered(daemon: Daemon) -> None:
    results: list[int] = []

    def client(index: int) -> None:
        for n in range(20):
            address = f"192.0.{2 + index % 2}.{(index * 20 + n) % 250 + 1}"
            answer = daemon.command("lease4-get", {"ip-address": address})
            results.append(answer["result"])

    threads = [threading.Thread(target=client, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert results == [3] * 320


def test_server_socket_is_private_and_locked(daemon: Daemon) -> None:
    mode = os.stat(daemon.socket_path).st_mode

    assert stat.S_ISSOCK(mode)
    assert stat.S_IMODE(mode) == 0o600
    assert os.path.exists(daemon.socket_path + ".lock")


def start(config: dict[str, Any], workdir: Path) -> subprocess.Popen[bytes]:
    path = workdir / "leased.json"
    path.write_text(json.dumps(with_socket(config, str(workdir / "leased.sock"))))
    return subprocess.Popen(
        [sys.executable, "-m", "leased", "-c", str(path)],
        cwd=workdir,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)},
    )


def test_server_second_daemon_on_the_same_socket_is_refused(tmp_path: Path) -> None:
    with run_leased(CONFIG, tmp_path) as first:
        second = start(CONFIG, tmp_path)
        _, stderr = second.communicate(timeout=20)

        assert second.returncode == 1
        assert b"cannot lock socket lockfile" in stderr
        assert first.command("version-get")["result"] == 0


def test_server_stale_socket_is_replaced(tmp_path: Path) -> None:
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(tmp_path / "leased.sock"))
    stale.close()

    with run_leased(CONFIG, tmp_path) as running:
        assert running.command("version-get")["result"] == 0
        assert "replacing stale control socket" in running.stderr_text()


def test_server_sigterm_exits_cleanly_and_removes_files(tmp_path: Path) -> None:
    with run_leased(CONFIG, tmp_path) as running:
        running.process.send_signal(signal.SIGTERM)
        assert running.process.wait(timeout=20) == 0

    assert not os.path.exists(tmp_path / "leased.sock")
    assert not os.path.exists(tmp_path / "leased.sock.lock")


def test_server_sigterm_as_soon_as_the_socket_appears_is_clean(
    tmp_path: Path,
) -> None:
    """The socket exists before the event loop handles signals; a SIGTERM
    in that moment must still stop the daemon cleanly, not kill it."""
    config = with_socket(CONFIG, str(tmp_path / "leased.sock"))
    for _ in range(10):
        with started_as_is(config, tmp_path, tmp_path / "leased.sock"):
            pass  # started_as_is sends SIGTERM at once and expects exit 0

        assert not os.path.exists(tmp_path / "leased.sock")


def test_server_shutdown_command_exit_value(tmp_path: Path) -> None:
    with run_leased(CONFIG, tmp_path) as running:
        answer = running.command("shutdown", {"exit-value": 3})
        assert running.process.wait(timeout=20) == 3

    assert answer == {"result": 0, "text": "Shutting down."}
    assert not os.path.exists(tmp_path / "leased.sock")


def test_server_bad_config_exits_nonzero_with_path(tmp_path: Path) -> None:
    broken = {
        "Dhcp4": {
            "subnet4": [
                {"id": 1, "subnet": "192.0.2.0/24"},
                {"id": 2, "subnet": "oops"},
            ]
        }
    }

    process = start(broken, tmp_path)
    _, stderr = process.communicate(timeout=20)

    assert process.returncode == 1
    assert b"Dhcp4/subnet4[1]/subnet: 'oops' is not an IPv4 prefix" in stderr


def test_server_logs_ignored_configuration_keys_once(tmp_path: Path) -> None:
    config = {**CONFIG, "Dhcp4": {**CONFIG["Dhcp4"], "option-data": [], "loggers": []}}

    with run_leased(config, tmp_path) as running:
        text = running.stderr_text()

    assert text.count("configuration keys not used") == 1
    assert "Dhcp4/option-data" in text
    assert "Dhcp4/loggers" in text


@contextlib.contextmanager
def started_as_is(
    config: dict[str, Any], workdir: Path, socket_path: Path
) -> Iterator[None]:
    """Run leased on ``config`` unchanged until ``socket_path`` exists."""
    config_path = workdir / "as-is.json"
    config_path.write_text(json.dumps(config))
    process = subprocess.Popen(
        [sys.executable, "-m", "leased", "-c", str(config_path)],
        cwd=workdir,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)},
    )
    try:
        wait_for_socket(str(socket_path), process, 20)
        yield
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0


def test_server_socket_group_gives_mode_0660(tmp_path: Path) -> None:
    group = grp.getgrgid(os.getgid()).gr_name
    config = with_socket(CONFIG, str(tmp_path / "leased.sock"))
    for family in ("Dhcp4", "Dhcp6"):
        config[family]["control-socket"]["socket-group"] = group

    with started_as_is(config, tmp_path, tmp_path / "leased.sock"):
        info = os.stat(tmp_path / "leased.sock")

    assert stat.S_IMODE(info.st_mode) == 0o660
    assert info.st_gid == os.getgid()


def test_server_listens_on_every_configured_socket(tmp_path: Path) -> None:
    first, second = tmp_path / "one.sock", tmp_path / "two.sock"
    config = with_socket(CONFIG, str(first))
    del config["Dhcp6"]["control-socket"]
    config["Dhcp6"]["control-sockets"] = [
        {"socket-type": "unix", "socket-name": str(second)},
        {"socket-type": "http", "socket-address": "127.0.0.1", "socket-port": 8000},
    ]

    with started_as_is(config, tmp_path, second):
        from_first = orjson.loads(send_raw(str(first), b'{"command": "version-get"}'))
        from_second = orjson.loads(send_raw(str(second), b'{"command": "version-get"}'))

    assert from_first == from_second
    assert from_first["result"] == 0


def test_server_without_busy_poll_serves_the_same(tmp_path: Path) -> None:
    config = {**CONFIG, "Leased": {**CONFIG["Leased"], "busy-poll": 0}}

    with run_leased(config, tmp_path) as running:
        answers = [
            running.command("lease4-get", {"ip-address": "192.0.2.1"})
            for _ in range(50)
        ]
        added = running.command("lease4-add", ADD["arguments"])

    assert [answer["result"] for answer in answers] == [3] * 50
    assert added["result"] == 0
