"""Faults the daemon survives without losing or inventing a lease: a
file-size limit, a full disk and an I/O error while it writes, and lease
files it cannot read or parse at start-up."""

from __future__ import annotations

import ctypes
import errno
import hashlib
import os
import resource
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from leased.leasefile import FileSet, load
from leased.model import V4
from tests.crashkit import Leased, Strace, crash_config, seed_files, strace_missing

TOO_LARGE = (
    "the lease change was not made: the lease file could not be written "
    "(File too large)"
)
NO_SPACE = (
    "the lease change was not made: the lease file could not be written "
    "(No space left on device)"
)

Daemons = Callable[..., Leased]


@pytest.fixture
def daemons() -> Iterator[Daemons]:
    """Make :class:`Leased` daemons; any still running at the end is killed."""
    made: list[Leased] = []

    def make(workdir: Path, config: dict[str, Any], **options: Any) -> Leased:
        made.append(Leased(workdir, config, **options))
        return made[-1]

    yield make
    for leased in made:
        if leased.process is not None and leased.process.poll() is None:
            leased.kill(children=True)


def address(n: int) -> str:
    return f"10.0.{n // 250}.{n % 250 + 1}"


def add(leased: Leased, n: int) -> Any:
    return leased.command(
        "lease4-add",
        {
            "ip-address": address(n),
            "subnet-id": 100,
            "hw-address": f"08:00:00:00:{n >> 8:02x}:{n & 255:02x}",
            "hostname": f"host{n}.example.org",
        },
    )


def addresses(leased: Leased) -> list[str]:
    answer = leased.command("lease4-get-all")
    return [lease["ip-address"] for lease in answer["arguments"]["leases"]]


def on_disk(live: Path) -> list[str]:
    """The addresses the lease files hold, read with the daemon's loader."""
    loaded = load(FileSet.of(live), 4).leases
    return [V4.format_ip(address) for address in sorted(loaded)]


def fill_until_refused(
    leased: Leased, start: int = 0, limit: int = 2000
) -> tuple[list[str], int]:
    """Add leases until one is refused; the added ones and the refused one."""
    added = []
    for n in range(start, limit):
        answer = add(leased, n)
        if answer["result"] != 0:
            return added, n
        added.append(address(n))
    raise AssertionError(f"{limit} leases added, none refused")


def check_refusals(leased: Leased, live: Path, added: list[str], refused: int) -> None:
    """The table and the files hold exactly what was acknowledged, a change
    of many rows is refused whole, reads go on, and the log says CRITICAL."""
    assert leased.command("lease4-get", {"ip-address": address(refused)}) == {
        "result": 3,
        "text": "Lease not found.",
    }
    assert addresses(leased) == added
    before = live.read_bytes()
    assert before.endswith(b"\n")
    assert on_disk(live) == added

    wipe = leased.command("lease4-wipe", {"subnet-id": 100})

    assert wipe["result"] == 1
    assert addresses(leased) == added
    assert live.read_bytes() == before
    assert (
        "CRITICAL leased.journal: lease file write failed, the change is refused"
        in leased.log_path.read_text()
    )


@pytest.mark.parametrize("durable", [False, True], ids=["default", "durable"])
def test_faults_file_size_limit_refuses_changes_until_lifted(
    tmp_path: Path, daemons: Daemons, durable: bool
) -> None:
    """Under RLIMIT_FSIZE a change that does not fit is refused with result
    1, nothing of it stays, and writes resume once the limit is lifted."""
    limit = 8192

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))

    leased = daemons(
        tmp_path, crash_config(1, durable=durable, persist=(4,)), preexec=limited
    )
    leased.start()
    live = tmp_path / "kea-leases4.csv"

    added, refused = fill_until_refused(leased)

    assert add(leased, refused) == {"result": 1, "text": TOO_LARGE}
    assert live.stat().st_size <= limit
    check_refusals(leased, live, added, refused)

    assert leased.process is not None
    unlimited = (resource.RLIM_INFINITY, resource.RLIM_INFINITY)
    resource.prlimit(leased.process.pid, resource.RLIMIT_FSIZE, unlimited)
    assert add(leased, refused)["result"] == 0
    leased.kill(children=True)
    leased.start()
    assert addresses(leased) == [*added, address(refused)]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 512 KiB tmpfs (needs root and the right to mount)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small file system needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=512k,mode=0755", "leased-test", mount],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(path: Path) -> None:
    """Write ``path`` until the file system is full."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as error:
        assert error.errno == errno.ENOSPC
    finally:
        os.close(fd)


@pytest.mark.parametrize("durable", [False, True], ids=["default", "durable"])
def test_faults_full_disk_refuses_changes_until_space_returns(
    tmp_path: Path, small_disk: Path, daemons: Daemons, durable: bool
) -> None:
    """On a full disk a change is refused with result 1, nothing of it
    stays, a compaction cannot start and changes nothing, and everything
    works again once space returns."""
    leased = daemons(
        tmp_path / "run",
        crash_config(1, durable=durable, persist=(4,)),
        data=small_disk,
    )
    leased.start()
    live = small_disk / "kea-leases4.csv"
    assert add(leased, 0)["result"] == 0
    fill(small_disk / "filler")

    added, refused = fill_until_refused(leased, start=1)

    added.insert(0, address(0))
    assert add(leased, refused) == {"result": 1, "text": NO_SPACE}
    check_refusals(leased, live, added, refused)
    before = live.read_bytes()
    assert leased.command("kea-lfc-start") == {
        "result": 1,
        "text": "failed to start kea-lfc",
    }
    assert live.read_bytes() == before
    assert not live.with_name(live.name + ".1").exists()

    (small_disk / "filler").unlink()
    assert add(leased, refused)["result"] == 0
    assert leased.command("kea-lfc-start")["result"] == 0
    deadline = time.monotonic() + 20
    while live.with_name(live.name + ".1").exists() or leased.children():
        assert time.monotonic() < deadline
        time.sleep(0.01)
    leased.kill(children=True)
    leased.start()
    assert addresses(leased) == [*added, address(refused)]


# Lease files that cannot be read at start-up.


def digests(directory: Path) -> dict[str, str]:
    """Every lease file's checksum (lock files aside)."""
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(directory.iterdir())
        if path.name.startswith("kea-leases")
        and path.is_file()
        and not path.name.endswith(".lock")
    }


def refused_start(leased: Leased) -> str:
    """Start the daemon, expect it to exit 1; what it logged."""
    process = leased.spawn()
    assert process.wait(timeout=30) == 1
    return leased.log_path.read_text()


def torn_v4(directory: Path) -> None:
    """A v4 file set whose live file ends in a torn row (a start cuts it)."""
    seed_files(directory, 4, 30)
    with open(directory / "kea-leases4.csv", "a") as live:
        live.write("10.0.9.9,08:00")


def test_faults_lease_file_that_is_a_directory_stops_start_up(
    tmp_path: Path, daemons: Daemons
) -> None:
    """A live file that cannot be read stops start-up with a clear error;
    the other family's files are not touched, not even its torn row."""
    torn_v4(tmp_path)
    (tmp_path / "kea-leases6.csv").mkdir()
    before = digests(tmp_path)

    log = refused_start(daemons(tmp_path, crash_config(1)))

    assert (
        f"cannot load lease files reason=cannot read lease file "
        f"{tmp_path / 'kea-leases6.csv'}: Is a directory" in log
    )
    assert digests(tmp_path) == before


_libc = ctypes.CDLL(None, use_errno=True)
PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 24, 1, 2


def without_file_override() -> None:
    """Run as root without the power to read any file: permissions bind."""
    for capability in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if _libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "cannot drop a capability")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop capabilities")
def test_faults_lease_file_the_daemon_may_not_read_stops_start_up(
    tmp_path: Path, daemons: Daemons
) -> None:
    """A compacted file the daemon may not read stops start-up (its leases
    are not silently left out); nothing is changed on disk."""
    torn_v4(tmp_path)
    secret = tmp_path / "kea-leases4.csv.2"
    secret.chmod(0)
    before = digests(tmp_path)

    log = refused_start(
        daemons(tmp_path, crash_config(1, persist=(4,)), preexec=without_file_override)
    )

    assert (
        f"cannot load lease files reason=cannot read lease file {secret}: "
        "Permission denied" in log
    )
    assert digests(tmp_path) == before


def test_faults_lease_file_with_a_corrupt_header_stops_start_up(
    tmp_path: Path, daemons: Daemons
) -> None:
    """A file that is not a lease file (random bytes) stops start-up with
    Kea's text; no file is changed."""
    torn_v4(tmp_path)
    (tmp_path / "kea-leases6.csv").write_bytes(os.urandom(3000).replace(b"\n", b""))
    before = digests(tmp_path)

    log = refused_start(daemons(tmp_path, crash_config(1)))

    assert "cannot load lease files reason=invalid header" in log
    assert digests(tmp_path) == before


def test_faults_too_many_bad_rows_stop_start_up(
    tmp_path: Path, daemons: Daemons
) -> None:
    """More unreadable rows than max-row-errors stop start-up with Kea's
    text; no file is changed."""
    torn_v4(tmp_path)
    with open(tmp_path / "kea-leases4.csv.2", "a") as compacted:
        compacted.write("not,a,lease\n" * 3)
    config = crash_config(1, persist=(4,))
    config["Dhcp4"]["lease-database"]["max-row-errors"] = 2
    before = digests(tmp_path)

    log = refused_start(daemons(tmp_path, config))

    assert (
        "exceeded maximum number of failures 2 to read a lease from the lease "
        f"file {tmp_path / 'kea-leases4.csv.2'}" in log
    )
    assert digests(tmp_path) == before


def test_faults_bad_rows_are_logged_with_their_text(
    tmp_path: Path, daemons: Daemons
) -> None:
    """With the default tolerance a bad row is skipped, its text logged,
    and the file keeps it (only appended to)."""
    seed_files(tmp_path, 4, 30)
    live = tmp_path / "kea-leases4.csv"
    with open(live, "a") as appended:
        appended.write("10.0.7.7,this is not a hardware address,,86400\n")
    before = live.read_bytes()
    leased = daemons(tmp_path, crash_config(1, persist=(4,)))

    leased.start()
    assert add(leased, 100)["result"] == 0
    log = leased.log_path.read_text()
    leased.stop()

    assert "discarding unreadable lease file row path=" in log
    assert "text='10.0.7.7,this is not a hardware address,,86400'" in log
    assert live.read_bytes().startswith(before)


IO_ERROR = (
    "the lease change was not made: the lease file could not be written "
    "(Input/output error)"
)


@pytest.mark.skipif(strace_missing() is not None, reason=strace_missing() or "")
def test_faults_io_error_refuses_the_change_and_writes_resume(
    tmp_path: Path, daemons: Daemons
) -> None:
    """A write the disk fails (EIO, injected into the daemon's write calls
    from outside) refuses the change with result 1, leaves the table and
    the file as they were, and the next change is written once the disk
    answers again."""
    leased = daemons(tmp_path, crash_config(1, persist=(4,)))
    leased.start()
    live = tmp_path / "kea-leases4.csv"
    assert add(leased, 1)["result"] == 0
    before = live.read_bytes()
    assert leased.process is not None

    with Strace(leased.process.pid, "write:error=EIO"):
        refused = add(leased, 2)

    assert refused == {"result": 1, "text": IO_ERROR}
    assert live.read_bytes() == before
    assert addresses(leased) == [address(1)]
    assert add(leased, 2)["result"] == 0
    leased.kill(children=True)
    leased.start()
    assert addresses(leased) == [address(1), address(2)]
    assert on_disk(live) == [address(1), address(2)]
