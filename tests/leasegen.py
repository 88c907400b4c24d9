"""Varied leases for transfer tests: every field, both families, prefixes.

:func:`lease_commands` returns add commands for ``count`` leases, about
two thirds IPv4 and one third IPv6, cycling through the shapes a lease can
take (client identifiers, hostnames needing escapes in a lease file, user
contexts, DNS flags, declined and reclaimed states, prefixes, IPv6 hardware
addresses), in :data:`CONFIG`'s subnets.  :func:`load` sends them to a
daemon as batches.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from leased.client import send_raw

CONFIG: dict[str, Any] = {
    "Dhcp4": {
        "valid-lifetime": 4000,
        "subnet4": [
            {"id": 1, "subnet": "10.0.0.0/8"},
            {"id": 44, "subnet": "192.0.2.0/24"},
        ],
    },
    "Dhcp6": {
        "preferred-lifetime": 3000,
        "valid-lifetime": 4000,
        "subnet6": [
            {"id": 1, "subnet": "2001:db8::/32"},
            {"id": 66, "subnet": "3fff::/20"},
        ],
    },
}


def lease4(number: int, now: int) -> dict[str, Any]:
    """The arguments of the ``number``-th IPv4 lease."""
    address = 0x0A000001 + number
    lease: dict[str, Any] = {
        "ip-address": ".".join(str((address >> s) & 255) for s in (24, 16, 8, 0)),
        "hw-address": (number + 1).to_bytes(6, "big").hex(":"),
        "subnet-id": 1,
        "valid-lft": 3600 + number % 7,
        "expire": now + 3600 + number % 7 - number % 100,
    }
    shape = number % 6
    if shape == 1:
        lease["client-id"] = (number + 1).to_bytes(7, "big").hex(":")
    if shape in (2, 3):
        lease["hostname"] = f"host-{number}.example.org."
        lease["fqdn-fwd"] = True
        lease["fqdn-rev"] = shape == 2
    if shape == 3:
        lease["user-context"] = {"site": "a,b & c", "rack": number % 10, "ok": True}
    if shape == 4:
        lease["hostname"] = f"café,{number}"  # needs escapes in a lease file
        lease["state"] = 1
    if shape == 5:
        lease["state"] = 2
    return lease


def lease6(number: int, now: int) -> dict[str, Any]:
    """The arguments of the ``number``-th IPv6 lease."""
    lease: dict[str, Any] = {
        "duid": (number + 1).to_bytes(10, "big").hex(":"),
        "iaid": number,
        "subnet-id": 1,
        "valid-lft": 4000,
        "preferred-lft": 3000 - number % 5,
        "expire": now + 4000 - number % 50,
    }
    shape = number % 4
    if shape == 3:
        lease["ip-address"] = f"2001:db8:{(number >> 8) + 1:x}:{number & 255:x}00::"
        lease["type"] = "IA_PD"
        lease["prefix-len"] = 56
    else:
        lease["ip-address"] = f"2001:db8::{number >> 16:x}:{number & 0xFFFF:x}"
    if shape == 1:
        lease["hw-address"] = (number + 1).to_bytes(6, "big").hex(":")
        lease["hostname"] = f"v6-{number}.example.org."
        lease["fqdn-fwd"] = True
    if shape == 2:
        lease["user-context"] = {"note": f"n{number}"}
    return lease


def lease_commands(count: int, now: int | None = None) -> list[dict[str, Any]]:
    """Add commands for ``count`` leases (two thirds IPv4)."""
    now = int(time.time()) if now is None else now
    v4 = count * 2 // 3
    commands = [
        {"command": "lease4-add", "arguments": lease4(number, now)}
        for number in range(v4)
    ]
    commands += [
        {"command": "lease6-add", "arguments": lease6(number, now)}
        for number in range(count - v4)
    ]
    return commands


def load(socket_path: str, commands: list[dict[str, Any]], batch: int = 5000) -> None:
    """Send the commands as batches; fail unless every one succeeded."""
    for start in range(0, len(commands), batch):
        part = commands[start : start + batch]
        answers = orjson.loads(send_raw(socket_path, orjson.dumps(part), timeout=60))
        failed = [a for a in answers if a["result"] != 0]
        assert len(answers) == len(part) and not failed, failed[:3]
