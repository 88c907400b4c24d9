"""Loading Kea-shaped configuration files."""

from __future__ import annotations

import glob
import subprocess
import sys
from pathlib import Path

import pytest

from leased import config
from leased.errors import ConfigError

EXAMPLES = sorted(Path(__file__).parent.parent.joinpath("examples").glob("*.json"))

# A configuration written the way Kea's own examples are: comments of every
# kind, keys leased does not use, shared networks, lifetimes at each level.
KEA_STYLE = b"""
# A kea-dhcp4 configuration.
{
  "Dhcp4": {
    // Interfaces and options mean nothing to leased.
    "interfaces-config": { "interfaces": [ "eth0" ] },
    "option-data": [ { "name": "routers", "data": "192.0.2.1" } ],
    "valid-lifetime": 600,
    "control-socket": { "socket-type": "unix", "socket-name": "/run/kea/kea4-ctrl-socket" },
    "lease-database": { "type": "memfile", "lfc-interval": 3600 },
    /* Subnets,
       on several lines. */
    "subnet4": [
      { "subnet": "192.0.2.0/24", "pools": [ { "pool": "192.0.2.1 - 192.0.2.200" } ],
        "reservations": [] },
      { "id": 1, "subnet": "198.51.100.0/24", "valid-lifetime": 60 }
    ],
    "shared-networks": [
      { "name": "lab", "valid-lifetime": 30, "interface": "eth1",
        "subnet4": [ { "id": 7, "subnet": "203.0.113.0/24" },
                     { "id": 8, "subnet": "203.0.114.0/24", "client-class": "lab" } ] }
    ],
    "loggers": [ { "name": "kea-dhcp4", "severity": "INFO" } ]
  }
}
"""


def test_config_loads_kea_style_file_with_comments_and_inheritance() -> None:
    loaded = config.parse(KEA_STYLE)

    assert loaded.dhcp4 is not None
    assert loaded.dhcp6 is None
    subnets = {subnet.id: subnet for subnet in loaded.dhcp4.subnets}
    # The subnet without an id gets the lowest id nobody uses.
    assert subnets[2].prefix == "192.0.2.0/24"
    assert [subnet.id for subnet in loaded.dhcp4.subnets] == [1, 2, 7, 8]
    assert subnets[2].valid_lifetime == 600
    assert subnets[1].valid_lifetime == 60
    assert subnets[7].valid_lifetime == 30
    assert subnets[7].shared_network == "lab"
    assert subnets[8].client_class == "lab"
    assert subnets[2].pools == ((0xC0000201, 0xC00002C8),)
    assert loaded.sockets == (config.SocketConfig("/run/kea/kea4-ctrl-socket"),)
    assert "Dhcp4/interfaces-config" in loaded.ignored
    assert "Dhcp4/subnet4[0]/reservations" in loaded.ignored
    assert "Dhcp4/shared-networks[0]/interface" in loaded.ignored


def test_config_select_subnet_skips_client_class_and_takes_lowest_id() -> None:
    loaded = config.parse(KEA_STYLE)
    assert loaded.dhcp4 is not None

    assert loaded.dhcp4.select_subnet(0xCB007105) is not None  # 203.0.113.5
    assert loaded.dhcp4.select_subnet(0xCB007205) is None  # 203.0.114.5, class
    assert loaded.dhcp4.select_subnet(0x0A000001) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            b'{"Dhcp4": {"subnet4": [{"id": 1, "subnet": "192.0.2.0/24"}, {"id": 2, "subnet": "nope"}]}}',
            "Dhcp4/subnet4[1]/subnet: 'nope' is not an IPv4 prefix (address/length)",
        ),
        (
            b'{"Dhcp4": {"subnet4": [{"id": 1, "subnet": "2001:db8::/64"}]}}',
            "Dhcp4/subnet4[0]/subnet: '2001:db8::/64' is not an IPv4 prefix (address/length)",
        ),
        (
            b'{"Dhcp4": {"subnet4": [{"id": 1, "subnet": "192.0.2.1/24"}]}}',
            "Dhcp4/subnet4[0]/subnet: '192.0.2.1/24' has bits set past its prefix length",
        ),
        (
            b'{"Dhcp4": {"subnet4": [{"id": 1, "subnet": "192.0.2.0/24"}, {"id": 1, "subnet": "192.0.3.0/24"}]}}',
            "Dhcp4/subnet4[1]/id: subnet id 1 is already used by Dhcp4/subnet4[0]",
        ),
        (
            b'{"Dhcp4": {"subnet4": [{"id": 1, "subnet": "192.0.2.0/24"}, {"id": 2, "subnet": "192.0.2.0/24"}]}}',
            "Dhcp4/subnet4[1]/subnet: the prefix 192.0.2.0/24 is already configured at Dhcp4/subnet4[0]",
        ),
        (
            b'{"Dhcp4": {"subnet4": [{"id": 1, "subnet": "192.0.2.0/24", "pools": [{"pool": "192.0.3.1 - 192.0.3.9"}]}]}}',
            "Dhcp4/subnet4[0]/pools[0]/pool: '192.0.3.1 - 192.0.3.9' lies outside the subnet 192.0.2.0/24",
        ),
        (
            b'{"Dhcp4": {"valid-lifetime": -1}}',
            "Dhcp4/valid-lifetime: -1 is out of range, expected 0..4294967295",
        ),
        (
            b'{"Dhcp4": {"valid-lifetime": "1"}}',
            "Dhcp4/valid-lifetime: expected an integer, got a string",
        ),
        (
            b'{"Dhcp6": {"shared-networks": [{"subnet6": []}]}}',
            "Dhcp6/shared-networks[0]/name: a shared network needs a name",
        ),
        (
            b'{"Dhcp4": {"lease-database": {"type": "mysql"}}}',
            "Dhcp4/lease-database/type: 'mysql' is not supported, only memfile is",
        ),
        (
            b'{"Dhcp4": {"control-socket": {"socket-type": "unix"}}}',
            "Dhcp4/control-socket/socket-name: missing, a unix socket needs a path",
        ),
        (
            b'{"Leased": {"idle-timeout": 0}, "Dhcp4": {}}',
            "Leased/idle-timeout: expected a positive number of seconds",
        ),
        (
            b'{"Leased": {"busy-poll": 1}, "Dhcp4": {}}',
            "Leased/busy-poll: expected seconds from 0 to 0.01",
        ),
        (b'{"Dhcp5": {}}', "the configuration has neither a Dhcp4 nor a Dhcp6 map"),
        (b"[]", "the configuration must be a JSON map, not a list"),
        (b'{"Dhcp4": {', "the configuration ends before its closing bracket"),
    ],
)
def test_config_errors_name_the_bad_value(text: bytes, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        config.parse(text)

    assert str(raised.value) == message


def test_config_leased_section_sets_limits() -> None:
    loaded = config.parse(
        b'{"Leased": {"idle-timeout": 2.5, "max-request-size": 4096, "max-nesting-depth": 20, "busy-poll": 0}, "Dhcp6": {}}'
    )

    assert loaded.limits == {
        "idle_timeout": 2.5,
        "max_request_size": 4096,
        "max_depth": 20,
        "busy_poll": 0.0,
    }


@pytest.mark.parametrize("path", EXAMPLES, ids=[path.name for path in EXAMPLES])
def test_config_shipped_examples_load(path: Path) -> None:
    loaded = config.load(path)

    assert loaded.sockets


@pytest.mark.parametrize("path", sorted(glob.glob("/etc/kea/kea-dhcp[46].conf")))
def test_config_debian_kea_configuration_loads_unchanged(path: str) -> None:
    """Kea's configuration files, as Debian installs them, load unchanged."""
    loaded = config.load(path)

    assert loaded.dhcp4 is not None or loaded.dhcp6 is not None
    assert loaded.ignored


def test_config_check_mode_exit_status(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_bytes(KEA_STYLE)
    bad = tmp_path / "bad.json"
    bad.write_bytes(b'{"Dhcp4": {"subnet4": [{"subnet": "x"}]}}')

    ok = subprocess.run(
        [sys.executable, "-m", "leased", "-t", str(good)],
        capture_output=True,
        text=True,
    )
    failed = subprocess.run(
        [sys.executable, "-m", "leased", "-t", str(bad)], capture_output=True, text=True
    )

    assert ok.returncode == 0
    assert "configuration is valid" in ok.stdout
    assert failed.returncode == 1
    assert "Dhcp4/subnet4[0]/subnet: 'x' is not an IPv4 prefix" in failed.stderr


def test_config_reads_pool_ids_sample_limits_and_family_sockets() -> None:
    """pool-id, the statistic sample defaults and each map's own sockets."""
    loaded = config.build(
        {
            "Dhcp4": {
                "control-socket": {"socket-name": "/run/k4"},
                "statistic-default-sample-count": 0,
                "statistic-default-sample-age": 60,
                "subnet4": [
                    {
                        "id": 1,
                        "subnet": "10.0.0.0/8",
                        "pools": [
                            {"pool": "10.0.0.0/24"},
                            {"pool": "10.0.1.0/24", "pool-id": 5},
                        ],
                    }
                ],
            },
            "Dhcp6": {
                "subnet6": [
                    {
                        "id": 1,
                        "subnet": "2001:db8::/32",
                        "pd-pools": [
                            {
                                "prefix": "2001:db8:8000::",
                                "prefix-len": 33,
                                "delegated-len": 56,
                                "pool-id": 3,
                            }
                        ],
                    }
                ]
            },
        }
    )

    assert loaded.dhcp4 is not None and loaded.dhcp6 is not None
    assert loaded.dhcp4.subnets[0].pool_ids == (0, 5)
    assert loaded.dhcp6.subnets[0].pd_pool_ids == (3,)
    assert (loaded.dhcp4.sample_count, loaded.dhcp4.sample_age) == (0, 60)
    assert loaded.dhcp6.sample_count is None
    assert loaded.dhcp4.socket_paths == ("/run/k4",)
    assert loaded.dhcp6.socket_paths == ()


@pytest.mark.parametrize(
    ("pools", "message"),
    [
        (
            {"pools": [{"pool": "10.0.0.0/24"}, {"pool": "10.0.0.200 - 10.0.1.5"}]},
            "Dhcp4/subnet4[0]/pools: the pools 10.0.0.0-10.0.0.255 and "
            "10.0.0.200-10.0.1.5 overlap",
        ),
        (
            {"pools": [{"pool": "10.0.0.0/24", "pool-id": 0}]},
            "Dhcp4/subnet4[0]/pools[0]/pool-id: 0 is out of range, "
            "expected 1..4294967295",
        ),
    ],
)
def test_config_refuses_overlapping_pools_and_bad_pool_ids(
    pools: dict[str, object], message: str
) -> None:
    """Pools sharing addresses would be counted twice in total-addresses."""
    with pytest.raises(ConfigError) as caught:
        config.build(
            {"Dhcp4": {"subnet4": [{"id": 1, "subnet": "10.0.0.0/8", **pools}]}}
        )

    assert str(caught.value) == message


def test_config_refuses_overlapping_prefix_pools() -> None:
    """Two prefix pools of a subnet must not share prefixes either."""
    pd_pools = [
        {"prefix": "2001:db8:8000::", "prefix-len": 33, "delegated-len": 56},
        {"prefix": "2001:db8:8000::", "prefix-len": 48, "delegated-len": 64},
    ]

    with pytest.raises(ConfigError, match=r"pd-pools: the pools .* overlap"):
        config.build(
            {
                "Dhcp6": {
                    "subnet6": [
                        {"id": 1, "subnet": "2001:db8::/32", "pd-pools": pd_pools}
                    ]
                }
            }
        )


def test_config_with_subnet_ids_shows_the_ids_given() -> None:
    """config-get's copy names each subnet's id and keeps the original."""
    raw = {
        "Dhcp4": {
            "shared-networks": [{"name": "n", "subnet4": [{"subnet": "192.0.3.0/24"}]}],
        },
        "Dhcp6": {"subnet6": [{"subnet": "2001:db8::/32", "pools": []}]},
    }
    loaded = config.build(raw)

    shown = config.with_subnet_ids(raw, loaded)

    assert shown["Dhcp4"]["subnet4"] == []
    assert shown["Dhcp4"]["shared-networks"][0]["subnet4"] == [
        {"id": 1, "subnet": "192.0.3.0/24"}
    ]
    assert shown["Dhcp6"]["subnet6"] == [
        {"id": 1, "subnet": "2001:db8::/32", "pools": []}
    ]
    assert "id" not in raw["Dhcp6"]["subnet6"][0]
    assert "subnet4" not in raw["Dhcp4"]
