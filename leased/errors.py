"""Result codes and the exception tree.

Kea answers every command with a ``result`` code.  Inside leased, a handler
that cannot go on raises a :class:`LeasedError` subclass; the dispatcher
catches it once and turns it into an answer carrying the class's
``result`` and the exception's text.  "Not found" is not an exception: it is
an ordinary answer with :data:`RESULT_EMPTY`, as in Kea.
"""

from __future__ import annotations

from typing import Any, Final

RESULT_SUCCESS = 0
RESULT_ERROR = 1
RESULT_UNSUPPORTED = 2
RESULT_EMPTY = 3
RESULT_CONFLICT = 4
# A server fault that leaves the lease file unusable (lease4-write).
RESULT_FATAL = 5


class LeasedError(Exception):
    """Root of leased's own errors; ``result`` is the Kea result code."""

    result = RESULT_ERROR


class CommandError(LeasedError, ValueError):
    """A command's arguments are wrong; the text is sent to the client."""


class UnsupportedCommand(LeasedError):
    """The command name is not one leased knows."""

    result = RESULT_UNSUPPORTED


class StorageError(LeasedError, OSError):
    """A change could not be made durable, so it was not applied.

    The text names the file and the operating system's reason.  Reads keep
    working; writes succeed again once the cause (a full disk, say) is gone.
    """


class ConfigError(LeasedError, ValueError):
    """A configuration value is invalid.

    Args:
        path: Where the bad value sits, e.g. ``Dhcp4/subnet4[1]/subnet``.
        message: What is wrong with it.
    """

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


# What a configuration error calls each JSON type.
KIND_WORDS: Final[dict[type, str]] = {
    bool: "a boolean",
    int: "an integer",
    float: "a real number",
    str: "a string",
    list: "a list",
    dict: "a map",
}


def json_kind(value: Any) -> str:
    """What a configuration error calls ``value``: ``a string``, ``null``..."""
    if value is None:
        return "null"
    return KIND_WORDS.get(type(value), type(value).__name__)
