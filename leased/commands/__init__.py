"""The registry: Kea's command names mapped to their handlers.

Each name maps to exactly one handler; v4 and v6 variants share a body and
get the family bound here.  A command missing from the registry answers
result 2 ("not supported"), as Kea does for commands it does not know.
"""

from __future__ import annotations

from functools import partial

from leased.commands import control, ddns, files, leases, reclaim, statistics
from leased.engine import Handler
from leased.model import V4, V6


def build_registry() -> dict[str, Handler]:
    """Every command leased answers, by Kea's name."""
    registry: dict[str, Handler] = {}
    for family in (V4, V6):
        v = family.version
        registry[f"lease{v}-add"] = partial(leases.lease_add, family)
        registry[f"lease{v}-update"] = partial(leases.lease_update, family)
        registry[f"lease{v}-get"] = partial(leases.lease_get, family)
        registry[f"lease{v}-del"] = partial(leases.lease_del, family)
        registry[f"lease{v}-get-all"] = partial(leases.lease_get_all, family)
        registry[f"lease{v}-get-page"] = partial(leases.lease_get_page, family)
        registry[f"lease{v}-get-by-hostname"] = partial(
            leases.lease_get_by_hostname, family
        )
        registry[f"lease{v}-get-by-state"] = partial(leases.lease_get_by_state, family)
        registry[f"lease{v}-wipe"] = partial(leases.lease_wipe, family)
        registry[f"lease{v}-write"] = partial(files.lease_write, family)
        registry[f"lease{v}-resend-ddns"] = partial(ddns.lease_resend_ddns, family)
    registry["lease4-get-by-hw-address"] = partial(leases.lease4_get_by_hw_address, V4)
    registry["lease4-get-by-client-id"] = partial(leases.lease4_get_by_client_id, V4)
    registry["lease6-get-by-duid"] = partial(leases.lease6_get_by_duid, V6)
    registry["lease6-get-by-hw-address"] = partial(leases.lease6_get_by_hw_address, V6)
    registry["lease6-bulk-apply"] = partial(leases.lease6_bulk_apply, V6)

    registry["kea-lfc-start"] = files.kea_lfc_start
    registry["leases-reclaim"] = reclaim.leases_reclaim
    registry.update(statistics.HANDLERS)

    registry["version-get"] = control.version_get
    registry["status-get"] = control.status_get
    registry["config-get"] = control.config_get
    registry["config-reload"] = control.config_reload
    registry["config-test"] = control.config_test
    registry["shutdown"] = control.shutdown
    registry["list-commands"] = partial(
        control.list_commands, [*registry, "list-commands"]
    )
    return registry
