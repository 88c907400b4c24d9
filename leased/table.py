"""The in-memory lease table and its indexes.

One :class:`LeaseTable` holds the leases of one address family.  Leases are
keyed by address alone, as in Kea's memfile backend: an IPv6 address lease and
a prefix can never share an address.  Beside the primary map the table keeps
these indexes, all updated together by :meth:`LeaseTable.apply`, the only
method that changes the table:

``ordered``
    Every address in ascending order (a ``SortedList`` of integers), for
    get-page and for get-all in address order: a page costs
    O(limit + log n).
``by_hw_address``, ``by_client_id``, ``by_duid``
    Identifier to leases.  A lookup by identifier *and* subnet (lease4-get
    by hw-address, lease6-get by DUID, IAID and type) goes through the
    identifier and then filters the few leases that share it, so it costs
    O(leases sharing the identifier), a handful in practice.
``by_hostname``
    Lower-cased hostname to leases; empty hostnames are not indexed.
``by_subnet``
    Subnet id to its leases in insertion order, for get-all with subnets and
    for wipe, which then cost O(leases in the subnet).
``by_state``
    State to leases, for every state but the default one: nearly every
    lease is in the default state, so that list would only cost memory; a
    query for the default state walks the subnet or the table instead, which
    is the size of its answer anyway.
``by_expiration``
    Addresses by (reclaimed flag, expiry), like Kea's expiration index:
    expired leases waiting for reclamation come first in expiry order, then
    reclaimed ones waiting to be flushed (see :class:`ExpirationIndex`).

Multi-valued indexes hold a single lease directly and switch to a small
insertion-ordered map (address to lease) only when a second lease shares the
key: most keys have exactly one lease, and this saves a container per lease.

When a lease is replaced by a new version, an index whose key did not change
keeps the lease in its place, so "first match" answers keep Kea's order.

This module does no I/O and knows nothing of commands.
"""

from __future__ import annotations

import itertools
from collections import defaultdict, deque
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from itertools import compress, filterfalse, repeat
from operator import add, is_, is_not, ne
from operator import attrgetter as _attr
from typing import Any, Generic, TypeVar

import attrs
from sortedcontainers import SortedList

from leased.model import (
    STATE_DEFAULT,
    STATE_EXPIRED_RECLAIMED,
    Family,
    Lease,
    Lease4,
    Lease6,
)

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

# Bits that place the parts of an expiration bucket's key: the expiry,
# then the "reclaimed" flag, so that plain integer order is the order we
# want.  Expiry times past 2**36 seconds (the year 4147) are all treated as
# that moment, which only blurs their order.
_EXPIRE_BITS = 36
_EXPIRE_MAX = (1 << _EXPIRE_BITS) - 1
# Changes from which LeaseTable.apply_all works in bulk.
_BULK = 256
# Most addresses a bucket keeps in a list (8 bytes each), whose removal
# walks it (a few microseconds at this size); a fuller bucket becomes a set
# (30 to 60 bytes each, removal in constant time).
_LIST_MAX = 512


def expiration_key(lease: Lease) -> int:
    """The ``by_expiration`` bucket of a lease: (reclaimed, expire)."""
    terms = lease.terms
    reclaimed = 1 if terms.state == STATE_EXPIRED_RECLAIMED else 0
    return (reclaimed << _EXPIRE_BITS) | min(lease.cltt + terms.valid_lft, _EXPIRE_MAX)


class ExpirationIndex:
    """Addresses in buckets of equal (reclaimed flag, expiry), buckets ordered.

    Leases expire in bursts: a server whose clients renew at half their
    lifetime sees about as many distinct expiry seconds as the lifetime is
    long, however many leases it holds.  So the leases are grouped by their
    bucket key (:func:`expiration_key`), and a bucket holds the addresses
    themselves (the lease's own int objects): a lone address as it is, a
    few in a list, many in a set (removal from a list walks it).  That costs
    about 10 bytes a lease where an ordered key per lease cost 56.  Within
    a bucket, addresses are read in ascending order.
    """

    __slots__ = ("_buckets", "_keys")

    def __init__(self) -> None:
        self._buckets: dict[int, Any] = {}
        self._keys: SortedList = SortedList()

    def add(self, key: int, address: int) -> None:
        """Put ``address`` in bucket ``key``."""
        held = self._buckets.get(key)
        if held is None:
            self._buckets[key] = address
            self._keys.add(key)
        elif type(held) is int:
            self._buckets[key] = [held, address]
        elif type(held) is list:
            held.append(address)
            if len(held) > _LIST_MAX:
                self._buckets[key] = set(held)
        else:
            held.add(address)

    def remove(self, key: int, address: int) -> None:
        """Take ``address`` out of bucket ``key``, where it must be."""
        held = self._buckets[key]
        if type(held) is int:
            assert held == address, "address not in its expiration bucket"
            del self._buckets[key]
            self._keys.remove(key)
            return
        held.remove(address)
        if len(held) == 1:
            self._buckets[key] = next(iter(held))

    def remove_many(self, keys: Iterable[int], addresses: Iterable[int]) -> None:
        """Take many addresses out of their buckets (``keys``, one each).

        Addresses are grouped by bucket in C; then a Python step per bucket
        (a bucket holds the leases that expire in one second, a dozen or
        more on a busy server).
        """
        grouped: defaultdict[int, list[int]] = defaultdict(list)
        deque(map(list.append, map(grouped.__getitem__, keys), addresses), maxlen=0)
        buckets = self._buckets
        gone: set[int] = set()
        for key, leaving in grouped.items():
            held = buckets[key]
            if type(held) is int:
                assert leaving == [held], "address not in its expiration bucket"
                left: Any = ()
            else:
                out = set(leaving)
                left = list(filterfalse(out.__contains__, held))
                assert len(left) + len(out) == len(held) == len(left) + len(leaving)
            if not left:
                del buckets[key]
                gone.add(key)
            elif len(left) == 1:
                buckets[key] = left[0]
            else:
                buckets[key] = left if len(left) <= _LIST_MAX else set(left)
        if len(gone) * 16 > len(self._keys):
            self._keys = SortedList(filterfalse(gone.__contains__, self._keys))
        else:
            deque(map(self._keys.remove, gone), maxlen=0)

    def between(self, low: int, high: int) -> Iterator[int]:
        """Addresses in buckets ``low <= key < high``, by key then address."""
        buckets = self._buckets
        for key in self._keys.irange(low, high, inclusive=(True, False)):
            held = buckets[key]
            if type(held) is int:
                yield held
            else:
                yield from sorted(held)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        """Every (bucket key, address), in order."""
        for key in self._keys:
            held = self._buckets[key]
            if type(held) is int:
                yield key, held
            else:
                for address in sorted(held):
                    yield key, address

    def fill(self, keys: Iterable[int], addresses: Iterable[int]) -> None:
        """Add many addresses to an empty index, one per key.

        Grouped into lists in C (``defaultdict`` and ``list.append`` driven
        by ``map``), then each bucket takes its final form.
        """
        assert not self._buckets, "fill() fills an empty index"
        grouped: defaultdict[int, list[int]] = defaultdict(list)
        deque(map(list.append, map(grouped.__getitem__, keys), addresses), maxlen=0)
        buckets: dict[int, Any] = dict(grouped)
        for key, held in buckets.items():
            if len(held) == 1:
                buckets[key] = held[0]
            elif len(held) > _LIST_MAX:
                buckets[key] = set(held)
        self._buckets = buckets
        self._keys = SortedList(buckets)


class MultiIndex(Generic[K]):
    """A key to the leases that share it, in insertion order.

    A key with one lease maps to the lease itself; with more, to a dict from
    address to lease.  An empty key is never stored.
    """

    __slots__ = ("_map",)

    def __init__(self) -> None:
        self._map: dict[K, Any] = {}

    def add(self, key: K, lease: Lease) -> None:
        """Add ``lease`` under ``key``, after the leases already there."""
        held = self._map.get(key)
        if held is None:
            self._map[key] = lease
        elif isinstance(held, dict):
            held[lease.address] = lease
        else:
            self._map[key] = {held.address: held, lease.address: lease}

    def remove(self, key: K, lease: Lease) -> None:
        """Remove the lease at ``lease.address`` from under ``key``."""
        held = self._map[key]
        if isinstance(held, dict):
            del held[lease.address]
            if len(held) == 1:
                self._map[key] = next(iter(held.values()))
        else:
            del self._map[key]

    def remove_many(self, keys: list[Any], leases: list[Lease], blank: Any) -> None:
        """:meth:`remove` of each lease under its key (``blank``: not indexed).

        A key that holds its lease alone (most do) is dropped in C; only
        keys shared with other leases take a Python step.
        """
        held_map = self._map
        # One pop each, in C; a key that held more than its lease (a group,
        # or nothing: not indexed, or popped already as a group) is put
        # right in Python, in order.
        popped = list(map(held_map.pop, keys, repeat(None)))
        for key, lease, held in compress(
            zip(keys, leases, popped, strict=True), map(is_not, popped, leases)
        ):
            if held is not None:
                held_map[key] = held
            if key != blank and key in held_map:
                self.remove(key, lease)

    def replace(self, key: K, lease: Lease) -> None:
        """Put a new version of a lease in the place of the old one."""
        held = self._map[key]
        if isinstance(held, dict):
            held[lease.address] = lease
        else:
            self._map[key] = lease

    def get(self, key: K) -> list[Lease]:
        """The leases under ``key``, oldest first."""
        held = self._map.get(key)
        if held is None:
            return []
        if isinstance(held, dict):
            return list(held.values())
        return [held]

    def first(self, key: K, accept: Callable[[Lease], bool]) -> Lease | None:
        """The oldest lease under ``key`` that ``accept`` takes, if any."""
        held = self._map.get(key)
        if held is None:
            return None
        if isinstance(held, dict):
            return next((lease for lease in held.values() if accept(lease)), None)
        return held if accept(held) else None

    def keys(self) -> Iterable[K]:
        """Every key with at least one lease."""
        return self._map.keys()

    def __contains__(self, key: object) -> bool:
        return key in self._map

    def __len__(self) -> int:
        return len(self._map)


_GENERAL = object()


def _fill(index: MultiIndex[Any], keys: list[Any], leases: list[Lease]) -> None:
    """Add ``leases`` under ``keys`` (one each, in order) to an empty index.

    Most keys belong to one lease only, so the map is first built by
    ``dict(zip(...))`` in C, which leaves the last lease under a shared key.
    The leases that lost their place that way are found in C as well
    (``compress``: the lease is not the one its key maps to), and only the
    keys they share are rebuilt in Python, in order.
    """
    # A map whose keys are all str (hostnames) keeps no hash in its entries
    # and must read each key's own to grow: with a million cold keys that is
    # a third slower to build than the 8 bytes an entry it saves are worth.
    # A first key that is not a str gives it the general layout for good.
    held_map: dict[Any, Any] = {_GENERAL: None}
    held_map.update(zip(keys, leases, strict=True))
    del held_map[_GENERAL]
    if len(held_map) < len(leases):
        displaced = compress(
            zip(keys, leases, strict=True),
            map(is_not, map(held_map.__getitem__, keys), leases),
        )
        shared: dict[Any, dict[int, Lease]] = {}
        for key, lease in displaced:
            shared.setdefault(key, {})[lease.address] = lease
        for key, group in shared.items():
            last = held_map[key]
            group[last.address] = last
            held_map[key] = group
    index._map = held_map


def grouped(keys: list[K], values: list[V]) -> dict[K, list[V]]:
    """``values`` under their ``keys`` (one each), in order, grouped in C.

    A single key throughout (a wipe's subnet, say) is told by one
    ``count`` and takes ``values`` as it is.
    """
    if not keys:
        return {}
    if keys.count(keys[0]) == len(keys):
        return {keys[0]: values}
    groups: defaultdict[K, list[V]] = defaultdict(list)
    deque(map(list.append, map(groups.__getitem__, keys), values), maxlen=0)
    return dict(groups)


def _fill_by(
    index: MultiIndex[Any], field: str, leases: list[Lease], blank: Any
) -> None:
    """Fill ``index`` with ``leases`` under their ``field`` (a dotted name).

    A lease whose key is ``blank`` is left out; the leases are picked in C,
    as in :func:`_fill`.
    """
    if not any(map(ne, map(_attr(field), leases), repeat(blank))):
        return  # nothing to index (the usual case for the state)
    keys = list(map(_attr(field), leases))
    if keys.count(blank):
        kept = list(map(ne, keys, repeat(blank)))
        leases = list(compress(leases, kept))
        keys = list(compress(keys, kept))
    _fill(index, keys, leases)


def _subnet_maps(addresses: list[int], leases: list[Lease]) -> dict[int, Any]:
    """Each subnet's map of address to lease, in the order of ``leases``.

    Files written in address order hold each subnet's leases in one run, so
    the maps are filled a run at a time with ``dict.update`` in C; when the
    subnets alternate too often for that, a lease at a time (still in C,
    through ``defaultdict`` and ``map``).
    """
    subnets = list(map(_attr("terms.subnet_id"), leases))
    runs = [
        (subnet_id, len(list(run))) for subnet_id, run in itertools.groupby(subnets)
    ]
    maps: dict[int, dict[int, Lease]] = {}
    if len(runs) * 64 <= len(leases):
        start = 0
        for subnet_id, length in runs:
            end = start + length
            held = maps.setdefault(subnet_id, {})
            held.update(zip(addresses[start:end], leases[start:end], strict=True))
            start = end
        return maps
    grouped: defaultdict[int, dict[int, Lease]] = defaultdict(dict)
    deque(
        map(dict.__setitem__, map(grouped.__getitem__, subnets), addresses, leases),
        maxlen=0,
    )
    return dict(grouped)


def _hw_key(lease: Lease) -> bytes | None:
    return lease.hw_address


def _hw_subnet_key(lease: Lease) -> tuple[bytes | None, int]:
    return lease.hw_address, lease.subnet_id


def _client_id_subnet_key(lease: Lease) -> tuple[bytes | None, int]:
    return _client_id_key(lease), lease.subnet_id


def _client_id_key(lease: Lease) -> bytes | None:
    return lease.client_id if isinstance(lease, Lease4) else None


def _duid_key(lease: Lease) -> bytes | None:
    return lease.duid if isinstance(lease, Lease6) else None


def _hostname_key(lease: Lease) -> str | None:
    return lease.hostname or None


def _state_key(lease: Lease) -> int | None:
    return None if lease.state == STATE_DEFAULT else lease.state


@attrs.define
class LeaseTable:
    """The leases of one family and their indexes.

    Only :meth:`apply` (and :meth:`clear`) change the table; every other
    method reads.  The table is not thread-safe: one task owns it.
    """

    family: Family
    by_address: dict[int, Lease] = attrs.field(factory=dict)
    ordered: SortedList = attrs.field(factory=SortedList)
    by_hw_address: MultiIndex[bytes] = attrs.field(factory=MultiIndex)
    by_client_id: MultiIndex[bytes] = attrs.field(factory=MultiIndex)
    by_duid: MultiIndex[bytes] = attrs.field(factory=MultiIndex)
    by_hostname: MultiIndex[str] = attrs.field(factory=MultiIndex)
    by_state: MultiIndex[int] = attrs.field(factory=MultiIndex)
    by_subnet: dict[int, dict[int, Lease]] = attrs.field(factory=dict)
    by_expiration: ExpirationIndex = attrs.field(factory=ExpirationIndex)

    def _multi(
        self,
    ) -> tuple[
        tuple[MultiIndex[Any], Callable[[Lease], Any], Callable[[Lease], Any]], ...
    ]:
        """Each multi-valued index, its key, and the key that fixes a place.

        Kea orders identifier indexes by identifier *and* subnet, so a lease
        whose subnet changes moves to the end of its identifier's leases even
        though the identifier is the same; the third item says so.
        """
        return (
            (self.by_hw_address, _hw_key, _hw_subnet_key),
            (self.by_client_id, _client_id_key, _client_id_subnet_key),
            (self.by_duid, _duid_key, _duid_key),
            (self.by_hostname, _hostname_key, _hostname_key),
            (self.by_state, _state_key, _state_key),
        )

    def _fields(self) -> tuple[tuple[MultiIndex[Any], str, Any], ...]:
        """Each multi-valued index, the lease field it keys on, and the value
        of that field which is not indexed (see :meth:`_multi`)."""
        identifier = (
            (self.by_client_id, "client_id", None)
            if self.family.version == 4
            else (self.by_duid, "duid", None)
        )
        return (
            (self.by_hw_address, "hw_address", None),
            identifier,
            (self.by_hostname, "hostname", ""),
            (self.by_state, "terms.state", STATE_DEFAULT),
        )

    # Changes.

    def apply(self, old: Lease | None, new: Lease | None) -> None:
        """Make one change: insert (no ``old``), replace, remove (no ``new``).

        ``old`` must be the lease the table holds at that address, and a
        replacement keeps the address.  Callers build changes from what the
        table holds, so a mismatch is a programming error.
        """
        if old is None:
            assert new is not None
            self._insert(new)
        elif new is None:
            self._remove(old)
        else:
            self._replace(old, new)

    def apply_all(
        self, olds: Sequence[Lease | None], news: Sequence[Lease | None]
    ) -> None:
        """Make many changes in order, as :meth:`apply` of each pair would.

        ``olds`` and ``news`` are the two sides of each change, in two
        columns (no tuple per change: a wipe makes a hundred thousand).  A
        long run of removals (a wipe) is made in bulk: each index drops its
        entries in C where it can, and the address order is rebuilt rather
        than edited when the run is a good part of the table.
        """
        if len(olds) < _BULK:
            deque(map(self.apply, olds, news), maxlen=0)
            return
        # Runs of removals told apart in C.
        start = 0
        for removing, run in itertools.groupby(map(is_, news, repeat(None))):
            end = start + len(list(run))
            if removing and end - start >= _BULK:
                # (A removal's old side is a lease: _remove_many checks it
                # is the one stored.)
                self._remove_many(olds[start:end])  # type: ignore[arg-type]
            else:
                deque(map(self.apply, olds[start:end], news[start:end]), maxlen=0)
            start = end

    def _remove_many(self, leases: list[Lease]) -> None:
        by_address = self.by_address
        addresses = list(map(_attr("address"), leases))
        assert all(map(is_, map(by_address.get, addresses), leases)), "not stored"
        deque(map(by_address.__delitem__, addresses), maxlen=0)
        ordered = self.ordered
        low = ordered.bisect_left(min(addresses))
        high = ordered.bisect_right(max(addresses))
        if high - low == len(addresses):
            # The leases are every address from the lowest to the highest
            # (a subnet's, in a wipe): one slice, which SortedList rebuilds
            # from the rest in C when it is large.
            del ordered[low:high]
        elif len(addresses) * 16 > len(ordered):
            gone = set(addresses)
            self.ordered = SortedList(filterfalse(gone.__contains__, ordered))
        else:
            deque(map(ordered.remove, addresses), maxlen=0)
        # Whether a removed lease may be reclaimed: the state index says,
        # before the leases leave it.
        reclaimed = STATE_EXPIRED_RECLAIMED in self.by_state
        for index, field, blank in self._fields():
            if index:  # (the state index is empty on most servers)
                index.remove_many(list(map(_attr(field), leases)), leases, blank)
        subnets = list(map(_attr("terms.subnet_id"), leases))
        for subnet_id, gone_here in grouped(subnets, addresses).items():
            subnet = self.by_subnet[subnet_id]
            if len(gone_here) == len(subnet):
                # Every lease of the subnet (a wipe): each removed lease was
                # stored, so in its subnet's map, and they are as many.
                del self.by_subnet[subnet_id]
                continue
            deque(map(subnet.__delitem__, gone_here), maxlen=0)
            if not subnet:
                del self.by_subnet[subnet_id]
        self.by_expiration.remove_many(
            self._expiration_keys(leases, reclaimed), addresses
        )

    @staticmethod
    def _expiration_keys(leases: list[Lease], reclaimed: bool) -> list[int]:
        """:func:`expiration_key` of each lease, in C where it can be.

        Expiry is cltt + valid_lft, which is the key as long as no lease is
        reclaimed (``reclaimed`` says whether any may be) and none expires
        past the largest key.
        """
        expiries = list(
            map(add, map(_attr("cltt"), leases), map(_attr("terms.valid_lft"), leases))
        )
        if reclaimed or (expiries and max(expiries) > _EXPIRE_MAX):
            return list(map(expiration_key, leases))
        return expiries

    def _insert(self, lease: Lease) -> None:
        assert lease.address not in self.by_address, "address already leased"
        self.by_address[lease.address] = lease
        self.ordered.add(lease.address)
        for index, key_of, _ in self._multi():
            key = key_of(lease)
            if key is not None:
                index.add(key, lease)
        self.by_subnet.setdefault(lease.subnet_id, {})[lease.address] = lease
        self.by_expiration.add(expiration_key(lease), lease.address)

    def _remove(self, lease: Lease) -> None:
        assert self.by_address.get(lease.address) is lease, "not the stored lease"
        del self.by_address[lease.address]
        self.ordered.remove(lease.address)
        for index, key_of, _ in self._multi():
            key = key_of(lease)
            if key is not None:
                index.remove(key, lease)
        subnet = self.by_subnet[lease.subnet_id]
        del subnet[lease.address]
        if not subnet:
            del self.by_subnet[lease.subnet_id]
        self.by_expiration.remove(expiration_key(lease), lease.address)

    def _replace(self, old: Lease, new: Lease) -> None:
        assert self.by_address.get(old.address) is old, "not the stored lease"
        assert old.address == new.address, "a replacement keeps the address"
        self.by_address[new.address] = new
        for index, key_of, place_of in self._multi():
            old_key, new_key = key_of(old), key_of(new)
            if old_key == new_key and place_of(old) == place_of(new):
                if old_key is not None:
                    index.replace(old_key, new)
                continue
            if old_key is not None:
                index.remove(old_key, old)
            if new_key is not None:
                index.add(new_key, new)
        if old.subnet_id == new.subnet_id:
            self.by_subnet[new.subnet_id][new.address] = new
        else:
            subnet = self.by_subnet[old.subnet_id]
            del subnet[old.address]
            if not subnet:
                del self.by_subnet[old.subnet_id]
            self.by_subnet.setdefault(new.subnet_id, {})[new.address] = new
        old_key, new_key = expiration_key(old), expiration_key(new)
        if old_key != new_key:
            self.by_expiration.remove(old_key, old.address)
            self.by_expiration.add(new_key, new.address)

    def load(self, leases: dict[int, Lease]) -> None:
        """Fill an empty table at start-up, much faster than one apply each.

        ``leases`` maps each lease's address to it, and is taken over.

        Each index is built from columns of keys taken with C-level calls
        (``attrgetter``, ``dict(zip(...))``) instead of ten Python calls per
        lease, and the ordered indexes are sorted once from all keys.  The
        result is the same as inserting the leases in order.

        Limitation: with the parse, a million leases take about 2.5 s
        (IPv4) to 3.1 s (IPv6) before the daemon answers: a quarter of Kea
        2.2's time on a quiet machine, with little room to spare (a busy
        machine pushes it past); what bounds it (five objects and six
        hash-table insertions a lease) is measured in docs/performance.md.
        """
        assert not self.by_address, "load() fills an empty table"
        # The map becomes the table's own address index, not a copy of it:
        # at millions of leases a second dict costs 40 bytes a lease.
        self.by_address = leases
        every = list(leases.values())
        addresses = list(leases)
        self.ordered = SortedList(addresses)

        # Identifier and hostname indexes; None (no identifier) and the
        # empty hostname are not indexed, nor is the default state.
        for index, field, blank in self._fields():
            _fill_by(index, field, every, blank)

        self.by_subnet = _subnet_maps(addresses, every)

        self.by_expiration = ExpirationIndex()
        reclaimed = STATE_EXPIRED_RECLAIMED in self.by_state
        self.by_expiration.fill(self._expiration_keys(every, reclaimed), addresses)

    def clear(self) -> None:
        """Forget every lease."""
        fresh = LeaseTable(self.family)
        for field in attrs.fields(LeaseTable):
            setattr(self, field.name, getattr(fresh, field.name))

    # Reads.

    def __len__(self) -> int:
        return len(self.by_address)

    def get(self, address: int) -> Lease | None:
        """The lease at ``address``, if any."""
        return self.by_address.get(address)

    def page(self, after: int, limit: int) -> list[Lease]:
        """Up to ``limit`` leases with addresses strictly above ``after``."""
        start = self.ordered.bisect_right(after)
        addresses = self.ordered.islice(start, start + limit)
        by_address = self.by_address
        return [by_address[address] for address in addresses]

    def in_address_order(self) -> Iterator[Lease]:
        """Every lease, in ascending address order."""
        by_address = self.by_address
        return (by_address[address] for address in self.ordered)

    def in_subnet(self, subnet_id: int) -> list[Lease]:
        """The leases of one subnet, oldest first."""
        return list(self.by_subnet.get(subnet_id, {}).values())

    def subnet_ids(self) -> list[int]:
        """The ids of subnets that hold at least one lease."""
        return list(self.by_subnet)

    def with_hw_address(self, hw_address: bytes) -> list[Lease]:
        """The leases with this hardware address, by subnet id."""
        leases = self.by_hw_address.get(hw_address)
        leases.sort(key=_subnet_of)
        return leases

    def with_client_id(self, client_id: bytes) -> list[Lease]:
        """The leases with this client identifier, by subnet id."""
        leases = self.by_client_id.get(client_id)
        leases.sort(key=_subnet_of)
        return leases

    def with_duid(self, duid: bytes) -> list[Lease]:
        """The leases with this DUID, oldest first."""
        return self.by_duid.get(duid)

    def with_hostname(self, hostname: str) -> list[Lease]:
        """The leases with this (lower-cased) hostname, oldest first."""
        return self.by_hostname.get(hostname) if hostname else []

    def with_state(self, state: int, subnet_id: int | None = None) -> list[Lease]:
        """The leases in ``state``, optionally in one subnet only.

        A non-default state is looked up in ``by_state``; the default state
        is not indexed (see the module text), so it walks the subnet, or the
        whole table, skipping the others.
        """
        if state != STATE_DEFAULT:
            leases = self.by_state.get(state)
            if subnet_id is not None:
                leases = [lease for lease in leases if lease.subnet_id == subnet_id]
            return leases
        if subnet_id is not None:
            source: Iterable[Lease] = self.by_subnet.get(subnet_id, {}).values()
        else:
            source = self.in_address_order()
        return [lease for lease in source if lease.state == STATE_DEFAULT]

    def expired(self, now: int, *, reclaimed: bool = False) -> Iterator[Lease]:
        """Leases whose expiry is before ``now``, oldest expiry first.

        Args:
            now: The time to compare expiry against.
            reclaimed: False for leases still waiting for reclamation (any
                state but expired-reclaimed), True for reclaimed ones.
        """
        flag = (1 if reclaimed else 0) << _EXPIRE_BITS
        by_address = self.by_address
        for address in self.by_expiration.between(flag, flag | min(now, _EXPIRE_MAX)):
            yield by_address[address]


def _subnet_of(lease: Lease) -> int:
    return lease.subnet_id
