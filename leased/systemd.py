"""What systemd gives the daemon and what the daemon tells systemd.

Theory of operation
-------------------

Both directions use the environment systemd sets, and nothing else, so no
systemd library is needed and the daemon runs the same without systemd:

Readiness and status (``Type=notify``)
    :class:`Notifier` sends datagrams to ``$NOTIFY_SOCKET`` (a path, or an
    abstract socket when it starts with ``@``): ``READY=1`` once the lease
    files are loaded and the control sockets listen, ``STATUS=`` lines with
    lease counts, ``RELOADING=1`` with ``MONOTONIC_USEC`` around a reload,
    ``STOPPING=1`` at shutdown.  Without ``$NOTIFY_SOCKET`` every call does
    nothing.
Watchdog
    With ``$WATCHDOG_USEC`` set (and ``$WATCHDOG_PID`` unset or ours), the
    daemon sends ``WATCHDOG=1`` every half of that interval from its event
    loop, so a hung loop gets the service restarted.
Socket activation
    :func:`activated_sockets` takes the listening sockets systemd passed
    (``$LISTEN_FDS`` descriptors from 3 on, ``$LISTEN_PID`` ours), each
    with its name from ``$LISTEN_FDNAMES``, which the log shows.  systemd
    owns those socket files: the daemon neither locks nor removes them, and
    at shutdown only closes its copy, so systemd goes on listening and
    starts the daemon again for the next client.  The variables are removed
    from the environment once read, so child processes do not take the
    sockets for their own.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Mapping
from typing import Final

import attrs

LOGGER: Final = logging.getLogger("leased.server")

FIRST_LISTEN_FD: Final = 3


class Notifier:
    """Sends state changes to systemd's notification socket, if any."""

    def __init__(self, environ: dict[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        self._address: str | bytes | None = None
        if address.startswith("@"):
            self._address = "\0" + address[1:]
        elif address.startswith("/"):
            self._address = address
        self._sock: socket.socket | None = None
        if self._address is not None:
            self._sock = socket.socket(
                socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC
            )
        self.watchdog_interval = _watchdog_interval(env)

    @property
    def enabled(self) -> bool:
        """Whether a notification socket is configured."""
        return self._sock is not None

    def send(self, *fields: str) -> None:
        """Send ``KEY=value`` fields in one datagram; failures are logged."""
        if self._sock is None or self._address is None:
            return
        message = "\n".join(fields).encode()
        try:
            self._sock.sendto(message, self._address)
        except OSError as error:
            LOGGER.warning("cannot notify systemd reason=%s", error.strerror)

    def ready(self, status: str) -> None:
        """The daemon serves."""
        self.send("READY=1", f"STATUS={status}", f"MAINPID={os.getpid()}")

    def status(self, status: str) -> None:
        """A new status line."""
        self.send(f"STATUS={status}")

    def reloading(self) -> None:
        """A reload begins (systemd wants the monotonic time with it)."""
        usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        self.send("RELOADING=1", f"MONOTONIC_USEC={usec}", "STATUS=reloading")

    def stopping(self) -> None:
        """Shutdown begins."""
        self.send("STOPPING=1", "STATUS=stopping")

    def watchdog(self) -> None:
        """The event loop is alive."""
        self.send("WATCHDOG=1")

    def close(self) -> None:
        """Close the notification socket."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def _watchdog_interval(env: Mapping[str, str]) -> float | None:
    """Seconds between watchdog pings (half of systemd's timeout), or None."""
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    pid = env.get("WATCHDOG_PID")
    if usec <= 0 or (pid and pid != str(os.getpid())):
        return None
    return usec / 2_000_000


@attrs.frozen
class PassedSocket:
    """A listening socket systemd passed, with its ``FileDescriptorName=``."""

    sock: socket.socket
    name: str


def activated_sockets(environ: dict[str, str] | None = None) -> list[PassedSocket]:
    """The listening sockets systemd passed, in order (empty without any).

    Each carries its name from ``$LISTEN_FDNAMES`` (the socket unit's
    ``FileDescriptorName=``; systemd's ``unknown`` when there is none).
    Only Unix stream sockets are taken; any other passed descriptor is
    logged and closed.  The activation variables are removed from
    ``os.environ`` (when reading it).
    """
    env = os.environ if environ is None else environ
    try:
        count = int(env.get("LISTEN_FDS", "0"))
        pid = int(env.get("LISTEN_PID", "0"))
    except ValueError:
        return []
    names = env.get("LISTEN_FDNAMES", "").split(":")
    if environ is None:
        for key in ("LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"):
            os.environ.pop(key, None)
    if count <= 0 or pid != os.getpid():
        return []
    passed = []
    for index, fd in enumerate(range(FIRST_LISTEN_FD, FIRST_LISTEN_FD + count)):
        name = names[index] if index < len(names) and names[index] else "unknown"
        os.set_inheritable(fd, False)
        sock = socket.socket(fileno=fd)
        if sock.family != socket.AF_UNIX or sock.type != socket.SOCK_STREAM:
            LOGGER.warning(
                "ignoring passed socket that is not a unix stream socket fd=%d name=%s",
                fd,
                name,
            )
            sock.close()
            continue
        sock.setblocking(False)
        passed.append(PassedSocket(sock, name))
    return passed
