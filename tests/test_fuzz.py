"""Hostile input: random requests to every command, random bytes to the
framing, random streams to a real daemon.  Every request gets a well-formed
answer or a clean close, nothing raises, the daemon lives, and the tables
stay consistent with their indexes.  ``python -m tests.fuzz_soak`` runs the
same checks for many more cases."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leased import config
from leased.commands import build_registry
from leased.engine import Engine, State
from leased.harness import run_leased
from leased.protocol import (
    NEED_DATA,
    BatchEnd,
    BatchItem,
    BatchStart,
    FramingError,
    Request,
    RequestReader,
)
from tests.conftest import KEA_TEST_CONFIG, NOW
from tests.fuzzkit import check_answer, check_tables, json_values, requests

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def fresh_engine() -> Engine:
    return Engine(
        State(config.build(KEA_TEST_CONFIG), clock=lambda: NOW), build_registry()
    )


def run_requests(sequence: list[Any]) -> Engine:
    """Run requests on a fresh engine, checking each answer."""
    engine = fresh_engine()
    for request in sequence:
        check_answer(engine.execute(request))
    check_tables(engine)
    return engine


@FUZZ
@given(st.lists(requests(), max_size=25))
def test_fuzz_commands_always_answer_and_keep_tables_consistent(
    sequence: list[Any],
) -> None:
    run_requests(sequence)


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({cut % (len(data) + 1) for cut in cuts})
    pieces = []
    last = 0
    for point in [*points, len(data)]:
        pieces.append(data[last:point])
        last = point
    return [piece for piece in pieces if piece]


def read_events(pieces: list[bytes]) -> list[Any]:
    """Feed pieces to a reader as a server would; return the events."""
    reader = RequestReader(max_request_size=1 << 16, max_depth=50)
    events: list[Any] = []
    for piece in pieces:
        reader.feed(piece)
        while True:
            event = reader.next_event()
            if event is NEED_DATA:
                break
            events.append(event)
            if isinstance(event, Request | FramingError | BatchEnd):
                return events
    return events


framings = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda value: json.dumps(value).encode()),
    st.lists(json_values, max_size=5).map(lambda value: json.dumps(value).encode()),
    st.text(alphabet='{}[]",:/*#\n \\ab01', max_size=200).map(str.encode),
)


@FUZZ
@given(
    st.lists(framings, min_size=1, max_size=3),
    st.lists(st.integers(0, 10**6), max_size=6),
)
def test_fuzz_framing_never_raises_and_ends_cleanly(
    parts: list[bytes], cuts: list[int]
) -> None:
    data = b"".join(parts)

    events = read_events(split_at(data, cuts))

    kinds = (Request, FramingError, BatchStart, BatchItem, BatchEnd)
    assert all(isinstance(event, kinds) for event in events)
    if events and isinstance(events[0], BatchStart):
        assert all(isinstance(event, BatchItem) for event in events[1:-1])
    else:
        assert len(events) <= 1


@given(json_values, st.lists(st.integers(0, 10**6), max_size=6))
@FUZZ
def test_fuzz_framing_splits_do_not_change_the_request(
    value: Any, cuts: list[int]
) -> None:
    data = json.dumps({"command": "x", "arguments": value}).encode()

    whole = read_events([data])
    split = read_events(split_at(data, cuts))

    assert [type(event) for event in split] == [type(event) for event in whole]


def exchange(path: str, pieces: list[bytes]) -> bytes:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(path)
        try:
            for piece in pieces:
                sock.sendall(piece)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the daemon may close first, having answered
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except ConnectionResetError:
            pass
        return b"".join(chunks)


def test_fuzz_daemon_survives_random_streams(tmp_path: Path) -> None:
    cases = st.lists(framings, min_size=1, max_size=3).flatmap(
        lambda parts: st.tuples(
            st.just(b"".join(parts)), st.lists(st.integers(0, 10**6), max_size=4)
        )
    )
    with run_leased(KEA_TEST_CONFIG, tmp_path) as daemon:

        @settings(max_examples=60, deadline=None, database=None)
        @given(cases)
        def one(case: tuple[bytes, list[int]]) -> None:
            data, cuts = case
            reply = exchange(daemon.socket_path, split_at(data, cuts))
            if reply:
                answer = orjson.loads(reply)
                for item in answer if isinstance(answer, list) else [answer]:
                    check_answer(item)

        one()
        alive = daemon.command("version-get")

    assert alive["result"] == 0
    assert daemon.process.returncode == 0
