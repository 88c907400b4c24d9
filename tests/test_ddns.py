"""The DNS update sender: UDP on loopback, refusals, full queues, reloads."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trio

from leased import config, ddns, ncr
from leased.ddns import DdnsSetupError, DnsUpdates
from leased.harness import run_leased
from leased.model import V4, V6, Lease4, Lease6

ADDRESS = (192 << 24) | (2 << 8)


def lease4(octet: int) -> Lease4:
    """An IPv4 lease with DNS entries at 192.0.2.<octet>."""
    return Lease4(
        address=ADDRESS | octet,
        hw_address=bytes.fromhex("0a0b0c0d0e0f"),
        client_id=None,
        valid_lft=3600,
        cltt=1_900_000_000,
        subnet_id=1,
        fqdn_fwd=True,
        fqdn_rev=True,
        hostname=f"host{octet}.example.org.",
    )


def free_port(kind: int = socket.AF_INET) -> int:
    """A UDP port nothing listens on right now."""
    with socket.socket(kind, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1" if kind == socket.AF_INET else "::1", 0))
        port: int = probe.getsockname()[1]
    return port


def make_config(port: int, **dhcp_ddns: Any) -> config.Config:
    """Both families with updates on towards ``port`` on loopback.

    ``dhcp_ddns`` adds to the IPv4 map; IPv6 goes to ``[::1]:port``.
    """
    return config.build(
        {
            "Dhcp4": {
                "dhcp-ddns": {"enable-updates": True, "server-port": port, **dhcp_ddns},
                "subnet4": [{"id": 1, "subnet": "192.0.2.0/24"}],
            },
            "Dhcp6": {
                "dhcp-ddns": {
                    "enable-updates": True,
                    "server-ip": "::1",
                    "server-port": port,
                },
                "subnet6": [{"id": 1, "subnet": "2001:db8::/64"}],
            },
        }
    )


class Listener:
    """A UDP socket standing in for kea-dhcp-ddns."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1") -> None:
        kind = socket.AF_INET6 if ":" in host else socket.AF_INET
        plain = socket.socket(kind, socket.SOCK_DGRAM)
        plain.bind((host, port))
        self.port: int = plain.getsockname()[1]
        self.sock = trio.socket.from_stdlib_socket(plain)

    async def receive(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """The next ``count`` requests, decoded."""
        got = []
        with trio.fail_after(timeout):
            while len(got) < count:
                got.append(ncr.decode(await self.sock.recv(65535)))
        return got

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Retry and probe quickly so the tests stay short."""
    monkeypatch.setattr(ddns, "RETRY_MIN", 0.05)
    monkeypatch.setattr(ddns, "PROBE_WAIT", 0.05)
    yield


async def test_sender_delivers_requests_in_order() -> None:
    listener = Listener()
    updates = DnsUpdates.open(make_config(listener.port))
    async with trio.open_nursery() as nursery:
        await nursery.start(updates.run)

        for octet in range(1, 6):
            assert updates.queue_add(V4, lease4(octet))
        got = await listener.receive(5)

        nursery.cancel_scope.cancel()
    listener.close()

    assert [request["ip-address"] for request in got] == [
        f"192.0.2.{octet}" for octet in range(1, 6)
    ]
    assert {request["change-type"] for request in got} == {ncr.CHG_ADD}
    assert updates.senders[4].sent == 5


async def test_sender_ipv6_server_address() -> None:
    listener = Listener(host="::1")
    updates = DnsUpdates.open(make_config(listener.port))
    lease = Lease6(
        address=(0x20010DB8 << 96) | 5,
        type=0,
        prefix_len=128,
        duid=b"\x01\x02",
        iaid=1,
        valid_lft=7200,
        preferred_lft=3600,
        cltt=1_900_000_000,
        subnet_id=1,
        fqdn_fwd=True,
        hostname="six.example.org.",
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(updates.run)

        updates.queue_remove(V6, lease)
        [got] = await listener.receive(1)

        nursery.cancel_scope.cancel()
    listener.close()

    assert (got["change-type"], got["ip-address"]) == (ncr.CHG_REMOVE, "2001:db8::5")


async def test_sender_keeps_requests_while_the_server_is_away(
    fast_retries: None, caplog: pytest.LogCaptureFixture
) -> None:
    """Refused requests stay queued and arrive once the server listens."""
    caplog.set_level(logging.INFO, logger="leased.ddns")
    port = free_port()
    updates = DnsUpdates.open(make_config(port))
    sender = updates.senders[4]
    async with trio.open_nursery() as nursery:
        await nursery.start(updates.run)
        for octet in range(1, 4):
            updates.queue_add(V4, lease4(octet))
        with trio.fail_after(5):
            while sender.reachable:
                await trio.sleep(0.01)
        await trio.sleep(0.2)
        kept = len(sender.queue)

        listener = Listener(port)
        got = await listener.receive(3)
        with trio.fail_after(5):
            while not sender.reachable or sender.queue:
                await trio.sleep(0.01)

        nursery.cancel_scope.cancel()
    listener.close()

    assert kept == 3
    assert sorted(request["ip-address"] for request in got) == [
        "192.0.2.1",
        "192.0.2.2",
        "192.0.2.3",
    ]
    assert "dns update server not reachable, requests kept queued" in caplog.text
    assert "dns update server reachable again family=IPv4" in caplog.text


def test_sender_full_queue_drops_and_reports(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """New requests are dropped (and counted) until there is room again."""
    updates = DnsUpdates.open(make_config(free_port(), **{"max-queue-size": 2}))
    sender = updates.senders[4]

    accepted = [updates.queue_add(V4, lease4(octet)) for octet in range(1, 6)]
    sender.queue.popleft()
    after = updates.queue_add(V4, lease4(9))
    updates.close()

    assert accepted == [True, True, False, False, False]
    assert after is True
    assert sender.dropped == 3
    assert caplog.text.count("dns update queue full, requests dropped") == 1
    assert "dns update queue has room again family=IPv4 dropped=3" in caplog.text


def test_sender_skips_leases_without_dns_entries() -> None:
    updates = DnsUpdates.open(make_config(free_port()), sockets=False)
    nameless = Lease4(
        address=ADDRESS | 1,
        hw_address=bytes(6),
        client_id=None,
        valid_lft=10,
        cltt=0,
        subnet_id=1,
    )

    assert updates.queue_remove(V4, nameless) is False
    assert not updates.senders[4].queue


def test_open_reports_a_sender_port_in_use() -> None:
    """Both families on one fixed sender port: the second cannot bind."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        loaded = make_config(
            free_port(), **{"sender-ip": "127.0.0.1", "sender-port": port}
        )

        with pytest.raises(DdnsSetupError) as raised:
            DnsUpdates.open(loaded)

    assert str(raised.value).startswith(
        f"Dhcp4/dhcp-ddns: cannot open the DNS update sender 127.0.0.1:{port}"
    )
    assert "Address already in use" in str(raised.value)


async def test_sender_sends_what_is_queued_at_shutdown() -> None:
    listener = Listener()
    updates = DnsUpdates.open(make_config(listener.port))
    async with trio.open_nursery() as nursery:
        await nursery.start(updates.run)
        updates.queue_add(V4, lease4(1))
        updates.queue_add(V4, lease4(2))
        nursery.cancel_scope.cancel()  # before the sender ran

    got = await listener.receive(2)
    listener.close()

    assert [request["ip-address"] for request in got] == ["192.0.2.1", "192.0.2.2"]


async def test_reload_moves_the_queue_to_a_new_server(
    fast_retries: None,
) -> None:
    """Queued requests follow a changed server-port; turning off drops them."""
    away = free_port()
    listener = Listener()
    updates = DnsUpdates.open(make_config(away))
    async with trio.open_nursery() as nursery:
        await nursery.start(updates.run)
        for octet in range(1, 4):
            updates.queue_add(V4, lease4(octet))
        with trio.fail_after(5):
            while updates.senders[4].reachable:
                await trio.sleep(0.01)

        moved = make_config(listener.port)
        updates.switch(moved, updates.prepare(moved))
        got = await listener.receive(3)

        off = config.build({"Dhcp4": {"dhcp-ddns": {"enable-updates": False}}})
        updates.switch(off, updates.prepare(off))
        dropped = updates.queue_add(V4, lease4(9))

        nursery.cancel_scope.cancel()
    listener.close()

    assert sorted(request["ip-address"] for request in got) == [
        "192.0.2.1",
        "192.0.2.2",
        "192.0.2.3",
    ]
    assert dropped is False
    assert updates.senders == {}


async def test_reload_keeps_a_fixed_sender_port() -> None:
    """Same fixed sender port, new server: the port is handed over."""
    first, second = Listener(), Listener()
    sender_port = free_port()
    before = make_config(
        first.port, **{"sender-ip": "127.0.0.1", "sender-port": sender_port}
    )
    after = make_config(
        second.port, **{"sender-ip": "127.0.0.1", "sender-port": sender_port}
    )
    updates = DnsUpdates.open(before)
    async with trio.open_nursery() as nursery:
        await nursery.start(updates.run)
        updates.queue_add(V4, lease4(1))
        await first.receive(1)

        updates.switch(after, updates.prepare(after))
        updates.queue_add(V4, lease4(2))
        [got] = await second.receive(1)
        local = updates.senders[4].sock

        nursery.cancel_scope.cancel()
    first.close()
    second.close()

    assert got["ip-address"] == "192.0.2.2"
    assert local is not None


# Through a real daemon.

LEASE = {
    "ip-address": "192.0.2.7",
    "hw-address": "0a:0b:0c:0d:0e:0f",
    "hostname": "seven.example.org.",
    "fqdn-fwd": True,
}


def daemon_config(port: int) -> dict[str, Any]:
    return {
        "Dhcp4": {
            "lease-database": {"type": "memfile", "persist": False},
            "dhcp-ddns": {"enable-updates": True, "server-port": port},
            "subnet4": [{"id": 1, "subnet": "192.0.2.0/24"}],
        }
    }


def receive_plain(sock: socket.socket, timeout: float = 5.0) -> dict[str, Any]:
    sock.settimeout(timeout)
    return ncr.decode(sock.recv(65535))


def test_daemon_resend_reaches_the_server_and_reload_moves_it(
    tmp_path: Path,
) -> None:
    """config-reload points requests at a new port, then turns them off."""
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as first,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as second,
    ):
        first.bind(("127.0.0.1", 0))
        second.bind(("127.0.0.1", 0))
        with run_leased(daemon_config(first.getsockname()[1]), tmp_path) as daemon:
            daemon.command("lease4-add", LEASE)
            sent = daemon.command("lease4-resend-ddns", {"ip-address": "192.0.2.7"})
            at_first = receive_plain(first)

            written = json.loads(daemon.config_path.read_text())
            written["Dhcp4"]["dhcp-ddns"]["server-port"] = second.getsockname()[1]
            daemon.config_path.write_text(json.dumps(written))
            moved = daemon.command("config-reload")
            daemon.command(
                "lease4-del", {"ip-address": "192.0.2.7", "update-ddns": True}
            )
            at_second = receive_plain(second)

            written["Dhcp4"]["dhcp-ddns"]["enable-updates"] = False
            daemon.config_path.write_text(json.dumps(written))
            daemon.command("config-reload")
            daemon.command("lease4-add", LEASE)
            off = daemon.command("lease4-resend-ddns", {"ip-address": "192.0.2.7"})
            stderr = daemon.stderr_text()

    assert sent == {
        "result": 0,
        "text": "NCR generated for: 192.0.2.7, hostname: seven.example.org.",
    }
    assert (at_first["change-type"], at_first["fqdn"]) == (0, "seven.example.org.")
    assert moved["result"] == 0
    assert (at_second["change-type"], at_second["ip-address"]) == (1, "192.0.2.7")
    assert off == {"result": 1, "text": "DDNS updating is not enabled"}
    assert "dns updates enabled family=IPv4" in stderr
    assert "dns updates turned off family=IPv4" in stderr


def test_daemon_refuses_to_start_when_the_sender_port_is_taken(
    tmp_path: Path,
) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        config = daemon_config(free_port())
        config["Dhcp4"]["dhcp-ddns"].update(
            {"sender-ip": "127.0.0.1", "sender-port": taken.getsockname()[1]}
        )

        with (
            pytest.raises(RuntimeError, match="daemon exited with 1"),
            run_leased(config, tmp_path, timeout=10),
        ):
            pass
        stderr = (tmp_path / "leased.stderr").read_text()

    assert "cannot start dns updates reason=Dhcp4/dhcp-ddns: cannot open" in stderr
    assert "Address already in use" in stderr


def test_daemon_example_config_sends_requests(tmp_path: Path) -> None:
    """examples/ddns.json with its server port moved to the test's socket."""
    example = Path(__file__).resolve().parent.parent / "examples" / "ddns.json"
    raw = config.load(example).raw
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as listener:
        listener.bind(("127.0.0.1", 0))
        for family in ("Dhcp4", "Dhcp6"):
            raw[family]["dhcp-ddns"]["server-port"] = listener.getsockname()[1]
        with run_leased(raw, tmp_path) as daemon:
            daemon.command("lease4-add", {**LEASE, "hostname": "laptop"})
            daemon.command("lease4-resend-ddns", {"ip-address": "192.0.2.7"})
            got = receive_plain(listener)

    assert got["fqdn"] == "laptop.example.org."
    assert got["ip-address"] == "192.0.2.7"
