"""The daemon's lease files: data directory, persist, timers, upgrade,
durable writes, and the standalone compactor, through a real daemon."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from leased.config import build
from leased.harness import Daemon, run_leased
from leased.model import V4, V6
from leased.storage import StorageSetupError, open_storage
from leased.table import LeaseTable
from tests.conftest import KEA_TEST_CONFIG

HEADER4 = (
    "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,"
    "fqdn_rev,hostname,state,user_context,pool_id"
)
# The header Kea 2.2 writes (no pool_id): leased upgrades such a file.
HEADER4_KEA22 = HEADER4.rsplit(",", 1)[0]


def config_with(**database: Any) -> dict[str, Any]:
    """The Kea test configuration with ``database`` in both families."""
    config: dict[str, Any] = {
        name: dict(section) for name, section in KEA_TEST_CONFIG.items()
    }
    for name in ("Dhcp4", "Dhcp6"):
        config[name]["lease-database"] = {"type": "memfile", **database}
    return config


def add4(daemon: Daemon, last_octet: int) -> dict[str, Any]:
    return daemon.command(
        "lease4-add",
        {"ip-address": f"192.0.2.{last_octet}", "hw-address": "08:08:08:08:08:08"},
    )


def wait_for(predicate: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def rows(path: Path) -> list[str]:
    return path.read_text().splitlines()


def test_storage_changes_survive_a_restart(tmp_path: Path) -> None:
    config = config_with(**{"lfc-interval": 0})
    with run_leased(config, tmp_path) as daemon:
        assert add4(daemon, 1)["result"] == 0
        assert add4(daemon, 2)["result"] == 0
        assert daemon.command("lease4-del", {"ip-address": "192.0.2.1"})["result"] == 0
        before = daemon.command("lease4-get-all")

    with run_leased(config, tmp_path) as daemon:
        after = daemon.command("lease4-get-all")

    assert after == before
    assert len(after["arguments"]["leases"]) == 1
    lines = rows(tmp_path / "kea-leases4.csv")
    assert lines[0] == HEADER4
    # add, add, then the delete marker: the stored lease with lifetime 0.
    assert [line.split(",")[3] for line in lines[1:]] == ["3", "3", "0"]


def test_storage_persist_false_writes_no_file(tmp_path: Path) -> None:
    with run_leased(config_with(persist=False), tmp_path) as daemon:
        assert add4(daemon, 1)["result"] == 0
        started = daemon.command("kea-lfc-start")
        stderr = daemon.stderr_text()

    assert not list(tmp_path.glob("kea-leases*"))
    assert started == {
        "result": 2,
        "text": "'persist' parameter of 'memfile' lease backend was configured to 'false'",
    }
    assert "persist is false, leases are kept in memory only" in stderr


def test_storage_lease_file_outside_the_data_directory_is_refused(
    tmp_path: Path,
) -> None:
    config_path = tmp_path / "leased.json"
    config_path.write_text(
        '{"Dhcp4": {"lease-database": {"type": "memfile", "name": "/etc/leases4.csv"}}}'
    )

    process = subprocess.run(
        [sys.executable, "-m", "leased", "-t", str(config_path), "-d", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert process.returncode == 1
    assert (
        "Dhcp4/lease-database/name: invalid path specified: '/etc', supported path is "
        f"'{tmp_path}'" in process.stderr
    )


def test_storage_data_directory_from_the_environment(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    config_path = tmp_path / "leased.json"
    config_path.write_text(
        '{"Dhcp4": {"lease-database": {"type": "memfile", "name": "'
        + str(data / "leases4.csv")
        + '"}}}'
    )
    environment = {
        **os.environ,
        "LEASED_DATA_DIR": str(data),
        # The child runs elsewhere: it finds this checkout's package here.
        "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
    }
    environment.pop("STATE_DIRECTORY", None)

    process = subprocess.run(
        [sys.executable, "-m", "leased", "-t", str(config_path)],
        capture_output=True,
        text=True,
        timeout=30,
        env=environment,
        cwd=tmp_path,
    )

    assert process.returncode == 0, process.stderr


def test_storage_lfc_interval_compacts_on_its_own(tmp_path: Path) -> None:
    config = config_with(**{"lfc-interval": 1})
    with run_leased(config, tmp_path) as daemon:
        for octet in range(1, 6):
            assert add4(daemon, octet)["result"] == 0
        assert daemon.command("lease4-del", {"ip-address": "192.0.2.5"})["result"] == 0
        compacted = tmp_path / "kea-leases4.csv.2"
        wait_for(
            lambda: (
                compacted.exists() and not (tmp_path / "kea-leases4.csv.pid").exists()
            )
        )
        before = daemon.command("lease4-get-all")

    # One row per lease left, in address order, deletions gone.
    addresses = [line.split(",")[0] for line in rows(compacted)[1:]]
    assert addresses == [f"192.0.2.{octet}" for octet in range(1, 5)]
    with run_leased(config, tmp_path) as daemon:
        assert daemon.command("lease4-get-all") == before


def test_storage_outdated_header_is_upgraded_once_at_start(tmp_path: Path) -> None:
    (tmp_path / "kea-leases4.csv").write_text(
        HEADER4_KEA22
        + "\n192.0.2.7,08:08:08:08:08:08,,3,1900000003,44,0,0,seven.example.,0,\n"
    )
    config = config_with(**{"lfc-interval": 0})

    with run_leased(config, tmp_path) as daemon:
        compacted = tmp_path / "kea-leases4.csv.2"
        wait_for(
            lambda: (
                compacted.exists() and not (tmp_path / "kea-leases4.csv.pid").exists()
            )
        )
        lease = daemon.command("lease4-get", {"ip-address": "192.0.2.7"})
        stderr = daemon.stderr_text()

    assert lease["result"] == 0
    assert lease["arguments"]["hostname"] == "seven.example."
    assert rows(compacted) == [
        HEADER4,
        "192.0.2.7,08:08:08:08:08:08,,3,1900000003,44,0,0,seven.example.,0,,0",
    ]
    assert rows(tmp_path / "kea-leases4.csv") == [HEADER4]
    assert "older format, compacting it to upgrade" in stderr


def test_storage_durable_writes_with_concurrent_clients(tmp_path: Path) -> None:
    config = config_with(**{"lfc-interval": 0})
    config["Leased"] = {"durable-writes": True}
    results: list[int] = []

    with run_leased(config, tmp_path) as daemon:

        def client(index: int) -> None:
            for n in range(10):
                answer = add4(daemon, index * 10 + n + 1)
                results.append(answer["result"])

        threads = [threading.Thread(target=client, args=(i,)) for i in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        daemon.process.kill()
        daemon.process.wait(timeout=20)

    assert results == [0] * 160
    with run_leased(config, tmp_path) as daemon:
        leases = daemon.command("lease4-get-all")["arguments"]["leases"]
    assert len(leases) == 160


def test_storage_standalone_compactor_takes_kea_lfc_arguments(tmp_path: Path) -> None:
    live = tmp_path / "leases4.csv"
    (tmp_path / "leases4.csv.2").write_text(
        HEADER4 + "\n192.0.2.1,01:01:01:01:01:01,,100,1000,44,0,0,,0,,0\n"
    )
    (tmp_path / "leases4.csv.1").write_text(
        HEADER4
        + "\n192.0.2.2,01:01:01:01:01:02,,100,1000,44,0,0,,0,,0"
        + "\n192.0.2.1,01:01:01:01:01:01,,0,900,44,0,0,,0,,0\n"
    )
    (tmp_path / "leases4.csv.output").write_text(HEADER4 + "\n192.0.2.9,torn")

    process = subprocess.run(
        [
            sys.executable,
            "-m",
            "leased.lfc",
            "-4",
            "-x",
            f"{live}.2",
            "-i",
            f"{live}.1",
            "-o",
            f"{live}.output",
            "-f",
            f"{live}.completed",
            "-p",
            f"{live}.pid",
            "-c",
            "ignored",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert process.returncode == 0, process.stderr
    # The lock file stays (removing a lock file others may wait on is racy).
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "leases4.csv.2",
        "leases4.csv.pid.lock",
    ]
    assert rows(tmp_path / "leases4.csv.2") == [
        HEADER4,
        "192.0.2.2,01:01:01:01:01:02,,100,1000,44,0,0,,0,,0",
    ]


@pytest.mark.parametrize("busy", [True, False])
def test_storage_kea_lfc_start_answers(tmp_path: Path, busy: bool) -> None:
    with run_leased(config_with(**{"lfc-interval": 0}), tmp_path) as daemon:
        if busy:
            # A live process named in F.pid is a compaction in progress.
            (tmp_path / "kea-leases4.csv.pid").write_text(f"{os.getpid()}\n")
            (tmp_path / "kea-leases6.csv.pid").write_text(f"{os.getpid()}\n")
        answer = daemon.command("kea-lfc-start")

    if busy:
        assert answer == {"result": 3, "text": "kea-lfc already running"}
    else:
        assert answer == {"result": 0, "text": "kea-lfc started"}


def test_storage_refused_start_changes_no_lease_file(tmp_path: Path) -> None:
    """When one family's files cannot be loaded, the other family's live
    file is not opened either, so not even its torn row is cut off."""
    live4 = tmp_path / "kea-leases4.csv"
    live4.write_text(
        HEADER4
        + "\n192.0.2.1,08:08:08:08:08:08,,3,1900000003,44,0,0,,0,,0\n192.0.2.2,08"
    )
    (tmp_path / "kea-leases6.csv").mkdir()
    before = live4.read_bytes()
    tables = {4: LeaseTable(V4), 6: LeaseTable(V6)}

    with pytest.raises(StorageSetupError, match="Is a directory"):
        open_storage(build(config_with(**{"lfc-interval": 0})), tmp_path, tables)

    assert live4.read_bytes() == before
