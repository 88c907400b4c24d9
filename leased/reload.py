"""Re-reading the configuration while the daemon runs (SIGHUP, config-reload).

A reload reads the configuration file the daemon was started with, checks
all of it, and only then switches to it: subnets, lifetimes, DNS settings
(``dhcp-ddns`` and ``ddns-*``; requests already queued move to a changed
server, or are dropped when updates are turned off, see :mod:`leased.ddns`),
the compaction interval, durable writes and the connection limits take
effect for the next command; no lease and no connection is dropped.  A
file that does not load, or that changes what only a restart can change, is
refused with its error and the running configuration stays.

Only a restart changes: the lease files (``persist``, ``name``) and the
control sockets.  Leases in subnets the new configuration no longer has
stay in the table (as in Kea, which keeps such leases too).
"""

from __future__ import annotations

import logging
import time
from typing import Final

import attrs

from leased import config as config_module
from leased.ddns import DdnsSetupError
from leased.engine import State
from leased.errors import RESULT_ERROR, RESULT_SUCCESS, ConfigError
from leased.server import Limits, Server
from leased.storage import Storage, StorageSetupError
from leased.systemd import Notifier

LOGGER: Final = logging.getLogger("leased.server")


@attrs.define
class Reloader:
    """Switches the running daemon to its re-read configuration file."""

    state: State
    storage: Storage
    server: Server
    notifier: Notifier

    def __call__(self) -> tuple[int, str]:
        """Reload; return the result and text of Kea's config-reload."""
        self.notifier.reloading()
        try:
            outcome = self._reload()
        finally:
            self.notifier.ready(self.server.status_line())
        return outcome

    def _reload(self) -> tuple[int, str]:
        path = self.state.config.path
        if path is None:
            return RESULT_ERROR, "Config reload failed: no configuration file"
        try:
            new = config_module.load(path)
            self.storage.check_reload(new)
            limits = Limits(**new.limits)
            # Last: a new DNS update sender socket, if the addresses changed.
            dns_plan = self.state.ddns.prepare(new) if self.state.ddns else None
        except (ConfigError, StorageSetupError, DdnsSetupError) as error:
            LOGGER.error("configuration reload refused reason=%s", error)
            return RESULT_ERROR, f"Config reload failed: {error}"
        old = self.state.config
        if new.sockets != old.sockets:
            LOGGER.warning(
                "control socket changes take effect at the next start sockets=%s",
                ",".join(socket.path for socket in new.sockets),
            )
        self.storage.reconfigure(new)
        if dns_plan is not None:
            self.state.ddns.switch(new, dns_plan)
        self.server.limits = limits
        self.state.config = new
        self.state.reloaded = time.monotonic()
        if self.state.statistics is not None:
            # Subnets and pools may have changed: recount, as Kea does.
            self.state.statistics.configure(new, self.state.tables)
        if new.ignored:
            LOGGER.info("configuration keys not used keys=%s", ",".join(new.ignored))
        LOGGER.info("configuration reloaded path=%s", path)
        return RESULT_SUCCESS, "Configuration successful."
