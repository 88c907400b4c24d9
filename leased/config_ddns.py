"""The DNS-update parts of a Kea configuration: ``dhcp-ddns`` and ``ddns-*``.

Two kinds of settings drive the NameChangeRequests leased sends:

* the ``dhcp-ddns`` map of ``Dhcp4`` or ``Dhcp6`` says whether updates are
  on and where ``kea-dhcp-ddns`` listens (``enable-updates``,
  ``server-ip``, ``server-port``, ``sender-ip``, ``sender-port``,
  ``max-queue-size``, ``ncr-protocol``, ``ncr-format``), read here into a
  :class:`DhcpDdns` with Kea's defaults and Kea's error texts;
* the ``ddns-*`` parameters, given globally, per shared network or per
  subnet (the innermost wins), say how a lease's request is built.  leased
  uses ``ddns-qualifying-suffix``, ``ddns-use-conflict-resolution`` and
  ``ddns-ttl-percent`` (Kea 2.4's, absent from 2.2) and checks the types of
  the others Kea 2.2 knows (``ddns-send-updates``,
  ``ddns-override-no-update``, ``ddns-override-client-update``,
  ``ddns-replace-client-name``, ``ddns-generated-prefix``,
  ``ddns-update-on-renew``, ``hostname-char-set``,
  ``hostname-char-replacement``): they shape Kea's answers to DHCP clients,
  which leased does not serve, and Kea's lease commands do not read them
  either.

Kea 2.2 still accepts the older spellings inside ``dhcp-ddns``
(``qualifying-suffix``, ``generated-prefix``, ...); as in Kea, such a value
becomes the global one unless the global ``ddns-*`` key is set too.

This module does no I/O.
"""

from __future__ import annotations

import ipaddress
from typing import Any, Final

import attrs

from leased.errors import KIND_WORDS, ConfigError, json_kind
from leased.ncr import DdnsSettings

# Kea's defaults for ``dhcp-ddns`` (D2 client configuration).
DEFAULT_SERVER_IP: Final = "127.0.0.1"
DEFAULT_SERVER_PORT: Final = 53001
DEFAULT_MAX_QUEUE_SIZE: Final = 1024
_UINT32_MAX: Final = (1 << 32) - 1


@attrs.frozen
class DhcpDdns:
    """The ``dhcp-ddns`` map: where NameChangeRequests go.

    Attributes:
        enable_updates: Whether DNS updates are on at all.
        server_ip: kea-dhcp-ddns's address.
        server_port: kea-dhcp-ddns's UDP port.
        sender_ip: The address requests are sent from (the wildcard of the
            server's family unless configured).
        sender_port: The port they are sent from (0: any free port).
        max_queue_size: Requests waiting to be sent, at most.
    """

    enable_updates: bool = False
    server_ip: str = DEFAULT_SERVER_IP
    server_port: int = DEFAULT_SERVER_PORT
    sender_ip: str = "0.0.0.0"
    sender_port: int = 0
    max_queue_size: int = DEFAULT_MAX_QUEUE_SIZE

    @property
    def ip_version(self) -> int:
        """4 or 6: the family of the server (and sender) address."""
        return ipaddress.ip_address(self.server_ip).version


# Keys of ``dhcp-ddns`` and the type each must have; Kea's grammar refuses
# any other key.  The deprecated ones are the pre-1.7 spellings.
_DHCP_DDNS_KEYS: Final = {
    "enable-updates": bool,
    "server-ip": str,
    "server-port": int,
    "sender-ip": str,
    "sender-port": int,
    "max-queue-size": int,
    "ncr-protocol": str,
    "ncr-format": str,
    "user-context": dict,
    "comment": str,
}
_DEPRECATED_KEYS: Final = {
    "qualifying-suffix": ("ddns-qualifying-suffix", str),
    "generated-prefix": ("ddns-generated-prefix", str),
    "override-no-update": ("ddns-override-no-update", bool),
    "override-client-update": ("ddns-override-client-update", bool),
    "replace-client-name": ("ddns-replace-client-name", str),
    "hostname-char-set": ("hostname-char-set", str),
    "hostname-char-replacement": ("hostname-char-replacement", str),
}

# The ``ddns-*`` parameters of a global, shared-network or subnet scope, and
# the type each must have.  Only the first three are used.
USED_PARAMS: Final = {
    "ddns-qualifying-suffix": str,
    "ddns-use-conflict-resolution": bool,
    "ddns-ttl-percent": float,
}
CHECKED_PARAMS: Final = {
    "ddns-send-updates": bool,
    "ddns-override-no-update": bool,
    "ddns-override-client-update": bool,
    "ddns-replace-client-name": str,
    "ddns-generated-prefix": str,
    "ddns-update-on-renew": bool,
    "hostname-char-set": str,
    "hostname-char-replacement": str,
}
_REPLACE_MODES: Final = ("when-present", "never", "always", "when-not-present")


def _check_type(value: Any, kind: type, where: str) -> None:
    # JSON true/false are not integers here, and 1 is not a real number
    # (Kea's grammar wants ``0.5``, not ``1``, for a real).
    if isinstance(value, bool) != (kind is bool) or not isinstance(value, kind):
        raise ConfigError(where, f"expected {KIND_WORDS[kind]}, got {json_kind(value)}")


def read_dhcp_ddns(value: Any, where: str) -> tuple[DhcpDdns, dict[str, Any]]:
    """Read a ``dhcp-ddns`` map with Kea's defaults and checks.

    Args:
        value: The map.
        where: Its path, e.g. ``Dhcp4/dhcp-ddns``.

    Returns:
        The settings, and the deprecated ``ddns-*`` values the map carries,
        by their global names.

    Raises:
        ConfigError: With Kea's text for the first problem found.
    """
    if not isinstance(value, dict):
        raise ConfigError(where, f"expected a map, got {json_kind(value)}")
    moved: dict[str, Any] = {}
    for key, item in value.items():
        if key in _DEPRECATED_KEYS:
            name, kind = _DEPRECATED_KEYS[key]
            _check_type(item, kind, f"{where}/{key}")
            moved[name] = item
            continue
        if key not in _DHCP_DDNS_KEYS:
            raise ConfigError(
                f"{where}/{key}", f'got unexpected keyword "{key}" in dhcp-ddns map.'
            )
        _check_type(item, _DHCP_DDNS_KEYS[key], f"{where}/{key}")
    if "enable-updates" not in value:
        raise ConfigError(where, "missing parameter 'enable-updates'")
    enable = value["enable-updates"]

    server_text = value.get("server-ip", DEFAULT_SERVER_IP)
    try:
        server_ip = ipaddress.ip_address(server_text)
    except ValueError:
        raise ConfigError(
            f"{where}/server-ip",
            f"Failed to convert '{server_text}' to address: Failed to convert "
            f"string to address '{server_text}': Invalid argument",
        ) from None
    server_port = _port(value, "server-port", DEFAULT_SERVER_PORT, where)
    sender_port = _port(value, "sender-port", 0, where)
    queue = value.get("max-queue-size", DEFAULT_MAX_QUEUE_SIZE)
    if not 0 <= queue <= _UINT32_MAX:
        raise ConfigError(
            f"{where}/max-queue-size",
            f"out of range value ({queue}) specified for parameter 'max-queue-size'",
        )

    protocol = value.get("ncr-protocol", "UDP").upper()
    if protocol == "TCP":
        raise ConfigError(
            f"{where}/ncr-protocol",
            "D2ClientConfig error: NCR Protocol: TCP is not supported.",
        )
    if protocol != "UDP":
        raise ConfigError(
            f"{where}/ncr-protocol",
            f"Invalid NameChangeRequest protocol: {value['ncr-protocol']}",
        )
    fmt = value.get("ncr-format", "JSON")
    if fmt.upper() != "JSON":
        raise ConfigError(
            f"{where}/ncr-format", f"Invalid NameChangeRequest format: {fmt}"
        )

    sender_text = value.get("sender-ip", "")
    if sender_text == "":
        sender_ip: Any = ipaddress.ip_address(
            "0.0.0.0" if server_ip.version == 4 else "::"
        )
    else:
        try:
            sender_ip = ipaddress.ip_address(sender_text)
        except ValueError:
            raise ConfigError(
                f"{where}/sender-ip",
                f"invalid address ({sender_text}) specified for parameter 'sender-ip'",
            ) from None
    if sender_ip.version != server_ip.version:
        raise ConfigError(
            f"{where}/sender-ip",
            "D2ClientConfig error: address family mismatch: "
            f"server-ip: {server_ip} is: IPv{server_ip.version} "
            f"while sender-ip: {sender_ip} is: IPv{sender_ip.version}",
        )
    if sender_ip == server_ip and sender_port == server_port:
        raise ConfigError(
            f"{where}/sender-ip",
            "D2ClientConfig error: server and sender cannot share the exact "
            f"same IP address/port: {server_ip}/{server_port}",
        )
    if enable and queue == 0:
        raise ConfigError(
            f"{where}/max-queue-size",
            "NameChangeSender: queue size must be greater than zero",
        )
    settings = DhcpDdns(
        enable_updates=enable,
        server_ip=str(server_ip),
        server_port=server_port,
        sender_ip=str(sender_ip),
        sender_port=sender_port,
        max_queue_size=queue,
    )
    return settings, moved


def _port(value: dict[str, Any], key: str, default: int, where: str) -> int:
    port: int = value.get(key, default)
    # Unlike Kea 2.2, which takes any 32-bit number and silently uses it
    # modulo 65536, a port past 65535 is refused.
    if not 0 <= port <= 0xFFFF:
        raise ConfigError(
            f"{where}/{key}",
            f"out of range value ({port}) specified for parameter '{key}'",
        )
    return port


def read_ddns_params(
    scope: dict[str, Any], where: str, parent: DdnsSettings
) -> DdnsSettings:
    """Read the ``ddns-*`` parameters of one scope over its parent's.

    Args:
        scope: A family map, a shared network or a subnet.
        where: Its path, for error texts.
        parent: What the enclosing scope has (Kea's defaults globally).

    Raises:
        ConfigError: A parameter has the wrong type or value.
    """
    for key, kind in (*USED_PARAMS.items(), *CHECKED_PARAMS.items()):
        if key in scope:
            _check_type(scope[key], kind, f"{where}/{key}")
    mode = scope.get("ddns-replace-client-name")
    if mode is not None and mode not in _REPLACE_MODES:
        raise ConfigError(
            f"{where}/ddns-replace-client-name",
            f"'{mode}' is not one of {', '.join(_REPLACE_MODES)}",
        )
    changes: dict[str, Any] = {}
    if "ddns-qualifying-suffix" in scope:
        changes["qualifying_suffix"] = scope["ddns-qualifying-suffix"]
    if "ddns-use-conflict-resolution" in scope:
        changes["use_conflict_resolution"] = scope["ddns-use-conflict-resolution"]
    if "ddns-ttl-percent" in scope:
        changes["ttl_percent"] = scope["ddns-ttl-percent"]
    return attrs.evolve(parent, **changes) if changes else parent
