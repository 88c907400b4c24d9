"""The statistic store: samples, count and age limits, reset and remove."""

from __future__ import annotations

import re
import time

import orjson

from leased.observations import (
    DEFAULT_MAX_SAMPLES,
    Observation,
    StatisticStore,
    format_time,
)
from leased.wire import encode

SECOND = 1_000_000


class Clock:
    """A settable microsecond clock."""

    def __init__(self, now: int = 1_700_000_000 * SECOND) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now

    def tick(self, seconds: float) -> None:
        self.now += int(seconds * SECOND)


def values(store: StatisticStore, name: str) -> list[int]:
    observation = store.get(name)
    assert observation is not None
    return [value for value, _ in observation.samples]


def test_store_add_creates_a_missing_statistic_with_the_amount() -> None:
    """Adding to an unknown name creates it, negative amounts included."""
    store = StatisticStore(Clock())

    store.add("declined-addresses", -1)

    assert values(store, "declined-addresses") == [-1]


def test_store_keeps_samples_newest_first() -> None:
    """Each set or add records a sample in front of the older ones."""
    store = StatisticStore(Clock())

    store.set("x", 5)
    store.add("x", 2)
    store.add("x", -4)

    assert values(store, "x") == [3, 7, 5]


def test_store_default_count_limit_keeps_twenty_samples() -> None:
    """Kea keeps the 20 newest samples unless told otherwise."""
    store = StatisticStore(Clock())

    for value in range(30):
        store.set("x", value)

    assert values(store, "x") == list(range(29, 29 - DEFAULT_MAX_SAMPLES, -1))


def test_store_limit_count_trims_at_once_and_from_then_on() -> None:
    """A count limit drops the oldest samples beyond it, now and later."""
    store = StatisticStore(Clock())
    for value in range(5):
        store.set("x", value)

    assert store.limit_count("x", 2)
    store.set("x", 9)

    assert values(store, "x") == [9, 4]


def test_store_limit_age_keeps_samples_within_the_duration() -> None:
    """An age limit keeps samples at most that much older than the newest."""
    clock = Clock()
    store = StatisticStore(clock)
    for value in range(4):
        store.set("x", value)
        clock.tick(10)

    assert store.limit_age("x", 15)
    assert values(store, "x") == [3, 2]
    clock.tick(100)
    store.set("x", 7)

    assert values(store, "x") == [7]


def test_store_limit_age_zero_keeps_only_samples_of_the_same_instant() -> None:
    """Age 0 keeps the newest sample and any taken at the very same time."""
    clock = Clock()
    store = StatisticStore(clock)
    store.set("x", 1)
    clock.tick(1)
    store.set("x", 2)
    store.set("x", 3)

    store.limit_age("x", 0)

    assert values(store, "x") == [3, 2]


def test_store_count_limit_after_age_limit_switches_back() -> None:
    """Setting a count limit ends the age limit, as in Kea."""
    clock = Clock()
    store = StatisticStore(clock)
    store.set("x", 0)
    store.limit_age("x", 0)

    store.limit_count("x", 3)
    for value in range(1, 5):
        clock.tick(5)
        store.set("x", value)

    assert values(store, "x") == [4, 3, 2]


def test_store_limit_all_sets_the_default_for_new_statistics() -> None:
    """The -all limits apply to every statistic and to those made later."""
    clock = Clock()
    store = StatisticStore(clock)
    for value in range(3):
        store.set("old", value)

    store.limit_count_all(1)
    for value in range(3):
        store.set("new", value)

    assert values(store, "old") == [2]
    assert values(store, "new") == [2]

    store.limit_age_all(60)
    for value in range(3):
        clock.tick(20)
        store.set("later", value)
    clock.tick(50)
    store.set("later", 9)

    assert values(store, "later") == [9, 2]


def test_store_reset_keeps_one_sample_of_zero() -> None:
    """Reset forgets the history and leaves 0; unknown names say so."""
    store = StatisticStore(Clock())
    store.set("x", 4)
    store.set("x", 5)

    assert store.reset("x")
    assert not store.reset("y")
    assert values(store, "x") == [0]


def test_store_reset_all_keeps_limits() -> None:
    """reset-all zeroes every statistic and leaves their limits alone."""
    store = StatisticStore(Clock())
    store.set("x", 4)
    store.limit_count("x", 2)
    store.set("y", 1)

    store.reset_all()
    store.set("x", 1)
    store.set("x", 2)

    assert values(store, "x") == [2, 1]
    assert values(store, "y") == [0]


def test_store_remove_and_remove_all_forget_statistics() -> None:
    """Removed statistics are gone until something records them again."""
    store = StatisticStore(Clock())
    store.set("x", 1)
    store.set("subnet[1].a", 1)
    store.set("subnet[1].b", 1)
    store.set("subnet[12].a", 1)

    assert store.remove("x")
    assert not store.remove("x")
    store.remove_many(["subnet[1].a", "subnet[1].b", "subnet[1].c"])

    assert sorted(store.names()) == ["subnet[12].a"]
    store.remove_all()
    assert len(store) == 0
    assert store.to_json("subnet[12].a") == {}


def test_store_to_json_has_kea_shape() -> None:
    """Samples are [value, "YYYY-MM-DD HH:MM:SS.ffffff"] in local time."""
    clock = Clock(1_700_000_000 * SECOND + 1234)
    store = StatisticStore(clock)
    store.set("x", 1)

    rendered = store.to_json("x")

    expected_time = (
        time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(1_700_000_000)) + ".001234"
    )
    assert rendered == {"x": [[1, expected_time]]}
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", format_time(clock.now)
    )


def test_store_all_to_json_is_sorted_and_can_leave_out_subnets() -> None:
    """get-all lists names in order; the global variant skips subnet[...]."""
    store = StatisticStore(Clock())
    for name in ("subnet[2].b", "b", "subnet[1].a", "a"):
        store.set(name, 0)

    assert list(store.all_to_json()) == ["a", "b", "subnet[1].a", "subnet[2].b"]
    assert list(store.all_to_json(subnets=False)) == ["a", "b"]


def test_store_big_values_are_encoded_exactly() -> None:
    """Values past 64 bits go on the wire as exact JSON integers."""
    store = StatisticStore(Clock())
    store.set("subnet[1].total-nas", 1 << 100)

    data = encode({"arguments": store.to_json("subnet[1].total-nas"), "result": 0})

    assert b"[1267650600228229401496703205376," in data
    # orjson reads it back only approximately; the bytes are what matter.
    assert orjson.loads(data)["result"] == 0


def test_observation_age_limit_never_drops_the_newest_sample() -> None:
    """However old, the newest sample stays."""
    observation = Observation(1, 0, None, 0)

    observation.record(2, 10 * SECOND)

    assert [value for value, _ in observation.samples] == [2]
