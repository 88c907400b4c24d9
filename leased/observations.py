"""Named statistics that keep Kea's samples.

Theory of operation
-------------------

A statistic (Kea calls it an observation) is a name and a short history of
integer samples, newest first, each with the wall-clock time it was taken.
Setting or adding to a statistic records a new sample; the history is then
cut back by the statistic's limit, which is one of two kinds, as in Kea:

* a count limit (``max_samples``): at most that many samples are kept, 20
  unless configured otherwise;
* an age limit (``max_age``, in seconds): samples are dropped from the old
  end while the oldest is more than ``max_age`` older than the newest.  The
  newest sample always stays.

Setting one kind of limit switches the statistic to it.  New statistics get
the store's default limit (``statistic-default-sample-count`` and
``statistic-default-sample-age`` in Kea's configuration).  Adding to a name
that does not exist creates it with the amount added, so a decrement can
create a negative statistic, as in Kea.

Resetting a statistic replaces its history with one sample of 0; removing
it forgets it until something records it again.

Times are integer microseconds since the epoch, rendered in local time as
``YYYY-MM-DD HH:MM:SS.ffffff``, the form Kea answers with.  Values are
Python integers of any size: a pool of IPv6 addresses can hold more than
2**64 of them, and the JSON answer carries the exact number (Kea's newer
versions answer such totals as big integers too).

Recording a sample costs O(1); the store does no I/O and knows nothing of
leases (:mod:`leased.stats` keeps the lease statistics in it).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Final

# Kea's default: keep the 20 newest samples of each statistic.
DEFAULT_MAX_SAMPLES: Final = 20

Sample = tuple[int, int]  # (value, microseconds since the epoch)


def now_us() -> int:
    """The wall-clock time in microseconds since the epoch."""
    return time.time_ns() // 1000


def format_time(us: int) -> str:
    """Render a sample time as Kea does, in local time with microseconds."""
    seconds, fraction = divmod(us, 1_000_000)
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds)) + (
        f".{fraction:06d}"
    )


class Observation:
    """One statistic: its samples, newest first, and its limit.

    ``max_samples`` is the count limit, or ``None`` when the age limit
    ``max_age_us`` (microseconds) applies instead.  Under a count limit the
    samples live in a deque of that maximum length, which drops the oldest
    sample by itself.
    """

    __slots__ = ("max_age_us", "max_samples", "samples")

    def __init__(
        self, value: int, now: int, max_samples: int | None, max_age_us: int
    ) -> None:
        self.samples: deque[Sample] = deque([(value, now)], maxlen=max_samples)
        self.max_samples = max_samples
        self.max_age_us = max_age_us

    @property
    def value(self) -> int:
        """The newest value."""
        return self.samples[0][0]

    def record(self, value: int, now: int) -> None:
        """Add a sample and drop what the limit no longer allows."""
        self.samples.appendleft((value, now))
        if self.max_samples is None:
            self._trim_age()

    def limit_count(self, max_samples: int) -> None:
        """Keep at most ``max_samples`` samples from now on (at least 1)."""
        assert max_samples >= 1, "a statistic keeps at least one sample"
        self.max_samples = max_samples
        self.samples = deque(islice(self.samples, max_samples), maxlen=max_samples)

    def limit_age(self, max_age_us: int) -> None:
        """Keep samples at most ``max_age_us`` older than the newest."""
        assert max_age_us >= 0, "an age limit is not negative"
        self.max_samples = None
        self.max_age_us = max_age_us
        self.samples = deque(self.samples)
        self._trim_age()

    def reset(self, now: int) -> None:
        """Forget the history; keep one sample of 0."""
        self.samples.clear()
        self.samples.append((0, now))

    def _trim_age(self) -> None:
        samples = self.samples
        newest = samples[0][1]
        while len(samples) > 1 and newest - samples[-1][1] > self.max_age_us:
            samples.pop()

    def to_json(self) -> list[list[int | str]]:
        """Kea's form: ``[[value, "time"], ...]``, newest first."""
        return [[value, format_time(when)] for value, when in self.samples]


class StatisticStore:
    """Statistics by name, with the default limit new ones get.

    Args:
        clock: Microseconds since the epoch (tests pass their own).
    """

    def __init__(self, clock: Callable[[], int] = now_us) -> None:
        self.clock = clock
        self._stats: dict[str, Observation] = {}
        self.default_max_samples: int | None = DEFAULT_MAX_SAMPLES
        self.default_max_age_us = 0

    def __contains__(self, name: str) -> bool:
        return name in self._stats

    def __len__(self) -> int:
        return len(self._stats)

    def names(self) -> Iterator[str]:
        """Every statistic's name, in no particular order."""
        return iter(self._stats)

    def get(self, name: str) -> Observation | None:
        """The statistic called ``name``, if there is one."""
        return self._stats.get(name)

    def value(self, name: str) -> int | None:
        """The newest value of ``name``, or None if there is no such one."""
        observation = self._stats.get(name)
        return None if observation is None else observation.value

    # Recording.

    def set(self, name: str, value: int, now: int | None = None) -> None:
        """Record ``value`` as the newest sample of ``name``."""
        when = self.clock() if now is None else now
        observation = self._stats.get(name)
        if observation is None:
            self._stats[name] = Observation(
                value, when, self.default_max_samples, self.default_max_age_us
            )
        else:
            observation.record(value, when)

    def add(self, name: str, amount: int, now: int | None = None) -> None:
        """Record the newest value of ``name`` plus ``amount``.

        A statistic that does not exist is created with ``amount``.
        """
        when = self.clock() if now is None else now
        observation = self._stats.get(name)
        if observation is None:
            self._stats[name] = Observation(
                amount, when, self.default_max_samples, self.default_max_age_us
            )
        else:
            observation.record(observation.samples[0][0] + amount, when)

    def create(self, name: str, now: int | None = None) -> None:
        """Make ``name`` exist with the value 0, unless it exists already."""
        if name not in self._stats:
            self.set(name, 0, now)

    # The statistic-* commands.

    def reset(self, name: str) -> bool:
        """Reset ``name`` to 0; False if there is no such statistic."""
        observation = self._stats.get(name)
        if observation is None:
            return False
        observation.reset(self.clock())
        return True

    def reset_all(self) -> None:
        """Reset every statistic to 0."""
        now = self.clock()
        for observation in self._stats.values():
            observation.reset(now)

    def remove(self, name: str) -> bool:
        """Forget ``name``; False if there is no such statistic."""
        return self._stats.pop(name, None) is not None

    def remove_many(self, names: Iterable[str]) -> None:
        """Forget each of ``names`` that exists."""
        for name in names:
            self._stats.pop(name, None)

    def remove_all(self) -> None:
        """Forget every statistic."""
        self._stats.clear()

    def limit_count(self, name: str, max_samples: int) -> bool:
        """Give ``name`` a count limit; False if there is no such statistic."""
        observation = self._stats.get(name)
        if observation is None:
            return False
        observation.limit_count(max_samples)
        return True

    def limit_age(self, name: str, max_age: int) -> bool:
        """Give ``name`` an age limit (seconds); False if it does not exist."""
        observation = self._stats.get(name)
        if observation is None:
            return False
        observation.limit_age(max_age * 1_000_000)
        return True

    def limit_count_all(self, max_samples: int) -> None:
        """Make a count limit the default and give it to every statistic."""
        self.default_max_samples = max_samples
        for observation in self._stats.values():
            observation.limit_count(max_samples)

    def limit_age_all(self, max_age: int) -> None:
        """Make an age limit (seconds) the default and give it to every one."""
        self.default_max_samples = None
        self.default_max_age_us = max_age * 1_000_000
        for observation in self._stats.values():
            observation.limit_age(self.default_max_age_us)

    # Answers.

    def to_json(self, name: str) -> dict[str, list[list[int | str]]]:
        """``{name: samples}``, or ``{}`` when there is no such statistic."""
        observation = self._stats.get(name)
        return {} if observation is None else {name: observation.to_json()}

    def all_to_json(self, *, subnets: bool = True) -> dict[str, list[list[int | str]]]:
        """Every statistic by name (sorted, as Kea lists them).

        Args:
            subnets: False leaves out the per-subnet (and per-pool) ones,
                whose names start with ``subnet``.
        """
        return {
            name: self._stats[name].to_json()
            for name in sorted(self._stats)
            if subnets or not name.startswith("subnet")
        }
