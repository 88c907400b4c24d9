"""Lease statistics: totals, the count after each kind of change, recount
at start-up and reload, sample limits, and a property test against a
brute-force recount."""

from __future__ import annotations

import copy
from typing import Any

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings

from leased import config
from leased.commands import build_registry
from leased.commands.statistics import addressed_families
from leased.engine import Engine, State
from leased.model import (
    STATE_REGISTERED,
    TYPE_NA,
    TYPE_PD,
    TYPE_TA,
    V4,
    V6,
    Lease4,
    Lease6,
)
from leased.reclaim import Reclaimer
from leased.stats import Statistics
from tests.conftest import NOW, run

PAST = NOW - 1000

RAW: dict[str, Any] = {
    "Dhcp4": {
        "expired-leases-processing": {"hold-reclaimed-time": 100},
        "subnet4": [
            {
                "id": 1,
                "subnet": "10.0.0.0/8",
                "pools": [
                    {"pool": "10.0.0.0/24"},
                    {"pool": "10.1.0.0 - 10.1.0.255", "pool-id": 7},
                ],
            },
            {
                "id": 2,
                "subnet": "192.0.2.0/24",
                "pools": [{"pool": "192.0.2.10 - 192.0.2.19"}],
            },
            {"id": 3, "subnet": "10.1.0.0/16"},
        ],
    },
    "Dhcp6": {
        "expired-leases-processing": {"hold-reclaimed-time": 100},
        "subnet6": [
            {
                "id": 1,
                "subnet": "2001:db8::/32",
                "pools": [{"pool": "2001:db8::/64"}],
                "pd-pools": [
                    {
                        "prefix": "2001:db8:8000::",
                        "prefix-len": 33,
                        "delegated-len": 56,
                    }
                ],
            },
            {"id": 2, "subnet": "3000::/16"},
        ],
    },
}

HW = "08:08:08:08:08:08"
DUID = "42:42:42:42:42:42:42:42"


def make_engine(raw: dict[str, Any] = RAW) -> Engine:
    state = State(config.build(raw), clock=lambda: NOW)
    engine = Engine(state, build_registry())
    Statistics.attach(engine)
    state.reclaimer = Reclaimer(engine)
    return engine


def stats(engine: Engine, version: int = 4) -> dict[str, list[int]]:
    """Every statistic of a family, as its list of sample values."""
    answer = run(engine, "statistic-get-all", service=[f"dhcp{version}"])
    return {
        name: [value for value, _ in samples]
        for name, samples in answer["arguments"].items()
    }


def value(engine: Engine, name: str, version: int = 4) -> int | None:
    store = engine.state.statistics.family(version).store
    result: int | None = store.value(name)
    return result


def ok(engine: Engine, command: str, arguments: Any = ...) -> None:
    answer = run(engine, command, arguments)
    assert answer["result"] in (0, 3), answer


def add4(engine: Engine, ip: str, **extra: Any) -> None:
    ok(engine, "lease4-add", {"ip-address": ip, "hw-address": HW, **extra})


def add6(engine: Engine, ip: str, **extra: Any) -> None:
    ok(
        engine,
        "lease6-add",
        {"ip-address": ip, "duid": DUID, "iaid": 1, "subnet-id": 1, **extra},
    )


# Totals.


def test_stats_totals_come_from_the_configured_pools() -> None:
    """total-* sum each subnet's pools, per pool id too; big ones exactly."""
    engine = make_engine()

    v4, v6 = stats(engine, 4), stats(engine, 6)

    assert v4["subnet[1].total-addresses"] == [512]
    assert v4["subnet[1].pool[0].total-addresses"] == [256]
    assert v4["subnet[1].pool[7].total-addresses"] == [256]
    assert v4["subnet[2].total-addresses"] == [10]
    assert v4["subnet[3].total-addresses"] == [0]
    assert v6["subnet[1].total-nas"] == [1 << 64]
    assert v6["subnet[1].pool[0].total-nas"] == [1 << 64]
    assert v6["subnet[1].total-pds"] == [1 << 23]
    assert v6["subnet[1].pd-pool[0].total-pds"] == [1 << 23]
    assert v6["subnet[2].total-nas"] == [0]


def test_stats_pools_sharing_an_id_share_statistics() -> None:
    """Pools without a pool-id all count as pool[0], as in Kea."""
    raw = copy.deepcopy(RAW)
    raw["Dhcp4"]["subnet4"][0]["pools"][1].pop("pool-id")
    engine = make_engine(raw)

    add4(engine, "10.1.0.9")

    v4 = stats(engine)
    assert v4["subnet[1].pool[0].total-addresses"] == [512]
    assert v4["subnet[1].pool[0].assigned-addresses"] == [1, 0]
    assert "subnet[1].pool[7].total-addresses" not in v4


def test_stats_every_configuration_creates_kea_names() -> None:
    """The global, subnet and pool names exist from the start, at 0."""
    engine = make_engine()

    v4 = stats(engine, 4)
    v6 = stats(engine, 6)

    for name in (
        "assigned-addresses",
        "cumulative-assigned-addresses",
        "declined-addresses",
        "reclaimed-declined-addresses",
        "reclaimed-leases",
        "subnet[2].assigned-addresses",
        "subnet[2].cumulative-assigned-addresses",
        "subnet[2].declined-addresses",
        "subnet[2].reclaimed-declined-addresses",
        "subnet[2].reclaimed-leases",
        "subnet[2].pool[0].assigned-addresses",
        "subnet[2].pool[0].declined-addresses",
        "subnet[2].pool[0].reclaimed-leases",
    ):
        assert v4[name] == [0], name
    for name in (
        "assigned-nas",
        "assigned-pds",
        "cumulative-assigned-nas",
        "cumulative-assigned-pds",
        "declined-addresses",
        "reclaimed-leases",
        "subnet[1].assigned-nas",
        "subnet[1].assigned-pds",
        "subnet[1].registered-nas",
        "subnet[1].pool[0].assigned-nas",
        "subnet[1].pool[0].declined-addresses",
        "subnet[1].pd-pool[0].assigned-pds",
        "subnet[1].pd-pool[0].reclaimed-leases",
    ):
        assert v6[name] == [0], name
    assert not any(name.startswith("pkt") for name in (*v4, *v6))


# One change at a time.


def test_stats_add_counts_in_global_subnet_and_pool() -> None:
    """An assigned lease counts at each level; a declined one twice over."""
    engine = make_engine()

    add4(engine, "10.1.0.5")
    add4(engine, "10.1.0.6", state=1)
    add4(engine, "10.2.0.1")
    add4(engine, "10.1.0.7", state=2)

    v4 = stats(engine)
    assert v4["assigned-addresses"] == [3, 2, 1, 0]
    assert v4["subnet[1].assigned-addresses"] == [3, 2, 1, 0]
    assert v4["subnet[1].pool[7].assigned-addresses"] == [2, 1, 0]
    assert v4["subnet[1].pool[0].assigned-addresses"] == [0]
    assert v4["declined-addresses"] == [1, 0]
    assert v4["subnet[1].declined-addresses"] == [1, 0]
    assert v4["subnet[1].pool[7].declined-addresses"] == [1, 0]


def test_stats_delete_takes_the_lease_away() -> None:
    """A delete counts down what the lease counted in (reclaimed: nothing)."""
    engine = make_engine()
    add4(engine, "10.1.0.6", state=1)
    add4(engine, "10.1.0.7", state=2)

    ok(engine, "lease4-del", {"ip-address": "10.1.0.6"})
    ok(engine, "lease4-del", {"ip-address": "10.1.0.7"})

    v4 = stats(engine)
    assert v4["assigned-addresses"] == [0, 1, 0]
    assert v4["declined-addresses"] == [0, 1, 0]
    assert v4["subnet[1].pool[7].declined-addresses"] == [0, 1, 0]


@pytest.mark.parametrize(
    ("old", "new", "assigned", "declined"),
    [
        (0, 1, 1, 1),
        (1, 0, 1, 0),
        (0, 2, 0, 0),
        (2, 0, 1, 0),
        (1, 2, 0, 0),
        (2, 1, 1, 1),
        (0, 0, 1, 0),
    ],
)
def test_stats_update_follows_every_state_transition(
    old: int, new: int, assigned: int, declined: int
) -> None:
    """Each state change moves the counts; to reclaimed counts down."""
    engine = make_engine()
    add4(engine, "10.1.0.5", state=old)

    ok(
        engine,
        "lease4-update",
        {"ip-address": "10.1.0.5", "hw-address": HW, "state": new},
    )

    for level in ("", "subnet[1].", "subnet[1].pool[7]."):
        assert value(engine, level + "assigned-addresses") == assigned, level
        assert value(engine, level + "declined-addresses") == declined, level


def test_stats_update_records_nothing_when_nothing_counted_changes() -> None:
    """Same subnet, same state: no sample is added (newer Kea's rule)."""
    engine = make_engine()
    add4(engine, "10.1.0.5", state=1)

    ok(
        engine,
        "lease4-update",
        {"ip-address": "10.1.0.5", "hw-address": HW, "state": 1, "hostname": "x."},
    )

    assert stats(engine)["subnet[1].declined-addresses"] == [1, 0]


def test_stats_update_moving_subnet_moves_the_counts() -> None:
    """A lease moved to another subnet leaves its old subnet and pool."""
    engine = make_engine()
    add4(engine, "10.1.0.5", state=1, **{"subnet-id": 1})

    ok(
        engine,
        "lease4-update",
        {"ip-address": "10.1.0.5", "hw-address": HW, "state": 1, "subnet-id": 3},
    )

    v4 = stats(engine)
    assert v4["subnet[1].assigned-addresses"] == [0, 1, 0]
    assert v4["subnet[1].pool[7].declined-addresses"] == [0, 1, 0]
    assert v4["subnet[3].assigned-addresses"] == [1, 0]
    assert v4["subnet[3].declined-addresses"] == [1, 0]
    assert v4["assigned-addresses"] == [1, 0]


def test_stats_wipe_counts_one_sample_per_statistic() -> None:
    """A wipe leaves the wiped subnets at 0 with one sample for the command."""
    engine = make_engine()
    for octet in range(10, 15):
        add4(engine, f"192.0.2.{octet}", state=octet % 2)
    add4(engine, "10.1.0.1")

    ok(engine, "lease4-wipe", {"subnet-id": 2})

    v4 = stats(engine)
    assert v4["subnet[2].assigned-addresses"][:2] == [0, 5]
    assert v4["subnet[2].declined-addresses"][:2] == [0, 2]
    assert v4["subnet[2].pool[0].assigned-addresses"][:2] == [0, 5]
    assert v4["assigned-addresses"][:2] == [1, 6]
    assert v4["declined-addresses"][:2] == [0, 2]


def test_stats_unconfigured_subnet_is_counted_where_its_leases_are() -> None:
    """Leases in a subnet without configuration count in subnet[ID] still."""
    engine = make_engine()
    lease = Lease4(
        address=0x0A050001,
        hw_address=b"\x08" * 6,
        client_id=None,
        valid_lft=100,
        cltt=NOW,
        subnet_id=77,
    )
    engine.commit([_insert(V4, lease)])

    assert value(engine, "subnet[77].assigned-addresses") == 1
    assert value(engine, "assigned-addresses") == 1


def _insert(family: Any, lease: Any) -> Any:
    from leased.engine import Change

    return Change(family, None, lease)


# IPv6.


def test_stats_v6_counts_addresses_prefixes_and_not_temporary_ones() -> None:
    """IA_NA in assigned-nas, IA_PD in assigned-pds, IA_TA nowhere."""
    engine = make_engine()

    add6(engine, "2001:db8::5")
    add6(engine, "2001:db8::6", state=1)
    add6(engine, "2001:db8:8000::", type="IA_PD", **{"prefix-len": 56})
    add6(engine, "2001:db8:1::", type="IA_PD", **{"prefix-len": 56})
    add6(engine, "2001:db8::7", type="IA_TA")

    v6 = stats(engine, 6)
    assert v6["assigned-nas"][0] == 2
    assert v6["subnet[1].assigned-nas"][0] == 2
    assert v6["subnet[1].pool[0].assigned-nas"][0] == 2
    assert v6["declined-addresses"][0] == 1
    assert v6["subnet[1].pool[0].declined-addresses"][0] == 1
    assert v6["assigned-pds"][0] == 2
    assert v6["subnet[1].assigned-pds"][0] == 2
    assert v6["subnet[1].pd-pool[0].assigned-pds"][0] == 1
    assert stats(engine, 4)["declined-addresses"] == [0]


def test_stats_v6_bulk_apply_records_the_net_result() -> None:
    """bulk-apply's deletes and adds end in one sample per statistic."""
    engine = make_engine()
    add6(engine, "2001:db8::1")
    leases = [
        {"ip-address": f"2001:db8::{n:x}", "duid": DUID, "iaid": n, "subnet-id": 1}
        for n in range(2, 12)
    ]

    ok(
        engine,
        "lease6-bulk-apply",
        {"deleted-leases": [{"ip-address": "2001:db8::1"}], "leases": leases},
    )

    assert stats(engine, 6)["subnet[1].assigned-nas"] == [10, 1, 0]


def test_stats_v6_registered_leases_count_in_registered_nas() -> None:
    """A registered address (newer Kea's state 4) counts at subnet level."""
    engine = make_engine()
    lease = Lease6(
        address=0x20010DB8 << 96 | 9,
        type=TYPE_NA,
        prefix_len=128,
        duid=b"\x42" * 8,
        iaid=1,
        valid_lft=100,
        preferred_lft=50,
        cltt=NOW,
        subnet_id=1,
        state=STATE_REGISTERED,
    )

    engine.commit([_insert(V6, lease)])

    assert value(engine, "subnet[1].registered-nas", 6) == 1
    assert value(engine, "assigned-nas", 6) == 0


# Reclamation and flush.


def test_stats_reclaim_counts_reclaimed_leases_and_frees_them() -> None:
    """Reclaiming counts reclaimed-leases and takes the lease off assigned."""
    engine = make_engine()
    add4(engine, "10.1.0.5", expire=PAST, **{"valid-lft": 10})
    add4(engine, "10.1.0.6", expire=PAST, state=1, **{"valid-lft": 10})
    add4(engine, "10.2.0.6", expire=PAST, **{"valid-lft": 10})

    engine.state.reclaimer.reclaim(V4)

    v4 = stats(engine)
    assert v4["reclaimed-leases"] == [3, 0]
    assert v4["subnet[1].reclaimed-leases"] == [3, 0]
    assert v4["subnet[1].pool[7].reclaimed-leases"] == [2, 0]
    assert v4["reclaimed-declined-addresses"] == [1, 0]
    assert v4["subnet[1].pool[7].reclaimed-declined-addresses"] == [1, 0]
    assert v4["assigned-addresses"][:2] == [0, 3]
    assert v4["declined-addresses"][:2] == [0, 1]


def test_stats_flush_changes_no_count() -> None:
    """Flushing reclaimed leases removes what no statistic counts."""
    engine = make_engine()
    add4(engine, "10.1.0.5", expire=PAST, **{"valid-lft": 10})
    engine.state.reclaimer.reclaim(V4)
    before = stats(engine)

    flushed = engine.state.reclaimer.flush(V4)

    assert flushed == 1
    assert stats(engine) == before


def test_stats_v6_reclaim_counts_prefix_pools() -> None:
    """A reclaimed prefix counts in its pd-pool's reclaimed-leases."""
    engine = make_engine()
    add6(
        engine,
        "2001:db8:8000::",
        type="IA_PD",
        expire=PAST,
        **{"prefix-len": 56, "valid-lft": 10},
    )

    engine.state.reclaimer.reclaim(V6, remove=True)

    v6 = stats(engine, 6)
    assert v6["subnet[1].pd-pool[0].reclaimed-leases"] == [1, 0]
    assert v6["assigned-pds"] == [0, 1, 0]


# Recount at start-up and reload.


def test_stats_configure_recounts_a_loaded_table() -> None:
    """Start-up counts the leases the files held, one sample each."""
    state = State(config.build(RAW), clock=lambda: NOW)
    leases4 = {
        address: Lease4(
            address=address,
            hw_address=b"\x08" * 6,
            client_id=None,
            valid_lft=100,
            cltt=NOW,
            subnet_id=subnet_id,
            state=lease_state,
        )
        for address, subnet_id, lease_state in (
            (0x0A010001, 1, 0),
            (0x0A010002, 1, 1),
            (0x0A010003, 1, 2),
            (0x0A050001, 9, 0),
        )
    }
    leases6 = {
        0x20010DB8 << 96 | n: Lease6(
            address=0x20010DB8 << 96 | n,
            type=lease_type,
            prefix_len=128,
            duid=b"\x42" * 8,
            iaid=n,
            valid_lft=100,
            preferred_lft=50,
            cltt=NOW,
            subnet_id=1,
        )
        for n, lease_type in ((1, TYPE_NA), (2, TYPE_TA), (3, TYPE_NA))
    }
    state.table(V4).load(leases4)
    state.table(V6).load(leases6)
    engine = Engine(state, build_registry())

    Statistics.attach(engine)

    v4, v6 = stats(engine, 4), stats(engine, 6)
    assert v4["assigned-addresses"] == [3]
    assert v4["subnet[1].assigned-addresses"] == [2]
    assert v4["subnet[1].pool[7].assigned-addresses"] == [2]
    assert v4["subnet[1].declined-addresses"] == [1]
    assert v4["declined-addresses"] == [1]
    assert v4["subnet[9].assigned-addresses"] == [1]
    assert "subnet[9].declined-addresses" not in v4
    assert v6["assigned-nas"] == [2]
    assert v6["subnet[1].pool[0].assigned-nas"] == [2]
    assert TYPE_PD not in (TYPE_NA, TYPE_TA)


def test_stats_reload_recounts_and_forgets_old_subnets() -> None:
    """A reload drops the old subnets' statistics and counts the new ones."""
    engine = make_engine()
    add4(engine, "192.0.2.10")
    add4(engine, "10.1.0.5", expire=PAST, **{"valid-lft": 10})
    engine.state.reclaimer.reclaim(V4)
    raw = copy.deepcopy(RAW)
    raw["Dhcp4"]["subnet4"] = [
        {"id": 1, "subnet": "10.0.0.0/8", "pools": [{"pool": "10.1.0.0/16"}]}
    ]
    new = config.build(raw)

    engine.state.config = new
    engine.state.statistics.configure(new, engine.state.tables)

    v4 = stats(engine)
    assert v4["subnet[1].total-addresses"] == [65536]
    assert v4["subnet[1].pool[0].total-addresses"] == [65536]
    assert "subnet[1].pool[7].total-addresses" not in v4
    assert "subnet[3].total-addresses" not in v4
    # Subnet 2 is gone from the configuration but still holds a lease.
    assert v4["subnet[2].assigned-addresses"] == [1]
    assert "subnet[2].total-addresses" not in v4
    # Cumulative: kept globally, restarted per subnet (as Kea does).
    assert v4["reclaimed-leases"] == [1, 0]
    assert v4["subnet[1].reclaimed-leases"] == [0]
    assert v4["assigned-addresses"][0] == 1


def test_stats_configuration_sets_sample_limits() -> None:
    """statistic-default-sample-count and -age limit the samples kept."""
    raw = copy.deepcopy(RAW)
    raw["Dhcp4"]["statistic-default-sample-count"] = 2
    raw["Dhcp6"]["statistic-default-sample-count"] = 0
    raw["Dhcp6"]["statistic-default-sample-age"] = 3600
    engine = make_engine(raw)

    for octet in range(1, 6):
        add4(engine, f"10.1.0.{octet}")
        add6(engine, f"2001:db8::{octet}")

    assert stats(engine, 4)["assigned-addresses"] == [5, 4]
    assert stats(engine, 6)["assigned-nas"] == [5, 4, 3, 2, 1, 0]


# Which family a request addresses.


def _scoped(
    raw: dict[str, Any], socket: str | None, service: Any = None
) -> tuple[int, ...]:
    state = State(config.build(raw))
    state.socket = socket
    state.service = service
    return addressed_families(state)


def test_stats_family_follows_service_then_socket() -> None:
    """A family's own socket answers for it; service overrides it."""
    both = copy.deepcopy(RAW)
    both["Dhcp4"]["control-socket"] = {"socket-name": "/run/k4"}
    both["Dhcp6"]["control-socket"] = {"socket-name": "/run/k6"}
    shared = copy.deepcopy(RAW)
    shared["Dhcp4"]["control-socket"] = {"socket-name": "/run/k"}

    assert _scoped(both, "/run/k4") == (4,)
    assert _scoped(both, "/run/k6") == (6,)
    assert _scoped(both, "/run/k4", ["dhcp6"]) == (6,)
    assert _scoped(both, "/run/other") == (4, 6)
    assert _scoped(both, None) == (4, 6)
    assert _scoped(shared, "/run/k") == (4, 6)
    assert _scoped(shared, "/run/k", ["dhcp6"]) == (6,)
    assert _scoped(shared, "/run/k", ["dhcp4", "dhcp6"]) == (4, 6)
    assert _scoped(shared, "/run/k", "dhcp6") == (4, 6)


# The property: statistics always equal a recount of the table.


ADDRESSES4 = ["10.0.0.1", "10.0.0.2", "10.1.0.1", "10.1.0.2", "10.2.0.1", "192.0.2.10"]
ADDRESSES6 = ["2001:db8::1", "2001:db8::2", "2001:db8:5::1", "2001:db8:8000::"]

commands4 = st.one_of(
    st.builds(
        lambda ip, lease_state, subnet, expired: (
            "lease4-add" if expired is None else "lease4-update",
            {
                "ip-address": ip,
                "hw-address": HW,
                "state": lease_state,
                **({"subnet-id": subnet} if subnet else {}),
                **({"expire": PAST, "valid-lft": 10} if expired else {}),
                **({"force-create": True} if expired is not None else {}),
            },
        ),
        st.sampled_from(ADDRESSES4),
        st.integers(0, 2),
        st.sampled_from([0, 1, 3]),
        st.sampled_from([None, False, True]),
    ),
    st.builds(
        lambda ip: ("lease4-del", {"ip-address": ip}), st.sampled_from(ADDRESSES4)
    ),
    st.builds(
        lambda subnet: ("lease4-wipe", {"subnet-id": subnet} if subnet else ...),
        st.sampled_from([0, 1, 2, 3]),
    ),
)
commands6 = st.one_of(
    st.builds(
        lambda ip, lease_type, lease_state, expired: (
            "lease6-update",
            {
                "ip-address": ip,
                "duid": DUID,
                "iaid": 1,
                "subnet-id": 1,
                "type": lease_type,
                "state": 0 if lease_type == "IA_PD" else lease_state,
                "force-create": True,
                **({"prefix-len": 56} if lease_type == "IA_PD" else {}),
                **({"expire": PAST, "valid-lft": 10} if expired else {}),
            },
        ),
        st.sampled_from(ADDRESSES6),
        st.sampled_from(["IA_NA", "IA_PD", "IA_TA"]),
        st.integers(0, 2),
        st.booleans(),
    ),
    st.builds(
        lambda ip, lease_type: (
            "lease6-bulk-apply",
            {"deleted-leases": [{"ip-address": ip, "type": lease_type}]},
        ),
        st.sampled_from(ADDRESSES6),
        st.sampled_from(["IA_NA", "IA_PD"]),
    ),
)
steps = st.lists(
    st.one_of(
        commands4,
        commands6,
        st.sampled_from([("reclaim", 4), ("reclaim", 6), ("flush", 4), ("reload", 0)]),
    ),
    max_size=25,
)

RELOADED: dict[str, Any] = copy.deepcopy(RAW)
RELOADED["Dhcp4"]["subnet4"] = [
    {"id": 3, "subnet": "10.0.0.0/8", "pools": [{"pool": "10.0.0.0/16", "pool-id": 2}]}
]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=steps)
def test_stats_always_equal_a_recount_of_the_table(steps: list[Any]) -> None:
    """After any mix of changes, every counted statistic matches the table."""
    engine = make_engine()

    for step in steps:
        if step[0] == "reclaim":
            engine.state.reclaimer.reclaim(V4 if step[1] == 4 else V6)
        elif step[0] == "flush":
            engine.state.reclaimer.flush(V4)
        elif step[0] == "reload":
            new = config.build(RELOADED)
            engine.state.config = new
            engine.state.statistics.configure(new, engine.state.tables)
        else:
            run(engine, step[0], step[1])

    for version in (4, 6):
        expected = recount(engine, version)
        store = engine.state.statistics.family(version).store
        for name in store.names():
            if name.rsplit(".", 1)[-1] in COUNTED_NAMES:
                assert store.value(name) == expected.get(name, 0), name
        for name, count in expected.items():
            assert store.value(name) == count, name


COUNTED_NAMES = (
    "assigned-addresses",
    "declined-addresses",
    "assigned-nas",
    "assigned-pds",
    "registered-nas",
)


def recount(engine: Engine, version: int) -> dict[str, int]:
    """Count the table by brute force, straight from Kea's rules."""
    family_config = engine.state.config.family(version)
    assert family_config is not None
    counts: dict[str, int] = {}

    def bump(names: list[str]) -> None:
        for name in names:
            counts[name] = counts.get(name, 0) + 1

    for lease in engine.state.table(V4 if version == 4 else V6).by_address.values():
        subnet = family_config.subnet(lease.subnet_id)
        prefix = f"subnet[{lease.subnet_id}]."
        is_pd = isinstance(lease, Lease6) and lease.type == TYPE_PD
        if isinstance(lease, Lease6) and lease.type not in (TYPE_NA, TYPE_PD):
            continue
        pool = None
        if subnet is not None:
            if is_pd:
                for (start, length, _), pool_id in zip(
                    subnet.pd_pools, subnet.pd_pool_ids, strict=True
                ):
                    if lease.address >> (128 - length) == start >> (128 - length):
                        pool = f"{prefix}pd-pool[{pool_id}]."
            else:
                for (first, last), pool_id in zip(
                    subnet.pools, subnet.pool_ids, strict=True
                ):
                    if first <= lease.address <= last:
                        pool = f"{prefix}pool[{pool_id}]."
        if is_pd:
            names = ["assigned-pds"] if lease.state == 0 else []
        elif lease.state == STATE_REGISTERED:
            counts[prefix + "registered-nas"] = (
                counts.get(prefix + "registered-nas", 0) + 1
            )
            continue
        elif lease.state in (0, 1):
            names = ["assigned-addresses" if version == 4 else "assigned-nas"]
            if lease.state == 1:
                names.append("declined-addresses")
        else:
            names = []
        for name in names:
            bump([name, prefix + name] + ([pool + name] if pool else []))
    return counts


def test_stats_reload_forgets_only_the_old_subnets_own_names() -> None:
    """Forgetting subnet[1] leaves subnet[12] alone (no prefix confusion)."""
    raw = {"Dhcp4": {"subnet4": [{"id": 1, "subnet": "10.0.0.0/8"}]}}
    engine = make_engine(raw)
    store = engine.state.statistics.family(4).store
    store.set("subnet[12].reclaimed-leases", 5)
    new = config.build({"Dhcp4": {"subnet4": [{"id": 2, "subnet": "10.0.0.0/8"}]}})

    engine.state.statistics.configure(new, engine.state.tables)

    assert store.value("subnet[12].reclaimed-leases") == 5
    assert store.value("subnet[1].total-addresses") is None
    assert store.value("subnet[2].total-addresses") == 0


def test_stats_large_wipe_and_reclamation_equal_a_recount() -> None:
    """Batches of many changes are counted in groups; the counts still
    equal a brute-force recount (pools, states, unconfigured subnets)."""
    engine = make_engine()
    one, three = {"subnet-id": 1}, {"subnet-id": 3}
    for octet in range(1, 101):
        add4(engine, f"10.0.0.{octet}", state=octet % 3, **one)
        add4(engine, f"10.1.0.{octet}", state=octet % 2, **one)
        add4(engine, f"10.1.1.{octet}", **three)
    for octet in range(101, 201):
        add4(engine, f"10.1.0.{octet}", expire=PAST, **{"valid-lft": 10}, **one)

    engine.state.reclaimer.reclaim(V4)
    ok(engine, "lease4-wipe", {"subnet-id": 3})
    ok(engine, "lease4-wipe", {"subnet-id": 1})

    expected = recount(engine, 4)
    store = engine.state.statistics.family(4).store
    for name in store.names():
        if name.rsplit(".", 1)[-1] in COUNTED_NAMES:
            assert store.value(name) == expected.get(name, 0), name
    assert value(engine, "reclaimed-leases") == 100
