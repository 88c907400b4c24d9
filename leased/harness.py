"""Run leased (and, beside it, Kea) as child processes on a private socket.

The tests and the benchmark need real servers: leased runs as
``python -m leased -c FILE`` in a directory of the caller's own, with its
control socket there, and is stopped with SIGTERM afterwards.  Callers talk to
it through :mod:`leased.client` or through real ``socat`` and ``nc``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs

from leased.client import send_command


@attrs.define
class Daemon:
    """A running leased process and where to reach it."""

    process: subprocess.Popen[bytes]
    socket_path: str
    config_path: Path
    workdir: Path

    def command(self, command: str, arguments: Any = None) -> Any:
        """Send one command and return the decoded answer."""
        return send_command(self.socket_path, command, arguments)

    def stderr_text(self) -> str:
        """What the daemon wrote to stderr so far."""
        return (self.workdir / "leased.stderr").read_text()


def wait_for_socket(path: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    """Wait until ``path`` exists, failing early if ``process`` died."""
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if process.poll() is not None:
            raise RuntimeError(f"daemon exited with {process.returncode} before listening")
        if time.monotonic() > deadline:
            raise TimeoutError(f"no socket at {path} after {timeout} s")
        time.sleep(0.01)


def with_socket(config: dict[str, Any], socket_path: str) -> dict[str, Any]:
    """Return a copy of ``config`` whose control sockets all use ``socket_path``."""
    config = json.loads(json.dumps(config))
    for family in ("Dhcp4", "Dhcp6"):
        if family in config:
            config[family].pop("control-sockets", None)
            config[family]["control-socket"] = {
                "socket-type": "unix",
                "socket-name": socket_path,
            }
    return config


@contextlib.contextmanager
def run_leased(
    config: dict[str, Any],
    workdir: Path,
    *,
    extra_args: tuple[str, ...] = (),
    timeout: float = 20.0,
) -> Iterator[Daemon]:
    """Run leased on ``config`` with its socket in ``workdir``.

    Args:
        config: A Kea-shaped configuration; its control sockets are replaced by
            one socket in ``workdir``.
        workdir: The daemon's working directory (made if missing).
        extra_args: More command-line arguments for the daemon.
        timeout: Seconds to wait for the socket to appear.

    Yields:
        The running :class:`Daemon`; it is stopped with SIGTERM on exit.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    socket_path = str(workdir / "leased.sock")
    config_path = workdir / "leased.json"
    config_path.write_text(json.dumps(with_socket(config, socket_path), indent=2))
    stderr = open(workdir / "leased.stderr", "wb")  # noqa: SIM115 closed below
    process = subprocess.Popen(
        [sys.executable, "-m", "leased", "-c", str(config_path), *extra_args],
        cwd=workdir,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )
    try:
        wait_for_socket(socket_path, process, timeout)
        yield Daemon(process, socket_path, config_path, workdir)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        stderr.close()
