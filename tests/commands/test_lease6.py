"""IPv6 lease commands (addresses and prefixes) through the engine."""

from __future__ import annotations

from typing import Any

import pytest

from leased.engine import Engine
from tests.conftest import NOW, run

DUID = "42:42:42:42:42:42:42:42"


def add(engine: Engine, address: str, **fields: Any) -> dict[str, Any]:
    arguments = {"ip-address": address, "duid": DUID, "iaid": 42, **fields}
    return run(engine, "lease6-add", arguments)


def prefix(engine: Engine, address: str, length: int, **fields: Any) -> dict[str, Any]:
    return add(
        engine,
        address,
        type="IA_PD",
        **{"prefix-len": length, "subnet-id": 66, **fields},
    )


def test_lease6_add_address_and_get(engine: Engine) -> None:
    assert add(engine, "2001:db8:1::1") == {
        "result": 0,
        "text": "Lease for address 2001:db8:1::1, subnet-id 66 added.",
    }

    found = run(engine, "lease6-get", {"ip-address": "2001:db8:1::1"})

    # Without "preferred-lft" Kea gives the subnet's valid lifetime (4).
    assert found == {
        "arguments": {
            "cltt": NOW,
            "duid": DUID,
            "fqdn-fwd": False,
            "fqdn-rev": False,
            "hostname": "",
            "iaid": 42,
            "ip-address": "2001:db8:1::1",
            "preferred-lft": 4,
            "state": 0,
            "subnet-id": 66,
            "type": "IA_NA",
            "valid-lft": 4,
        },
        "result": 0,
        "text": "IPv6 lease found.",
    }


def test_lease6_add_prefix_needs_type_to_be_found(engine: Engine) -> None:
    assert prefix(engine, "2001:db8:abcd::", 48) == {
        "result": 0,
        "text": "Lease for prefix 2001:db8:abcd::/48, subnet-id 66 added.",
    }

    plain = run(engine, "lease6-get", {"ip-address": "2001:db8:abcd::"})
    typed = run(
        engine, "lease6-get", {"ip-address": "2001:db8:abcd::", "type": "IA_PD"}
    )

    assert plain == {"result": 3, "text": "Lease not found."}
    assert typed["arguments"]["prefix-len"] == 48
    assert typed["arguments"]["type"] == "IA_PD"


def test_lease6_prefix_on_a_leased_address_is_refused(engine: Engine) -> None:
    """Unlike Kea 2.2, which answers "added" and stores nothing."""
    add(engine, "2001:db8:1::5")

    assert prefix(engine, "2001:db8:1::5", 64) == {
        "result": 1,
        "text": "IPv6 lease already exists.",
    }
    assert (
        run(engine, "lease6-get", {"ip-address": "2001:db8:1::5"})["arguments"]["type"]
        == "IA_NA"
    )


@pytest.mark.parametrize(
    ("arguments", "text"),
    [
        ({"ip-address": "192.0.2.1"}, "Non-IPv6 address specified: 192.0.2.1"),
        ({"ip-address": "2001:db8:1::1"}, "missing parameter 'duid'"),
        ({"ip-address": "2001:db8:1::1", "duid": ""}, "Empty DUIDs are not allowed"),
        (
            {"ip-address": "2001:db8:1::1", "duid": "zz"},
            "'zz' is not a valid string of hexadecimal digits",
        ),
        (
            {"ip-address": "2001:db8:1::1", "duid": DUID, "type": "XX"},
            "Incorrect lease type: XX, the only supported values are: na, ta and pd",
        ),
        (
            {"ip-address": "2001:db8:1::1", "duid": DUID, "type": "IA_PD"},
            "missing parameter 'prefix-len'",
        ),
        (
            {
                "ip-address": "2001:db8:1::1",
                "duid": DUID,
                "type": "IA_PD",
                "prefix-len": 64,
            },
            "Subnet-id is 0 or not specified. This is allowed for address leases only, not prefix leases.",
        ),
        (
            {"ip-address": "2001:db8:1::1", "duid": DUID, "subnet-id": 5},
            "Invalid subnet-id: No IPv6 subnet with subnet-id=5 currently configured.",
        ),
        (
            {"ip-address": "2001:db8:9::1", "duid": DUID, "subnet-id": 66},
            "The address 2001:db8:9::1 does not belong to subnet 2001:db8:1::/48, subnet-id=66",
        ),
        ({"ip-address": "2001:db8:1::1", "duid": DUID}, "missing parameter 'iaid'"),
        (
            {"ip-address": "2001:db8:1::1", "duid": DUID, "iaid": -1},
            "out of range value (-1) specified for parameter 'iaid'",
        ),
        (
            {
                "ip-address": "2001:db8:1::1",
                "duid": DUID,
                "iaid": 1,
                "type": "IA_PD",
                "prefix-len": 64,
                "subnet-id": 66,
                "state": 1,
            },
            "Invalid declined state for PD prefix.",
        ),
        (
            {"ip-address": "2001:db8:1::1", "duid": "00", "iaid": 1},
            "Lease6: 2001:db8:1::1, state: default, has no DUID",
        ),
    ],
)
def test_lease6_add_refuses_bad_arguments(
    engine: Engine, arguments: Any, text: str
) -> None:
    assert run(engine, "lease6-add", arguments) == {"result": 1, "text": text}


def test_lease6_get_by_duid_iaid_and_conflict(engine: Engine) -> None:
    prefix(engine, "2001:db8:abcd::", 48, iaid=43)
    prefix(engine, "2001:db8:abce::", 48, iaid=43)
    add(engine, "2001:db8:1::1")

    by_duid = run(
        engine,
        "lease6-get",
        {"subnet-id": 66, "identifier-type": "duid", "identifier": DUID, "iaid": 42},
    )
    many = run(
        engine,
        "lease6-get",
        {
            "subnet-id": 66,
            "identifier-type": "duid",
            "identifier": DUID,
            "iaid": 43,
            "type": "IA_PD",
        },
    )
    by_hw = run(
        engine,
        "lease6-get",
        {"subnet-id": 66, "identifier-type": "hw-address", "identifier": "01:02"},
    )

    assert by_duid["arguments"]["ip-address"] == "2001:db8:1::1"
    assert many == {
        "result": 1,
        "text": f"More than one lease found for type 2, duid {DUID}, iaid 43 and subnet-id 66",
    }
    assert by_hw == {"result": 1, "text": "Query by hw-address is not allowed in v6."}


def test_lease6_get_page_orders_addresses_and_prefixes_numerically(
    engine: Engine,
) -> None:
    add(engine, "2001:db8:2::1", **{"subnet-id": 99})
    prefix(engine, "2001:db8:1:8000::", 64)
    add(engine, "2001:db8:1::10")

    page = run(engine, "lease6-get-page", {"from": "start", "limit": 10})
    wrong = run(engine, "lease6-get-page", {"from": "192.0.2.1", "limit": 10})

    assert [x["ip-address"] for x in page["arguments"]["leases"]] == [
        "2001:db8:1::10",
        "2001:db8:1:8000::",
        "2001:db8:2::1",
    ]
    assert wrong == {
        "result": 1,
        "text": "'from' parameter value 192.0.2.1 is not an IPv6 address",
    }


def test_lease6_get_by_duid_hostname_hw_address(engine: Engine) -> None:
    add(
        engine,
        "2001:db8:1::1",
        hostname="H.example.",
        **{"hw-address": "1a:1b:1c:1d:1e:1f"},
    )
    add(engine, "2001:db8:1::2")

    by_duid = run(engine, "lease6-get-by-duid", {"duid": DUID})
    by_name = run(engine, "lease6-get-by-hostname", {"hostname": "h.example."})
    by_hw = run(engine, "lease6-get-by-hw-address", {"hw-address": "1a:1b:1c:1d:1e:1f"})
    empty_hw = run(engine, "lease6-get-by-hw-address", {"hw-address": ""})
    bad_hw = run(engine, "lease6-get-by-hw-address", {"hw-address": "zz"})

    assert by_duid["text"] == "2 IPv6 lease(s) found."
    assert by_name["arguments"]["leases"][0]["hw-address"] == "1a:1b:1c:1d:1e:1f"
    assert by_hw["text"] == "1 IPv6 lease(s) found."
    assert empty_hw == {"result": 1, "text": "'hw-address' parameter must not be empty"}
    assert bad_hw == {
        "result": 1,
        "text": "bad 'hw-address' parameter: 'z' is not a valid hexadecimal digit in decoded string 'zz'",
    }


def test_lease6_del_needs_type_for_prefixes(engine: Engine) -> None:
    prefix(engine, "2001:db8:abcd::", 48)

    untyped = run(engine, "lease6-del", {"ip-address": "2001:db8:abcd::"})
    typed = run(
        engine, "lease6-del", {"ip-address": "2001:db8:abcd::", "type": "IA_PD"}
    )
    by_client = run(
        engine,
        "lease6-del",
        {"subnet-id": 66, "identifier-type": "client-id", "identifier": "01:02"},
    )

    assert untyped == {"result": 3, "text": "IPv6 lease not found."}
    assert typed == {"result": 0, "text": "IPv6 lease deleted."}
    assert by_client == {"result": 1, "text": "Unknown query type: 3"}


def test_lease6_update_and_wipe(engine: Engine) -> None:
    add(engine, "2001:db8:1::1")
    add(engine, "2001:db8:2::1")

    updated = run(
        engine,
        "lease6-update",
        {"ip-address": "2001:db8:1::1", "duid": "01:02", "iaid": 7},
    )
    wiped = run(engine, "lease6-wipe")

    assert updated == {"result": 0, "text": "IPv6 lease updated."}
    assert wiped == {
        "result": 0,
        "text": "Deleted 2 IPv6 lease(s) from subnet(s) 66 99",
    }


def test_lease6_bulk_apply_deletes_then_adds_and_reports_failures(
    engine: Engine,
) -> None:
    add(engine, "2001:db8:1::1")
    add(engine, "2001:db8:1::2")

    answer = run(
        engine,
        "lease6-bulk-apply",
        {
            "deleted-leases": [
                {"ip-address": "2001:db8:1::1"},
                {"ip-address": "2001:db8:1::78"},
                {
                    "subnet-id": 66,
                    "identifier-type": "duid",
                    "identifier": "09:09",
                    "iaid": 1,
                },
            ],
            "leases": [
                {"ip-address": "2001:db8:1::1", "duid": "01:01", "iaid": 1},
                {"ip-address": "2001:db8:1::2", "duid": "02:02", "iaid": 2},
                {
                    "ip-address": "2001:db8:1::2",
                    "duid": "02:02",
                    "iaid": 2,
                    "type": "IA_PD",
                    "prefix-len": 64,
                    "subnet-id": 66,
                },
            ],
        },
    )

    assert answer == {
        "arguments": {
            "failed-deleted-leases": [
                {
                    "error-message": "lease not found",
                    "ip-address": "2001:db8:1::78",
                    "result": 3,
                    "type": "IA_NA",
                }
            ],
            "failed-leases": [
                {
                    "error-message": "IPv6 lease already exists.",
                    "ip-address": "2001:db8:1::2",
                    "result": 1,
                    "type": "IA_PD",
                }
            ],
        },
        "result": 0,
        "text": "Bulk apply of 3 IPv6 leases completed.",
    }
    assert (
        run(engine, "lease6-get", {"ip-address": "2001:db8:1::1"})["arguments"]["duid"]
        == "01:01"
    )
    assert (
        run(engine, "lease6-get", {"ip-address": "2001:db8:1::2"})["arguments"]["iaid"]
        == 2
    )


def test_lease6_bulk_apply_checks_everything_before_changing_anything(
    engine: Engine,
) -> None:
    answer = run(
        engine,
        "lease6-bulk-apply",
        {
            "leases": [
                {"ip-address": "2001:db8:1::1", "duid": DUID, "iaid": 1},
                {"ip-address": "bogus"},
            ]
        },
    )

    assert answer["result"] == 1
    assert run(engine, "lease6-get-all")["result"] == 3


@pytest.mark.parametrize(
    ("arguments", "text"),
    [
        (..., "Command arguments missing or a not a map."),
        ({}, "neither 'deleted-leases' nor 'leases' parameter specified"),
        ({"leases": {}}, "the 'leases' parameter must be a list"),
        ({"deleted-leases": 1}, "the 'deleted-leases' parameter must be a list"),
    ],
)
def test_lease6_bulk_apply_refuses_bad_arguments(
    engine: Engine, arguments: Any, text: str
) -> None:
    assert run(engine, "lease6-bulk-apply", arguments) == {"result": 1, "text": text}


def test_lease6_bulk_apply_nothing_done(engine: Engine) -> None:
    assert run(engine, "lease6-bulk-apply", {"leases": []}) == {
        "result": 3,
        "text": "Bulk apply of 0 IPv6 leases completed.",
    }
