"""The SPARQL lexer (kg.rdf.sparql): the texts of the hot path's lex() are tokenize()'s tokens, their
kinds are told from their texts alone, and layout and comments never make tokens."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kg.rdf.complexity import measure
from kg.rdf.sparql import kind_of, kinds_of, lex, normalise, tokenize
from tests.w3c import SUITE_ROOT

# pieces that meet at token boundaries in tricky ways: prefixed names with dots and escapes,
# operators that begin other tokens, unterminated strings, comments, codepoint escapes, non-ASCII
PIECES = [
    "SELECT",
    "select",
    "a",
    "_",
    "_:b0",
    "ex:",
    ":",
    "ex:o",
    "ex:o.",
    "ex:a.b",
    "ex:a\\.",
    "ex:a..b",
    "é:x",
    "é",
    "ex-1:y",
    "?x",
    "$y",
    "?",
    "$",
    "<http://e/#f>",
    "<",
    ">",
    "<=",
    "<<",
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    ".",
    ";",
    ",",
    "/",
    "|",
    "^^",
    "^",
    "!",
    "=",
    "*",
    "+",
    "-",
    "&&",
    '"a"',
    '"a\\"b"',
    '"',
    "'x'",
    "'",
    '"""x\ny"""',
    "'''z'''",
    '"""',
    "1",
    "1.5",
    "1e3",
    "1.",
    ".5",
    "@en",
    "@en-GB",
    "@",
    "#comment",
    "# c\n",
    "\\u0041",
    "\\u003F",
    " ",
    "\n",
    "\t",
    "\r\n",
    "·",
    "%20",
]


def _same_as_tokenize(text: str) -> None:
    tokens = tokenize(text)
    assert lex(text) == [t.text for t in tokens]
    assert [kind_of(t.text) for t in tokens] == [t.kind for t in tokens]


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=12), st.sampled_from(["", " ", "\n"]))
def test_lex_gives_the_texts_of_tokenize_and_kind_of_their_kinds(pieces: list[str], joint: str) -> None:
    _same_as_tokenize(joint.join(pieces))


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=40))
def test_lex_is_tokenize_on_any_text(text: str) -> None:
    _same_as_tokenize(text)


def test_lex_is_tokenize_on_the_w3c_queries_and_updates() -> None:
    files = sorted(SUITE_ROOT.glob("**/*.r[qu]"))
    assert len(files) > 400
    for path in files:
        _same_as_tokenize(path.read_text(encoding="utf-8", errors="replace"))


def test_layout_and_comments_make_no_tokens_at_the_end_or_anywhere() -> None:
    assert lex("ASK {}   \n  ") == ["ASK", "{", "}"]
    assert lex("ASK {} # a comment: SELECT ?x") == ["ASK", "{", "}"]
    assert lex("ASK {} #") == ["ASK", "{", "}"]
    assert lex("# only a comment\n   ") == []
    assert lex("") == []
    long_tail = "ASK {}" + " " * 50_000 + "#" + "x" * 50_000
    assert lex(long_tail) == ["ASK", "{", "}"]


def test_a_dot_after_a_prefixed_name_is_a_token_of_its_own() -> None:
    assert lex("?s ex:p ex:o. ?t ex:p ex:a.b.") == ["?s", "ex:p", "ex:o", ".", "?t", "ex:p", "ex:a.b", "."]
    assert lex("?s ex:p ex:a\\..") == ["?s", "ex:p", "ex:a\\.", "."]
    assert [t.offset for t in tokenize("ex:o. ?t")] == [0, 4, 6]


def test_patterns_ended_by_a_dot_that_touches_a_prefixed_name_are_counted() -> None:
    # the dot was taken into the prefixed name, and lost: 100 patterns measured as 1, past the limit
    touching = "PREFIX ex: <http://e/> SELECT * { " + " ".join(f"?s{i} ex:p ex:o." for i in range(100)) + " }"
    spaced = touching.replace("ex:o.", "ex:o .")
    assert measure(touching).triple_patterns == measure(spaced).triple_patterns == 100


def test_a_dot_after_a_prefixed_name_is_part_of_the_normal_form() -> None:
    # "?s ?p ex:o. ?t ?p ?u" and "?s ?p ex:o ?t ?p ?u" (a syntax error) are not the same query
    assert normalise("ASK { ?s ?p ex:o. ?t ?p ?u }") != normalise("ASK { ?s ?p ex:o ?t ?p ?u }")
    assert normalise("ASK { ?s ?p ex:o. }") == normalise("ASK { ?s ?p ex:o . }")


def test_kinds_remembered_are_the_kinds_told() -> None:
    texts = lex('PREFIX ex: <http://e/> SELECT ?s (1.5 AS ?n) { ?s a ex:C ; ex:p "x"@en, 2 . ?s ? ?o }')
    assert kinds_of(texts) == [kind_of(t) for t in texts]  # told, then remembered
    assert kinds_of(texts) == [kind_of(t) for t in texts]  # from memory
    long = "<http://e/" + "x" * 100 + ">"
    assert kinds_of([long]) == ["iri"]
