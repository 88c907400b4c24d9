"""The harness starts and stops Kea 2.2 beside leased.

These tests run the real ``kea-dhcp4`` and ``kea-dhcp6`` and are skipped
where Kea is not installed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from leased.harness import kea_config, kea_missing_reason, run_kea

CONFIG: dict[str, Any] = {
    "Dhcp4": {
        "valid-lifetime": 3,
        "subnet4": [{"id": 44, "subnet": "192.0.2.0/24"}],
    },
    "Dhcp6": {
        "preferred-lifetime": 3,
        "valid-lifetime": 4,
        "subnet6": [{"id": 66, "subnet": "2001:db8:1::/48"}],
    },
}

needs_kea = pytest.mark.skipif(
    kea_missing_reason() is not None, reason=kea_missing_reason() or ""
)


def test_kea_config_keeps_one_family_and_sets_the_socket(tmp_path: Path) -> None:
    """The Kea configuration keeps only its family and points at our socket."""
    socket_path = str(tmp_path / "kea6.sock")

    built = kea_config(CONFIG, 6, socket_path, tmp_path, lease_file="leases6.csv")

    assert list(built) == ["Dhcp6"]
    section = built["Dhcp6"]
    assert section["subnet6"] == CONFIG["Dhcp6"]["subnet6"]
    assert section["control-socket"] == {
        "socket-type": "unix",
        "socket-name": socket_path,
    }
    assert section["interfaces-config"] == {"interfaces": []}
    assert section["lease-database"] == {
        "type": "memfile",
        "persist": True,
        "name": "leases6.csv",
        "lfc-interval": 0,
    }
    assert section["hooks-libraries"][-1]["library"].endswith("libdhcp_lease_cmds.so")
    assert "control-socket" not in CONFIG["Dhcp6"]


@needs_kea
@pytest.mark.parametrize("family", [4, 6])
def test_run_kea_answers_and_stops(tmp_path: Path, family: int) -> None:
    """Kea starts, answers version-get with 2.2.0, and is gone afterwards."""
    with run_kea(CONFIG, family, tmp_path) as kea:
        answer = kea.command("version-get")
        pid = kea.process.pid
        assert os.path.exists(kea.socket_path)

    assert answer["result"] == 0
    assert answer["text"] == "2.2.0"
    assert kea.process.returncode is not None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not os.path.exists(kea.socket_path)


@needs_kea
def test_run_kea_persists_to_the_named_lease_file(tmp_path: Path) -> None:
    """With a lease file, an added lease is written to it as a CSV row."""
    with run_kea(CONFIG, 4, tmp_path, lease_file="leases4.csv") as kea:
        answer = kea.command(
            "lease4-add",
            {"ip-address": "192.0.2.7", "hw-address": "1a:1b:1c:1d:1e:1f"},
        )

    assert answer == {
        "result": 0,
        "text": "Lease for address 192.0.2.7, subnet-id 44 added.",
    }
    rows = (tmp_path / "leases4.csv").read_text().splitlines()
    assert rows[0].startswith("address,hwaddr,client_id,valid_lifetime,")
    assert rows[-1].startswith("192.0.2.7,1a:1b:1c:1d:1e:1f,")


@needs_kea
def test_run_kea_reports_a_config_kea_refuses(tmp_path: Path) -> None:
    """A configuration Kea refuses fails fast with Kea's own reason."""
    bad = {"Dhcp4": {"subnet4": [{"id": 1, "subnet": "not-a-prefix"}]}}

    with (
        pytest.raises(RuntimeError, match=r"(?s)kea-dhcp4 said:.*not-a-prefix"),
        run_kea(bad, 4, tmp_path),
    ):
        pass
