"""Framing of the control channel: where a request ends, and the batch list.

Theory of operation
-------------------

A connection carries one request, as with Kea.  The request is the first
JSON value on the connection; the reader decides only where it ends and
leaves decoding to :mod:`leased.kea_json`.  It follows Kea's rules:

1. Whitespace and comments (``# ...``, ``// ...`` to the end of the line,
   ``/* ... */``) before the value are skipped.
2. The first significant byte must be ``{`` or ``[``.  Anything else is an
   error whose text names the byte (``invalid first character X`` when it is
   the very first byte of the connection, ``invalid character X`` after
   whitespace or comments, ``invalid characters /X`` for a lone slash).
3. Brackets are counted outside strings; inside a string a backslash escapes
   the next byte.  Comments inside the value are cut out, keeping their
   newlines.  When the count returns to zero the request is complete, and
   any bytes after it are ignored.

A request whose first significant byte is ``[`` is a *batch* (an extension
no Kea has): a list of commands.  The reader hands out its elements one by
one as :class:`BatchItem` events, between a :class:`BatchStart` and a
:class:`BatchEnd`, so the server can answer each command as soon as it is
complete and memory stays bounded by one element, however long the list.

Two limits protect the daemon: ``max_request_size`` bounds the bytes of one
request (or of one batch element), and ``max_depth`` bounds bracket nesting
(Kea 2.2 crashes on a very deeply nested request).  Breaking either ends the
request with a :class:`FramingError`.

The reader is sans-io: :meth:`RequestReader.feed` takes bytes,
:meth:`RequestReader.next_event` returns the next event or
:data:`NEED_DATA`.  It never touches a socket.

Fast path: a one-shot client usually delivers its whole request in the first
read.  When the first bytes of a connection start with ``{`` and decode as
one JSON value, the reader hands that value over without scanning, which
roughly halves the framing cost of a one-shot command.
"""

from __future__ import annotations

import re
from typing import Any, Final

import attrs
import orjson

from leased import kea_json

__all__ = [
    "NEED_DATA",
    "BatchEnd",
    "BatchItem",
    "BatchStart",
    "FramingError",
    "Request",
    "RequestReader",
]


class _NeedData:
    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA: Final = _NeedData()
NOT_DECODED: Final = object()


@attrs.frozen
class Request:
    """A complete single request: its text, and its value if decoded."""

    text: bytes
    value: Any = NOT_DECODED


@attrs.frozen
class BatchStart:
    """The request is a list of commands; items follow."""


@attrs.frozen
class BatchItem:
    """One element of a batch list, as text."""

    text: bytes
    value: Any = NOT_DECODED


@attrs.frozen
class BatchEnd:
    """The batch list closed."""


@attrs.frozen
class FramingError:
    """The request cannot be framed; answer with ``text`` and close."""

    text: str


Event = Request | BatchStart | BatchItem | BatchEnd | FramingError | _NeedData

_WHITESPACE: Final = b" \t\r\n"
# Bytes that matter outside strings while scanning a value.
_STRUCTURAL: Final = re.compile(rb'[\[\]{}"#/]')
# Bytes that matter inside a string.
_IN_STRING: Final = re.compile(rb'["\\]')
# Where a bare scalar batch element (a number, ``true``...) ends.
_SCALAR_END: Final = re.compile(rb'[\s,\[\]{}"#/]')

# Reader modes.
_LEADING: Final = 0  # before the first significant byte
_VALUE: Final = 1  # inside a value (the single request or a batch element)
_GAP: Final = 2  # in a batch, where an element or "]" is expected
_AFTER: Final = 3  # in a batch, after an element: "," or "]" expected
_AFTER_COMMA: Final = 4  # in a batch, after ",": an element is expected
_DONE: Final = 5  # nothing more will be read

# Consumed bytes kept in the buffer before it is compacted.
_COMPACT_AT: Final = 1 << 16
# How many candidate ends the batch element fast path tries.
_FAST_TRIES: Final = 4

DEFAULT_MAX_REQUEST_SIZE: Final = 64 << 20
DEFAULT_MAX_DEPTH: Final = 100


def _char(byte: int) -> str:
    return chr(byte)


def _checked(text: bytes, value: Any) -> Any:
    """orjson's value of ``text``, unless Kea might read ``text`` otherwise."""
    return value if kea_json.orjson_reading_stands(text) else NOT_DECODED


class _Refused(Exception):
    """Raised inside the scanner when the request cannot be framed."""


class RequestReader:
    """Turns the bytes of one connection into request events.

    Args:
        max_request_size: Most bytes one request or batch element may have.
        max_depth: Deepest bracket nesting allowed inside one request or
            batch element.
    """

    def __init__(
        self,
        *,
        max_request_size: int = DEFAULT_MAX_REQUEST_SIZE,
        max_depth: int = DEFAULT_MAX_DEPTH,
    ) -> None:
        self.max_request_size = max_request_size
        self.max_depth = max_depth
        # Where the bytes come from (the server puts its control socket's
        # path here); framing does not use it.
        self.origin: str | None = None
        self._buf = bytearray()
        self._pos = 0
        self._mode = _LEADING
        self._first_byte = True
        self._comment: bytes | None = None  # b"\n" or b"*/" while in a comment
        self._comment_start = 0
        self._pending: list[Event] = []
        self._batch = False
        # State of the value being scanned.
        self._start = 0
        self._depth = 0
        self._in_string = False
        self._scalar = False
        self._cuts: list[tuple[int, int]] = []

    @property
    def done(self) -> bool:
        """True once the request (or the batch) is complete or failed."""
        return self._mode == _DONE and not self._pending

    def partial_size(self) -> int:
        """Bytes of the request collected so far (leading junk excluded)."""
        if self._mode == _LEADING:
            return 0
        return len(self._buf) - self._start

    def feed(self, data: bytes) -> None:
        """Add bytes received from the peer."""
        if self._mode == _DONE:
            return
        if (
            self._mode == _LEADING
            and not self._buf
            and data[:1] == b"{"
            and len(data) <= self.max_request_size
            and data.count(b"{") + data.count(b"[") <= self.max_depth
        ):
            # The fast path described in the module text.
            try:
                value = orjson.loads(data)
            except orjson.JSONDecodeError:
                pass
            else:
                self._pending.append(Request(data, _checked(data, value)))
                self._mode = _DONE
                return
        self._buf += data

    def next_event(self) -> Event:
        """The next event, or :data:`NEED_DATA` when more bytes are needed."""
        if self._pending:
            return self._pending.pop(0)
        if self._mode == _DONE:
            return NEED_DATA
        return self._scan()

    # The scanner.  Each step consumes what it can and returns an event, or
    # NEED_DATA with the position left where scanning must resume.

    def _fail(self, text: str) -> FramingError:
        self._mode = _DONE
        self._buf = bytearray()
        return FramingError(text)

    def _scan(self) -> Event:
        try:
            return self._scan_steps()
        except _Refused as refused:
            return self._fail(str(refused))

    def _scan_steps(self) -> Event:
        while True:
            if self._mode == _VALUE:
                return self._scan_value()
            if not self._skip_junk():
                return NEED_DATA
            byte = self._buf[self._pos]
            if self._mode == _LEADING:
                first = self._first_byte and self._pos == 0
                self._first_byte = False
                if byte == ord("{"):
                    self._begin_value()
                    continue
                if byte == ord("["):
                    self._batch = True
                    self._pos += 1
                    self._mode = _GAP
                    self._compact()
                    return BatchStart()
                name = "invalid first character" if first else "invalid character"
                return self._fail(f"{name} {_char(byte)}")
            if self._mode == _GAP and byte == ord("]"):
                self._pos += 1
                self._mode = _DONE
                return BatchEnd()
            if self._mode in (_GAP, _AFTER_COMMA):
                if byte in (ord("]"), ord(",")):
                    return self._fail(f"invalid character {_char(byte)} in batch list")
                self._begin_value()
                if byte == ord("{"):
                    item = self._fast_item()
                    if item is not None:
                        return item
                continue
            # After an element: "," or "]".
            if byte == ord(","):
                self._pos += 1
                self._mode = _AFTER_COMMA
                continue
            if byte == ord("]"):
                self._pos += 1
                self._mode = _DONE
                return BatchEnd()
            return self._fail(
                f"invalid character {_char(byte)} after a batch element, expected , or ]"
            )

    def _skip_junk(self) -> bool:
        """Skip whitespace and comments; True if a significant byte is next."""
        buf = self._buf
        while True:
            if self._comment is not None:
                end = buf.find(self._comment, self._pos)
                if end < 0:
                    # Keep only what is needed to find a terminator split
                    # across reads.
                    self._pos = max(self._pos, len(buf) - len(self._comment) + 1)
                    self._compact()
                    return False
                self._pos = end + len(self._comment)
                self._comment = None
                self._first_byte = False
                continue
            pos = self._pos
            while pos < len(buf) and buf[pos] in _WHITESPACE:
                pos += 1
            if pos > self._pos:
                self._first_byte = False
            self._pos = pos
            if pos >= len(buf):
                self._compact()
                return False
            byte = buf[pos]
            if byte == ord("#"):
                self._comment = b"\n"
                self._pos = pos + 1
                continue
            if byte == ord("/"):
                if pos + 1 >= len(buf):
                    self._compact()
                    return False
                following = buf[pos + 1]
                if following == ord("/"):
                    self._comment = b"\n"
                elif following == ord("*"):
                    self._comment = b"*/"
                else:
                    raise _Refused(f"invalid characters /{_char(following)}")
                self._pos = pos + 2
                continue
            return True

    def _compact(self) -> None:
        """Drop consumed bytes outside a value, once there are enough.

        Dropping shifts the rest of the buffer, so doing it after every batch
        element would cost a copy of the whole read per element; past a
        threshold it costs a copy per ``_COMPACT_AT`` bytes consumed.
        """
        if self._pos >= _COMPACT_AT or self._pos == len(self._buf):
            del self._buf[: self._pos]
            self._pos = 0

    def _begin_value(self) -> None:
        self._compact()
        self._mode = _VALUE
        self._start = self._pos
        self._depth = 0
        self._in_string = False
        self._cuts = []
        byte = self._buf[self._pos]
        self._scalar = byte not in (ord("{"), ord("["), ord('"'))

    def _fast_item(self) -> BatchItem | None:
        """Cut out a batch element by letting orjson find where it ends.

        The element starts at ``self._start`` with ``{``.  Each ``}`` that
        balances the braces before it is a candidate end; the first candidate
        whose prefix decodes as JSON is the end, since a valid JSON map
        closes exactly where its brackets balance.  This decodes the element
        at the same time, at C speed.  A few failed candidates (braces in
        strings, comments, an element not all here yet) hand over to the
        scanner.
        """
        buf = self._buf
        start = self._start
        end = buf.find(b"}", start)
        tries = 0
        while end >= 0 and tries < _FAST_TRIES:
            if end - start >= self.max_request_size:
                return None
            # Only a brace that balances the braces before it can end the
            # map (braces inside strings can fool this, and then orjson
            # refuses the candidate).
            if buf.count(b"{", start, end) != buf.count(b"}", start, end + 1):
                end = buf.find(b"}", end + 1)
                continue
            tries += 1
            text = bytes(buf[start : end + 1])
            try:
                value = orjson.loads(text)
            except orjson.JSONDecodeError:
                end = buf.find(b"}", end + 1)
                continue
            if text.count(b"{") + text.count(b"[") > self.max_depth:
                return None
            self._pos = end + 1
            self._mode = _AFTER
            self._compact()
            return BatchItem(text, _checked(text, value))
        return None

    def _scan_value(self) -> Event:
        buf = self._buf
        pos = self._pos
        while True:
            if self._in_string:
                match = _IN_STRING.search(buf, pos)
                if match is None:
                    self._pos = len(buf)
                    return self._need_more()
                at = match.start()
                if buf[at] == ord("\\"):
                    if at + 1 >= len(buf):
                        self._pos = at
                        return self._need_more()
                    pos = at + 2
                    continue
                self._in_string = False
                pos = at + 1
                if self._depth == 0:
                    return self._finish(pos)
                continue
            if self._scalar:
                match = _SCALAR_END.search(buf, pos)
                if match is None:
                    self._pos = len(buf)
                    return self._need_more()
                return self._finish(match.start())
            match = _STRUCTURAL.search(buf, pos)
            if match is None:
                self._pos = len(buf)
                return self._need_more()
            at = match.start()
            byte = buf[at]
            pos = at + 1
            if byte == ord('"'):
                self._in_string = True
            elif byte in (ord("{"), ord("[")):
                self._depth += 1
                if self._depth > self.max_depth:
                    return self._fail(
                        f"elements nested too deeply: the limit is {self.max_depth} levels"
                    )
            elif byte in (ord("}"), ord("]")):
                self._depth -= 1
                if self._depth == 0:
                    return self._finish(pos)
            elif byte == ord("#"):
                end = buf.find(b"\n", pos)
                if end < 0:
                    self._pos = at
                    return self._need_more()
                self._cuts.append((at, end))
                pos = end
            else:  # "/"
                if at + 1 >= len(buf):
                    self._pos = at
                    return self._need_more()
                following = buf[at + 1]
                if following == ord("/"):
                    end = buf.find(b"\n", at + 2)
                    if end < 0:
                        self._pos = at
                        return self._need_more()
                    self._cuts.append((at, end))
                    pos = end
                elif following == ord("*"):
                    end = buf.find(b"*/", at + 2)
                    if end < 0:
                        self._pos = at
                        return self._need_more()
                    # Keep the newlines of a block comment, as Kea does, so
                    # that line numbers in error texts stay right.
                    self._cuts.append((at, end + 2))
                    newlines = buf.count(b"\n", at, end)
                    if newlines:
                        buf[at : end + 2] = b"\n" * newlines + b" " * (
                            end + 2 - at - newlines
                        )
                        self._cuts[-1] = (at + newlines, end + 2)
                    pos = end + 2
                else:
                    return self._fail(f"invalid characters /{_char(following)}")

    def _need_more(self) -> Event:
        if len(self._buf) - self._start > self.max_request_size:
            return self._fail(
                f"request is larger than the limit of {self.max_request_size} bytes"
            )
        return NEED_DATA

    def _finish(self, end: int) -> Event:
        buf = self._buf
        if end - self._start > self.max_request_size:
            return self._fail(
                f"request is larger than the limit of {self.max_request_size} bytes"
            )
        if self._cuts:
            pieces = []
            last = self._start
            for cut_from, cut_to in self._cuts:
                pieces.append(buf[last:cut_from])
                last = cut_to
            pieces.append(buf[last:end])
            text = b"".join(pieces)
        else:
            text = bytes(buf[self._start : end])
        self._pos = end
        if self._batch:
            self._mode = _AFTER
            self._compact()
            return BatchItem(text)
        self._mode = _DONE
        self._buf = bytearray()
        return Request(text)
