"""DNS updates from commands: lease4/6-resend-ddns and del's ``update-ddns``.

``lease4-resend-ddns`` and ``lease6-resend-ddns`` ask kea-dhcp-ddns to add
(again) the DNS entries of a stored lease; ``lease4-del`` and ``lease6-del``
with ``update-ddns`` true ask it to remove the deleted lease's entries.  The
handlers build the NameChangeRequest (:mod:`leased.ncr`) and hand it back in
the :class:`~leased.engine.Outcome`; the engine queues it once the command's
changes are committed, and the sender (:mod:`leased.ddns`) sends it.

Checks, texts and result codes are Kea 2.2's.  Unlike Kea 2.2, a
resend-ddns whose request cannot be built (a hostname that is no DNS name,
an IPv4 lease without identifier) or cannot be queued (the queue is full)
answers an error instead of claiming an NCR it did not send, and one sent
without ``arguments`` answers an error where Kea 2.2 crashes.

Logger: ``leased.ddns`` (requests that cannot be built).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Final

from leased import ncr
from leased.config import Config
from leased.engine import ABSENT, DnsRequest, Outcome, State, answer
from leased.errors import RESULT_EMPTY, RESULT_SUCCESS, CommandError
from leased.model import TYPE_NA, Family, Lease, Lease6, parse_ip
from leased.ncr import NameChangeRequest, NcrError

LOGGER: Final = logging.getLogger("leased.ddns")


def dns_enabled(state: State, family: Family) -> bool:
    """Whether DNS updates are on for the family (``enable-updates``)."""
    return state.ddns is not None and bool(state.ddns.enabled(family))


def build_request(
    config: Config, change_type: int, family: Family, lease: Lease
) -> NameChangeRequest:
    """Build a lease's request with its subnet's DDNS parameters.

    Raises:
        NcrError: The request cannot be built; the text says why.
    """
    family_config = config.family(family.version)
    settings = family_config.ddns_settings(lease.subnet_id) if family_config else None
    return ncr.build(change_type, family, lease, settings)


def removal(state: State, family: Family, lease: Lease) -> Sequence[DnsRequest]:
    """The request removing a deleted lease's DNS entries, if it needs one.

    Nothing when DNS updates are off or the lease has no entries (no error,
    as in Kea); a request that cannot be built is logged and left out.
    """
    if not dns_enabled(state, family) or not ncr.qualifies(lease):
        return ()
    try:
        request = build_request(state.config, ncr.CHG_REMOVE, family, lease)
    except NcrError as error:
        LOGGER.warning(
            "dns update request not built family=%s change=%s address=%s reason=%s",
            family.word,
            "remove",
            family.format_ip(lease.address),
            error,
        )
        return ()
    return (DnsRequest(family, request),)


# lease4-resend-ddns, lease6-resend-ddns


def _address(family: Family, args: Any) -> int:
    """Read ``ip-address`` with Kea's texts."""
    if args is ABSENT:
        # Unlike Kea 2.2, which crashes here.
        raise CommandError("no parameters specified for the command")
    if not isinstance(args, dict):
        raise CommandError("get(string) called on a non-map Element")
    if "ip-address" not in args:
        raise CommandError("'ip-address' parameter is missing.")
    text = args["ip-address"]
    if not isinstance(text, str):
        raise CommandError("'ip-address' is not a string.")
    try:
        version, address = parse_ip(text)
    except ValueError:
        raise CommandError(f"'{text}' is not a valid IP address.") from None
    if version != family.version:
        raise CommandError(f"Invalid {family.word} address specified: {text}")
    return address


def lease_resend_ddns(family: Family, state: State, args: Any) -> Outcome:
    """Queue the request that adds a stored lease's DNS entries."""
    address = _address(family, args)
    where = family.format_ip(address)
    if not dns_enabled(state, family):
        raise CommandError("DDNS updating is not enabled")

    # IPv6 looks at addresses (IA_NA) only, as Kea does.
    lease = state.table(family).get(address)
    if isinstance(lease, Lease6) and lease.type != TYPE_NA:
        lease = None
    if lease is None:
        return Outcome(answer(RESULT_EMPTY, f"No lease found for: {where}"))
    if not lease.hostname:
        raise CommandError(f"Lease for: {where}, has no hostname, nothing to update")
    if not (lease.fqdn_fwd or lease.fqdn_rev):
        raise CommandError(
            f"Neither forward nor reverse updates enabled for lease for: {where}"
        )

    what = f"for: {where}, hostname: {lease.hostname}"
    try:
        request = build_request(state.config, ncr.CHG_ADD, family, lease)
    except NcrError as error:
        raise CommandError(f"NCR not generated {what}: {error}") from None
    if not state.ddns.has_room(family):
        raise CommandError(f"NCR not queued {what}: the DNS update queue is full")
    return Outcome(
        answer(RESULT_SUCCESS, f"NCR generated {what}"),
        dns=(DnsRequest(family, request),),
    )
