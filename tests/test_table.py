"""The lease table's indexes agree with a brute-force scan after changes."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from leased.model import (
    STATE_EXPIRED_RECLAIMED,
    TYPE_NA,
    TYPE_PD,
    V4,
    V6,
    Lease,
    Lease4,
    Lease6,
)
from leased.table import LeaseTable, grouped

# Small value pools make collisions (shared identifiers, hostnames,
# subnets) likely, which is where multi-valued indexes can go wrong.
addresses = st.integers(min_value=1, max_value=40)
hw_addresses = st.sampled_from([b"", b"\x01\x02", b"\x01\x03", b"\xaa" * 6])
client_ids = st.sampled_from([None, b"\x01\x01", b"\x02\x02\x02"])
duids = st.sampled_from([b"\x00", b"\x01\x02\x03", b"\x09" * 10])
hostnames = st.sampled_from(["", "a.example.", "b.example."])
subnets = st.integers(min_value=1, max_value=3)
states = st.integers(min_value=0, max_value=2)
times = st.integers(min_value=0, max_value=50)


@st.composite
def leases4(draw: st.DrawFn, address: int | None = None) -> Lease4:
    return Lease4(
        address=draw(addresses) if address is None else address,
        hw_address=draw(hw_addresses),
        client_id=draw(client_ids),
        valid_lft=draw(times),
        cltt=draw(times),
        subnet_id=draw(subnets),
        hostname=draw(hostnames),
        state=draw(states),
    )


@st.composite
def leases6(draw: st.DrawFn, address: int | None = None) -> Lease6:
    lease_type = draw(st.sampled_from([TYPE_NA, TYPE_PD]))
    return Lease6(
        address=draw(addresses) if address is None else address,
        type=lease_type,
        prefix_len=128 if lease_type == TYPE_NA else 64,
        duid=draw(duids),
        iaid=draw(st.integers(0, 2)),
        valid_lft=draw(times),
        preferred_lft=draw(times),
        cltt=draw(times),
        subnet_id=draw(subnets),
        hostname=draw(hostnames),
        state=draw(states),
        hw_address=draw(st.sampled_from([None, b"", b"\x01\x02"])),
    )


def check_indexes(table: LeaseTable, expected: dict[int, Lease]) -> None:
    """Compare every index of ``table`` with a scan of ``expected``."""
    everything = list(expected.values())
    assert table.by_address == expected
    assert list(table.ordered) == sorted(expected)
    assert [lease.address for lease in table.in_address_order()] == sorted(expected)

    def same(found: list[Lease], wanted: list[Lease]) -> None:
        assert sorted(lease.address for lease in found) == sorted(
            lease.address for lease in wanted
        )
        for lease in found:
            assert expected[lease.address] is lease

    for hw in {lease.hw_address for lease in everything} | {b"\x07"}:
        if hw is not None:
            same(
                table.with_hw_address(hw), [x for x in everything if x.hw_address == hw]
            )
    for lease in everything:
        if isinstance(lease, Lease4) and lease.client_id is not None:
            same(
                table.with_client_id(lease.client_id),
                [
                    x
                    for x in everything
                    if getattr(x, "client_id", None) == lease.client_id
                ],
            )
        if isinstance(lease, Lease6):
            same(
                table.with_duid(lease.duid),
                [x for x in everything if getattr(x, "duid", None) == lease.duid],
            )
    for name in ["a.example.", "b.example.", "c.example."]:
        same(table.with_hostname(name), [x for x in everything if x.hostname == name])
    for subnet_id in range(0, 5):
        same(
            table.in_subnet(subnet_id),
            [x for x in everything if x.subnet_id == subnet_id],
        )
        for state in range(3):
            same(
                table.with_state(state, subnet_id),
                [
                    x
                    for x in everything
                    if x.state == state and x.subnet_id == subnet_id
                ],
            )
    for state in range(3):
        same(table.with_state(state), [x for x in everything if x.state == state])
    for now in (0, 25, 101):
        for reclaimed in (False, True):
            wanted = sorted(
                (
                    x
                    for x in everything
                    if x.expire < now
                    and (x.state == STATE_EXPIRED_RECLAIMED) == reclaimed
                ),
                key=lambda x: (x.expire, x.address),
            )
            assert list(table.expired(now, reclaimed=reclaimed)) == wanted
    for after in (0, 10, 39):
        for limit in (1, 5, 100):
            wanted_page = [expected[a] for a in sorted(expected) if a > after][:limit]
            assert table.page(after, limit) == wanted_page


class TableMachine(RuleBasedStateMachine):
    """Random add/update/del/wipe sequences against a plain dict model."""

    def __init__(self) -> None:
        super().__init__()
        self.version = 4
        self.table = LeaseTable(V4)
        self.model: dict[int, Lease] = {}

    @rule(data=st.data(), v6=st.booleans())
    def switch_family(self, data: st.DataObject, v6: bool) -> None:
        if not self.model:
            self.version = 6 if v6 else 4
            self.table = LeaseTable(V6 if v6 else V4)

    def draw_lease(self, data: st.DataObject, address: int | None = None) -> Lease:
        strategy = leases4 if self.version == 4 else leases6
        lease: Lease = data.draw(strategy(address))
        return lease

    @rule(data=st.data())
    def add(self, data: st.DataObject) -> None:
        lease = self.draw_lease(data)
        if lease.address not in self.model:
            self.table.apply(None, lease)
            self.model[lease.address] = lease

    @precondition(lambda self: self.model)
    @rule(data=st.data())
    def update(self, data: st.DataObject) -> None:
        address = data.draw(st.sampled_from(sorted(self.model)))
        new = self.draw_lease(data, address)
        self.table.apply(self.model[address], new)
        self.model[address] = new

    @precondition(lambda self: self.model)
    @rule(data=st.data())
    def update_state_only(self, data: st.DataObject) -> None:
        address = data.draw(st.sampled_from(sorted(self.model)))
        new = self.model[address].replace(state=data.draw(states))
        self.table.apply(self.model[address], new)
        self.model[address] = new

    @precondition(lambda self: self.model)
    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        address = data.draw(st.sampled_from(sorted(self.model)))
        self.table.apply(self.model.pop(address), None)

    @rule(subnet_id=subnets)
    def wipe(self, subnet_id: int) -> None:
        for lease in self.table.in_subnet(subnet_id):
            self.table.apply(lease, None)
            del self.model[lease.address]

    @invariant()
    def indexes_agree(self) -> None:
        check_indexes(self.table, self.model)


TableMachine.TestCase.settings = settings(
    max_examples=60, stateful_step_count=30, deadline=None
)
test_table_indexes_match_brute_force = TableMachine.TestCase


def test_table_keeps_order_of_equal_keys_on_replace() -> None:
    """A replacement whose key is unchanged keeps the lease's place (Kea's
    "first match" order)."""
    table = LeaseTable(V4)
    first = Lease4(
        address=1, hw_address=b"\x01", client_id=None, valid_lft=1, cltt=1, subnet_id=1
    )
    second = first.replace(address=2)
    table.apply(None, first)
    table.apply(None, second)

    table.apply(first, first.replace(hostname="x."))

    assert [lease.address for lease in table.with_hw_address(b"\x01")] == [1, 2]
    assert [lease.address for lease in table.in_subnet(1)] == [1, 2]


def test_table_clear_forgets_everything() -> None:
    table = LeaseTable(V4)
    lease = Lease4(
        address=1, hw_address=b"\x01", client_id=None, valid_lft=1, cltt=1, subnet_id=1
    )
    table.apply(None, lease)

    table.clear()

    assert len(table) == 0
    assert table.with_hw_address(b"\x01") == []
    assert list(table.expired(10)) == []


@given(st.lists(addresses, unique=True, min_size=1))
def test_table_page_walks_every_lease_once(chosen: list[int]) -> None:
    table = LeaseTable(V4)
    for address in chosen:
        table.apply(
            None,
            Lease4(
                address=address,
                hw_address=b"\x01",
                client_id=None,
                valid_lft=1,
                cltt=1,
                subnet_id=1,
            ),
        )

    seen: list[int] = []
    after = 0
    while page := table.page(after, 3):
        seen.extend(lease.address for lease in page)
        after = page[-1].address

    assert seen == sorted(chosen)


def _index_contents(table: LeaseTable) -> dict[str, object]:
    """Every index of a table in comparable form (order included)."""
    return {
        "by_address": list(table.by_address.items()),
        "ordered": list(table.ordered),
        "by_expiration": list(table.by_expiration),
        "by_subnet": {k: list(v.items()) for k, v in table.by_subnet.items()},
        **{
            name: {
                key: getattr(table, name).get(key)
                for key in getattr(table, name).keys()  # noqa: SIM118 not a dict
            }
            for name in (
                "by_hw_address",
                "by_client_id",
                "by_duid",
                "by_hostname",
                "by_state",
            )
        },
    }


@given(st.data())
def test_table_load_builds_the_same_indexes_as_inserting(data: st.DataObject) -> None:
    """Start-up's bulk load equals inserting the leases one by one."""
    family = data.draw(st.sampled_from([V4, V6]))
    strategy = leases4 if family is V4 else leases6
    chosen = data.draw(st.lists(addresses, unique=True, max_size=30))
    leases = [data.draw(strategy(address=address)) for address in chosen]
    inserted = LeaseTable(family)
    for lease in leases:
        inserted.apply(None, lease)

    loaded = LeaseTable(family)
    loaded.load({lease.address: lease for lease in leases})

    assert _index_contents(loaded) == _index_contents(inserted)


def test_table_load_subnets_in_runs_keep_insertion_order() -> None:
    """Subnet maps filled a run at a time equal inserting lease by lease."""
    subnets = [1] * 100 + [2] * 100 + [1] * 100
    leases = [
        Lease4(
            address=7000 - n,
            hw_address=bytes([n % 7]),
            client_id=None,
            valid_lft=10,
            cltt=n % 3,
            subnet_id=subnet,
        )
        for n, subnet in enumerate(subnets)
    ]
    inserted = LeaseTable(V4)
    for lease in leases:
        inserted.apply(None, lease)

    loaded = LeaseTable(V4)
    loaded.load({lease.address: lease for lease in leases})

    assert _index_contents(loaded) == _index_contents(inserted)


def _random_lease(picker: random.Random, family: int, address: int) -> Lease:
    """A lease from small pools of values, so that keys are shared."""
    common: dict[str, object] = {
        "address": address,
        "valid_lft": picker.randint(0, 50),
        "cltt": picker.randint(0, 50),
        "subnet_id": picker.randint(1, 3),
        "hostname": picker.choice(["", "a.example.", "b.example."]),
        "state": picker.randint(0, 2),
    }
    if family == 4:
        return Lease4(
            hw_address=picker.choice([b"", b"\x01\x02", b"\x01\x03"]),
            client_id=picker.choice([None, b"\x01\x01", b"\x02\x02\x02"]),
            **common,  # type: ignore[arg-type]
        )
    return Lease6(
        type=TYPE_NA,
        prefix_len=128,
        duid=picker.choice([b"\x00", b"\x01\x02\x03"]),
        iaid=picker.randint(0, 2),
        preferred_lft=picker.randint(0, 50),
        hw_address=picker.choice([None, b"", b"\x01\x02"]),
        **common,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("seed", range(18))
def test_table_bulk_removal_equals_removing_one_by_one(seed: int) -> None:
    """A long run of removals (apply_all's bulk way) leaves every index as
    removing the leases one at a time does, order within a key included.

    The leases removed are a random sample, a run of consecutive addresses
    (removed from the address order as one slice), or every lease of one
    subnet (whose map is dropped whole), by turns.
    """
    picker = random.Random(seed)
    family = V4 if seed % 2 else V6
    leases = [_random_lease(picker, family.version, n) for n in range(1, 901)]
    if seed % 3 == 0:
        gone = picker.sample(leases, picker.randint(256, 900))
    elif seed % 3 == 1:
        start = picker.randint(0, 600)
        gone = leases[start : start + picker.randint(256, 900 - start)]
        picker.shuffle(gone)
    else:
        subnet_id = picker.randint(1, 3)
        gone = [lease for lease in leases if lease.subnet_id == subnet_id]
    one_by_one, in_bulk = LeaseTable(family), LeaseTable(family)
    for lease in leases:
        one_by_one.apply(None, lease)
        in_bulk.apply(None, lease)

    for lease in gone:
        one_by_one.apply(lease, None)
    in_bulk.apply_all(gone, [None] * len(gone))

    assert _index_contents(in_bulk) == _index_contents(one_by_one)
    assert list(in_bulk.expired(101)) == list(one_by_one.expired(101))
    if seed % 3 == 2:
        assert subnet_id not in in_bulk.by_subnet


def test_grouped_keeps_order_within_and_across_keys() -> None:
    assert grouped([], []) == {}
    assert grouped([7, 7, 7], ["a", "b", "c"]) == {7: ["a", "b", "c"]}
    groups = grouped([2, 1, 2, 3, 1], ["a", "b", "c", "d", "e"])
    assert groups == {2: ["a", "c"], 1: ["b", "e"], 3: ["d"]}
    assert list(groups) == [2, 1, 3]
