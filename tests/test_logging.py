"""Log lines: journald form under systemd, timestamps otherwise,
--log-level, and a catalogue (docs/logging.md) that names every message."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from leased.harness import run_leased
from tests.conftest import KEA_TEST_CONFIG

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "docs" / "logging.md"
LEVELS = {
    "debug": "DEBUG",
    "info": "INFO",
    "warning": "WARNING",
    "error": "ERROR",
    "critical": "CRITICAL",
    "exception": "ERROR",
}
FORMAT = re.compile(r"%[-#0 +]*\d*(?:\.\d+)?[sdifrx]")


def logged_messages() -> list[tuple[str, int, str, str, str]]:
    """Every ``*LOGGER.<level>("...")`` call in leased/: where, the logger's
    name, the level and the phrase (the template without %-fields)."""
    found = []
    for path in sorted((ROOT / "leased").rglob("*.py")):
        tree = ast.parse(path.read_text())
        loggers = {
            node.targets[0].id if isinstance(node, ast.Assign) else node.target.id: (
                node.value.args[0].value
            )
            for node in ast.walk(tree)
            if isinstance(node, (ast.Assign, ast.AnnAssign))
            and isinstance(node.value, ast.Call)
            and getattr(node.value.func, "attr", "") == "getLogger"
            and isinstance(
                node.targets[0] if isinstance(node, ast.Assign) else node.target,
                ast.Name,
            )
        }
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in LEVELS
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in loggers
            ):
                continue
            template = node.args[0]
            assert isinstance(template, ast.Constant), f"{path}:{node.lineno}"
            found.append(
                (
                    f"{path.relative_to(ROOT)}:{node.lineno}",
                    loggers[node.func.value.id],
                    LEVELS[node.func.attr],
                    FORMAT.sub("", template.value),
                    template.value,
                )
            )
    return found


def sections() -> dict[str, str]:
    """The catalogue's text by logger section, white space made single."""
    parts = re.split(r"^## ", CATALOGUE.read_text(), flags=re.MULTILINE)
    return {
        part.split("\n", 1)[0].strip(): " ".join(part.split()) for part in parts[1:]
    }


def test_logging_catalogue_names_every_message() -> None:
    """Each phrase the code logs is in its logger's section of
    docs/logging.md, with the level the code uses where a table gives one."""
    catalogue = sections()
    messages = logged_messages()
    missing = []
    wrong_level = []
    for where, logger, level, phrase, _ in messages:
        text = catalogue.get(logger, "")
        if f"`{phrase}" not in text and phrase not in text:
            missing.append(f"{where} {logger} {phrase!r}")
            continue
        rows = [
            row
            for row in CATALOGUE.read_text().splitlines()
            if row.startswith("| ") and phrase in " ".join(row.split())
        ]
        levels = {row.split("|")[1].strip() for row in rows}
        if rows and level not in levels:
            wrong_level.append(f"{where} {level} {phrase!r} listed as {levels}")

    assert len(messages) > 60
    assert missing == []
    assert wrong_level == []


def test_logging_messages_are_fixed_lowercase_phrases() -> None:
    """Templates start lowercase and put values in key=value fields."""
    bad = [
        f"{where} {template!r}"
        for where, _, _, _, template in logged_messages()
        if not template[:1].islower() or re.search(r"[^=\s]%[sdif]", template)
    ]

    assert bad == []


def config(**dhcp4: Any) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(json.dumps(KEA_TEST_CONFIG))
    result["Dhcp4"].update(dhcp4)
    return result


def test_logging_journal_lines_have_priorities_and_no_timestamps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under JOURNAL_STREAM: ``<N>LEVEL logger: phrase``, nothing else;
    without it every line starts with the date and time."""
    with run_leased(KEA_TEST_CONFIG, tmp_path / "plain") as daemon:
        daemon.command("version-get")
    plain = daemon.stderr_text().splitlines()
    monkeypatch.setenv("JOURNAL_STREAM", "8:12345")
    with run_leased(
        KEA_TEST_CONFIG, tmp_path / "journal", extra_args=("--log-level", "debug")
    ) as daemon:
        daemon.command("version-get")
    lines = daemon.stderr_text().splitlines()

    priorities = {"DEBUG": "7", "INFO": "6", "WARNING": "4", "ERROR": "3"}
    assert len(lines) >= 4
    for line in lines:
        match = re.fullmatch(r"<(\d)>([A-Z]+) (leased\.[a-z]+): (.+)", line)
        assert match, line
        assert priorities[match[2]] == match[1]
    assert (
        "<7>DEBUG leased.commands: command handled command=version-get result=0"
        in lines
    )
    assert "<6>INFO leased.server: shutdown complete" in lines
    assert plain
    for line in plain:
        assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ leased\.", line)


def test_logging_level_option(tmp_path: Path) -> None:
    """--log-level debug logs each command; warning keeps only warnings."""
    quiet_config = config(**{"lease-database": {"type": "memfile", "persist": False}})
    with run_leased(
        KEA_TEST_CONFIG, tmp_path / "debug", extra_args=("--log-level", "debug")
    ) as daemon:
        daemon.command("version-get")
        debug = daemon.stderr_text()
    with run_leased(
        quiet_config, tmp_path / "warning", extra_args=("--log-level", "warning")
    ) as daemon:
        daemon.command("version-get")
        warning = daemon.stderr_text()
    with run_leased(KEA_TEST_CONFIG, tmp_path / "info") as daemon:
        daemon.command("version-get")
        info = daemon.stderr_text()

    assert "DEBUG leased.commands: command handled command=version-get" in debug
    assert "listening on control socket" in info
    assert "command handled" not in info
    assert "persist is false, leases are kept in memory only family=IPv4" in warning
    assert " INFO " not in warning and "listening on" not in warning


def test_logging_bad_level_is_refused() -> None:
    """An unknown level is a usage error naming the choices."""
    process = subprocess.run(
        [sys.executable, "-m", "leased", "-t", "x.json", "--log-level", "loud"],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )

    assert process.returncode == 2
    assert "invalid choice: 'loud'" in process.stderr
