"""The trio shell: control sockets, connections, signals and shutdown.

This is the only module that awaits.  It owns the listening sockets, reads
requests through :class:`~leased.protocol.RequestReader`, hands decoded
requests to :class:`~leased.engine.Engine` and writes the answers back.

The per-connection path
-----------------------

A Kea client opens a connection per command, so accepting and answering is
the hot path.  A task per connection costs more than the command itself, so
the accept loop works like this: when the listening socket is readable, it
accepts every pending connection and tries to read each one at once.  A
one-shot client has usually sent its whole request by then; it is answered
inline, without a task: decode, execute, encode, write, close.  Only a
connection whose request is not there yet, is incomplete, is a batch, or
whose answer does not fit in the socket buffer gets a task of its own, which
then applies the idle timeout and writes with backpressure.

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
import signal
import socket
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from typing import Any, Final

import attrs
import trio

from leased import kea_json
from leased.config import SocketConfig
from leased.engine import Engine, answer
from leased.errors import RESULT_ERROR
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
from leased.wire import encode

LOGGER: Final = logging.getLogger("leased.server")

RECEIVE_SIZE: Final = 1 << 16
SEND_CHUNK: Final = 1 << 16
LISTEN_BACKLOG: Final = 1024
DRAIN_BYTES: Final = 64 << 20
DRAIN_SECONDS: Final = 2.0


@attrs.frozen
class Limits:
    """Per-connection limits.

    Attributes:
        idle_timeout: Seconds a connection may stay silent before it is
            answered with a timeout error and closed (Kea: 10).
        max_request_size: Most bytes in one request or batch element.
        max_depth: Deepest nesting of brackets in one request.
    """

    idle_timeout: float = 10.0
    max_request_size: int = 64 << 20
    max_depth: int = 100


class SocketInUse(Exception):
    """Another process holds the lock of a control socket."""


@attrs.define
class Listener:
    """A bound, listening control socket and its lock."""

    path: str
    sock: socket.socket
    lock_fd: int


@contextmanager
def bind_control_socket(config: SocketConfig) -> Iterator[Listener]:
    """Bind a control socket, holding its lock file; clean both up on exit.

    Raises:
        SocketInUse: Another daemon holds the lock.
        OSError: The socket could not be created.
    """
    path = config.path
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


@attrs.frozen
class _Unfinished:
    """Where the inline path left a connection for its task to go on."""

    reader: RequestReader
    event: Any = NEED_DATA
    leftover: bytes | None = None
    drain: bool = False


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
        with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async with trio.open_nursery() as connections:
                async with trio.open_nursery() as acceptors:
                    acceptors.start_soon(self._watch_signals, signals)
                    for listener in listeners:
                        acceptors.start_soon(self._accept_loop, listener, connections)
                        LOGGER.info(
                            "listening on control socket path=%s", listener.path
                        )
                    task_status.started()
                    await self._stopping.wait()
                    acceptors.cancel_scope.cancel()
                connections.cancel_scope.deadline = (
                    trio.current_time() + self.shutdown_grace
                )
        LOGGER.info("stopped serving")

    async def _watch_signals(self, signals: Any) -> None:
        async for signum in signals:
            LOGGER.info(
                "shutting down on signal signal=%s", signal.Signals(signum).name
            )
            self.stop()
            return

    async def _accept_loop(self, listener: Listener, connections: trio.Nursery) -> None:
        sock = listener.sock
        while True:
            await trio.lowlevel.wait_readable(sock)
            # Accept everything that is pending before waiting again.
            while True:
                try:
                    conn, _ = sock.accept()
                except BlockingIOError:
                    break
                except OSError as error:
                    if error.errno in (
                        errno.EMFILE,
                        errno.ENFILE,
                        errno.ENOBUFS,
                        errno.ENOMEM,
                    ):
                        LOGGER.warning(
                            "cannot accept a connection reason=%s", error.strerror
                        )
                        await trio.sleep(0.05)
                        break
                    raise
                conn.setblocking(False)
                unfinished = self._answer_inline(conn)
                if unfinished is not None:
                    connections.start_soon(self._serve_connection, conn, unfinished)
                if self.engine.state.shutdown_requested is not None:
                    self.stop()
                    return
            await trio.lowlevel.checkpoint()

    def _new_reader(self) -> RequestReader:
        return RequestReader(
            max_request_size=self.limits.max_request_size,
            max_depth=self.limits.max_depth,
        )

    def _answer_inline(self, conn: socket.socket) -> _Unfinished | None:
        """Answer a one-shot request whose bytes are already here.

        Returns:
            None when the connection was answered and closed; otherwise what
            its task needs to go on (nothing read yet, an incomplete
            request, a batch, or an answer the socket did not take at once).
        """
        reader = self._new_reader()
        try:
            data = conn.recv(RECEIVE_SIZE)
        except BlockingIOError:
            return _Unfinished(reader)
        except OSError:
            conn.close()
            return None
        if not data:
            conn.close()
            return None
        reader.feed(data)
        event = reader.next_event()
        if isinstance(event, FramingError):
            # The client may still be sending what was refused; its task
            # reads that away so the answer is not lost to a reset.
            return _Unfinished(reader, leftover=encode(self._run(event)), drain=True)
        if not isinstance(event, Request):
            return _Unfinished(reader, event)
        payload = encode(self._run(event))
        try:
            sent = conn.send(payload)
        except BlockingIOError:
            sent = 0
        except OSError:
            conn.close()
            return None
        if sent < len(payload):
            return _Unfinished(reader, leftover=payload[sent:])
        conn.close()
        return None

    def _run(self, event: Request | BatchItem | FramingError) -> dict[str, Any]:
        """Decode and execute one request, or answer a framing error."""
        if isinstance(event, FramingError):
            LOGGER.info("request refused reason=%s", event.text)
            return answer(RESULT_ERROR, event.text)
        value = event.value
        if value is NOT_DECODED:
            try:
                value = kea_json.decode(event.text)
            except kea_json.KeaJSONError as error:
                return answer(RESULT_ERROR, str(error))
        return self.engine.execute(value)

    async def _serve_connection(
        self, conn: socket.socket, unfinished: _Unfinished
    ) -> None:
        """Finish a connection the inline path could not."""
        stream = trio.SocketStream(trio.socket.from_stdlib_socket(conn))
        try:
            if unfinished.leftover is not None:
                await self._send(stream, unfinished.leftover)
                if unfinished.drain:
                    await self._drain(stream)
            else:
                await self._converse(stream, unfinished.reader, unfinished.event)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            LOGGER.debug("peer went away before its answer was sent")
        finally:
            await stream.aclose()
        if self.engine.state.shutdown_requested is not None:
            self.stop()

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

    async def _send(self, stream: trio.SocketStream, payload: bytes) -> None:
        view = memoryview(payload)
        for start in range(0, len(view), SEND_CHUNK):
            await stream.send_all(view[start : start + SEND_CHUNK])

    async def _converse(
        self, stream: trio.SocketStream, reader: RequestReader, event: Any
    ) -> None:
        """Read one request, or a batch, answering as events come.

        A batch is answered as a JSON list streamed item by item: ``[``
        when it opens, each answer as its command completes, ``]`` at the
        end.  Whatever ends the connection early (a framing error, the idle
        timeout, the peer closing), a batch's list is closed so that what
        was answered is valid JSON.
        """
        batch = _BatchWriter(stream, self)
        while True:
            if event is NEED_DATA:
                with trio.move_on_after(self.limits.idle_timeout):
                    data = await stream.receive_some(RECEIVE_SIZE)
                    if not data:
                        # Closed before the request was complete: Kea closes
                        # without an answer.
                        LOGGER.debug(
                            "peer closed before its request was complete size=%d",
                            reader.partial_size(),
                        )
                        await batch.close()
                        return
                    reader.feed(data)
                    event = reader.next_event()
                    continue
                await self._timed_out(batch, reader)
                return
            if isinstance(event, BatchStart):
                await batch.open()
            elif isinstance(event, BatchItem):
                await batch.item(encode(self._run(event)))
            elif isinstance(event, BatchEnd):
                await batch.close()
                return
            else:
                payload = encode(self._run(event))
                if batch.opened:
                    await batch.item(payload)
                    await batch.close()
                else:
                    await self._send(stream, payload)
                if isinstance(event, FramingError):
                    await self._drain(stream)
                return
            event = reader.next_event()

    async def _timed_out(self, batch: _BatchWriter, reader: RequestReader) -> None:
        size = reader.partial_size()
        text = "Connection over control channel timed out"
        if size:
            text += f", discarded partial command of {size} bytes"
        LOGGER.info("connection timed out size=%d", size)
        payload = encode(answer(RESULT_ERROR, text))
        if batch.opened:
            await batch.item(payload)
            await batch.close()
        else:
            await self._send(batch.stream, payload)


@attrs.define
class _BatchWriter:
    """Writes a batch's answers as one JSON list, item by item."""

    stream: trio.SocketStream
    server: Server
    opened: bool = False
    count: int = 0

    async def open(self) -> None:
        self.opened = True
        await self.stream.send_all(b"[")

    async def item(self, payload: bytes) -> None:
        await self.server._send(
            self.stream, payload if not self.count else b", " + payload
        )
        self.count += 1
        if self.server.engine.state.shutdown_requested is not None:
            self.server.stop()

    async def close(self) -> None:
        if self.opened:
            await self.stream.send_all(b"]")


@contextmanager
def open_listeners(configs: tuple[SocketConfig, ...]) -> Iterator[list[Listener]]:
    """Bind every configured control socket; release them all on exit."""
    with ExitStack() as stack:
        yield [stack.enter_context(bind_control_socket(config)) for config in configs]
