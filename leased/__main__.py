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
from typing import Final

import trio

from leased import __version__
from leased import config as config_module
from leased.commands import build_registry
from leased.engine import Engine, State
from leased.errors import ConfigError
from leased.server import (
    Limits,
    Server,
    SocketInUse,
    block_stop_signals,
    open_listeners,
)

LOGGER: Final = logging.getLogger("leased.server")

EXIT_CONFIG: Final = 1


def configure_logging(level: str) -> None:
    """Log to stderr; without timestamps under systemd, which adds its own."""
    handler = logging.StreamHandler(sys.stderr)
    if os.environ.get("JOURNAL_STREAM"):
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
        )
    root = logging.getLogger("leased")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(
        prog="leased",
        description=(
            "Lease-management daemon speaking ISC Kea's lease commands on a Unix "
            "control socket. The configuration file has Kea's shape (a Dhcp4 "
            "and/or a Dhcp6 map); one process serves both families."
        ),
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
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error", "critical"],
        help="least severe messages to log (default: info)",
    )
    return parser.parse_args(argv)


def load_config(path: str) -> config_module.Config:
    """Load a configuration or exit with its error."""
    try:
        return config_module.load(path)
    except ConfigError as error:
        print(f"leased: configuration error: {error}", file=sys.stderr)
        sys.exit(EXIT_CONFIG)


def main(argv: list[str] | None = None) -> int:
    """Run the daemon or check a configuration; return the exit status."""
    args = parse_args(argv)
    configure_logging(args.log_level)
    if args.test:
        loaded = load_config(args.test)
        print(f"leased: {args.test}: configuration is valid")
        if loaded.ignored:
            print(f"leased: keys leased does not use: {', '.join(loaded.ignored)}")
        return 0

    loaded = load_config(args.run)
    if not loaded.sockets:
        print(
            "leased: configuration error: no unix control-socket is configured in Dhcp4 or Dhcp6",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    if loaded.ignored:
        LOGGER.info("configuration keys not used keys=%s", ",".join(loaded.ignored))
    # Limitation: lease files are not written yet, so every lease lives in
    # memory only and is gone when the daemon stops, whatever "persist" says.
    # The lease file journal (Kea's memfile CSV) lifts this.
    for family in (loaded.dhcp4, loaded.dhcp6):
        if family is not None and family.lease_database.persist:
            LOGGER.warning(
                "lease files are not written by this version, leases are kept in memory only family=%s",
                f"v{family.version}",
            )
    state = State(loaded)
    engine = Engine(state, build_registry())
    server = Server(engine, limits=Limits(**loaded.limits))
    block_stop_signals()
    try:
        with open_listeners(loaded.sockets) as listeners:
            trio.run(server.serve, listeners)
    except SocketInUse as error:
        LOGGER.error("cannot start reason=%s", error)
        return EXIT_CONFIG
    except OSError as error:
        LOGGER.error("cannot open control socket reason=%s", error)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        pass
    LOGGER.info("shutdown complete")
    return state.shutdown_requested or 0


if __name__ == "__main__":
    sys.exit(main())
