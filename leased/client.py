"""A small blocking client for a Kea-style control socket.

The control channel carries one request per connection: the client writes a
JSON value, the server writes one JSON answer and closes.  The answer has no
length prefix and no trailing newline, so the client reads until the server
closes the connection.  This module is used by the tests, the benchmark and
the command-line tools; it works the same against leased and against Kea.
"""

from __future__ import annotations

import json
import re
import selectors
import socket
from typing import Any

import orjson

__all__ = ["send_command", "send_raw"]


def send_raw(path: str, request: bytes, *, timeout: float = 30.0) -> bytes:
    """Send ``request`` as is and return every byte the server answers.

    Sending and receiving overlap: a batch's answers stream back while its
    requests are still going out, and a server that applies backpressure
    (stops reading while its answers are not read) would otherwise wait for
    this client forever.

    Args:
        path: The Unix socket path.
        request: The bytes to write; nothing is added.
        timeout: Seconds to wait for the socket to make any progress.

    Returns:
        The raw answer, possibly empty when the server closed without one.

    Raises:
        TimeoutError: Nothing moved for ``timeout`` seconds.
    """
    chunks: list[bytes] = []
    view = memoryview(request)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(path)
        sock.setblocking(False)
        with selectors.DefaultSelector() as selector:
            selector.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE)
            while True:
                ready = selector.select(timeout)
                if not ready:
                    raise TimeoutError(f"no progress on {path} for {timeout} s")
                events = ready[0][1]
                if events & selectors.EVENT_WRITE and view:
                    try:
                        view = view[sock.send(view) :]
                    except (BlockingIOError, InterruptedError):
                        pass
                    except (BrokenPipeError, ConnectionResetError):
                        view = view[:0]  # the server stopped reading: answered
                    if not view:
                        selector.modify(sock, selectors.EVENT_READ)
                if events & selectors.EVENT_READ:
                    try:
                        chunk = sock.recv(1 << 16)
                    except (BlockingIOError, InterruptedError):
                        continue
                    if not chunk:
                        break
                    chunks.append(chunk)
    return b"".join(chunks)


def send_command(
    path: str,
    command: str,
    arguments: Any = None,
    *,
    timeout: float = 30.0,
) -> Any:
    """Send one command and return the decoded answer.

    Args:
        path: The Unix socket path.
        command: The command name, e.g. ``lease4-get``.
        arguments: The ``arguments`` value; left out of the request when
            ``None``.
        timeout: Seconds to wait for each socket operation.

    Returns:
        The answer decoded from JSON (a map, or a list for a batch).

    Raises:
        ConnectionError: The server closed the connection without answering.
    """
    request: dict[str, Any] = {"command": command}
    if arguments is not None:
        request["arguments"] = arguments
    answer = send_raw(path, orjson.dumps(request), timeout=timeout)
    if not answer:
        raise ConnectionError("the server closed the connection without an answer")
    if _LONG_NUMBER.search(answer):
        # orjson reads integers past 64 bits (a large IPv6 pool's size in
        # the statistics) as floats; the standard decoder keeps them exact.
        return json.loads(answer)
    return orjson.loads(answer)


# Twenty digits or more: possibly an integer past 64 bits.
_LONG_NUMBER = re.compile(rb"\d{20}")
