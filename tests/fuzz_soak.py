"""The long fuzz run: ``python -m tests.fuzz_soak --cases 100000``.

Runs the checks of tests/test_fuzz.py (random requests to every command on
an engine; random bytes to the framing) for many more cases than the test
suite does, and prints what it ran.  Any failure stops it with hypothesis'
smallest failing example.
"""

from __future__ import annotations

import argparse
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzzkit import requests
from tests.test_fuzz import framings, read_events, run_requests, split_at


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=100_000)
    args = parser.parse_args()
    counted = {"sequences": 0, "requests": 0, "streams": 0}
    options = settings(
        max_examples=args.cases,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )

    @options
    @given(st.lists(requests(), min_size=1, max_size=25))
    def commands(sequence: list[object]) -> None:
        run_requests(sequence)
        counted["sequences"] += 1
        counted["requests"] += len(sequence)

    @options
    @given(
        st.lists(framings, min_size=1, max_size=3),
        st.lists(st.integers(0, 10**6), max_size=6),
    )
    def framing(parts: list[bytes], cuts: list[int]) -> None:
        read_events(split_at(b"".join(parts), cuts))
        counted["streams"] += 1

    started = time.monotonic()
    commands()
    framing()
    print(
        f"fuzz soak passed: {counted['sequences']} command sequences "
        f"({counted['requests']} requests), {counted['streams']} framing streams, "
        f"{time.monotonic() - started:.0f} s"
    )


if __name__ == "__main__":
    main()
