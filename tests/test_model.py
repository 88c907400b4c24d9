"""Lease records and the text forms of their fields (leased.model)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from leased.model import (
    Lease4,
    Lease6,
    Terms4,
    build4,
    decode_separated_hex,
)


def groups_one_by_one(text: str) -> bytes | None:
    """Kea's reading of ``aa:b:cc``, group by group; None where it fails."""
    groups = text.split(":")
    out = bytearray()
    for group in groups:
        if (not group and len(groups) > 1) or len(group) > 2:
            return None
        if any(char not in "0123456789abcdefABCDEF" for char in group):
            return None
        if group:
            out.append(int(group, 16))
    return bytes(out)


@settings(max_examples=3000)
@given(st.text(alphabet=st.sampled_from("0123456789aAfG: \t\n\u0660"), max_size=12))
def test_model_hex_fast_way_reads_as_the_groups_do(text: str) -> None:
    """The one-call way for colon-joined pairs takes exactly what the group
    by group reading takes, and gives the same bytes."""
    try:
        decoded: bytes | None = decode_separated_hex(text, ":")
    except ValueError:
        decoded = None

    assert decoded == groups_one_by_one(text)


def test_model_leases_with_equal_terms_share_one_record() -> None:
    """Two leases with the same lifetimes, subnet and flags share their terms
    record; a changed field gives a new one and the old lease is unchanged."""
    first = Lease4(
        address=1, hw_address=b"\x01", client_id=None, valid_lft=60, cltt=5, subnet_id=2
    )
    second = Lease4(
        address=2, hw_address=b"\x02", client_id=None, valid_lft=60, cltt=9, subnet_id=2
    )

    changed = second.replace(state=1, fqdn_fwd=1)

    assert first.terms is second.terms
    assert changed.terms is not second.terms
    assert (changed.state, changed.fqdn_fwd, second.state) == (1, True, 0)
    assert changed.fqdn_fwd is True  # a boolean, not the 1 it was given
    assert changed == second.replace(state=1, fqdn_fwd=True)
    assert changed != second


def test_model_lease_with_user_context_keeps_its_own_record() -> None:
    """A record holding a user context (a dict) is never shared."""
    context = {"a": 1}
    one = Lease6(
        address=1,
        type=0,
        prefix_len=128,
        duid=b"\x01",
        iaid=1,
        valid_lft=1,
        preferred_lft=1,
        cltt=1,
        subnet_id=1,
        user_context=context,
    )

    other = one.replace(address=2)

    assert other.user_context == context
    assert other.terms is not one.terms
    assert other.fields() == one.fields() | {"address": 2}


def test_model_build4_makes_the_leases_the_constructor_makes() -> None:
    """Leases built from columns equal leases built one by one."""
    terms = Terms4(60, 2, False, True, 0, None, 0)

    built = build4(
        [1, 2], [b"\x01", b""], [None, b"\x01\x02"], [5, 6], ["a.", ""], [terms] * 2
    )

    assert built == [
        Lease4(
            address=1,
            hw_address=b"\x01",
            client_id=None,
            valid_lft=60,
            cltt=5,
            subnet_id=2,
            fqdn_rev=True,
            hostname="a.",
        ),
        Lease4(
            address=2,
            hw_address=b"",
            client_id=b"\x01\x02",
            valid_lft=60,
            cltt=6,
            subnet_id=2,
            fqdn_rev=True,
        ),
    ]
