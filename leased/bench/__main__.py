"""The ``leased-bench`` command line: run, print a table, save the JSON."""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import attrs
import orjson

import leased
from leased.bench import report, runner
from leased.bench.workloads import SIDES, WORKLOADS, Plan
from leased.harness import kea_missing_reason

# Tiny counts and durations: the whole smoke run takes a few seconds and only
# proves that every workload still runs end to end.
SMOKE_PLAN = Plan(
    duration=0.2,
    warmup=0.05,
    repeat=1,
    leases=200,
    clients=32,
    batch_size=50,
    big=2000,
    mid=1000,
    page=100,
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="leased-bench",
        description="Measure leased against Kea 2.2 on the same workloads, "
        "alternating the two servers, and print medians, spreads and the "
        "ratio leased/Kea beside each target.",
    )
    parser.add_argument(
        "--workload",
        action="extend",
        nargs="+",
        choices=list(WORKLOADS),
        metavar="NAME",
        help=f"workloads to run (default: all): {', '.join(WORKLOADS)}",
    )
    parser.add_argument("--repeat", type=int, help="timed runs per server (default 3)")
    parser.add_argument(
        "--duration", type=float, help="seconds per timed run (default 3)"
    )
    parser.add_argument(
        "--warmup",
        type=float,
        help="seconds of load before each timed run (default 0.5)",
    )
    parser.add_argument(
        "--leases", type=int, help="leases preloaded into each server (default 10000)"
    )
    parser.add_argument(
        "--clients", type=int, help="clients of concurrent-get (default 32)"
    )
    parser.add_argument(
        "--batch-size", type=int, help="commands per batch in batch-get (default 1000)"
    )
    parser.add_argument(
        "--big",
        type=int,
        help="leases in the large tables: start-up, scan, compaction (default 1000000)",
    )
    parser.add_argument(
        "--mid",
        type=int,
        help="leases in the get-all and wipe table (default 200000)",
    )
    parser.add_argument(
        "--page", type=int, help="limit of each get-page in the scan (default 1000)"
    )
    parser.add_argument(
        "--cache",
        type=Path,
        metavar="DIR",
        help="where generated lease files are kept between runs "
        "(default: $XDG_CACHE_HOME/leased-bench or ~/.cache/leased-bench)",
    )
    parser.add_argument(
        "--placement",
        choices=runner.PLACEMENTS,
        default="split",
        help="split: server and load generator pinned to two different cores "
        "(default); same: both on one core; free: not pinned",
    )
    parser.add_argument(
        "--json", type=Path, metavar="OUT", help="write all figures here"
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="tiny counts and durations, to check that every workload runs",
    )
    parser.add_argument("--no-kea", action="store_true", help="measure leased only")
    parser.add_argument("--no-leased", action="store_true", help="measure Kea only")
    parser.add_argument(
        "--list", action="store_true", help="list the workloads and exit"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    return parser


def _plan(args: argparse.Namespace) -> Plan:
    plan = SMOKE_PLAN if args.smoke else Plan()
    changes = {
        name: getattr(args, name)
        for name in (
            "repeat",
            "duration",
            "warmup",
            "leases",
            "clients",
            "batch_size",
            "big",
            "mid",
            "page",
        )
        if getattr(args, name) is not None
    }
    return attrs.evolve(plan, **changes)


def _machine() -> str:
    """Describe the machine in one line: cores, CPU model, memory, load."""
    model = "unknown CPU"
    memory = ""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as meminfo:
            kilobytes = int(meminfo.readline().split()[1])
            memory = f", {kilobytes / 1024 / 1024:.1f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return (
        f"{os.cpu_count()} cores ({model}){memory}, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}; "
        f"load average {load} at start"
    )


def _kea_version() -> str:
    binary = shutil.which("kea-dhcp4") or "/usr/sbin/kea-dhcp4"
    try:
        result = subprocess.run(
            [binary, "-v"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return "version unknown"
    return f"kea-dhcp4 {result.stdout.strip() or 'version unknown'}"


def _leased_revision() -> str:
    """Name the leased source measured: version, commit, local changes."""
    root = Path(leased.__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        changes = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--", "leased"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return leased.__version__
    dirty = ", with uncommitted changes" if changes else ""
    return f"{leased.__version__} (commit {commit}{dirty})"


def _let_children_import_leased() -> None:
    """Make ``python -m leased`` work in child processes, installed or not."""
    root = str(Path(leased.__file__).resolve().parent.parent)
    paths = [
        part for part in os.environ.get("PYTHONPATH", "").split(os.pathsep) if part
    ]
    if root not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([root, *paths])


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return 0, or 1 when something could not be measured.

    Args:
        argv: The arguments, ``sys.argv[1:]`` when None.

    Returns:
        The exit status: 1 when a server could not be measured or gave
        answers the workload did not expect; missed targets do not count.
    """
    args = _parser().parse_args(argv)
    if args.list:
        for workload in WORKLOADS.values():
            print(f"{workload.name:<16} {workload.summary}")
        return 0
    plan = _plan(args)
    workloads = [WORKLOADS[name] for name in (args.workload or WORKLOADS)]

    # Decide the sides before anything starts: without Kea, leased only.
    facts: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": _machine(),
        "command": " ".join(
            ["leased-bench", *(sys.argv[1:] if argv is None else argv)]
        ),
        "leased_version": _leased_revision(),
        "plan": attrs.asdict(plan),
        "clients": plan.clients,
    }
    sides = list(SIDES)
    missing = "--no-kea given" if args.no_kea else kea_missing_reason()
    if missing is not None:
        sides.remove("kea")
        facts["kea_missing"] = missing
    else:
        facts["kea_version"] = _kea_version()
    if args.no_leased:
        sides.remove("leased")
    _let_children_import_leased()

    def progress(line: str) -> None:
        if not args.quiet:
            print(f"[leased-bench] {line}", file=sys.stderr, flush=True)

    ceiling, outcomes, run_facts = runner.run(
        workloads,
        plan,
        sides=sides,
        placement=args.placement,
        cache=args.cache,
        progress=progress,
    )
    facts.update(run_facts)
    facts["load_after"] = list(os.getloadavg())

    print(report.to_text(ceiling, outcomes, facts), end="")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_bytes(
            orjson.dumps(
                report.to_json(ceiling, outcomes, facts), option=orjson.OPT_INDENT_2
            )
        )
    return 1 if report.problems(outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
