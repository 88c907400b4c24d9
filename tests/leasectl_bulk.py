"""The measured export/import run: ``python -m tests.leasectl_bulk``.

Loads 100,000 varied leases (two thirds IPv4, a quarter of the IPv6 ones
prefixes; ``--count`` changes it) into a daemon, then times the real
``leasectl`` program with its stderr on a terminal (a pseudo-terminal, so
the progress display is drawn and checked):

1. ``leasectl export -o all.jsonl`` (both families, JSON lines);
2. ``leasectl export --family 4 -o 4.csv`` and ``--family 6 -o 6.csv``;
3. ``leasectl import all.jsonl`` into a fresh daemon;
4. ``leasectl import 4.csv`` and ``6.csv`` into another fresh daemon;

and checks that both copies hold exactly the original leases.  The test
suite runs the same round trip with 10,000 leases
(tests/test_leasectl.py).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from leased.harness import run_leased
from tests import leasegen
from tests.test_leasectl import run_program, table_of


def timed(step: Callable[[], tuple[int, bytes, bytes]]) -> tuple[float, bytes]:
    """Run one leasectl step; its seconds and what it drew on the terminal."""
    started = time.monotonic()
    status, _, terminal = step()
    seconds = time.monotonic() - started
    if status != 0:
        raise SystemExit(f"leasectl failed ({status}): {terminal.decode()[-500:]}")
    if b"\r" not in terminal:
        raise SystemExit("no progress display on the terminal")
    return seconds, terminal


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=100_000)
    args = parser.parse_args()
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="leasectl-bulk-") as name:
        work = Path(name)
        files = {key: str(work / key) for key in ("all.jsonl", "4.csv", "6.csv")}
        with run_leased(leasegen.CONFIG, work / "source") as source:
            started = time.monotonic()
            leasegen.load(source.socket_path, leasegen.lease_commands(args.count))
            figures["load (batches, no leasectl)"] = time.monotonic() - started
            original = table_of(source.socket_path)
            sock = source.socket_path
            figures["export JSON lines"], _ = timed(
                lambda: run_program(
                    "-s", sock, "export", "-o", files["all.jsonl"], stderr_tty=True
                )
            )
            figures["export CSV, IPv4"], _ = timed(
                lambda: run_program(
                    "-s",
                    sock,
                    "export",
                    "--family",
                    "4",
                    "-o",
                    files["4.csv"],
                    stderr_tty=True,
                )
            )
            figures["export CSV, IPv6"], _ = timed(
                lambda: run_program(
                    "-s",
                    sock,
                    "export",
                    "--family",
                    "6",
                    "-o",
                    files["6.csv"],
                    stderr_tty=True,
                )
            )
        with run_leased(leasegen.CONFIG, work / "jsonl") as copy:
            figures["import JSON lines"], terminal = timed(
                lambda: run_program(
                    "-s",
                    copy.socket_path,
                    "import",
                    files["all.jsonl"],
                    stderr_tty=True,
                )
            )
            if b"100%" not in terminal:
                raise SystemExit("the import's progress bar never reached 100%")
            same_jsonl = table_of(copy.socket_path) == original
        with run_leased(leasegen.CONFIG, work / "csv") as copy:
            figures["import CSV, IPv4"], _ = timed(
                lambda: run_program(
                    "-s", copy.socket_path, "import", files["4.csv"], stderr_tty=True
                )
            )
            figures["import CSV, IPv6"], _ = timed(
                lambda: run_program(
                    "-s", copy.socket_path, "import", files["6.csv"], stderr_tty=True
                )
            )
            same_csv = table_of(copy.socket_path) == original
    if not (same_jsonl and same_csv):
        raise SystemExit(f"copies differ: jsonl same {same_jsonl}, csv same {same_csv}")
    v4 = args.count * 2 // 3
    print(f"leasectl bulk run: {args.count:,} leases, both copies identical")
    for step, seconds in figures.items():
        count = (
            v4 if "IPv4" in step else args.count - v4 if "IPv6" in step else args.count
        )
        print(f"  {step:30} {seconds:6.2f} s  {count / seconds:>9,.0f} leases/s")


if __name__ == "__main__":
    main()
