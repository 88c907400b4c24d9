"""Every shipped example configuration checks clean and serves leases, and
the sessions of examples/README.md still print what the file shows.

``python -m tests.test_examples --write`` runs the README's sessions and
writes their output into it (after a change of output, check the diff).
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from leased import config
from leased.harness import run_leased

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))
README = ROOT / "examples" / "README.md"

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


# The README's sessions.

SESSION = re.compile(r"^## (\S+\.json).*?\n```console\n(.*?)```", re.M | re.S)
# Times differ from run to run: seconds since the epoch and local dates.
TIMES = (
    (re.compile(r"\b[12]\d{9}\b"), "<seconds>"),
    (re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"), "<date and time>"),
)


def sessions(text: str) -> dict[str, list[tuple[str, str]]]:
    """The README's sessions: example file to (command, output) steps."""
    found = {}
    for match in SESSION.finditer(text):
        steps: list[tuple[str, str]] = []
        for line in match[2].splitlines(keepends=True):
            if line.startswith("$ "):
                steps.append((line[2:].rstrip("\n"), ""))
            else:
                command, output = steps[-1]
                steps[-1] = (command, output + line)
        found[match[1]] = steps
    return found


def normal(text: str) -> str:
    for pattern, stand_in in TIMES:
        text = pattern.sub(stand_in, text)
    return text


def replay(example: str, commands: list[str], workdir: Path) -> list[str]:
    """Run ``commands`` in a shell next to leased running on ``example``;
    each one's output (stdout and stderr, as a terminal shows them)."""
    tools = workdir / "bin"
    tools.mkdir()
    wrapper = tools / "leasectl"
    wrapper.write_text(f'#!/bin/sh\nexec {sys.executable} -m leased.leasectl "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    environment = {
        **os.environ,
        "PATH": f"{tools}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(ROOT),
    }
    environment.pop("LEASECTL_SOCKET", None)
    raw = config.load(ROOT / "examples" / example).raw
    outputs = []
    with run_leased(raw, workdir / "run") as daemon:
        for command in commands:
            done = subprocess.run(
                ["bash", "-c", command],
                cwd=daemon.workdir,
                env=environment,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=60,
            )
            outputs.append(done.stdout)
    return outputs


def test_examples_readme_has_a_session_for_each_example() -> None:
    """ipv4-only, ipv6-only, dual-stack, DNS updates, durable writes."""
    found = sessions(README.read_text())

    assert set(found) == {
        "ipv4-only.json",
        "ipv6-only.json",
        "leased.json",
        "ddns.json",
        "durable.json",
    }
    for steps in found.values():
        tools = {command.split("|")[-1].split()[0] for command, _ in steps}
        assert tools & {"leasectl", "socat", "nc", "cat"}
    used = " ".join(command for steps in found.values() for command, _ in steps)
    assert "socat -" in used and "nc -U" in used and "leasectl " in used


@pytest.mark.skipif(
    shutil.which("socat") is None or shutil.which("nc") is None,
    reason="socat and nc are needed to replay the sessions",
)
@pytest.mark.parametrize("example", sorted(sessions(README.read_text())))
def test_examples_readme_session_replays(example: str, tmp_path: Path) -> None:
    """Each command of the session prints what the README shows."""
    steps = sessions(README.read_text())[example]

    outputs = replay(example, [command for command, _ in steps], tmp_path)

    for (command, shown), output in zip(steps, outputs, strict=True):
        # socat and nc print the answer without a newline; the README
        # puts the next command on a line of its own anyway.
        assert normal(output).rstrip("\n") == normal(shown).rstrip("\n"), command


def write_readme() -> None:
    """Run every session and put its real output into the README."""
    text = README.read_text()
    for example, steps in sessions(text).items():
        with tempfile.TemporaryDirectory() as workdir:
            outputs = replay(example, [command for command, _ in steps], Path(workdir))
        block = "".join(
            f"$ {command}\n{output}" + ("" if output.endswith("\n") else "\n")
            for (command, _), output in zip(steps, outputs, strict=True)
        )
        heading = re.search(
            rf"^## {re.escape(example)}.*?\n```console\n", text, re.M | re.S
        )
        assert heading is not None
        end = text.index("```", heading.end())
        text = text[: heading.end()] + block + text[end:]
    README.write_text(text)


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        raise SystemExit("usage: python -m tests.test_examples --write")
    write_readme()
