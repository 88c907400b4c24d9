"""Handler of ``leases-reclaim``: reclaim expired leases now (Kea's texts).

It reaches the reclaimer (:mod:`leased.reclaim`) through
``State.reclaimer``; the changes go through the engine's commit path.
"""

from __future__ import annotations

from typing import Any

from leased.engine import ABSENT, Outcome, State, answer
from leased.errors import RESULT_SUCCESS, CommandError
from leased.model import V4, V6


def leases_reclaim(state: State, args: Any) -> Outcome:
    """Reclaim every expired lease of both families, without cycle limits.

    ``remove`` true removes the reclaimed leases instead of keeping them in
    state expired-reclaimed.
    """
    if args is ABSENT or not isinstance(args, dict) or "remove" not in args:
        raise CommandError("Missing mandatory 'remove' parameter.")
    remove = args["remove"]
    if not isinstance(remove, bool):
        raise CommandError("'remove' parameter expected to be a boolean.")
    if state.reclaimer is not None:
        for family in (V4, V6):
            if state.config.family(family.version) is not None:
                state.reclaimer.reclaim(family, remove=remove, limited=False)
    return Outcome(answer(RESULT_SUCCESS, "Reclamation of expired leases is complete."))
