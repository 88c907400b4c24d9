"""``key=value`` words to a command's ``arguments`` map.

The rules, meant to do what a person typing a command expects:

* ``key=value``: the value is read as JSON when it is a JSON number,
  ``true``, ``false``, ``null``, a quoted string, a list or a map, and is
  sent as a string otherwise.  ``valid-lft=3600`` sends the number 3600,
  ``fqdn-fwd=true`` a boolean, ``subnets=[1,2]`` a list, and
  ``hostname=printer.example.org`` a string.
* Parameters that Kea's commands always take as text (:data:`TEXT_KEYS`:
  ``hostname``, ``client-id``, ``duid``, ``identifier``, ...) keep what was
  typed as a string even when it looks like a number, so ``client-id=0102``
  and ``hostname=1234`` arrive as Kea expects them.
* ``key:=value`` always reads the value as JSON (``hostname:=null`` sends
  null), and fails when it is not JSON.
* A word that is a JSON map (``'{"ip-address": "192.0.2.1"}'``) gives
  arguments wholesale; ``key=value`` words after it add to it.

No command name appears here: any command, including ones the daemon
learns later, takes its arguments the same way.

This module does no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Final

__all__ = ["TEXT_KEYS", "ArgumentError", "build_arguments", "parse_value"]

# Parameters whose value is text in every Kea command that takes them, even
# when it looks like a number: identifiers written as hex, names, words.
TEXT_KEYS: Final = frozenset(
    {
        "client-id",
        "comment",
        "duid",
        "filename",
        "from",
        "hostname",
        "hw-address",
        "identifier",
        "identifier-type",
        "ip-address",
        "name",
        "prefix",
        "server-tag",
        "type",
    }
)


class ArgumentError(ValueError):
    """A word that does not make an argument; the text says which and why."""


def _constant(name: str) -> Any:
    """Refuse ``NaN`` and ``Infinity``, which are not JSON."""
    raise ValueError(name)


def parse_value(text: str) -> tuple[bool, Any]:
    """Read ``text`` as JSON: ``(True, value)``, or ``(False, None)``."""
    try:
        return True, json.loads(text, parse_constant=_constant)
    except ValueError:
        return False, None


def build_arguments(words: Iterable[str]) -> dict[str, Any] | None:
    """Build the ``arguments`` map from ``key=value`` words.

    Returns:
        The map, or ``None`` when there are no words (the request then has
        no ``arguments`` at all, which some commands distinguish from an
        empty map).

    Raises:
        ArgumentError: A word is neither ``key=value``, ``key:=json`` nor a
            JSON map, a ``:=`` value is not JSON, or a key comes twice.
    """
    arguments: dict[str, Any] | None = None
    given: set[str] = set()
    for word in words:
        if arguments is None:
            arguments = {}
        if word.lstrip().startswith("{"):
            found, value = parse_value(word)
            if not found or not isinstance(value, dict):
                raise ArgumentError(f"not a JSON map: {word}")
            arguments.update(value)
            continue
        key, equals, text = word.partition("=")
        if not equals or not key.rstrip(":"):
            raise ArgumentError(
                f"expected key=value, key:=json or a JSON map, got {word!r}"
            )
        strict = key.endswith(":")
        key = key.rstrip(":")
        if key in given:
            raise ArgumentError(f"{key} given twice")
        given.add(key)
        if strict:
            found, value = parse_value(text)
            if not found:
                raise ArgumentError(f"{key}:= needs a JSON value, got {text!r}")
        elif key in TEXT_KEYS:
            value = text
        else:
            found, value = parse_value(text)
            if not found:
                value = text
        arguments[key] = value
    return arguments
