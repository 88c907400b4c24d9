"""NameChangeRequests: DHCID, TTL, names and the wire form, against Kea's."""

from __future__ import annotations

import re
from typing import Any

import attrs
import pytest

from leased import ncr
from leased.model import TYPE_PD, V4, V6, Lease4, Lease6
from leased.ncr import DdnsSettings, NcrError

# The FQDN Kea's own DHCID unit tests use, in wire form.
MYHOST_WIRE = b"\x06myhost\x07example\x03com\x00"


def lease4(**kw: Any) -> Lease4:
    """An IPv4 lease with DNS entries (192.0.2.2), fields overridable."""
    fields: dict[str, Any] = {
        "address": 0xC0000202,
        "hw_address": b"",
        "client_id": bytes([0x56] * 8),
        "valid_lft": 1000,
        "cltt": 1999999000,
        "subnet_id": 44,
        "fqdn_fwd": True,
        "fqdn_rev": True,
        "hostname": "myhost.example.com.",
    }
    fields.update(kw)
    return Lease4(**fields)


def lease6(**kw: Any) -> Lease6:
    """An IPv6 lease with DNS entries (2001:db8:1::10), fields overridable."""
    fields: dict[str, Any] = {
        "address": (0x20010DB8 << 96) | (1 << 80) | 0x10,
        "type": 0,
        "prefix_len": 128,
        "duid": bytes([0x77] * 4),
        "iaid": 1,
        "valid_lft": 7200,
        "preferred_lft": 3600,
        "cltt": 2000000000,
        "subnet_id": 66,
        "fqdn_fwd": True,
        "fqdn_rev": True,
        "hostname": "v6.example.com.",
    }
    fields.update(kw)
    return Lease6(**fields)


@pytest.mark.parametrize(
    ("identifier_type", "identifier", "expected"),
    [
        (
            ncr.DHCID_DUID,
            bytes(range(7)),
            "0002012191B7B21AF97E0E656DF887C5E2DEF30E7758A207EDF4CCB2DE8CA37066021C",
        ),
        (
            ncr.DHCID_DUID,
            b"\x01",
            "000201F89004F73E60CAEDFF514E11CB91D1F45C8F0A55D4BC4C688484A819F8EA4074",
        ),
        (
            ncr.DHCID_DUID,
            b"\x01" * 128,
            "00020137D8FBDC0585B44DFA03FAD2E36C6159737D545A12EFB40B0D88D110A5748234",
        ),
        (
            ncr.DHCID_CLIENT_ID,
            bytes(range(7)),
            "0001012191B7B21AF97E0E656DF887C5E2DEF30E7758A207EDF4CCB2DE8CA37066021C",
        ),
        (
            ncr.DHCID_HW_ADDRESS,
            b"\x01" + bytes(range(7)),
            "0000012247F6DC4423C3E8627434A9D6868609D88948F78018B215EDCAA30C0C135035",
        ),
    ],
)
def test_dhcid_matches_kea_unit_test_vectors(
    identifier_type: int, identifier: bytes, expected: str
) -> None:
    """The DHCID of Kea's own unit tests (ncr_unittests.cc, DhcidTest)."""
    assert ncr.dhcid(identifier_type, identifier, MYHOST_WIRE).hex().upper() == (
        expected
    )


def test_lease_identifier_rfc4361_client_id_carries_a_duid() -> None:
    """Kea's fromClientIdDUID vector: type 255 + IAID, then a DUID."""
    client_id = bytes.fromhex("ff5de26c150002" + "0000ab119a5720957161bdd0")
    kind, identifier = ncr.lease_identifier(lease4(client_id=client_id))

    digest = ncr.dhcid(kind, identifier, MYHOST_WIRE)

    assert kind == ncr.DHCID_DUID
    assert digest.hex().upper() == (
        "000201A250D060B9352AE68E5014B78D251C30EFB0D5F64E48303B2BC56E6938F129E7"
    )


@pytest.mark.parametrize(
    ("client_id", "text"),
    [
        (b"\xff\x01\x02\x03\x04", "embedded DUID length of: 5, is too short"),
        (b"\xff" + bytes(135), "embedded DUID length of: 136, is too long"),
    ],
)
def test_lease_identifier_refuses_bad_rfc4361_client_ids(
    client_id: bytes, text: str
) -> None:
    with pytest.raises(NcrError, match=text):
        ncr.lease_identifier(lease4(client_id=client_id))


def test_lease_identifier_falls_back_to_hardware_address() -> None:
    kind, identifier = ncr.lease_identifier(
        lease4(client_id=None, hw_address=bytes.fromhex("aabbccddeeff"))
    )

    assert (kind, identifier) == (ncr.DHCID_HW_ADDRESS, bytes.fromhex("01aabbccddeeff"))


def test_lease_identifier_refuses_a_lease_without_identifier() -> None:
    with pytest.raises(NcrError, match="HW address is empty"):
        ncr.lease_identifier(lease4(client_id=None, hw_address=b""))


def test_build_remove_v4_matches_kea_capture() -> None:
    """The datagram Kea 2.2 sent for lease4-del with update-ddns."""
    request = ncr.build(ncr.CHG_REMOVE, V4, lease4())

    assert request.encode() == b"\x01\x1a" + (
        b'{"change-type":1,"forward-change":true,"reverse-change":true,'
        b'"fqdn":"myhost.example.com.","ip-address":"192.0.2.2",'
        b'"dhcid":"0001017B16C7529E4944DFBE0BBBE0254525DF134E9D30B484953BBDCF020230367625",'
        b'"lease-expires-on":"20330518032640","lease-length":600,'
        b'"use-conflict-resolution":true}'
    )


def test_build_add_v6_matches_kea_capture() -> None:
    """The JSON Kea 2.2 sent for lease6-resend-ddns."""
    request = ncr.build(ncr.CHG_ADD, V6, lease6())

    assert request.to_json() == (
        b'{"change-type":0,"forward-change":true,"reverse-change":true,'
        b'"fqdn":"v6.example.com.","ip-address":"2001:db8:1::10",'
        b'"dhcid":"000201D138C00332C698CA9D20210024AD4BB13D7A5EEA9B8F5967F2D2007F00796359",'
        b'"lease-expires-on":"20330518041320","lease-length":2400,'
        b'"use-conflict-resolution":true}'
    )


def test_build_hw_address_and_rfc4361_match_kea_captures() -> None:
    """DHCIDs Kea 2.2 sent for a hardware address and an RFC 4361 client-id."""
    by_hw = ncr.build(
        ncr.CHG_ADD,
        V4,
        lease4(
            client_id=None,
            hw_address=bytes.fromhex("aabbccddeeff"),
            hostname="hw.example.com.",
        ),
    )
    by_duid = ncr.build(
        ncr.CHG_ADD,
        V4,
        lease4(
            client_id=bytes.fromhex("ff000000010001020" + "3"),
            hostname="duid.example.com",
        ),
    )

    assert by_hw.dhcid.startswith("00000154EC0A8BCB")
    assert by_hw.dhcid.endswith("C03E4AB15023")
    assert by_duid.dhcid.startswith("000201AB6955A9BB")
    assert by_duid.dhcid.endswith("19D39EB41948DB")
    assert by_duid.fqdn == "duid.example.com."


def test_build_dhcid_ignores_the_case_of_the_name() -> None:
    """The digest is over the lower-cased name; the FQDN keeps its case."""
    upper = ncr.build(ncr.CHG_ADD, V4, lease4(hostname="MyHost.Example.COM"))
    lower = ncr.build(ncr.CHG_ADD, V4, lease4(hostname="myhost.example.com"))

    assert upper.dhcid == lower.dhcid
    assert upper.fqdn == "MyHost.Example.COM."


@pytest.mark.parametrize(
    ("valid_lft", "percent", "expected"),
    [
        (1000, None, 600),
        (1799, None, 600),
        (1800, None, 600),
        (7200, None, 2400),
        (7201, None, 2400),
        (4294967294, None, 1431655764),
        (7200, 0.5, 3600),
        (1000, 0.25, 250),
        (3, 0.5, 2),
        (1, 0.1, 600),
        (7200, 0.0, 2400),
        (7200, -1.0, 2400),
    ],
)
def test_ttl_follows_kea_rules(
    valid_lft: int, percent: float | None, expected: int
) -> None:
    """1/3 with a 600 s floor (2.2); a percentage when it gives 1 s or more."""
    assert ncr.ttl(valid_lft, percent) == expected


def test_build_uses_the_subnet_settings() -> None:
    settings = DdnsSettings(use_conflict_resolution=False, ttl_percent=0.5)

    request = ncr.build(ncr.CHG_ADD, V4, lease4(valid_lft=7200), settings)

    assert request.lease_length == 3600
    assert request.lease_expires_on == 1999999000 + 3600
    assert b'"use-conflict-resolution":false}' in request.to_json()


def test_build_qualifies_a_single_label_hostname() -> None:
    settings = DdnsSettings(qualifying_suffix="example.org")

    partial = ncr.build(ncr.CHG_ADD, V4, lease4(hostname="host"), settings)
    complete = ncr.build(ncr.CHG_ADD, V4, lease4(hostname="host.lab."), settings)
    unqualified = ncr.build(ncr.CHG_ADD, V4, lease4(hostname="host"))

    assert partial.fqdn == "host.example.org."
    assert complete.fqdn == "host.lab."
    assert unqualified.fqdn == "host."


@pytest.mark.parametrize(
    ("hostname", "suffix", "expected"),
    [
        ("host", "example.org", "host.example.org"),
        ("host", "example.org.", "host.example.org."),
        ("host.", "example.org", "host."),
        ("host.lab", "example.org", "host.lab"),
        ("host", "", "host"),
    ],
)
def test_qualify_only_partial_names(hostname: str, suffix: str, expected: str) -> None:
    assert ncr.qualify(hostname, suffix) == expected


@pytest.mark.parametrize(
    ("text", "labels"),
    [
        ("a.b.", [b"a", b"b"]),
        ("a.b", [b"a", b"b"]),
        (".", []),
        ("a\\.b.c", [b"a.b", b"c"]),
        ("my\\032host", [b"my host"]),
        ("x" * 63, [b"x" * 63]),
    ],
)
def test_name_labels_parses_text_names(text: str, labels: list[bytes]) -> None:
    assert ncr.name_labels(text) == labels


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("a..b", "empty label"),
        (".a", "empty label"),
        ("x" * 64, "longer than 63"),
        (".".join(["x" * 63] * 4), "longer than 255"),
        ("a\\", "lone backslash"),
        ("a\\25", "DDD"),
        ("a\\256", "DDD"),
    ],
)
def test_name_labels_refuses_bad_names(text: str, reason: str) -> None:
    with pytest.raises(NcrError, match=reason):
        ncr.name_labels(text)


def test_text_name_escapes_as_kea_does() -> None:
    assert ncr.text_name([b'my host"x', b"\xc3\xa9"]) == 'my\\032host\\"x.\\195\\169.'


def test_build_escapes_the_fqdn_for_json() -> None:
    """A name holding a space reaches kea-dhcp-ddns as valid JSON."""
    request = ncr.build(ncr.CHG_ADD, V4, lease4(hostname="my\\032host.example."))

    assert ncr.decode(request.encode())["fqdn"] == "my\\032host.example."


def test_build_refuses_a_hostname_that_is_no_dns_name() -> None:
    with pytest.raises(NcrError, match=re.escape("invalid FQDN 'a..example.com'")):
        ncr.build(ncr.CHG_ADD, V4, lease4(hostname="a..example.com"))


@pytest.mark.parametrize(
    ("lease", "qualifies"),
    [
        (lease4(), True),
        (lease4(hostname=""), False),
        (lease4(fqdn_fwd=False, fqdn_rev=False), False),
        (lease4(fqdn_fwd=False), True),
        (lease6(), True),
        (lease6(type=TYPE_PD, prefix_len=64), False),
    ],
)
def test_qualifies_needs_a_hostname_and_a_direction(
    lease: Lease4 | Lease6, qualifies: bool
) -> None:
    assert ncr.qualifies(lease) is qualifies


def test_decode_reads_back_what_encode_wrote() -> None:
    request = ncr.build(ncr.CHG_REMOVE, V6, lease6(fqdn_rev=False))

    decoded = ncr.decode(request.encode())

    assert decoded["change-type"] == 1
    assert decoded["reverse-change"] is False
    assert decoded["ip-address"] == "2001:db8:1::10"


@pytest.mark.parametrize(
    "datagram", [b"\x00", b"\x00\x05{}", b"\x00\x02[]", b"\x00\x02{x"]
)
def test_decode_refuses_malformed_datagrams(datagram: bytes) -> None:
    with pytest.raises(NcrError):
        ncr.decode(datagram)


def test_fields_name_change_fqdn_and_address() -> None:
    request = attrs.evolve(ncr.build(ncr.CHG_ADD, V4, lease4()), change_type=1)

    assert request.fields() == ("remove", "myhost.example.com.", "192.0.2.2")
