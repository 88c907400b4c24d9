"""Sending NameChangeRequests to kea-dhcp-ddns: the queues and the UDP sender.

Theory of operation
-------------------

Each family whose ``dhcp-ddns`` map has ``enable-updates`` true gets a
:class:`Sender`: a bounded queue (``max-queue-size`` requests) and a UDP
socket bound to ``sender-ip``/``sender-port`` and connected to
``server-ip``/``server-port``.  Commands and reclamation put requests in the
queue (:meth:`DnsUpdates.submit`), which never waits: a full queue drops the
new request and says so in the log, and the command goes on.  A task per
sender takes requests from the queue and sends each as one datagram (see
:mod:`leased.ncr` for the format); kea-dhcp-ddns answers nothing over UDP.

UDP tells nothing of delivery, with one exception that leased uses: the
socket is connected, so when nothing listens on the server's port the
kernel reports the ICMP "port unreachable" that comes back as an error on
the socket (``ECONNREFUSED``).  Then

* the requests sent in the last :data:`RESEND_WINDOW` seconds, which may be
  the ones that were refused, go back to the front of the queue in their
  order (kea-dhcp-ddns handles a repeated request as the first one: an add
  finds its records in place, a remove finds them gone);
* the sender stops sending and logs that the server is not reachable; the
  queue keeps filling up to its limit;
* every few seconds (doubling from :data:`RETRY_MIN` up to
  :data:`RETRY_MAX`) it sends the first request again and waits
  :data:`PROBE_WAIT` for a refusal; when none comes, the server is taken to
  be back, which is logged, and the queue drains.

Kea 2.2 ignores the refusal (the requests are lost) and, on a full queue,
turns DNS updates off until the next reconfiguration; leased keeps both the
requests and the updates.

On a reload the senders follow the new configuration: a changed server or
sender address gets a new socket and the queue moves over; updates turned
off drop what was queued, as Kea does.  At shutdown what is queued gets one
last attempt; what is left is logged.

Logger: ``leased.ddns``.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import socket
import time
from collections import deque
from collections.abc import Callable
from typing import Final

import attrs
import trio

from leased import ncr
from leased.commands.ddns import build_request
from leased.config import Config, FamilyConfig
from leased.config_ddns import DhcpDdns
from leased.model import V4, V6, Family, Lease
from leased.ncr import NameChangeRequest, NcrError

LOGGER: Final = logging.getLogger("leased.ddns")

# Requests sent this recently are sent again after a refusal (seconds).
RESEND_WINDOW: Final = 1.0
# Waits between attempts while the server is not reachable (seconds).
RETRY_MIN: Final = 0.5
RETRY_MAX: Final = 8.0
# How long a probe waits for a refusal before the server counts as back.
PROBE_WAIT: Final = 0.2
# Requests sent in a row before letting commands run.
SEND_BATCH: Final = 64
# How long the last attempt at shutdown may take (seconds).
SHUTDOWN_GRACE: Final = 1.0


class DdnsSetupError(Exception):
    """A sender socket could not be opened; the text says which and why."""


def _transport(settings: DhcpDdns) -> tuple[str, int, str, int]:
    return (
        settings.sender_ip,
        settings.sender_port,
        settings.server_ip,
        settings.server_port,
    )


def open_socket(settings: DhcpDdns, where: str) -> socket.socket:
    """Open the non-blocking UDP socket a sender uses.

    Raises:
        DdnsSetupError: The sender address cannot be bound or the server
            address cannot be set as the peer.
    """
    kind = socket.AF_INET if settings.ip_version == 4 else socket.AF_INET6
    sock = socket.socket(kind, socket.SOCK_DGRAM)
    try:
        sock.setblocking(False)
        sock.bind((settings.sender_ip, settings.sender_port))
        sock.connect((settings.server_ip, settings.server_port))
    except OSError as error:
        sock.close()
        raise DdnsSetupError(
            f"{where}: cannot open the DNS update sender "
            f"{_endpoint(settings.sender_ip, settings.sender_port)} towards "
            f"{_endpoint(settings.server_ip, settings.server_port)}: "
            f"{error.strerror or error}"
        ) from error
    return sock


def _endpoint(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


@attrs.define(eq=False)
class Sender:
    """One family's queue of requests and the socket they leave through.

    Args:
        family: Which family's requests.
        settings: The family's ``dhcp-ddns`` map.
        sock: The connected UDP socket; ``None`` keeps requests queued
            without sending them (core tests).
        clock: A monotonic clock (tests pass their own).
    """

    family: Family
    settings: DhcpDdns
    sock: socket.socket | None = None
    clock: Callable[[], float] = time.monotonic
    queue: deque[NameChangeRequest] = attrs.field(factory=deque)
    # Requests sent lately, with their time, in case they were refused.
    recent: deque[tuple[float, NameChangeRequest]] = attrs.field(factory=deque)
    reachable: bool = True
    retry_delay: float = RETRY_MIN
    # Counters since start-up, and drops in the current full-queue run.
    queued: int = 0
    sent: int = 0
    dropped: int = 0
    resent: int = 0
    refusals: int = 0
    # Set when :meth:`run` has ended and closed the socket.
    finished: trio.Event = attrs.field(factory=trio.Event)
    _dropping: int = 0
    _running: bool = False
    _wakeup: trio.Event = attrs.field(factory=trio.Event)
    _scope: trio.CancelScope = attrs.field(factory=trio.CancelScope)

    @property
    def has_room(self) -> bool:
        """Whether one more request fits in the queue."""
        return len(self.queue) < self.settings.max_queue_size

    def submit(self, request: NameChangeRequest) -> bool:
        """Queue a request without waiting; False when the queue is full."""
        word = self.family.word
        if not self.has_room:
            self.dropped += 1
            self._dropping += 1
            if self._dropping == 1:
                LOGGER.warning(
                    "dns update queue full, requests dropped family=%s max_queue_size=%d",
                    word,
                    self.settings.max_queue_size,
                )
            LOGGER.debug(
                "dns update request dropped family=%s change=%s fqdn=%s address=%s",
                word,
                *request.fields(),
            )
            return False
        if self._dropping:
            LOGGER.warning(
                "dns update queue has room again family=%s dropped=%d",
                word,
                self._dropping,
            )
            self._dropping = 0
        self.queue.append(request)
        self.queued += 1
        LOGGER.debug(
            "dns update request queued family=%s change=%s fqdn=%s address=%s queued=%d",
            word,
            *request.fields(),
            len(self.queue),
        )
        self._wakeup.set()
        return True

    # Sending.  Only the sender's task calls these.

    def _send_one(self) -> bool | None:
        """Send the first queued request.

        Returns:
            True when it left, None when the socket buffer is full (try
            again when writable), False when the server refused (the
            request stays first in the queue).
        """
        assert self.sock is not None
        request = self.queue[0]
        try:
            self.sock.send(request.encode())
        except BlockingIOError:
            return None
        except OSError as error:
            # The error is one an earlier datagram caused (a refusal comes
            # back after the send that provoked it); this one did not leave.
            self._refused(error)
            return False
        self.queue.popleft()
        self.sent += 1
        now = self.clock()
        self.recent.append((now, request))
        while self.recent and (
            now - self.recent[0][0] > RESEND_WINDOW
            or len(self.recent) > self.settings.max_queue_size
        ):
            self.recent.popleft()
        LOGGER.debug(
            "dns update request sent family=%s change=%s fqdn=%s address=%s",
            self.family.word,
            *request.fields(),
        )
        return True

    def _refused(self, error: OSError) -> None:
        """Handle a refusal: requeue the recent requests, stop sending."""
        self.refusals += 1
        now = self.clock()
        again = [request for at, request in self.recent if now - at <= RESEND_WINDOW]
        self.recent.clear()
        self.queue.extendleft(reversed(again))
        self.resent += len(again)
        if self.reachable:
            self.reachable = False
            self.retry_delay = RETRY_MIN
            LOGGER.warning(
                "dns update server not reachable, requests kept queued family=%s "
                "server=%s reason=%s queued=%d",
                self.family.word,
                _endpoint(self.settings.server_ip, self.settings.server_port),
                _reason(error),
                len(self.queue),
            )
        else:
            LOGGER.debug(
                "dns update server still not reachable family=%s reason=%s",
                self.family.word,
                _reason(error),
            )
        self._wakeup.set()

    async def run(self, after: trio.Event | None = None) -> None:
        """Send until cancelled or stopped; then close the socket.

        Args:
            after: Wait for this first (a sender being replaced that holds
                the same fixed port finishes before this one opens it).
        """
        self._running = True
        with self._scope:
            try:
                if after is not None:
                    await after.wait()
                if self.sock is None and not self._open_late():
                    return
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._watch_errors)
                    await self._send_loop()
            finally:
                self._last_attempt()
                _close(self.sock)
                self.sock = None
                self.finished.set()

    def _open_late(self) -> bool:
        """Open the socket :meth:`run` was started without; log a failure."""
        try:
            self.sock = open_socket(
                self.settings, f"Dhcp{self.family.version}/dhcp-ddns"
            )
        except DdnsSetupError as error:
            LOGGER.error(
                "dns updates stopped family=%s reason=%s", self.family.word, error
            )
            self.report_unsent("sender socket not opened")
            return False
        return True

    def stop(self) -> None:
        """End :meth:`run`; a sender that never ran closes its socket now."""
        self._scope.cancel()
        if not self._running:
            _close(self.sock)
            self.sock = None
            self.finished.set()

    async def _send_loop(self) -> None:
        while True:
            if not self.queue:
                self._wakeup = trio.Event()
                await self._wakeup.wait()
                continue
            if not self.reachable:
                await self._probe()
                continue
            for _ in range(SEND_BATCH):
                if not self.queue or not self.reachable:
                    break
                done = self._send_one()
                if done is None:
                    assert self.sock is not None
                    await trio.lowlevel.wait_writable(self.sock)
            await trio.sleep(0)  # let commands run between batches

    async def _probe(self) -> None:
        """Wait, then send one request and see whether it is refused."""
        await trio.sleep(self.retry_delay)
        refusals = self.refusals
        if self._send_one():
            await trio.sleep(PROBE_WAIT)
            self._check_error()
            if self.refusals == refusals:
                self.reachable = True
                LOGGER.info(
                    "dns update server reachable again family=%s server=%s queued=%d",
                    self.family.word,
                    _endpoint(self.settings.server_ip, self.settings.server_port),
                    len(self.queue),
                )
                return
        self.retry_delay = min(self.retry_delay * 2, RETRY_MAX)

    def _check_error(self) -> None:
        """Pick up an error the socket holds (a refusal), if any."""
        assert self.sock is not None
        code = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code:
            self._refused(OSError(code, errno.errorcode.get(code, str(code))))

    async def _watch_errors(self) -> None:
        """Notice refusals as they arrive, between sends too."""
        assert self.sock is not None
        while True:
            await trio.lowlevel.wait_readable(self.sock)
            try:
                self.sock.recv(1 << 16)  # kea-dhcp-ddns never sends: discard
            except BlockingIOError:
                continue
            except OSError as error:
                self._refused(error)

    def _last_attempt(self) -> None:
        """At the end: send what is queued if the server is there; report."""
        deadline = self.clock() + SHUTDOWN_GRACE
        if self.sock is not None and self.reachable:
            while self.queue and self.clock() < deadline:
                if not self._send_one():
                    break

    def report_unsent(self, why: str) -> None:
        """Log the requests left in the queue (at shutdown or turn-off)."""
        if self.queue:
            LOGGER.warning(
                "dns update requests not sent family=%s count=%d reason=%s",
                self.family.word,
                len(self.queue),
                why,
            )


def _reason(error: OSError) -> str:
    return error.strerror or str(error)


@attrs.define(eq=False)
class DnsUpdates:
    """The DNS update queues of both families (``State.ddns``).

    Args:
        config: The running configuration.
        senders: The sender of each family with updates on, by version.
    """

    config: Config
    senders: dict[int, Sender] = attrs.field(factory=dict)
    use_sockets: bool = True
    _nursery: trio.Nursery | None = None

    @classmethod
    def open(cls, config: Config, *, sockets: bool = True) -> DnsUpdates:
        """Build the senders the configuration asks for.

        Args:
            config: The configuration.
            sockets: False builds queues without sockets (core tests).

        Raises:
            DdnsSetupError: A sender socket could not be opened; none is left
                open.
        """
        updates = cls(config, use_sockets=sockets)
        try:
            for family in (V4, V6):
                settings = _enabled(config.family(family.version))
                if settings is None:
                    continue
                sock = None
                if sockets:
                    sock = open_socket(settings, f"Dhcp{family.version}/dhcp-ddns")
                updates.senders[family.version] = Sender(family, settings, sock)
        except DdnsSetupError:
            updates.close()
            raise
        return updates

    def enabled(self, family: Family) -> bool:
        """Whether DNS updates are on for the family."""
        return family.version in self.senders

    def has_room(self, family: Family) -> bool:
        """Whether the family's queue takes one more request."""
        sender = self.senders.get(family.version)
        return sender is not None and sender.has_room

    def submit(self, family: Family, request: NameChangeRequest) -> bool:
        """Queue a request; False when updates are off or the queue is full."""
        sender = self.senders.get(family.version)
        if sender is None:
            return False
        return sender.submit(request)

    def queue_add(self, family: Family, lease: Lease) -> bool:
        """Queue the request that adds a lease's DNS entries."""
        return self._queue_lease(ncr.CHG_ADD, family, lease)

    def queue_remove(self, family: Family, lease: Lease) -> bool:
        """Queue the request that removes a lease's DNS entries.

        Returns:
            True when a request was queued; False when updates are off, the
            lease has no DNS entries, its request cannot be built (logged)
            or the queue is full (logged).
        """
        return self._queue_lease(ncr.CHG_REMOVE, family, lease)

    def _queue_lease(self, change_type: int, family: Family, lease: Lease) -> bool:
        if not self.enabled(family) or not ncr.qualifies(lease):
            return False
        try:
            request = build_request(self.config, change_type, family, lease)
        except NcrError as error:
            LOGGER.warning(
                "dns update request not built family=%s change=%s address=%s reason=%s",
                family.word,
                ncr.CHANGE_WORDS[change_type],
                family.format_ip(lease.address),
                error,
            )
            return False
        return self.submit(family, request)

    # Lifecycle.

    async def run(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Run every sender until cancelled; report what is left at the end."""
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                for sender in self.senders.values():
                    self._log_enabled(sender)
                    nursery.start_soon(sender.run, None)
                task_status.started()
                await trio.sleep_forever()
        finally:
            self._nursery = None
            for sender in self.senders.values():
                sender.report_unsent("shutdown")
            self.close()

    def close(self) -> None:
        """Close every socket."""
        for sender in self.senders.values():
            _close(sender.sock)
            sender.sock = None

    def prepare(self, config: Config) -> dict[int, Sender | None]:
        """Open what a new configuration needs, changing nothing yet.

        Returns:
            A plan for :meth:`switch`: per family, the sender to use (the
            running one when its addresses are unchanged, else a new one)
            or None for updates off.

        Raises:
            DdnsSetupError: A new socket could not be opened; none is left
                open.
        """
        plan: dict[int, Sender | None] = {}
        try:
            for family in (V4, V6):
                settings = _enabled(config.family(family.version))
                old = self.senders.get(family.version)
                if settings is None:
                    plan[family.version] = None
                elif old is not None and _transport(old.settings) == _transport(
                    settings
                ):
                    plan[family.version] = old
                elif (
                    old is not None and _same_fixed_sender(old, settings)
                ) or not self.use_sockets:
                    # A fixed sender port is held by the running socket: the
                    # new one is opened at the switch, once that is closed.
                    plan[family.version] = Sender(family, settings)
                else:
                    where = f"Dhcp{family.version}/dhcp-ddns"
                    sock = open_socket(settings, where)
                    plan[family.version] = Sender(family, settings, sock)
        except DdnsSetupError:
            self._discard(plan)
            raise
        return plan

    def _discard(self, plan: dict[int, Sender | None]) -> None:
        """Close the sockets a plan opened."""
        for version, sender in plan.items():
            if sender is not None and sender is not self.senders.get(version):
                _close(sender.sock)

    def switch(self, config: Config, plan: dict[int, Sender | None]) -> None:
        """Take a prepared configuration into use."""
        self.config = config
        for family in (V4, V6):
            old = self.senders.pop(family.version, None)
            new = plan.get(family.version)
            if new is not None and new is old:
                settings = _enabled(config.family(family.version))
                assert settings is not None
                old.settings = settings  # the queue size may have changed
                self.senders[family.version] = old
                continue
            if old is not None:
                if new is None:
                    old.report_unsent("dns updates turned off")
                    LOGGER.info("dns updates turned off family=%s", family.word)
                else:
                    new.queue.extend(old.queue)
                old.queue.clear()
                old.stop()
            if new is None:
                continue
            self.senders[family.version] = new
            if self._nursery is not None:
                self._log_enabled(new)
                after = old.finished if old is not None else None
                self._nursery.start_soon(new.run, after)
            elif new.sock is None and self.use_sockets:
                new._open_late()

    @staticmethod
    def _log_enabled(sender: Sender) -> None:
        settings = sender.settings
        local = "unbound"
        if sender.sock is not None:
            address, port = sender.sock.getsockname()[:2]
            local = _endpoint(address, port)
        LOGGER.info(
            "dns updates enabled family=%s server=%s sender=%s max_queue_size=%d",
            sender.family.word,
            _endpoint(settings.server_ip, settings.server_port),
            local,
            settings.max_queue_size,
        )


def _enabled(config: FamilyConfig | None) -> DhcpDdns | None:
    """The family's ``dhcp-ddns`` settings when updates are on, else None."""
    if config is None or not config.dhcp_ddns.enable_updates:
        return None
    return config.dhcp_ddns


def _close(sock: socket.socket | None) -> None:
    """Close a socket a trio task may be waiting on."""
    if sock is None or sock.fileno() < 0:
        return
    # Outside trio (start-up failures) nothing can be waiting on it.
    with contextlib.suppress(RuntimeError):
        trio.lowlevel.notify_closing(sock)
    sock.close()


def _same_fixed_sender(old: Sender, settings: DhcpDdns) -> bool:
    return (
        settings.sender_port != 0
        and old.settings.sender_port == settings.sender_port
        and old.settings.sender_ip == settings.sender_ip
    )
