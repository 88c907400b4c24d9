"""The benchmark tool still runs every workload end to end.

``leased-bench --smoke`` runs each workload at a tiny scale against the real
leased (and Kea 2.2, where installed) on real sockets.  Nothing here judges
speed: the tests only check that every workload produced numeric figures, so
the tool cannot rot unnoticed.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from leased.bench.workloads import WORKLOADS
from leased.harness import kea_missing_reason

ROOT = Path(__file__).resolve().parent.parent

# A table cell holding a figure: a number with its spread, "12,345 (+-3%)".
FIGURE = r"[0-9][0-9,]*(?:\.[0-9]+)? \(\+-[0-9]+%\)"


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any]]:
    """Run the smoke benchmark once; return its table and its JSON."""
    out = tmp_path_factory.mktemp("bench") / "smoke.json"
    cache = tmp_path_factory.mktemp("bench-tables")

    finished = subprocess.run(
        [
            sys.executable,
            "-m",
            "leased.bench",
            "--smoke",
            "--quiet",
            "--json",
            str(out),
            "--cache",
            str(cache),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert finished.returncode == 0, finished.stdout + finished.stderr
    return finished.stdout, json.loads(out.read_text())


def test_bench_smoke_prints_a_leased_figure_for_every_workload(
    smoke: tuple[str, dict[str, Any]],
) -> None:
    """Each workload has a row whose leased column is a number."""
    table, _ = smoke

    # Columns are padded with at least two spaces; the header names them.
    lines = [re.split(r"\s{2,}", line) for line in table.splitlines()]
    header = next(cells for cells in lines if cells[0] == "workload")
    leased = header.index("leased median")
    for name in WORKLOADS:
        rows = [cells for cells in lines if cells[0] == name]
        assert rows, f"no row for {name}:\n{table}"
        assert all(re.fullmatch(FIGURE, cells[leased]) for cells in rows), table


def test_bench_smoke_json_holds_every_sample(
    smoke: tuple[str, dict[str, Any]],
) -> None:
    """The JSON output has a positive leased rate for every workload."""
    _, figures = smoke

    assert [entry["name"] for entry in figures["workloads"]] == list(WORKLOADS)
    for entry in figures["workloads"]:
        samples = entry["samples"]["leased"]
        assert samples, entry
        assert all(
            sample["rate"] > 0 and sample["unexpected"] == 0 for sample in samples
        )
    assert figures["ceiling"]["one_shot"]["rate"] > 0
    assert figures["problems"] == []


@pytest.mark.skipif(kea_missing_reason() is not None, reason=kea_missing_reason() or "")
def test_bench_smoke_compares_with_kea(smoke: tuple[str, dict[str, Any]]) -> None:
    """With Kea here, every metric with a target has a ratio leased/Kea."""
    table, figures = smoke

    assert "Kea: kea-dhcp4 2.2" in table
    for entry in figures["workloads"]:
        assert entry["samples"]["kea"], entry
        for metric in entry["metrics"].values():
            if metric["target"] is not None:
                assert metric["ratio"] > 0, (entry["name"], metric)
                assert metric["met"] in (True, False)
