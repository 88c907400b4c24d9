"""The trio shell: control sockets, connections, signals and shutdown.

This is the only module that awaits.  It owns the listening sockets, reads
requests through :class:`~leased.protocol.RequestReader`, hands decoded
requests to :class:`~leased.engine.Engine` and writes the answers back.

The per-connection path
-----------------------

A Kea client opens a connection per command, so accepting and answering is
the hot path, and a trio task per connection costs more than the command.
So one task, the poller, watches every listening socket and every connection
still waiting for its request through a private ``epoll`` (itself awaited
with ``trio.lowlevel.wait_readable``).  When a listener is readable it
accepts every pending connection and reads each at once; whenever a
connection's request is complete it is answered right there: decode,
execute, encode, write, close.  A connection whose request is not all there
yet stays in the poller, with its idle deadline; the waiting connections are
kept in deadline order, so expiring them costs only the expired ones.

Only what needs to wait for the peer gets a task of its own: a batch
(answers are written with backpressure), an answer larger than the socket
takes at once, or a refused request whose rest must be read away.

One command runs at a time, between two awaits, so handlers see a table
that nobody else changes under them.

Sockets
-------

Each socket path gets a ``<path>.lock`` file held with ``flock`` for the
daemon's lifetime, so two daemons never share a socket.  With the lock held,
a socket file left by a crash is replaced.  The socket is created with mode
0600 (0660 with a configured group), under a umask that makes it so from
the moment it exists.  A clean exit removes the socket and the lock file.

Logger: ``leased.server``.
"""

from __future__ import annotations

import errno
import fcntl
import grp
import logging
import os
import select
import signal
import socket
import stat
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from functools import partial
from typing import Any, Final

import attrs
import trio

from leased import kea_json
from leased.config import SocketConfig
from leased.engine import Engine, answer
from leased.errors import RESULT_ERROR
from leased.journal import Journal as DiskJournal
from leased.protocol import (
    NEED_DATA,
    NOT_DECODED,
    BatchEnd,
    BatchItem,
    BatchStart,
    FramingError,
    Request,
    RequestReader,
)
from leased.storage import Storage
from leased.systemd import Notifier, PassedSocket
from leased.wire import CHUNK_LEASES, encode, encode_parts, streamed

LOGGER: Final = logging.getLogger("leased.server")

RECEIVE_SIZE: Final = 1 << 16
SEND_CHUNK: Final = 1 << 16
LISTEN_BACKLOG: Final = 1024
DRAIN_BYTES: Final = 64 << 20
DRAIN_SECONDS: Final = 2.0
# Batch answers gathered before a write, at most.
FLUSH_SIZE: Final = 1 << 18
# Signals that stop the daemon cleanly.
STOP_SIGNALS: Final = (signal.SIGTERM, signal.SIGINT)
# Signals the daemon handles: stop, and SIGHUP to reload the configuration.
HANDLED_SIGNALS: Final = (*STOP_SIGNALS, signal.SIGHUP)
# How often systemd's status line is refreshed (when under systemd).
STATUS_EVERY: Final = 10.0


def block_stop_signals() -> None:
    """Hold back SIGTERM and SIGINT until :meth:`Server.serve` handles them.

    A supervisor may send SIGTERM as soon as the control socket appears,
    which is before the event loop has a handler; unblocked, the signal's
    default action would kill the daemon on the spot, socket and lock file
    left behind.  Blocked, it waits and then stops the daemon cleanly.
    """
    signal.pthread_sigmask(signal.SIG_BLOCK, HANDLED_SIGNALS)


# How often waiting connections are checked against the idle timeout.
EXPIRY_TICK: Final = 0.25
# Longest the poller blocks in its own epoll while trio has nothing to do,
# and how often it yields to trio anyway.
IDLE_BLOCK: Final = 0.05
# Connections accepted per report of a listener, at most.
ACCEPT_BURST: Final = 32
YIELD_EVERY: Final = 0.002
# Pause before accepting again when out of file descriptors or memory.
ACCEPT_BACKOFF: Final = 0.1


@attrs.frozen
class Limits:
    """Per-connection limits.

    Attributes:
        idle_timeout: Seconds a connection may stay silent before it is
            answered with a timeout error and closed (Kea: 10).
        max_request_size: Most bytes in one request or batch element.
        max_depth: Deepest nesting of brackets in one request.
        busy_poll: Seconds the poller keeps looking for work without
            sleeping after its last event (0 turns it off).
        max_connections: Connections open at once; one more is answered
            with an error and closed.  Each costs a descriptor: the
            daemon's descriptor limit must be higher.
    """

    idle_timeout: float = 10.0
    max_request_size: int = 64 << 20
    max_connections: int = 4096
    max_depth: int = 100
    busy_poll: float = 0.0003


class SocketInUse(Exception):
    """Another process holds the lock of a control socket."""


@attrs.define
class Listener:
    """A bound, listening control socket and its lock.

    A socket systemd passed has no lock (``lock_fd`` -1): systemd owns it.
    """

    path: str
    sock: socket.socket
    lock_fd: int


class UnsafeSocketDirectory(OSError):
    """The control socket's directory lets other users replace the socket."""


def check_socket_directory(path: str) -> None:
    """Refuse a socket directory that users other than ours may write to.

    Anyone who can write to the directory can remove the socket and put
    their own in its place, and clients would then send their commands to
    an impostor (Kea before 2.6.3 allowed sockets in /tmp: CVE-2025-32802).
    A directory writable by others is refused, even with the sticky bit.

    Raises:
        UnsafeSocketDirectory: With the directory and its mode.
    """
    directory = os.path.dirname(os.path.abspath(path))
    mode = os.stat(directory).st_mode
    if mode & stat.S_IWOTH:
        raise UnsafeSocketDirectory(
            errno.EPERM,
            f"the control socket directory {directory} is writable by other "
            f"users (mode {stat.S_IMODE(mode):04o}); put the socket in a "
            "directory only the daemon's user and group can write",
        )


@contextmanager
def bind_control_socket(config: SocketConfig) -> Iterator[Listener]:
    """Bind a control socket, holding its lock file; clean both up on exit.

    Raises:
        SocketInUse: Another daemon holds the lock.
        OSError: The socket could not be created.
    """
    path = config.path
    check_socket_directory(path)
    lock_path = f"{path}.lock"
    lock_fd = os.open(lock_path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SocketInUse(
                f"cannot lock socket lockfile {lock_path}: another process serves {path}"
            ) from None
        if os.path.lexists(path):
            LOGGER.warning("replacing stale control socket path=%s", path)
            os.unlink(path)

        # The umask makes the socket private from the moment it exists; the
        # group, if any, is granted access only after its ownership is set.
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        old_umask = os.umask(0o177)
        try:
            sock.bind(path)
        finally:
            os.umask(old_umask)
        try:
            if config.group is not None:
                os.chown(path, -1, grp.getgrnam(config.group).gr_gid)
                os.chmod(path, 0o660)
            sock.listen(LISTEN_BACKLOG)
            sock.setblocking(False)
            yield Listener(path, sock, lock_fd)
        finally:
            sock.close()
            with suppress(FileNotFoundError):
                os.unlink(path)
        # The lock file goes only after the socket, while the lock is held.
        os.unlink(lock_path)
    finally:
        os.close(lock_fd)


def stop_listening(listener: Listener) -> None:
    """Close a listening socket; remove its file if the daemon made it.

    A socket systemd passed stays where it is: systemd keeps listening on
    it and starts the daemon again for the next client.  The lock file of
    a socket the daemon made stays until the daemon exits, so that no
    second daemon takes the socket over while this one finishes.
    """
    listener.sock.close()
    if listener.lock_fd >= 0:
        with suppress(FileNotFoundError):
            os.unlink(listener.path)


@attrs.define
class _Waiting:
    """A connection whose request is not complete yet."""

    sock: socket.socket
    reader: RequestReader
    deadline: float


@attrs.frozen
class _Handover:
    """What a connection's own task needs to go on where the poller stopped."""

    reader: RequestReader
    event: Any = NEED_DATA
    leftover: bytes | None = None
    drain: bool = False
    # The answer waits for the journal to reach the disk (durable writes).
    sync: bool = False
    # An answer to send in pieces (a long lease list).
    parts: Iterator[bytes] | None = None


@attrs.define
class Server:
    """Serves an :class:`Engine` on control sockets until asked to stop.

    Args:
        engine: Executes the requests.
        limits: Per-connection limits.
        shutdown_grace: Seconds connections in flight get to finish once
            the server stops accepting.
    """

    engine: Engine
    limits: Limits = attrs.field(factory=Limits)
    shutdown_grace: float = 5.0
    _stopping: trio.Event = attrs.field(factory=trio.Event)
    _epoll: select.epoll | None = None
    _waiting: dict[int, _Waiting] = attrs.field(factory=dict)
    _connections: trio.Nursery | None = None
    _tasks: int = 0
    storage: Storage | None = None
    notifier: Notifier = attrs.field(factory=lambda: Notifier({}))
    # Re-reads the configuration (SIGHUP); set by the program.
    reload: Callable[[], Any] | None = None
    # More services to run while serving, started like ``storage.run``.
    background: list[Callable[..., Awaitable[None]]] = attrs.field(factory=list)

    def stop(self) -> None:
        """Stop accepting; connections in flight get a grace period."""
        self._stopping.set()

    async def serve(
        self,
        listeners: list[Listener],
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Serve until :meth:`stop`, SIGTERM, SIGINT or ``shutdown``."""
        by_fd = {listener.sock.fileno(): listener for listener in listeners}
        self._epoll = select.epoll()
        try:
            for fd in by_fd:
                self._epoll.register(fd, select.EPOLLIN)
            with trio.open_signal_receiver(*HANDLED_SIGNALS) as signals:
                # The caller may have blocked these until now (see
                # block_stop_signals); from here on they are handled.
                signal.pthread_sigmask(signal.SIG_UNBLOCK, HANDLED_SIGNALS)
                async with trio.open_nursery() as connections:
                    self._connections = connections
                    async with trio.open_nursery() as loops:
                        loops.start_soon(self._watch_signals, signals)
                        # Services first: a command may use them (start a
                        # compaction, say) as soon as connections are served.
                        if self.storage is not None:
                            await loops.start(self.storage.run)
                        for service in self.background:
                            await loops.start(service)
                        loops.start_soon(self._poll_loop, by_fd)
                        loops.start_soon(self._expire_loop)
                        for listener in listeners:
                            LOGGER.info(
                                "listening on control socket path=%s", listener.path
                            )
                        task_status.started()
                        self.notifier.ready(self.status_line())
                        if self.notifier.enabled:
                            loops.start_soon(self._systemd_loop)
                        await self._stopping.wait()
                        self.notifier.stopping()
                        loops.cancel_scope.cancel()

                    # Stop accepting: new clients are refused at once (no
                    # socket file, or a closed socket) instead of waiting in
                    # the backlog for a daemon that is going away.
                    for listener in listeners:
                        stop_listening(listener)

                    # Connections still waiting for their request have no
                    # command in flight: close them.  Those with a task (an
                    # answer being written, a batch) get the grace period.
                    for fd in list(self._waiting):
                        self._unwait(fd).close()
                    connections.cancel_scope.deadline = (
                        trio.current_time() + self.shutdown_grace
                    )
        finally:
            self._epoll.close()
        LOGGER.info("stopped serving")

    async def _watch_signals(self, signals: Any) -> None:
        async for signum in signals:
            name = signal.Signals(signum).name
            if signum == signal.SIGHUP:
                LOGGER.info("reloading configuration on signal signal=%s", name)
                if self.reload is not None:
                    self.reload()
                continue
            LOGGER.info("shutting down on signal signal=%s", name)
            self.stop()
            return

    def status_line(self) -> str:
        """What systemd shows as the service's status."""
        tables = self.engine.state.tables
        return f"serving, {len(tables[4])} IPv4 and {len(tables[6])} IPv6 leases"

    async def _systemd_loop(self) -> None:
        """Keep systemd's status line fresh and its watchdog fed."""
        interval = self.notifier.watchdog_interval
        step = min(interval, STATUS_EVERY) if interval else STATUS_EVERY
        last_status = time.monotonic()
        last = self.status_line()  # sent with READY=1 just now
        while True:
            if interval:
                self.notifier.watchdog()
            now = time.monotonic()
            if now - last_status >= STATUS_EVERY:
                line = self.status_line()
                if line != last:
                    self.notifier.status(line)
                    last = line
                last_status = now
            await trio.sleep(step)

    # The poller: one task for every listening socket and every connection
    # that waits for its request, through a private epoll.

    async def _poll_loop(self, listeners: dict[int, Listener]) -> None:
        """Wait on the private epoll, and handle what it reports.

        On this kind of machine a process that goes to sleep and is woken by
        a client's next connection pays more for the wake-up than for the
        command itself.  So after an event the poller keeps polling without
        sleeping for ``Limits.busy_poll`` seconds (a sequential client's next
        connection usually comes within that), and only then blocks in its
        own epoll, for at most the time to trio's next deadline, when no
        other task can run and no connection task waits on trio's own I/O
        (then it waits through trio instead).  It yields to trio whenever
        another task is runnable and at least every ``YIELD_EVERY`` seconds.
        This is what takes one-shot commands past 1.5 times Kea's rate
        (docs/performance.md); the price is at most ``busy_poll`` seconds of
        a busy core after each burst of activity, during which the poller
        yields the core to any other process that wants it.
        """
        assert self._epoll is not None
        epoll = self._epoll
        poll = epoll.poll
        statistics = trio.lowlevel.current_statistics
        busy_poll = self.limits.busy_poll
        yielded = active = time.monotonic()
        while True:
            stats = statistics()
            blocked = False
            spinning = False
            if stats.tasks_runnable or stats.run_sync_soon_queue_size:
                events = poll(0)
            elif time.monotonic() - active < busy_poll:
                events = poll(0)
                spinning = not events
            elif self._tasks:
                # Connection tasks wait on trio's own I/O: wait through trio.
                await trio.lowlevel.wait_readable(epoll.fileno())
                yielded = time.monotonic()
                events = poll(0)
            else:
                blocked = True
                events = poll(max(min(IDLE_BLOCK, stats.seconds_to_next_deadline), 0.0))
            if events:
                active = time.monotonic()
            elif spinning:
                # Let a process that shares this core (the client, maybe)
                # run before looking again.
                os.sched_yield()
            for fd, _ in events:
                listener = listeners.get(fd)
                if listener is not None:
                    self._accept_some(listener)
                elif fd in self._waiting:
                    waiting = self._waiting[fd]
                    self._read(waiting.sock, waiting.reader)
                if self.engine.state.shutdown_requested is not None:
                    self.stop()
                    return
            if (
                stats.tasks_runnable
                or stats.run_sync_soon_queue_size
                or (blocked and not events)
                or time.monotonic() - yielded > YIELD_EVERY
            ):
                await trio.lowlevel.checkpoint()
                yielded = time.monotonic()

    def _accept_some(self, listener: Listener) -> None:
        """Accept pending connections and try to answer each at once.

        At most ``ACCEPT_BURST`` at a time, so that connections already
        accepted are not starved by a flood of new ones; the epoll is
        level-triggered and reports the listener again while more wait.
        """
        for _ in range(ACCEPT_BURST):
            try:
                conn, _ = listener.sock.accept()
            except BlockingIOError:
                return
            except OSError as error:
                if error.errno not in (
                    errno.EMFILE,
                    errno.ENFILE,
                    errno.ENOBUFS,
                    errno.ENOMEM,
                ):
                    raise
                # Out of descriptors or memory: stop watching this listener
                # for a moment instead of spinning on it.
                LOGGER.warning("cannot accept a connection reason=%s", error.strerror)
                assert self._epoll is not None and self._connections is not None
                self._epoll.unregister(listener.sock.fileno())
                self._connections.start_soon(self._resume_accepting, listener)
                return
            if len(self._waiting) + self._tasks >= self.limits.max_connections:
                self._refuse(conn)
                continue
            # The socket stays in blocking mode; every call on it here passes
            # MSG_DONTWAIT instead, which saves switching modes (trio
            # switches it itself if a task takes the connection over).
            self._read(conn, self._new_reader(listener.path))

    def _refuse(self, conn: socket.socket) -> None:
        """Answer a connection over the limit with an error and close it.

        The answer is small enough for the socket to take at once; the
        request, if any came, is not read.
        """
        LOGGER.warning(
            "connection refused, too many open max_connections=%d",
            self.limits.max_connections,
        )
        with suppress(OSError):
            conn.send(self._refusal, socket.MSG_DONTWAIT)
            conn.shutdown(socket.SHUT_WR)
        conn.close()

    @property
    def _refusal(self) -> bytes:
        return encode(
            answer(
                RESULT_ERROR,
                "too many connections: the server holds "
                f"{self.limits.max_connections}, try again later",
            )
        )

    async def _resume_accepting(self, listener: Listener) -> None:
        await trio.sleep(ACCEPT_BACKOFF)
        if self._stopping.is_set():
            return  # the listener is closed: nothing to resume
        assert self._epoll is not None
        self._epoll.register(listener.sock.fileno(), select.EPOLLIN)

    def _new_reader(self, origin: str) -> RequestReader:
        reader = RequestReader(
            max_request_size=self.limits.max_request_size,
            max_depth=self.limits.max_depth,
        )
        reader.origin = origin
        return reader

    def _read(self, conn: socket.socket, reader: RequestReader) -> None:
        """Read what a connection has sent and answer it if it is complete.

        A one-shot request is answered right here, without a task: decode,
        execute, encode, write, close.  A connection whose request is not
        all here waits in the poller; a batch, a refused request, or an
        answer the socket does not take at once goes to a task of its own.
        """
        try:
            data = conn.recv(RECEIVE_SIZE, socket.MSG_DONTWAIT)
        except BlockingIOError:
            self._wait(conn, reader)
            return
        except OSError:
            self._forget(conn.fileno())
            conn.close()
            return
        self._received(conn, reader, data)

    def _received(
        self, conn: socket.socket, reader: RequestReader, data: bytes
    ) -> None:
        """Go on with the bytes just read from a connection."""
        fd = conn.fileno()
        if not data:
            # Closed before the request was complete: Kea closes without an
            # answer.
            LOGGER.debug(
                "peer closed before its request was complete size=%d",
                reader.partial_size(),
            )
            self._forget(fd)
            conn.close()
            return
        reader.feed(data)
        event = reader.next_event()
        if event is NEED_DATA:
            self._wait(conn, reader)
            return
        self._forget(fd)
        if isinstance(event, FramingError):
            # The client may still be sending what was refused; the task
            # reads that away so that the answer is not lost to a reset.
            payload = encode(self._run(event, reader.origin))
            self._hand_over(conn, _Handover(reader, leftover=payload, drain=True))
        elif isinstance(event, Request):
            result = self._run(event, reader.origin)
            leases = streamed(result)
            if leases is not None and len(leases) > CHUNK_LEASES:
                # A long lease list is rendered and sent piece by piece by a
                # task of its own, so other clients are served in between
                # and memory stays bounded.
                self._hand_over(
                    conn,
                    _Handover(
                        reader, parts=encode_parts(result), sync=self._must_sync()
                    ),
                )
                return
            payload = encode(result)
            if self._must_sync():
                self._hand_over(conn, _Handover(reader, leftover=payload, sync=True))
            else:
                self._finish(conn, reader, payload)
        else:
            self._hand_over(conn, _Handover(reader, event))

    def _finish(
        self, conn: socket.socket, reader: RequestReader, payload: bytes
    ) -> None:
        """Write an answer and close, or leave the rest to a task."""
        try:
            sent = conn.send(payload, socket.MSG_DONTWAIT)
        except BlockingIOError:
            sent = 0
        except OSError:
            conn.close()
            return
        if sent < len(payload):
            self._hand_over(conn, _Handover(reader, leftover=payload[sent:]))
        else:
            conn.close()

    def _wait(self, conn: socket.socket, reader: RequestReader) -> None:
        """Watch a connection until more of its request comes.

        The idle timeout restarts with every read, and the waiting map is
        kept in deadline order (a re-armed connection moves to the end), so
        expiry only ever looks at its front.
        """
        assert self._epoll is not None
        fd = conn.fileno()
        if self._waiting.pop(fd, None) is None:
            self._epoll.register(fd, select.EPOLLIN)
        self._waiting[fd] = _Waiting(
            conn, reader, time.monotonic() + self.limits.idle_timeout
        )

    def _unwait(self, fd: int) -> socket.socket:
        assert self._epoll is not None
        waiting = self._waiting.pop(fd)
        self._epoll.unregister(fd)
        return waiting.sock

    def _forget(self, fd: int) -> None:
        if fd in self._waiting:
            self._unwait(fd)

    def _hand_over(self, conn: socket.socket, handover: _Handover) -> None:
        assert self._connections is not None
        self._tasks += 1
        self._connections.start_soon(self._serve_connection, conn, handover)

    async def _expire_loop(self) -> None:
        """Answer connections that stayed silent past the idle timeout."""
        tick = min(EXPIRY_TICK, self.limits.idle_timeout / 4)
        while True:
            await trio.sleep(tick)
            now = time.monotonic()
            while self._waiting:
                fd, waiting = next(iter(self._waiting.items()))
                if waiting.deadline > now:
                    break
                conn = self._unwait(fd)
                payload = encode(_timeout_answer(waiting.reader))
                self._finish(conn, waiting.reader, payload)

    def _run(
        self, event: Request | BatchItem | FramingError, origin: str | None = None
    ) -> dict[str, Any]:
        """Decode and execute one request, or answer a framing error.

        ``origin`` is the control socket the request came through.
        """
        if isinstance(event, FramingError):
            LOGGER.info("request refused reason=%s", event.text)
            return answer(RESULT_ERROR, event.text)
        value = event.value
        if value is NOT_DECODED:
            try:
                value = kea_json.decode(event.text)
            except kea_json.KeaJSONError as error:
                return answer(RESULT_ERROR, str(error))
        return self.engine.execute(value, socket=origin)

    # Durable writes.

    def _must_sync(self) -> bool:
        """Whether an answer must wait for the journal to reach the disk.

        In durable mode no answer leaves while a change is only in the
        operating system, so no client learns of a change a power cut
        could still take back.
        """
        journal = self.engine.journal
        return isinstance(journal, DiskJournal) and journal.pending()

    async def _sync(self) -> None:
        """Wait until the journal is on disk.

        Raises:
            OSError: The disk did not confirm it.
        """
        journal = self.engine.journal
        assert isinstance(journal, DiskJournal)
        await journal.sync()

    async def _synced(self, payload: bytes) -> bytes:
        """``payload`` once the journal is on disk, or an error answer."""
        try:
            await self._sync()
        except OSError as error:
            return _unsynced_answer(error)
        return payload

    # Connections with a task of their own.

    async def _serve_connection(self, conn: socket.socket, handover: _Handover) -> None:
        """Finish a connection the poller could not."""
        stream = trio.SocketStream(trio.socket.from_stdlib_socket(conn))
        try:
            parts = handover.parts
            if parts is not None:
                if handover.sync:
                    try:
                        await self._sync()
                    except OSError as error:
                        parts = iter([_unsynced_answer(error)])
                for part in parts:
                    await self._send(stream, part)
                    await trio.sleep(0)  # let other connections in between
            elif handover.leftover is not None:
                payload = handover.leftover
                if handover.sync:
                    payload = await self._synced(payload)
                await self._send(stream, payload)
                if handover.drain:
                    await self._drain(stream)
            else:
                await self._converse(stream, handover.reader, handover.event)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            LOGGER.debug("peer went away before its answer was sent")
        except trio.TooSlowError:
            LOGGER.info(
                "peer stopped reading its answer, connection closed seconds=%.1f",
                self.limits.idle_timeout,
            )
        finally:
            self._tasks -= 1
            await stream.aclose()
        if self.engine.state.shutdown_requested is not None:
            self.stop()

    async def _send(self, stream: trio.SocketStream, data: bytes) -> None:
        """Write ``data``; a peer that takes none of it for ``idle_timeout``
        seconds is given up (``trio.TooSlowError``), so that a client that
        stops reading cannot hold a connection forever."""
        view = memoryview(data)
        step = 1 << 18
        for start in range(0, len(view), step):
            with trio.fail_after(self.limits.idle_timeout):
                await stream.send_all(view[start : start + step])

    async def _drain(self, stream: trio.SocketStream) -> None:
        """Read and discard what the peer still sends, for a bounded time.

        Closing a Unix socket with unread bytes in it resets the connection,
        and the peer may then lose the answer already sent.  So after
        refusing a request that was not read to its end, the server signals
        the end of its answer and reads the rest away (at most
        ``DRAIN_BYTES`` or ``DRAIN_SECONDS``) before closing.
        """
        with suppress(trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            await stream.send_eof()
            budget = DRAIN_BYTES
            with trio.move_on_after(DRAIN_SECONDS):
                while budget > 0:
                    data = await stream.receive_some(RECEIVE_SIZE)
                    if not data:
                        break
                    budget -= len(data)

    async def _converse(
        self, stream: trio.SocketStream, reader: RequestReader, event: Any
    ) -> None:
        """Read one request, or a batch, answering as events come.

        A batch is answered as a JSON list: ``[`` when it opens, each answer
        as its command completes, ``]`` at the end.  Answers are gathered
        while more complete commands are already read, and written when the
        reader needs more bytes (or enough has gathered), so a fast client's
        batch costs one write per read, not one per command.  Whatever ends
        the connection early (a framing error, the idle timeout, the peer
        closing), a batch's list is closed so that what was answered stays
        valid JSON.
        """
        out = _Answers(stream, self._must_sync, self._sync, partial(self._send, stream))
        while True:
            if event is NEED_DATA:
                await out.flush()
                data = b""
                with trio.move_on_after(self.limits.idle_timeout) as waited:
                    data = await stream.receive_some(RECEIVE_SIZE)
                if waited.cancelled_caught:
                    LOGGER.info("connection timed out size=%d", reader.partial_size())
                    await out.last(encode(_timeout_answer(reader)))
                    return
                if not data:
                    LOGGER.debug(
                        "peer closed before its request was complete size=%d",
                        reader.partial_size(),
                    )
                    await out.close()
                    return
                reader.feed(data)
            elif isinstance(event, BatchStart):
                out.open()
            elif isinstance(event, BatchItem):
                out.add(encode(self._run(event, reader.origin)))
                if out.pending > FLUSH_SIZE:
                    await out.flush()
                if self.engine.state.shutdown_requested is not None:
                    self.stop()
            elif isinstance(event, BatchEnd):
                await out.close()
                return
            else:
                await out.last(encode(self._run(event, reader.origin)))
                if isinstance(event, FramingError):
                    await self._drain(stream)
                return
            event = reader.next_event()


def _timeout_answer(reader: RequestReader) -> dict[str, Any]:
    """Kea's answer to a connection that stayed silent too long."""
    size = reader.partial_size()
    text = "Connection over control channel timed out"
    if size:
        text += f", discarded partial command of {size} bytes"
    return answer(RESULT_ERROR, text)


def _unsynced_answer(error: OSError) -> bytes:
    """The answer to a change the disk did not confirm (durable writes).

    The change is in memory and in the operating system, but the client
    must not take it as done: it may be lost in a crash.
    """
    return encode(
        answer(
            RESULT_ERROR,
            "the lease change was made but the lease file could not be synced "
            f"to disk ({error.strerror}); it may be lost in a crash",
        )
    )


@attrs.define
class _Answers:
    """Gathers the answers of one connection and writes them in chunks.

    Outside a batch it holds the one answer; inside a batch it writes the
    list's brackets and separators.
    """

    stream: trio.SocketStream
    must_sync: Callable[[], bool]
    sync: Callable[[], Awaitable[None]]
    send: Callable[[bytes], Awaitable[None]]
    batch: bool = False
    count: int = 0
    parts: list[bytes] = attrs.field(factory=list)
    pending: int = 0

    def open(self) -> None:
        """The batch list begins."""
        self.batch = True
        self._put(b"[")

    def add(self, payload: bytes) -> None:
        """One more answer (a batch item, or the single answer)."""
        if self.count:
            self._put(b", ")
        self._put(payload)
        self.count += 1

    async def last(self, payload: bytes) -> None:
        """The final answer: add it, close the list if any, write it all."""
        self.add(payload)
        await self.close()

    async def close(self) -> None:
        """Close the batch list, if one was opened, and write everything."""
        if self.batch:
            self._put(b"]")
        await self.flush()

    async def flush(self) -> None:
        """Write what has gathered."""
        if self.parts:
            data = b"".join(self.parts)
            self.parts.clear()
            self.pending = 0
            if self.must_sync():
                try:
                    await self.sync()
                except OSError as error:
                    if self.batch:
                        # A batch's list cannot carry the error in place of
                        # answers already built: end it unfinished, so that
                        # the client sees the batch did not complete.
                        await self.stream.aclose()
                        return
                    data = _unsynced_answer(error)
            await self.send(data)

    def _put(self, data: bytes) -> None:
        self.parts.append(data)
        self.pending += len(data)


@contextmanager
def open_listeners(
    configs: tuple[SocketConfig, ...], activated: list[PassedSocket] | None = None
) -> Iterator[list[Listener]]:
    """Listen on every control socket; release them all on exit.

    Sockets systemd passed (``activated``) are used as they are; a
    configured path that one of them already serves is not bound again.
    The others are bound here.
    """
    with ExitStack() as stack:
        listeners = []
        for passed in activated or ():
            sock = passed.sock
            stack.callback(sock.close)
            path = sock.getsockname()
            path = path.decode(errors="replace") if isinstance(path, bytes) else path
            LOGGER.info(
                "using control socket passed by systemd path=%s name=%s",
                path,
                passed.name,
            )
            listeners.append(Listener(path, sock, -1))
        served = {os.path.abspath(listener.path) for listener in listeners}
        for config in configs:
            if os.path.abspath(config.path) in served:
                continue
            listeners.append(stack.enter_context(bind_control_socket(config)))
        yield listeners
