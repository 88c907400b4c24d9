"""Every shipped example configuration checks clean and serves leases."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from leased import config
from leased.harness import run_leased

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").glob("*.json"))

ADD = {
    4: ("lease4-add", {"ip-address": "192.0.2.50", "hw-address": "08:00:2b:01:02:03"}),
    6: (
        "lease6-add",
        {"ip-address": "2001:db8:1::50", "duid": "00:01:02:03:04:05", "iaid": 1},
    ),
}


def test_examples_are_all_there() -> None:
    assert {path.name for path in EXAMPLES} >= {
        "leased.json",
        "ipv4-only.json",
        "ipv6-only.json",
        "ddns.json",
        "durable.json",
        "systemd.json",
    }


@pytest.mark.parametrize("path", EXAMPLES, ids=[path.stem for path in EXAMPLES])
def test_example_checks_clean(path: Path, tmp_path: Path) -> None:
    process = subprocess.run(
        [sys.executable, "-m", "leased", "-t", str(path), "-d", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert process.returncode == 0, process.stderr
    assert "configuration is valid" in process.stdout


@pytest.mark.parametrize("path", EXAMPLES, ids=[path.stem for path in EXAMPLES])
def test_example_serves_and_keeps_leases(path: Path, tmp_path: Path) -> None:
    raw = config.load(path).raw
    families = [version for version in (4, 6) if f"Dhcp{version}" in raw]

    with run_leased(raw, tmp_path) as daemon:
        added = [daemon.command(*ADD[version])["result"] for version in families]
    with run_leased(raw, tmp_path) as daemon:
        kept = [
            daemon.command(f"lease{version}-get-all")["arguments"]["leases"][0][
                "ip-address"
            ]
            for version in families
        ]

    assert added == [0] * len(families)
    assert kept == [ADD[version][1]["ip-address"] for version in families]
