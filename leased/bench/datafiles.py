"""Large lease files in Kea 2.2's format, generated once and cached.

The start-up, scan, get-all, wipe and compaction workloads need tables of a
million leases.  Adding them one command at a time would take longer than
the measurements, and both servers must load exactly the same data, so the
tables are written as lease files in the format Kea 2.2 writes (its header,
11 columns for IPv4 and 17 for IPv6) and both servers start from a copy.

Lease ``i`` of a table of ``n``:

* lies in subnet 1 when ``i < n / 2``, else in subnet 2 (see
  :func:`subnets`), at the ``1 + i``-th (or ``1 + i - n / 2``-th) address
  of its subnet;
* has the hardware address ``02:`` followed by ``i`` in five bytes; IPv4
  leases have the client identifier ``01:`` followed by the hardware
  address, IPv6 leases the DUID-LL ``00:03:00:01:`` followed by it and
  ``i`` as IAID;
* has the host name ``host-<i>.example.com.``, valid lifetime 4000 s
  (IPv6: preferred 3000 s) and an expiry spread over 4000 seconds far in
  the future, as a server whose clients renew at half their lifetime sees
  it (and no lease expires while the benchmark runs).

A journal (``updates`` > 0) writes every lease once, then each again
``updates`` times with a later expiry, in rounds, as a live lease file grows
between compactions: ``n * (1 + updates)`` rows for ``n`` leases.

Files are named after what they hold and the generator's version, so a
cached file is reused only when it would be generated the same.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any, Final

import attrs

__all__ = [
    "HEADERS",
    "TableFile",
    "default_cache",
    "empty",
    "ensure",
    "lease4_keys",
    "subnets",
]

# Bump when the rows generated change, so that cached files are remade.
_GENERATOR: Final = 1

HEADERS: Final = {
    4: "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,"
    "fqdn_rev,hostname,state,user_context",
    6: "address,duid,valid_lifetime,expire,subnet_id,pref_lifetime,lease_type,"
    "iaid,prefix_len,fqdn_fwd,fqdn_rev,hostname,hwaddr,state,user_context,"
    "hwtype,hwaddr_source",
}

VALID_LIFETIME: Final = 4000
PREFERRED_LIFETIME: Final = 3000
# Expiry times lie in 2033, past any run of the benchmark.
_EXPIRE_BASE: Final = 2_000_000_000
_RENEWAL: Final = 1000
_ROWS_PER_WRITE: Final = 50_000


def subnets(family: int) -> list[dict[str, Any]]:
    """The two subnets every generated table's leases lie in."""
    if family == 4:
        return [
            {"id": 1, "subnet": "10.0.0.0/9"},
            {"id": 2, "subnet": "10.128.0.0/9"},
        ]
    return [
        {"id": 1, "subnet": "2001:db8::/48"},
        {"id": 2, "subnet": "2001:db8:1::/48"},
    ]


@attrs.frozen
class TableFile:
    """What a generated lease file holds.

    Attributes:
        family: 4 or 6.
        leases: How many distinct leases.
        updates: How many more rows each lease gets after its first one.
    """

    family: int
    leases: int
    updates: int = 0

    @property
    def rows(self) -> int:
        """Data rows in the file."""
        return self.leases * (1 + self.updates)

    @property
    def name(self) -> str:
        """The cached file's name."""
        return f"kea22-v{self.family}-{self.leases}-u{self.updates}-g{_GENERATOR}.csv"


def default_cache() -> Path:
    """Where generated files are kept between runs."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return Path(base) / "leased-bench"


def ensure(spec: TableFile, cache: Path) -> Path:
    """The path of ``spec``'s file in ``cache``, generating it if missing."""
    path = cache / spec.name
    if path.exists():
        return path
    cache.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.part{os.getpid()}")
    with open(partial, "w", encoding="ascii", buffering=1 << 20) as out:
        out.write(HEADERS[spec.family] + "\n")
        for round_number in range(1 + spec.updates):
            for start in range(0, spec.leases, _ROWS_PER_WRITE):
                stop = min(start + _ROWS_PER_WRITE, spec.leases)
                out.write(_rows(spec, start, stop, round_number))
    os.replace(partial, path)
    return path


def _rows(spec: TableFile, start: int, stop: int, round_number: int) -> str:
    """Rows ``start .. stop - 1`` of one round, each ending in a newline."""
    half = spec.leases // 2 or 1
    shift = _EXPIRE_BASE + round_number * _RENEWAL
    if spec.family == 4:
        rows = [
            f"{_ip4(i, half)},{mac},01:{mac},{VALID_LIFETIME},"
            f"{shift + i * 7919 % VALID_LIFETIME},{1 + (i >= half)},0,0,"
            f"host-{i}.example.com.,0,\n"
            for i in range(start, stop)
            for mac in (_mac(i),)
        ]
    else:
        rows = [
            f"{_ip6(i, half)},00:03:00:01:{mac},{VALID_LIFETIME},"
            f"{shift + i * 7919 % VALID_LIFETIME},{1 + (i >= half)},"
            f"{PREFERRED_LIFETIME},0,{i},128,0,0,host-{i}.example.com.,{mac},0,,1,0\n"
            for i in range(start, stop)
            for mac in (_mac(i),)
        ]
    return "".join(rows)


def lease4_keys(index: int, leases: int) -> dict[str, Any]:
    """The lookup keys of IPv4 lease ``index`` of a table of ``leases``.

    Returns:
        Its ``ip-address``, ``subnet-id``, ``hw-address``, ``client-id`` and
        ``hostname``, as the lease commands take them.
    """
    half = leases // 2 or 1
    mac = _mac(index)
    return {
        "ip-address": _ip4(index, half),
        "subnet-id": 1 + (index >= half),
        "hw-address": mac,
        "client-id": "01:" + mac,
        "hostname": f"host-{index}.example.com.",
    }


def empty(family: int, cache: Path) -> Path:
    """A lease file with Kea 2.2's header and no rows, in ``cache``."""
    path = cache / f"kea22-v{family}-empty.csv"
    if not path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.part{os.getpid()}")
        partial.write_text(HEADERS[family] + "\n")
        os.replace(partial, path)
    return path


def _mac(i: int) -> str:
    return "02:" + i.to_bytes(5, "big").hex(":")


def _ip4(i: int, half: int) -> str:
    address = (0x0A000001 + i) if i < half else (0x0A800001 + i - half)
    return f"{address >> 24}.{address >> 16 & 255}.{address >> 8 & 255}.{address & 255}"


_NET6: Final = (0x20010DB8 << 96, 0x20010DB80001 << 80)


def _ip6(i: int, half: int) -> str:
    address = _NET6[0] + 1 + i if i < half else _NET6[1] + 1 + i - half
    return socket.inet_ntop(socket.AF_INET6, address.to_bytes(16, "big"))
