"""Framing of requests, with plain bytes and no event loop."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from leased.protocol import (
    NEED_DATA,
    NOT_DECODED,
    BatchEnd,
    BatchItem,
    BatchStart,
    FramingError,
    Request,
    RequestReader,
)


def events(*chunks: bytes, **limits: int) -> list[object]:
    """Feed ``chunks`` one by one and collect every event."""
    reader = RequestReader(**limits)
    out: list[object] = []
    for chunk in chunks:
        reader.feed(chunk)
        while (event := reader.next_event()) is not NEED_DATA:
            out.append(event)
    return out


def texts(found: list[object]) -> list[object]:
    return [getattr(event, "text", type(event).__name__) for event in found]


def test_protocol_whole_request_in_one_read_is_decoded_at_once() -> None:
    (event,) = events(b'{"command": "version-get"}')

    assert isinstance(event, Request)
    assert event.value == {"command": "version-get"}


def test_protocol_request_split_anywhere_gives_the_same_text() -> None:
    data = b'{"command": "x", "arguments": {"s": "a}\\"b", "n": [1, {"m": 2}]}}'
    for cut in range(1, len(data)):
        assert texts(events(data[:cut], data[cut:])) == [data]


def test_protocol_bytes_after_the_request_are_ignored() -> None:
    assert texts(events(b'{"command": "x"}trailing garbage')) == [b'{"command": "x"}']


def test_protocol_comments_are_removed_keeping_newlines() -> None:
    data = b'# lead\n// lead\n/* lead */ {"a": /* in\nside */ 1, # end\n "b": "#//"}'

    (event,) = events(data)

    assert isinstance(event, Request)
    assert orjson.loads(event.text) == {"a": 1, "b": "#//"}
    assert event.text.count(b"\n") == 2


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (b"x", "invalid first character x"),
        (b' "x"', 'invalid character "'),
        (b"\n1", "invalid character 1"),
        (b"/x", "invalid characters /x"),
        (b'{"a": /x}', "invalid characters /x"),
    ],
)
def test_protocol_bad_start_is_refused_with_kea_text(data: bytes, text: str) -> None:
    assert texts(events(data)) == [text]


def test_protocol_nesting_past_the_limit_is_refused() -> None:
    (event,) = events(b"{" + b'"a":[' * 100_000, max_depth=100)

    assert isinstance(event, FramingError)
    assert "nested too deeply" in event.text


def test_protocol_nesting_at_the_limit_is_accepted() -> None:
    data = b'{"a":' * 99 + b"[1]" + b"}" * 99

    (event,) = events(data, max_depth=100)

    assert isinstance(event, Request)


def test_protocol_oversized_request_is_refused_without_waiting_for_its_end() -> None:
    found = events(b'{"a": "', b"x" * 5000, max_request_size=4096)

    assert len(found) == 1
    assert isinstance(found[0], FramingError)
    assert "larger than the limit of 4096 bytes" in found[0].text


def test_protocol_batch_yields_items_one_by_one() -> None:
    found = events(b'[{"command": "a"}, {"command": "b"} ,', b' 7, "s" ]')

    assert texts(found) == [
        "BatchStart",
        b'{"command": "a"}',
        b'{"command": "b"}',
        b"7",
        b'"s"',
        "BatchEnd",
    ]


def test_protocol_batch_item_is_handed_out_before_the_list_ends() -> None:
    reader = RequestReader()
    reader.feed(b'[{"command": "a"}, {"comm')

    assert isinstance(reader.next_event(), BatchStart)
    item = reader.next_event()
    assert isinstance(item, BatchItem)
    assert item.value == {"command": "a"}
    assert reader.next_event() is NEED_DATA


def test_protocol_empty_batch() -> None:
    assert texts(events(b"[ ]")) == ["BatchStart", "BatchEnd"]


@pytest.mark.parametrize("data", [b"[,]", b'[{"a": 1},]', b'[{"a": 1} {"b": 2}]'])
def test_protocol_broken_batch_list_ends_with_an_error(data: bytes) -> None:
    found = events(data)

    assert isinstance(found[0], BatchStart)
    assert isinstance(found[-1], FramingError)
    assert not any(isinstance(event, BatchEnd) for event in found)


def test_protocol_batch_memory_stays_bounded() -> None:
    """A long batch stream only ever buffers about one element."""
    reader = RequestReader(max_request_size=1024)
    reader.feed(b"[")
    assert isinstance(reader.next_event(), BatchStart)
    item = b'{"command": "version-get"}, '
    for _ in range(20_000):
        reader.feed(item)
        assert isinstance(reader.next_event(), BatchItem)
        assert len(reader._buf) < (1 << 16) + 1024
    reader.feed(b'{"command": "x"}]')
    assert isinstance(reader.next_event(), BatchItem)
    assert isinstance(reader.next_event(), BatchEnd)


def test_protocol_partial_size_excludes_leading_junk() -> None:
    reader = RequestReader()
    reader.feed(b'  # comment\n{"command": ')

    assert reader.next_event() is NEED_DATA
    assert reader.partial_size() == len(b'{"command": ')


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**60), 2**60) | st.text(),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=20,
)


@given(st.dictionaries(st.text(max_size=8), json_values, max_size=5), st.data())
def test_protocol_any_map_split_anywhere_frames_to_itself(
    value: dict, data: st.DataObject
) -> None:
    encoded = orjson.dumps(value)
    cut = data.draw(st.integers(0, len(encoded)))

    (event,) = events(encoded[:cut], encoded[cut:])

    assert isinstance(event, Request)
    assert orjson.loads(event.text) == value


@given(st.binary(max_size=200))
def test_protocol_random_bytes_never_raise(data: bytes) -> None:
    found = events(data, max_request_size=100, max_depth=5)

    assert all(
        isinstance(event, Request | BatchStart | BatchItem | BatchEnd | FramingError)
        for event in found
    )


@pytest.mark.parametrize(
    "element",
    [
        b'{"a": "}}}}}}", "b": {"c": "}"}}',
        b'{"a": /* } */ 1}',
        b'{"a": 1 # }\n}',
        b'{"a": "\\u00e9"}',
        b'{"a": 123456789012345678901234567890}',
    ],
)
def test_protocol_batch_element_fast_path_falls_back_safely(element: bytes) -> None:
    """Elements the orjson shortcut cannot take still frame to themselves."""
    found = events(b"[" + element + b", " + element + b"]")

    items = [event for event in found if isinstance(event, BatchItem)]
    assert len(items) == 2
    for item in items:
        assert item.value is NOT_DECODED or item.value == orjson.loads(item.text)
        assert item.text.startswith(b"{") and item.text.endswith(b"}")
    assert isinstance(found[-1], BatchEnd)
