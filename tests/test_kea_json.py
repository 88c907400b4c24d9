"""Tests for leased.kea_json: Kea 2.2's JSON reading and its error texts.

The tables below were recorded from a real Kea 2.2.0 (kea-dhcp4) by sending
each request over its control socket.  The tests marked as needing Kea send
them again and check that Kea still says the same, so the tables cannot
drift from the reference; they are skipped where Kea is not installed.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leased.client import send_raw
from leased.harness import wait_for_socket
from leased.kea_json import KeaJSONError, decode

# Requests Kea 2.2 refuses, with the text of its answer (result 1).  Each one
# is a whole request as the framing layer would hand it over.
KEA_ERRORS: list[tuple[bytes, str]] = [
    # Something other than a value where a value is due.
    (b'{"command": }', "error: unexpected character } in <wire>:0:13"),
    (b'{"command": :}', "error: unexpected character : in <wire>:0:13"),
    (b'{"command": ,}', "error: unexpected character , in <wire>:0:13"),
    (b"[,1]", "error: unexpected character , in <wire>:0:2"),
    (b'{"a": [1, ,2]}', "error: unexpected character , in <wire>:0:11"),
    (b'{"a": True}', "error: unexpected character T in <wire>:0:7"),
    (b'{"a": NaN}', "error: unexpected character N in <wire>:0:7"),
    (b'{"a": Infinity}', "error: unexpected character I in <wire>:0:7"),
    (b'{"a": -Infinity}', "Number overflow: - in <wire>:0:6"),
    (b'{"a": undefined}', "error: unexpected character u in <wire>:0:7"),
    # Trailing commas: refused in maps, and in lists only when doubled.
    (b'{"command": "list-commands",}', "String expected in <wire>:0:29"),
    (b'{"command": "x", }', "String expected in <wire>:0:18"),
    (b'{"a": {"b": 1,}}', "String expected in <wire>:0:15"),
    (b"[1,,]", "error: unexpected character , in <wire>:0:4"),
    # Single quotes and bare keys.
    (b"{'command': 'x'}", "String expected in <wire>:0:2"),
    (b"{\"command\": 'x'}", "error: unexpected character ' in <wire>:0:13"),
    (b'{command: "x"}', "String expected in <wire>:0:2"),
    # Missing colons and commas, mismatched brackets.
    (b'{"command" "x"}', '\'"\' read, one of ":" expected in <wire>:0:12'),
    (b'{"command"}', "'}' read, one of \":\" expected in <wire>:0:11"),
    (b'{"command" }', "'}' read, one of \":\" expected in <wire>:0:12"),
    (b'{"a": 1 "b": 2}', '\'"\' read, one of ",}" expected in <wire>:0:9'),
    (
        b'{"command": "x" "arguments": {}}',
        '\'"\' read, one of ",}" expected in <wire>:0:17',
    ),
    (b"[1 2]", "'2' read, one of \",]\" expected in <wire>:0:4"),
    (b'["a": 1]', "':' read, one of \",]\" expected in <wire>:0:5"),
    (b'{"a": "b"]', "']' read, one of \",}\" expected in <wire>:0:10"),
    (b'{"a": [1}]', "'}' read, one of \",]\" expected in <wire>:0:9"),
    (b'{"a": {]}', "String expected in <wire>:0:8"),
    (b'{"a":]', "error: unexpected character ] in <wire>:0:6"),
    # Truncated requests: the brackets balance, the content does not.
    (b'{"a": }', "error: unexpected character } in <wire>:0:7"),
    (b'{"a" }', "'}' read, one of \":\" expected in <wire>:0:6"),
    (b'{"a": "b", }', "String expected in <wire>:0:12"),
    # Escapes: only the JSON ones, and \u only as \u00XX.
    (b'{"command": "x\\q"}', "Bad escape in <wire>:0:15"),
    (b'{"command": "\\x41"}', "Bad escape in <wire>:0:14"),
    (b'{"command": "\\U0041"}', "Bad escape in <wire>:0:14"),
    (b'{"command": "\\\'"}', "Bad escape in <wire>:0:14"),
    (b'{"command": "\\u1234"}', "Unsupported unicode escape in <wire>:0:15"),
    (b'{"command": "\\u0123"}', "Unsupported unicode escape in <wire>:0:14"),
    (b'{"command": "\\ud83d\\ude00"}', "Unsupported unicode escape in <wire>:0:15"),
    (b'{"command": "\\u"}', "Unsupported unicode escape in <wire>:0:15"),
    (b'{"command": "\\u00g0"}', "Not hexadecimal in unicode escape in <wire>:0:14"),
    (b'{"command": "\\u000"}', "Not hexadecimal in unicode escape in <wire>:0:14"),
    (b'{"command": "\\u00"}', "Not hexadecimal in unicode escape in <wire>:0:14"),
    # Words: a run of letters compared as a whole.
    (b'{"a": tru}', "Bad boolean value: tru in <wire>:0:6"),
    (b'{"a": fals}', "Bad boolean value: fals in <wire>:0:6"),
    (b'{"a": t}', "Bad boolean value: t in <wire>:0:6"),
    (b'{"a": truee}', "Bad boolean value: truee in <wire>:0:6"),
    (b'{"a": nul}', "Bad null value: nul in <wire>:0:6"),
    (b'{"a": nulll}', "Bad null value: nulll in <wire>:0:6"),
    (b'{"a": nULL}', "Bad null value: nULL in <wire>:0:6"),
    (b'{"a": true1}', "'1' read, one of \",}\" expected in <wire>:0:11"),
    (b'{"a": TRUE}', "error: unexpected character T in <wire>:0:7"),
    (b'{"a": yes}', "error: unexpected character y in <wire>:0:7"),
    # Numbers: the token is every byte of 0-9 + - . e E, then converted.
    (b'{"a": -}', "Number overflow: - in <wire>:0:6"),
    (b'{"a": +}', "Number overflow: + in <wire>:0:6"),
    (b'{"a": .}', "Number overflow: . in <wire>:0:6"),
    (b'{"a": 1-2}', "Number overflow: 1-2 in <wire>:0:6"),
    (b'{"a": 1.2.3}', "Number overflow: 1.2.3 in <wire>:0:6"),
    (b'{"a": 1e}', "Number overflow: 1e in <wire>:0:6"),
    (b'{"a": 1e+}', "Number overflow: 1e+ in <wire>:0:6"),
    (b'{"a": 1E-}', "Number overflow: 1E- in <wire>:0:6"),
    (b'{"a": .e1}', "Number overflow: .e1 in <wire>:0:6"),
    (b'{"a": --1}', "Number overflow: --1 in <wire>:0:6"),
    (b'{"a": 0x10}', "'x' read, one of \",}\" expected in <wire>:0:8"),
    (b'{"a": 1_000}', "'_' read, one of \",}\" expected in <wire>:0:8"),
    (
        b'{"a": 9223372036854775808}',
        "Number overflow: 9223372036854775808 in <wire>:0:6",
    ),
    (
        b'{"a": -9223372036854775809}',
        "Number overflow: -9223372036854775809 in <wire>:0:6",
    ),
    (
        b'{"a": 18446744073709551616}',
        "Number overflow: 18446744073709551616 in <wire>:0:6",
    ),
    (b'{"a": 1e400}', "Number overflow: 1e400 in <wire>:0:6"),
    (b'{"a": -1e309}', "Number overflow: -1e309 in <wire>:0:6"),
    (
        b'{"a": 1.797693134862315808e308}',
        "Number overflow: 1.797693134862315808e308 in <wire>:0:6",
    ),
    # Bytes outside strings are reported one byte at a time; a NUL byte cuts
    # the message short, position included.
    (b'{"a": \xc3\xa9}', "error: unexpected character \xc3 in <wire>:0:7"),
    (b'{"a": \xe9}', "error: unexpected character \xe9 in <wire>:0:7"),
    (b'{"a": \x7f}', "error: unexpected character \x7f in <wire>:0:7"),
    (b'{"a": \x01}', "error: unexpected character \x01 in <wire>:0:7"),
    (b'{\xef\xbb\xbf"a": 1}', "String expected in <wire>:0:2"),
    (b'{"a": \x00}', "error: unexpected character "),
    (b'{"a"\x00: 1}', "'"),
    # Positions: lines count from 0 and a skipped newline restarts the column
    # at 1; a newline inside a string does not; an empty map's closing brace
    # is not counted.
    (b'{"a":\n}', "error: unexpected character } in <wire>:1:2"),
    (b'{"a":\r\n}', "error: unexpected character } in <wire>:1:2"),
    (b'{\n"a": }', "error: unexpected character } in <wire>:1:7"),
    (b'{"a": 1,\n\n  "b" }', "'}' read, one of \":\" expected in <wire>:2:8"),
    (b'{"a": "x\ny",}', "String expected in <wire>:0:13"),
    (b'{"a":\t\x0c\x08}', "error: unexpected character } in <wire>:0:9"),
    (b'{"a": {}, "b": }', "error: unexpected character } in <wire>:0:15"),
    (b"[{}, {}, x]", "error: unexpected character x in <wire>:0:8"),
    (b"[[], x]", "error: unexpected character x in <wire>:0:6"),
]

# Texts the framing layer never hands to the parser (they do not start with a
# bracket, or their brackets do not balance), so Kea cannot be asked about
# them over its socket.  The texts follow the same parser rules as above.
PARSER_ONLY_ERRORS: list[tuple[bytes, str]] = [
    (b"", "nothing read"),
    (b" \n ", "nothing read"),
    (b"[", "nothing read"),
    (b"[1,", "nothing read"),
    (b'{"a":\n', "nothing read"),
    (b"{", "Unterminated map, <string> or } expected in <wire>:0:1"),
    (b"{ \n", "Unterminated map, <string> or } expected in <wire>:1:1"),
    (b'{"a"', 'EOF read, one of ":" expected in <wire>:0:5'),
    (b'{"a":1', 'EOF read, one of ",}" expected in <wire>:0:7'),
    (b"[1", 'EOF read, one of ",]" expected in <wire>:0:3'),
    (b'{"a', "Unterminated string in <wire>:0:4"),
    (b'"\\', "Bad escape in <wire>:0:2"),
    (b'{"a": "\\u00', "Not hexadecimal in unicode escape in <wire>:0:8"),
    (b'{"a":1,', "String expected in <wire>:0:8"),
    (b"x", "error: unexpected character x in <wire>:0:1"),
    (b"-", "Number overflow: - in <wire>:0:0"),
]

# Requests orjson refuses but Kea accepts, with the value Kea builds.
KEA_ACCEPTS: list[tuple[bytes, Any]] = [
    (b"[1,]", [1]),
    (b"[{},]", [{}]),
    (b'{"a": [1, 2, ]}', {"a": [1, 2]}),
    (b'{"a": 01}', {"a": 1}),
    (b'{"a": -007}', {"a": -7}),
    (b'{"a": 00000000000000000000001}', {"a": 1}),
    (b'{"a": +1}', {"a": 1}),
    (b'{"a": 1.}', {"a": 1.0}),
    (b'{"a": .5}', {"a": 0.5}),
    (b'{"a": -.5}', {"a": -0.5}),
    (b'{"a": +.5e1}', {"a": 5.0}),
    (b'{"a": 5.e1}', {"a": 50.0}),
    (b'{"a": 00.5}', {"a": 0.5}),
    (b'{"a":\x0c1}', {"a": 1}),
    (b'{"a":\x081}', {"a": 1}),
    (b'{"a": "x\ty\nz"}', {"a": "x\ty\nz"}),
    (b'{"a": "\x00\x1f"}', {"a": "\x00\x1f"}),
    (b'{"a": "\xe9"}', {"a": "\xe9"}),
    (b'{"a": "\xff\xfe"}', {"a": "\xff\xfe"}),
]

# Strings as Kea reads them, seen through its answer to an unknown command,
# which quotes the command name: (request, Kea's result-2 text).
KEA_STRINGS: list[tuple[bytes, str]] = [
    (b'{"command": "x\\u00e9\\u00FF"}', "'x\xe9\xff' command not supported."),
    (b'{"command": "\\u00C3\\u00A9"}', "'\xc3\xa9' command not supported."),
    (b'{"command": "\\u0000z"}', "'\x00z' command not supported."),
    (
        b'{"command": "a\\n\\t\\"\\\\\\/\\b\\f\\r"}',
        "'a\n\t\"\\/\b\f\r' command not supported.",
    ),
    (b'{"command": "\x01\x7f\t"}', "'\x01\x7f\t' command not supported."),
    (b'{"command": "\xe9"}', "'\xe9' command not supported."),
    (b'{"command": ""}', "'' command not supported."),
]

# A few requests with nothing unusual, which both parsers read alike.
ORDINARY: list[bytes] = [
    b'{"command": "list-commands"}',
    b'{"command": "lease4-get", "arguments": {"ip-address": "192.0.2.1"}}',
    b'{ "a" : 1 , "b" : [ 1 , 2.5, -3e2, true, false, null, "\\u00e9" ] }',
    b'{"a": {"b": {"c": []}}, "d": ""}',
    b'{"a": 1, "a": 2}',
    b'{"a": 9223372036854775807, "b": -9223372036854775808}',
    b'{"a": 1e-400, "b": 1.797693134862315807e308}',
]


def _error_text(text: bytes) -> str:
    with pytest.raises(KeaJSONError) as caught:
        decode(text)
    return str(caught.value)


@pytest.mark.parametrize(("text", "expected"), KEA_ERRORS + PARSER_ONLY_ERRORS)
def test_decode_gives_kea_text(text: bytes, expected: str) -> None:
    assert _error_text(text) == expected


def test_decode_error_is_a_value_error_with_its_parts() -> None:
    """The exception splits Kea's text into reason, line and column."""
    with pytest.raises(ValueError) as caught:
        decode(b'{"a": 1,\n\n  "b" }')
    error = caught.value
    assert isinstance(error, KeaJSONError)
    assert error.reason == "'}' read, one of \":\" expected"
    assert (error.line, error.column) == (2, 8)

    with pytest.raises(KeaJSONError) as caught:
        decode(b"")
    assert (caught.value.reason, caught.value.line, caught.value.column) == (
        "nothing read",
        None,
        None,
    )


@pytest.mark.parametrize(("text", "expected"), KEA_ACCEPTS)
def test_decode_accepts_what_kea_accepts(text: bytes, expected: Any) -> None:
    """Kea's leniencies are kept although orjson refuses these texts."""
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(text)
    assert decode(text) == expected


@pytest.mark.parametrize("text", ORDINARY)
def test_decode_reads_ordinary_json_as_orjson_does(text: bytes) -> None:
    assert decode(text) == orjson.loads(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (b'{"a": 1} x', {"a": 1}),
        (b"[1]]", [1]),
        (b"{} {", {}),
        (b'"a"', "a"),
        (b" \x0c true", True),
    ],
)
def test_decode_ignores_what_follows_the_first_value(
    text: bytes, expected: Any
) -> None:
    """Kea reads one value and ignores the rest; the framing cuts it anyway."""
    assert decode(text) == expected


def test_decode_handles_deep_nesting() -> None:
    """Nesting is not bound by Python's recursion limit on either path."""
    depth = 50_000
    text = b"[" * depth + b"]" * depth
    fast = decode(text)
    slow = decode(text + b"\x0c")
    for value in (fast, slow):
        for _ in range(depth - 1):
            value = value[0]
        assert value == []


@pytest.mark.xfail(
    strict=True,
    reason="Limitation: raw UTF-8 in strings is read as characters, while Kea "
    "keeps the bytes and shows each one back as its own code point",
)
def test_decode_raw_utf8_string_like_kea() -> None:
    assert decode(b'{"command": "\xc3\xa9"}') == {"command": "\xc3\xa9"}


# Property tests.

JSON_TOKENS = [
    b"{", b"}", b"[", b"]", b",", b":", b'"', b"\\", b" ", b"\n", b"\r", b"\t",
    b"\x0c", b"\x08", b"\x00", b"\xe9", b"\xc3\xa9", b"1", b"0", b"-", b"+",
    b".", b"e", b"E", b"true", b"tru", b"null", b"false", b"u", b"\\u00",
    b"\\u", b"\\uD83D", b"x", b'"a"', b'"k":', b"12", b"1.5", b"1e5", b"007",
    b"9223372036854775808", b"1e309", b'"\\\\"', b'\\"',
]  # fmt: skip

token_soup = st.lists(st.sampled_from(JSON_TOKENS), max_size=16).map(b"".join)


def _orjson_or_none(text: bytes) -> tuple[bool, Any]:
    try:
        return True, orjson.loads(text)
    except orjson.JSONDecodeError:
        return False, None


def _check_decode(text: bytes) -> None:
    orjson_ok, expected = _orjson_or_none(text)
    try:
        value = decode(text)
    except KeaJSONError as error:
        if orjson_ok:
            # Only Kea's stricter rules may refuse what orjson reads.
            assert error.reason == "Unsupported unicode escape" or (
                error.reason.startswith("Number overflow: ")
            )
        return
    if orjson_ok:
        assert value == expected
    else:
        # A Kea leniency: the value must still be plain, encodable JSON data.
        assert orjson.loads(orjson.dumps(value)) == value


@given(st.binary(max_size=64))
def test_decode_random_bytes_gives_value_or_kea_error(text: bytes) -> None:
    _check_decode(text)


@given(st.sampled_from([b"{", b"["]), token_soup)
def test_decode_token_soup_gives_value_or_kea_error(start: bytes, soup: bytes) -> None:
    _check_decode(start + soup)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(1 << 63), max_value=(1 << 63) - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(codec="utf-8")),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.text(st.characters(codec="utf-8"), max_size=4),
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@given(json_values, st.sampled_from([0, orjson.OPT_INDENT_2]))
def test_decode_both_paths_read_standard_json_alike(value: Any, option: int) -> None:
    """orjson's output decodes to the same value on the fast and slow path."""
    text = orjson.dumps(value, option=option)
    assert decode(text) == value

    # A trailing form feed is whitespace to Kea only, so orjson refuses the
    # text and the scanner has to read it.
    assert decode(text + b"\x0c") == value


# Against a real Kea 2.2.

KEA_DHCP4 = shutil.which("kea-dhcp4") or "/usr/sbin/kea-dhcp4"


@pytest.fixture(scope="module")
def kea_socket(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Run kea-dhcp4 with only a control socket, and yield the socket path."""
    if not os.access(KEA_DHCP4, os.X_OK):
        pytest.skip("Kea (kea-dhcp4) is not installed; pinned texts left unchecked")

    # A Unix socket path must stay short (108 bytes); pytest's temporary
    # directories can be longer.
    workdir = tmp_path_factory.mktemp("kea")
    if len(str(workdir)) > 80:
        workdir = Path(tempfile.mkdtemp(prefix="leased-kea-"))
    socket_path = str(workdir / "kea4.sock")
    config = {
        "Dhcp4": {
            "interfaces-config": {"interfaces": []},
            "control-socket": {"socket-type": "unix", "socket-name": socket_path},
            "lease-database": {"type": "memfile", "persist": False},
            "loggers": [
                {
                    "name": "kea-dhcp4",
                    "severity": "WARN",
                    "output_options": [{"output": str(workdir / "kea.log")}],
                }
            ],
        }
    }
    config_path = workdir / "kea4.json"
    config_path.write_bytes(orjson.dumps(config))
    env = dict(os.environ, KEA_PIDFILE_DIR=str(workdir), KEA_LOCKFILE_DIR=str(workdir))

    with open(workdir / "kea.stderr", "wb") as stderr:
        process = subprocess.Popen(
            [KEA_DHCP4, "-c", str(config_path)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        wait_for_socket(socket_path, process, timeout=20)
        version = orjson.loads(send_raw(socket_path, b'{"command": "version-get"}'))
        if not version.get("text", "").startswith("2.2."):
            pytest.skip(
                f"the pinned texts are Kea 2.2's; found {version.get('text')!r}"
            )
        yield socket_path
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _kea_answer(socket_path: str, text: bytes) -> dict[str, Any]:
    answer: dict[str, Any] = orjson.loads(send_raw(socket_path, text, timeout=15))
    return answer


def _is_parse_error(answer: dict[str, Any]) -> bool:
    # Every other result-1 answer at this stage comes from the command check
    # that follows a successful parse.
    return answer["result"] == 1 and not answer.get("text", "").startswith(
        "Error during command processing"
    )


@pytest.mark.parametrize(("text", "expected"), KEA_ERRORS)
def test_kea_still_gives_pinned_text(
    kea_socket: str, text: bytes, expected: str
) -> None:
    assert _kea_answer(kea_socket, text) == {"result": 1, "text": expected}


@pytest.mark.parametrize(("text", "expected"), KEA_ACCEPTS)
def test_kea_still_accepts(kea_socket: str, text: bytes, expected: Any) -> None:
    assert not _is_parse_error(_kea_answer(kea_socket, text))


@pytest.mark.parametrize("text", ORDINARY)
def test_kea_reads_ordinary_json(kea_socket: str, text: bytes) -> None:
    assert not _is_parse_error(_kea_answer(kea_socket, text))


@pytest.mark.parametrize(("text", "expected"), KEA_STRINGS)
def test_kea_strings_match_decode(kea_socket: str, text: bytes, expected: str) -> None:
    """Kea's reading of a string, quoted back, is what decode reads."""
    assert _kea_answer(kea_socket, text) == {"result": 2, "text": expected}
    assert f"'{decode(text)['command']}' command not supported." == expected


def _framed(text: bytes) -> bytes | None:
    """Cut or close ``text`` where Kea's framing would end the request.

    Returns:
        The text the framing would hand to the parser, or ``None`` when it
        would not hand over one (a comment character, or an escape left
        open at the end).
    """
    depth = 0
    in_string = False
    escaped = False
    for index, byte in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif byte == ord("\\"):
                escaped = True
            elif byte == ord('"'):
                in_string = False
            continue
        if byte in b"#/":
            return None
        if byte == ord('"'):
            in_string = True
        elif byte in b"{[":
            depth += 1
        elif byte in b"}]":
            depth -= 1
            if depth == 0:
                return text[: index + 1]
    if escaped:
        return None
    return text + (b'"' if in_string else b"") + b"]" * depth


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([b"{", b"["]), token_soup)
def test_kea_agrees_with_decode_on_token_soup(
    kea_socket: str, start: bytes, soup: bytes
) -> None:
    """Random near-JSON requests: Kea and decode accept or refuse alike."""
    text = _framed(start + soup)
    if text is None:
        return
    answer = _kea_answer(kea_socket, text)
    if _is_parse_error(answer):
        assert _error_text(text) == answer["text"]
    else:
        decode(text)
