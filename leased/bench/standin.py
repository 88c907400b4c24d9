"""A trivial stand-in server, to measure the load generator's own ceiling.

The stand-in does the least a control-socket server can do: accept, read the
request's first chunk, write a fixed answer shaped like a ``lease4-get``
answer, close.  No parsing, no lookup.  Driving it with the load generator
shows how fast the client side can go at all; a server under test can only
look slower than that, and when its figures come close to this ceiling the
client, not the server, set the pace.

Run it as ``python -m leased.bench.standin SOCKET``; it serves until it is
sent SIGTERM.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

__all__ = ["ANSWER", "run_standin", "serve"]

# Shaped like Kea's answer to ``lease4-get`` so that the client decodes a
# realistic answer of realistic size.
ANSWER = (
    b'{ "arguments": { "cltt": 1700000000, "fqdn-fwd": false, "fqdn-rev": false,'
    b' "hostname": "host-1.example.com.", "hw-address": "02:00:00:00:00:01",'
    b' "ip-address": "10.0.0.1", "state": 0, "subnet-id": 1, "valid-lft": 4000 },'
    b' "result": 0, "text": "IPv4 lease found." }'
)


def serve(path: str) -> None:
    """Answer every connection on ``path`` with :data:`ANSWER`, forever.

    Args:
        path: Where to bind the Unix socket; a stale file there is removed.
    """
    # Limitation: only the first chunk of each request is read, which holds
    # a whole small request but not a large batch; the stand-in is meant for
    # one-request connections only.
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(path)
        listener.listen(1024)
        while True:
            connection, _ = listener.accept()
            connection.recv(1 << 16)
            connection.sendall(ANSWER)
            connection.close()


@contextlib.contextmanager
def run_standin(path: str, *, timeout: float = 10.0) -> Iterator[int]:
    """Run the stand-in in a child process until the block ends.

    Args:
        path: The Unix socket it listens on.
        timeout: Seconds to wait for it to answer.

    Yields:
        The child's process id, so its CPU time can be read.

    Raises:
        RuntimeError: The child exited or did not answer in time.
    """
    # The child imports this package, installed or not.
    root = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
    search_path = os.pathsep.join(
        part for part in (root, os.environ.get("PYTHONPATH")) if part
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "leased.bench.standin", path],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        env=dict(os.environ, PYTHONPATH=search_path),
    )
    try:
        _wait_until_answering(path, process, timeout)
        yield process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def _wait_until_answering(
    path: str, process: subprocess.Popen[bytes], timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                probe.connect(path)
                probe.sendall(b"{}")
                if probe.recv(1 << 16):
                    return
        except OSError:
            pass
        if process.poll() is not None:
            raise RuntimeError(f"the stand-in server exited with {process.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the stand-in server did not answer on {path}")
        time.sleep(0.01)


if __name__ == "__main__":
    serve(sys.argv[1])
