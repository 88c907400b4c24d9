"""Configuration: Kea's own file shape, read into frozen records.

leased reads the configuration file of ``kea-dhcp4`` / ``kea-dhcp6``: a JSON
map with a ``Dhcp4`` and/or a ``Dhcp6`` map, with Kea's comments (``#``,
``//``, ``/* */``) allowed.  One leased process serves both families.  From
each family map it uses:

- ``subnet4`` / ``subnet6`` and ``shared-networks`` (with their own subnet
  lists): ``id``, ``subnet``, ``pools``, ``pd-pools`` (with ``pool-id``),
  ``valid-lifetime``, ``preferred-lifetime``, ``client-class``;
- the global ``valid-lifetime`` and ``preferred-lifetime``, inherited by
  shared networks and subnets that do not set their own (Kea's defaults are
  7200 and 3600 seconds);
- ``control-socket`` (``socket-type`` unix, ``socket-name``) and the newer
  ``control-sockets`` list;
- ``lease-database`` (memfile);
- ``dhcp-ddns`` and the ``ddns-*`` parameters of each scope, read by
  :mod:`leased.config_ddns` for DNS updates;
- ``statistic-default-sample-count`` and ``statistic-default-sample-age``,
  the sample limits of the family's statistics.

Every other key is accepted and reported once, at start-up, as ignored, so
an unmodified Kea configuration loads.  A bad value stops loading with a
:class:`~leased.errors.ConfigError` naming where it sits, e.g.
``Dhcp4/subnet4[1]/subnet: ...``.

# Limitation: Kea's ``<?include "file"?>`` directive is not supported; a
# file using it fails to parse.  Inline the included file instead.

This module reads the file and nothing else; it does no other I/O.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import attrs
import netaddr

from leased import kea_json
from leased.config_ddns import USED_PARAMS, DhcpDdns, read_ddns_params, read_dhcp_ddns
from leased.errors import ConfigError, json_kind
from leased.ncr import DdnsSettings
from leased.protocol import BatchStart, FramingError, Request, RequestReader

DEFAULT_VALID_LIFETIME: Final = 7200
DEFAULT_PREFERRED_LIFETIME: Final = 3600
UINT32_MAX: Final = (1 << 32) - 1

# Keys of a family map that leased reads; the rest are reported as ignored.
_FAMILY_KEYS: Final = {
    4: {
        "subnet4",
        "shared-networks",
        "valid-lifetime",
        "control-socket",
        "control-sockets",
        "lease-database",
        "dhcp-ddns",
        "expired-leases-processing",
        "statistic-default-sample-count",
        "statistic-default-sample-age",
        *USED_PARAMS,
    },
    6: {
        "subnet6",
        "shared-networks",
        "valid-lifetime",
        "preferred-lifetime",
        "control-socket",
        "control-sockets",
        "lease-database",
        "dhcp-ddns",
        "expired-leases-processing",
        "statistic-default-sample-count",
        "statistic-default-sample-age",
        *USED_PARAMS,
    },
}
_NETWORK_KEYS: Final = {
    "name",
    "valid-lifetime",
    "preferred-lifetime",
    "client-class",
    *USED_PARAMS,
}
_SUBNET_KEYS: Final = {
    "id",
    "subnet",
    "pools",
    "pd-pools",
    "valid-lifetime",
    "preferred-lifetime",
    "client-class",
    *USED_PARAMS,
}


@attrs.frozen
class Subnet:
    """A configured subnet.

    Attributes:
        id: The subnet id.
        prefix: The subnet, e.g. ``192.0.2.0/24``, as Kea prints it.
        network: The first address, as an integer.
        prefix_len: The prefix length.
        valid_lifetime: Lifetime given to leases that set none.
        preferred_lifetime: IPv6 preferred lifetime (unused for IPv4).
        client_class: The class a client must belong to, if restricted.
        pools: Address ranges, as ``(first, last)`` integer pairs.
        pd_pools: Delegated prefix pools, as ``(prefix, length, delegated
            length)``.
        pool_ids: The ``pool-id`` of each address pool, in the order of
            ``pools`` (0 where none is set, as in Kea).
        pd_pool_ids: The ``pool-id`` of each prefix pool.
        shared_network: The name of the shared network holding it, if any.
        ddns: Its DNS-update parameters (``ddns-*``), inherited from the
            shared network and the global scope.
    """

    id: int
    prefix: str
    network: int
    prefix_len: int
    valid_lifetime: int
    preferred_lifetime: int
    client_class: str | None = None
    pools: tuple[tuple[int, int], ...] = ()
    pd_pools: tuple[tuple[int, int, int], ...] = ()
    shared_network: str | None = None
    pool_ids: tuple[int, ...] = ()
    pd_pool_ids: tuple[int, ...] = ()
    ddns: DdnsSettings = attrs.field(factory=DdnsSettings)

    def contains(self, address: int, bits: int) -> bool:
        """True when ``address`` lies in the subnet's prefix."""
        shift = bits - self.prefix_len
        return (address >> shift) == (self.network >> shift)


@attrs.frozen
class SocketConfig:
    """A control socket to listen on."""

    path: str
    group: str | None = None


@attrs.frozen
class LeaseDatabase:
    """The ``lease-database`` map (memfile only)."""

    persist: bool = True
    name: str | None = None
    lfc_interval: int = 3600
    max_row_errors: int = 0


@attrs.frozen
class ExpiredLeases:
    """The ``expired-leases-processing`` map, with Kea's defaults.

    Times are in seconds except ``max_reclaim_time`` (milliseconds); 0
    turns a timer off, or lifts a limit.
    """

    reclaim_timer_wait_time: int = 10
    flush_reclaimed_timer_wait_time: int = 25
    hold_reclaimed_time: int = 3600
    max_reclaim_leases: int = 100
    max_reclaim_time: int = 250
    unwarned_reclaim_cycles: int = 5


# Each key of ``expired-leases-processing``, and its largest value (Kea's).
_EXPIRED_LIMITS: Final = {
    "reclaim-timer-wait-time": 0xFFFF,
    "flush-reclaimed-timer-wait-time": 0xFFFF,
    "hold-reclaimed-time": 0xFFFFFFFF,
    "max-reclaim-leases": 0xFFFFFFFF,
    "max-reclaim-time": 10000,
    "unwarned-reclaim-cycles": 0xFFFF,
}


@attrs.frozen
class FamilyConfig:
    """What leased uses from a ``Dhcp4`` or ``Dhcp6`` map."""

    version: int
    subnets: tuple[Subnet, ...]
    lease_database: LeaseDatabase
    dhcp_ddns: DhcpDdns = attrs.field(factory=DhcpDdns)
    expired_leases: ExpiredLeases = attrs.field(factory=ExpiredLeases)
    # ``statistic-default-sample-count`` and ``-age``, when set.
    sample_count: int | None = None
    sample_age: int | None = None
    # The control sockets this family's own map names.
    socket_paths: tuple[str, ...] = ()
    # The global ``ddns-*`` parameters (subnets carry their own).
    ddns: DdnsSettings = attrs.field(factory=DdnsSettings)
    by_id: dict[int, Subnet] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        # A derived lookup table; frozen records set it once, here.
        object.__setattr__(
            self, "by_id", {subnet.id: subnet for subnet in self.subnets}
        )

    @property
    def bits(self) -> int:
        """Address width of the family."""
        return 32 if self.version == 4 else 128

    def subnet(self, subnet_id: int) -> Subnet | None:
        """The subnet with this id, if configured."""
        return self.by_id.get(subnet_id)

    def ddns_settings(self, subnet_id: int) -> DdnsSettings:
        """The DNS-update parameters of a subnet, or the global ones.

        A lease whose subnet is no longer configured gets the global
        parameters (Kea 2.2 falls back to its built-in defaults there).
        """
        subnet = self.by_id.get(subnet_id)
        return subnet.ddns if subnet is not None else self.ddns

    def select_subnet(self, address: int) -> Subnet | None:
        """Pick the subnet for an address as Kea's lease commands do.

        The first subnet in ascending id order whose prefix holds the address
        and which has no client class restriction.
        """
        for subnet in self.subnets:
            if subnet.client_class is None and subnet.contains(address, self.bits):
                return subnet
        return None


@attrs.frozen
class Config:
    """A loaded configuration.

    Attributes:
        dhcp4: The IPv4 part, if the file has a ``Dhcp4`` map.
        dhcp6: The IPv6 part, if the file has a ``Dhcp6`` map.
        sockets: Control sockets to listen on (both families' together).
        ignored: Paths of keys leased does not use.
        limits: Control-channel limits from the ``Leased`` map, as keyword
            arguments for :class:`leased.server.Limits`.
        raw: The file's content, for ``config-get``.
        path: The file it came from.
        durable_writes: ``Leased/durable-writes``: each change reaches the
            disk (fsync) before its answer.
    """

    dhcp4: FamilyConfig | None
    dhcp6: FamilyConfig | None
    sockets: tuple[SocketConfig, ...]
    ignored: tuple[str, ...]
    raw: dict[str, Any]
    path: str | None = None
    limits: dict[str, Any] = attrs.field(factory=dict)
    durable_writes: bool = False

    def family(self, version: int) -> FamilyConfig | None:
        """The configuration of one family."""
        return self.dhcp4 if version == 4 else self.dhcp6


def load(path: str | Path) -> Config:
    """Read and check a configuration file.

    Raises:
        ConfigError: The file is unreadable, not JSON, or has a bad value.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise ConfigError("", f"cannot read {path}: {error.strerror}") from error
    return parse(data, path=str(path))


def with_subnet_ids(raw: dict[str, Any], config: Config) -> dict[str, Any]:
    """A copy of ``raw`` showing every subnet's id and every subnet list.

    Subnets the file gives no ``id`` show the one leased gave them (found by
    prefix, which is unique within a family); a family map without a
    ``subnet4``/``subnet6`` list shows an empty one.  The rest is shared
    with ``raw``, which is not changed.
    """
    shown = dict(raw)
    for version in (4, 6):
        family = config.family(version)
        name = f"Dhcp{version}"
        if family is None or not isinstance(raw.get(name), dict):
            continue
        by_prefix = {subnet.prefix: subnet.id for subnet in family.subnets}
        key = f"subnet{version}"
        section = dict(raw[name])
        section[key] = _numbered(section.get(key, []), by_prefix)
        networks = section.get("shared-networks")
        if isinstance(networks, list):
            section["shared-networks"] = [
                {**network, key: _numbered(network[key], by_prefix)}
                if isinstance(network, dict) and key in network
                else network
                for network in networks
            ]
        shown[name] = section
    return shown


def _numbered(subnets: Any, by_prefix: dict[str, int]) -> Any:
    """A subnet list whose entries without an ``id`` show the one given."""
    if not isinstance(subnets, list):
        return subnets
    out = []
    for item in subnets:
        if isinstance(item, dict) and "id" not in item:
            try:
                prefix = str(netaddr.IPNetwork(str(item["subnet"]).strip()))
                item = {"id": by_prefix[prefix], **item}
            except (KeyError, netaddr.AddrFormatError, ValueError):
                pass
        out.append(item)
    return out


def strip_comments(data: bytes) -> bytes:
    """Remove Kea-style comments from a configuration text.

    Raises:
        ConfigError: The text is not one JSON map.
    """
    reader = RequestReader(max_request_size=len(data) + 1, max_depth=1000)
    reader.feed(data)
    event = reader.next_event()
    if isinstance(event, Request):
        return event.text
    if isinstance(event, FramingError):
        raise ConfigError("", f"not a JSON configuration: {event.text}")
    if isinstance(event, BatchStart):
        raise ConfigError("", "the configuration must be a JSON map, not a list")
    raise ConfigError("", "the configuration ends before its closing bracket")


# A string, or a comma followed only by white space and a closing bracket.
_STRING_OR_TRAILING_COMMA = re.compile(rb'"(?:[^"\\]|\\.)*"|,(\s*[}\]])')


def _drop_trailing_commas(text: bytes) -> bytes:
    """Remove commas before a closing bracket, outside strings.

    Kea's configuration parser accepts them (its own example files have
    some), though its control channel does not.
    """
    return _STRING_OR_TRAILING_COMMA.sub(
        lambda match: match.group(1) if match.group(1) is not None else match.group(0),
        text,
    )


def parse(data: bytes, *, path: str | None = None) -> Config:
    """Check a configuration given as text.

    Raises:
        ConfigError: The text is not JSON, or has a bad value.
    """
    text = _drop_trailing_commas(strip_comments(data))
    try:
        # Kea's reader, which accepts what Kea accepts in its own files
        # (a trailing comma in a list, for one).
        raw = kea_json.decode(text)
    except kea_json.KeaJSONError as error:
        where = ""
        if error.line is not None:
            where = f" at line {error.line + 1}, column {error.column}"
        raise ConfigError("", f"not valid JSON: {error.reason}{where}") from None
    return build(raw, path=path)


def build(raw: Any, *, path: str | None = None) -> Config:
    """Check a configuration given as a decoded JSON value.

    Raises:
        ConfigError: A value is bad.
    """
    if not isinstance(raw, dict):
        raise ConfigError("", "the configuration must be a JSON map")
    ignored: list[str] = []
    families: dict[int, FamilyConfig] = {}
    sockets: list[SocketConfig] = []
    for key in raw:
        if key not in ("Dhcp4", "Dhcp6", "Leased"):
            ignored.append(key)
    limits = _leased_section(raw.get("Leased", {}), "Leased", ignored)
    durable = _bool(
        _map(raw.get("Leased", {}), "Leased").get("durable-writes", False),
        "Leased/durable-writes",
    )
    for version in (4, 6):
        name = f"Dhcp{version}"
        if name not in raw:
            continue
        section = _map(raw[name], name)
        families[version] = _family(section, version, name, ignored, sockets)
    if not families:
        raise ConfigError("", "the configuration has neither a Dhcp4 nor a Dhcp6 map")
    unique = tuple(dict.fromkeys(sockets))
    if len({s.path for s in unique}) != len(unique):
        raise ConfigError("", "one control socket path is configured with two groups")
    return Config(
        dhcp4=families.get(4),
        dhcp6=families.get(6),
        sockets=unique,
        ignored=tuple(ignored),
        raw=raw,
        path=path,
        limits=limits,
        durable_writes=durable,
    )


def _leased_section(value: Any, where: str, ignored: list[str]) -> dict[str, Any]:
    """Read the ``Leased`` map: settings of leased's own, which Kea lacks."""
    section = _map(value, where)
    limits: dict[str, Any] = {}
    for key in section:
        if key not in (
            "idle-timeout",
            "max-request-size",
            "max-nesting-depth",
            "busy-poll",
            "durable-writes",
            "max-connections",
        ):
            ignored.append(f"{where}/{key}")
    if "idle-timeout" in section:
        timeout = section["idle-timeout"]
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, int | float)
            or timeout <= 0
        ):
            raise ConfigError(
                f"{where}/idle-timeout", "expected a positive number of seconds"
            )
        limits["idle_timeout"] = float(timeout)
    if "busy-poll" in section:
        spin = section["busy-poll"]
        if (
            isinstance(spin, bool)
            or not isinstance(spin, int | float)
            or not 0 <= spin <= 0.01
        ):
            raise ConfigError(f"{where}/busy-poll", "expected seconds from 0 to 0.01")
        limits["busy_poll"] = float(spin)
    if "max-request-size" in section:
        limits["max_request_size"] = _uint32(
            section["max-request-size"], f"{where}/max-request-size", low=1024
        )
    if "max-connections" in section:
        limits["max_connections"] = _uint32(
            section["max-connections"], f"{where}/max-connections", low=1
        )
    if "max-nesting-depth" in section:
        depth = _uint32(
            section["max-nesting-depth"], f"{where}/max-nesting-depth", low=2
        )
        if depth > 10000:
            raise ConfigError(f"{where}/max-nesting-depth", "must be at most 10000")
        limits["max_depth"] = depth
    return limits


# Value checks.  Each takes the value and its path for error texts.


def _map(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(where, f"expected a map, got {json_kind(value)}")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise ConfigError(where, f"expected a list, got {json_kind(value)}")
    return value


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(where, f"expected a string, got {json_kind(value)}")
    return value


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(where, f"expected a boolean, got {json_kind(value)}")
    return value


def _uint32(value: Any, where: str, *, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(where, f"expected an integer, got {json_kind(value)}")
    if not low <= value <= UINT32_MAX:
        raise ConfigError(
            where, f"{value} is out of range, expected {low}..{UINT32_MAX}"
        )
    return value


def _family(
    section: dict[str, Any],
    version: int,
    where: str,
    ignored: list[str],
    sockets: list[SocketConfig],
) -> FamilyConfig:
    subnet_key = f"subnet{version}"
    for key in section:
        if key not in _FAMILY_KEYS[version]:
            ignored.append(f"{where}/{key}")

    inherited: dict[str, Any] = {
        "valid-lifetime": _uint32(
            section.get("valid-lifetime", DEFAULT_VALID_LIFETIME),
            f"{where}/valid-lifetime",
        ),
        "preferred-lifetime": _uint32(
            section.get("preferred-lifetime", DEFAULT_PREFERRED_LIFETIME),
            f"{where}/preferred-lifetime",
        ),
    }

    # DNS updates: the ``dhcp-ddns`` map, then the global ``ddns-*`` values
    # (over any older spelling of them inside ``dhcp-ddns``, as in Kea).
    dhcp_ddns = DhcpDdns()
    if "dhcp-ddns" in section:
        dhcp_ddns, moved = read_dhcp_ddns(section["dhcp-ddns"], f"{where}/dhcp-ddns")
        moved_where = f"{where}/dhcp-ddns"
        global_ddns = read_ddns_params(moved, moved_where, DdnsSettings())
    else:
        global_ddns = DdnsSettings()
    inherited["ddns"] = read_ddns_params(section, where, global_ddns)

    # Gather the subnets with the lifetimes they inherit, then number those
    # without an id and check that ids and prefixes are unique.
    found: list[tuple[dict[str, Any], str, dict[str, Any], str | None]] = []
    for index, item in enumerate(
        _list(section.get(subnet_key, []), f"{where}/{subnet_key}")
    ):
        found.append((item, f"{where}/{subnet_key}[{index}]", inherited, None))
    networks = _list(section.get("shared-networks", []), f"{where}/shared-networks")
    for n_index, network in enumerate(networks):
        n_where = f"{where}/shared-networks[{n_index}]"
        network = _map(network, n_where)
        name = _string(network.get("name", ""), f"{n_where}/name")
        if not name:
            raise ConfigError(f"{n_where}/name", "a shared network needs a name")
        for key in network:
            if key not in _NETWORK_KEYS and key != subnet_key:
                ignored.append(f"{n_where}/{key}")
        n_inherited: dict[str, Any] = dict(inherited)
        for key in ("valid-lifetime", "preferred-lifetime"):
            if key in network:
                n_inherited[key] = _uint32(network[key], f"{n_where}/{key}")
        if "client-class" in network:
            n_inherited["client-class"] = _string(
                network["client-class"], f"{n_where}/client-class"
            )
        n_inherited["ddns"] = read_ddns_params(network, n_where, inherited["ddns"])
        items = _list(network.get(subnet_key, []), f"{n_where}/{subnet_key}")
        for index, item in enumerate(items):
            found.append((item, f"{n_where}/{subnet_key}[{index}]", n_inherited, name))

    subnets = [
        _subnet(item, version, s_where, parent, network_name, ignored)
        for item, s_where, parent, network_name in found
    ]
    subnets = _number_subnets(subnets, [s_where for _, s_where, _, _ in found])
    named_before = len(sockets)
    _socket_configs(section, where, sockets)
    sample_count = sample_age = None
    if "statistic-default-sample-count" in section:
        sample_count = _uint32(
            section["statistic-default-sample-count"],
            f"{where}/statistic-default-sample-count",
        )
    if "statistic-default-sample-age" in section:
        sample_age = _uint32(
            section["statistic-default-sample-age"],
            f"{where}/statistic-default-sample-age",
        )
    return FamilyConfig(
        version=version,
        subnets=tuple(sorted(subnets, key=lambda subnet: subnet.id)),
        lease_database=_lease_database(
            section.get("lease-database"), f"{where}/lease-database"
        ),
        dhcp_ddns=dhcp_ddns,
        ddns=inherited["ddns"],
        expired_leases=_expired_leases(
            section.get("expired-leases-processing"),
            f"{where}/expired-leases-processing",
        ),
        sample_count=sample_count,
        sample_age=sample_age,
        socket_paths=tuple(socket.path for socket in sockets[named_before:]),
    )


def _expired_leases(value: Any, where: str) -> ExpiredLeases:
    """Read ``expired-leases-processing`` with Kea's range checks and texts."""
    if value is None:
        return ExpiredLeases()
    value = _map(value, where)
    settings: dict[str, int] = {}
    for key, number in value.items():
        if key not in _EXPIRED_LIMITS:
            raise ConfigError(f"{where}/{key}", f"unsupported parameter '{key}'")
        if isinstance(number, bool) or not isinstance(number, int):
            raise ConfigError(
                f"{where}/{key}", f"expected an integer, got {json_kind(number)}"
            )
        if number < 0:
            raise ConfigError(
                f"{where}/{key}",
                f"value for configuration parameter '{key}' must not be negative",
            )
        if number > _EXPIRED_LIMITS[key]:
            raise ConfigError(
                f"{where}/{key}",
                f"out range value '{number}' for configuration parameter '{key}', "
                f"expected maximum value of '{_EXPIRED_LIMITS[key]}'",
            )
        settings[key.replace("-", "_")] = number
    return ExpiredLeases(**settings)


def _subnet(
    item: Any,
    version: int,
    where: str,
    parent: dict[str, Any],
    network_name: str | None,
    ignored: list[str],
) -> Subnet:
    item = _map(item, where)
    for key in item:
        if key not in _SUBNET_KEYS:
            ignored.append(f"{where}/{key}")
    subnet_id = _uint32(item["id"], f"{where}/id", low=1) if "id" in item else 0
    if "subnet" not in item:
        raise ConfigError(f"{where}/subnet", "missing, every subnet needs a prefix")
    prefix = _string(item["subnet"], f"{where}/subnet")
    try:
        network = netaddr.IPNetwork(prefix.strip())
        if "/" not in prefix or network.version != version:
            raise ValueError
    except (netaddr.AddrFormatError, ValueError, TypeError):
        raise ConfigError(
            f"{where}/subnet",
            f"'{prefix}' is not an IPv{version} prefix (address/length)",
        ) from None
    if network.ip != network.network:
        raise ConfigError(
            f"{where}/subnet", f"'{prefix}' has bits set past its prefix length"
        )
    pools = tuple(_pools(item.get("pools", []), f"{where}/pools", version, network))
    _check_overlap([(first, last) for first, last in pools], f"{where}/pools", version)
    pd_pools = tuple(_pd_pools(item.get("pd-pools", []), f"{where}/pd-pools", version))
    _check_overlap(
        [pd_pool_range(prefix, length) for prefix, length, _ in pd_pools],
        f"{where}/pd-pools",
        version,
    )
    client_class = parent.get("client-class")
    if "client-class" in item:
        client_class = _string(item["client-class"], f"{where}/client-class")
    return Subnet(
        id=subnet_id,
        prefix=str(network),
        network=int(network.network),
        prefix_len=network.prefixlen,
        valid_lifetime=_uint32(
            item.get("valid-lifetime", parent["valid-lifetime"]),
            f"{where}/valid-lifetime",
        ),
        preferred_lifetime=_uint32(
            item.get("preferred-lifetime", parent["preferred-lifetime"]),
            f"{where}/preferred-lifetime",
        ),
        client_class=client_class or None,
        pools=pools,
        pd_pools=pd_pools,
        shared_network=network_name,
        pool_ids=_pool_ids(item.get("pools", []), f"{where}/pools"),
        pd_pool_ids=_pool_ids(item.get("pd-pools", []), f"{where}/pd-pools"),
        ddns=read_ddns_params(item, where, parent["ddns"]),
    )


def _pools(
    value: Any, where: str, version: int, subnet: netaddr.IPNetwork
) -> Iterator[tuple[int, int]]:
    for index, pool in enumerate(_list(value, where)):
        p_where = f"{where}[{index}]/pool"
        pool = _map(pool, f"{where}[{index}]")
        text = _string(pool.get("pool"), p_where)
        try:
            if "-" in text:
                first_text, last_text = text.split("-", 1)
                first = netaddr.IPAddress(first_text.strip())
                last = netaddr.IPAddress(last_text.strip())
            else:
                block = netaddr.IPNetwork(text.strip())
                first, last = block[0], block[-1]
        except (netaddr.AddrFormatError, ValueError):
            raise ConfigError(
                p_where, f"'{text}' is neither a range (first - last) nor a prefix"
            ) from None
        if first.version != version or last.version != version or first > last:
            raise ConfigError(p_where, f"'{text}' is not an IPv{version} range")
        if first not in subnet or last not in subnet:
            raise ConfigError(p_where, f"'{text}' lies outside the subnet {subnet}")
        yield int(first), int(last)


def _pd_pools(value: Any, where: str, version: int) -> Iterator[tuple[int, int, int]]:
    if version == 4 and value:
        raise ConfigError(where, "prefix delegation pools exist only for IPv6")
    for index, pool in enumerate(_list(value, where)):
        p_where = f"{where}[{index}]"
        pool = _map(pool, p_where)
        text = _string(pool.get("prefix"), f"{p_where}/prefix")
        length = pool.get("prefix-len")
        delegated = pool.get("delegated-len")
        if not isinstance(length, int) or not 1 <= length <= 128:
            raise ConfigError(
                f"{p_where}/prefix-len", "expected an integer from 1 to 128"
            )
        if not isinstance(delegated, int) or not length <= delegated <= 128:
            raise ConfigError(
                f"{p_where}/delegated-len", f"expected an integer from {length} to 128"
            )
        try:
            address = netaddr.IPAddress(text)
            if address.version != 6:
                raise ValueError
        except (netaddr.AddrFormatError, ValueError):
            raise ConfigError(
                f"{p_where}/prefix", f"'{text}' is not an IPv6 prefix"
            ) from None
        yield int(address), length, delegated


def pd_pool_range(prefix: int, length: int) -> tuple[int, int]:
    """The first and last address of a prefix pool."""
    host_bits = 128 - length
    first = (prefix >> host_bits) << host_bits
    return first, first | ((1 << host_bits) - 1)


def _check_overlap(ranges: list[tuple[int, int]], where: str, version: int) -> None:
    """Refuse pools of one subnet that share addresses, as Kea does.

    Pool sizes add up to the subnet's ``total-*`` statistics, which would
    count shared addresses twice.
    """
    ordered = sorted(ranges)
    for (first, last), (next_first, next_last) in itertools.pairwise(ordered):
        if next_first <= last:
            show = netaddr.IPAddress
            raise ConfigError(
                where,
                f"the pools {show(first, version)}-{show(last, version)} and "
                f"{show(next_first, version)}-{show(next_last, version)} overlap",
            )


def _pool_ids(value: list[Any], where: str) -> tuple[int, ...]:
    """Each pool's ``pool-id`` (0 where none is set), in order."""
    return tuple(
        _uint32(pool["pool-id"], f"{where}[{index}]/pool-id", low=1)
        if "pool-id" in pool
        else 0
        for index, pool in enumerate(value)
    )


def _number_subnets(subnets: list[Subnet], wheres: list[str]) -> list[Subnet]:
    """Give subnets without an id the lowest free ids, and check uniqueness."""
    used: dict[int, str] = {}
    for subnet, where in zip(subnets, wheres, strict=True):
        if subnet.id:
            if subnet.id in used:
                raise ConfigError(
                    f"{where}/id",
                    f"subnet id {subnet.id} is already used by {used[subnet.id]}",
                )
            used[subnet.id] = where
    next_id = 1
    numbered = []
    prefixes: dict[str, str] = {}
    for subnet, where in zip(subnets, wheres, strict=True):
        if not subnet.id:
            while next_id in used:
                next_id += 1
            used[next_id] = where
            subnet = attrs.evolve(subnet, id=next_id)
        if subnet.prefix in prefixes:
            raise ConfigError(
                f"{where}/subnet",
                f"the prefix {subnet.prefix} is already configured at {prefixes[subnet.prefix]}",
            )
        prefixes[subnet.prefix] = where
        numbered.append(subnet)
    return numbered


def _socket_configs(
    section: dict[str, Any], where: str, sockets: list[SocketConfig]
) -> None:
    entries: list[tuple[Any, str]] = []
    if "control-socket" in section:
        entries.append((section["control-socket"], f"{where}/control-socket"))
    if "control-sockets" in section:
        for index, entry in enumerate(
            _list(section["control-sockets"], f"{where}/control-sockets")
        ):
            entries.append((entry, f"{where}/control-sockets[{index}]"))
    for entry, e_where in entries:
        entry = _map(entry, e_where)
        kind = _string(entry.get("socket-type", "unix"), f"{e_where}/socket-type")
        if kind != "unix":
            # Kea's newer HTTP(S) sockets are not served by leased.
            continue
        if "socket-name" not in entry:
            raise ConfigError(
                f"{e_where}/socket-name", "missing, a unix socket needs a path"
            )
        name = _string(entry["socket-name"], f"{e_where}/socket-name").strip()
        if not name or name.endswith("/"):
            raise ConfigError(f"{e_where}/socket-name", f"'{name}' has no file name")
        group = entry.get("socket-group")
        if group is not None:
            group = _string(group, f"{e_where}/socket-group")
        sockets.append(SocketConfig(path=name, group=group))


def _lease_database(value: Any, where: str) -> LeaseDatabase:
    if value is None:
        return LeaseDatabase()
    value = _map(value, where)
    kind = _string(value.get("type", "memfile"), f"{where}/type")
    if kind != "memfile":
        raise ConfigError(
            f"{where}/type", f"'{kind}' is not supported, only memfile is"
        )
    name = value.get("name")
    return LeaseDatabase(
        persist=_bool(value.get("persist", True), f"{where}/persist"),
        name=_string(name, f"{where}/name") if name is not None else None,
        lfc_interval=_uint32(value.get("lfc-interval", 3600), f"{where}/lfc-interval"),
        max_row_errors=_uint32(
            value.get("max-row-errors", 0), f"{where}/max-row-errors"
        ),
    )
