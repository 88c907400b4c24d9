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

from typing import Any

import orjson


def encode(answer: Any) -> bytes:
    """Encode an answer (or any JSON value) for the wire."""
    return orjson.dumps(answer)


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
