"""The long crash run: ``python -m tests.crash_soak --kills 200``.

Several clients write (add, update, del, wipe, bulk-apply, batches; IPv4
and IPv6; see tests/crashkit.py) while compactions run (``lfc-interval`` 1
and ``kea-lfc-start`` among the commands); the daemon is SIGKILLed at a
random moment, alone (its compaction child runs on) or with its children
(as systemd's control-group kill does), or while it is still starting up.
After each kill it is started again and the recovered table is checked
against what the clients were told.  ``--durable`` turns durable writes on
and, where the page cache may be dropped, also checks after each kill of
the whole process group that the lease files as a power cut could leave
them hold every acknowledged change.

Prints what it did; exits 1 at the first failed check, with its details.
"""

from __future__ import annotations

import argparse
import collections
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

from tests.crashkit import (
    Client,
    Leased,
    check_recovery,
    crash_config,
    drop_caches,
    file_state,
    power_cut_image,
    running,
    table_parts,
    wait_gone,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=200)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--durable", action="store_true")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--keep", action="store_true", help="keep the data directory at the end"
    )
    args = parser.parse_args()

    rng = random.Random(args.seed)
    workdir = Path(tempfile.mkdtemp(prefix="leased-crash-soak-"))
    data = workdir / "data"
    config = crash_config(args.clients, durable=args.durable, lfc_interval=1)
    clients = [
        Client(index, seed=args.seed * 1000 + index, pool=250)
        for index in range(args.clients)
    ]
    power_cut = args.durable and drop_caches() is None
    leased = Leased(data, config)
    counts: collections.Counter[str] = collections.Counter()
    states: collections.Counter[str] = collections.Counter()
    started = time.monotonic()
    leased.start()
    try:
        for kill in range(1, args.kills + 1):
            mode = rng.choices(["daemon", "all", "start-up"], [45, 45, 10])[0]
            counts[f"kills: {mode}"] += 1
            left: list[int] = []
            if mode == "start-up":
                leased.stop()
                leased.spawn()
                time.sleep(rng.uniform(0.0, 0.3))
                left = leased.kill(children=True)
            else:
                with running(clients, leased.socket_path):
                    time.sleep(rng.uniform(0.05, 0.6))
                    left = leased.kill(children=mode == "all")
                    state = ",".join(file_state(data)) or "no compaction files"
                    states[state] += 1
                counts["requests unanswered at the kill"] += sum(
                    bool(client.unanswered) for client in clients
                )
            if left:
                counts["kills that left a compaction child running"] += 1
            if power_cut and mode == "all":
                failures = cut_power(workdir, data, config, clients, kill)
                counts["power-cut images checked"] += 1
                if failures:
                    return report_failure(kill, "power-cut image", failures, leased)
            leased.start()
            failures = check_recovery(clients, table_parts(leased), outcomes=counts)
            errors = [error for client in clients for error in client.errors]
            if failures or errors:
                return report_failure(kill, mode, failures + errors, leased)
            wait_gone(left)
            if kill % 20 == 0:
                print(
                    f"{kill} kills, "
                    f"{sum(client.acknowledged for client in clients)} changes "
                    f"acknowledged, {time.monotonic() - started:.0f} s",
                    flush=True,
                )
        leased.stop()
        leased.start()
        failures = check_recovery(clients, table_parts(leased))
        if failures:
            return report_failure(args.kills, "final clean restart", failures, leased)
        leased.stop()
    finally:
        if leased.process is not None and leased.process.poll() is None:
            leased.kill(children=True)

    log = leased.log_path.read_text(errors="replace")
    print(
        f"crash soak passed: {args.kills} kills "
        f"({'durable writes' if args.durable else 'default writes'}, "
        f"{args.clients} clients, seed {args.seed}), "
        f"{sum(client.acknowledged for client in clients)} changes acknowledged, "
        f"0 lost, 0 extra, 0 half applied, "
        f"{time.monotonic() - started:.0f} s"
    )
    for name, value in sorted(counts.items()):
        print(f"  {name}: {value}")
    print(f"  torn rows cut at start-up: {log.count('ends in a torn row')}")
    print(
        "  changes of several rows cut short at start-up: "
        f"{log.count('change that was cut short')}"
    )
    print(
        "  starts that waited for a compaction: "
        f"{log.count('waiting for a running compaction')}"
    )
    print("  compaction files present at the kills:")
    for state, number in states.most_common():
        print(f"    {number:4d}  {state}")
    if args.keep:
        print(f"data directory kept: {data}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


def cut_power(
    workdir: Path,
    data: Path,
    config: dict[str, object],
    clients: list[Client],
    kill: int,
) -> list[str]:
    """Check the lease files as a power cut at this moment could leave them."""
    reason = drop_caches()
    if reason is not None:
        return [reason]
    image = workdir / f"image{kill}"
    power_cut_image(data, image)
    restored = Leased(image, config)
    restored.start()
    try:
        return check_recovery(
            clients, table_parts(restored), adopt=False, power_cut=True
        )
    finally:
        restored.stop()
        shutil.rmtree(image, ignore_errors=True)


def report_failure(kill: int, mode: str, failures: list[str], leased: Leased) -> int:
    print(f"crash soak FAILED after kill {kill} ({mode}):")
    for failure in failures:
        print(failure)
    print("last log lines:\n" + leased.log_tail(40))
    print(f"data directory kept: {leased.workdir}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
