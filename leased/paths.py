"""The data directory, and the rule that keeps lease files inside it.

Every file leased writes on request lies in one data directory: the lease
files named by ``lease-database/name`` and the files ``lease4-write`` and
``lease6-write`` produce.  An API that can write files anywhere lets anyone
who reaches the control socket overwrite what the daemon's user may write
(Kea before 2.6.3: CVE-2025-32802), so a name is checked with newest Kea's
rule before it is used:

* surrounding white space is dropped; the part after the last ``/`` is the
  file name, and must not be empty, ``.`` or ``..``;
* a bare name lies in the data directory;
* a name with a directory must name the data directory itself, spelled
  exactly as configured (no ``..``, no other spelling of the same place).

The data directory is, in order: the ``--data-dir`` option, the
``LEASED_DATA_DIR`` environment variable, systemd's ``STATE_DIRECTORY``
(set by ``StateDirectory=``; the first entry), or the current directory.

Files are then opened without following a symbolic link in the last
component (see :mod:`leased.storage`).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["PathError", "data_directory", "resolve"]


class PathError(ValueError):
    """A file name outside the data directory (newest Kea's texts)."""


def data_directory(option: str | None, environ: dict[str, str] | None = None) -> Path:
    """The data directory, from the option or the environment (absolute)."""
    env = os.environ if environ is None else environ
    chosen = (
        option
        or env.get("LEASED_DATA_DIR")
        or env.get("STATE_DIRECTORY", "").split(":")[0]
        or os.getcwd()
    )
    return Path(os.path.abspath(chosen))


def resolve(name: str, directory: Path, *, anywhere: bool = False) -> Path:
    """The path ``name`` stands for, which lies in ``directory``.

    With ``anywhere`` (the daemon's ``-X`` option, for lease files named in
    the configuration only) a name with a directory is taken as it is.

    Raises:
        PathError: With newest Kea's text.
    """
    text = name.strip()
    parent, slash, file_name = text.rpartition("/")
    if file_name in ("", ".", ".."):
        raise PathError(f"path: '{text}' has no filename")
    if not slash:
        return directory / file_name
    if anywhere:
        return Path(os.path.abspath(text))
    allowed = str(directory).rstrip("/") or "/"
    if not parent or parent != allowed:
        raise PathError(
            f"invalid path specified: '{parent or '/'}', supported path is '{allowed}'"
        )
    return directory / file_name
