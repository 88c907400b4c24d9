"""Decode control-channel requests as Kea 2.2 does, with its exact error texts.

Theory of operation
-------------------

A control-channel request is one JSON text, already cut out of the byte
stream by the framing layer (which also removed comments).  Kea hands that
text to a small hand-written recursive-descent parser of its own, not to a
standard JSON library, and when the parser gives up the client receives the
parser's message verbatim, for instance::

    {"command": }                 error: unexpected character } in <wire>:0:13
    {"command": "x",}             String expected in <wire>:0:17

leased wants both speed on well-formed requests and those exact texts on
malformed ones, so :func:`decode` has two paths:

1. The fast path is :func:`orjson.loads`.  Almost every real request is
   standard JSON that both parsers read the same way, and orjson's answer is
   returned as is.

2. The slow path is :class:`_Scanner`, a pure-Python walk over the bytes
   that copies the order in which Kea's parser consumes them, including the
   way it counts positions.  It runs when orjson refuses the text, and also
   when the text contains something orjson reads but Kea refuses (see below).
   It either raises :class:`KeaJSONError` carrying Kea's message, or returns
   the value Kea would have built.

Positions.  Kea reports ``<wire>:LINE:COLUMN``.  Both numbers come from two
counters that start at 0 for a request (``line`` and ``pos``).  Every byte
the parser consumes adds one to ``pos``; a newline skipped between tokens
adds one to ``line`` and sets ``pos`` to 1 (so the first byte on a later
line is reported at column 2).  A newline inside a string only adds one to
``pos``.  Reading past the end also adds one to ``pos`` before the "EOF" and
"Unterminated" messages are raised.  Errors about a number, a ``true`` /
``false`` or a ``null`` point at the counter before the token; all others
point at the counter after the offending byte.  The parser skips the ``}``
of an empty map without counting it, so every position after ``{}`` is one
less than the byte offset suggests.  The scanner reproduces all of this.

Where Kea and orjson disagree.  Kea is stricter than standard JSON in two
places that matter to clients, and the fast path looks for both before it
trusts orjson (two substring searches; only a hit runs the scanner):

* ``\\u`` escapes must be ``\\u00XX`` (Kea strings are byte strings).  Any
  other escape, surrogate pairs included, is refused with ``Unsupported
  unicode escape``.
* Integers must fit in a signed 64-bit integer, otherwise ``Number
  overflow: TEXT``.  orjson silently turns larger integers into floats, so
  this check matters.  (Decimals that overflow a double are refused by
  both, and sent to the scanner by orjson's refusal.)

Kea is also more lenient than standard JSON.  These inputs are refused by
orjson but accepted by Kea, and the scanner accepts them too, returning what
Kea would build, so that a request that works against Kea works here: a
trailing comma in a list (``[1,]``, but not ``[1,,]`` and never in a map),
numbers with leading zeros, a leading ``+``, a bare ``.5`` or ``5.``,
backspace and form feed as whitespace between tokens, raw control bytes
(tab, newline, NUL...) inside strings, bytes that are not UTF-8 inside
strings, and anything after the end of the first value.
"""

from __future__ import annotations

import math
import re
from typing import Any

import orjson

__all__ = ["KeaJSONError", "decode"]


# Kea names the source of a request ``<wire>`` in its messages.
_SOURCE = "<wire>"

# The bytes Kea's parser skips between tokens: the JSON four plus backspace
# and form feed.
_WHITESPACE = frozenset(b" \b\f\n\r\t")

# The bytes that start a number, and the bytes Kea then collects into the
# number token before converting it; the token may well not be a number at
# all (``1-2``, ``+``, ``1e``).
_NUMBER_START = frozenset(b"0123456789+-.")
_NUMBER_BYTES = frozenset(b"0123456789+-.eE")

# Kea reads words for ``true``, ``false`` and ``null`` as a run of ASCII
# letters (C locale ``isalpha``) and then compares the whole run.
_LETTERS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")

_HEX_DIGITS = frozenset(b"0123456789ABCDEFabcdef")

# The simple backslash escapes Kea knows, and the byte each one stands for.
_ESCAPES = {
    ord('"'): '"',
    ord("/"): "/",
    ord("\\"): "\\",
    ord("b"): "\b",
    ord("f"): "\f",
    ord("n"): "\n",
    ord("r"): "\r",
    ord("t"): "\t",
}

# What Kea's number conversions accept.  A token without ``.``, ``e`` or
# ``E`` is read as a signed 64-bit integer (an optional sign, then digits,
# nothing else); any other token is read as a double, in the shape the C++
# stream extraction of a double accepts, with nothing left over.
_INTEGER = re.compile(rb"[+-]?[0-9]+")
_DECIMAL = re.compile(rb"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1

# Texts orjson reads but Kea may refuse contain a ``\u`` escape or a run of
# 19 or more digits: the shortest integer outside the signed 64-bit range
# has 19 digits, and orjson would quietly turn it into a float.  Digit runs
# are found by mapping every digit to ``0`` and looking for 19 zeros, which
# is several times faster than a regular expression.  Runs inside strings
# also match; they only cost a needless scan.  Decimals need no check: orjson
# refuses those that overflow a double, exactly as Kea does.
_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_DIGIT_RUN = b"0" * 19

_EOF = -1


class KeaJSONError(ValueError):
    """A request text that Kea's JSON parser refuses.

    ``str()`` of the exception is the exact text Kea 2.2 answers with (as the
    ``text`` of a result-1 answer), position suffix included.  Bytes of the
    request that appear in the message (the unexpected character, for
    instance) appear as the code point of the same value, the way Kea's
    answer escapes them (``\\u00e9`` for the byte 0xE9).

    Attributes:
        reason: The message without its position, e.g. ``String expected``.
        line: The line Kea reports, counted from 0; ``None`` for the one
            message without a position (``nothing read``).
        column: The column Kea reports (see the module docstring for how Kea
            counts it); ``None`` when ``line`` is.
    """

    def __init__(
        self, reason: str, line: int | None = None, column: int | None = None
    ) -> None:
        if line is None or column is None:
            text = reason
        else:
            text = f"{reason} in {_SOURCE}:{line}:{column}"

        # Kea's message travels as a C string, so it ends at a NUL byte, and
        # the position goes with the rest: ``[\0]`` is answered with just
        # ``error: unexpected character ``.
        text = text.partition("\0")[0]
        super().__init__(text)
        self.reason = reason
        self.line = line
        self.column = column


def decode(text: bytes) -> Any:
    """Decode one request text as Kea 2.2 would.

    Args:
        text: The request as cut out by the framing layer, comments removed.

    Returns:
        The decoded value: dicts, lists, str, int, float, bool and None, as
        :func:`orjson.loads` returns them.  Duplicate keys keep the last
        value.

    Raises:
        KeaJSONError: Kea refuses the text; ``str()`` is Kea's message.
    """
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        # Either a real error, whose message only the scanner can give, or
        # one of the inputs Kea accepts beyond standard JSON.
        return _Scanner(text).parse()

    if _kea_may_refuse(text):
        # orjson's value stands unless Kea refuses the text; when Kea
        # accepts, both read the text the same way.
        _Scanner(text).parse()
    return value


def orjson_reading_stands(text: bytes) -> bool:
    """Whether orjson's reading of ``text`` (which orjson accepted) is Kea's.

    False when the text holds something Kea may read differently or refuse
    (a ``\\u`` escape, a very long integer); :func:`decode` must then look.
    Callers that already hold orjson's value use this to skip a second
    decoding.
    """
    return not _kea_may_refuse(text)


def _kea_may_refuse(text: bytes) -> bool:
    """Whether ``text``, which orjson read, holds something Kea may refuse."""
    # ``find`` is faster than ``in`` here, and the single-byte search for a
    # backslash rules most texts out before the two-byte one runs.
    if text.find(b"\\") >= 0 and text.find(b"\\u") >= 0:
        return True
    return text.translate(_DIGITS_TO_ZERO).find(_LONG_DIGIT_RUN) >= 0


def _text_from_bytes(raw: bytes) -> str:
    """Turn the raw bytes of a string into text.

    UTF-8 sequences become their characters, as orjson would make them, so
    the slow path agrees with the fast one.  A byte that is not part of valid
    UTF-8 becomes the code point of the same value, which is how Kea shows
    such a byte back to clients (``\\u00XX``).
    """
    # Limitation: Kea keeps the bytes of a string as they are and shows each
    # byte above 0x7F back as its own code point, so a client that sends the
    # UTF-8 of "é" reads back "Ã©" from Kea, but "é" from leased (here and on
    # orjson's path alike).  Copying Kea would mean reading every string as
    # Latin-1, which would garble every non-ASCII hostname leased stores.
    pieces = []
    while raw:
        try:
            pieces.append(raw.decode("utf-8"))
            break
        except UnicodeDecodeError as error:
            pieces.append(raw[: error.start].decode("utf-8"))
            pieces.append(raw[error.start : error.end].decode("latin-1"))
            raw = raw[error.end :]
    return "".join(pieces)


class _Scanner:
    """A byte-by-byte replay of Kea 2.2's JSON parser.

    It is built from the stream calls Kea's parser is made of: ``_get``
    consumes a byte (or the end) and counts it, ``_peek`` looks without
    consuming, and a bare ``self.index += 1`` consumes without counting,
    where Kea does the same.  Containers are kept on an explicit stack
    instead of Python recursion, so nesting depth is not limited by the
    interpreter (Kea 2.2 has no limit either).
    """

    def __init__(self, text: bytes) -> None:
        self.text = text
        self.index = 0
        self.line = 0
        self.pos = 0

    # Stream primitives.

    def _peek(self) -> int:
        if self.index < len(self.text):
            return self.text[self.index]
        return _EOF

    def _get(self) -> int:
        byte = self._peek()
        if byte != _EOF:
            self.index += 1
        self.pos += 1
        return byte

    def _fail(self, reason: str, pos: int | None = None) -> KeaJSONError:
        return KeaJSONError(reason, self.line, self.pos if pos is None else pos)

    def _skip_whitespace(self) -> None:
        # A newline restarts the column at 1 without counting itself.
        while (byte := self._peek()) in _WHITESPACE:
            self.index += 1
            if byte == 0x0A:
                self.line += 1
                self.pos = 1
            else:
                self.pos += 1

    def _skip_to(self, wanted: bytes) -> int:
        """Consume whitespace, one of ``wanted`` and the whitespace after."""
        expected = wanted.decode()
        byte = self._get()
        while byte != _EOF:
            if byte == 0x0A:
                self.line += 1
                self.pos = 1
            if byte in _WHITESPACE:
                byte = self._get()
            elif byte in wanted:
                self._skip_whitespace()
                return byte
            else:
                raise self._fail(f"'{chr(byte)}' read, one of \"{expected}\" expected")
        raise self._fail(f'EOF read, one of "{expected}" expected')

    # Values.

    def parse(self) -> Any:
        """Parse the first value of the text, as Kea's ``fromWire`` does.

        Returns:
            The value; whatever follows it is ignored, as Kea ignores it.

        Raises:
            KeaJSONError: Kea's parser would stop with this message.
        """
        # Each open container is a [container, pending key] pair; the key is
        # only used for maps.
        stack: list[list[Any]] = []
        while True:
            value, opened = self._value()
            if opened:
                stack.append([value, None])
                if isinstance(value, list):
                    done = self._list_next()
                else:
                    done = self._map_first(stack)
                if not done:
                    continue
                value = stack.pop()[0]

            # Hand the finished value to the containers it closes, until one
            # of them wants another value.
            while True:
                if not stack:
                    return value
                frame = stack[-1]
                container = frame[0]
                if isinstance(container, list):
                    container.append(value)
                    if self._skip_to(b",]") == ord(",") and not self._list_next():
                        break
                else:
                    container[frame[1]] = value
                    if self._skip_to(b",}") == ord(","):
                        frame[1] = self._key()
                        break
                value = stack.pop()[0]

    def _value(self) -> tuple[Any, bool]:
        """Read a scalar, or open a container.

        Returns:
            The scalar and ``False``, or a new empty list or dict (its
            bracket consumed) and ``True``.
        """
        self._skip_whitespace()
        start = self.pos
        byte = self._get()
        if byte in _NUMBER_START:
            self.index -= 1
            self.pos = start
            return self._number(), False
        if byte == ord("t") or byte == ord("f"):
            self.index -= 1
            self.pos = start
            return self._word("boolean", {"true": True, "false": False}), False
        if byte == ord("n"):
            self.index -= 1
            self.pos = start
            return self._word("null", {"null": None}), False
        if byte == ord('"'):
            self.index -= 1
            self.pos = start
            return self._string(), False
        if byte == ord("["):
            return [], True
        if byte == ord("{"):
            return {}, True
        if byte == _EOF:
            raise KeaJSONError("nothing read")
        raise self._fail(f"error: unexpected character {chr(byte)}")

    def _list_next(self) -> bool:
        """After ``[`` or ``,``: consume a ``]`` if one is next.

        Returns:
            Whether the list is closed; otherwise an element follows.
        """
        # After a comma the whitespace is already gone; after the bracket
        # it is skipped here.
        self._skip_whitespace()
        if self._peek() == ord("]"):
            self._get()
            return True
        return False

    def _map_first(self, stack: list[list[Any]]) -> bool:
        """After ``{``: consume a ``}`` or the first key and its ``:``.

        Returns:
            Whether the map is closed (it is empty); otherwise a value
            follows.
        """
        self._skip_whitespace()
        byte = self._peek()
        if byte == _EOF:
            raise self._fail("Unterminated map, <string> or } expected")
        if byte == ord("}"):
            # Kea consumes this brace without counting it.
            self.index += 1
            return True
        stack[-1][1] = self._key()
        return False

    def _key(self) -> str:
        key = self._string()
        self._skip_to(b":")
        return key

    def _string(self) -> str:
        if self._get() != ord('"'):
            raise self._fail("String expected")

        # Raw bytes are gathered in runs and escapes are added as the code
        # point they name, so that ``\u00e9`` reads as orjson reads it.
        pieces: list[str] = []
        run = bytearray()
        byte = self._get()
        while byte != _EOF and byte != ord('"'):
            if byte != ord("\\"):
                run.append(byte)
                byte = self._get()
                continue
            escape = self._peek()
            if escape == ord("u"):
                char = self._unicode_escape()
            elif escape in _ESCAPES:
                char = _ESCAPES[escape]
            else:
                raise self._fail("Bad escape")
            self.index += 1
            self.pos += 1
            pieces.append(_text_from_bytes(bytes(run)))
            pieces.append(char)
            run.clear()
            byte = self._get()
        if byte == _EOF:
            raise self._fail("Unterminated string")
        pieces.append(_text_from_bytes(bytes(run)))
        return "".join(pieces)

    def _unicode_escape(self) -> str:
        """Read ``u00XX`` after a backslash, leaving the last digit unread."""
        # The counter at the backslash; all but the first error point there.
        backslash = self.pos
        for offset in range(2):
            self.index += 1
            self.pos += 1
            if self._peek() != ord("0"):
                raise self._fail("Unsupported unicode escape", self.pos - 2 * offset)
        digits = []
        for _ in range(2):
            self.index += 1
            self.pos += 1
            digit = self._peek()
            if digit not in _HEX_DIGITS:
                raise self._fail("Not hexadecimal in unicode escape", backslash)
            digits.append(digit)
        return chr(int(bytes(digits), 16))

    def _number(self) -> int | float:
        start = self.pos
        end = self.index
        while end < len(self.text) and self.text[end] in _NUMBER_BYTES:
            end += 1
        token = self.text[self.index : end]
        self.pos += end - self.index
        self.index = end

        value: int | float
        if any(byte in b".eE" for byte in token):
            if _DECIMAL.fullmatch(token) is not None:
                value = float(token)
                if math.isfinite(value):
                    return value
        elif _INTEGER.fullmatch(token) is not None:
            value = int(token)
            if _INT64_MIN <= value <= _INT64_MAX:
                return value
        raise self._fail(f"Number overflow: {token.decode()}", start)

    def _word(self, kind: str, spellings: dict[str, Any]) -> Any:
        start = self.pos
        end = self.index
        while end < len(self.text) and self.text[end] in _LETTERS:
            end += 1
        word = self.text[self.index : end].decode()
        self.pos += end - self.index
        self.index = end

        if word in spellings:
            return spellings[word]
        raise self._fail(f"Bad {kind} value: {word}", start)
