"""Run leased (and, beside it, Kea) as child processes on a private socket.

The tests and the benchmark need real servers: leased runs as
``python -m leased -c FILE`` in a directory of the caller's own, with its
control socket there, and is stopped with SIGTERM afterwards.  Callers talk to
it through :mod:`leased.client` or through real ``socat`` and ``nc``.

Kea 2.2 is the reference leased is compared with, so the same module starts
it too.  One leased process serves IPv4 and IPv6, but Kea needs one server
per family: :func:`kea_config` cuts the family's section out of the same
Kea-shaped configuration leased reads, points its control socket into the
caller's directory, binds no DHCP interface, loads the lease commands hook
and keeps leases in memory (or in a named lease file).  :func:`run_kea`
starts ``kea-dhcp4`` or ``kea-dhcp6`` on it with its PID and lock files in
that directory, waits until it answers, and stops it by PID with SIGTERM.
Both servers are handed back as the same :class:`Daemon`, so a caller can
send one request to each and compare the answers.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs

from leased.client import send_command


@attrs.define
class Daemon:
    """A running server process (leased or Kea) and where to reach it."""

    process: subprocess.Popen[bytes]
    socket_path: str
    config_path: Path
    workdir: Path
    stderr_name: str = "leased.stderr"

    def command(self, command: str, arguments: Any = None) -> Any:
        """Send one command and return the decoded answer."""
        return send_command(self.socket_path, command, arguments)

    def stderr_text(self) -> str:
        """What the daemon wrote to stderr (and, for Kea, stdout) so far."""
        return (self.workdir / self.stderr_name).read_text(errors="replace")


def wait_for_socket(
    path: str, process: subprocess.Popen[bytes], timeout: float
) -> None:
    """Wait until ``path`` exists, failing early if ``process`` died."""
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if process.poll() is not None:
            raise RuntimeError(
                f"daemon exited with {process.returncode} before listening"
            )
        if time.monotonic() > deadline:
            raise TimeoutError(f"no socket at {path} after {timeout} s")
        time.sleep(0.01)


def with_socket(config: dict[str, Any], socket_path: str) -> dict[str, Any]:
    """Copy ``config`` with every control socket moved to ``socket_path``."""
    config = json.loads(json.dumps(config))
    for family in ("Dhcp4", "Dhcp6"):
        if family in config:
            config[family].pop("control-sockets", None)
            config[family]["control-socket"] = {
                "socket-type": "unix",
                "socket-name": socket_path,
            }
    return config


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop ``process`` by its PID with SIGTERM, killing it after 10 s."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def run_leased(
    config: dict[str, Any],
    workdir: Path,
    *,
    extra_args: tuple[str, ...] = (),
    timeout: float = 20.0,
    own_sockets: bool = False,
) -> Iterator[Daemon]:
    """Run leased on ``config`` with its socket in ``workdir``.

    Args:
        config: A Kea-shaped configuration; its control sockets are replaced by
            one socket in ``workdir``.
        workdir: The daemon's working directory (made if missing).
        extra_args: More command-line arguments for the daemon; the data
            directory is ``workdir`` unless they say otherwise.
        timeout: Seconds to wait for the socket to appear.
        own_sockets: Keep the configuration's control sockets instead (a
            relative path lies in ``workdir``); the daemon's socket is the
            ``Dhcp4`` map's, else the ``Dhcp6`` map's.

    Yields:
        The running :class:`Daemon`; it is stopped with SIGTERM on exit.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    socket_path = str(workdir / "leased.sock")
    config_path = workdir / "leased.json"
    if own_sockets:
        first = next(
            config[name]["control-socket"]["socket-name"]
            for name in ("Dhcp4", "Dhcp6")
            if "control-socket" in config.get(name, {})
        )
        socket_path = str(workdir / first)
        config_path.write_text(json.dumps(config, indent=2))
    else:
        config_path.write_text(json.dumps(with_socket(config, socket_path), indent=2))
    stderr = open(workdir / "leased.stderr", "wb")  # noqa: SIM115 closed below

    # The child runs in ``workdir``, so it finds this very package only if
    # the directory holding it is on its path (leased need not be installed).
    source_root = str(Path(__file__).resolve().parent.parent)
    python_path = os.environ.get("PYTHONPATH")
    environment = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([source_root, python_path])
        if python_path
        else source_root,
    )
    if "--data-dir" not in extra_args and "-d" not in extra_args:
        extra_args = ("--data-dir", str(workdir), *extra_args)
    process = subprocess.Popen(
        [sys.executable, "-m", "leased", "-c", str(config_path), *extra_args],
        cwd=workdir,
        env=environment,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )
    try:
        deadline = time.monotonic() + timeout
        wait_for_socket(socket_path, process, timeout)
        _wait_until_listening(socket_path, process, deadline)
        yield Daemon(process, socket_path, config_path, workdir)
    finally:
        stop(process)
        stderr.close()


# Where Debian and upstream builds put the servers and the hook libraries.
# The multiarch directory comes first because that is what Debian ships.
_KEA_SBIN_DIRS = ("/usr/sbin", "/usr/local/sbin", "/sbin")
_LEASE_CMDS_LIBRARY = "libdhcp_lease_cmds.so"


def _kea_binary(family: int) -> str | None:
    """Return the path of ``kea-dhcp4`` or ``kea-dhcp6``, or None if absent."""
    name = f"kea-dhcp{family}"
    found = shutil.which(name)
    if found:
        return found
    for directory in _KEA_SBIN_DIRS:
        candidate = os.path.join(directory, name)
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def _hook_dirs(binary: str | None) -> list[str]:
    """List the directories where Kea's hook libraries may live."""
    dirs = []
    multiarch = sysconfig.get_config_var("MULTIARCH")
    for prefix in ("/usr/lib", "/usr/local/lib"):
        if multiarch:
            dirs.append(f"{prefix}/{multiarch}/kea/hooks")
        dirs.append(f"{prefix}/kea/hooks")

    # The build report names the hooks directory of this very build; it is
    # asked last because it costs a process start.
    if binary is not None:
        try:
            report = subprocess.run(
                [binary, "-W"], capture_output=True, text=True, timeout=10
            ).stdout
        except (OSError, subprocess.SubprocessError):
            report = ""
        for line in report.splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "Hooks directory" and value.strip():
                dirs.append(value.strip())
    return dirs


def lease_cmds_library(binary: str | None = None) -> str | None:
    """Return the path of Kea's lease commands hook library, or None."""
    for directory in _hook_dirs(binary):
        candidate = os.path.join(directory, _LEASE_CMDS_LIBRARY)
        if os.path.isfile(candidate):
            return candidate
    return None


def kea_missing_reason() -> str | None:
    """Tell why Kea cannot be run here, or return None when it can.

    Returns:
        None when ``kea-dhcp4``, ``kea-dhcp6`` and the lease commands hook
        library are all installed; otherwise a sentence fit for
        ``pytest.skip``.
    """
    for family in (4, 6):
        if _kea_binary(family) is None:
            return f"kea-dhcp{family} is not installed (Kea 2.2 is the reference)"
    if lease_cmds_library(_kea_binary(4)) is None:
        return f"Kea's lease commands hook ({_LEASE_CMDS_LIBRARY}) is not installed"
    return None


def kea_config(
    config: dict[str, Any],
    family: int,
    socket_path: str,
    workdir: Path,
    *,
    lease_file: str | None = None,
) -> dict[str, Any]:
    """Build the configuration of one Kea server from a leased configuration.

    Args:
        config: A Kea-shaped configuration with ``Dhcp4`` and/or ``Dhcp6``.
        family: 4 or 6: which section to keep.
        socket_path: The control socket Kea should listen on.
        workdir: Where Kea's log file goes.
        lease_file: A lease file name; when given the leases persist there
            (with no periodic cleanup), otherwise they stay in memory.

    Returns:
        A new ``{"Dhcp4": ...}`` or ``{"Dhcp6": ...}`` configuration.  Keys of
        the section other than those below pass through unchanged.

    Raises:
        ValueError: ``family`` is not 4 or 6.
    """
    if family not in (4, 6):
        raise ValueError(f"family must be 4 or 6, not {family!r}")
    name = f"Dhcp{family}"
    section = with_socket({name: config.get(name, {})}, socket_path)[name]

    # No DHCP interface: Kea only serves its control socket here.  The DHCPv6
    # server also writes its server identifier into its data directory, which
    # must then be one it may write to.
    section["interfaces-config"] = {"interfaces": []}
    if family == 6:
        section["data-directory"] = str(workdir)

    # The lease commands live in a hook library; keep any other library the
    # caller listed, but load this one exactly once.
    library = lease_cmds_library(_kea_binary(family)) or _LEASE_CMDS_LIBRARY
    hooks = [
        hook
        for hook in section.get("hooks-libraries", [])
        if not str(hook.get("library", "")).endswith(_LEASE_CMDS_LIBRARY)
    ]
    section["hooks-libraries"] = [*hooks, {"library": library}]

    # The lease database is always memfile; only the file part varies.
    database = {
        key: value
        for key, value in section.get("lease-database", {}).items()
        if key not in ("type", "name", "persist", "lfc-interval")
    }
    database["type"] = "memfile"
    if lease_file is None:
        database["persist"] = False
    else:
        database.update(persist=True, name=lease_file)
        database["lfc-interval"] = 0
    section["lease-database"] = database

    # Kea 2.2 spells the logger key ``output_options``.
    section["loggers"] = [
        {
            "name": f"kea-dhcp{family}",
            "output_options": [{"output": str(workdir / f"kea-dhcp{family}.log")}],
            "severity": "WARN",
        }
    ]
    return {name: section}


@contextlib.contextmanager
def run_kea(
    config: dict[str, Any],
    family: int,
    workdir: Path,
    *,
    lease_file: str | None = None,
    timeout: float = 20.0,
) -> Iterator[Daemon]:
    """Run Kea's DHCPv4 or DHCPv6 server on ``config`` in ``workdir``.

    Args:
        config: A Kea-shaped configuration; see :func:`kea_config`.
        family: 4 or 6: which Kea server to run.
        workdir: Kea's working directory (made if missing); the socket, the
            configuration, the PID and lock files and the logs go there.
        lease_file: See :func:`kea_config`.
        timeout: Seconds to wait until Kea answers on its socket.

    Yields:
        The running :class:`Daemon`; it is stopped by PID with SIGTERM on
        exit.

    Raises:
        RuntimeError: Kea is not installed, or exited before answering (the
            message carries what it printed).
        TimeoutError: Kea did not answer within ``timeout``.
    """
    binary = _kea_binary(family)
    if binary is None:
        raise RuntimeError(kea_missing_reason() or f"kea-dhcp{family} not found")
    workdir.mkdir(parents=True, exist_ok=True)
    socket_path = str(workdir / f"kea{family}.sock")
    config_path = workdir / f"kea-dhcp{family}.json"
    config_path.write_text(
        json.dumps(
            kea_config(config, family, socket_path, workdir, lease_file=lease_file),
            indent=2,
        )
    )
    stderr_name = f"kea-dhcp{family}.stderr"
    environment = dict(
        os.environ, KEA_PIDFILE_DIR=str(workdir), KEA_LOCKFILE_DIR=str(workdir)
    )

    # Kea prints to stdout until its own loggers are set up, so both
    # streams go to one file that the error message can quote.
    output = open(workdir / stderr_name, "wb")  # noqa: SIM115 closed below
    process = subprocess.Popen(
        [binary, "-c", str(config_path)],
        cwd=workdir,
        env=environment,
        stdin=subprocess.DEVNULL,
        stdout=output,
        stderr=subprocess.STDOUT,
    )
    daemon = Daemon(process, socket_path, config_path, workdir, stderr_name)
    try:
        deadline = time.monotonic() + timeout
        try:
            wait_for_socket(socket_path, process, timeout)
            _wait_until_answering(daemon, deadline)
        except (RuntimeError, TimeoutError) as error:
            said = daemon.stderr_text()
            raise type(error)(f"{error}; kea-dhcp{family} said: {said}") from error
        yield daemon
    finally:
        stop(process)
        output.close()


def _wait_until_listening(
    path: str, process: subprocess.Popen[bytes], deadline: float
) -> None:
    """Wait until a connection to ``path`` is accepted.

    The socket file appears when it is bound, a moment before the server
    listens on it.  The probe connection is closed without a request.
    """
    while True:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                probe.connect(path)
            return
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(
                    f"daemon exited with {process.returncode} before listening"
                ) from None
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {path}") from None
            time.sleep(0.01)


def _wait_until_answering(daemon: Daemon, deadline: float) -> None:
    """Wait until ``daemon`` answers ``version-get``.

    The socket file appears when it is bound, a moment before the server
    listens on it, so its mere existence is not enough.
    """
    while True:
        try:
            daemon.command("version-get")
            return
        except (ConnectionError, OSError):
            if daemon.process.poll() is not None:
                raise RuntimeError(
                    f"daemon exited with {daemon.process.returncode} before answering"
                ) from None
            if time.monotonic() > deadline:
                raise TimeoutError(f"no answer on {daemon.socket_path}") from None
            time.sleep(0.01)
