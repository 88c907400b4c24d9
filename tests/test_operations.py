"""The procedures of docs/operations.md, run for real: moving from Kea 2.2
to leased and back on the same lease file, and backup and restore."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from leased import leasectl
from leased.harness import kea_config, kea_missing_reason, run_kea, run_leased
from tests.conftest import KEA_TEST_CONFIG

ROOT = Path(__file__).resolve().parent.parent


def lease(number: int) -> dict[str, Any]:
    return {
        "ip-address": f"192.0.2.{number}",
        "hw-address": f"08:00:2b:01:02:{number:02x}",
        "hostname": f"host{number}.example.org.",
        "valid-lft": 3600,
        "expire": int(time.time()) + 3600,
    }


def config() -> dict[str, Any]:
    return {"Dhcp4": json.loads(json.dumps(KEA_TEST_CONFIG["Dhcp4"]))}


@pytest.mark.skipif(kea_missing_reason() is not None, reason=str(kea_missing_reason()))
def test_operations_kea_to_leased_and_back(tmp_path: Path) -> None:
    """leased runs on Kea's configuration and lease file as they are; Kea
    then runs on the file leased wrote, with every lease."""
    lease_file = str(tmp_path / "kea-leases4.csv")
    with run_kea(config(), 4, tmp_path / "kea", lease_file=lease_file) as kea:
        for number in (1, 2, 3):
            assert kea.command("lease4-add", lease(number))["result"] == 0
        assert kea.command("lease4-del", {"ip-address": "192.0.2.2"})["result"] == 0
        written_by_kea = kea.command("lease4-get-all")
        kea_section = json.loads(kea.config_path.read_text())

    # Kea's configuration as Kea ran it (the harness only moves the control
    # socket), the lease file's directory as the data directory.
    with run_leased(kea_section, tmp_path, extra_args=("-d", str(tmp_path))) as daemon:
        read_by_leased = daemon.command("lease4-get-all")
        assert daemon.command("lease4-add", lease(4))["result"] == 0
        log = daemon.stderr_text()
        written_by_leased = daemon.command("lease4-get-all")

    with run_kea(config(), 4, tmp_path / "kea-again", lease_file=lease_file) as kea:
        read_by_kea = kea.command("lease4-get-all")

    assert read_by_leased == written_by_kea
    assert [item["ip-address"] for item in read_by_leased["arguments"]["leases"]] == [
        "192.0.2.1",
        "192.0.2.3",
    ]
    assert "configuration keys not used" in log  # Kea's own keys, ignored
    addresses = [item["ip-address"] for item in read_by_kea["arguments"]["leases"]]
    assert addresses == ["192.0.2.1", "192.0.2.3", "192.0.2.4"]
    for mine, kea_view in zip(
        written_by_leased["arguments"]["leases"],
        read_by_kea["arguments"]["leases"],
        strict=True,
    ):
        assert {key: kea_view[key] for key in mine} == mine


def test_operations_backup_and_restore_of_the_lease_file(tmp_path: Path) -> None:
    """lease4-write while running, then the documented restore: stop, put
    the backup in as the lease file, remove the rest of its set, start."""
    with run_leased(config(), tmp_path) as daemon:
        for number in (1, 2):
            daemon.command("lease4-add", lease(number))
        written = daemon.command("lease4-write", {"filename": "backup4.csv"})
        backup = daemon.command("lease4-get-all")
        daemon.command("lease4-add", lease(3))
        daemon.command("lease4-del", {"ip-address": "192.0.2.1"})
        daemon.command("kea-lfc-start")
        deadline = time.monotonic() + 20
        while not (tmp_path / "kea-leases4.csv.2").exists():
            assert time.monotonic() < deadline
            time.sleep(0.02)

    shutil.move(tmp_path / "backup4.csv", tmp_path / "kea-leases4.csv")
    for suffix in (".1", ".2", ".completed", ".output", ".pid"):
        (tmp_path / f"kea-leases4.csv{suffix}").unlink(missing_ok=True)
    with run_leased(config(), tmp_path) as daemon:
        restored = daemon.command("lease4-get-all")

    assert written["result"] == 0
    assert restored == backup


def test_operations_restore_into_a_running_daemon(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """export to JSON lines; later lease4-wipe and import give back exactly
    the exported leases (import --update alone would keep newer ones)."""
    with run_leased(config(), tmp_path) as daemon:
        for number in (1, 2):
            daemon.command("lease4-add", lease(number))
        backup = daemon.command("lease4-get-all")
        target = str(tmp_path / "leases.jsonl")
        exported = leasectl.main(["-s", daemon.socket_path, "export", "-o", target])
        daemon.command("lease4-add", lease(3))
        daemon.command("lease4-wipe")
        imported = leasectl.main(["-s", daemon.socket_path, "import", target])
        restored = daemon.command("lease4-get-all")
    capsys.readouterr()

    assert (exported, imported) == (0, 0)
    assert restored == backup


def test_operations_kea_configuration_loads(tmp_path: Path) -> None:
    """A configuration as Kea's packages ship it (kea_config builds one
    like Debian's) checks clean; the keys leased does not use are listed."""
    section = kea_config(config(), 4, str(tmp_path / "kea4.sock"), tmp_path)
    path = tmp_path / "kea-dhcp4.conf"
    path.write_text(json.dumps(section))

    status = leased_check(path, tmp_path)

    assert status[0] == 0
    assert "configuration is valid" in status[1]
    assert "Dhcp4/interfaces-config" in status[1]
    assert "Dhcp4/hooks-libraries" in status[1]


def leased_check(path: Path, data_dir: Path) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, "-m", "leased", "-t", str(path), "-d", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    return done.returncode, done.stdout + done.stderr


DROP_IN = re.compile(
    r"```ini\n *# /etc/systemd/system/(leased\.(?:service|socket)\.d)/(\S+)\n(.*?)```",
    re.S,
)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd")
def test_operations_kea_drop_ins_verify_clean(tmp_path: Path) -> None:
    """The drop-ins of the upgrade procedure load with the units, with no
    unknown or misplaced setting."""
    text = (ROOT / "docs" / "operations.md").read_text()
    for unit in ("leased.service", "leased.socket"):
        shutil.copy(ROOT / "systemd" / unit, tmp_path / unit)
    drop_ins = DROP_IN.findall(text)
    for directory, name, body in drop_ins:
        (tmp_path / directory).mkdir()
        lines = [line.strip() for line in body.splitlines()]
        (tmp_path / directory / name).write_text("\n".join(lines) + "\n")

    process = subprocess.run(
        ["systemd-analyze", "verify", "leased.service", "leased.socket"],
        cwd=tmp_path,
        env={**os.environ, "SYSTEMD_UNIT_PATH": f"{tmp_path}:"},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert sorted(directory for directory, _, _ in drop_ins) == [
        "leased.service.d",
        "leased.socket.d",
    ]
    assert "User=_kea" in text and "ExecStart=\n" in text
    assert process.returncode == 0
    assert process.stdout + process.stderr == ""
