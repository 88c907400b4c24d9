"""JSON on the wire: answers out, and Kea's compact text form of values.

Answers are encoded with orjson: compact, UTF-8, keys in the order the
handlers build them (sorted, as Kea prints them).  Any JSON client reads them;
the byte layout differs from Kea's spaced rendering, which no client relies
on.

Kea's own rendering of a value (``{ "a": 1, "b": [ 1, 2 ] }``: sorted keys,
``", "`` and ``": "`` separators, spaces inside brackets, ``[  ]`` for an
empty list) still matters in two places: inside some error texts, which quote
the offending value, and in the lease file's ``user_context`` column, which
Kea writes and reads in that form.  :func:`render` produces it.

This module does no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Final

import attrs
import orjson

# Leases rendered and encoded at a time in a streamed list: about 250 KB.
CHUNK_LEASES: Final = 1000


@attrs.frozen
class LeaseList:
    """The leases of an answer, rendered to JSON only as they are sent.

    lease4-get-all of a large table would otherwise need a dict per lease
    and then the whole encoded answer in memory at once.  The lease records
    are immutable, so holding them here is a consistent snapshot even when
    other commands change the table while the answer is being written.
    """

    leases: Sequence[Any]
    to_json: Callable[[Any], dict[str, Any]]

    def __len__(self) -> int:
        return len(self.leases)

    def chunks(self) -> Iterator[bytes]:
        """The encoded JSON list, in pieces."""
        to_json = self.to_json
        leases = self.leases
        if not leases:
            yield b"[]"
            return
        for start in range(0, len(leases), CHUNK_LEASES):
            part = orjson.dumps(
                [to_json(lease) for lease in leases[start : start + CHUNK_LEASES]]
            )
            # Each piece is a JSON list; strip its brackets and join them
            # with commas into one list.
            opening = b"[" if start == 0 else b","
            closing = b"]" if start + CHUNK_LEASES >= len(leases) else b""
            yield opening + part[1:-1] + closing


def streamed(answer: Any) -> LeaseList | None:
    """The lease list of an answer that is sent in pieces, if it has one."""
    if type(answer) is dict:
        arguments = answer.get("arguments")
        if type(arguments) is dict:
            leases = arguments.get("leases")
            if type(leases) is LeaseList:
                return leases
    return None


def encode_parts(answer: dict[str, Any]) -> Iterator[bytes]:
    """Encode an answer holding a :class:`LeaseList` piece by piece.

    Such an answer is ``{"arguments": {"leases": ...}, "result": ...,
    "text": ...}``, as the list-returning handlers build it.
    """
    leases = answer["arguments"]["leases"]
    assert list(answer["arguments"]) == ["leases"], "only a lease list streams"
    yield b'{"arguments":{"leases":'
    yield from leases.chunks()
    rest = {key: value for key, value in answer.items() if key != "arguments"}
    yield b"}," + orjson.dumps(rest)[1:]


def encode(answer: Any) -> bytes:
    """Encode an answer (or any JSON value) for the wire, whole.

    orjson handles integers of up to 64 bits; an answer holding a larger one
    (the size of a large IPv6 pool, in the statistics) goes through the
    standard library's encoder instead, which writes it exactly.
    """
    if streamed(answer) is not None:
        return b"".join(encode_parts(answer))
    try:
        return orjson.dumps(answer)
    except orjson.JSONEncodeError:
        return json.dumps(answer, ensure_ascii=False, separators=(",", ":")).encode()


def render(value: Any) -> str:
    """Kea's compact text form of a JSON value."""
    if isinstance(value, dict):
        if not value:
            return "{  }"
        items = ", ".join(
            f"{_string(key)}: {render(value[key])}" for key in sorted(value)
        )
        return "{ " + items + " }"
    if isinstance(value, list):
        if not value:
            return "[  ]"
        return "[ " + ", ".join(render(item) for item in value) + " ]"
    if isinstance(value, str):
        return _string(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _string(text: str) -> str:
    """Quote a string as Kea does: one ``\\u00XX`` escape per byte."""
    out = ['"']
    for byte in text.encode():
        if byte == 0x22:
            out.append('\\"')
        elif byte == 0x5C:
            out.append("\\\\")
        elif byte == 0x08:
            out.append("\\b")
        elif byte == 0x0C:
            out.append("\\f")
        elif byte == 0x0A:
            out.append("\\n")
        elif byte == 0x0D:
            out.append("\\r")
        elif byte == 0x09:
            out.append("\\t")
        elif byte < 0x20 or byte >= 0x7F:
            out.append(f"\\u{byte:04x}")
        else:
            out.append(chr(byte))
    out.append('"')
    return "".join(out)
