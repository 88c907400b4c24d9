"""Strategies and checks shared by the fuzz tests and the long fuzz run.

Requests are drawn from every command leased knows (and some it does not),
with arguments that mix plausible values (which reach deep into the
handlers) with wrong types, huge numbers, empty and enormous strings,
unicode and nested values.  :func:`check_answer` says what every answer
must look like whatever the request was.
"""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import strategies as st

from leased.commands import build_registry
from leased.engine import Engine
from leased.table import LeaseTable
from leased.wire import encode
from tests.test_table import check_indexes

COMMANDS = [*sorted(build_registry()), "", "lease4-frob", "LEASE4-GET", "x" * 300]

json_leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_leaves,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)

addresses = st.sampled_from(
    [
        "192.0.2.1",
        "192.0.2.2",
        "192.0.3.7",
        "10.0.0.1",
        "0.0.0.0",
        "255.255.255.255",
        "2001:db8:1::1",
        "2001:db8:1::2",
        "2001:db8:2::5",
        "2001:db8:1::",
        "::",
        "bogus",
        "",
        "192.0.2.1\x00",
        "1" * 5000,
    ]
)
identifiers = st.sampled_from(
    ["01:02:03:04:05:06", "1:2", "01:02", "00", "", "zz", ":", "0x0102", "01 02"]
) | st.binary(max_size=30).map(lambda data: data.hex(":"))
numbers = st.sampled_from(
    [
        0,
        1,
        44,
        66,
        88,
        99,
        128,
        255,
        256,
        2**32 - 1,
        2**32,
        -1,
        2**63,
        2**64,
        1.5,
        "1",
        True,
    ]
)
plausible: dict[str, st.SearchStrategy[Any]] = {
    "ip-address": addresses,
    "hw-address": identifiers,
    "client-id": identifiers,
    "duid": identifiers,
    "identifier": identifiers,
    "identifier-type": st.sampled_from(
        ["hw-address", "client-id", "duid", "address", "flex-id", ""]
    ),
    "subnet-id": numbers,
    "iaid": numbers,
    "type": st.sampled_from(["IA_NA", "IA_PD", "IA_TA", "IA_XX", "", "ia_na"]),
    "prefix-len": numbers,
    "valid-lft": numbers,
    "preferred-lft": numbers,
    "expire": numbers,
    "cltt": numbers,
    "hostname": st.text(max_size=30) | st.just("h" * 70000),
    "state": numbers | st.sampled_from(["default", "declined", "bogus"]),
    "fqdn-fwd": st.booleans(),
    "fqdn-rev": st.booleans(),
    "user-context": json_values,
    "comment": st.text(max_size=10),
    "force-create": st.booleans(),
    "update-ddns": st.booleans(),
    "subnets": st.lists(numbers, max_size=4),
    "from": st.sampled_from(["start", "START", "192.0.2.1", "2001:db8:1::1", ""]),
    "limit": numbers,
    "remove": st.booleans(),
    "name": st.text(max_size=20),
    "filename": st.text(max_size=20),
    "exit-value": numbers,
}


@st.composite
def lease_arguments(draw: st.DrawFn) -> dict[str, Any]:
    """A map of lease parameters, each plausible or anything at all."""
    keys = draw(st.lists(st.sampled_from(sorted(plausible)), max_size=8, unique=True))
    return {
        key: draw(plausible[key] if draw(st.integers(0, 4)) else json_values)
        for key in keys
    }


@st.composite
def requests(draw: st.DrawFn) -> Any:
    """A decoded request: usually a command map, sometimes anything."""
    if draw(st.integers(0, 20)) == 0:
        return draw(json_values)
    request: dict[str, Any] = {"command": draw(st.sampled_from(COMMANDS))}
    if draw(st.integers(0, 20)) == 0:
        request["command"] = draw(json_values)
    choice = draw(st.integers(0, 9))
    if choice == 0:
        pass  # no arguments
    elif choice == 1:
        request["arguments"] = draw(json_values)
    elif choice == 2:
        request["arguments"] = {
            "leases": draw(st.lists(lease_arguments(), max_size=3)),
            "deleted-leases": draw(st.lists(lease_arguments(), max_size=3)),
        }
    else:
        request["arguments"] = draw(lease_arguments())
    if draw(st.integers(0, 30)) == 0:
        request[draw(st.text(max_size=5))] = draw(json_values)
    return request


def check_answer(answer: Any) -> None:
    """What every answer must be: a well-formed map, no internal error."""
    assert isinstance(answer, dict), answer
    assert answer.get("result") in (0, 1, 2, 3, 4, 5), answer
    text = answer.get("text")
    assert text is None or isinstance(text, str), answer
    assert not (text or "").startswith("internal error"), answer
    orjson.loads(encode(answer))  # encodable, and the encoding is JSON


def check_tables(engine: Engine) -> None:
    """Every index of every table agrees with the address map."""
    for table in engine.state.tables.values():
        assert isinstance(table, LeaseTable)
        check_indexes(table, dict(table.by_address))
