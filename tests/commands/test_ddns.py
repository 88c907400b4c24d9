"""lease4/6-resend-ddns and del with update-ddns, one test per outcome."""

from __future__ import annotations

from typing import Any

import pytest

from leased import config, ncr
from leased.commands import build_registry
from leased.ddns import DnsUpdates
from leased.engine import Engine, State
from leased.model import V4, V6, Lease4
from leased.reclaim import Reclaimer
from tests.conftest import KEA_TEST_CONFIG, NOW, run

HW = "08:08:08:08:08:08"
DUID = "77:77:77:77"


def make_engine(
    dhcp_ddns: dict[str, Any] | None = None, **scope: Any
) -> tuple[Engine, DnsUpdates]:
    """An engine whose DNS queues keep requests instead of sending them."""
    raw: dict[str, Any] = {
        name: dict(section) for name, section in KEA_TEST_CONFIG.items()
    }
    for name in ("Dhcp4", "Dhcp6"):
        raw[name].update(scope)
        raw[name]["dhcp-ddns"] = dhcp_ddns or {"enable-updates": True}
    loaded = config.build(raw)
    state = State(loaded, clock=lambda: NOW)
    state.ddns = DnsUpdates.open(loaded, sockets=False)
    return Engine(state, build_registry()), state.ddns


def queued(updates: DnsUpdates, version: int) -> list[dict[str, Any]]:
    """The requests waiting in a family's queue, as kea-dhcp-ddns reads."""
    sender = updates.senders[version]
    return [ncr.decode(request.encode()) for request in sender.queue]


def add4(engine: Engine, address: str, **fields: Any) -> None:
    lease = {"ip-address": address, "hw-address": HW, "valid-lft": 7200}
    answer = run(engine, "lease4-add", {**lease, "expire": NOW + 7200, **fields})
    assert answer["result"] == 0, answer


def add6(engine: Engine, address: str, **fields: Any) -> None:
    lease = {"ip-address": address, "duid": DUID, "iaid": 1, "valid-lft": 7200}
    answer = run(engine, "lease6-add", {**lease, "expire": NOW + 7200, **fields})
    assert answer["result"] == 0, answer


DNS = {"hostname": "host.example.org.", "fqdn-fwd": True, "fqdn-rev": True}


def test_lease4_resend_ddns_queues_an_add() -> None:
    engine, updates = make_engine()
    add4(engine, "192.0.2.1", **DNS)

    answer = run(engine, "lease4-resend-ddns", {"ip-address": "192.0.2.1"})

    assert answer == {
        "result": 0,
        "text": "NCR generated for: 192.0.2.1, hostname: host.example.org.",
    }
    [request] = queued(updates, 4)
    assert request["change-type"] == ncr.CHG_ADD
    assert request["fqdn"] == "host.example.org."
    assert request["ip-address"] == "192.0.2.1"
    assert request["lease-length"] == 2400
    assert request["lease-expires-on"] == ncr.format_time(NOW + 2400)
    assert str(request["dhcid"]).startswith("000001")  # from the hw-address


def test_lease6_resend_ddns_queues_an_add() -> None:
    engine, updates = make_engine()
    add6(engine, "2001:db8:1::10", **DNS)

    answer = run(engine, "lease6-resend-ddns", {"ip-address": "2001:db8:1::10"})

    assert answer == {
        "result": 0,
        "text": "NCR generated for: 2001:db8:1::10, hostname: host.example.org.",
    }
    [request] = queued(updates, 6)
    assert request["change-type"] == ncr.CHG_ADD
    assert str(request["dhcid"]).startswith("000201")  # from the DUID
    assert updates.senders[4].queue == type(updates.senders[4].queue)()


@pytest.mark.parametrize(
    ("command", "arguments", "answer"),
    [
        (
            "lease4-resend-ddns",
            ...,
            {"result": 1, "text": "no parameters specified for the command"},
        ),
        (
            "lease4-resend-ddns",
            [],
            {"result": 1, "text": "get(string) called on a non-map Element"},
        ),
        (
            "lease4-resend-ddns",
            {},
            {"result": 1, "text": "'ip-address' parameter is missing."},
        ),
        (
            "lease4-resend-ddns",
            {"ip-address": 1},
            {"result": 1, "text": "'ip-address' is not a string."},
        ),
        (
            "lease4-resend-ddns",
            {"ip-address": "bogus"},
            {"result": 1, "text": "'bogus' is not a valid IP address."},
        ),
        (
            "lease4-resend-ddns",
            {"ip-address": "2001:db8:1::1"},
            {"result": 1, "text": "Invalid IPv4 address specified: 2001:db8:1::1"},
        ),
        (
            "lease6-resend-ddns",
            {"ip-address": "192.0.2.1"},
            {"result": 1, "text": "Invalid IPv6 address specified: 192.0.2.1"},
        ),
        (
            "lease4-resend-ddns",
            {"ip-address": "192.0.2.99"},
            {"result": 3, "text": "No lease found for: 192.0.2.99"},
        ),
        (
            "lease6-resend-ddns",
            {"ip-address": "2001:db8:1:0::99"},
            {"result": 3, "text": "No lease found for: 2001:db8:1::99"},
        ),
    ],
)
def test_lease_resend_ddns_refuses_bad_arguments_and_unknown_leases(
    command: str, arguments: Any, answer: dict[str, Any]
) -> None:
    """Kea's texts and codes; without arguments an error where Kea crashes."""
    engine, updates = make_engine()

    assert run(engine, command, arguments) == answer
    assert not updates.senders[4].queue and not updates.senders[6].queue


def test_lease_resend_ddns_refuses_leases_without_dns_entries() -> None:
    """No hostname (possible in a lease file) or no direction: Kea's texts."""
    engine, updates = make_engine()
    nameless = Lease4(
        address=(192 << 24) | (2 << 8) | 1,
        hw_address=bytes(6),
        client_id=None,
        valid_lft=7200,
        cltt=NOW,
        subnet_id=44,
        fqdn_fwd=True,
    )
    engine.state.table(V4).apply(None, nameless)
    add4(engine, "192.0.2.2", hostname="h.example.org.")

    no_name = run(engine, "lease4-resend-ddns", {"ip-address": "192.0.2.1"})
    no_flag = run(engine, "lease4-resend-ddns", {"ip-address": "192.0.2.2"})

    assert no_name == {
        "result": 1,
        "text": "Lease for: 192.0.2.1, has no hostname, nothing to update",
    }
    assert no_flag == {
        "result": 1,
        "text": "Neither forward nor reverse updates enabled for lease for: 192.0.2.2",
    }
    assert not updates.senders[4].queue


def test_lease6_resend_ddns_looks_at_addresses_only() -> None:
    """A prefix (IA_PD) has no DNS entries: not found, as in Kea."""
    engine, _ = make_engine()
    answer = run(
        engine,
        "lease6-add",
        {
            "ip-address": "2001:db8:1:1::",
            "type": "IA_PD",
            "prefix-len": 64,
            "duid": DUID,
            "iaid": 1,
            "subnet-id": 66,
            **DNS,
        },
    )
    assert answer["result"] == 0

    assert run(engine, "lease6-resend-ddns", {"ip-address": "2001:db8:1:1::"}) == {
        "result": 3,
        "text": "No lease found for: 2001:db8:1:1::",
    }


@pytest.mark.parametrize("dhcp_ddns", [{"enable-updates": False}, None])
def test_lease_resend_ddns_answers_keas_text_when_updates_are_off(
    dhcp_ddns: dict[str, Any] | None,
) -> None:
    raw: dict[str, Any] = {
        name: dict(section) for name, section in KEA_TEST_CONFIG.items()
    }
    if dhcp_ddns is not None:
        raw["Dhcp4"]["dhcp-ddns"] = dhcp_ddns
    loaded = config.build(raw)
    state = State(loaded, clock=lambda: NOW)
    state.ddns = DnsUpdates.open(loaded, sockets=False)
    engine = Engine(state, build_registry())
    add4(engine, "192.0.2.1", **DNS)

    answer = run(engine, "lease4-resend-ddns", {"ip-address": "192.0.2.1"})

    assert answer == {"result": 1, "text": "DDNS updating is not enabled"}
    assert state.ddns.senders == {}


def test_lease_resend_ddns_refuses_a_hostname_that_is_no_dns_name() -> None:
    """Unlike Kea 2.2, which answers success and sends nothing."""
    engine, updates = make_engine()
    add4(engine, "192.0.2.1", hostname="a..example.org", **{"fqdn-fwd": True})

    answer = run(engine, "lease4-resend-ddns", {"ip-address": "192.0.2.1"})

    assert answer == {
        "result": 1,
        "text": "NCR not generated for: 192.0.2.1, hostname: a..example.org: "
        "invalid FQDN 'a..example.org': the name has an empty label",
    }
    assert not updates.senders[4].queue


def test_lease_resend_ddns_refuses_when_the_queue_is_full() -> None:
    """Unlike Kea 2.2, which answers success and turns updates off."""
    engine, updates = make_engine({"enable-updates": True, "max-queue-size": 1})
    add4(engine, "192.0.2.1", **DNS)
    first = run(engine, "lease4-resend-ddns", {"ip-address": "192.0.2.1"})

    second = run(engine, "lease4-resend-ddns", {"ip-address": "192.0.2.1"})

    assert first["result"] == 0
    assert second == {
        "result": 1,
        "text": "NCR not queued for: 192.0.2.1, hostname: host.example.org.: "
        "the DNS update queue is full",
    }
    assert len(updates.senders[4].queue) == 1


def test_lease_resend_ddns_qualifies_partial_names_and_uses_subnet_settings() -> None:
    engine, updates = make_engine(
        **{
            "ddns-qualifying-suffix": "example.org",
            "ddns-use-conflict-resolution": False,
            "ddns-ttl-percent": 0.5,
        }
    )
    add4(engine, "192.0.2.1", hostname="laptop", **{"fqdn-rev": True})

    answer = run(engine, "lease4-resend-ddns", {"ip-address": "192.0.2.1"})

    assert answer["text"] == "NCR generated for: 192.0.2.1, hostname: laptop"
    [request] = queued(updates, 4)
    assert request["fqdn"] == "laptop.example.org."
    assert (request["forward-change"], request["reverse-change"]) == (False, True)
    assert request["lease-length"] == 3600
    assert request["use-conflict-resolution"] is False


def test_lease4_del_with_update_ddns_queues_a_remove() -> None:
    engine, updates = make_engine()
    add4(engine, "192.0.2.1", **DNS)

    answer = run(engine, "lease4-del", {"ip-address": "192.0.2.1", "update-ddns": True})

    assert answer == {"result": 0, "text": "IPv4 lease deleted."}
    [request] = queued(updates, 4)
    assert request["change-type"] == ncr.CHG_REMOVE
    assert request["fqdn"] == "host.example.org."


def test_lease6_del_by_duid_with_update_ddns_queues_a_remove() -> None:
    engine, updates = make_engine()
    add6(engine, "2001:db8:1::10", **DNS)

    answer = run(
        engine,
        "lease6-del",
        {
            "identifier-type": "duid",
            "identifier": DUID,
            "iaid": 1,
            "subnet-id": 66,
            "update-ddns": True,
        },
    )

    assert answer == {"result": 0, "text": "IPv6 lease deleted."}
    [request] = queued(updates, 6)
    assert request["change-type"] == ncr.CHG_REMOVE
    assert request["ip-address"] == "2001:db8:1::10"


@pytest.mark.parametrize(
    ("fields", "arguments"),
    [
        (DNS, {"ip-address": "192.0.2.1"}),
        (DNS, {"ip-address": "192.0.2.1", "update-ddns": False}),
        ({"hostname": "h.org."}, {"ip-address": "192.0.2.1", "update-ddns": True}),
    ],
)
def test_lease4_del_sends_nothing_without_update_ddns_or_dns_entries(
    fields: dict[str, Any], arguments: dict[str, Any]
) -> None:
    engine, updates = make_engine()
    add4(engine, "192.0.2.1", **fields)

    answer = run(engine, "lease4-del", arguments)

    assert answer == {"result": 0, "text": "IPv4 lease deleted."}
    assert not updates.senders[4].queue


def test_lease4_del_not_found_sends_nothing() -> None:
    engine, updates = make_engine()

    answer = run(engine, "lease4-del", {"ip-address": "192.0.2.1", "update-ddns": True})

    assert answer == {"result": 3, "text": "IPv4 lease not found."}
    assert not updates.senders[4].queue


def test_lease4_del_with_update_ddns_deletes_quietly_when_updates_are_off() -> None:
    engine, updates = make_engine({"enable-updates": False})
    add4(engine, "192.0.2.1", **DNS)

    answer = run(engine, "lease4-del", {"ip-address": "192.0.2.1", "update-ddns": True})

    assert answer == {"result": 0, "text": "IPv4 lease deleted."}
    assert updates.senders == {}


def test_lease4_del_deletes_even_when_the_queue_is_full(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The lease goes; the dropped removal is logged."""
    engine, updates = make_engine({"enable-updates": True, "max-queue-size": 1})
    add4(engine, "192.0.2.1", **DNS)
    add4(engine, "192.0.2.2", **DNS)
    run(engine, "lease4-resend-ddns", {"ip-address": "192.0.2.1"})

    answer = run(engine, "lease4-del", {"ip-address": "192.0.2.2", "update-ddns": True})

    assert answer == {"result": 0, "text": "IPv4 lease deleted."}
    assert engine.state.table(V4).get((192 << 24) | (2 << 8) | 2) is None
    assert updates.senders[4].dropped == 1
    assert "dns update queue full, requests dropped family=IPv4" in caplog.text


def test_lease4_del_with_unbuildable_request_deletes_and_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine, updates = make_engine()
    add4(engine, "192.0.2.1", hostname="x" * 64 + ".org", **{"fqdn-fwd": True})

    answer = run(engine, "lease4-del", {"ip-address": "192.0.2.1", "update-ddns": True})

    assert answer == {"result": 0, "text": "IPv4 lease deleted."}
    assert not updates.senders[4].queue
    assert "dns update request not built family=IPv4 change=remove" in caplog.text


def test_reclaim_queues_removals_through_the_same_queue() -> None:
    engine, updates = make_engine(
        **{
            "expired-leases-processing": {
                "reclaim-timer-wait-time": 0,
                "flush-reclaimed-timer-wait-time": 0,
            }
        }
    )
    engine.state.reclaimer = Reclaimer(engine)
    add6(engine, "2001:db8:1::10", **{**DNS, "expire": NOW - 10, "valid-lft": 100})
    add6(engine, "2001:db8:1::11", **{"expire": NOW - 10, "valid-lft": 100})

    cycle = engine.state.reclaimer.reclaim(V6)

    assert (cycle.removed, cycle.dns_removals) == (2, 1)
    [request] = queued(updates, 6)
    assert request["change-type"] == ncr.CHG_REMOVE
    assert request["ip-address"] == "2001:db8:1::10"
    assert request["lease-length"] == 600
