"""Cases for the differential suite: request sequences and what Kea answers.

A case is a sequence of steps for one address family on one configuration.
Each step is a request (a command with its arguments, or raw bytes for the
framing cases) and the result code Kea 2.2 gives it, which the suite checks
so that a case cannot silently stop exercising what its name says.  The
answers themselves are not written down here: Kea produces them, and leased
must produce the same.

Sequences build state: leases are added, then read, paged, updated, deleted
or wiped, then read again, so that a wrong change shows up in a later step.
Every case starts from an empty lease table.

A deliberate difference is a step where Kea 2.2 is wrong (it crashes, loses
data or reports a success it did not achieve).  Such a step carries the
answer leased must give instead and a one-line reason; with ``to_kea`` false
it is not sent to Kea at all, which is how a request that would kill Kea
stays out of its way.

Two configurations are used, both holding the two families, as leased
serves both from one process:

- ``fixture``: Kea's own unit-test fixture (subnets 44 and 88 for IPv4,
  66 and 99 for IPv6, short lifetimes, no pools).
- ``auto``: subnets listed out of id order, one restricted to a client
  class, one inside a shared network, pools and global lifetimes, to
  exercise subnet auto-selection and lifetime inheritance.
"""

from __future__ import annotations

import json
from typing import Any

import attrs

ABSENT: Any = type("Absent", (), {"__repr__": lambda self: "ABSENT"})()
"""Stands for a key left out of a request (as opposed to JSON ``null``)."""

# Several cases add leases that are already expired; the servers must not
# reclaim them (Kea would every 10 s) while a case runs.
NO_RECLAMATION = {"reclaim-timer-wait-time": 0, "flush-reclaimed-timer-wait-time": 0}

# Leases stay in memory, as in Kea's unit tests, unless a configuration says
# otherwise; Kea's default would be a lease file.
IN_MEMORY = {"type": "memfile", "persist": False}

CONFIGS: dict[str, dict[str, Any]] = {
    "fixture": {
        "Dhcp4": {
            "expired-leases-processing": NO_RECLAMATION,
            "lease-database": IN_MEMORY,
            "subnet4": [
                {
                    "id": 44,
                    "subnet": "192.0.2.0/24",
                    "renew-timer": 1,
                    "rebind-timer": 2,
                    "valid-lifetime": 3,
                },
                {
                    "id": 88,
                    "subnet": "192.0.3.0/24",
                    "renew-timer": 1,
                    "rebind-timer": 2,
                    "valid-lifetime": 3,
                },
            ],
        },
        "Dhcp6": {
            "expired-leases-processing": NO_RECLAMATION,
            "lease-database": IN_MEMORY,
            "subnet6": [
                {
                    "id": 66,
                    "subnet": "2001:db8:1::/48",
                    "renew-timer": 1,
                    "rebind-timer": 2,
                    "preferred-lifetime": 3,
                    "valid-lifetime": 4,
                },
                {
                    "id": 99,
                    "subnet": "2001:db8:2::/48",
                    "renew-timer": 1,
                    "rebind-timer": 2,
                    "preferred-lifetime": 3,
                    "valid-lifetime": 4,
                },
            ],
        },
    },
    "auto": {
        "Dhcp4": {
            "expired-leases-processing": NO_RECLAMATION,
            "lease-database": IN_MEMORY,
            "valid-lifetime": 7200,
            "client-classes": [{"name": "special"}],
            "subnet4": [
                {
                    "id": 8,
                    "subnet": "10.0.0.0/8",
                    "valid-lifetime": 900,
                    "pools": [{"pool": "10.9.0.10 - 10.9.0.200"}],
                },
                {"id": 3, "subnet": "10.0.0.0/24", "client-class": "special"},
                {
                    "id": 12,
                    "subnet": "172.16.0.0/16",
                    "pools": [{"pool": "172.16.1.0/24"}],
                },
            ],
            "shared-networks": [
                {
                    "name": "campus",
                    "valid-lifetime": 600,
                    "subnet4": [{"id": 5, "subnet": "10.0.0.0/16"}],
                }
            ],
        },
        "Dhcp6": {
            "expired-leases-processing": NO_RECLAMATION,
            "lease-database": IN_MEMORY,
            "preferred-lifetime": 3000,
            "valid-lifetime": 4000,
            "client-classes": [{"name": "special"}],
            "subnet6": [
                {
                    "id": 8,
                    "subnet": "2001:db8::/32",
                    "pd-pools": [
                        {
                            "prefix": "2001:db8:8000::",
                            "prefix-len": 33,
                            "delegated-len": 56,
                        }
                    ],
                },
                {"id": 3, "subnet": "2001:db8:1::/48", "client-class": "special"},
                {
                    "id": 12,
                    "subnet": "3000::/64",
                    "valid-lifetime": 900,
                    "pools": [{"pool": "3000::100 - 3000::1ff"}],
                },
            ],
            "shared-networks": [
                {
                    "name": "campus",
                    "preferred-lifetime": 500,
                    "valid-lifetime": 600,
                    "subnet6": [{"id": 5, "subnet": "2001:db8::/40"}],
                }
            ],
        },
    },
}


def _with_lease_files(config: dict[str, Any]) -> dict[str, Any]:
    """Copy ``config`` with each family's leases kept in a file of its own."""
    copy: dict[str, Any] = copy_json(config)
    for family in (4, 6):
        copy[f"Dhcp{family}"]["lease-database"] = {
            "type": "memfile",
            "persist": True,
            "name": f"leases{family}.csv",
            "lfc-interval": 0,
        }
    return copy


def copy_json(value: Any) -> Any:
    """A deep copy of a JSON value."""
    return json.loads(json.dumps(value))


# The fixture with lease files: Kea then also runs the storage checks it
# skips in memory (a lease needs an identifier unless declined).
CONFIGS["persist"] = _with_lease_files(CONFIGS["fixture"])


def _with_dns_updates(config: dict[str, Any], enable: bool) -> dict[str, Any]:
    """Copy ``config`` with a ``dhcp-ddns`` map in each family.

    With updates on, the suite points ``server-port`` at a UDP socket of its
    own per server (Kea per family, leased) and compares what arrives there.
    Subnets 88 and 99 turn conflict resolution off, which the requests show.
    """
    copy: dict[str, Any] = copy_json(config)
    for family in (4, 6):
        section = copy[f"Dhcp{family}"]
        section["dhcp-ddns"] = {"enable-updates": enable}
        if enable:
            section["dhcp-ddns"].update(
                {"server-ip": "127.0.0.1", "server-port": 0, "sender-ip": "127.0.0.1"}
            )
        section["ddns-qualifying-suffix"] = "example.org"
        section[f"subnet{family}"][1]["ddns-use-conflict-resolution"] = False
    return copy


# The fixture with DNS updates on (requests captured) and with them off.
CONFIGS["ddns"] = _with_dns_updates(CONFIGS["fixture"], True)
CONFIGS["ddns-off"] = _with_dns_updates(CONFIGS["fixture"], False)


@attrs.frozen
class Step:
    """One request of a case and the result code Kea gives it."""

    result: int | None
    command: str | None = None
    arguments: Any = ABSENT
    raw: bytes | None = None
    leased: Any = None
    why: str = ""
    to_kea: bool = True
    half_close: bool = False
    # The request's top-level ``service`` key (leased answers statistics for
    # the family it names; Kea's servers ignore it).
    service: Any = ABSENT
    # Statistics are compared by their newest sample unless this asks for
    # every sample (see test_differential.normalise).
    history: bool = False
    # NameChangeRequests Kea sends for this step (None: not captured).
    ncrs: int | None = None


@attrs.frozen
class Case:
    """A named sequence of steps for one family on one configuration."""

    name: str
    family: int
    steps: tuple[Step, ...]
    config: str = "fixture"


def c(result: int | None, command: str, arguments: Any = ABSENT) -> Step:
    """A command step; ``arguments`` left as ABSENT sends no arguments key."""
    return Step(result, command, arguments)


def raw(result: int | None, request: str | bytes) -> Step:
    """A step sending ``request`` byte for byte."""
    data = request.encode() if isinstance(request, str) else request
    return Step(result, raw=data)


def half_closed(request: str) -> Step:
    """A raw step whose client shuts its sending side after ``request``.

    A server must not wait for more: it answers a complete request and
    closes without an answer after an incomplete one.
    """
    return Step(None, raw=request.encode(), half_close=True)


def deliberate(step: Step, leased: Any, why: str, *, to_kea: bool = True) -> Step:
    """Mark ``step`` a deliberate difference: leased must answer ``leased``."""
    return attrs.evolve(step, leased=leased, why=why, to_kea=to_kea)


def d(result: int | None, ncrs: int, command: str, arguments: Any = ABSENT) -> Step:
    """A command step that makes Kea send ``ncrs`` NameChangeRequests.

    Only meaningful on a configuration with DNS updates on (``ddns``): the
    requests both servers send are then captured and compared too.
    """
    return Step(result, command, arguments, ncrs=ncrs)


# resend-ddns without arguments kills Kea 2.2; leased answers an error.
NO_ARGUMENTS = {"result": 1, "text": "no parameters specified for the command"}
CRASH = "Kea 2.2 aborts on resend-ddns without arguments; leased answers an error"


# Identifiers used throughout.
HW1 = "1a:1b:1c:1d:1e:1f"
HW2 = "2a:2b:2c:2d:2e:2f"
CID1 = "42:42:42:42:42:42:42:42"
CID2 = "56:56:56:56:56:56:56:56"
DUID1 = "42:42:42:42:42:42:42:42"
DUID2 = "56:56:56:56:56:56:56:56"

# Absolute times for leases added with ``expire`` (cltt = expire - valid).
EXPIRE = 1923222072 + 3600


def lease4(ip: Any, extra: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
    """An IPv4 lease for add/update: ``ip``, hardware address HW1, extras.

    Values are typed ``Any`` because error cases send wrong types on purpose.
    """
    lease: dict[str, Any] = {"ip-address": ip, "hw-address": HW1}
    lease.update(extra or {})
    lease.update({key.replace("_", "-"): value for key, value in kw.items()})
    return lease


def lease6(ip: Any, extra: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
    """An IPv6 lease for add/update: ``ip``, DUID1, IAID 42, then extras."""
    lease: dict[str, Any] = {"ip-address": ip, "duid": DUID1, "iaid": 42}
    lease.update(extra or {})
    lease.update({key.replace("_", "-"): value for key, value in kw.items()})
    return lease


def pd(
    prefix: str, length: Any, extra: dict[str, Any] | None = None, **kw: Any
) -> dict[str, Any]:
    """An IA_PD lease in subnet 66 for add/update."""
    return lease6(
        prefix,
        {"type": "IA_PD", "prefix-len": length, "subnet-id": 66, **(extra or {})},
        **kw,
    )


NON_MAPS = ("foo", [1, 2], 7, None, True)
"""``arguments`` values of the wrong type, tried on every command."""


TAKEN = {"result": 1, "text": "IPv6 lease already exists."}
WRONG_TYPE_ADD = (
    "Kea 2.2 says 'added' for a lease on an address a lease of another type "
    "holds, yet stores nothing; leased refuses it as a duplicate"
)


def non_map_arguments(command: str, result: int = 1) -> list[Step]:
    """Steps sending each non-map ``arguments`` value to ``command``."""
    return [c(result, command, value) for value in NON_MAPS]


# --------------------------------------------------------------------------
# IPv4

V4_ADD = Case(
    "v4_add",
    4,
    (
        c(0, "lease4-add", lease4("192.0.2.202")),
        c(0, "lease4-get", {"ip-address": "192.0.2.202"}),
        c(1, "lease4-add", lease4("192.0.2.202")),
        c(1, "lease4-add", lease4("192.0.2.202", hw_address=HW2, subnet_id=44)),
        c(
            0,
            "lease4-add",
            lease4(
                "192.0.3.7",
                {
                    "subnet-id": 88,
                    "client-id": CID1,
                    "valid-lft": 1000,
                    "expire": EXPIRE,
                    "fqdn-fwd": True,
                    "fqdn-rev": True,
                    "hostname": "urania.example.org.",
                    "state": 1,
                    "user-context": {"foo": "bar", "n": [1, 2]},
                },
            ),
        ),
        c(0, "lease4-get", {"ip-address": "192.0.3.7"}),
        c(0, "lease4-add", lease4("192.0.3.8", comment="a note", state=2)),
        c(0, "lease4-get", {"ip-address": "192.0.3.8"}),
        c(
            0,
            "lease4-add",
            lease4("192.0.3.9", {"comment": "x", "user-context": {"a": 1}}),
        ),
        c(0, "lease4-add", lease4("192.0.2.9", valid_lft=0, expire=EXPIRE)),
        c(0, "lease4-add", lease4("192.0.2.10", expire=1000, valid_lft=999)),
        c(0, "lease4-add", lease4("192.0.2.11", subnet_id=0, fqdn_rev=False)),
        c(0, "lease4-add", lease4("192.0.2.12", hw_address="", client_id=CID2)),
        c(0, "lease4-add", lease4("192.0.2.13", hw_address="", state=1)),
        c(
            0,
            "lease4-add",
            lease4("192.0.2.14", {"unknown-key": [1]}, force_create=True),
        ),
        c(0, "lease4-add", lease4("192.0.2.15", state=0, valid_lft=4294967295)),
        c(0, "lease4-get-all"),
    ),
)

V4_ADD_ERRORS = Case(
    "v4_add_errors",
    4,
    (
        c(1, "lease4-add"),
        *non_map_arguments("lease4-add"),
        c(1, "lease4-add", {}),
        c(1, "lease4-add", {"hw-address": HW1}),
        c(1, "lease4-add", lease4(7)),
        c(1, "lease4-add", lease4("foo")),
        c(1, "lease4-add", lease4("2001:db8:1::1")),
        c(1, "lease4-add", lease4("192.0.2.300")),
        c(1, "lease4-add", {"ip-address": "192.0.2.1"}),
        c(1, "lease4-add", lease4("192.0.2.1", hw_address=1)),
        c(1, "lease4-add", lease4("192.0.2.1", hw_address="zz:1b:1c:1d:1e:1f")),
        c(1, "lease4-add", lease4("192.0.2.1", hw_address="1a::1c:1d:1e:1f")),
        c(1, "lease4-add", lease4("192.0.2.1", hw_address="1a-1b-1c-1d-1e-1f")),
        c(1, "lease4-add", lease4("192.0.2.1", hw_address="1a1b1c1d1e1f")),
        c(1, "lease4-add", lease4("192.0.2.1", hw_address="123:1b:1c")),
        c(1, "lease4-add", lease4("192.0.2.1", hw_address=":".join(["ab"] * 21))),
        c(1, "lease4-add", lease4("192.0.2.1", subnet_id="44")),
        c(1, "lease4-add", lease4("192.0.2.1", subnet_id=-1)),
        c(1, "lease4-add", lease4("192.0.2.1", subnet_id=4294967296)),
        c(1, "lease4-add", lease4("192.0.2.1", subnet_id=1.5)),
        c(1, "lease4-add", lease4("192.0.2.1", subnet_id=123)),
        c(1, "lease4-add", lease4("192.0.5.204", subnet_id=44)),
        c(1, "lease4-add", lease4("192.0.3.1", subnet_id=44)),
        c(1, "lease4-add", lease4("10.0.0.1")),
        c(1, "lease4-add", lease4("192.0.2.1", client_id=7)),
        c(1, "lease4-add", lease4("192.0.2.1", client_id="zz")),
        c(1, "lease4-add", lease4("192.0.2.1", client_id="01")),
        c(1, "lease4-add", lease4("192.0.2.1", client_id="")),
        c(1, "lease4-add", lease4("192.0.2.1", client_id="ab" * 129)),
        c(1, "lease4-add", lease4("192.0.2.1", client_id="01:zz")),
        c(1, "lease4-add", lease4("192.0.2.1", valid_lft="3")),
        c(1, "lease4-add", lease4("192.0.2.1", valid_lft=-3)),
        c(1, "lease4-add", lease4("192.0.2.1", valid_lft=4294967296)),
        c(1, "lease4-add", lease4("192.0.2.1", expire="1")),
        c(1, "lease4-add", lease4("192.0.2.1", expire=0)),
        c(1, "lease4-add", lease4("192.0.2.1", expire=-5)),
        c(1, "lease4-add", lease4("192.0.2.1", expire=2)),
        c(1, "lease4-add", lease4("192.0.2.1", expire=100, valid_lft=101)),
        c(1, "lease4-add", lease4("192.0.2.1", fqdn_fwd="yes")),
        c(1, "lease4-add", lease4("192.0.2.1", fqdn_rev=1)),
        c(1, "lease4-add", lease4("192.0.2.1", hostname=5)),
        c(1, "lease4-add", lease4("192.0.2.1", fqdn_fwd=True)),
        c(1, "lease4-add", lease4("192.0.2.1", hostname="", fqdn_rev=True)),
        c(1, "lease4-add", lease4("192.0.2.1", state=3)),
        c(1, "lease4-add", lease4("192.0.2.1", state=256)),
        c(1, "lease4-add", lease4("192.0.2.1", state=-1)),
        c(1, "lease4-add", lease4("192.0.2.1", state="declined")),
        c(1, "lease4-add", lease4("192.0.2.1", user_context="x")),
        c(1, "lease4-add", lease4("192.0.2.1", user_context=[1])),
        c(
            1,
            "lease4-add",
            lease4("192.0.2.1", {"comment": "b", "user-context": {"comment": "a"}}),
        ),
        c(1, "lease4-add", lease4("192.0.2.1", force_create="yes")),
        c(3, "lease4-get-all"),
    ),
)

V4_IDENTIFIER_FORMS = Case(
    "v4_identifier_forms",
    4,
    (
        c(0, "lease4-add", lease4("192.0.2.1", hw_address="1:2:3:4:5:6")),
        c(0, "lease4-add", lease4("192.0.2.2", hw_address="AA:BB:CC:DD:EE:0F")),
        c(0, "lease4-add", lease4("192.0.2.3", client_id="0x0102030405")),
        c(0, "lease4-add", lease4("192.0.2.4", client_id="01 02 a3 B4")),
        c(0, "lease4-add", lease4("192.0.2.5", client_id="1:2:a:B")),
        c(0, "lease4-add", lease4("192.0.2.6", client_id="abc")),
        c(0, "lease4-add", lease4("192.0.2.7", client_id="ABCDEF")),
        c(0, "lease4-add", lease4("192.0.2.8", hw_address="0a")),
        c(0, "lease4-get-all"),
        c(0, "lease4-get-by-hw-address", {"hw-address": "01:02:03:04:05:06"}),
        c(0, "lease4-get-by-hw-address", {"hw-address": "aa:bb:cc:dd:ee:f"}),
        c(0, "lease4-get-by-client-id", {"client-id": "01:02:03:04:05"}),
        c(0, "lease4-get-by-client-id", {"client-id": "0102A3B4"}),
        c(0, "lease4-get-by-client-id", {"client-id": "0a bc"}),
        c(
            0,
            "lease4-get",
            {
                "identifier-type": "hw-address",
                "identifier": "AA:BB:CC:DD:EE:F",
                "subnet-id": 44,
            },
        ),
        c(
            0,
            "lease4-get",
            {
                "identifier-type": "client-id",
                "identifier": "0x01020a0b",
                "subnet-id": 44,
            },
        ),
        c(
            0,
            "lease4-del",
            {"identifier-type": "client-id", "identifier": "abcdef", "subnet-id": 44},
        ),
        c(3, "lease4-get", {"ip-address": "192.0.2.7"}),
    ),
)

V4_GET = Case(
    "v4_get",
    4,
    (
        c(
            0,
            "lease4-add",
            lease4("192.0.2.1", client_id=CID1, hostname="Host.Example."),
        ),
        c(0, "lease4-add", lease4("192.0.2.2", hw_address=HW2, client_id=CID2)),
        c(0, "lease4-add", lease4("192.0.3.1", client_id=CID1)),
        c(0, "lease4-get", {"ip-address": "192.0.2.1"}),
        c(0, "lease4-get", {"ip-address": "192.0.3.1", "subnet-id": 44}),
        c(3, "lease4-get", {"ip-address": "192.0.2.3"}),
        c(
            0,
            "lease4-get",
            {"identifier-type": "hw-address", "identifier": HW1, "subnet-id": 44},
        ),
        c(
            0,
            "lease4-get",
            {"identifier-type": "hw-address", "identifier": HW1, "subnet-id": 88},
        ),
        c(
            3,
            "lease4-get",
            {"identifier-type": "hw-address", "identifier": HW2, "subnet-id": 88},
        ),
        c(
            3,
            "lease4-get",
            {"identifier-type": "hw-address", "identifier": HW1, "subnet-id": 0},
        ),
        c(
            0,
            "lease4-get",
            {"identifier-type": "client-id", "identifier": CID2, "subnet-id": 44},
        ),
        c(
            0,
            "lease4-get",
            {"identifier-type": "client-id", "identifier": CID1, "subnet-id": 88},
        ),
        c(
            3,
            "lease4-get",
            {"identifier-type": "client-id", "identifier": CID2, "subnet-id": 88},
        ),
        c(
            1,
            "lease4-get",
            {"identifier-type": "duid", "identifier": DUID1, "subnet-id": 44},
        ),
        c(
            3,
            "lease4-get",
            {"identifier-type": "address", "identifier": "192.0.2.1", "subnet-id": 44},
        ),
        c(0, "lease4-get", {"ip-address": "192.0.2.1", "type": "V4"}),
        c(0, "lease4-get", {"ip-address": "192.0.2.1", "type": "IA_PD"}),
        c(0, "lease4-get", {"ip-address": "192.0.2.1", "identifier-type": "bogus"}),
        c(0, "lease4-get", {"ip-address": "192.0.2.1", "update-ddns": False}),
        # Errors, in the order Kea checks them.
        c(1, "lease4-get"),
        *non_map_arguments("lease4-get"),
        c(1, "lease4-get", {}),
        c(1, "lease4-get", {"ip-address": "192.0.2.1", "update-ddns": "yes"}),
        c(1, "lease4-get", {"ip-address": "192.0.2.1", "type": "IA_XX"}),
        c(1, "lease4-get", {"ip-address": "192.0.2.1", "type": 3}),
        c(1, "lease4-get", {"ip-address": 3232235521}),
        c(1, "lease4-get", {"ip-address": "bogus"}),
        c(1, "lease4-get", {"ip-address": "2001:db8:1::1"}),
        c(1, "lease4-get", {"identifier-type": "hw-address", "identifier": HW1}),
        c(
            1,
            "lease4-get",
            {"identifier-type": "hw-address", "identifier": HW1, "subnet-id": "44"},
        ),
        # A negative subnet-id wraps around to a large one: nothing found.
        c(
            3,
            "lease4-get",
            {"identifier-type": "hw-address", "identifier": HW1, "subnet-id": -1},
        ),
        c(
            1,
            "lease4-get",
            {
                "identifier-type": "hw-address",
                "identifier": HW1,
                "subnet-id": 44,
                "iaid": "1",
            },
        ),
        c(1, "lease4-get", {"identifier": HW1, "subnet-id": 44}),
        c(1, "lease4-get", {"identifier-type": 1, "identifier": HW1, "subnet-id": 44}),
        c(1, "lease4-get", {"identifier-type": "hw-address", "subnet-id": 44}),
        c(
            1,
            "lease4-get",
            {"identifier-type": "hw-address", "identifier": 5, "subnet-id": 44},
        ),
        c(
            1,
            "lease4-get",
            {"identifier-type": "foo", "identifier": HW1, "subnet-id": 44},
        ),
        c(
            1,
            "lease4-get",
            {"identifier-type": "hw-address", "identifier": "zz", "subnet-id": 44},
        ),
        c(
            1,
            "lease4-get",
            {"identifier-type": "client-id", "identifier": "01", "subnet-id": 44},
        ),
        c(
            1,
            "lease4-get",
            {"identifier-type": "client-id", "identifier": "zz", "subnet-id": 44},
        ),
    ),
)

V4_GET_ALL = Case(
    "v4_get_all",
    4,
    (
        c(3, "lease4-get-all"),
        c(0, "lease4-add", lease4("192.0.3.20")),
        c(0, "lease4-add", lease4("192.0.2.30")),
        c(0, "lease4-add", lease4("192.0.2.4")),
        c(0, "lease4-add", lease4("192.0.3.1")),
        c(0, "lease4-get-all"),
        c(0, "lease4-get-all", {"subnets": [44]}),
        c(0, "lease4-get-all", {"subnets": [88, 44]}),
        c(0, "lease4-get-all", {"subnets": [44, 44]}),
        c(3, "lease4-get-all", {"subnets": [7]}),
        c(3, "lease4-get-all", {"subnets": [-1]}),
        c(3, "lease4-get-all", {"subnets": []}),
        c(0, "lease4-get-all", {"subnets": [7, 88], "other": 1}),
        c(1, "lease4-get-all", {}),
        c(1, "lease4-get-all", {"subnets": 44}),
        c(1, "lease4-get-all", {"subnets": "44"}),
        c(1, "lease4-get-all", {"subnets": ["44"]}),
        c(1, "lease4-get-all", {"subnets": [44, None]}),
        *non_map_arguments("lease4-get-all"),
    ),
)

V4_GET_PAGE = Case(
    "v4_get_page",
    4,
    (
        c(3, "lease4-get-page", {"from": "start", "limit": 2}),
        c(0, "lease4-add", lease4("192.0.3.5")),
        c(0, "lease4-add", lease4("192.0.2.10")),
        c(0, "lease4-add", lease4("192.0.2.9")),
        c(0, "lease4-add", lease4("192.0.3.1")),
        c(0, "lease4-add", lease4("192.0.2.200")),
        c(0, "lease4-get-page", {"from": "start", "limit": 2}),
        c(0, "lease4-get-page", {"from": "192.0.2.10", "limit": 2}),
        c(0, "lease4-get-page", {"from": "192.0.3.1", "limit": 2}),
        c(3, "lease4-get-page", {"from": "192.0.3.5", "limit": 2}),
        c(0, "lease4-get-page", {"from": "192.0.2.100", "limit": 100}),
        c(0, "lease4-get-page", {"from": "0.0.0.0", "limit": 1}),
        c(3, "lease4-get-page", {"from": "255.255.255.255", "limit": 1}),
        c(0, "lease4-get-page", {"from": "start", "limit": 4294967295}),
        c(1, "lease4-get-page"),
        *non_map_arguments("lease4-get-page"),
        c(1, "lease4-get-page", {}),
        c(1, "lease4-get-page", {"limit": 2}),
        c(1, "lease4-get-page", {"from": 0, "limit": 2}),
        c(1, "lease4-get-page", {"from": "START", "limit": 2}),
        c(1, "lease4-get-page", {"from": "bogus", "limit": 2}),
        c(1, "lease4-get-page", {"from": "2001:db8::", "limit": 2}),
        c(1, "lease4-get-page", {"from": "start"}),
        c(1, "lease4-get-page", {"from": "start", "limit": "2"}),
        c(1, "lease4-get-page", {"from": "start", "limit": 0}),
        c(1, "lease4-get-page", {"from": "start", "limit": -1}),
        c(1, "lease4-get-page", {"from": "start", "limit": 4294967296}),
    ),
)

V4_GET_BY = Case(
    "v4_get_by",
    4,
    (
        c(
            0,
            "lease4-add",
            lease4("192.0.2.1", client_id=CID1, hostname="MyHost.Example.COM."),
        ),
        c(
            0,
            "lease4-add",
            lease4("192.0.3.1", client_id=CID1, hostname="myhost.example.com"),
        ),
        c(
            0,
            "lease4-add",
            lease4("192.0.2.2", hw_address=HW2, hostname="other.example.com."),
        ),
        c(0, "lease4-get-by-hw-address", {"hw-address": HW1}),
        c(0, "lease4-get-by-hw-address", {"hw-address": HW1.upper()}),
        c(3, "lease4-get-by-hw-address", {"hw-address": "01:02:03:04:05:06"}),
        c(3, "lease4-get-by-hw-address", {"hw-address": ""}),
        c(1, "lease4-get-by-hw-address", {"hw-address": "zz"}),
        c(1, "lease4-get-by-hw-address", {"hw-address": 1}),
        c(1, "lease4-get-by-hw-address", {}),
        c(1, "lease4-get-by-hw-address"),
        *non_map_arguments("lease4-get-by-hw-address"),
        c(0, "lease4-get-by-client-id", {"client-id": CID1}),
        c(0, "lease4-get-by-client-id", {"client-id": "4242424242424242"}),
        c(3, "lease4-get-by-client-id", {"client-id": CID2}),
        c(1, "lease4-get-by-client-id", {"client-id": ""}),
        c(1, "lease4-get-by-client-id", {"client-id": "01"}),
        c(1, "lease4-get-by-client-id", {"client-id": "zz"}),
        c(1, "lease4-get-by-client-id", {"client-id": ["42"]}),
        c(1, "lease4-get-by-client-id", {}),
        c(1, "lease4-get-by-client-id"),
        *non_map_arguments("lease4-get-by-client-id"),
        c(0, "lease4-get-by-hostname", {"hostname": "myhost.example.com."}),
        c(0, "lease4-get-by-hostname", {"hostname": "MYHOST.example.com."}),
        c(0, "lease4-get-by-hostname", {"hostname": "myhost.example.com"}),
        c(3, "lease4-get-by-hostname", {"hostname": "myhost"}),
        c(1, "lease4-get-by-hostname", {"hostname": ""}),
        c(1, "lease4-get-by-hostname", {"hostname": 1}),
        c(1, "lease4-get-by-hostname", {}),
        c(1, "lease4-get-by-hostname"),
        *non_map_arguments("lease4-get-by-hostname"),
        # Hostnames are lower-cased when a lease is stored; update too.
        c(
            0,
            "lease4-update",
            lease4("192.0.2.2", hw_address=HW2, hostname="OTHER.Example.Com."),
        ),
        c(0, "lease4-get-by-hostname", {"hostname": "other.example.com."}),
    ),
)

V4_DEL = Case(
    "v4_del",
    4,
    (
        c(0, "lease4-add", lease4("192.0.2.1", client_id=CID1)),
        c(0, "lease4-add", lease4("192.0.2.2", hw_address=HW2, client_id=CID2)),
        c(0, "lease4-add", lease4("192.0.3.1", client_id=CID1)),
        c(0, "lease4-add", lease4("192.0.3.2", hw_address=HW2, client_id=CID2)),
        c(0, "lease4-add", lease4("192.0.3.3", fqdn_fwd=True, hostname="h.example.")),
        c(0, "lease4-del", {"ip-address": "192.0.2.1"}),
        c(3, "lease4-del", {"ip-address": "192.0.2.1"}),
        c(3, "lease4-get", {"ip-address": "192.0.2.1"}),
        c(
            0,
            "lease4-del",
            {"identifier-type": "hw-address", "identifier": HW2, "subnet-id": 44},
        ),
        c(
            3,
            "lease4-del",
            {"identifier-type": "hw-address", "identifier": HW2, "subnet-id": 44},
        ),
        c(
            0,
            "lease4-del",
            {"identifier-type": "client-id", "identifier": CID1, "subnet-id": 88},
        ),
        c(
            3,
            "lease4-del",
            {"identifier-type": "client-id", "identifier": CID1, "subnet-id": 88},
        ),
        c(
            1,
            "lease4-del",
            {"identifier-type": "duid", "identifier": DUID1, "subnet-id": 88},
        ),
        c(
            3,
            "lease4-del",
            {"identifier-type": "address", "identifier": "192.0.3.2", "subnet-id": 88},
        ),
        c(0, "lease4-del", {"ip-address": "192.0.3.3", "update-ddns": True}),
        c(
            0,
            "lease4-del",
            {"ip-address": "192.0.3.2", "update-ddns": False, "subnet-id": 7},
        ),
        c(3, "lease4-get-all"),
        c(1, "lease4-del"),
        *non_map_arguments("lease4-del"),
        c(1, "lease4-del", {}),
        c(1, "lease4-del", {"ip-address": "192.0.2.1", "update-ddns": "yes"}),
        c(1, "lease4-del", {"ip-address": 1}),
        c(1, "lease4-del", {"ip-address": "192.0.2.x"}),
        c(1, "lease4-del", {"ip-address": "2001:db8:1::1"}),
        c(1, "lease4-del", {"identifier-type": "hw-address", "identifier": HW2}),
        c(
            1,
            "lease4-del",
            {"identifier-type": "foo", "identifier": HW2, "subnet-id": 44},
        ),
        c(
            1,
            "lease4-del",
            {"identifier-type": "hw-address", "identifier": "g", "subnet-id": 44},
        ),
    ),
)

V4_UPDATE = Case(
    "v4_update",
    4,
    (
        c(
            0,
            "lease4-add",
            lease4(
                "192.0.2.1",
                client_id=CID1,
                hostname="a.example.",
                fqdn_fwd=True,
                user_context={"keep": False},
                valid_lft=500,
                expire=EXPIRE,
            ),
        ),
        c(0, "lease4-update", lease4("192.0.2.1", hw_address=HW2)),
        c(0, "lease4-get", {"ip-address": "192.0.2.1"}),
        c(
            0,
            "lease4-update",
            lease4("192.0.2.1", subnet_id=44, expire=EXPIRE, state=1),
        ),
        c(0, "lease4-get", {"ip-address": "192.0.2.1"}),
        c(1, "lease4-update", lease4("192.0.2.1", subnet_id=88)),
        c(1, "lease4-update", lease4("192.0.2.9")),
        c(1, "lease4-update", lease4("192.0.2.9", force_create=False)),
        c(3, "lease4-get", {"ip-address": "192.0.2.9"}),
        c(0, "lease4-update", lease4("192.0.2.9", force_create=True, hostname="New.")),
        c(0, "lease4-get", {"ip-address": "192.0.2.9"}),
        c(0, "lease4-update", lease4("192.0.3.9", force_create=True, expire=EXPIRE)),
        c(0, "lease4-get-all"),
        c(1, "lease4-update"),
        *non_map_arguments("lease4-update"),
        c(1, "lease4-update", {}),
        c(1, "lease4-update", lease4("192.0.2.1", force_create="yes")),
        c(1, "lease4-update", lease4("192.0.2.1", hw_address="x")),
        c(1, "lease4-update", lease4("192.0.2.1", state=7)),
        c(1, "lease4-update", lease4("10.1.1.1", force_create=True)),
        c(1, "lease4-update", lease4("192.0.2.1", subnet_id=123)),
        c(1, "lease4-update", lease4("192.0.2.1", expire=1)),
    ),
)

V4_WIPE = Case(
    "v4_wipe",
    4,
    (
        c(3, "lease4-wipe"),
        c(0, "lease4-add", lease4("192.0.2.1")),
        c(0, "lease4-add", lease4("192.0.2.2", state=1)),
        c(0, "lease4-add", lease4("192.0.2.3", state=2, expire=1000, valid_lft=10)),
        c(0, "lease4-add", lease4("192.0.3.1")),
        c(0, "lease4-wipe", {"subnet-id": 44}),
        c(3, "lease4-wipe", {"subnet-id": 44}),
        c(0, "lease4-get-all"),
        c(3, "lease4-wipe", {"subnet-id": 123}),
        c(0, "lease4-add", lease4("192.0.2.4")),
        c(0, "lease4-wipe", {"subnet-id": 0}),
        c(3, "lease4-get-all"),
        c(0, "lease4-add", lease4("192.0.2.4")),
        c(0, "lease4-wipe", {}),
        c(0, "lease4-add", lease4("192.0.2.4")),
        c(1, "lease4-wipe", {"subnet-id": "44"}),
        c(1, "lease4-wipe", {"subnet-id": -3}),
        c(1, "lease4-wipe", {"subnet-id": None}),
        *non_map_arguments("lease4-wipe"),
        c(0, "lease4-get-all"),
    ),
)

V4_RESEND_DDNS = Case(
    "v4_resend_ddns",
    4,
    (
        c(0, "lease4-add", lease4("192.0.2.1", hostname="h.example.", fqdn_fwd=True)),
        c(1, "lease4-resend-ddns", {"ip-address": "192.0.2.1"}),
        c(1, "lease4-resend-ddns", {"ip-address": "192.0.2.99"}),
        c(1, "lease4-resend-ddns", {}),
        c(1, "lease4-resend-ddns", {"ip-address": 1}),
        c(1, "lease4-resend-ddns", {"ip-address": "bogus"}),
        c(1, "lease4-resend-ddns", {"ip-address": "2001:db8:1::1"}),
        c(0, "lease4-del", {"ip-address": "192.0.2.1", "update-ddns": True}),
        deliberate(c(None, "lease4-resend-ddns"), NO_ARGUMENTS, CRASH, to_kea=False),
        c(3, "lease4-get-all"),
    ),
)

V4_AUTO = Case(
    "v4_auto",
    4,
    (
        # Ascending subnet-id order, skipping the client-class subnet 3:
        # 10.0.0.0/24 is in 3 (class), 5 (shared network /16) and 8 (/8).
        c(0, "lease4-add", lease4("10.0.0.1")),
        c(0, "lease4-add", lease4("10.1.0.1")),
        c(0, "lease4-add", lease4("10.9.0.20")),
        c(0, "lease4-add", lease4("172.16.1.5")),
        c(0, "lease4-add", lease4("172.16.200.5", subnet_id=0)),
        c(0, "lease4-add", lease4("10.0.0.2", subnet_id=3)),
        c(0, "lease4-add", lease4("10.0.0.3", subnet_id=8)),
        c(1, "lease4-add", lease4("10.1.0.2", subnet_id=5)),
        c(1, "lease4-add", lease4("192.0.2.1")),
        c(1, "lease4-add", lease4("172.17.0.1", subnet_id=12)),
        c(0, "lease4-get-all"),
        c(0, "lease4-get-all", {"subnets": [5, 3]}),
        c(0, "lease4-update", lease4("10.0.0.1", force_create=True)),
        c(0, "lease4-update", lease4("10.0.0.9", force_create=True)),
        c(0, "lease4-get", {"ip-address": "10.0.0.9"}),
        c(0, "lease4-wipe", {"subnet-id": 5}),
        c(0, "lease4-wipe"),
        c(3, "lease4-wipe"),
    ),
    config="auto",
)

# The order of leases in multi-lease answers follows Kea's indexes: by
# address for get-all and get-page, otherwise by index key and then by the
# order the leases were stored in (an update that keeps the key keeps the
# place, one that changes it moves the lease to the end).
SAME4 = {"client-id": CID1, "hostname": "same.example."}

V4_ORDER = Case(
    "v4_order",
    4,
    (
        c(0, "lease4-add", lease4("10.0.0.20", SAME4)),
        c(0, "lease4-add", lease4("10.0.0.1", SAME4)),
        c(0, "lease4-add", lease4("10.0.0.7", SAME4, subnet_id=8)),
        c(0, "lease4-add", lease4("10.0.0.9", SAME4)),
        c(0, "lease4-add", lease4("10.1.0.1", SAME4)),
        c(0, "lease4-add", lease4("10.0.0.3", SAME4, subnet_id=3)),
        c(0, "lease4-get-all"),
        c(0, "lease4-get-all", {"subnets": [5]}),
        c(0, "lease4-get-all", {"subnets": [8, 3, 5]}),
        c(0, "lease4-get-by-hw-address", {"hw-address": HW1}),
        c(0, "lease4-get-by-client-id", {"client-id": CID1}),
        c(0, "lease4-get-by-hostname", {"hostname": "same.example."}),
        c(
            0,
            "lease4-get",
            {"identifier-type": "hw-address", "identifier": HW1, "subnet-id": 5},
        ),
        c(
            0,
            "lease4-get",
            {"identifier-type": "client-id", "identifier": CID1, "subnet-id": 8},
        ),
        c(0, "lease4-update", lease4("10.0.0.20", SAME4, valid_lft=1)),
        c(0, "lease4-update", lease4("10.0.0.7", SAME4)),
        c(0, "lease4-update", lease4("10.0.0.1", SAME4, subnet_id=8)),
        c(0, "lease4-update", lease4("10.0.0.1", SAME4)),
        c(0, "lease4-del", {"ip-address": "10.0.0.9"}),
        c(0, "lease4-add", lease4("10.0.0.9", SAME4)),
        c(0, "lease4-get-all", {"subnets": [5, 8]}),
        c(0, "lease4-get-by-hw-address", {"hw-address": HW1}),
        c(0, "lease4-get-by-client-id", {"client-id": CID1}),
        c(0, "lease4-get-by-hostname", {"hostname": "same.example."}),
        c(
            0,
            "lease4-get",
            {"identifier-type": "hw-address", "identifier": HW1, "subnet-id": 5},
        ),
        c(
            0,
            "lease4-get",
            {"identifier-type": "client-id", "identifier": CID1, "subnet-id": 5},
        ),
        c(0, "lease4-update", lease4("10.0.0.20", client_id=CID2, hostname="other.")),
        c(0, "lease4-update", lease4("10.0.0.20", SAME4)),
        c(0, "lease4-get-by-client-id", {"client-id": CID1}),
        deliberate(
            c(0, "lease4-get-by-hostname", {"hostname": "same.example."}),
            {"result": 0, "text": "6 IPv4 lease(s) found."},
            "among leases sharing a hostname, Kea leaves a renamed lease in its old "
            "place when it happens to sort first in its index tree; leased moves "
            "every renamed lease to the end (the set of leases is the same)",
        ),
        c(0, "lease4-get-page", {"from": "start", "limit": 3}),
        c(0, "lease4-get-page", {"from": "10.0.0.9", "limit": 3}),
    ),
    config="auto",
)

# Requests checked before any command runs: the framing of the request and
# the shape of the top-level map.  The command used is a harmless read.
GET_ALL4 = '{"command": "lease4-get-all"}'
NO_LEASES4 = {
    "arguments": {"leases": []},
    "result": 3,
    "text": "0 IPv4 lease(s) found.",
}
NOT_A_MAP = {
    "result": 1,
    "text": "Error during command processing: "
    "Invalid command Element specified, expected map",
}
BATCH = (
    "leased answers a top-level list as a batch, one answer per element "
    "(as newer Kea does over HTTP); Kea 2.2 refuses any list"
)

FRAMING = Case(
    "framing",
    4,
    (
        raw(3, GET_ALL4),
        raw(3, '  \n\t{"command":"lease4-get-all"}'),
        raw(3, '// comment\n{"command": "lease4-get-all"}'),
        raw(3, '# comment\n{"command": "lease4-get-all"}'),
        raw(3, '/* comment */ {"command": "lease4-get-all"}'),
        raw(3, '{"command": /* inside */ "lease4-get-all" # here\n}'),
        raw(3, '{"command": "lease4-get-all"}trailing garbage'),
        raw(3, '{"command": "lease4-get-all"}{"command": "lease4-wipe"}'),
        raw(3, '{"command": "lease4-get-all", "arguments": {"subnets": [7]}}'),
        raw(3, '{"command": "foo", "command": "lease4-get-all"}'),
        raw(3, '{"command": "lease4-get-all", "service": ["dhcp4"]}'),
        raw(3, '{"command": "lease4-get-all", "remote-address": "127.0.0.1"}'),
        raw(
            3,
            '{"command": "lease4-get",'
            ' "arguments": {"ip-address": "192.0.2.1", "x": "}{"}}',
        ),
        raw(
            3,
            '{"command": "lease4-get-by-hostname",'
            ' "arguments": {"hostname": "a\\"}b"}}',
        ),
        raw(1, "x"),
        raw(1, ' x{"command": "lease4-get-all"}'),
        raw(1, '"command"'),
        raw(1, '/x{"command": "lease4-get-all"}'),
        raw(1, '{"command": }'),
        raw(1, '{"command": "lease4-get-all",}'),
        raw(1, "{'command': 'lease4-get-all'}"),
        raw(1, '{"command": "lease4-get-all"]'),
        raw(1, '{"command": "lease4\\u0100get-all"}'),
        raw(3, '{"command": "lease4\\u002dget-all"}'),
        deliberate(
            raw(1, "[1, 2]"),
            [NOT_A_MAP, NOT_A_MAP],
            BATCH,
        ),
        deliberate(raw(1, '["command"]'), [NOT_A_MAP], BATCH),
        deliberate(raw(1, "[" + GET_ALL4 + "]"), [NO_LEASES4], BATCH),
        deliberate(raw(1, "[]"), [], BATCH),
        raw(1, "{}"),
        raw(1, '{"cmd": "lease4-get-all"}'),
        raw(1, '{"arguments": {}}'),
        raw(1, '{"command": "lease4-get-all", "extra": 1}'),
        raw(1, '{"extra": 1}'),
        raw(1, '{"command": 1}'),
        raw(1, '{"command": null}'),
        raw(1, '{"command": ["lease4-get-all"]}'),
        raw(2, '{"command": "foo"}'),
        raw(2, '{"command": ""}'),
        raw(2, '{"command": "LEASE4-GET-ALL"}'),
        raw(2, '{"command": "lease4-frobnicate", "arguments": {"filename": "x.csv"}}'),
        deliberate(
            raw(
                2,
                '{"command": "lease6-get-by-hw-address",'
                ' "arguments": {"hw-address": "01:02"}}',
            ),
            {"result": 3, "text": "0 IPv6 lease(s) found."},
            "leased also implements lease6-get-by-hw-address (Kea 3.1.1+)",
        ),
        half_closed(""),
        half_closed("  \n"),
        half_closed('{"command": "lease4-get-all"'),
        half_closed('{"command": "lease4-get-all"} '),
        raw(1, '{"command": "lease4-get", "arguments": null}'),
        raw(1, '{"command": "lease4-add", "arguments": "x"}'),
        raw(
            0,
            '{"command": "lease4-add", "arguments": {"ip-address": "192.0.2.1",'
            ' "hw-address": "01:02:03:04:05:06", "hostname": "\\u00c9X.example."}}',
        ),
        raw(0, '{"command": "lease4-get", "arguments": {"ip-address": "192.0.2.1"}}'),
        raw(
            0,
            '{"command": "lease4-get-by-hostname",'
            ' "arguments": {"hostname": "\\u00c9x.example."}}',
        ),
        raw(
            0,
            '{"command": "lease4-update", "arguments": {"ip-address": "192.0.2.1",'
            ' "hw-address": "01:02:03:04:05:06", "hostname": "a\\tb\\/c\\\\d\\"e",'
            ' "user-context":'
            ' {"s": "\\u0001\\u007f", "t": true, "n": null, "f": 1.5}}}',
        ),
        raw(0, '{"command": "lease4-get", "arguments": {"ip-address": "192.0.2.1"}}'),
        # Requests and answers larger than one 32 KiB read or write.
        c(0, "lease4-update", lease4("192.0.2.1", user_context={"pad": "p" * 100000})),
        c(0, "lease4-get", {"ip-address": "192.0.2.1"}),
    ),
)


# --------------------------------------------------------------------------
# IPv6

V6_ADD = Case(
    "v6_add",
    6,
    (
        c(0, "lease6-add", lease6("2001:db8:1::1")),
        c(0, "lease6-get", {"ip-address": "2001:db8:1::1"}),
        c(1, "lease6-add", lease6("2001:db8:1::1")),
        deliberate(
            c(
                0,
                "lease6-add",
                lease6("2001:db8:1::1", duid=DUID2, type="IA_TA", subnet_id=66),
            ),
            TAKEN,
            WRONG_TYPE_ADD,
        ),
        c(3, "lease6-get", {"ip-address": "2001:db8:1::1", "type": "IA_TA"}),
        c(
            0,
            "lease6-add",
            lease6(
                "2001:db8:2::1",
                {
                    "subnet-id": 99,
                    "duid": DUID2,
                    "iaid": 4294967295,
                    "type": "IA_NA",
                    "hw-address": HW1,
                    "preferred-lft": 500,
                    "valid-lft": 1000,
                    "expire": EXPIRE,
                    "fqdn-fwd": True,
                    "fqdn-rev": False,
                    "hostname": "Urania.Example.ORG.",
                    "state": 1,
                    "user-context": {"x": "y,z"},
                },
            ),
        ),
        c(0, "lease6-get", {"ip-address": "2001:db8:2::1"}),
        c(
            0,
            "lease6-add",
            lease6("2001:db8:1::2", hw_address="", comment="note", state=2),
        ),
        c(0, "lease6-add", lease6("2001:db8:1::3", preferred_lft=0, valid_lft=0)),
        c(0, "lease6-add", lease6("2001:db8:1::4", subnet_id=0, iaid=0)),
        c(0, "lease6-add", lease6("2001:db8:1::5", expire=1000, valid_lft=999)),
        c(0, "lease6-add", lease6("2001:db8:1::6", duid="00")),
        c(0, "lease6-add", lease6("2001:db8:1::7", {"unknown": 1}, force_create=True)),
        c(0, "lease6-add", lease6("2001:db8:1::8", {"prefix-len": 64})),
        c(0, "lease6-get-all"),
    ),
)

V6_ADD_TYPES = Case(
    "v6_add_types",
    6,
    (
        c(0, "lease6-add", pd("2001:db8:abcd::", 48)),
        c(3, "lease6-get", {"ip-address": "2001:db8:abcd::"}),
        c(0, "lease6-get", {"ip-address": "2001:db8:abcd::", "type": "IA_PD"}),
        c(0, "lease6-get", {"ip-address": "2001:db8:abcd::", "type": "2"}),
        c(1, "lease6-add", pd("2001:db8:abcd::", 48)),
        c(1, "lease6-add", lease6("2001:db8:abcd::")),
        c(0, "lease6-add", pd("2001:db8:1:8000::", 64, iaid=50)),
        deliberate(
            c(0, "lease6-add", lease6("2001:db8:1:8000::")), TAKEN, WRONG_TYPE_ADD
        ),
        c(3, "lease6-get", {"ip-address": "2001:db8:1:8000::"}),
        c(0, "lease6-add", pd("2001:db8:abcf::1", 56)),
        c(0, "lease6-add", pd("3000::", 64, iaid=43)),
        c(0, "lease6-add", pd("2001:db8:1:ff::", 200, iaid=44)),
        c(0, "lease6-add", pd("2001:db8:1:fe::", 128, iaid=45, state=2)),
        c(0, "lease6-add", pd("2001:db8:1:fd::", 64, subnet_id=99, iaid=46)),
        c(1, "lease6-add", pd("2001:db8:1:fc::", 64, state=1)),
        c(1, "lease6-add", pd("2001:db8:1:fc::", 64, subnet_id=0)),
        c(1, "lease6-add", lease6("2001:db8:1:fc::", type="IA_PD", subnet_id=66)),
        c(1, "lease6-add", pd("2001:db8:1:fc::", "64")),
        c(1, "lease6-add", pd("2001:db8:1:fc::", 256)),
        c(1, "lease6-add", pd("2001:db8:1:fc::", -1)),
        c(0, "lease6-add", lease6("2001:db8:1::10", type="IA_TA", subnet_id=66)),
        c(
            0,
            "lease6-add",
            lease6("2001:db8:9::10", type="IA_TA", subnet_id=66, iaid=7),
        ),
        c(1, "lease6-add", lease6("2001:db8:1::11", type="IA_TA")),
        c(0, "lease6-get", {"ip-address": "2001:db8:1::10", "type": "IA_TA"}),
        c(0, "lease6-get", {"ip-address": "2001:db8:1::10", "type": "1"}),
        c(3, "lease6-get", {"ip-address": "2001:db8:1::10"}),
        c(1, "lease6-add", lease6("2001:db8:1::12", type="na")),
        c(1, "lease6-add", lease6("2001:db8:1::12", type="IA_XX")),
        c(1, "lease6-add", lease6("2001:db8:1::12", type="V4")),
        c(1, "lease6-add", lease6("2001:db8:1::12", type=0)),
        c(0, "lease6-add", lease6("2001:db8:1::12", type="IA_NA", prefix_len=48)),
        c(0, "lease6-get-all"),
        c(0, "lease6-add", lease6("2001:db8:1::20")),
        deliberate(
            c(0, "lease6-add", pd("2001:db8:1::20", 128)), TAKEN, WRONG_TYPE_ADD
        ),
        c(0, "lease6-get", {"ip-address": "2001:db8:1::20"}),
        c(3, "lease6-get", {"ip-address": "2001:db8:1::20", "type": "IA_PD"}),
        # Updating a lease of one type on an address a lease of another
        # type holds: Kea aborts without force-create, and with it claims
        # "added" but stores nothing.
        deliberate(
            c(None, "lease6-update", pd("2001:db8:1::20", 128)),
            {"result": 1},
            "Kea 2.2 aborts (null lease assertion) updating a lease of one type "
            "on an address another type holds; leased answers an error",
            to_kea=False,
        ),
        deliberate(
            c(None, "lease6-update", lease6("2001:db8:1:8000::")),
            {"result": 1},
            "Kea 2.2 aborts (null lease assertion) updating a lease of one type "
            "on an address another type holds; leased answers an error",
            to_kea=False,
        ),
        deliberate(
            c(0, "lease6-update", lease6("2001:db8:1:8000::", force_create=True)),
            {"result": 1},
            "Kea 2.2 answers 'IPv6 lease added.' for a lease on an address "
            "another type holds, yet stores nothing; leased refuses it",
        ),
        c(0, "lease6-get-all"),
    ),
)

V6_ADD_ERRORS = Case(
    "v6_add_errors",
    6,
    (
        c(1, "lease6-add"),
        *non_map_arguments("lease6-add"),
        c(1, "lease6-add", {}),
        c(1, "lease6-add", {"duid": DUID1, "iaid": 1}),
        c(1, "lease6-add", lease6(1)),
        c(1, "lease6-add", lease6("bogus")),
        c(1, "lease6-add", lease6("192.0.2.1")),
        c(1, "lease6-add", {"ip-address": "2001:db8:1::1", "iaid": 1}),
        c(1, "lease6-add", lease6("2001:db8:1::1", duid=1)),
        c(1, "lease6-add", lease6("2001:db8:1::1", duid="")),
        c(1, "lease6-add", lease6("2001:db8:1::1", duid="zz")),
        c(1, "lease6-add", lease6("2001:db8:1::1", duid="01::02")),
        c(1, "lease6-add", lease6("2001:db8:1::1", duid="ab" * 129)),
        c(1, "lease6-add", lease6("2001:db8:1::1", type=None)),
        c(1, "lease6-add", lease6("2001:db8:1::1", subnet_id="66")),
        c(1, "lease6-add", lease6("2001:db8:1::1", subnet_id=-66)),
        c(1, "lease6-add", lease6("2001:db8:1::1", subnet_id=123)),
        c(1, "lease6-add", lease6("2001:db8:3::1", subnet_id=66)),
        c(1, "lease6-add", lease6("2001:db8:3::1")),
        c(1, "lease6-add", {"ip-address": "2001:db8:1::1", "duid": DUID1}),
        c(1, "lease6-add", lease6("2001:db8:1::1", iaid="1")),
        c(1, "lease6-add", lease6("2001:db8:1::1", iaid=-1)),
        c(1, "lease6-add", lease6("2001:db8:1::1", iaid=4294967296)),
        c(1, "lease6-add", lease6("2001:db8:1::1", hw_address=7)),
        c(1, "lease6-add", lease6("2001:db8:1::1", hw_address="xx")),
        c(1, "lease6-add", lease6("2001:db8:1::1", preferred_lft="1")),
        c(1, "lease6-add", lease6("2001:db8:1::1", preferred_lft=-1)),
        c(1, "lease6-add", lease6("2001:db8:1::1", valid_lft=True)),
        c(1, "lease6-add", lease6("2001:db8:1::1", expire=0)),
        c(1, "lease6-add", lease6("2001:db8:1::1", expire=3)),
        c(1, "lease6-add", lease6("2001:db8:1::1", fqdn_rev=True)),
        c(1, "lease6-add", lease6("2001:db8:1::1", fqdn_fwd=0)),
        c(1, "lease6-add", lease6("2001:db8:1::1", hostname=[])),
        c(1, "lease6-add", lease6("2001:db8:1::1", state=3)),
        c(1, "lease6-add", lease6("2001:db8:1::1", state=1.0)),
        c(1, "lease6-add", lease6("2001:db8:1::1", user_context=1)),
        c(
            1,
            "lease6-add",
            lease6("2001:db8:1::1", {"comment": "b", "user-context": {"comment": "a"}}),
        ),
        c(1, "lease6-add", lease6("2001:db8:1::1", force_create=1)),
        c(3, "lease6-get-all"),
    ),
)

V6_IDENTIFIER_FORMS = Case(
    "v6_identifier_forms",
    6,
    (
        c(0, "lease6-add", lease6("2001:db8:1::1", duid="0x0102030405")),
        c(0, "lease6-add", lease6("2001:db8:1::2", duid="01 02 A3 b4")),
        c(0, "lease6-add", lease6("2001:db8:1::3", duid="1:2:a:B")),
        c(0, "lease6-add", lease6("2001:db8:1::4", duid="abc")),
        c(0, "lease6-add", lease6("2001:db8:1::5", duid="7")),
        c(0, "lease6-add", lease6("2001:db8:1::6", hw_address="A:b:C:d:E:f")),
        c(0, "lease6-add", lease6("2001:db8:1::7", duid="ab" * 128)),
        c(0, "lease6-get-all"),
        c(0, "lease6-get-by-duid", {"duid": "01:02:03:04:05"}),
        c(0, "lease6-get-by-duid", {"duid": "0102A3B4"}),
        c(0, "lease6-get-by-duid", {"duid": "0a bc"}),
        c(0, "lease6-get-by-duid", {"duid": "07"}),
        c(
            0,
            "lease6-get",
            {
                "identifier-type": "duid",
                "identifier": "1:2:A:b",
                "iaid": 42,
                "subnet-id": 66,
            },
        ),
        c(
            0,
            "lease6-del",
            {
                "identifier-type": "duid",
                "identifier": "0x0abc",
                "iaid": 42,
                "subnet-id": 66,
            },
        ),
        c(3, "lease6-get", {"ip-address": "2001:db8:1::4"}),
    ),
)

V6_GET = Case(
    "v6_get",
    6,
    (
        c(0, "lease6-add", lease6("2001:db8:1::1", hw_address=HW1)),
        c(0, "lease6-add", lease6("2001:db8:1::2", duid=DUID2, iaid=43)),
        c(0, "lease6-add", lease6("2001:db8:2::1")),
        c(0, "lease6-add", lease6("2001:db8:1::3", iaid=0)),
        c(0, "lease6-add", pd("2001:db8:a::", 64, iaid=42)),
        c(0, "lease6-add", pd("2001:db8:b::", 64, iaid=42)),
        c(0, "lease6-add", pd("2001:db8:c::", 64, iaid=43)),
        c(0, "lease6-get", {"ip-address": "2001:db8:1::1"}),
        c(0, "lease6-get", {"ip-address": "2001:db8:1::1", "type": "IA_NA"}),
        c(0, "lease6-get", {"ip-address": "2001:db8:1::1", "type": "0"}),
        c(3, "lease6-get", {"ip-address": "2001:db8:1::1", "type": "IA_TA"}),
        c(3, "lease6-get", {"ip-address": "2001:db8:1::1", "type": "V4"}),
        c(3, "lease6-get", {"ip-address": "2001:db8:1::9"}),
        c(0, "lease6-get", {"ip-address": "2001:db8:1::1", "subnet-id": 99}),
        c(
            0,
            "lease6-get",
            {
                "identifier-type": "duid",
                "identifier": DUID1,
                "iaid": 42,
                "subnet-id": 66,
            },
        ),
        c(
            0,
            "lease6-get",
            {"identifier-type": "duid", "identifier": DUID1, "subnet-id": 66},
        ),
        c(
            0,
            "lease6-get",
            {
                "identifier-type": "duid",
                "identifier": DUID1,
                "iaid": 42,
                "subnet-id": 99,
            },
        ),
        c(
            3,
            "lease6-get",
            {
                "identifier-type": "duid",
                "identifier": DUID1,
                "iaid": 43,
                "subnet-id": 66,
            },
        ),
        c(
            3,
            "lease6-get",
            {
                "identifier-type": "duid",
                "identifier": DUID1,
                "iaid": 42,
                "subnet-id": 0,
            },
        ),
        c(
            0,
            "lease6-get",
            {
                "identifier-type": "duid",
                "identifier": DUID2,
                "iaid": 43,
                "subnet-id": 66,
            },
        ),
        c(
            1,
            "lease6-get",
            {
                "identifier-type": "duid",
                "identifier": DUID1,
                "iaid": 42,
                "subnet-id": 66,
                "type": "IA_PD",
            },
        ),
        c(
            0,
            "lease6-get",
            {
                "identifier-type": "duid",
                "identifier": DUID1,
                "iaid": 43,
                "subnet-id": 66,
                "type": "IA_PD",
            },
        ),
        c(
            1,
            "lease6-get",
            {"identifier-type": "hw-address", "identifier": HW1, "subnet-id": 66},
        ),
        c(
            1,
            "lease6-get",
            {"identifier-type": "client-id", "identifier": DUID1, "subnet-id": 66},
        ),
        c(
            3,
            "lease6-get",
            {
                "identifier-type": "address",
                "identifier": "2001:db8:1::1",
                "subnet-id": 66,
            },
        ),
        c(1, "lease6-get"),
        *non_map_arguments("lease6-get"),
        c(1, "lease6-get", {}),
        c(1, "lease6-get", {"ip-address": "2001:db8:1::1", "update-ddns": 1}),
        c(1, "lease6-get", {"ip-address": "2001:db8:1::1", "type": "IA_XX"}),
        c(1, "lease6-get", {"ip-address": "2001:db8:1::1", "type": 2}),
        c(1, "lease6-get", {"ip-address": 1}),
        c(1, "lease6-get", {"ip-address": "2001:db8:1::g"}),
        c(1, "lease6-get", {"ip-address": "192.0.2.1"}),
        c(1, "lease6-get", {"identifier-type": "duid", "identifier": DUID1}),
        c(
            1,
            "lease6-get",
            {"identifier-type": "duid", "identifier": DUID1, "subnet-id": "66"},
        ),
        c(
            1,
            "lease6-get",
            {
                "identifier-type": "duid",
                "identifier": DUID1,
                "subnet-id": 66,
                "iaid": "42",
            },
        ),
        c(1, "lease6-get", {"identifier-type": "duid", "subnet-id": 66}),
        c(1, "lease6-get", {"identifier": DUID1, "subnet-id": 66}),
        c(
            1,
            "lease6-get",
            {"identifier-type": "uuid", "identifier": DUID1, "subnet-id": 66},
        ),
        c(
            1,
            "lease6-get",
            {"identifier-type": "duid", "identifier": "", "subnet-id": 66},
        ),
        c(
            1,
            "lease6-get",
            {"identifier-type": "duid", "identifier": "q", "subnet-id": 66},
        ),
    ),
)

V6_GET_ALL = Case(
    "v6_get_all",
    6,
    (
        c(3, "lease6-get-all"),
        c(0, "lease6-add", lease6("2001:db8:2::20")),
        c(0, "lease6-add", pd("2001:db8:1:8000::", 64)),
        c(0, "lease6-add", lease6("2001:db8:1::ffff")),
        c(0, "lease6-add", lease6("2001:db8:1::1", type="IA_TA", subnet_id=66)),
        c(0, "lease6-add", lease6("2001:db8:2::1", iaid=1)),
        c(0, "lease6-get-all"),
        c(0, "lease6-get-all", {"subnets": [66]}),
        c(0, "lease6-get-all", {"subnets": [99, 66]}),
        c(0, "lease6-get-all", {"subnets": [99, 99]}),
        c(3, "lease6-get-all", {"subnets": [1]}),
        c(3, "lease6-get-all", {"subnets": []}),
        c(1, "lease6-get-all", {}),
        c(1, "lease6-get-all", {"subnets": {"66": 1}}),
        c(1, "lease6-get-all", {"subnets": [66.0]}),
        *non_map_arguments("lease6-get-all"),
    ),
)

V6_GET_PAGE = Case(
    "v6_get_page",
    6,
    (
        c(3, "lease6-get-page", {"from": "start", "limit": 3}),
        c(0, "lease6-add", lease6("2001:db8:2::1")),
        c(0, "lease6-add", pd("2001:db8:1:2::", 64)),
        c(0, "lease6-add", lease6("2001:db8:1::2")),
        c(0, "lease6-add", lease6("2001:db8:1::10", type="IA_TA", subnet_id=66)),
        c(0, "lease6-add", lease6("2001:db8:1::9")),
        c(0, "lease6-add", lease6("2001:db8:1:0:1::")),
        c(0, "lease6-get-page", {"from": "start", "limit": 2}),
        c(0, "lease6-get-page", {"from": "2001:db8:1::9", "limit": 2}),
        c(0, "lease6-get-page", {"from": "2001:db8:1:0:1::", "limit": 2}),
        c(0, "lease6-get-page", {"from": "2001:db8:1:2::", "limit": 2}),
        c(3, "lease6-get-page", {"from": "2001:db8:2::1", "limit": 2}),
        c(0, "lease6-get-page", {"from": "::", "limit": 10}),
        c(0, "lease6-get-page", {"from": "2001:db8:1::5", "limit": 1}),
        c(1, "lease6-get-page"),
        *non_map_arguments("lease6-get-page"),
        c(1, "lease6-get-page", {"limit": 1}),
        c(1, "lease6-get-page", {"from": ["start"], "limit": 1}),
        c(1, "lease6-get-page", {"from": "Start", "limit": 1}),
        c(1, "lease6-get-page", {"from": "192.0.2.1", "limit": 1}),
        c(1, "lease6-get-page", {"from": "2001:db8:::", "limit": 1}),
        c(1, "lease6-get-page", {"from": "start"}),
        c(1, "lease6-get-page", {"from": "start", "limit": None}),
        c(1, "lease6-get-page", {"from": "start", "limit": 0}),
        c(1, "lease6-get-page", {"from": "start", "limit": -5}),
    ),
)

V6_GET_BY = Case(
    "v6_get_by",
    6,
    (
        c(0, "lease6-add", lease6("2001:db8:1::1", hostname="MyHost.Example.COM.")),
        c(
            0,
            "lease6-add",
            lease6("2001:db8:2::1", iaid=7, hostname="myhost.example.com."),
        ),
        c(
            0,
            "lease6-add",
            pd("2001:db8:1:1::", 64, duid=DUID2, hostname="pd.example."),
        ),
        c(0, "lease6-get-by-duid", {"duid": DUID1}),
        c(0, "lease6-get-by-duid", {"duid": DUID2.upper()}),
        c(3, "lease6-get-by-duid", {"duid": "01:02"}),
        c(1, "lease6-get-by-duid", {"duid": ""}),
        c(1, "lease6-get-by-duid", {"duid": "zz"}),
        c(1, "lease6-get-by-duid", {"duid": 42}),
        c(1, "lease6-get-by-duid", {}),
        c(1, "lease6-get-by-duid"),
        *non_map_arguments("lease6-get-by-duid"),
        c(0, "lease6-get-by-hostname", {"hostname": "myhost.example.com."}),
        c(0, "lease6-get-by-hostname", {"hostname": "MyHost.example.com."}),
        c(0, "lease6-get-by-hostname", {"hostname": "PD.EXAMPLE."}),
        c(3, "lease6-get-by-hostname", {"hostname": "pd.example"}),
        c(1, "lease6-get-by-hostname", {"hostname": ""}),
        c(1, "lease6-get-by-hostname", {"hostname": None}),
        c(1, "lease6-get-by-hostname", {}),
        c(1, "lease6-get-by-hostname"),
        *non_map_arguments("lease6-get-by-hostname"),
    ),
)

V6_DEL = Case(
    "v6_del",
    6,
    (
        c(
            0,
            "lease6-add",
            lease6("2001:db8:1::1", hostname="h.example.", fqdn_fwd=True),
        ),
        c(0, "lease6-add", lease6("2001:db8:1::2", iaid=43)),
        c(0, "lease6-add", lease6("2001:db8:2::2", iaid=0)),
        c(0, "lease6-add", pd("2001:db8:1:1::", 64, iaid=50)),
        c(0, "lease6-add", lease6("2001:db8:1::3", duid=DUID2)),
        c(
            0,
            "lease6-add",
            lease6("2001:db8:1::4", type="IA_TA", subnet_id=66, iaid=60),
        ),
        c(0, "lease6-del", {"ip-address": "2001:db8:1::1", "update-ddns": True}),
        c(3, "lease6-del", {"ip-address": "2001:db8:1::1"}),
        c(3, "lease6-del", {"ip-address": "2001:db8:1:1::"}),
        c(0, "lease6-del", {"ip-address": "2001:db8:1:1::", "type": "IA_PD"}),
        c(3, "lease6-del", {"ip-address": "2001:db8:1::4"}),
        c(0, "lease6-del", {"ip-address": "2001:db8:1::4", "type": "IA_TA"}),
        c(
            0,
            "lease6-del",
            {
                "identifier-type": "duid",
                "identifier": DUID1,
                "iaid": 43,
                "subnet-id": 66,
            },
        ),
        c(
            3,
            "lease6-del",
            {
                "identifier-type": "duid",
                "identifier": DUID1,
                "iaid": 43,
                "subnet-id": 66,
            },
        ),
        c(
            0,
            "lease6-del",
            {"identifier-type": "duid", "identifier": DUID1, "subnet-id": 99},
        ),
        c(
            1,
            "lease6-del",
            {"identifier-type": "hw-address", "identifier": HW1, "subnet-id": 66},
        ),
        c(
            1,
            "lease6-del",
            {"identifier-type": "client-id", "identifier": DUID2, "subnet-id": 66},
        ),
        c(
            3,
            "lease6-del",
            {
                "identifier-type": "address",
                "identifier": "2001:db8:1::3",
                "subnet-id": 66,
            },
        ),
        c(0, "lease6-get-all"),
        c(1, "lease6-del"),
        *non_map_arguments("lease6-del"),
        c(1, "lease6-del", {}),
        c(1, "lease6-del", {"ip-address": "2001:db8:1::3", "update-ddns": "true"}),
        c(1, "lease6-del", {"ip-address": "2001:db8:1::3", "type": "PD"}),
        c(1, "lease6-del", {"ip-address": "192.0.2.1"}),
        c(1, "lease6-del", {"identifier-type": "duid", "identifier": DUID2}),
        c(0, "lease6-del", {"ip-address": "2001:db8:1::3", "subnet-id": "ignored"}),
        c(3, "lease6-get-all"),
    ),
)

V6_UPDATE = Case(
    "v6_update",
    6,
    (
        c(
            0,
            "lease6-add",
            lease6(
                "2001:db8:1::1",
                hw_address=HW1,
                hostname="a.example.",
                fqdn_rev=True,
                user_context={"keep": False},
                valid_lft=500,
                preferred_lft=400,
                expire=EXPIRE,
            ),
        ),
        c(0, "lease6-update", lease6("2001:db8:1::1", duid=DUID2, iaid=7)),
        c(0, "lease6-get", {"ip-address": "2001:db8:1::1"}),
        c(
            0,
            "lease6-update",
            lease6("2001:db8:1::1", subnet_id=66, expire=EXPIRE, state=1),
        ),
        c(0, "lease6-get", {"ip-address": "2001:db8:1::1"}),
        c(1, "lease6-update", lease6("2001:db8:1::1", subnet_id=99)),
        c(1, "lease6-update", lease6("2001:db8:1::9")),
        c(
            0,
            "lease6-update",
            lease6("2001:db8:1::9", force_create=True, hostname="UP."),
        ),
        c(0, "lease6-get", {"ip-address": "2001:db8:1::9"}),
        c(0, "lease6-add", pd("2001:db8:1:1::", 64)),
        c(0, "lease6-update", pd("2001:db8:1:1::", 64, valid_lft=77, preferred_lft=66)),
        c(0, "lease6-get", {"ip-address": "2001:db8:1:1::", "type": "IA_PD"}),
        c(0, "lease6-update", pd("2001:db8:1:2::", 64, force_create=True)),
        c(1, "lease6-update", pd("2001:db8:1:3::", 64)),
        c(0, "lease6-get-all"),
        c(1, "lease6-update"),
        *non_map_arguments("lease6-update"),
        c(1, "lease6-update", {}),
        c(1, "lease6-update", lease6("2001:db8:1::1", force_create="no")),
        c(1, "lease6-update", lease6("2001:db8:1::1", iaid=None)),
        c(1, "lease6-update", pd("2001:db8:1:1::", 64, state=1)),
    ),
)

V6_WIPE = Case(
    "v6_wipe",
    6,
    (
        c(3, "lease6-wipe"),
        c(0, "lease6-add", lease6("2001:db8:1::1")),
        c(0, "lease6-add", lease6("2001:db8:1::2", state=1)),
        c(0, "lease6-add", pd("2001:db8:1:1::", 64)),
        c(0, "lease6-add", lease6("2001:db8:1::3", type="IA_TA", subnet_id=66)),
        c(0, "lease6-add", lease6("2001:db8:2::1")),
        c(0, "lease6-wipe", {"subnet-id": 66}),
        c(3, "lease6-wipe", {"subnet-id": 66}),
        c(0, "lease6-get-all"),
        c(3, "lease6-wipe", {"subnet-id": 4294967295}),
        c(1, "lease6-wipe", {"subnet-id": 4294967296}),
        c(1, "lease6-wipe", {"subnet-id": [66]}),
        *non_map_arguments("lease6-wipe"),
        c(0, "lease6-wipe", {"subnet-id": 0, "other": 1}),
        c(3, "lease6-get-all"),
    ),
)

V6_BULK_APPLY = Case(
    "v6_bulk_apply",
    6,
    (
        c(0, "lease6-add", lease6("2001:db8:1::1")),
        c(0, "lease6-add", lease6("2001:db8:1::2", iaid=43)),
        c(0, "lease6-add", pd("2001:db8:1:1::", 64, iaid=44)),
        c(0, "lease6-add", lease6("2001:db8:1::3", iaid=45)),
        c(
            0,
            "lease6-bulk-apply",
            {
                "deleted-leases": [
                    {"ip-address": "2001:db8:1::1"},
                    {"ip-address": "2001:db8:1::78"},
                    {"ip-address": "2001:db8:1:1::", "type": "IA_PD"},
                    {
                        "identifier-type": "duid",
                        "identifier": DUID2,
                        "iaid": 1,
                        "subnet-id": 66,
                    },
                    {
                        "identifier-type": "duid",
                        "identifier": DUID1,
                        "iaid": 43,
                        "subnet-id": 66,
                    },
                ],
                "leases": [
                    lease6("2001:db8:1::3", iaid=45, hostname="updated."),
                    lease6("2001:db8:1::4", subnet_id=66),
                    pd("2001:db8:1:5::", 64, iaid=46),
                ],
            },
        ),
        c(0, "lease6-get-all"),
        c(0, "lease6-bulk-apply", {"leases": [lease6("2001:db8:1::4", valid_lft=9)]}),
        c(
            0,
            "lease6-bulk-apply",
            {"deleted-leases": [{"ip-address": "2001:db8:1::4"}]},
        ),
        c(3, "lease6-bulk-apply", {"leases": []}),
        c(3, "lease6-bulk-apply", {"deleted-leases": [], "leases": []}),
        c(
            3,
            "lease6-bulk-apply",
            {"deleted-leases": [{"ip-address": "2001:db8:1::99"}]},
        ),
        c(
            3,
            "lease6-bulk-apply",
            {
                "deleted-leases": [
                    {"identifier-type": "duid", "identifier": DUID2, "subnet-id": 66}
                ]
            },
        ),
        c(
            0,
            "lease6-bulk-apply",
            {
                "deleted-leases": [{"ip-address": "2001:db8:1::90", "type": "IA_PD"}],
                "leases": [lease6("2001:db8:1::91")],
            },
        ),
        c(0, "lease6-get-all"),
        # Validation errors abort the whole command; nothing is applied.
        c(
            1,
            "lease6-bulk-apply",
            {
                "deleted-leases": [{"ip-address": "2001:db8:1::3"}],
                "leases": [
                    lease6("2001:db8:1::92"),
                    lease6("2001:db8:1::93", iaid="x"),
                ],
            },
        ),
        c(
            1,
            "lease6-bulk-apply",
            {"deleted-leases": [{"ip-address": "2001:db8:1::3"}, {"type": "IA_PD"}]},
        ),
        c(1, "lease6-bulk-apply", {"leases": [lease6("2001:db8:9::1")]}),
        c(1, "lease6-bulk-apply", {"leases": [lease6("192.0.2.1")]}),
        c(1, "lease6-bulk-apply", {"leases": [5]}),
        c(1, "lease6-bulk-apply", {"deleted-leases": ["2001:db8:1::3"]}),
        c(0, "lease6-get-all"),
        deliberate(
            c(0, "lease6-bulk-apply", {"leases": [pd("2001:db8:1::3", 128)]}),
            {"result": 3, "text": "Bulk apply of 0 IPv6 leases completed."},
            "Kea 2.2 counts a prefix on an address an IA_NA lease holds as "
            "applied, yet stores nothing; leased reports it failed",
        ),
        c(0, "lease6-get-all"),
        c(1, "lease6-bulk-apply"),
        *non_map_arguments("lease6-bulk-apply"),
        c(1, "lease6-bulk-apply", {}),
        c(1, "lease6-bulk-apply", {"other": []}),
        c(1, "lease6-bulk-apply", {"leases": {}}),
        c(1, "lease6-bulk-apply", {"deleted-leases": "2001:db8:1::3"}),
        c(1, "lease6-bulk-apply", {"deleted-leases": [], "leases": None}),
    ),
)

V6_RESEND_DDNS = Case(
    "v6_resend_ddns",
    6,
    (
        c(
            0,
            "lease6-add",
            lease6("2001:db8:1::1", hostname="h.example.", fqdn_fwd=True),
        ),
        c(1, "lease6-resend-ddns", {"ip-address": "2001:db8:1::1"}),
        c(1, "lease6-resend-ddns", {}),
        c(1, "lease6-resend-ddns", {"ip-address": ["2001:db8:1::1"]}),
        c(1, "lease6-resend-ddns", {"ip-address": "192.0.2.1"}),
        c(0, "lease6-del", {"ip-address": "2001:db8:1::1", "update-ddns": True}),
        deliberate(c(None, "lease6-resend-ddns"), NO_ARGUMENTS, CRASH, to_kea=False),
        c(3, "lease6-get-all"),
    ),
)

V6_AUTO = Case(
    "v6_auto",
    6,
    (
        # 2001:db8:1::/48 is in 3 (class), 5 (shared network /40) and 8 (/32).
        c(0, "lease6-add", lease6("2001:db8:1::1")),
        c(0, "lease6-add", lease6("2001:db8:ff00::1")),
        c(0, "lease6-add", lease6("3000::1")),
        c(0, "lease6-add", lease6("3000::2", subnet_id=0, type="IA_NA")),
        c(0, "lease6-add", lease6("2001:db8:1::2", subnet_id=3)),
        c(0, "lease6-add", lease6("2001:db8:1::3", subnet_id=8)),
        c(0, "lease6-add", pd("2001:db8:8000::", 56, subnet_id=8)),
        c(0, "lease6-add", pd("2001:db8:8000:100::", 56, subnet_id=12)),
        c(1, "lease6-add", lease6("2001:db8:ff00::2", subnet_id=5)),
        c(1, "lease6-add", lease6("4000::1")),
        c(1, "lease6-add", pd("2001:db8:8000:200::", 56, subnet_id=0)),
        c(0, "lease6-get-all"),
        c(0, "lease6-get-all", {"subnets": [12, 5]}),
        c(0, "lease6-update", lease6("3000::9", force_create=True)),
        c(0, "lease6-get", {"ip-address": "3000::9"}),
        c(0, "lease6-wipe", {"subnet-id": 8}),
        c(0, "lease6-wipe"),
        c(3, "lease6-wipe"),
    ),
    config="auto",
)

SAME6 = {"hostname": "same.example."}

V6_ORDER = Case(
    "v6_order",
    6,
    (
        c(0, "lease6-add", lease6("2001:db8:1::20", SAME6, iaid=2)),
        c(0, "lease6-add", pd("2001:db8:1:2::", 64, SAME6, subnet_id=5, iaid=1)),
        c(0, "lease6-add", lease6("2001:db8:1::1", SAME6, iaid=1)),
        c(0, "lease6-add", lease6("2001:db8:1::7", SAME6, subnet_id=8, iaid=1)),
        c(0, "lease6-add", lease6("2001:db8:1::9", SAME6, iaid=3)),
        c(0, "lease6-add", lease6("2001:db8:1::3", SAME6, subnet_id=3)),
        c(0, "lease6-add", lease6("3000::1", SAME6, iaid=0)),
        c(0, "lease6-add", lease6("2001:db8:1::4", SAME6, type="IA_TA", subnet_id=5)),
        c(0, "lease6-get-all"),
        c(0, "lease6-get-all", {"subnets": [5]}),
        c(0, "lease6-get-all", {"subnets": [12, 8, 3, 5]}),
        c(0, "lease6-get-by-duid", {"duid": DUID1}),
        c(0, "lease6-get-by-hostname", {"hostname": "same.example."}),
        c(0, "lease6-update", lease6("2001:db8:1::20", SAME6, iaid=2, valid_lft=1)),
        c(0, "lease6-update", lease6("2001:db8:1::7", SAME6, iaid=1)),
        c(0, "lease6-update", lease6("2001:db8:1::1", SAME6, subnet_id=8, iaid=1)),
        c(0, "lease6-update", lease6("2001:db8:1::1", SAME6, iaid=1)),
        c(0, "lease6-del", {"ip-address": "2001:db8:1::9"}),
        c(0, "lease6-add", lease6("2001:db8:1::9", SAME6, iaid=3)),
        c(0, "lease6-get-all", {"subnets": [5, 8]}),
        c(0, "lease6-get-by-duid", {"duid": DUID1}),
        c(0, "lease6-get-by-hostname", {"hostname": "same.example."}),
        c(
            1,
            "lease6-get",
            {"identifier-type": "duid", "identifier": DUID1, "iaid": 1, "subnet-id": 5},
        ),
        c(
            0,
            "lease6-get",
            {"identifier-type": "duid", "identifier": DUID1, "iaid": 3, "subnet-id": 5},
        ),
        c(
            0,
            "lease6-get",
            {
                "identifier-type": "duid",
                "identifier": DUID1,
                "iaid": 1,
                "subnet-id": 5,
                "type": "IA_PD",
            },
        ),
        c(
            0,
            "lease6-update",
            lease6("2001:db8:1::20", duid=DUID2, iaid=2, hostname="x."),
        ),
        c(0, "lease6-update", lease6("2001:db8:1::20", SAME6, iaid=2)),
        c(0, "lease6-get-by-duid", {"duid": DUID1}),
        c(0, "lease6-get-by-hostname", {"hostname": "same.example."}),
        c(0, "lease6-get-page", {"from": "start", "limit": 3}),
        c(0, "lease6-get-page", {"from": "2001:db8:1::9", "limit": 3}),
    ),
    config="auto",
)

MANY6 = [
    lease6(f"2001:db8:1::{n:x}", iaid=n, user_context={"n": n, "pad": "q" * 100})
    for n in range(1, 301)
]

V6_LARGE = Case(
    "v6_large",
    6,
    (
        c(0, "lease6-bulk-apply", {"leases": MANY6}),
        c(0, "lease6-get-all"),
        c(0, "lease6-get-page", {"from": "start", "limit": 120}),
        c(0, "lease6-get-page", {"from": "2001:db8:1::78", "limit": 120}),
        c(0, "lease6-get-page", {"from": "2001:db8:1::f0", "limit": 120}),
        c(0, "lease6-get-by-duid", {"duid": DUID1}),
        c(
            0,
            "lease6-bulk-apply",
            {
                "deleted-leases": [
                    {"ip-address": lease["ip-address"]} for lease in MANY6
                ]
            },
        ),
        c(3, "lease6-get-all"),
    ),
)

V4_PERSIST = Case(
    "v4_persist",
    4,
    (
        c(1, "lease4-add", lease4("192.0.2.205", hw_address="")),
        c(0, "lease4-add", lease4("192.0.2.206", hw_address="", state=1)),
        c(1, "lease4-add", lease4("192.0.2.207", hw_address="", state=2)),
        c(0, "lease4-add", lease4("192.0.2.208", hw_address="", client_id=CID1)),
        c(1, "lease4-update", lease4("192.0.2.208", hw_address="")),
        c(0, "lease4-update", lease4("192.0.2.206", hw_address="", state=1)),
        c(1, "lease4-update", lease4("192.0.2.209", hw_address="", force_create=True)),
        c(0, "lease4-add", lease4("192.0.2.210", valid_lft=0)),
        c(0, "lease4-get-all"),
        c(0, "lease4-del", {"ip-address": "192.0.2.210"}),
        c(0, "lease4-wipe", {"subnet-id": 44}),
        c(3, "lease4-get-all"),
    ),
    config="persist",
)

V6_PERSIST = Case(
    "v6_persist",
    6,
    (
        c(1, "lease6-add", lease6("2001:db8:1::202", duid="00")),
        c(1, "lease6-add", lease6("2001:db8:1::202", duid="0")),
        c(0, "lease6-add", lease6("2001:db8:1::203", duid="00", state=1)),
        c(0, "lease6-add", lease6("2001:db8:1::204", duid="00:00")),
        c(1, "lease6-add", pd("2001:db8:1:1::", 64, duid="00")),
        c(1, "lease6-update", lease6("2001:db8:1::204", duid="00")),
        c(3, "lease6-bulk-apply", {"leases": [lease6("2001:db8:1::205", duid="00")]}),
        c(0, "lease6-get-all"),
        c(0, "lease6-wipe"),
        c(3, "lease6-get-all"),
    ),
    config="persist",
)

# --------------------------------------------------------------------------
# Statistics

# Subnets with pools whose sizes are easy to check, subnets inside others to
# move leases between, and an IPv6 pool larger than 64 bits can count.
STATS_CONFIG: dict[str, Any] = {
    "Dhcp4": {
        "expired-leases-processing": NO_RECLAMATION,
        "lease-database": IN_MEMORY,
        "subnet4": [
            {
                "id": 1,
                "subnet": "10.0.0.0/8",
                "pools": [
                    {"pool": "10.0.0.10 - 10.0.0.20"},
                    {"pool": "10.1.0.0/16"},
                ],
            },
            {
                "id": 2,
                "subnet": "192.0.2.0/24",
                "pools": [{"pool": "192.0.2.100 - 192.0.2.199"}],
            },
            {"id": 3, "subnet": "10.1.2.0/24"},
            {"id": 4, "subnet": "198.51.100.0/24"},
        ],
    },
    "Dhcp6": {
        "expired-leases-processing": NO_RECLAMATION,
        "lease-database": IN_MEMORY,
        "subnet6": [
            {
                "id": 1,
                "subnet": "2001:db8:1::/48",
                "pools": [{"pool": "2001:db8:1::100 - 2001:db8:1::1ff"}],
                "pd-pools": [
                    {
                        "prefix": "2001:db8:1:8000::",
                        "prefix-len": 49,
                        "delegated-len": 64,
                    }
                ],
            },
            {
                "id": 2,
                "subnet": "2001:db8:2::/48",
                "pools": [{"pool": "2001:db8:2::/64"}],
            },
            {"id": 3, "subnet": "2001:db8:1:1::/64"},
        ],
    },
}
CONFIGS["stats"] = STATS_CONFIG
# The same, for the case that resets and removes statistics: its servers are
# not shared with the cases that count.
CONFIGS["stats_admin"] = copy_json(STATS_CONFIG)

DHCP6 = ["dhcp6"]


def stat(name: str, *, service: Any = ABSENT, history: bool = False) -> Step:
    """A statistic-get step."""
    return attrs.evolve(
        c(0, "statistic-get", {"name": name}), service=service, history=history
    )


def stat6(name: str, **kw: Any) -> Step:
    """A statistic-get step for IPv6 statistics."""
    return stat(name, service=DHCP6, **kw)


def with_service(step: Step) -> Step:
    """The step, addressed to the IPv6 statistics."""
    return attrs.evolve(step, service=DHCP6)


def stat_answer(name: str, value: int) -> dict[str, Any]:
    """leased's answer to a statistic-get, as normalised for comparison."""
    return {"arguments": {name: [[value, "<time>"]]}, "result": 0}


STATS4 = Case(
    "stats4",
    4,
    (
        stat("subnet[1].total-addresses"),
        stat("subnet[2].total-addresses"),
        stat("subnet[3].total-addresses"),
        stat("subnet[4].total-addresses"),
        stat("subnet[1].assigned-addresses"),
        stat("subnet[1].cumulative-assigned-addresses"),
        stat("subnet[1].reclaimed-leases"),
        stat("subnet[1].reclaimed-declined-addresses"),
        stat("declined-addresses"),
        stat("cumulative-assigned-addresses"),
        stat("reclaimed-leases"),
        stat("reclaimed-declined-addresses"),
        c(0, "lease4-add", lease4("10.1.0.1")),
        c(0, "lease4-add", lease4("10.1.0.2", state=1)),
        c(0, "lease4-add", lease4("10.1.0.3", state=2)),
        c(0, "lease4-add", lease4("192.0.2.100")),
        c(0, "lease4-add", lease4("198.51.100.7", state=1)),
        stat("subnet[1].assigned-addresses"),
        stat("subnet[1].declined-addresses"),
        stat("subnet[2].assigned-addresses"),
        stat("subnet[4].declined-addresses"),
        stat("declined-addresses"),
        c(0, "lease4-update", lease4("10.1.0.2")),
        stat("subnet[1].declined-addresses"),
        stat("declined-addresses"),
        c(0, "lease4-update", lease4("10.1.0.1", state=1)),
        c(0, "lease4-update", lease4("10.1.0.3")),
        stat("subnet[1].assigned-addresses"),
        stat("subnet[1].declined-addresses"),
        # Moving between subnets (10.1.2.0/24 lies in 10.0.0.0/8).
        c(0, "lease4-add", lease4("10.1.2.5", subnet_id=1)),
        c(0, "lease4-add", lease4("10.1.2.6", subnet_id=1, state=1)),
        c(0, "lease4-update", lease4("10.1.2.5", subnet_id=3)),
        c(0, "lease4-update", lease4("10.1.2.6", subnet_id=3, state=1)),
        stat("subnet[1].assigned-addresses"),
        stat("subnet[3].assigned-addresses"),
        stat("subnet[1].declined-addresses"),
        stat("subnet[3].declined-addresses"),
        stat("declined-addresses"),
        c(0, "lease4-del", {"ip-address": "10.1.0.1"}),
        c(0, "lease4-del", {"ip-address": "10.1.0.3"}),
        c(3, "lease4-del", {"ip-address": "10.1.0.3"}),
        stat("subnet[1].assigned-addresses"),
        stat("declined-addresses"),
        c(0, "statistic-get-all"),
        c(0, "lease4-wipe", {"subnet-id": 1}),
        stat("subnet[1].assigned-addresses"),
        stat("subnet[3].assigned-addresses"),
        stat("declined-addresses"),
        c(0, "lease4-wipe"),
        c(0, "statistic-get-all"),
    ),
    config="stats",
)

_DRIFT = (
    "Kea 2.2 does not count down an assigned lease updated to "
    "expired-reclaimed in the same subnet, and counts it again when it is "
    "updated back (newer Kea and leased count both ways)"
)

STATS4_RECLAIMED_UPDATE = Case(
    "stats4_reclaimed_update",
    4,
    (
        c(0, "lease4-add", lease4("192.0.2.150")),
        stat("subnet[2].assigned-addresses"),
        c(0, "lease4-update", lease4("192.0.2.150", state=2)),
        deliberate(
            stat("subnet[2].assigned-addresses"),
            stat_answer("subnet[2].assigned-addresses", 0),
            _DRIFT,
        ),
        c(0, "lease4-update", lease4("192.0.2.150")),
        deliberate(
            stat("subnet[2].assigned-addresses"),
            stat_answer("subnet[2].assigned-addresses", 1),
            _DRIFT,
        ),
        c(0, "lease4-del", {"ip-address": "192.0.2.150"}),
        deliberate(
            stat("subnet[2].assigned-addresses"),
            stat_answer("subnet[2].assigned-addresses", 0),
            _DRIFT,
        ),
    ),
    config="stats",
)

STATS4_RECLAIM = Case(
    "stats4_reclaim",
    4,
    (
        c(0, "lease4-add", lease4("192.0.2.101", expire=1000, valid_lft=10)),
        c(0, "lease4-add", lease4("192.0.2.102", expire=1000, valid_lft=10, state=1)),
        c(0, "lease4-add", lease4("10.1.0.9", expire=1000, valid_lft=10)),
        c(0, "lease4-add", lease4("192.0.2.103")),
        c(0, "leases-reclaim", {"remove": False}),
        stat("reclaimed-leases"),
        stat("subnet[2].reclaimed-leases"),
        stat("subnet[1].reclaimed-leases"),
        stat("reclaimed-declined-addresses"),
        stat("subnet[2].reclaimed-declined-addresses"),
        stat("subnet[2].assigned-addresses"),
        stat("subnet[2].declined-addresses"),
        stat("declined-addresses"),
        c(0, "lease4-get-all"),
        c(0, "leases-reclaim", {"remove": True}),
        stat("reclaimed-leases"),
        c(0, "statistic-get-all"),
    ),
    config="stats",
)

_ZERO_SAMPLES = (
    "Kea 2.2 accepts a count limit of 0 (or one that is 0 modulo 2**32) and "
    "then fails every read of the statistic; leased refuses it"
)
_WRAPPED = (
    "Kea 2.2 takes a negative max-samples modulo 2**32; leased refuses "
    "values outside 1 to 4294967295"
)

STATS4_COMMANDS = Case(
    "stats4_commands",
    4,
    (
        c(1, "statistic-get"),
        c(1, "statistic-get", {}),
        c(1, "statistic-get", {"name": 1}),
        c(1, "statistic-get", "x"),
        c(1, "statistic-get", None),
        c(0, "statistic-get", {"name": "nope"}),
        c(1, "statistic-reset", {"name": "nope"}),
        c(1, "statistic-reset", {}),
        c(1, "statistic-remove", {"name": "nope"}),
        c(1, "statistic-remove", [1]),
        c(0, "statistic-reset", {"name": "subnet[1].total-addresses"}),
        stat("subnet[1].total-addresses"),
        c(0, "statistic-remove", {"name": "subnet[4].total-addresses"}),
        stat("subnet[4].total-addresses"),
        c(1, "statistic-remove", {"name": "subnet[4].total-addresses"}),
        # Sample limits: after a reset both sides hold one sample, and one
        # add each makes one more.
        c(0, "statistic-reset", {"name": "subnet[2].assigned-addresses"}),
        c(
            0,
            "statistic-sample-count-set",
            {"name": "subnet[2].assigned-addresses", "max-samples": 2},
        ),
        c(0, "lease4-add", lease4("192.0.2.110")),
        c(0, "lease4-add", lease4("192.0.2.111")),
        c(0, "lease4-add", lease4("192.0.2.112")),
        stat("subnet[2].assigned-addresses", history=True),
        c(1, "statistic-sample-count-set", {"max-samples": 2}),
        c(1, "statistic-sample-count-set", {"name": "declined-addresses"}),
        c(
            1,
            "statistic-sample-count-set",
            {"name": "declined-addresses", "max-samples": "2"},
        ),
        c(
            1,
            "statistic-sample-count-set",
            {"name": "declined-addresses", "max-samples": True},
        ),
        c(1, "statistic-sample-count-set", {"name": "nope", "max-samples": 2}),
        deliberate(
            c(
                0,
                "statistic-sample-count-set",
                {"name": "declined-addresses", "max-samples": 0},
            ),
            {"result": 1, "text": "'max-samples' parameter must not be zero"},
            _ZERO_SAMPLES,
            to_kea=False,
        ),
        deliberate(
            c(
                0,
                "statistic-sample-count-set",
                {"name": "declined-addresses", "max-samples": -1},
            ),
            {
                "result": 1,
                "text": "'max-samples' parameter must be between 1 and 4294967295",
            },
            _WRAPPED,
        ),
        c(
            0,
            "statistic-sample-age-set",
            {"name": "declined-addresses", "duration": 60},
        ),
        c(1, "statistic-sample-age-set", {"name": "declined-addresses"}),
        c(
            1,
            "statistic-sample-age-set",
            {"name": "declined-addresses", "duration": "60"},
        ),
        c(1, "statistic-sample-age-set", {"name": "nope", "duration": 60}),
        deliberate(
            c(
                None,
                "statistic-sample-age-set",
                {"name": "declined-addresses", "duration": -5},
            ),
            {"result": 1, "text": "'duration' parameter must not be negative"},
            "a negative duration kills Kea 2.2",
            to_kea=False,
        ),
        c(1, "statistic-sample-count-set-all", {"max-samples": 0}),
        c(1, "statistic-sample-count-set-all"),
        c(1, "statistic-sample-count-set-all", {"max-samples": True}),
        c(0, "statistic-sample-count-set-all", {"max-samples": 3}),
        c(0, "statistic-sample-age-set-all", {"duration": 100}),
        c(1, "statistic-sample-age-set-all", {"duration": 1.5}),
        c(1, "statistic-sample-age-set-all", {}),
        c(1, "statistic-sample-age-set-all", "x"),
        c(0, "statistic-sample-count-set-all", {"max-samples": 20}),
        deliberate(
            c(2, "statistic-global-get-all"),
            {"result": 0},
            "newer Kea's command, which Kea 2.2 lacks",
        ),
        c(0, "statistic-reset-all", "ignored"),
        stat("subnet[2].assigned-addresses"),
        c(0, "statistic-get-all"),
        c(0, "statistic-remove-all", {}),
        c(0, "statistic-get-all"),
        stat("subnet[2].assigned-addresses"),
    ),
    config="stats_admin",
)

_TA = (
    "Kea 2.2's lease commands count an IA_TA lease in assigned-pds (its "
    "recount does not); leased counts temporary addresses nowhere, as the "
    "recount does"
)
_BIG = (
    "Kea 2.2 answers -1 for a pool of more than 2**63 addresses; leased "
    "answers the exact number (newer Kea answers big integers too)"
)

PD1 = {"type": "IA_PD", "prefix-len": 64, "subnet-id": 1}

STATS6 = Case(
    "stats6",
    6,
    (
        stat6("subnet[1].total-nas"),
        stat6("subnet[1].total-pds"),
        stat6("subnet[3].total-nas"),
        deliberate(
            stat6("subnet[2].total-nas"),
            stat_answer("subnet[2].total-nas", 1 << 64),
            _BIG,
        ),
        # Out of the way of the get-all comparisons below.
        with_service(c(0, "statistic-remove", {"name": "subnet[2].total-nas"})),
        stat6("subnet[1].assigned-nas"),
        stat6("subnet[1].cumulative-assigned-pds"),
        stat6("declined-addresses"),
        stat6("reclaimed-leases"),
        c(0, "lease6-add", lease6("2001:db8:1::100")),
        c(0, "lease6-add", lease6("2001:db8:1::101", state=1)),
        c(0, "lease6-add", lease6("2001:db8:1::5")),
        c(0, "lease6-add", lease6("2001:db8:1::6", state=2)),
        c(0, "lease6-add", lease6("2001:db8:1:8000::", PD1)),
        c(0, "lease6-add", lease6("2001:db8:1:7000::", PD1)),
        stat6("subnet[1].assigned-nas"),
        stat6("subnet[1].assigned-pds"),
        stat6("subnet[1].declined-addresses"),
        stat6("declined-addresses"),
        c(0, "lease6-update", lease6("2001:db8:1::101")),
        stat6("subnet[1].declined-addresses"),
        c(0, "lease6-update", lease6("2001:db8:1::6")),
        stat6("subnet[1].assigned-nas"),
        c(0, "lease6-add", lease6("2001:db8:1::7", subnet_id=1, type="IA_TA")),
        deliberate(
            stat6("subnet[1].assigned-pds"),
            stat_answer("subnet[1].assigned-pds", 2),
            _TA,
        ),
        c(0, "lease6-del", {"ip-address": "2001:db8:1::7", "type": "IA_TA"}),
        stat6("subnet[1].assigned-pds"),
        # Moving between subnets (2001:db8:1:1::/64 lies in 2001:db8:1::/48).
        c(0, "lease6-add", lease6("2001:db8:1:1::5", subnet_id=1)),
        c(0, "lease6-update", lease6("2001:db8:1:1::5", subnet_id=3)),
        stat6("subnet[1].assigned-nas"),
        stat6("subnet[3].assigned-nas"),
        c(
            0,
            "lease6-bulk-apply",
            {
                "deleted-leases": [{"ip-address": "2001:db8:1::100"}],
                "leases": [
                    lease6("2001:db8:1::102", iaid=2),
                    lease6("2001:db8:1::103", iaid=3, state=1),
                ],
            },
        ),
        stat6("subnet[1].assigned-nas"),
        stat6("subnet[1].declined-addresses"),
        with_service(c(0, "statistic-get-all")),
        c(0, "lease6-wipe", {"subnet-id": 1}),
        stat6("subnet[1].assigned-nas"),
        stat6("subnet[1].assigned-pds"),
        stat6("declined-addresses"),
        c(0, "lease6-wipe"),
        with_service(c(0, "statistic-get-all")),
    ),
    config="stats",
)

# --------------------------------------------------------------------------
# DNS updates: the NameChangeRequests are compared as well as the answers.

RFC4361 = "ff:00:00:00:01:00:01:02:03"
BAD_NAME = (
    "Kea 2.2 answers 'NCR generated' for a hostname that is no DNS name but "
    "sends nothing; leased says the request was not generated"
)

V4_DDNS = Case(
    "v4_ddns",
    4,
    (
        d(
            0,
            0,
            "lease4-add",
            lease4(
                "192.0.2.1",
                client_id=CID2,
                hostname="myhost.example.com.",
                fqdn_fwd=True,
                fqdn_rev=True,
                valid_lft=1000,
                expire=EXPIRE,
            ),
        ),
        d(
            0,
            0,
            "lease4-add",
            lease4(
                "192.0.2.2",
                hostname="hw.example.com.",
                fqdn_fwd=True,
                valid_lft=7200,
                expire=EXPIRE,
            ),
        ),
        d(
            0,
            0,
            "lease4-add",
            lease4(
                "192.0.2.3",
                client_id=RFC4361,
                hostname="Duid.Example.COM",
                fqdn_rev=True,
                valid_lft=5000,
                expire=EXPIRE,
            ),
        ),
        d(
            0,
            0,
            "lease4-add",
            lease4("192.0.2.4", hostname="noflags.example.com.", expire=EXPIRE),
        ),
        d(0, 0, "lease4-add", lease4("192.0.2.5", expire=EXPIRE)),
        d(
            0,
            0,
            "lease4-add",
            lease4(
                "192.0.3.1",
                hostname="other.example.net.",
                fqdn_fwd=True,
                fqdn_rev=True,
                valid_lft=9000,
                expire=EXPIRE,
            ),
        ),
        d(
            0,
            0,
            "lease4-add",
            lease4(
                "192.0.2.6", hostname="a..example.com", fqdn_fwd=True, expire=EXPIRE
            ),
        ),
        d(0, 1, "lease4-resend-ddns", {"ip-address": "192.0.2.1"}),
        d(0, 1, "lease4-resend-ddns", {"ip-address": "192.0.2.2"}),
        d(0, 1, "lease4-resend-ddns", {"ip-address": "192.0.2.3"}),
        d(0, 1, "lease4-resend-ddns", {"ip-address": "192.0.3.1"}),
        d(1, 0, "lease4-resend-ddns", {"ip-address": "192.0.2.4"}),
        d(1, 0, "lease4-resend-ddns", {"ip-address": "192.0.2.5"}),
        d(3, 0, "lease4-resend-ddns", {"ip-address": "192.0.2.99"}),
        deliberate(
            d(0, 0, "lease4-resend-ddns", {"ip-address": "192.0.2.6"}),
            {"result": 1},
            BAD_NAME,
        ),
        d(1, 0, "lease4-resend-ddns", {}),
        d(1, 0, "lease4-resend-ddns", {"ip-address": 1}),
        d(1, 0, "lease4-resend-ddns", {"ip-address": "bogus"}),
        d(1, 0, "lease4-resend-ddns", {"ip-address": "2001:db8:1::1"}),
        *[d(1, 0, "lease4-resend-ddns", value) for value in NON_MAPS],
        deliberate(d(None, 0, "lease4-resend-ddns"), NO_ARGUMENTS, CRASH, to_kea=False),
        d(0, 1, "lease4-del", {"ip-address": "192.0.2.1", "update-ddns": True}),
        d(3, 0, "lease4-del", {"ip-address": "192.0.2.1", "update-ddns": True}),
        d(0, 0, "lease4-del", {"ip-address": "192.0.2.4", "update-ddns": True}),
        d(0, 0, "lease4-del", {"ip-address": "192.0.2.5", "update-ddns": True}),
        d(
            0,
            1,
            "lease4-del",
            {
                "identifier-type": "client-id",
                "identifier": RFC4361,
                "subnet-id": 44,
                "update-ddns": True,
            },
        ),
        d(
            0,
            1,
            "lease4-del",
            {
                "identifier-type": "hw-address",
                "identifier": HW1,
                "subnet-id": 88,
                "update-ddns": True,
            },
        ),
        d(0, 0, "lease4-del", {"ip-address": "192.0.2.2", "update-ddns": False}),
        d(0, 0, "lease4-get-all"),
    ),
    config="ddns",
)

V4_DDNS_OFF = Case(
    "v4_ddns_off",
    4,
    (
        c(0, "lease4-add", lease4("192.0.2.1", hostname="h.example.", fqdn_fwd=True)),
        c(1, "lease4-resend-ddns", {"ip-address": "192.0.2.1"}),
        c(1, "lease4-resend-ddns", {"ip-address": "192.0.2.99"}),
        c(1, "lease4-resend-ddns", {"ip-address": "bogus"}),
        c(0, "lease4-del", {"ip-address": "192.0.2.1", "update-ddns": True}),
        c(3, "lease4-get-all"),
    ),
    config="ddns-off",
)

V6_DDNS = Case(
    "v6_ddns",
    6,
    (
        d(
            0,
            0,
            "lease6-add",
            lease6(
                "2001:db8:1::10",
                duid="77:77:77:77",
                hostname="v6.example.com.",
                fqdn_fwd=True,
                fqdn_rev=True,
                valid_lft=7200,
                expire=EXPIRE,
            ),
        ),
        d(
            0,
            0,
            "lease6-add",
            lease6(
                "2001:db8:1::11",
                iaid=7,
                hostname="fwd.example.com.",
                fqdn_fwd=True,
                valid_lft=600,
                expire=EXPIRE,
            ),
        ),
        d(
            0,
            0,
            "lease6-add",
            lease6(
                "2001:db8:2::12",
                hostname="nat.example.net.",
                fqdn_rev=True,
                valid_lft=9000,
                expire=EXPIRE,
            ),
        ),
        d(
            0,
            0,
            "lease6-add",
            lease6(
                "2001:db8:1::13", iaid=8, hostname="noflags.example.com.", expire=EXPIRE
            ),
        ),
        d(
            0,
            0,
            "lease6-add",
            lease6(
                "2001:db8:1::14",
                type="IA_TA",
                iaid=9,
                subnet_id=66,
                hostname="ta.example.com.",
                fqdn_fwd=True,
                expire=EXPIRE,
            ),
        ),
        d(
            0,
            0,
            "lease6-add",
            pd(
                "2001:db8:1:1::",
                64,
                iaid=10,
                hostname="pd.example.com.",
                fqdn_fwd=True,
                expire=EXPIRE,
            ),
        ),
        d(0, 1, "lease6-resend-ddns", {"ip-address": "2001:db8:1::10"}),
        d(0, 1, "lease6-resend-ddns", {"ip-address": "2001:db8:1::11"}),
        d(0, 1, "lease6-resend-ddns", {"ip-address": "2001:db8:2::12"}),
        d(1, 0, "lease6-resend-ddns", {"ip-address": "2001:db8:1::13"}),
        d(3, 0, "lease6-resend-ddns", {"ip-address": "2001:db8:1::14"}),
        d(3, 0, "lease6-resend-ddns", {"ip-address": "2001:db8:1:1::"}),
        d(3, 0, "lease6-resend-ddns", {"ip-address": "2001:db8:1::99"}),
        d(1, 0, "lease6-resend-ddns", {}),
        d(1, 0, "lease6-resend-ddns", {"ip-address": ["2001:db8:1::1"]}),
        d(1, 0, "lease6-resend-ddns", {"ip-address": "2001:db8:1::g"}),
        d(1, 0, "lease6-resend-ddns", {"ip-address": "192.0.2.1"}),
        *[d(1, 0, "lease6-resend-ddns", value) for value in NON_MAPS],
        deliberate(d(None, 0, "lease6-resend-ddns"), NO_ARGUMENTS, CRASH, to_kea=False),
        d(0, 1, "lease6-del", {"ip-address": "2001:db8:1::10", "update-ddns": True}),
        d(3, 0, "lease6-del", {"ip-address": "2001:db8:1::10", "update-ddns": True}),
        d(
            0,
            0,
            "lease6-del",
            {"ip-address": "2001:db8:1:1::", "type": "IA_PD", "update-ddns": True},
        ),
        d(
            0,
            1,
            "lease6-del",
            {
                "identifier-type": "duid",
                "identifier": DUID1,
                "iaid": 7,
                "subnet-id": 66,
                "update-ddns": True,
            },
        ),
        d(
            0,
            1,
            "lease6-del",
            {"ip-address": "2001:db8:1::14", "type": "IA_TA", "update-ddns": True},
        ),
        d(0, 0, "lease6-del", {"ip-address": "2001:db8:2::12"}),
        d(0, 0, "lease6-get-all"),
    ),
    config="ddns",
)

V6_DDNS_OFF = Case(
    "v6_ddns_off",
    6,
    (
        c(
            0,
            "lease6-add",
            lease6("2001:db8:1::1", hostname="h.example.", fqdn_fwd=True),
        ),
        c(1, "lease6-resend-ddns", {"ip-address": "2001:db8:1::1"}),
        c(1, "lease6-resend-ddns", {"ip-address": "2001:db8:1::99"}),
        c(0, "lease6-del", {"ip-address": "2001:db8:1::1", "update-ddns": True}),
        c(3, "lease6-get-all"),
    ),
    config="ddns-off",
)

CASES: tuple[Case, ...] = (
    FRAMING,
    V4_ADD,
    V4_ADD_ERRORS,
    V4_IDENTIFIER_FORMS,
    V4_GET,
    V4_GET_ALL,
    V4_GET_PAGE,
    V4_GET_BY,
    V4_DEL,
    V4_UPDATE,
    V4_WIPE,
    V4_RESEND_DDNS,
    V4_AUTO,
    V4_ORDER,
    V6_ADD,
    V6_ADD_TYPES,
    V6_ADD_ERRORS,
    V6_IDENTIFIER_FORMS,
    V6_GET,
    V6_GET_ALL,
    V6_GET_PAGE,
    V6_GET_BY,
    V6_DEL,
    V6_UPDATE,
    V6_WIPE,
    V6_BULK_APPLY,
    V6_RESEND_DDNS,
    V6_AUTO,
    V6_ORDER,
    V6_LARGE,
    V4_PERSIST,
    V6_PERSIST,
    STATS4,
    STATS4_RECLAIMED_UPDATE,
    STATS4_RECLAIM,
    STATS4_COMMANDS,
    STATS6,
    V4_DDNS,
    V4_DDNS_OFF,
    V6_DDNS,
    V6_DDNS_OFF,
)
