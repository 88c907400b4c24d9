"""IPv4 lease commands through the engine, one test per outcome."""

from __future__ import annotations

from typing import Any

import pytest

from leased.engine import Engine
from tests.conftest import NOW, run

HW = "08:08:08:08:08:08"


def add(engine: Engine, address: str, **fields: Any) -> dict[str, Any]:
    return run(
        engine, "lease4-add", {"ip-address": address, "hw-address": HW, **fields}
    )


def test_lease4_add_selects_subnet_and_answers_kea_text(engine: Engine) -> None:
    assert add(engine, "192.0.3.7") == {
        "result": 0,
        "text": "Lease for address 192.0.3.7, subnet-id 88 added.",
    }

    found = run(engine, "lease4-get", {"ip-address": "192.0.3.7"})
    assert found == {
        "arguments": {
            "cltt": NOW,
            "fqdn-fwd": False,
            "fqdn-rev": False,
            "hostname": "",
            "hw-address": HW,
            "ip-address": "192.0.3.7",
            "state": 0,
            "subnet-id": 88,
            "valid-lft": 3,
        },
        "result": 0,
        "text": "IPv4 lease found.",
    }


def test_lease4_add_with_every_field(engine: Engine) -> None:
    add(
        engine,
        "192.0.2.9",
        **{
            "subnet-id": 44,
            "client-id": "0x0102AB",
            "valid-lft": 100,
            "expire": NOW + 50,
            "fqdn-fwd": True,
            "hostname": "Host.Example.ORG.",
            "state": 1,
            "user-context": {"b": 1},
            "comment": "hi",
        },
    )

    lease = run(engine, "lease4-get", {"ip-address": "192.0.2.9"})["arguments"]

    assert lease["client-id"] == "01:02:ab"
    assert lease["cltt"] == NOW - 50
    assert lease["hostname"] == "host.example.org."
    assert lease["state"] == 1
    assert lease["user-context"] == {"b": 1, "comment": "hi"}


@pytest.mark.parametrize(
    ("arguments", "text"),
    [
        (..., "no parameters specified for the command"),
        ({}, "missing parameter 'ip-address'"),
        ({"ip-address": 5}, "invalid type specified for parameter 'ip-address'"),
        (
            {"ip-address": "foo"},
            "Failed to convert 'foo' to address: Failed to convert string to address 'foo': Invalid argument",
        ),
        ({"ip-address": "2001:db8::1"}, "Non-IPv4 address specified: 2001:db8::1"),
        ({"ip-address": "192.0.2.1"}, "missing parameter 'hw-address'"),
        (
            {"ip-address": "192.0.2.1", "hw-address": "zz"},
            "'z' is not a valid hexadecimal digit in decoded string 'zz'",
        ),
        (
            {"ip-address": "192.0.2.1", "hw-address": "01::02"},
            "two consecutive separators (':') specified in a decoded string '01::02'",
        ),
        (
            {"ip-address": "192.0.2.1", "hw-address": "aabbcc"},
            "invalid format of the decoded string 'aabbcc'",
        ),
        (
            {"ip-address": "192.0.2.1", "hw-address": ":".join(["01"] * 21)},
            "address vector size exceeds MAX_HWADDR_LEN",
        ),
        (
            {"ip-address": "192.0.2.1", "hw-address": HW, "subnet-id": -1},
            "out of range value (-1) specified for parameter 'subnet-id'",
        ),
        (
            {"ip-address": "192.0.2.1", "hw-address": HW, "subnet-id": 123},
            "Invalid subnet-id: No IPv4 subnet with subnet-id=123 currently configured.",
        ),
        (
            {"ip-address": "192.0.5.204", "hw-address": HW, "subnet-id": 44},
            "The address 192.0.5.204 does not belong to subnet 192.0.2.0/24, subnet-id=44",
        ),
        (
            {"ip-address": "10.0.0.1", "hw-address": HW},
            "subnet-id not specified and failed to find a subnet for address 10.0.0.1",
        ),
        (
            {"ip-address": "192.0.2.1", "hw-address": HW, "client-id": "01"},
            "client-id is too short (1), at least 2 is required",
        ),
        (
            {"ip-address": "192.0.2.1", "hw-address": HW, "expire": 0},
            "expiration time must be positive for address 192.0.2.1",
        ),
        (
            {"ip-address": "192.0.2.1", "hw-address": HW, "expire": 2},
            "expiration time must be greater than valid lifetime for address 192.0.2.1",
        ),
        (
            {"ip-address": "192.0.2.1", "hw-address": HW, "fqdn-rev": True},
            "No hostname specified and either forward or reverse fqdn was set to true.",
        ),
        (
            {"ip-address": "192.0.2.1", "hw-address": HW, "fqdn-rev": 1},
            "invalid type specified for parameter 'fqdn-rev'",
        ),
        (
            {"ip-address": "192.0.2.1", "hw-address": HW, "state": 256},
            "out of range value (256) specified for parameter 'state'",
        ),
        (
            {"ip-address": "192.0.2.1", "hw-address": HW, "state": 3},
            "Invalid state value: 3, supported values are: 0 (default), 1 (declined) and 2 (expired-reclaimed)",
        ),
        (
            {"ip-address": "192.0.2.1", "hw-address": HW, "user-context": "x"},
            "Invalid user context '\"x\"' is not a JSON map.",
        ),
        (
            {
                "ip-address": "192.0.2.1",
                "hw-address": HW,
                "user-context": {"comment": "a"},
                "comment": "b",
            },
            'Duplicated comment entry \'"b"\' in user context \'{ "comment": "a" }\'',
        ),
        (
            {"ip-address": "192.0.2.1", "hw-address": ""},
            "Lease4: 192.0.2.1, state: default has neither hardware address or client id",
        ),
        ("x", "get(string) called on a non-map Element"),
    ],
)
def test_lease4_add_refuses_bad_arguments(
    engine: Engine, arguments: Any, text: str
) -> None:
    assert run(engine, "lease4-add", arguments) == {"result": 1, "text": text}
    assert run(engine, "lease4-get-all")["result"] == 3


def test_lease4_add_refuses_a_taken_address(engine: Engine) -> None:
    add(engine, "192.0.2.1")

    assert add(engine, "192.0.2.1") == {
        "result": 1,
        "text": "IPv4 lease already exists.",
    }


def test_lease4_add_declined_lease_needs_no_identifier(engine: Engine) -> None:
    answer = run(
        engine, "lease4-add", {"ip-address": "192.0.2.1", "hw-address": "", "state": 1}
    )

    assert answer["result"] == 0


@pytest.mark.parametrize(
    ("arguments", "text"),
    [
        (..., "Parameters missing or are not a map."),
        ({"ip-address": 1}, "'ip-address' is not a string."),
        (
            {"ip-address": "bogus"},
            "Failed to convert string to address 'bogus': Invalid argument",
        ),
        ({"ip-address": "2001::1"}, "Invalid IPv4 address specified: 2001::1"),
        (
            {"update-ddns": 1, "ip-address": "192.0.2.1"},
            "'update-ddns' is not a boolean",
        ),
        (
            {"type": "X", "ip-address": "192.0.2.1"},
            "Invalid lease type specified: X, only supported values are: IA_NA, IA_TA, IA_PD and V4",
        ),
        (
            {"identifier-type": "hw-address", "identifier": HW},
            "Mandatory 'subnet-id' parameter missing.",
        ),
        ({"subnet-id": "44"}, "'subnet-id' parameter is not integer."),
        (
            {"subnet-id": 44},
            "No 'ip-address' provided and 'identifier-type' is either missing or not a string.",
        ),
        (
            {"subnet-id": 44, "identifier-type": "hw-address"},
            "No 'ip-address' provided and 'identifier' is either missing or not a string.",
        ),
        (
            {"subnet-id": 44, "identifier-type": "foo", "identifier": "x"},
            "Incorrect identifier type: foo, the only supported values are: address, hw-address, duid",
        ),
        (
            {"subnet-id": 44, "identifier-type": "duid", "identifier": "01:02"},
            "Query by duid is not allowed in v4.",
        ),
    ],
)
def test_lease4_get_refuses_bad_arguments(
    engine: Engine, arguments: Any, text: str
) -> None:
    assert run(engine, "lease4-get", arguments) == {"result": 1, "text": text}


def test_lease4_get_by_identifier_and_subnet(engine: Engine) -> None:
    add(engine, "192.0.2.1", **{"client-id": "01:02:03"})
    add(engine, "192.0.3.1")

    by_hw = run(
        engine,
        "lease4-get",
        {"subnet-id": 88, "identifier-type": "hw-address", "identifier": HW},
    )
    by_client = run(
        engine,
        "lease4-get",
        {"subnet-id": 44, "identifier-type": "client-id", "identifier": "010203"},
    )
    missing = run(
        engine,
        "lease4-get",
        {"subnet-id": 44, "identifier-type": "client-id", "identifier": "0102"},
    )

    assert by_hw["arguments"]["ip-address"] == "192.0.3.1"
    assert by_client["arguments"]["ip-address"] == "192.0.2.1"
    assert missing == {"result": 3, "text": "Lease not found."}


def test_lease4_get_all_in_address_order_and_by_subnet(engine: Engine) -> None:
    for address in ("192.0.3.2", "192.0.2.9", "192.0.3.1", "192.0.2.1"):
        add(engine, address)

    everything = run(engine, "lease4-get-all")
    listed = run(engine, "lease4-get-all", {"subnets": [88, 44, 77]})

    assert everything["text"] == "4 IPv4 lease(s) found."
    assert [x["ip-address"] for x in everything["arguments"]["leases"]] == [
        "192.0.2.1",
        "192.0.2.9",
        "192.0.3.1",
        "192.0.3.2",
    ]
    assert [x["ip-address"] for x in listed["arguments"]["leases"]] == [
        "192.0.3.2",
        "192.0.3.1",
        "192.0.2.9",
        "192.0.2.1",
    ]


@pytest.mark.parametrize(
    ("arguments", "text"),
    [
        ({}, "'subnets' parameter not specified"),
        ({"subnets": 1}, "'subnets' parameter must be a list"),
        ({"subnets": ["1"]}, "listed subnet identifiers must be numbers"),
    ],
)
def test_lease4_get_all_refuses_bad_arguments(
    engine: Engine, arguments: Any, text: str
) -> None:
    assert run(engine, "lease4-get-all", arguments) == {"result": 1, "text": text}


def test_lease4_get_all_empty_answers_3_with_empty_list(engine: Engine) -> None:
    assert run(engine, "lease4-get-all") == {
        "arguments": {"leases": []},
        "result": 3,
        "text": "0 IPv4 lease(s) found.",
    }


def test_lease4_get_page_walks_all_leases(engine: Engine) -> None:
    for last in range(1, 8):
        add(engine, f"192.0.2.{last}")

    first = run(engine, "lease4-get-page", {"from": "start", "limit": 3})
    rest = run(engine, "lease4-get-page", {"from": "192.0.2.3", "limit": 10})
    after = run(engine, "lease4-get-page", {"from": "192.0.2.7", "limit": 10})

    assert first["text"] == "3 IPv4 lease(s) found."
    assert first["arguments"]["count"] == 3
    assert [x["ip-address"] for x in rest["arguments"]["leases"]] == [
        f"192.0.2.{n}" for n in range(4, 8)
    ]
    assert after == {
        "arguments": {"count": 0, "leases": []},
        "result": 3,
        "text": "0 IPv4 lease(s) found.",
    }


@pytest.mark.parametrize(
    ("arguments", "text"),
    [
        (..., "no parameters specified for the lease4-get-page command"),
        ({"limit": 1}, "'from' parameter not specified"),
        ({"from": 1, "limit": 1}, "'from' parameter must be a string"),
        (
            {"from": "START", "limit": 1},
            "'from' parameter value is neither 'start' keyword nor a valid IPv4 address",
        ),
        (
            {"from": "2001::", "limit": 1},
            "'from' parameter value 2001:: is not an IPv4 address",
        ),
        ({"from": "start"}, "'limit' parameter not specified"),
        ({"from": "start", "limit": "1"}, "'limit' parameter must be a number"),
        ({"from": "start", "limit": 0}, "page size of retrieved leases must not be 0"),
        (
            {"from": "start", "limit": -1},
            "page size of retrieved leases must not be greater than 4294967295",
        ),
    ],
)
def test_lease4_get_page_refuses_bad_arguments(
    engine: Engine, arguments: Any, text: str
) -> None:
    assert run(engine, "lease4-get-page", arguments) == {"result": 1, "text": text}


def test_lease4_get_by_hw_address_client_id_hostname(engine: Engine) -> None:
    add(engine, "192.0.3.1", **{"client-id": "aa:bb", "hostname": "X.example."})
    add(engine, "192.0.2.1", **{"client-id": "aa:bb"})

    by_hw = run(engine, "lease4-get-by-hw-address", {"hw-address": HW})
    by_client = run(engine, "lease4-get-by-client-id", {"client-id": "aabb"})
    by_name = run(engine, "lease4-get-by-hostname", {"hostname": "x.EXAMPLE."})
    no_dot = run(engine, "lease4-get-by-hostname", {"hostname": "x.example"})

    # Ordered by subnet id, as Kea's identifier indexes are.
    assert [x["subnet-id"] for x in by_hw["arguments"]["leases"]] == [44, 88]
    assert by_client["text"] == "2 IPv4 lease(s) found."
    assert [x["ip-address"] for x in by_name["arguments"]["leases"]] == ["192.0.3.1"]
    assert no_dot["result"] == 3


@pytest.mark.parametrize(
    ("command", "arguments", "text"),
    [
        ("lease4-get-by-hw-address", ..., "Command arguments missing or a not a map."),
        ("lease4-get-by-hw-address", {}, "'hw-address' parameter not specified"),
        (
            "lease4-get-by-hw-address",
            {"hw-address": 1},
            "'hw-address' parameter must be a string",
        ),
        ("lease4-get-by-client-id", {}, "'client-id' parameter not specified"),
        ("lease4-get-by-hostname", {"hostname": ""}, "'hostname' parameter is empty"),
        ("lease4-get-by-state", {}, "'state' parameter not specified"),
        (
            "lease4-get-by-state",
            {"state": "foobar"},
            "'state' parameter value (foobar) is not recognized",
        ),
        ("lease4-get-by-state", {"state": ""}, "'state' parameter is empty"),
        (
            "lease4-get-by-state",
            {"state": 1.5},
            "'state' parameter must be a number or a string",
        ),
        (
            "lease4-get-by-state",
            {"state": 1, "subnet-id": "1"},
            "'subnet-id' parameter must be a number",
        ),
    ],
)
def test_lease4_get_by_refuses_bad_arguments(
    engine: Engine, command: str, arguments: Any, text: str
) -> None:
    assert run(engine, command, arguments) == {"result": 1, "text": text}


def test_lease4_get_by_state(engine: Engine) -> None:
    add(engine, "192.0.2.1", state=1)
    add(engine, "192.0.3.1", state=1)
    add(engine, "192.0.3.2")

    declined = run(engine, "lease4-get-by-state", {"state": "declined"})
    in_subnet = run(engine, "lease4-get-by-state", {"state": 0, "subnet-id": 88})
    odd = run(engine, "lease4-get-by-state", {"state": 7})

    assert declined["text"] == "2 IPv4 lease(s) found with state declined (1)."
    assert (
        in_subnet["text"]
        == "1 IPv4 lease(s) found with state default (0) in subnet 88."
    )
    assert odd["text"] == "0 IPv4 lease(s) found with state 7."


def test_lease4_del_each_way(engine: Engine) -> None:
    add(engine, "192.0.2.1", **{"client-id": "01:02"})
    add(engine, "192.0.2.2")
    add(engine, "192.0.3.1")

    by_address = run(engine, "lease4-del", {"ip-address": "192.0.2.2"})
    by_hw = run(
        engine,
        "lease4-del",
        {"subnet-id": 88, "identifier-type": "hw-address", "identifier": HW},
    )
    by_client = run(
        engine,
        "lease4-del",
        {"subnet-id": 44, "identifier-type": "client-id", "identifier": "01:02"},
    )
    again = run(engine, "lease4-del", {"ip-address": "192.0.2.2"})
    by_duid = run(
        engine,
        "lease4-del",
        {"subnet-id": 44, "identifier-type": "duid", "identifier": "01:02"},
    )

    assert (
        by_address == by_hw == by_client == {"result": 0, "text": "IPv4 lease deleted."}
    )
    assert again == {"result": 3, "text": "IPv4 lease not found."}
    assert by_duid == {"result": 1, "text": "Delete by duid is not allowed in v4."}
    assert run(engine, "lease4-get-all")["result"] == 3


def test_lease4_update_replaces_whole_lease(engine: Engine) -> None:
    add(
        engine,
        "192.0.2.1",
        hostname="a.example.",
        **{"user-context": {"x": 1}, "valid-lft": 99},
    )

    updated = run(
        engine,
        "lease4-update",
        {"ip-address": "192.0.2.1", "hw-address": "01:01:01:01:01:01"},
    )
    lease = run(engine, "lease4-get", {"ip-address": "192.0.2.1"})["arguments"]

    assert updated == {"result": 0, "text": "IPv4 lease updated."}
    assert lease["hostname"] == ""
    assert "user-context" not in lease
    assert lease["valid-lft"] == 3
    assert (
        run(engine, "lease4-get-by-hostname", {"hostname": "a.example."})["result"] == 3
    )


def test_lease4_update_missing_lease(engine: Engine) -> None:
    refused = run(
        engine, "lease4-update", {"ip-address": "192.0.2.9", "hw-address": HW}
    )
    created = run(
        engine,
        "lease4-update",
        {"ip-address": "192.0.2.9", "hw-address": HW, "force-create": True},
    )
    bad_flag = run(
        engine,
        "lease4-update",
        {"ip-address": "192.0.2.9", "hw-address": HW, "force-create": 1},
    )

    assert refused == {
        "result": 1,
        "text": "failed to update the lease with address 192.0.2.9 either because the lease has been deleted or it has changed in the database, in both cases a retry might succeed",
    }
    assert created == {"result": 0, "text": "IPv4 lease added."}
    assert bad_flag == {
        "result": 1,
        "text": "invalid type specified for parameter 'force-create'",
    }
    assert run(engine, "lease4-update", ...) == {
        "result": 1,
        "text": "no parameters specified for lease4-update command",
    }


def test_lease4_wipe_one_subnet_and_all(engine: Engine) -> None:
    add(engine, "192.0.2.1")
    add(engine, "192.0.2.2", state=1)
    add(engine, "192.0.3.1")

    one = run(engine, "lease4-wipe", {"subnet-id": 44})
    empty = run(engine, "lease4-wipe", {"subnet-id": 44})
    everything = run(engine, "lease4-wipe")

    assert one == {"result": 0, "text": "Deleted 2 IPv4 lease(s) from subnet(s) 44"}
    assert empty == {"result": 3, "text": "Deleted 0 IPv4 lease(s) from subnet(s) 44"}
    assert everything == {
        "result": 0,
        "text": "Deleted 1 IPv4 lease(s) from subnet(s) 44 88",
    }
    assert run(engine, "lease4-wipe", {"subnet-id": "x"}) == {
        "result": 1,
        "text": "invalid type specified for parameter 'subnet-id'",
    }
