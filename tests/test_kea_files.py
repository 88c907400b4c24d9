"""Lease files move between Kea 2.2 and leased, both ways, with equal results.

Every test here runs the real Kea 2.2 (``kea-dhcp4``, ``kea-dhcp6`` with
the lease commands hook, and ``kea-lfc``) beside leased and is skipped, with
the reason, where those are not installed.

Answers are compared after the differential suite's normalisation
(``tests.test_differential.normalise``) and one more step for Kea's side:
Kea prints each byte of a non-ASCII character as its own ``\\u00XX``
(a documented difference, see docs/commands.md), so its strings are read
back as the UTF-8 bytes they stand for.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from leased.client import send_raw
from leased.csvfile import SCHEMA4, SCHEMA6, delete_row, format_row
from leased.harness import Daemon, kea_missing_reason, run_kea, run_leased
from leased.leasefile import FileSet, load
from leased.model import Lease, Lease4, Lease6
from tests.conftest import lfc_arguments
from tests.test_differential import normalise
from tests.test_storage import config_with, wait_for

KEA_LFC = shutil.which("kea-lfc") or "/usr/sbin/kea-lfc"
MISSING = kea_missing_reason() or (
    None if Path(KEA_LFC).exists() else "kea-lfc is not installed"
)
pytestmark = pytest.mark.skipif(MISSING is not None, reason=MISSING or "")

SETTINGS = config_with(**{"lfc-interval": 0})

# Varied leases: identifiers of every kind or none, declined and reclaimed
# states, user contexts, hostnames with commas, ampersands and non-ASCII
# characters, lifetimes from zero-length to infinite, an expired lease.
ADDS = {
    4: [
        {
            "ip-address": "192.0.2.1",
            "hw-address": "08:08:08:08:08:08",
            "hostname": "A,b&c.Example.",
            "user-context": {"x": "a,b&c", "n": [1, 2.5, None, True]},
            "fqdn-fwd": True,
        },
        {
            "ip-address": "192.0.2.2",
            "hw-address": "",
            "client-id": "01:02:03",
            "valid-lft": 100,
            "expire": 2000000000,
        },
        {"ip-address": "192.0.2.3", "hw-address": "", "state": 1},
        {
            "ip-address": "192.0.3.4",
            "hw-address": "01:02:03:04:05:06",
            "state": 2,
            "fqdn-fwd": True,
            "fqdn-rev": True,
            "hostname": "rec.example.",
        },
        {
            "ip-address": "192.0.2.6",
            "hw-address": "01:02:03:04:05:08",
            "hostname": "\u00e9t\u00e9.example.",
            "user-context": {"s": "\u00e9 \u00fc"},
            "comment": "c,&",
        },
        {
            "ip-address": "192.0.2.7",
            "hw-address": "0a:0b:0c:0d:0e:0f",
            "client-id": "ff:00:01:02",
            "valid-lft": 0xFFFFFFFF,
        },
        {"ip-address": "192.0.2.8", "hw-address": "01:01", "expire": 1_000_000},
    ],
    6: [
        {
            "ip-address": "2001:db8:1::1",
            "duid": "01:02:03:04",
            "iaid": 7,
            "hostname": "h,&.Example.",
            "user-context": {"a": "b,c", "m": {"k": []}},
        },
        {
            "ip-address": "2001:db8:1::2",
            "duid": "01:02:03:05",
            "iaid": 8,
            "hw-address": "0a:0b:0c:0d:0e:0f",
            "preferred-lft": 100,
            "valid-lft": 200,
        },
        {
            "ip-address": "2001:db8:1:1::",
            "type": "IA_PD",
            "prefix-len": 64,
            "duid": "01:02:03:06",
            "iaid": 9,
            "subnet-id": 66,
        },
        {
            "ip-address": "2001:db8:2::3",
            "duid": "00",
            "iaid": 1,
            "state": 1,
            "subnet-id": 99,
        },
        {
            "ip-address": "2001:db8:2::4",
            "duid": "01:01",
            "iaid": 1,
            "state": 2,
            "subnet-id": 99,
            "valid-lft": 0xFFFFFFFF,
        },
        {
            "ip-address": "2001:db8:2::5",
            "duid": "01:01",
            "iaid": 2,
            "type": "IA_TA",
            "subnet-id": 99,
        },
        {
            "ip-address": "2001:db8:2::6",
            "duid": "0a:0b",
            "iaid": 3,
            "subnet-id": 99,
            "fqdn-fwd": True,
            "hostname": "\u00e9.example.",
            "expire": 1_000_000,
        },
    ],
}
# Then a few changes, so that files hold updates and delete rows too.
CHANGES: dict[int, list[tuple[str, dict[str, Any]]]] = {
    4: [
        (
            "lease4-update",
            {
                "ip-address": "192.0.2.1",
                "hw-address": "08:08:08:08:08:09",
                "hostname": "updated,&.example.",
                "user-context": {"y": 1},
            },
        ),
        ("lease4-del", {"ip-address": "192.0.2.7"}),
        ("lease4-add", {"ip-address": "192.0.2.9", "hw-address": "09:09"}),
    ],
    6: [
        (
            "lease6-update",
            {"ip-address": "2001:db8:1::2", "duid": "01:02:03:05", "iaid": 10},
        ),
        ("lease6-del", {"ip-address": "2001:db8:2::5", "type": "IA_TA"}),
        ("lease6-add", {"ip-address": "2001:db8:1::9", "duid": "09:09", "iaid": 9}),
    ],
}


LATIN1_ADD = {
    4: '{"command": "lease4-add", "arguments": {"ip-address": "192.0.2.20",'
    ' "hw-address": "20:20", "hostname": "caf\\u00e9.",'
    ' "user-context": {"c": "\\u00e9"}}}',
    6: '{"command": "lease6-add", "arguments": {"ip-address": "2001:db8:1::20",'
    ' "duid": "20:20", "iaid": 20, "hostname": "caf\\u00e9.",'
    ' "user-context": {"c": "\\u00e9"}}}',
}


def send_all(daemon: Daemon, version: int) -> None:
    """Add the family's leases, then change some of them."""
    for arguments in ADDS[version]:
        answer = daemon.command(f"lease{version}-add", arguments)
        assert answer["result"] == 0, (arguments, answer)
    for command, arguments in CHANGES[version]:
        answer = daemon.command(command, arguments)
        assert answer["result"] == 0, (command, arguments, answer)


def utf8_text(value: Any) -> Any:
    """Read Kea's strings (a character per byte) as the UTF-8 they hold."""
    if isinstance(value, str):
        try:
            return value.encode("latin-1").decode("utf-8")
        except UnicodeError:
            return value
    if isinstance(value, list):
        return [utf8_text(item) for item in value]
    if isinstance(value, dict):
        return {key: utf8_text(item) for key, item in value.items()}
    return value


def get_all(daemon: Daemon, version: int, *, kea: bool = False) -> Any:
    """The family's lease4-get-all / lease6-get-all answer, normalised."""
    answer = normalise(daemon.command(f"lease{version}-get-all"), time.time())
    return utf8_text(answer) if kea else answer


def live_name(version: int) -> str:
    return f"kea-leases{version}.csv"


def settle(directory: Path, name: str) -> None:
    """Wait until no compaction of ``directory/name`` is left running."""
    wait_for(
        lambda: (
            not any(
                (directory / f"{name}{suffix}").exists()
                for suffix in (".pid", ".1", ".completed")
            )
        )
    )


# leased's files in Kea, Kea's files in leased.


@pytest.mark.parametrize("version", [4, 6])
def test_kea_files_leased_file_loads_into_kea(tmp_path: Path, version: int) -> None:
    """Kea 2.2 loads leased's lease file and lists the same leases."""
    with run_leased(SETTINGS, tmp_path / "leased") as daemon:
        send_all(daemon, version)
        expected = get_all(daemon, version)
    kea_dir = tmp_path / "kea"
    kea_dir.mkdir()
    shutil.copy(tmp_path / "leased" / live_name(version), kea_dir / "leases.csv")

    with run_kea(
        SETTINGS, version, kea_dir, lease_file=str(kea_dir / "leases.csv")
    ) as kea:
        got = get_all(kea, version, kea=True)

    assert len(expected["arguments"]["leases"]) == len(ADDS[version])
    assert got == expected


@pytest.mark.parametrize("version", [4, 6])
def test_kea_files_kea_file_loads_into_leased(tmp_path: Path, version: int) -> None:
    """leased loads a lease file Kea 2.2 wrote and lists the same leases."""
    kea_dir = tmp_path / "kea"
    with run_kea(SETTINGS, version, kea_dir, lease_file=str(kea_dir / "l.csv")) as kea:
        send_all(kea, version)
        # A raw control character Kea writes as it is (a tab, not a newline).
        answer = kea.command(
            f"lease{version}-update",
            {**ADDS[version][2], "hostname": "tab\there.example."},
        )
        assert answer["result"] == 0
        # "\u00e9" on the wire: Kea keeps the one byte e9 (not UTF-8) in
        # the hostname and writes "\u00e9" in the user context.
        answered = send_raw(kea.socket_path, LATIN1_ADD[version].encode())
        assert b'"result": 0' in answered
        expected = get_all(kea, version, kea=True)
    leased_dir = tmp_path / "leased"
    leased_dir.mkdir()
    shutil.copy(kea_dir / "l.csv", leased_dir / live_name(version))
    assert b"\t" in (leased_dir / live_name(version)).read_bytes()
    assert b"caf\xe9." in (leased_dir / live_name(version)).read_bytes()

    with run_leased(SETTINGS, leased_dir) as daemon:
        got = get_all(daemon, version)
        settle(leased_dir, live_name(version))  # the upgrade compaction
    with run_leased(SETTINGS, leased_dir) as daemon:
        again = get_all(daemon, version)

    assert got == expected
    assert again == expected
    schema = SCHEMA4 if version == 4 else SCHEMA6
    upgraded = (leased_dir / f"{live_name(version)}.2").read_text().splitlines()
    assert upgraded[0] == schema.header


def test_kea_files_control_characters(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Kea 2.2 reads leased's escaped control characters back; its own
    rewrite of the file (here the compaction it runs at start-up to drop
    the pool_id column) writes them raw and splits the row, which leased
    then reports, keeping every other lease."""
    hostname = "new\nline\ttab\x01.example."
    with run_leased(SETTINGS, tmp_path / "leased") as daemon:
        for octet, name in ((1, "one."), (2, hostname), (3, "three.")):
            answer = daemon.command(
                "lease4-add",
                {
                    "ip-address": f"192.0.2.{octet}",
                    "hw-address": "01:02:03:04:05:06",
                    "hostname": name,
                },
            )
            assert answer["result"] == 0
        expected = get_all(daemon, 4)
    written = (tmp_path / "leased" / live_name(4)).read_text()
    kea_dir = tmp_path / "kea"
    kea_dir.mkdir()
    shutil.copy(tmp_path / "leased" / live_name(4), kea_dir / live_name(4))

    with run_kea(SETTINGS, 4, kea_dir, lease_file=str(kea_dir / live_name(4))) as kea:
        got = get_all(kea, 4, kea=True)
        settle(kea_dir, live_name(4))
    rewritten = (kea_dir / f"{live_name(4)}.2").read_text()
    files = FileSet.of(kea_dir / live_name(4))
    with caplog.at_level(logging.WARNING, logger="leased.journal"):
        reloaded = load(files, 4)

    assert "new&#x0aline&#x09tab&#x01.example." in written
    assert len(written.splitlines()) == 4
    assert got == expected
    assert got["arguments"]["leases"][1]["hostname"] == hostname
    assert len(rewritten.splitlines()) == 5  # Kea's row for .2 split in two
    assert [lease.hostname for lease in reloaded.leases.values()] == [
        "one.",
        "three.",
    ]
    assert reloaded.errors == 2
    assert "row=2 reason=value index '9'" in caplog.text
    assert "row=3 reason=Failed to convert string to address 'line\ttab" in caplog.text


# Compaction: kea-lfc and leased on each other's files.


def run_kea_lfc(live: Path, version: int) -> None:
    """Run Kea's kea-lfc on the file set of ``live``, as Kea's server does."""
    files = FileSet.of(live)
    process = subprocess.run(
        [KEA_LFC, *lfc_arguments(files, version)],
        capture_output=True,
        text=True,
        timeout=30,
        # kea-lfc's logger wants a lock file directory it may write.
        env={"KEA_LOCKFILE_DIR": str(live.parent), "KEA_LOGGER_DESTINATION": "stdout"},
    )
    assert process.returncode == 0, process.stdout + process.stderr


def run_leased_lfc(live: Path, version: int) -> None:
    """Run leased-lfc on the file set of ``live`` with kea-lfc's arguments."""
    files = FileSet.of(live)
    process = subprocess.run(
        [sys.executable, "-m", "leased.lfc", *lfc_arguments(files, version)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert process.returncode == 0, process.stderr


def test_kea_files_kea_lfc_compacts_leased_files(tmp_path: Path) -> None:
    """kea-lfc compacts leased's file set; leased loads the same leases."""
    with run_leased(SETTINGS, tmp_path) as daemon:
        for version in (4, 6):
            for arguments in ADDS[version]:
                assert daemon.command(f"lease{version}-add", arguments)["result"] == 0
        assert daemon.command("kea-lfc-start")["result"] == 0
        for version in (4, 6):
            settle(tmp_path, live_name(version))
            for command, arguments in CHANGES[version]:
                assert daemon.command(command, arguments)["result"] == 0
        expected = [get_all(daemon, version) for version in (4, 6)]
    for version in (4, 6):
        # Kea's server hands the live file over, then runs kea-lfc.
        live = tmp_path / live_name(version)
        live.rename(tmp_path / f"{live_name(version)}.1")
        run_kea_lfc(live, version)

    leftovers = file_set_names(tmp_path, "kea-leases")
    with run_leased(SETTINGS, tmp_path) as daemon:
        got = [get_all(daemon, version) for version in (4, 6)]

    assert leftovers == ["kea-leases4.csv.2", "kea-leases6.csv.2"]
    assert got == expected


def file_set_names(directory: Path, prefix: str) -> list[str]:
    """The lease files starting with ``prefix``, leased's lock file and
    change record aside (they stay with the live file)."""
    return sorted(
        path.name
        for path in directory.glob(f"{prefix}*")
        if not path.name.endswith((".lock", ".pending"))
    )


def kea_file_set(directory: Path) -> tuple[Any, str]:
    """A file set Kea's server and kea-lfc made, and Kea's last answer.

    Kea runs three times: the leases are added, the file is handed over and
    compacted by kea-lfc (F.2); changes go to a new F, which is handed over
    (F.1); more changes go to a new F.  Returns Kea's lease4-get-all after
    the last run and what kea-lfc makes of F.2 and F.1.
    """
    live = directory / live_name(4)
    settings = SETTINGS
    with run_kea(settings, 4, directory / "run1", lease_file=str(live)) as kea:
        for arguments in ADDS[4]:
            assert kea.command("lease4-add", arguments)["result"] == 0
    live.rename(directory / f"{live_name(4)}.1")
    run_kea_lfc(live, 4)
    with run_kea(settings, 4, directory / "run2", lease_file=str(live)) as kea:
        for command, arguments in CHANGES[4]:
            assert kea.command(command, arguments)["result"] == 0
    live.rename(directory / f"{live_name(4)}.1")
    with run_kea(settings, 4, directory / "run3", lease_file=str(live)) as kea:
        assert kea.command("lease4-del", {"ip-address": "192.0.2.8"})["result"] == 0
        assert (
            kea.command(
                "lease4-add", {"ip-address": "192.0.2.10", "hw-address": "10:10"}
            )["result"]
            == 0
        )
        expected = get_all(kea, 4, kea=True)

    scratch = directory / "scratch"
    scratch.mkdir()
    for suffix in (".2", ".1"):
        shutil.copy(directory / f"{live_name(4)}{suffix}", scratch)
    run_kea_lfc(scratch / live_name(4), 4)
    return expected, (scratch / f"{live_name(4)}.2").read_text()


@pytest.fixture(scope="module")
def kea_made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any, str]:
    """Kea's file set (see kea_file_set), made once for the module."""
    directory = tmp_path_factory.mktemp("kea-made")
    expected, completed = kea_file_set(directory)
    return directory, expected, completed


@pytest.mark.parametrize("left", ["output", "completed", "completed-only"])
def test_kea_files_leased_finishes_kea_half_done_compaction(
    tmp_path: Path, kea_made: tuple[Path, Any, str], left: str
) -> None:
    """leased starts on a compaction Kea left half done, finishes it, and
    never appends to (or reads) a leftover output with a torn row."""
    made, expected, completed = kea_made
    name = live_name(4)
    shutil.copy(made / name, tmp_path / name)
    torn = completed[: completed.index("192.0.2.6") + 12]
    if left == "output":  # kea-lfc killed while writing its output
        for suffix in (".2", ".1"):
            shutil.copy(made / f"{name}{suffix}", tmp_path)
        (tmp_path / f"{name}.output").write_text(torn)
    elif left == "completed":  # killed after renaming the output
        for suffix in (".2", ".1"):
            shutil.copy(made / f"{name}{suffix}", tmp_path)
        (tmp_path / f"{name}.completed").write_text(completed)
        (tmp_path / f"{name}.output").write_text(torn)
    else:  # killed after removing F.2 and F.1
        (tmp_path / f"{name}.completed").write_text(completed)

    with run_leased(SETTINGS, tmp_path) as daemon:
        got = get_all(daemon, 4)
        settle(tmp_path, name)
    finished = file_set_names(tmp_path, name)
    with run_leased(SETTINGS, tmp_path) as daemon:
        again = get_all(daemon, 4)

    assert got == expected
    assert again == expected
    assert finished == [name, f"{name}.2"]
    result = (tmp_path / f"{name}.2").read_text()
    assert result.splitlines()[0] == SCHEMA4.header
    assert torn.splitlines()[-1] not in result.splitlines()


def compaction_inputs(version: int) -> tuple[str, str]:
    """F.2 (Kea 2.2's header) and F.1 (newest header) for both compactors.

    They hold updates, deletions, a lease deleted and added again, an
    expired lease, and a few rows neither compactor can read.
    """
    leases: list[Lease] = []
    for n in range(1, 41):
        if version == 4:
            leases.append(
                Lease4(
                    address=0xC0000200 + n,
                    hw_address=bytes([n, 2, 3]),
                    client_id=bytes([1, n]) if n % 3 == 0 else None,
                    valid_lft=3600 if n % 7 else 0xFFFFFFFF,
                    cltt=1_000_000 * n,
                    subnet_id=44,
                    fqdn_fwd=n % 2 == 0,
                    hostname=f"host{n},&\u00e9.example." if n % 5 == 0 else "",
                    state=n % 3,
                    user_context={"n": n, "s": "a,b"} if n % 4 == 0 else None,
                )
            )
        else:
            leases.append(
                Lease6(
                    address=(0x20010DB8 << 96) + (n << 64 if n % 6 == 0 else n),
                    type=2 if n % 6 == 0 else 0,
                    prefix_len=64 if n % 6 == 0 else 128,
                    duid=bytes([0, n, 3]),
                    iaid=n,
                    valid_lft=4000,
                    preferred_lft=3000,
                    cltt=1_000_000 * n,
                    subnet_id=66,
                    fqdn_rev=n % 2 == 0,
                    hostname=f"Host{n},&.example." if n % 5 == 0 else "",
                    state=n % 3,
                    user_context={"n": n} if n % 4 == 0 else None,
                    hw_address=bytes([n, 1]) if n % 2 else None,
                    hw_type=1,
                    hw_source=4 if n % 2 else 0,
                )
            )
    schema = SCHEMA4 if version == 4 else SCHEMA6
    width = len(schema.columns) - 1  # Kea 2.2's header lacks pool_id

    def rows(selected: Iterable[str], header: str, columns: int) -> str:
        return "".join(
            f"{line}\n"
            for line in [header, *(",".join(r.split(",")[:columns]) for r in selected)]
        )

    previous = [format_row(lease) for lease in leases[:30]] + ["garbage"]
    copy = (
        [delete_row(lease) for lease in leases[:5]]
        + [format_row(lease) for lease in leases[25:]]
        + [format_row(leases[1]), "2001:db8::x,1" if version == 6 else "192.0.2"]
    )
    return (
        rows(previous, ",".join(schema.columns[:width]), width),
        rows(copy, schema.header, len(schema.columns)),
    )


@pytest.mark.parametrize("version", [4, 6])
def test_kea_files_leased_lfc_matches_kea_lfc(tmp_path: Path, version: int) -> None:
    """leased-lfc and kea-lfc make the same leases of the same inputs."""
    previous, copy = compaction_inputs(version)
    results = {}
    for tool, run in (("kea", run_kea_lfc), ("leased", run_leased_lfc)):
        live = tmp_path / tool / f"leases{version}.csv"
        live.parent.mkdir()
        (tmp_path / tool / f"leases{version}.csv.2").write_text(previous)
        (tmp_path / tool / f"leases{version}.csv.1").write_text(copy)

        run(live, version)

        left = sorted(path.name for path in live.parent.iterdir())
        assert f"leases{version}.csv.2" in left
        assert not {f"leases{version}.csv{s}" for s in (".1", ".pid")} & set(left)
        results[tool] = live

    kea = load(FileSet.of(results["kea"]), version)
    ours = load(FileSet.of(results["leased"]), version)
    assert len(ours.leases) == 36
    assert list(ours.leases.values()) == list(kea.leases.values())
    assert (ours.errors, kea.errors) == (0, 0)
    if version == 4:
        # Row for row the same text, but for the pool_id column Kea 2.2 lacks.
        kea_rows = (results["kea"].parent / "leases4.csv.2").read_text().splitlines()
        our_rows = (results["leased"].parent / "leases4.csv.2").read_text()
        assert [row.rsplit(",", 1)[0] for row in our_rows.splitlines()] == kea_rows
