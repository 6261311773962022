"""``server.core.forms.parse_form`` answers what ``urllib.parse.parse_qsl`` answers (blank values kept,
undecodable bytes as werkzeug quotes them), on texts made to hit every branch."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from hypothesis import given, settings
from hypothesis import strategies as st

from server.core.forms import ERRORS, parse_form

# the characters that matter to the decoding, plus some that do not
PIECES = st.sampled_from(
    [
        "%",
        "%2",
        "%20",
        "%7B",
        "%7b",
        "%zz",
        "%D0",
        "%B6",
        "%E2%82%AC",
        "%FF",
        "%00",
        "%5C",
        "+",
        "&",
        "=",
        "\\",
        "\\x41",
        "ж",
        "€",
        "a",
        "Z",
        "0",
        "9",
        "f",
        "G",
        " ",
        "?",
        "{",
        "}",
        "#",
        ";",
    ]
)


def reference(text: str) -> list[tuple[str, str]]:
    return parse_qsl(text, keep_blank_values=True, errors=ERRORS)


@settings(max_examples=3000, deadline=None)
@given(st.lists(PIECES, max_size=30).map("".join))
def test_the_same_pairs_as_parse_qsl(text: str) -> None:
    assert parse_form(text) == reference(text)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60), st.text(max_size=60))
def test_an_encoded_form_comes_back_as_it_was_sent(name: str, value: str) -> None:
    text = urlencode({"query": value, name: value})
    assert parse_form(text) == reference(text)


def test_a_query_form() -> None:
    query = 'SELECT ?s WHERE { ?s ?p "žé€ \\" 100%" } # x'
    assert parse_form(urlencode({"query": query, "default-graph-uri": "http://g/1"})) == [
        ("query", query),
        ("default-graph-uri", "http://g/1"),
    ]
    assert parse_form("query=%D0&x") == [("query", "%D0"), ("x", "")]  # not UTF-8: left quoted
