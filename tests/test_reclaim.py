"""Expired-lease reclamation: the cycle rules, its limits, the timers and
leases-reclaim, in the core and through a real daemon."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import attrs
import pytest

from leased import config
from leased.commands import build_registry
from leased.engine import CAUSE_FLUSH, CAUSE_RECLAIM, Change, Engine, State
from leased.harness import run_leased
from leased.model import STATE_EXPIRED_RECLAIMED, V4, V6, Family, Lease
from leased.reclaim import Reclaimer
from tests.conftest import KEA_TEST_CONFIG, NOW, run

PAST = NOW - 100


def make_engine(**expired: Any) -> tuple[Engine, list[Change]]:
    raw: dict[str, Any] = {
        name: dict(section) for name, section in KEA_TEST_CONFIG.items()
    }
    for name in ("Dhcp4", "Dhcp6"):
        raw[name]["expired-leases-processing"] = expired
    state = State(config.build(raw), clock=lambda: NOW)
    engine = Engine(state, build_registry())
    seen: list[Change] = []
    engine.observers.append(seen.extend)
    state.reclaimer = Reclaimer(engine)
    return engine, seen


def add4(engine: Engine, octet: int, expire: int, **extra: Any) -> None:
    answer = run(
        engine,
        "lease4-add",
        {
            "ip-address": f"192.0.2.{octet}",
            "hw-address": "08:08:08:08:08:08",
            "valid-lft": 10,
            "expire": expire,
            **extra,
        },
    )
    assert answer["result"] == 0, answer


def lease4(engine: Engine, octet: int) -> Lease | None:
    return engine.state.table(V4).get((192 << 24) | (2 << 8) | octet)


@attrs.define
class FakeDns:
    """Stands in for the DNS update queue: records what it is asked."""

    removed: list[tuple[Family, Lease]] = attrs.field(factory=list)

    def queue_remove(self, family: Family, lease: Lease) -> bool:
        self.removed.append((family, lease))
        return True


def test_reclaim_keeps_expired_leases_as_reclaimed_and_clears_dns() -> None:
    engine, seen = make_engine()
    add4(engine, 1, PAST, hostname="one.example.", **{"fqdn-fwd": True})
    add4(engine, 2, NOW + 100)
    dns = FakeDns()
    engine.state.ddns = dns
    seen.clear()

    cycle = engine.state.reclaimer.reclaim(V4)

    reclaimed = lease4(engine, 1)
    assert reclaimed is not None
    assert reclaimed.state == STATE_EXPIRED_RECLAIMED
    assert (reclaimed.hostname, reclaimed.fqdn_fwd, reclaimed.fqdn_rev) == (
        "",
        False,
        False,
    )
    assert reclaimed.valid_lft == 10  # lifetimes unchanged
    assert lease4(engine, 2).state == 0  # type: ignore[union-attr]
    assert (cycle.reclaimed, cycle.removed, cycle.dns_removals) == (1, 0, 1)
    assert [change.cause for change in seen] == [CAUSE_RECLAIM]
    assert dns.removed[0][1].hostname == "one.example."  # the lease as it was


def test_reclaim_removes_declined_leases_and_on_request() -> None:
    engine, _ = make_engine()
    add4(engine, 1, PAST, state=1)
    add4(engine, 2, PAST)

    first = engine.state.reclaimer.reclaim(V4)

    assert lease4(engine, 1) is None
    assert lease4(engine, 2) is not None
    assert (first.reclaimed, first.removed) == (1, 1)
    answer = run(engine, "leases-reclaim", {"remove": True})
    assert answer == {"result": 0, "text": "Reclamation of expired leases is complete."}
    # Already reclaimed: leases-reclaim only takes unreclaimed leases.
    assert lease4(engine, 2) is not None


def test_reclaim_removes_at_once_when_flushing_is_off() -> None:
    engine, _ = make_engine(**{"flush-reclaimed-timer-wait-time": 0})
    add4(engine, 1, PAST)

    engine.state.reclaimer.reclaim(V4)

    assert lease4(engine, 1) is None


def test_reclaim_cycle_stops_at_max_reclaim_leases_oldest_first() -> None:
    engine, _ = make_engine(**{"max-reclaim-leases": 2})
    for octet, age in ((1, 30), (2, 10), (3, 20)):
        add4(engine, octet, NOW - age)

    cycle = engine.state.reclaimer.reclaim(V4)

    states = [lease4(engine, octet).state for octet in (1, 2, 3)]  # type: ignore[union-attr]
    assert states == [STATE_EXPIRED_RECLAIMED, 0, STATE_EXPIRED_RECLAIMED]
    assert cycle.left
    assert not engine.state.reclaimer.reclaim(V4).left


def test_leases_reclaim_has_no_cycle_limit() -> None:
    engine, _ = make_engine(**{"max-reclaim-leases": 1})
    for octet in (1, 2, 3):
        add4(engine, octet, PAST)

    run(engine, "leases-reclaim", {"remove": False})

    assert all(
        lease4(engine, octet).state == STATE_EXPIRED_RECLAIMED  # type: ignore[union-attr]
        for octet in (1, 2, 3)
    )


@pytest.mark.parametrize(
    ("arguments", "text"),
    [
        (..., "Missing mandatory 'remove' parameter."),
        ({}, "Missing mandatory 'remove' parameter."),
        ({"remove": 1}, "'remove' parameter expected to be a boolean."),
    ],
)
def test_leases_reclaim_argument_texts(arguments: Any, text: str) -> None:
    engine, _ = make_engine()

    assert run(engine, "leases-reclaim", arguments) == {"result": 1, "text": text}


def test_flush_removes_reclaimed_leases_past_their_hold_time() -> None:
    engine, seen = make_engine(**{"hold-reclaimed-time": 50})
    add4(engine, 1, NOW - 60)  # expired 60 s ago: past the hold time
    add4(engine, 2, NOW - 20)  # expired 20 s ago: still held
    engine.state.reclaimer.reclaim(V4)
    seen.clear()

    flushed = engine.state.reclaimer.flush(V4)

    assert flushed == 1
    assert lease4(engine, 1) is None
    assert lease4(engine, 2) is not None
    assert [change.cause for change in seen] == [CAUSE_FLUSH]


def test_reclaim_ipv6_too() -> None:
    engine, _ = make_engine()
    answer = run(
        engine,
        "lease6-add",
        {
            "ip-address": "2001:db8:1::1",
            "duid": "01:02:03",
            "iaid": 1,
            "valid-lft": 10,
            "expire": PAST,
        },
    )
    assert answer["result"] == 0

    engine.state.reclaimer.reclaim(V6)

    lease = engine.state.table(V6).get(next(iter(engine.state.table(V6).by_address)))
    assert lease is not None
    assert lease.state == STATE_EXPIRED_RECLAIMED


def test_reclaim_timers_run_in_the_daemon_and_are_journaled(tmp_path: Path) -> None:
    raw: dict[str, Any] = {
        name: dict(section) for name, section in KEA_TEST_CONFIG.items()
    }
    raw["Dhcp4"]["expired-leases-processing"] = {
        "reclaim-timer-wait-time": 1,
        "flush-reclaimed-timer-wait-time": 1,
        "hold-reclaimed-time": 2,
    }
    raw["Dhcp4"]["lease-database"] = {"type": "memfile", "lfc-interval": 0}
    now = int(time.time())
    with run_leased(raw, tmp_path) as daemon:
        assert (
            daemon.command(
                "lease4-add",
                {
                    "ip-address": "192.0.2.9",
                    "hw-address": "08:08:08:08:08:08",
                    "hostname": "nine.example.",
                    "valid-lft": 1,
                    "expire": now,
                },
            )["result"]
            == 0
        )
        states = []
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            answer = daemon.command("lease4-get", {"ip-address": "192.0.2.9"})
            states.append(
                answer["arguments"]["state"] if answer["result"] == 0 else None
            )
            if states[-1] is None:
                break
            time.sleep(0.1)

    # First reclaimed (state 2), then flushed once its hold time passed.
    assert STATE_EXPIRED_RECLAIMED in states
    assert states[-1] is None
    rows = (tmp_path / "kea-leases4.csv").read_text().splitlines()[1:]
    # add, reclaim (state 2, hostname cleared), flush (delete marker).
    assert [row.split(",")[9] for row in rows] == ["0", "2", "2"]
    assert rows[1].split(",")[8] == ""
    assert rows[2].split(",")[3] == "0"
