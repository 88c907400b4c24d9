"""DNS records follow leases: leased -> kea-dhcp-ddns -> BIND 9, seen by dig.

The test runs the real components from Debian as its own children in a
temporary directory, on loopback ports chosen at run time: ``named`` serving
a forward zone (``example.org``) and two reverse zones (192.0.2.0/24 and
2001:db8:1::/48) that accept updates from loopback, ``kea-dhcp-ddns``
forwarding to it, and leased sending its NameChangeRequests to
kea-dhcp-ddns.  ``dig`` then shows A/AAAA and PTR records appear after
resend-ddns and disappear after a delete with ``update-ddns`` and after
reclamation.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from leased.harness import Daemon, run_leased, stop

PROGRAMS = {
    "named": "bind9",
    "kea-dhcp-ddns": "kea-dhcp-ddns-server",
    "dig": "dnsutils",
}


def _find(program: str) -> str | None:
    found = shutil.which(program)
    if found:
        return found
    for directory in ("/usr/sbin", "/usr/local/sbin", "/sbin"):
        candidate = os.path.join(directory, program)
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def missing_reason() -> str | None:
    """Why the test cannot run here, or None when it can."""
    for program, package in PROGRAMS.items():
        if _find(program) is None:
            return f"{program} is not installed (Debian package {package})"
    return None


pytestmark = pytest.mark.skipif(
    missing_reason() is not None, reason=missing_reason() or ""
)

ZONES = {
    "example.org": "forward",
    "2.0.192.in-addr.arpa": "reverse",
    "1.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa": "reverse",
}


def free_port() -> int:
    """A loopback port free for both UDP and TCP right now."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port: int = udp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
        return port


@contextlib.contextmanager
def child(
    argv: list[str], workdir: Path, name: str, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a program, its output in ``workdir/name.out``; stop it by PID."""
    with open(workdir / f"{name}.out", "wb") as output:
        process = subprocess.Popen(
            argv,
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            yield process
        finally:
            stop(process)


def start_named(workdir: Path, port: int) -> contextlib.AbstractContextManager[Any]:
    """Write a BIND configuration with the three zones and start named."""
    zones = []
    for zone in ZONES:
        (workdir / f"{zone}.db").write_text(
            "$TTL 300\n"
            "@ IN SOA ns.example.org. admin.example.org. 1 3600 600 86400 300\n"
            "@ IN NS ns.example.org.\n"
            + ("ns IN A 127.0.0.1\n" if zone == "example.org" else "")
        )
        zones.append(
            f'zone "{zone}" {{ type primary; file "{workdir}/{zone}.db"; '
            "allow-update { 127.0.0.1; }; };"
        )
    (workdir / "named.conf").write_text(
        "options {\n"
        f'  directory "{workdir}";\n'
        f'  pid-file "{workdir}/named.pid";\n'
        f'  session-keyfile "{workdir}/session.key";\n'
        f'  managed-keys-directory "{workdir}";\n'
        f"  listen-on port {port} {{ 127.0.0.1; }};\n"
        "  listen-on-v6 { none; };\n"
        "  recursion no;\n"
        "  dnssec-validation no;\n"
        "  notify no;\n"
        "};\n"
        "controls { };\n" + "\n".join(zones) + "\n"
    )
    named = _find("named")
    assert named is not None
    return child(
        [named, "-g", "-4", "-n", "1", "-c", str(workdir / "named.conf")],
        workdir,
        "named",
    )


def start_d2(
    workdir: Path, port: int, dns_port: int
) -> contextlib.AbstractContextManager[Any]:
    """Write a kea-dhcp-ddns configuration forwarding to named; start it."""
    servers = [{"ip-address": "127.0.0.1", "port": dns_port}]
    config = {
        "DhcpDdns": {
            "ip-address": "127.0.0.1",
            "port": port,
            "dns-server-timeout": 1000,
            "forward-ddns": {
                "ddns-domains": [
                    {"name": f"{zone}.", "dns-servers": servers}
                    for zone, kind in ZONES.items()
                    if kind == "forward"
                ]
            },
            "reverse-ddns": {
                "ddns-domains": [
                    {"name": f"{zone}.", "dns-servers": servers}
                    for zone, kind in ZONES.items()
                    if kind == "reverse"
                ]
            },
            "loggers": [
                {
                    "name": "kea-dhcp-ddns",
                    "output_options": [{"output": str(workdir / "kea-dhcp-ddns.log")}],
                    "severity": "INFO",
                }
            ],
        }
    }
    path = workdir / "kea-dhcp-ddns.json"
    path.write_text(json.dumps(config, indent=2))
    env = dict(os.environ, KEA_PIDFILE_DIR=str(workdir), KEA_LOCKFILE_DIR=str(workdir))
    binary = _find("kea-dhcp-ddns")
    assert binary is not None
    return child([binary, "-c", str(path)], workdir, "kea-dhcp-ddns", env)


def dig(port: int, *query: str) -> list[str]:
    """Ask named for ``query``; the answers, one a line."""
    binary = _find("dig")
    assert binary is not None
    out = subprocess.run(
        [
            binary,
            "+short",
            "+tries=1",
            "+time=1",
            "-p",
            str(port),
            "@127.0.0.1",
            *query,
        ],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    ).stdout
    return sorted(line for line in out.splitlines() if line)


def wait_for(port: int, query: tuple[str, ...], expected: list[str]) -> list[str]:
    """Ask again until the answer is ``expected`` (10 s at most)."""
    deadline = time.monotonic() + 10
    while True:
        got = dig(port, *query)
        if got == expected or time.monotonic() > deadline:
            return got
        time.sleep(0.05)


def wait_serving(port: int) -> None:
    """Wait until named answers for the forward zone (10 s at most)."""
    deadline = time.monotonic() + 10
    while not dig(port, "example.org", "SOA"):
        assert time.monotonic() < deadline, "named does not answer"
        time.sleep(0.05)


def leased_config(d2_port: int) -> dict[str, Any]:
    ddns = {"enable-updates": True, "server-port": d2_port}
    no_timers = {"reclaim-timer-wait-time": 0, "flush-reclaimed-timer-wait-time": 0}
    return {
        "Dhcp4": {
            "lease-database": {"type": "memfile", "persist": False},
            "expired-leases-processing": no_timers,
            "ddns-qualifying-suffix": "example.org",
            "dhcp-ddns": ddns,
            "subnet4": [{"id": 1, "subnet": "192.0.2.0/24"}],
        },
        "Dhcp6": {
            "lease-database": {"type": "memfile", "persist": False},
            "expired-leases-processing": no_timers,
            "dhcp-ddns": ddns,
            "subnet6": [{"id": 1, "subnet": "2001:db8:1::/48"}],
        },
    }


def ok(daemon: Daemon, command: str, arguments: dict[str, Any]) -> None:
    answer = daemon.command(command, arguments)
    assert answer["result"] == 0, (command, answer)


def test_ddns_records_follow_leases_through_kea_dhcp_ddns_and_bind(
    tmp_path: Path,
) -> None:
    """A/AAAA and PTR appear on resend-ddns, go on del and reclamation."""
    dns_port, d2_port = free_port(), free_port()
    now = int(time.time())
    v4 = {
        "ip-address": "192.0.2.10",
        "hw-address": "0a:0b:0c:0d:0e:0f",
        "hostname": "host4.example.org.",
        "fqdn-fwd": True,
        "fqdn-rev": True,
    }
    v6 = {
        "ip-address": "2001:db8:1::10",
        "duid": "00:01:02:03:04:05",
        "iaid": 1,
        "hostname": "host6.example.org.",
        "fqdn-fwd": True,
        "fqdn-rev": True,
    }
    expired = {
        "ip-address": "192.0.2.20",
        "hw-address": "0a:0b:0c:0d:0e:20",
        "client-id": "01:02:03:04",
        "hostname": "laptop",  # qualified with ddns-qualifying-suffix
        "fqdn-fwd": True,
        "fqdn-rev": True,
        "valid-lft": 100,
        "expire": now - 10,
    }

    with (
        start_named(tmp_path, dns_port),
        run_leased(leased_config(d2_port), tmp_path / "leased") as daemon,
    ):
        wait_serving(dns_port)

        # kea-dhcp-ddns is not there yet: leased keeps the request.
        ok(daemon, "lease4-add", v4)
        ok(daemon, "lease4-resend-ddns", {"ip-address": "192.0.2.10"})
        time.sleep(0.3)
        with start_d2(tmp_path, d2_port, dns_port):
            a_added = wait_for(dns_port, ("host4.example.org", "A"), ["192.0.2.10"])
            ptr4_added = wait_for(
                dns_port, ("-x", "192.0.2.10"), ["host4.example.org."]
            )

            ok(daemon, "lease6-add", v6)
            ok(daemon, "lease6-resend-ddns", {"ip-address": "2001:db8:1::10"})
            aaaa_added = wait_for(
                dns_port, ("host6.example.org", "AAAA"), ["2001:db8:1::10"]
            )
            ptr6_added = wait_for(
                dns_port, ("-x", "2001:db8:1::10"), ["host6.example.org."]
            )

            ok(daemon, "lease4-del", {"ip-address": "192.0.2.10", "update-ddns": True})
            ok(
                daemon,
                "lease6-del",
                {"ip-address": "2001:db8:1::10", "update-ddns": True},
            )
            a_gone = wait_for(dns_port, ("host4.example.org", "A"), [])
            ptr4_gone = wait_for(dns_port, ("-x", "192.0.2.10"), [])
            aaaa_gone = wait_for(dns_port, ("host6.example.org", "AAAA"), [])
            ptr6_gone = wait_for(dns_port, ("-x", "2001:db8:1::10"), [])

            ok(daemon, "lease4-add", expired)
            ok(daemon, "lease4-resend-ddns", {"ip-address": "192.0.2.20"})
            laptop_added = wait_for(
                dns_port, ("laptop.example.org", "A"), ["192.0.2.20"]
            )
            ok(daemon, "leases-reclaim", {"remove": True})
            laptop_gone = wait_for(dns_port, ("laptop.example.org", "A"), [])
            ptr_laptop_gone = wait_for(dns_port, ("-x", "192.0.2.20"), [])
        log = daemon.stderr_text()

    assert a_added == ["192.0.2.10"]
    assert ptr4_added == ["host4.example.org."]
    assert aaaa_added == ["2001:db8:1::10"]
    assert ptr6_added == ["host6.example.org."]
    assert [a_gone, ptr4_gone, aaaa_gone, ptr6_gone] == [[], [], [], []]
    assert laptop_added == ["192.0.2.20"]
    assert [laptop_gone, ptr_laptop_gone] == [[], []]
    assert "dns update server not reachable, requests kept queued" in log
    assert "dns update server reachable again family=IPv4" in log
