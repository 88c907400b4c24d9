"""kea-exporter, the Prometheus exporter for Kea, reads leased's statistics.

A real leased serves IPv4 on one control socket and IPv6 on another, as
Kea's two servers do; a random mix of lease commands changes the tables;
then the real ``kea-exporter`` (PyPI) is pointed at both sockets and its
HTTP ``/metrics`` page, on a loopback port picked at run time, must show
per-subnet and per-pool gauges equal to a count of the leases leased lists.
"""

from __future__ import annotations

import contextlib
import random
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from leased.harness import Daemon, run_leased
from leased.model import parse_ip

pytest.importorskip(
    "kea_exporter", reason="kea-exporter (PyPI) is not installed; pip install '.[test]'"
)
parser = pytest.importorskip(
    "prometheus_client.parser", reason="prometheus_client comes with kea-exporter"
)

NO_RECLAMATION = {"reclaim-timer-wait-time": 0, "flush-reclaimed-timer-wait-time": 0}

# One pool per subnet: kea-exporter labels pool[N] with the subnet's N-th
# pool, and pools without a pool-id are all pool[0] (Kea's rule).
CONFIG: dict[str, Any] = {
    "Dhcp4": {
        "control-socket": {"socket-type": "unix", "socket-name": "kea4.sock"},
        "lease-database": {"type": "memfile", "persist": False},
        "expired-leases-processing": NO_RECLAMATION,
        "subnet4": [
            {"id": 1, "subnet": "10.0.0.0/16", "pools": [{"pool": "10.0.1.0/24"}]},
            {"id": 2, "subnet": "192.0.2.0/24"},
        ],
        "shared-networks": [
            {
                "name": "campus",
                "subnet4": [
                    {
                        "subnet": "198.51.100.0/24",
                        "pools": [{"pool": "198.51.100.10 - 198.51.100.59"}],
                    }
                ],
            }
        ],
    },
    "Dhcp6": {
        "control-socket": {"socket-type": "unix", "socket-name": "kea6.sock"},
        "lease-database": {"type": "memfile", "persist": False},
        "expired-leases-processing": NO_RECLAMATION,
        "subnet6": [
            {
                "id": 1,
                "subnet": "2001:db8:1::/48",
                "pools": [{"pool": "2001:db8:1::/64"}],
                "pd-pools": [
                    {
                        "prefix": "2001:db8:1:8000::",
                        "prefix-len": 49,
                        "delegated-len": 64,
                    }
                ],
            },
            {"id": 7, "subnet": "2001:db8:7::/48"},
        ],
    },
}

ADDRESSES4 = [
    *(f"10.0.1.{n}" for n in range(1, 8)),
    *(f"10.0.9.{n}" for n in range(1, 4)),
    *(f"192.0.2.{n}" for n in range(1, 6)),
    *(f"198.51.100.{n}" for n in (5, 10, 11, 12)),
]
ADDRESSES6 = [
    *(f"2001:db8:1::{n:x}" for n in range(1, 8)),
    *(f"2001:db8:7::{n:x}" for n in range(1, 4)),
]
PREFIXES6 = [f"2001:db8:1:{n:x}::" for n in (0x8000, 0x8001, 0x8002, 0x10)]


def random_commands(rng: random.Random, count: int) -> Iterator[tuple[str, Any]]:
    """Adds, updates (state and subnet changes), deletes, wipes, bulk-apply."""
    for _ in range(count):
        kind = rng.random()
        state = rng.choice([0, 0, 0, 1, 2])
        if kind < 0.45:
            yield (
                rng.choice(["lease4-add", "lease4-update"]),
                {
                    "ip-address": rng.choice(ADDRESSES4),
                    "hw-address": "08:00:2b:01:02:03",
                    "state": state,
                    "force-create": True,
                },
            )
        elif kind < 0.55:
            yield "lease4-del", {"ip-address": rng.choice(ADDRESSES4)}
        elif kind < 0.85:
            prefix = rng.random() < 0.3
            lease: dict[str, Any] = {
                "ip-address": rng.choice(PREFIXES6 if prefix else ADDRESSES6),
                "duid": "00:01:02:03:04:05",
                "iaid": rng.randrange(4),
                "state": 0 if prefix else state,
                "force-create": True,
            }
            if prefix:
                lease.update({"type": "IA_PD", "prefix-len": 64, "subnet-id": 1})
            if rng.random() < 0.5:
                yield "lease6-update", lease
            else:
                del lease["force-create"]
                yield "lease6-bulk-apply", {"leases": [lease]}
        elif kind < 0.95:
            yield "lease6-del", {"ip-address": rng.choice(ADDRESSES6)}
        else:
            yield rng.choice(
                [
                    ("lease4-wipe", {"subnet-id": 2}),
                    ("lease6-wipe", {"subnet-id": 7}),
                ]
            )


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def kea_exporter(targets: list[str], workdir: Path) -> Iterator[str]:
    """Run kea-exporter on ``targets``; yield its /metrics URL.

    The port is picked free just before the start; if another process takes
    it first, a new one is tried.
    """
    for _ in range(3):
        port = free_port()
        output = open(workdir / f"kea-exporter-{port}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kea_exporter",
                "--address",
                "127.0.0.1",
                "--port",
                str(port),
                *targets,
            ],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}/metrics"
        try:
            deadline = time.monotonic() + 20
            while process.poll() is None and time.monotonic() < deadline:
                try:
                    with urllib.request.urlopen(url, timeout=5):
                        break
                except (urllib.error.URLError, ConnectionError):
                    time.sleep(0.05)
            if process.poll() is None:
                yield url
                return
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            output.close()
    said = "".join(path.read_text() for path in workdir.glob("kea-exporter-*.log"))
    pytest.fail(f"kea-exporter did not start: {said}")


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample on the metrics page, by name and sorted labels."""
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    samples = {}
    for family in parser.text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def labels(subnet: str, subnet_id: int, pool: str | None = "") -> tuple[Any, ...]:
    found = {"subnet": subnet, "subnet_id": str(subnet_id)}
    if pool is not None:
        found["pool"] = pool
    return tuple(sorted(found.items()))


def in_range(ip: str, first: str, last: str) -> bool:
    return parse_ip(first)[1] <= parse_ip(ip)[1] <= parse_ip(last)[1]


def leases(daemon: Daemon, version: int) -> list[dict[str, Any]]:
    answer = daemon.command(f"lease{version}-get-all")
    found: list[dict[str, Any]] = answer["arguments"]["leases"]
    return found


def test_kea_exporter_serves_gauges_that_match_the_table(tmp_path: Path) -> None:
    """After a random mix of commands, every gauge equals a count of leases."""
    seed = random.randrange(1 << 32)
    rng = random.Random(seed)
    with run_leased(CONFIG, tmp_path / "leased", own_sockets=True) as daemon:
        results = [
            daemon.command(command, arguments)["result"]
            for command, arguments in random_commands(rng, 150)
        ]
        assert results.count(0) > 50, f"seed {seed}: the mix changed too little"
        v4 = leases(daemon, 4)
        v6 = leases(daemon, 6)
        targets = [
            str(tmp_path / "leased" / name) for name in ("kea4.sock", "kea6.sock")
        ]

        with kea_exporter(targets, tmp_path) as url:
            metrics = scrape(url)

    def count4(subnet_id: int, states: tuple[int, ...], pool: Any = None) -> int:
        return sum(
            1
            for lease in v4
            if lease["subnet-id"] == subnet_id
            and lease["state"] in states
            and (pool is None or in_range(lease["ip-address"], *pool))
        )

    def count6(
        subnet_id: int, lease_type: str, states: tuple[int, ...], pool: Any = None
    ) -> int:
        return sum(
            1
            for lease in v6
            if lease["subnet-id"] == subnet_id
            and lease["type"] == lease_type
            and lease["state"] in states
            and (pool is None or in_range(lease["ip-address"], *pool))
        )

    expected = {}
    # IPv4: the subnet in the shared network got id 3 (the lowest free one),
    # which config-get shows and kea-exporter uses.
    for subnet, subnet_id, pool, total in (
        ("10.0.0.0/16", 1, ("10.0.1.0", "10.0.1.255"), 256),
        ("192.0.2.0/24", 2, None, 0),
    ):
        expected[("kea_dhcp4_addresses_assigned_total", labels(subnet, subnet_id))] = (
            count4(subnet_id, (0, 1))
        )
        expected[("kea_dhcp4_addresses_declined_total", labels(subnet, subnet_id))] = (
            count4(subnet_id, (1,))
        )
        expected[("kea_dhcp4_addresses_total", labels(subnet, subnet_id))] = total
        if pool is not None:
            pool_labels = labels(subnet, subnet_id, "10.0.1.0/24")
            expected[("kea_dhcp4_addresses_assigned_total", pool_labels)] = count4(
                subnet_id, (0, 1), pool
            )
            expected[("kea_dhcp4_addresses_declined_total", pool_labels)] = count4(
                subnet_id, (1,), pool
            )
            expected[("kea_dhcp4_addresses_total", pool_labels)] = 256
    # IPv6.
    na_pool = ("2001:db8:1::", "2001:db8:1::ffff:ffff:ffff:ffff")
    for subnet, subnet_id in (("2001:db8:1::/48", 1), ("2001:db8:7::/48", 7)):
        tags = labels(subnet, subnet_id)
        expected[("kea_dhcp6_na_assigned_total", tags)] = count6(
            subnet_id, "IA_NA", (0, 1)
        )
        expected[("kea_dhcp6_addresses_declined_total", tags)] = count6(
            subnet_id, "IA_NA", (1,)
        )
        expected[("kea_dhcp6_pd_assigned_total", labels(subnet, subnet_id, None))] = (
            count6(subnet_id, "IA_PD", (0,))
        )
    pool_tags = labels("2001:db8:1::/48", 1, "2001:db8:1::/64")
    expected[("kea_dhcp6_na_assigned_total", pool_tags)] = count6(
        1, "IA_NA", (0, 1), na_pool
    )
    expected[("kea_dhcp6_na_total", pool_tags)] = float(1 << 64)
    expected[("kea_dhcp6_pd_total", labels("2001:db8:1::/48", 1, None))] = 1 << 15

    found = {key: metrics.get(key) for key in expected}
    assert found == expected, f"seed {seed}"
    # The shared network's subnet is not in subnet4, so kea-exporter skips
    # it (as it does with Kea); nothing else goes astray.
    assert not any(dict(key[1]).get("subnet_id") == "3" for key in metrics), (
        f"seed {seed}"
    )
