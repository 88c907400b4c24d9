"""Who can reach the daemon and where it may write."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from leased.harness import run_leased
from tests.conftest import KEA_TEST_CONFIG

NOBODY = 65534
ROOT = Path(__file__).resolve().parent.parent


def config() -> dict[str, Any]:
    raw: dict[str, Any] = json.loads(json.dumps(KEA_TEST_CONFIG))
    raw["Dhcp4"]["lease-database"] = {"type": "memfile", "lfc-interval": 0}
    return raw


SOCAT = shutil.which("socat")
needs_second_user = pytest.mark.skipif(
    os.geteuid() != 0 or SOCAT is None,
    reason="needs root (to act as a second user) and socat",
)


def connect_as(uid: int, gid: int, path: str) -> subprocess.CompletedProcess[str]:
    """Send a command to ``path`` from a process of another user (socat)."""

    def demote() -> None:
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)

    assert SOCAT is not None
    return subprocess.run(
        [SOCAT, "-", f"UNIX-CONNECT:{path}"],
        input='{"command": "version-get"}',
        capture_output=True,
        text=True,
        timeout=30,
        preexec_fn=demote,
    )


@pytest.fixture
def open_dir() -> Any:
    """A directory every user may traverse (pytest's own are private)."""
    path = Path(tempfile.mkdtemp(prefix="leased-perm-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@needs_second_user
def test_permissions_other_users_cannot_connect(open_dir: Path) -> None:
    with run_leased(config(), open_dir) as daemon:
        other = connect_as(NOBODY, NOBODY, daemon.socket_path)
        mode = stat.S_IMODE(os.stat(daemon.socket_path).st_mode)

    assert mode == 0o600
    assert other.returncode != 0
    assert "Permission denied" in other.stderr
    assert other.stdout == ""


@needs_second_user
def test_permissions_socket_group_members_can_connect(
    tmp_path: Path, open_dir: Path
) -> None:
    raw = config()
    raw["Dhcp4"]["control-socket"] = {
        "socket-type": "unix",
        "socket-name": str(open_dir / "leased.sock"),
        "socket-group": "nogroup",
    }
    (tmp_path / "leased.json").write_text(json.dumps(raw))
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "leased",
            "-c",
            str(tmp_path / "leased.json"),
            "-d",
            str(tmp_path),
        ],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stderr=subprocess.DEVNULL,
    )
    try:
        from leased.harness import wait_for_socket

        wait_for_socket(str(open_dir / "leased.sock"), process, 20)
        member = connect_as(NOBODY, NOBODY, str(open_dir / "leased.sock"))
        stranger = connect_as(12345, 12345, str(open_dir / "leased.sock"))
    finally:
        process.terminate()
        process.wait(timeout=20)

    assert '"result":0' in member.stdout
    assert "Permission denied" in stranger.stderr


def test_permissions_lease_files_are_not_world_readable(tmp_path: Path) -> None:
    with run_leased(config(), tmp_path) as daemon:
        daemon.command(
            "lease4-add", {"ip-address": "192.0.2.1", "hw-address": "01:02:03:04:05:06"}
        )
        written = daemon.command("lease4-write", {"filename": "dump.csv"})

    assert written["result"] == 0
    for name in ("kea-leases4.csv", "dump.csv"):
        mode = stat.S_IMODE(os.stat(tmp_path / name).st_mode)
        assert mode & 0o027 == 0, (name, oct(mode))


@pytest.mark.parametrize(
    "name",
    ["../escape.csv", "/etc/escape.csv", "sub/escape.csv", "/", "..", "."],
)
def test_permissions_lease_write_stays_in_the_data_directory(
    tmp_path: Path, name: str
) -> None:
    with run_leased(config(), tmp_path) as daemon:
        answer = daemon.command("lease4-write", {"filename": name})

    assert answer["result"] == 1
    assert answer["text"].startswith("'filename' parameter is invalid: ")
    assert not (tmp_path.parent / "escape.csv").exists()


def test_permissions_lease_write_replaces_a_symlink_never_its_target(
    tmp_path: Path,
) -> None:
    target = tmp_path / "target.txt"
    target.write_text("precious\n")
    (tmp_path / "link.csv").symlink_to(target)
    with run_leased(config(), tmp_path) as daemon:
        answer = daemon.command("lease4-write", {"filename": "link.csv"})

    assert answer["result"] == 0
    assert target.read_text() == "precious\n"
    assert not (tmp_path / "link.csv").is_symlink()
