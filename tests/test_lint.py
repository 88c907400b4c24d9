"""The code stays as the style guide wants it: ruff and strict mypy clean.

The versions are pinned in the ``test`` extra, so a new release of either
tool cannot turn the suite red on its own.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff is not installed")
def test_lint_ruff_check_and_format_are_clean() -> None:
    """Every rule selected in pyproject.toml passes; the code is formatted."""
    checked = _run("ruff", "check", "leased", "tests")
    formatted = _run("ruff", "format", "--check", "leased", "tests")

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr


def test_lint_mypy_strict_is_clean() -> None:
    """The package type-checks under mypy's strict mode."""
    pytest.importorskip("mypy", reason="mypy is not installed")

    checked = _run(sys.executable, "-m", "mypy", "leased")

    assert checked.returncode == 0, checked.stdout + checked.stderr
