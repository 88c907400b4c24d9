"""The ``dhcp-ddns`` map and ``ddns-*`` parameters: defaults, errors, scope."""

from __future__ import annotations

from typing import Any

import pytest

from leased import config
from leased.config_ddns import DhcpDdns
from leased.errors import ConfigError
from leased.ncr import DdnsSettings


def family4(section: dict[str, Any]) -> config.FamilyConfig:
    """Load a ``Dhcp4`` map with one subnet (id 1) and return its part."""
    body = {"subnet4": [{"id": 1, "subnet": "192.0.2.0/24"}], **section}
    loaded = config.build({"Dhcp4": body})
    assert loaded.dhcp4 is not None
    return loaded.dhcp4


def test_dhcp_ddns_defaults_are_keas() -> None:
    """Only ``enable-updates`` given: Kea's defaults for the rest."""
    settings = family4({"dhcp-ddns": {"enable-updates": True}}).dhcp_ddns

    assert settings == DhcpDdns(
        enable_updates=True,
        server_ip="127.0.0.1",
        server_port=53001,
        sender_ip="0.0.0.0",
        sender_port=0,
        max_queue_size=1024,
    )


def test_dhcp_ddns_absent_means_updates_off() -> None:
    assert family4({}).dhcp_ddns.enable_updates is False


def test_dhcp_ddns_sender_follows_an_ipv6_server() -> None:
    settings = family4(
        {"dhcp-ddns": {"enable-updates": True, "server-ip": "::1", "sender-ip": ""}}
    ).dhcp_ddns

    assert (settings.sender_ip, settings.ip_version) == ("::", 6)


def test_dhcp_ddns_accepts_everything_kea_does() -> None:
    """Every key, lower-case protocol, user context and old spellings."""
    settings = family4(
        {
            "dhcp-ddns": {
                "enable-updates": True,
                "server-ip": "192.0.2.53",
                "server-port": 5301,
                "sender-ip": "192.0.2.1",
                "sender-port": 5302,
                "max-queue-size": 5,
                "ncr-protocol": "udp",
                "ncr-format": "JSON",
                "user-context": {"note": 1},
                "comment": "DNS",
                "override-no-update": True,
                "generated-prefix": "host",
            }
        }
    ).dhcp_ddns

    assert settings.server_port == 5301
    assert settings.sender_ip == "192.0.2.1"
    assert settings.max_queue_size == 5


@pytest.mark.parametrize(
    ("dhcp_ddns", "where", "text"),
    [
        ({}, "", "missing parameter 'enable-updates'"),
        ([], "", "expected a map, got a list"),
        (
            {"enable-updates": "yes"},
            "/enable-updates",
            "expected a boolean, got a string",
        ),
        (
            {"enable-updates": True, "server-ip": "bogus"},
            "/server-ip",
            "Failed to convert 'bogus' to address: Failed to convert string to "
            "address 'bogus': Invalid argument",
        ),
        (
            {"enable-updates": True, "server-ip": 5},
            "/server-ip",
            "expected a string, got an integer",
        ),
        (
            {"enable-updates": True, "server-port": -1},
            "/server-port",
            "out of range value (-1) specified for parameter 'server-port'",
        ),
        (
            {"enable-updates": True, "server-port": 70000},
            "/server-port",
            "out of range value (70000) specified for parameter 'server-port'",
        ),
        (
            {"enable-updates": True, "sender-port": -1},
            "/sender-port",
            "out of range value (-1) specified for parameter 'sender-port'",
        ),
        (
            {"enable-updates": True, "sender-ip": "x"},
            "/sender-ip",
            "invalid address (x) specified for parameter 'sender-ip'",
        ),
        (
            {"enable-updates": True, "sender-ip": "::1"},
            "/sender-ip",
            "D2ClientConfig error: address family mismatch: server-ip: 127.0.0.1 "
            "is: IPv4 while sender-ip: ::1 is: IPv6",
        ),
        (
            {"enable-updates": True, "sender-ip": "127.0.0.1", "sender-port": 53001},
            "/sender-ip",
            "D2ClientConfig error: server and sender cannot share the exact same "
            "IP address/port: 127.0.0.1/53001",
        ),
        (
            {"enable-updates": True, "max-queue-size": -1},
            "/max-queue-size",
            "out of range value (-1) specified for parameter 'max-queue-size'",
        ),
        (
            {"enable-updates": True, "max-queue-size": 0},
            "/max-queue-size",
            "NameChangeSender: queue size must be greater than zero",
        ),
        (
            {"enable-updates": True, "max-queue-size": 1.5},
            "/max-queue-size",
            "expected an integer, got a real number",
        ),
        (
            {"enable-updates": True, "ncr-protocol": "TCP"},
            "/ncr-protocol",
            "D2ClientConfig error: NCR Protocol: TCP is not supported.",
        ),
        (
            {"enable-updates": True, "ncr-protocol": "SCTP"},
            "/ncr-protocol",
            "Invalid NameChangeRequest protocol: SCTP",
        ),
        (
            {"enable-updates": True, "ncr-format": "XML"},
            "/ncr-format",
            "Invalid NameChangeRequest format: XML",
        ),
        (
            {"enable-updates": True, "foo": 1},
            "/foo",
            'got unexpected keyword "foo" in dhcp-ddns map.',
        ),
        (
            {"enable-updates": True, "qualifying-suffix": 1},
            "/qualifying-suffix",
            "expected a string, got an integer",
        ),
    ],
)
def test_dhcp_ddns_bad_values_get_keas_errors(
    dhcp_ddns: Any, where: str, text: str
) -> None:
    """Kea's text for each bad value, after the value's path."""
    with pytest.raises(ConfigError) as raised:
        family4({"dhcp-ddns": dhcp_ddns})

    assert raised.value.path == f"Dhcp4/dhcp-ddns{where}"
    assert raised.value.message == text


def test_dhcp_ddns_empty_queue_is_fine_with_updates_off() -> None:
    """Kea refuses a queue size of 0 only when it starts a sender."""
    settings = family4({"dhcp-ddns": {"enable-updates": False, "max-queue-size": 0}})

    assert settings.dhcp_ddns.max_queue_size == 0


def test_ddns_params_inherit_global_network_subnet() -> None:
    """The innermost scope wins; unset values come from outside."""
    loaded = config.build(
        {
            "Dhcp4": {
                "ddns-qualifying-suffix": "global.example.",
                "ddns-use-conflict-resolution": False,
                "shared-networks": [
                    {
                        "name": "campus",
                        "ddns-qualifying-suffix": "campus.example.",
                        "subnet4": [
                            {"id": 2, "subnet": "10.0.0.0/8"},
                            {
                                "id": 3,
                                "subnet": "172.16.0.0/12",
                                "ddns-ttl-percent": 0.5,
                                "ddns-use-conflict-resolution": True,
                            },
                        ],
                    }
                ],
                "subnet4": [{"id": 1, "subnet": "192.0.2.0/24"}],
            }
        }
    )
    dhcp4 = loaded.dhcp4
    assert dhcp4 is not None

    assert dhcp4.ddns_settings(1) == DdnsSettings("global.example.", False, None)
    assert dhcp4.ddns_settings(2) == DdnsSettings("campus.example.", False, None)
    assert dhcp4.ddns_settings(3) == DdnsSettings("campus.example.", True, 0.5)
    assert dhcp4.ddns_settings(99) == DdnsSettings("global.example.", False, None)


def test_ddns_params_old_spelling_in_dhcp_ddns_moves_to_global() -> None:
    """``dhcp-ddns/qualifying-suffix`` counts unless the global one is set."""
    old = family4(
        {"dhcp-ddns": {"enable-updates": False, "qualifying-suffix": "old.example."}}
    )
    both = family4(
        {
            "ddns-qualifying-suffix": "new.example.",
            "dhcp-ddns": {"enable-updates": False, "qualifying-suffix": "old."},
        }
    )

    assert old.ddns_settings(1).qualifying_suffix == "old.example."
    assert both.ddns_settings(1).qualifying_suffix == "new.example."


@pytest.mark.parametrize(
    ("key", "value", "text"),
    [
        ("ddns-send-updates", "yes", "expected a boolean, got a string"),
        ("ddns-qualifying-suffix", 1, "expected a string, got an integer"),
        ("ddns-use-conflict-resolution", 1, "expected a boolean, got an integer"),
        ("ddns-ttl-percent", 1, "expected a real number, got an integer"),
        ("ddns-generated-prefix", None, "expected a string, got null"),
        ("ddns-override-no-update", "no", "expected a boolean, got a string"),
        ("ddns-update-on-renew", 0, "expected a boolean, got an integer"),
        (
            "ddns-replace-client-name",
            "sometimes",
            "'sometimes' is not one of when-present, never, always, when-not-present",
        ),
    ],
)
def test_ddns_params_bad_values_are_refused_at_every_scope(
    key: str, value: Any, text: str
) -> None:
    """A bad value is refused globally, per network and per subnet."""
    scopes = {
        "Dhcp4": {key: value},
        "Dhcp4/shared-networks[0]": {
            "shared-networks": [{"name": "n", key: value}],
        },
        "Dhcp4/subnet4[0]": {
            "subnet4": [{"id": 1, "subnet": "192.0.2.0/24", key: value}],
        },
    }
    for where, section in scopes.items():
        with pytest.raises(ConfigError) as raised:
            config.build({"Dhcp4": section})

        assert raised.value.path == f"{where}/{key}"
        assert raised.value.message == text


def test_ddns_params_not_used_are_reported_as_ignored() -> None:
    """Parameters for DHCP exchanges are checked but listed as not used."""
    loaded = config.build(
        {
            "Dhcp6": {
                "ddns-send-updates": True,
                "ddns-qualifying-suffix": "example.org",
                "ddns-ttl-percent": 0.5,
                "subnet6": [
                    {
                        "id": 1,
                        "subnet": "2001:db8::/64",
                        "ddns-generated-prefix": "host",
                        "ddns-use-conflict-resolution": False,
                    }
                ],
            }
        }
    )

    assert loaded.ignored == (
        "Dhcp6/ddns-send-updates",
        "Dhcp6/subnet6[0]/ddns-generated-prefix",
    )
