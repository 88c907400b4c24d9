"""Command line: ``leased -c FILE`` runs the daemon, ``leased -t FILE`` checks.

The options follow ``kea-dhcp4``: ``-c`` starts the server on a
configuration file, ``-t`` only checks the file and exits (0 when good, 1 with
the error otherwise), ``-v`` prints the version.  This module is the only one
that configures logging.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Final

import trio

from leased import __version__
from leased import config as config_module
from leased.commands import build_registry
from leased.ddns import DdnsSetupError, DnsUpdates
from leased.engine import Engine, State
from leased.errors import ConfigError
from leased.paths import PathError, data_directory
from leased.reclaim import Reclaimer
from leased.reload import Reloader
from leased.server import (
    Limits,
    Server,
    SocketInUse,
    block_stop_signals,
    open_listeners,
)
from leased.stats import Statistics
from leased.storage import (
    StorageSetupError,
    lease_file_path,
    open_storage,
    release_free_memory,
)
from leased.systemd import Notifier, activated_sockets

LOGGER: Final = logging.getLogger("leased.server")

EXIT_CONFIG: Final = 1


# syslog priorities by logging level, for journald (``<N>`` line prefixes).
SYSLOG_PRIORITY: Final = {
    logging.DEBUG: 7,
    logging.INFO: 6,
    logging.WARNING: 4,
    logging.ERROR: 3,
    logging.CRITICAL: 2,
}


class JournalFormatter(logging.Formatter):
    """Lines for journald: a ``<N>`` priority prefix, no timestamp.

    journald reads the prefix as the message's syslog priority (so
    ``journalctl -p warning`` works) and stamps the time itself.
    """

    def format(self, record: logging.LogRecord) -> str:
        priority = SYSLOG_PRIORITY.get(record.levelno, 6)
        return f"<{priority}>{super().format(record)}"


def configure_logging(level: str) -> None:
    """Log to stderr; for journald under systemd, with timestamps otherwise."""
    handler = logging.StreamHandler(sys.stderr)
    if os.environ.get("JOURNAL_STREAM"):
        handler.setFormatter(JournalFormatter("%(levelname)s %(name)s: %(message)s"))
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
        )
    root = logging.getLogger("leased")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False


EPILOG: Final = """\
examples:
  leased -c /etc/leased/leased.json        run the daemon
  leased -t /etc/kea/kea-dhcp4.conf        check a (Kea) configuration
  echo '{"command": "lease4-get-all"}' | socat - UNIX-CONNECT:/run/leased/leased.sock
  leasectl lease4-get ip-address=192.0.2.10

lease files:
  Each family with lease-database "persist" true keeps a Kea-format lease file
  (default kea-leases4.csv / kea-leases6.csv) in the data directory; every
  change is written there before it is answered. The leased-lfc command is the
  compactor with kea-lfc's arguments.

signals:
  SIGHUP           re-read the configuration (a bad one is refused, logged)
  SIGTERM, SIGINT  finish commands in flight, close the lease files, exit 0

exit status: 0 after a clean stop (or the shutdown command's exit-value),
  1 for a configuration, lease file or socket error.

under systemd: Type=notify readiness, socket activation (LISTEN_FDS), the
  watchdog and journald priorities are used when systemd provides them; see
  the unit files in systemd/ and docs/operations.md.
"""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(
        prog="leased",
        description=(
            "Lease-management daemon speaking ISC Kea's lease commands on a Unix "
            "control socket. The configuration file has Kea's shape (a Dhcp4 "
            "and/or a Dhcp6 map); one process serves both families."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument(
        "-c", metavar="FILE", dest="run", help="run on this configuration file"
    )
    action.add_argument(
        "-t", metavar="FILE", dest="test", help="check this configuration file and exit"
    )
    action.add_argument("-v", "--version", action="version", version=__version__)
    parser.add_argument(
        "-d",
        "--data-dir",
        metavar="DIR",
        help=(
            "directory of the lease files (default: $LEASED_DATA_DIR, else "
            "systemd's $STATE_DIRECTORY, else the current directory); lease "
            "file names must lie in it"
        ),
    )
    parser.add_argument(
        "-X",
        dest="anywhere",
        action="store_true",
        help=(
            "allow lease files named in the configuration outside the data "
            "directory (a warning is logged; lease4-write and lease6-write "
            "stay confined to the data directory)"
        ),
    )
    parser.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error", "critical"],
        help="least severe messages to log (default: info)",
    )
    return parser.parse_args(argv)


def load_config(
    path: str, directory: Path, *, anywhere: bool = False
) -> config_module.Config:
    """Load a configuration or exit with its error.

    Lease file names are checked against the data directory here too, so
    that ``-t`` finds what would stop the daemon.
    """
    try:
        loaded = config_module.load(path)
        for version in (4, 6):
            try:
                where = lease_file_path(loaded, version, directory, anywhere=anywhere)
            except PathError as error:
                raise ConfigError(
                    f"Dhcp{version}/lease-database/name", str(error)
                ) from None
            if anywhere and where is not None and where.parent != directory:
                LOGGER.warning(
                    "lease file outside the data directory allowed by -X path=%s",
                    where,
                )
    except ConfigError as error:
        print(f"leased: configuration error: {error}", file=sys.stderr)
        sys.exit(EXIT_CONFIG)
    return loaded


def main(argv: list[str] | None = None) -> int:
    """Run the daemon or check a configuration; return the exit status."""
    args = parse_args(argv)
    configure_logging(args.log_level)
    directory = data_directory(args.data_dir)
    if args.test:
        loaded = load_config(args.test, directory, anywhere=args.anywhere)
        print(f"leased: {args.test}: configuration is valid")
        if loaded.ignored:
            print(f"leased: keys leased does not use: {', '.join(loaded.ignored)}")
        return 0

    loaded = load_config(args.run, directory, anywhere=args.anywhere)
    activated = activated_sockets()
    notifier = Notifier()
    if not loaded.sockets and not activated:
        print(
            "leased: configuration error: no unix control-socket is configured in Dhcp4 or Dhcp6",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    if loaded.ignored:
        LOGGER.info("configuration keys not used keys=%s", ",".join(loaded.ignored))
    state = State(loaded)
    try:
        storage = open_storage(loaded, directory, state.tables, anywhere=args.anywhere)
    except StorageSetupError as error:
        LOGGER.error("cannot load lease files reason=%s", error)
        return EXIT_CONFIG
    state.storage = storage
    try:
        state.ddns = DnsUpdates.open(loaded)
    except DdnsSetupError as error:
        LOGGER.error("cannot start dns updates reason=%s", error)
        storage.close()
        return EXIT_CONFIG
    engine = Engine(state, build_registry(), journal=storage.journal)
    Statistics.attach(engine)
    # Loading and the first count leave freed memory behind: hand it back.
    release_free_memory()
    server = Server(
        engine, limits=Limits(**loaded.limits), storage=storage, notifier=notifier
    )
    reclaimer = Reclaimer(engine)
    state.reclaimer = reclaimer
    server.background.append(reclaimer.run)
    server.background.append(state.ddns.run)
    reloader = Reloader(state, storage, server, notifier)
    state.reload = server.reload = reloader
    block_stop_signals()
    try:
        with open_listeners(loaded.sockets, activated) as listeners:
            trio.run(server.serve, listeners)
    except SocketInUse as error:
        LOGGER.error("cannot start reason=%s", error)
        return EXIT_CONFIG
    except OSError as error:
        LOGGER.error("cannot open control socket reason=%s", error)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        pass
    finally:
        storage.close()
        notifier.close()
    LOGGER.info("shutdown complete")
    return state.shutdown_requested or 0


if __name__ == "__main__":
    sys.exit(main())
