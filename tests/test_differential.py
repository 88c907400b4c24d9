"""Differential suite: leased answers every case the way Kea 2.2 does.

Each case in :mod:`differential_cases` is a sequence of requests for one
family.  The same sequence goes to a Kea server of that family and to
leased, both started from the same configuration, and the answers are
compared step by step after two normalisations applied alike to both sides:

- Kea appends the position of the offending JSON element to many texts
  (``missing parameter 'hw-address' (<wire>:0:37)``); that suffix is cut.
- A lease added without ``expire`` gets the current time as ``cltt``; such
  values (within a few seconds of the wall clock) become a marker, while
  every other ``cltt`` is compared exactly.
- Statistics: each sample's time (checked to have Kea's form) becomes a
  marker, and only the newest sample is compared unless the step asks for
  the whole history: leased records one sample per statistic per command,
  Kea 2.2 one per lease changed and a few more (a wipe sets values that did
  not change), so histories agree only where one command changes one
  lease.  The lists of ``statistic-get-all`` are compared on the names
  both keep: Kea's packet counters (``pkt4-*``, ``v4-*``, ...) are left
  out, and so are the names only newer Kea and leased keep (global
  ``assigned-*``, ``pool[...]``, ``pd-pool[...]``, ``registered-nas``).

On a configuration with DNS updates on, each server sends its
NameChangeRequests to a UDP socket of the suite's own; a step that states
how many requests Kea sends has those compared field by field with leased's,
and a case that ends with requests nobody expected fails.

Steps that are deliberate differences (Kea crashes, loses data or claims a
success it did not achieve, or leased answers something Kea 2.2 lacks)
carry leased's expected answer and a reason; leased is checked against that
instead.  Each step also states the result
code Kea is expected to give, which keeps the cases honest about what they
exercise even where leased is not there to compare.

Servers are started once per module (one Kea per family and configuration,
one leased per configuration) and emptied between cases with the wipe
commands; a server that does not come back empty is restarted.

Running this file as a script prints Kea's answer to every step, which is
how the cases are checked against the reference; with ``--compare`` it
prints every mismatch of leased instead (run from the top of the
repository)::

    PYTHONPATH=. python tests/test_differential.py [--compare] [substring]
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

import leased
from leased import ncr
from leased.client import send_raw
from leased.harness import Daemon, kea_missing_reason, run_kea, run_leased

# The cases live beside this file; ``tests`` may or may not be a package.
if __package__:
    from .differential_cases import ABSENT, CASES, CONFIGS, Case, Step
else:
    from differential_cases import ABSENT, CASES, CONFIGS, Case, Step

# A ``cltt`` this close to the wall clock (in seconds) is taken as "now".
NOW_SLACK = 5
NOW = "<now>"

# Kea's position suffix, with the " in" some texts put before it.
_POSITION = re.compile(r"(?:\s+in)?\s*\(<wire>:\d+:\d+\)")

LEASED_MAIN = Path(leased.__file__).with_name("__main__.py")


def leased_missing_reason() -> str | None:
    """Tell why leased cannot be run yet, or return None when it can."""
    if not LEASED_MAIN.exists():
        return "the leased daemon (leased/__main__.py) is not written yet"
    return None


def request_bytes(step: Step) -> bytes:
    """Encode the request a step sends, exactly as it goes on the wire."""
    if step.raw is not None:
        return step.raw
    request: dict[str, Any] = {"command": step.command}
    if step.arguments is not ABSENT:
        request["arguments"] = step.arguments
    if step.service is not ABSENT:
        request["service"] = step.service
    encoded: bytes = orjson.dumps(request)
    return encoded


def send(daemon: Daemon, step: Step) -> Any:
    """Send one step and return the decoded answer (None if there was none)."""
    if step.half_close:
        answer = send_half_closed(daemon.socket_path, request_bytes(step))
    else:
        answer = send_raw(daemon.socket_path, request_bytes(step), timeout=15)
    if not answer:
        return None
    try:
        # The standard decoder keeps integers past 64 bits exact (the size
        # of a large IPv6 pool); orjson would make them floats.
        return json.loads(answer)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {"undecodable answer": answer.decode(errors="replace")}


def send_half_closed(path: str, request: bytes) -> bytes:
    """Send ``request``, shut the sending side, read until the server ends."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(15)
        sock.connect(path)
        sock.sendall(request)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(1 << 16):
            chunks.append(chunk)
    return b"".join(chunks)


# How long to wait for a server's NameChangeRequests, and for stray ones.
NCR_TIMEOUT = 5.0
NCR_SETTLE = 0.3


def wants_requests(config: dict[str, Any]) -> bool:
    """Whether a configuration turns DNS updates on for some family."""
    return any(
        section.get("dhcp-ddns", {}).get("enable-updates") is True
        for section in config.values()
        if isinstance(section, dict)
    )


def pointed_at(config: dict[str, Any], port: int) -> dict[str, Any]:
    """Copy ``config`` with every enabled ``dhcp-ddns`` sending to ``port``."""
    copy: dict[str, Any] = orjson.loads(orjson.dumps(config))
    for section in copy.values():
        dhcp_ddns = section.get("dhcp-ddns", {})
        if dhcp_ddns.get("enable-updates") is True:
            dhcp_ddns["server-port"] = port
    return copy


def receive_requests(
    sock: socket.socket, count: int, timeout: float = NCR_TIMEOUT
) -> list[Any]:
    """Wait for ``count`` requests, then take any more already there."""
    got: list[Any] = []
    deadline = time.monotonic() + timeout
    while len(got) < count:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        sock.settimeout(left)
        try:
            got.append(ncr.decode(sock.recv(65535)))
        except TimeoutError:
            break
    sock.setblocking(False)
    try:
        while True:
            got.append(ncr.decode(sock.recv(65535)))
    except BlockingIOError:
        pass
    finally:
        sock.setblocking(True)
    return got


def normalise(answer: Any, now: float, step: Step | None = None) -> Any:
    """Cut position suffixes from the text; mark ``cltt`` values near now.

    The answers of the statistic commands are normalised as the module's
    documentation says.
    """
    if not isinstance(answer, dict):
        return answer
    result = dict(answer)
    if isinstance(result.get("text"), str):
        result["text"] = _POSITION.sub("", result["text"])
    if step is not None and step.command in STATISTIC_READS:
        if isinstance(result.get("arguments"), dict):
            result["arguments"] = _statistics(
                result["arguments"],
                history=step.history,
                shared_only=step.command != "statistic-get",
            )
        return result
    if "arguments" in result:
        result["arguments"] = _mark_now(result["arguments"], now)
    return result


STATISTIC_READS = ("statistic-get", "statistic-get-all", "statistic-global-get-all")
SAMPLE_TIME = "<time>"
_SAMPLE_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}")

# Names only one side keeps: Kea 2.2's packet and allocation counters, and
# what only newer Kea (and leased) count.
_NOT_SHARED = re.compile(
    r"(^|\.)(pkt[46]-|v[46]-)"
    r"|^assigned-(addresses|nas|pds)$"
    r"|\.(pool|pd-pool)\["
    r"|\.registered-nas$"
)


def _statistics(
    statistics: dict[str, Any], *, history: bool, shared_only: bool
) -> dict[str, Any]:
    """Mark sample times; keep the newest sample, and shared names only."""
    out = {}
    for name, samples in statistics.items():
        if shared_only and _NOT_SHARED.search(name):
            continue
        marked = [
            [value, SAMPLE_TIME if _SAMPLE_TIME.fullmatch(str(when)) else when]
            for value, when in samples
        ]
        out[name] = marked if history else marked[:1]
    return out


def _mark_now(value: Any, now: float) -> Any:
    """Replace each ``cltt`` within :data:`NOW_SLACK` of ``now`` by a mark."""
    if isinstance(value, list):
        return [_mark_now(item, now) for item in value]
    if not isinstance(value, dict):
        return value
    marked = {}
    for key, item in value.items():
        near_now = (
            key == "cltt"
            and isinstance(item, int)
            and not isinstance(item, bool)
            and abs(item - now) <= NOW_SLACK
        )
        marked[key] = NOW if near_now else _mark_now(item, now)
    return marked


def explain(kea: Any, leased: Any) -> str:
    """Point at where two lease lists differ, as answers can be long."""
    if not (isinstance(kea, dict) and isinstance(leased, dict)):
        return ""
    kea_leases = (kea.get("arguments") or {}).get("leases")
    leased_leases = (leased.get("arguments") or {}).get("leases")
    if not (isinstance(kea_leases, list) and isinstance(leased_leases, list)):
        return ""

    def addresses(leases: list[Any]) -> list[Any]:
        return [lease.get("ip-address") for lease in leases if isinstance(lease, dict)]

    lines = []
    if addresses(kea_leases) != addresses(leased_leases):
        lines.append(f"  Kea's order:    {addresses(kea_leases)}")
        lines.append(f"  leased's order: {addresses(leased_leases)}")
    by_address = {lease.get("ip-address"): lease for lease in leased_leases}
    for lease in kea_leases:
        other = by_address.get(lease.get("ip-address"))
        if other is not None and other != lease:
            keys = sorted(set(lease) | set(other))
            differ = {
                k: (lease.get(k), other.get(k))
                for k in keys
                if lease.get(k) != other.get(k)
            }
            lines.append(f"  {lease.get('ip-address')} (Kea, leased): {differ}")
    return "".join(f"\n{line}" for line in lines)


def describe(step: Step) -> str:
    """Show a step's request as text, for reports."""
    return request_bytes(step).decode(errors="replace")


def matches_expected(answer: Any, expected: Any) -> bool:
    """Check a leased answer against a deliberate difference's expectation.

    A map expectation is compared on the keys it names only, so a step may
    pin the result code alone when the exact text is leased's own choice;
    any other expectation (a batch's list of answers) must match exactly.
    """
    if not isinstance(expected, dict):
        return bool(answer == expected)
    if not isinstance(answer, dict):
        return False
    return all(answer.get(key, ABSENT) == value for key, value in expected.items())


class Servers:
    """The module's servers: Kea per family and config, leased per config.

    Servers start on first use and stay up for the whole module; a server
    that is dead or not empty after a case is restarted.  A server that
    failed to start is not tried again, so one broken start fails the
    remaining cases at once instead of waiting for each to time out.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.stacks: dict[tuple[str, int, str], contextlib.ExitStack] = {}
        self.daemons: dict[tuple[str, int, str], Daemon] = {}
        self.failures: dict[tuple[str, int, str], str] = {}
        # Where each server's NameChangeRequests arrive, for configurations
        # with DNS updates on.
        self.listeners: dict[tuple[str, int, str], socket.socket] = {}
        self.starts = 0

    def get(self, kind: str, family: int, config: str) -> Daemon:
        """Return the running server, starting it if needed.

        Args:
            kind: ``"kea"`` or ``"leased"``.
            family: 4 or 6; leased serves both, so it is shared by both.
            config: A key of :data:`differential_cases.CONFIGS`.
        """
        key = (kind, family if kind == "kea" else 0, config)
        if key in self.daemons:
            return self.daemons[key]
        if key in self.failures:
            raise RuntimeError(f"{kind} did not start earlier: {self.failures[key]}")
        self.starts += 1
        workdir = self.root / f"{kind}{key[1] or ''}-{config}-{self.starts}"
        stack = contextlib.ExitStack()
        raw = CONFIGS[config]
        if wants_requests(raw):
            listener = stack.enter_context(
                socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            )
            listener.bind(("127.0.0.1", 0))
            self.listeners[key] = listener
            raw = pointed_at(raw, listener.getsockname()[1])
        try:
            if kind == "kea":
                database = raw[f"Dhcp{family}"].get("lease-database", {})
                lease_file = database.get("name") if database.get("persist") else None
                daemon = stack.enter_context(
                    run_kea(raw, family, workdir, lease_file=lease_file)
                )
            else:
                daemon = stack.enter_context(run_leased(raw, workdir))
        except (RuntimeError, TimeoutError, OSError) as error:
            stderr = workdir / "leased.stderr"
            said = stderr.read_text(errors="replace")[-2000:] if stderr.exists() else ""
            self.failures[key] = f"{error} {said}".strip()
            self.listeners.pop(key, None)
            stack.close()
            raise
        self.stacks[key] = stack
        self.daemons[key] = daemon
        return daemon

    def stop(self, kind: str, family: int, config: str) -> None:
        """Stop one server, if it runs."""
        key = (kind, family if kind == "kea" else 0, config)
        self.daemons.pop(key, None)
        self.listeners.pop(key, None)
        stack = self.stacks.pop(key, None)
        if stack is not None:
            stack.close()

    def listener(self, kind: str, family: int, config: str) -> socket.socket | None:
        """Where a running server's NameChangeRequests arrive, if anywhere."""
        return self.listeners.get((kind, family if kind == "kea" else 0, config))

    def empty(self, kind: str, family: int, config: str) -> None:
        """Drop each lease of ``family``; restart the server if that fails."""
        key = (kind, family if kind == "kea" else 0, config)
        daemon = self.daemons.get(key)
        if daemon is None:
            return
        try:
            daemon.command(f"lease{family}-wipe")
            left = daemon.command(f"lease{family}-get-all")
            clean = isinstance(left, dict) and left.get("arguments") == {"leases": []}
        except (OSError, ValueError):
            clean = False
        if not clean or daemon.process.poll() is not None:
            self.stop(kind, family, config)

    def close(self) -> None:
        """Stop every server."""
        for kind, family, config in list(self.stacks):
            self.stop(kind, family, config)


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    """The module's Kea and leased servers, stopped at the end."""
    pool = Servers(tmp_path_factory.mktemp("differential"))
    try:
        yield pool
    finally:
        pool.close()


def run_case(case: Case, servers: Servers, *, with_leased: bool) -> list[str]:
    """Replay ``case`` on Kea (and leased) and return the problems found.

    Args:
        case: The case to replay.
        servers: Where to find the servers.
        with_leased: False to check only Kea's result codes.

    Returns:
        One paragraph per problem: the step, its request, both answers.
    """
    kea = servers.get("kea", case.family, case.config)
    daemon = servers.get("leased", case.family, case.config) if with_leased else None
    kea_requests = servers.listener("kea", case.family, case.config)
    leased_requests = servers.listener("leased", case.family, case.config)
    problems = []

    for index, step in enumerate(case.steps, 1):
        where = f"{case.name} step {index}: {describe(step)}"

        # Kea first: its answer is the reference, and its result code is
        # what the case data says it should be.
        kea_answer = None
        if step.to_kea:
            kea_answer = normalise(send(kea, step), time.time(), step)
            if kea.process.poll() is not None:
                problems.append(f"{where}\n  Kea died (exit {kea.process.returncode})")
                servers.stop("kea", case.family, case.config)
                break
            got = kea_answer.get("result") if isinstance(kea_answer, dict) else None
            if step.result is not None and got != step.result:
                problems.append(
                    f"{where}\n  case data expects result {step.result} from Kea,"
                    f" Kea gave {kea_answer}"
                )
        kea_ncrs: list[Any] = []
        if step.to_kea and step.ncrs is not None and kea_requests is not None:
            kea_ncrs = receive_requests(kea_requests, step.ncrs)
            if len(kea_ncrs) != step.ncrs:
                problems.append(
                    f"{where}\n  case data expects {step.ncrs} NCRs from Kea,"
                    f" Kea sent {kea_ncrs}"
                )
        if daemon is None:
            continue

        # Then leased, against Kea or against the deliberate difference.
        try:
            leased_answer = normalise(send(daemon, step), time.time(), step)
        except OSError as error:
            leased_answer = f"<no answer: {error!r}>"
        if step.leased is not None:
            if not matches_expected(leased_answer, step.leased):
                problems.append(
                    f"{where}\n  deliberate difference ({step.why})\n"
                    f"  expected from leased: {step.leased}\n"
                    f"  leased:               {leased_answer}"
                )
        elif leased_answer != kea_answer:
            problems.append(
                f"{where}\n  Kea:    {kea_answer}\n  leased: {leased_answer}"
                f"{explain(kea_answer, leased_answer)}"
            )
        if step.ncrs is not None and leased_requests is not None:
            # Against Kea's requests, or the count the case states.
            compared = step.to_kea and step.leased is None
            expected = kea_ncrs if compared else None
            leased_ncrs = receive_requests(
                leased_requests, len(kea_ncrs) if compared else step.ncrs
            )
            if (expected is not None and leased_ncrs != expected) or (
                expected is None and len(leased_ncrs) != step.ncrs
            ):
                problems.append(
                    f"{where}\n  NCRs from Kea:    {expected}\n"
                    f"  NCRs from leased: {leased_ncrs}"
                )
        if daemon.process.poll() is not None:
            problems.append(
                f"{where}\n  leased died (exit {daemon.process.returncode})"
            )
            servers.stop("leased", case.family, case.config)
            break

    # No request may arrive that no step accounted for.
    if kea_requests is not None or leased_requests is not None:
        time.sleep(NCR_SETTLE)
        for name, sock in (("Kea", kea_requests), ("leased", leased_requests)):
            stray = receive_requests(sock, 0) if sock is not None else []
            if stray:
                problems.append(
                    f"{case.name}: NCRs nobody expected from {name}: {stray}"
                )

    # Leave both servers empty for the next case of the module.
    servers.empty("kea", case.family, case.config)
    if with_leased:
        servers.empty("leased", case.family, case.config)
    return problems


@pytest.mark.skipif(kea_missing_reason() is not None, reason=kea_missing_reason() or "")
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_differential(case: Case, servers: Servers) -> None:
    """leased answers each step of the case as Kea 2.2 does."""
    missing = leased_missing_reason()

    problems = run_case(case, servers, with_leased=missing is None)

    assert not problems, "\n\n".join(problems)
    if missing is not None:
        pytest.skip(f"Kea's side checked; leased steps skipped: {missing}")


def test_cases_are_well_formed() -> None:
    """Every case names a known configuration and each step is sendable."""
    names = [case.name for case in CASES]

    assert len(names) == len(set(names))
    for case in CASES:
        assert case.family in (4, 6), case.name
        assert case.config in CONFIGS, case.name
        assert case.steps, case.name
        for step in case.steps:
            assert (step.raw is None) != (step.command is None), case.name
            assert (step.leased is None) == (not step.why), case.name
            assert step.to_kea or step.leased is not None, case.name


def print_kea_answers(pattern: str = "") -> None:
    """Print Kea's answer to each step of the cases named with ``pattern``."""
    reason = kea_missing_reason()
    if reason is not None:
        sys.exit(reason)
    with tempfile.TemporaryDirectory() as root:
        servers = Servers(Path(root))
        try:
            for case in CASES:
                if pattern not in case.name:
                    continue
                print(f"== {case.name} (v{case.family}, {case.config})")
                kea = servers.get("kea", case.family, case.config)
                for index, step in enumerate(case.steps, 1):
                    if not step.to_kea:
                        print(f"{index:3} {describe(step)}\n    (not sent to Kea)")
                        continue
                    answer = normalise(send(kea, step), time.time(), step)
                    got = answer.get("result") if isinstance(answer, dict) else None
                    flag = "" if step.result in (None, got) else "  <-- expected"
                    print(f"{index:3} {describe(step)}\n    {answer}{flag}")
                servers.empty("kea", case.family, case.config)
        finally:
            servers.close()


def print_mismatches(pattern: str = "") -> None:
    """Print every mismatch of leased in the cases named with ``pattern``."""
    reason = kea_missing_reason() or leased_missing_reason()
    if reason is not None:
        sys.exit(reason)
    with tempfile.TemporaryDirectory() as root:
        servers = Servers(Path(root))
        try:
            for case in CASES:
                if pattern in case.name:
                    for problem in run_case(case, servers, with_leased=True):
                        print(problem, end="\n\n")
        finally:
            servers.close()


if __name__ == "__main__":
    arguments = sys.argv[1:]
    if arguments[:1] == ["--compare"]:
        print_mismatches(arguments[1] if len(arguments) > 1 else "")
    else:
        print_kea_answers(arguments[0] if arguments else "")
