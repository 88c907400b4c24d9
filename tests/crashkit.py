"""Crash consistency: a daemon killed at will, and what must survive it.

Shared by tests/test_crash.py (a few kills in the normal suite) and
tests/crash_soak.py (hundreds of kills, a separate command).

The workload
------------

Several clients write at once (add, update, del, wipe, bulk-apply, batches
of commands; IPv4 addresses, IPv6 addresses and prefixes), each in an IPv4
and an IPv6 subnet of its own, so each client's part of the table depends
on its own commands only.  A client waits for each answer before it sends
its next request, so at any moment at most one of its requests is
unanswered.  Each client keeps a model of its part of the table: its
acknowledged commands applied in order.

After the daemon is killed and started again, each client's part of the
recovered table must equal its model followed by some prefix of its
unanswered request: for a single command, all of it or none of it; for a
batch, its first k commands, each whole.  Nothing acknowledged may be
missing, nothing may appear that no command made, and no command may be
half applied.  A lease outside every client's subnets fails the check too.

Every lease a command writes carries a hostname no other command uses, so
the check sees which command made each lease.

Killing
-------

:class:`Leased` starts ``python -m leased`` on a data directory and kills
it with SIGKILL, with or without the compaction children it forked (a
child outlives a daemon killed alone; systemd's control-group kill takes
both).  :class:`Strace` attaches ``strace`` to a daemon to kill a process
at the entry of its n-th call of a system call (the call is not made), or
to delay a call: that is how a test stops a compaction at a chosen step,
from outside, with the production code unchanged.

Power cuts
----------

:func:`power_cut_image` copies a data directory the way a power cut could
leave it: after the page cache is dropped (``/proc/sys/vm/drop_caches``
keeps only pages not yet written back, or pages being written), every page
of a lease file still in memory is one the disk may not have; the copy of
each file ends at the end of its first such page (that page may hold rows
synced before later rows were appended to it, so it is kept; everything
after it is dropped).  A file system that orders data before metadata
(ext4's default) never shows a later page without the earlier ones.
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import ipaddress
import itertools
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import orjson

from leased.csvfile import SCHEMAS, delete_row, format_row
from leased.harness import wait_for_socket, with_socket
from leased.model import TYPE_NA, Lease, Lease4, Lease6

ROOT = Path(__file__).resolve().parent.parent
PAGE = os.sysconf("SC_PAGE_SIZE")

# Compaction files next to each live file, by suffix.
COMPACTION_SUFFIXES = (".1", ".2", ".output", ".completed", ".pid")
LIVE_NAMES = ("kea-leases4.csv", "kea-leases6.csv")


def crash_config(
    clients: int,
    *,
    durable: bool = False,
    lfc_interval: int = 0,
    persist: tuple[int, ...] = (4, 6),
) -> dict[str, Any]:
    """Subnets for ``clients`` clients (id 100 + i), lease files on for the
    families in ``persist``."""

    def database(version: int) -> dict[str, Any]:
        if version not in persist:
            return {"type": "memfile", "persist": False}
        return {"type": "memfile", "lfc-interval": lfc_interval}

    config: dict[str, Any] = {
        "Dhcp4": {
            "valid-lifetime": 86400,
            "lease-database": database(4),
            "subnet4": [
                {"id": 100 + i, "subnet": f"10.{i}.0.0/16"} for i in range(clients)
            ],
        },
        "Dhcp6": {
            "valid-lifetime": 86400,
            "preferred-lifetime": 43200,
            "lease-database": database(6),
            "subnet6": [
                {"id": 100 + i, "subnet": f"2001:db8:{i + 1:x}::/48"}
                for i in range(clients)
            ],
        },
    }
    if durable:
        config["Leased"] = {"durable-writes": True}
    return config


def seed_lease(version: int, n: int, hostname: str = "") -> Lease:
    """Lease number ``n`` of subnet 100 (client 0's subnets)."""
    if version == 4:
        return Lease4(
            address=(10 << 24) + n + 1,
            hw_address=n.to_bytes(6, "big"),
            client_id=None,
            valid_lft=86400,
            cltt=1_900_000_000,
            subnet_id=100,
            hostname=hostname,
        )
    return Lease6(
        address=(0x20010DB8_0001 << 80) + n + 1,
        type=TYPE_NA,
        prefix_len=128,
        duid=n.to_bytes(8, "big"),
        iaid=n + 1,
        valid_lft=86400,
        preferred_lft=43200,
        cltt=1_900_000_000,
        subnet_id=100,
        hostname=hostname,
    )


def seed_files(directory: Path, version: int, count: int) -> None:
    """A lease file set as a compaction some time ago leaves it: ``F.2``
    with ``count`` leases, and ``F`` updating a third of them, deleting a
    third and adding a third more."""
    name = directory / LIVE_NAMES[0 if version == 4 else 1]
    header = SCHEMAS[version].header
    compacted = [format_row(seed_lease(version, n, f"old{n}")) for n in range(count)]
    changes = []
    for n in range(count + count // 3):
        if n >= count or n % 3 == 0:
            changes.append(format_row(seed_lease(version, n, f"new{n}")))
        elif n % 3 == 1:
            changes.append(delete_row(seed_lease(version, n, f"old{n}")))
    name.with_name(name.name + ".2").write_text("\n".join([header, *compacted, ""]))
    name.write_text("\n".join([header, *changes, ""]))


# The daemon.


class Unanswered(Exception):
    """The request may have reached the daemon; no whole answer came back."""


class NotSent(Exception):
    """The daemon accepted no connection: the request never reached it."""


def request(path: str, payload: Any, *, timeout: float = 60.0) -> Any:
    """Send one request and return its decoded answer.

    Raises:
        NotSent: No connection (the daemon is gone).
        Unanswered: Connected, but the answer did not arrive whole.
    """
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        try:
            sock.connect(path)
        except OSError as error:
            raise NotSent(str(error)) from None
        chunks = []
        try:
            sock.sendall(orjson.dumps(payload))
            while chunk := sock.recv(1 << 16):
                chunks.append(chunk)
        except OSError as error:
            raise Unanswered(str(error)) from None
    finally:
        sock.close()
    try:
        return orjson.loads(b"".join(chunks))
    except orjson.JSONDecodeError:
        raise Unanswered("incomplete answer") from None


@attrs.define
class Leased:
    """A leased process on a data directory, to be killed and restarted."""

    workdir: Path
    config: dict[str, Any]
    # Run in the child before leased starts (resource limits, another user).
    preexec: Callable[[], None] | None = None
    # The data directory, when not ``workdir``.
    data: Path | None = None
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def socket_path(self) -> str:
        return str(self.workdir / "leased.sock")

    @property
    def log_path(self) -> Path:
        return self.workdir / "leased.stderr"

    def spawn(self) -> subprocess.Popen[bytes]:
        """Start the daemon; do not wait for it."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        config_path = self.workdir / "leased.json"
        config_path.write_text(json.dumps(with_socket(self.config, self.socket_path)))
        environment = dict(os.environ, PYTHONPATH=str(ROOT))
        with open(self.log_path, "ab") as log:
            log.write(f"--- start {self.starts}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "leased",
                    "-c",
                    str(config_path),
                    "--data-dir",
                    str(self.data or self.workdir),
                ],
                cwd=self.workdir,
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
                preexec_fn=self.preexec,
            )
        self.starts += 1
        return self.process

    def start(self, timeout: float = 90.0) -> None:
        """Start the daemon and wait until it answers."""
        process = self.spawn()
        wait_for_socket(self.socket_path, process, timeout)
        deadline = time.monotonic() + timeout
        while True:
            try:
                request(self.socket_path, {"command": "version-get"})
                return
            except (NotSent, Unanswered):
                if process.poll() is not None:
                    raise RuntimeError(
                        f"leased exited with {process.returncode}: " + self.log_tail()
                    ) from None
                if time.monotonic() > deadline:
                    raise TimeoutError("leased does not answer") from None
                time.sleep(0.01)

    def command(self, command: str, arguments: Any = None) -> Any:
        payload: dict[str, Any] = {"command": command}
        if arguments is not None:
            payload["arguments"] = arguments
        return request(self.socket_path, payload)

    def children(self) -> list[int]:
        """The daemon's child processes (its compactions)."""
        assert self.process is not None
        pid = self.process.pid
        found: list[int] = []
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{pid}/task"):
                text = Path(f"/proc/{pid}/task/{task}/children").read_text()
                found.extend(int(word) for word in text.split())
        return found

    def kill(self, *, children: bool) -> list[int]:
        """SIGKILL the daemon, and its compaction children if asked.

        Returns the children left running.
        """
        assert self.process is not None
        found = self.children()
        self.process.kill()
        if children:
            for pid in found:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        if children:
            wait_gone(found)
            return []
        return [pid for pid in found if alive(pid)]

    def stop(self) -> int:
        """SIGTERM, and wait; the exit status."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.terminate()
        return self.process.wait(timeout=60)

    def log_tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie counts as gone)."""
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return status.rsplit(")", 1)[1].split()[0] != "Z"


def wait_gone(pids: list[int], timeout: float = 60.0) -> None:
    """Wait until none of ``pids`` runs any more."""
    deadline = time.monotonic() + timeout
    while any(alive(pid) for pid in pids):
        if time.monotonic() > deadline:
            raise TimeoutError(f"processes {pids} still run")
        time.sleep(0.01)


# strace: kill or delay a process at a chosen system call.


def strace_missing() -> str | None:
    """Why strace cannot be used here, or None."""
    if shutil.which("strace") is None:
        return "strace is not installed"
    return None


@attrs.define
class Strace:
    """``strace -f`` attached to a process, injecting one fault.

    ``rule`` is strace's ``-e inject=`` argument, e.g.
    ``unlink:signal=SIGKILL:when=2`` (every traced process is killed at the
    entry of its second ``unlink``; counts are per process) or
    ``setpriority:delay_enter=2000000``.
    """

    pid: int
    rule: str
    process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Strace:
        syscall = self.rule.split(":", 1)[0]
        self.process = subprocess.Popen(
            [
                "strace",
                "-f",
                "-qq",
                "-o",
                "/dev/null",
                "-e",
                f"trace={syscall}",
                "-e",
                f"inject={self.rule}",
                "-p",
                str(self.pid),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 20
        while tracer(self.pid) == 0:
            if self.process.poll() is not None:
                assert self.process.stderr is not None
                raise RuntimeError(
                    "strace did not attach: " + self.process.stderr.read().decode()
                )
            if time.monotonic() > deadline:
                raise TimeoutError("strace did not attach")
            time.sleep(0.005)
        return self

    def __exit__(self, *exc: object) -> None:
        self.detach()

    def detach(self) -> None:
        """Stop tracing (strace detaches from every process on SIGTERM)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        if self.process is not None and self.process.stderr is not None:
            self.process.stderr.close()


def tracer(pid: int) -> int:
    """The pid tracing ``pid`` (0: none, or ``pid`` is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("TracerPid:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


# The workload.

V4, V6 = 4, 6
# One lease as the check sees it: IPv4 (hw-address, hostname); IPv6 (type,
# duid, iaid, hostname).
Row = tuple[Any, ...]


@attrs.define
class Part:
    """One client's part of the table: address to lease, per family."""

    v4: dict[str, Row] = attrs.field(factory=dict)
    v6: dict[str, Row] = attrs.field(factory=dict)

    def copy(self) -> Part:
        return Part(dict(self.v4), dict(self.v6))


@attrs.frozen
class Op:
    """One command, what it must answer, and what it does to a part."""

    request: dict[str, Any]
    results: frozenset[int]
    apply: Callable[[Part], None]

    @property
    def family(self) -> int | None:
        """The family whose lease file the command writes, if any."""
        name = self.request["command"]
        return int(name[5]) if name.startswith("lease") else None


def _set(family: int, address: str, row: Row) -> Callable[[Part], None]:
    def apply(part: Part) -> None:
        (part.v4 if family == V4 else part.v6)[address] = row

    return apply


def _remove(family: int, addresses: list[str]) -> Callable[[Part], None]:
    def apply(part: Part) -> None:
        table = part.v4 if family == V4 else part.v6
        for address in addresses:
            table.pop(address, None)

    return apply


def _nothing(part: Part) -> None:
    pass


def _both(*steps: Callable[[Part], None]) -> Callable[[Part], None]:
    def apply(part: Part) -> None:
        for step in steps:
            step(part)

    return apply


@attrs.define
class Client:
    """A client writing in its own subnets; see the module docstring."""

    index: int
    seed: int
    compactions: bool = True
    # Bigger wipes and bulk-applies: more rows per change.
    pool: int = 120
    model: Part = attrs.field(factory=Part)
    # The request in flight when the daemon went away: its commands.
    unanswered: list[Op] = attrs.field(factory=list)
    serial: int = 0
    acknowledged: int = 0
    errors: list[str] = attrs.field(factory=list)
    rng: random.Random = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    @property
    def subnet_id(self) -> int:
        return 100 + self.index

    def _hostname(self) -> str:
        self.serial += 1
        return f"c{self.index}-{self.serial}.example.org"

    def _v4_address(self, n: int) -> str:
        return f"10.{self.index}.{n // 250}.{n % 250 + 1}"

    def _v6_address(self, n: int, prefix: bool) -> str:
        network = f"2001:db8:{self.index + 1:x}"
        text = f"{network}:{n + 1:x}::" if prefix else f"{network}::{n + 1:x}"
        return str(ipaddress.IPv6Address(text))

    # Commands, each against the part as it will be when it runs.

    def _v4_lease(self, address: str) -> tuple[dict[str, Any], Row]:
        hw = ":".join(f"{self.rng.randrange(256):02x}" for _ in range(6))
        hostname = self._hostname()
        arguments = {
            "ip-address": address,
            "subnet-id": self.subnet_id,
            "hw-address": hw,
            "hostname": hostname,
            "valid-lft": 86400,
        }
        return arguments, (hw, hostname)

    def _v6_lease(self, address: str, prefix: bool) -> tuple[dict[str, Any], Row]:
        duid = ":".join(f"{self.rng.randrange(256):02x}" for _ in range(8))
        iaid = self.rng.randrange(1, 1 << 32)
        hostname = self._hostname()
        kind = "IA_PD" if prefix else "IA_NA"
        arguments: dict[str, Any] = {
            "ip-address": address,
            "subnet-id": self.subnet_id,
            "type": kind,
            "duid": duid,
            "iaid": iaid,
            "hostname": hostname,
            "valid-lft": 86400,
            "preferred-lft": 43200,
        }
        if prefix:
            arguments["prefix-len"] = 64
        return arguments, (kind, duid, iaid, hostname)

    def _free(self, table: dict[str, Row], family: int) -> tuple[str, bool] | None:
        for _ in range(20):
            n = self.rng.randrange(self.pool)
            prefix = family == V6 and self.rng.random() < 0.3
            address = (
                self._v4_address(n) if family == V4 else self._v6_address(n, prefix)
            )
            if address not in table:
                return address, prefix
        return None

    def next_op(self, part: Part) -> Op:
        """A random command, valid against ``part``."""
        rng = self.rng
        family = V4 if rng.random() < 0.5 else V6
        table = part.v4 if family == V4 else part.v6
        word = f"lease{family}"
        choice = rng.random()
        if self.compactions and choice < 0.03:
            return Op({"command": "kea-lfc-start"}, frozenset({0, 3}), _nothing)
        if choice < 0.06:
            # Wipe the client's subnet of this family.
            addresses = list(table)
            return Op(
                {"command": f"{word}-wipe", "arguments": {"subnet-id": self.subnet_id}},
                frozenset({0 if addresses else 3}),
                _remove(family, addresses),
            )
        if family == V6 and choice < 0.16:
            return self._bulk_apply(part)
        if table and choice < 0.40:
            address = rng.choice(list(table))
            if rng.random() < 0.5:
                prefix = table[address][0] == "IA_PD"
                arguments = {"ip-address": address}
                if family == V6:
                    arguments["type"] = table[address][0]
                return Op(
                    {"command": f"{word}-del", "arguments": arguments},
                    frozenset({0}),
                    _remove(family, [address]),
                )
            prefix = family == V6 and table[address][0] == "IA_PD"
            arguments, row = (
                self._v4_lease(address)
                if family == V4
                else self._v6_lease(address, prefix)
            )
            return Op(
                {"command": f"{word}-update", "arguments": arguments},
                frozenset({0}),
                _set(family, address, row),
            )
        free = self._free(table, family)
        if free is None:
            addresses = list(table)
            return Op(
                {"command": f"{word}-wipe", "arguments": {"subnet-id": self.subnet_id}},
                frozenset({0 if addresses else 3}),
                _remove(family, addresses),
            )
        address, prefix = free
        if choice < 0.45:
            # A delete of a lease that is not there changes nothing.
            arguments = {"ip-address": address}
            if family == V6:
                arguments["type"] = "IA_PD" if prefix else "IA_NA"
            return Op(
                {"command": f"{word}-del", "arguments": arguments},
                frozenset({3}),
                _nothing,
            )
        arguments, row = (
            self._v4_lease(address) if family == V4 else self._v6_lease(address, prefix)
        )
        if choice < 0.52:
            arguments["force-create"] = True
            return Op(
                {"command": f"{word}-update", "arguments": arguments},
                frozenset({0}),
                _set(family, address, row),
            )
        return Op(
            {"command": f"{word}-add", "arguments": arguments},
            frozenset({0}),
            _set(family, address, row),
        )

    def _bulk_apply(self, part: Part) -> Op:
        rng = self.rng
        existing = list(part.v6)
        rng.shuffle(existing)
        deleted = existing[: rng.randrange(0, min(len(existing), 30) + 1)]
        kept = existing[len(deleted) :]
        leases = []
        steps = [_remove(V6, deleted)]
        touched = set(deleted)
        for _ in range(rng.randrange(0, 30)):
            if kept and rng.random() < 0.3:
                address = kept.pop()
                prefix = part.v6[address][0] == "IA_PD"
            else:
                free = self._free(part.v6, V6)
                if free is None or free[0] in touched:
                    continue
                address, prefix = free
            touched.add(address)
            arguments, row = self._v6_lease(address, prefix)
            leases.append(arguments)
            steps.append(_set(V6, address, row))
        arguments: dict[str, Any] = {
            "deleted-leases": [
                {"ip-address": address, "type": part.v6[address][0]}
                for address in deleted
            ],
            "leases": leases,
        }
        done = len(deleted) + len(leases)
        return Op(
            {"command": "lease6-bulk-apply", "arguments": arguments},
            frozenset({0 if done else 3}),
            _both(*steps),
        )

    # Running.

    def run(self, path: str, stop: threading.Event) -> None:
        """Send commands until ``stop`` or until the daemon goes away."""
        self.unanswered = []
        while not stop.is_set() and not self.errors:
            if self.rng.random() < 0.05:
                # A batch: commands applied in turn, each on its own.
                scratch = self.model.copy()
                ops = []
                for _ in range(self.rng.randrange(2, 5)):
                    op = self.next_op(scratch)
                    op.apply(scratch)
                    ops.append(op)
                payload: Any = [op.request for op in ops]
            else:
                ops = [self.next_op(self.model)]
                payload = ops[0].request
            try:
                answer = request(path, payload)
            except NotSent:
                return
            except Unanswered:
                self.unanswered = ops
                return
            answers = answer if isinstance(answer, list) else [answer]
            if len(answers) != len(ops):
                self.errors.append(f"{len(answers)} answers to {payload!r}")
                return
            for op, one in zip(ops, answers, strict=True):
                if one.get("result") not in op.results:
                    self.errors.append(f"answer {one!r} to {op.request!r}")
                    return
                op.apply(self.model)
                self.acknowledged += 1

    def candidates(self, *, power_cut: bool = False) -> list[Part]:
        """The parts a recovery may show: the model, then each prefix of
        the unanswered request.

        After a power cut, each family's lease file keeps a prefix of the
        unanswered changes it was given, independently of the other file
        (the disk may have one file's pages and not the other's), so every
        pair of prefixes counts.
        """
        if not power_cut:
            part = self.model.copy()
            found = [part.copy()]
            for op in self.unanswered:
                op.apply(part)
                found.append(part.copy())
            return found
        counts = {
            family: sum(op.family == family for op in self.unanswered)
            for family in (V4, V6)
        }
        found = []
        for keep4, keep6 in itertools.product(
            range(counts[V4] + 1), range(counts[V6] + 1)
        ):
            part = self.model.copy()
            seen = {V4: 0, V6: 0}
            for op in self.unanswered:
                if op.family is None:
                    continue
                seen[op.family] += 1
                if seen[op.family] <= (keep4 if op.family == V4 else keep6):
                    op.apply(part)
            found.append(part)
        return found


def table_parts(leased: Leased) -> dict[int, Part]:
    """The daemon's tables split by subnet id (one part per subnet pair)."""
    parts: dict[int, Part] = {}
    v4 = leased.command("lease4-get-all")
    v6 = leased.command("lease6-get-all")
    for lease in v4.get("arguments", {}).get("leases", []):
        part = parts.setdefault(lease["subnet-id"], Part())
        part.v4[lease["ip-address"]] = (lease["hw-address"], lease.get("hostname", ""))
    for lease in v6.get("arguments", {}).get("leases", []):
        part = parts.setdefault(lease["subnet-id"], Part())
        part.v6[lease["ip-address"]] = (
            lease["type"],
            lease["duid"],
            lease["iaid"],
            lease.get("hostname", ""),
        )
    return parts


def check_recovery(
    clients: list[Client],
    parts: dict[int, Part],
    *,
    adopt: bool = True,
    power_cut: bool = False,
    outcomes: collections.Counter[str] | None = None,
) -> list[str]:
    """Compare a recovered table with what the clients were told.

    Returns the failures (empty when the table is right).  With ``adopt``,
    each client's model becomes what was recovered, and its unanswered
    request is forgotten, ready for the next round.  ``power_cut``: see
    :meth:`Client.candidates`.  ``outcomes`` counts how the unanswered
    requests turned out.
    """
    failures: list[str] = []
    owned = {client.subnet_id for client in clients}
    for subnet_id in sorted(set(parts) - owned):
        failures.append(f"leases in subnet {subnet_id}, which no client writes")
    for client in clients:
        actual = parts.get(client.subnet_id, Part())
        options = client.candidates(power_cut=power_cut)
        if actual not in options:
            failures.append(_difference(client, actual, options))
            continue
        if outcomes is not None and client.unanswered:
            found = options.index(actual)
            if found == 0:
                outcomes["unanswered requests found absent (or with no effect)"] += 1
            elif found == len(options) - 1:
                outcomes["unanswered requests found applied whole"] += 1
            else:
                outcomes["unanswered batches found applied in part"] += 1
        if adopt:
            client.model = actual.copy()
            client.unanswered = []
    return failures


def _difference(client: Client, actual: Part, options: list[Part]) -> str:
    expected = options[0]
    lines = [
        f"client {client.index}: recovered part matches none of "
        f"{len(options)} candidates (unanswered: "
        f"{[op.request['command'] for op in client.unanswered]})"
    ]
    for name in ("v4", "v6"):
        have, want = getattr(actual, name), getattr(expected, name)
        missing = sorted(set(want) - set(have))
        extra = sorted(set(have) - set(want))
        changed = sorted(a for a in set(have) & set(want) if have[a] != want[a])
        if missing or extra or changed:
            lines.append(
                f"  {name}: missing {missing[:5]} ({len(missing)}), extra "
                f"{extra[:5]} ({len(extra)}), changed "
                f"{[(a, want[a], have[a]) for a in changed[:3]]} ({len(changed)})"
            )
    return "\n".join(lines)


@contextlib.contextmanager
def running(clients: list[Client], path: str) -> Iterator[threading.Event]:
    """Run every client in a thread; on exit, wait for them all to end.

    Setting the yielded event stops them after their current request.
    """
    stop = threading.Event()
    threads = [
        threading.Thread(target=client.run, args=(path, stop), daemon=True)
        for client in clients
    ]
    for thread in threads:
        thread.start()
    try:
        yield stop
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=120)


def file_state(workdir: Path) -> tuple[str, ...]:
    """Which compaction files exist, e.g. ``("4:.1", "4:.output")``."""
    present = []
    for name in LIVE_NAMES:
        family = name[-5]
        for suffix in COMPACTION_SUFFIXES:
            if (workdir / (name + suffix)).exists():
                present.append(f"{family}:{suffix}")
    return tuple(present)


# Power cuts.


def drop_caches() -> str | None:
    """Drop the clean page cache; why not, or None when done."""
    try:
        with open("/proc/sys/vm/drop_caches", "w") as control:
            control.write("3\n")
    except OSError as error:
        return f"cannot drop the page cache: {error.strerror}"
    return None


_libc = ctypes.CDLL(None, use_errno=True)
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [
    ctypes.c_void_p,
    ctypes.c_size_t,
    ctypes.c_int,
    ctypes.c_int,
    ctypes.c_int,
    ctypes.c_long,
]
_libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
_libc.mincore.argtypes = [
    ctypes.c_void_p,
    ctypes.c_size_t,
    ctypes.POINTER(ctypes.c_ubyte),
]
_PROT_READ, _MAP_SHARED = 1, 1


def resident_pages(path: Path) -> list[int]:
    """The pages of ``path`` in the page cache (mapping faults none in)."""
    size = path.stat().st_size
    if size == 0:
        return []
    fd = os.open(path, os.O_RDONLY)
    try:
        address = _libc.mmap(None, size, _PROT_READ, _MAP_SHARED, fd, 0)
        if address is None or address == ctypes.c_void_p(-1).value:
            raise OSError(ctypes.get_errno(), "mmap failed")
        try:
            pages = (size + PAGE - 1) // PAGE
            vector = (ctypes.c_ubyte * pages)()
            if _libc.mincore(address, size, vector):
                raise OSError(ctypes.get_errno(), "mincore failed")
            return [page for page in range(pages) if vector[page] & 1]
        finally:
            _libc.munmap(address, size)
    finally:
        os.close(fd)


def power_cut_image(source: Path, target: Path) -> dict[str, int]:
    """Copy the lease files of ``source`` as a power cut could leave them.

    Call after :func:`drop_caches` with no process writing them.  See the
    module docstring.  ``F.pid`` is not copied: after a power cut no
    compaction runs.  Returns, per file, how many bytes were dropped.
    """
    target.mkdir(parents=True, exist_ok=True)
    names = [
        path
        for path in sorted(source.iterdir())
        if path.name.startswith("kea-leases") and not path.name.endswith(".pid")
    ]
    # First every file's residency, before any read brings pages back.
    resident = {path: resident_pages(path) for path in names}
    dropped: dict[str, int] = {}
    for path in names:
        data = path.read_bytes()
        pages = resident[path]
        keep = len(data) if not pages else min(len(data), (pages[0] + 1) * PAGE)
        (target / path.name).write_bytes(data[:keep])
        if keep < len(data):
            dropped[path.name] = len(data) - keep
    return dropped
