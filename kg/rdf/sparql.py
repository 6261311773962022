"""SPARQL as text: a small lexer (enough to tell a query's form and the IRIs it would call or name),
and the surgery guarded writes do on update text (USING clauses, INSERT/DELETE DATA operations).

The endpoint must know, before the engine runs a query, which kind of result it will produce (to
negotiate a format) and whether it calls other services (``SERVICE``, refused unless allowed). A
substring search would be fooled by ``"SERVICE"`` in a string, an IRI or a comment, and miss
``\\u0053ERVICE``; a token stream is not. Tokens follow the terminals of the SPARQL 1.1 grammar
(https://www.w3.org/TR/sparql11-query/#grammar), loosely where only the boundaries matter.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple
from urllib.parse import urljoin

from kg.errors import WriteRefused

QUERY_FORMS = ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")
UPDATE_KEYWORDS = ("INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD", "WITH")

# https://www.w3.org/TR/sparql11-query/#codepointEscape: escapes are replaced before parsing.
_CODEPOINT_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")

_PN_CHARS = r"[A-Za-z0-9_\-\u00B7-\U000EFFFF]"
_LOCAL_CHAR = r"(?:" + _PN_CHARS + r"|[:%]|\\.)"  # in a local name: PN_CHARS, ':', PLX (loosely)

# The tokens' patterns, in the order they are tried. Only patterns that can begin with the same
# character need an order among themselves; the common tokens come first, as each token is tried
# against the patterns one after the other.
_PIECES = (
    # a name that cannot go on into a prefixed name (nothing after it that a prefix may hold, no
    # ':'): the common keyword, matched without first trying it as a prefixed name
    ("word", r"[A-Za-z_][A-Za-z0-9_]*(?![A-Za-z0-9_.:\-\u00B7-\U000EFFFF])"),
    ("var", r"[?$]" + _PN_CHARS + r"+"),
    ("punctuation", r"[{}().;,=*/|^!]"),  # single characters that begin no other token
    ("iri", r"""<[^<>"{}|^`\\\x00-\x20]*>"""),
    # a local name does not end with '.' (an escaped '\.' may): that dot ends a triple
    (
        "pname",
        r"(?:[A-Za-z\u00C0-\U000EFFFF_][A-Za-z0-9_.\-\u00B7-\U000EFFFF]*)?:"
        + r"(?:"
        + _LOCAL_CHAR
        + r"|\.+(?="
        + _LOCAL_CHAR
        + r"))*",
    ),
    ("string", r'''"""(?:[^"\\]|\\.|"(?!""))*(?:"""|$)'''),
    ("string3", r"""'''(?:[^'\\]|\\.|'(?!''))*(?:'''|$)"""),
    ("string1", r""""(?:[^"\\\n\r]|\\.)*"?"""),
    ("string1b", r"""'(?:[^'\\\n\r]|\\.)*'?"""),
    ("number", r"[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?"),
    ("langtag", r"@[A-Za-z]+(?:-[A-Za-z0-9]+)*"),
    ("name", r"[A-Za-z_][A-Za-z0-9_]*"),
    ("other", r"."),
)
# what each piece's tokens are (Token.kind)
_KINDS = {
    "word": "name",
    "punctuation": "other",
    "string3": "string",
    "string1": "string",
    "string1b": "string",
}
_LAYOUT = (
    r"\s*(?:\#[^\n\r]*\s*)*"  # white space and comments, https://www.w3.org/TR/sparql11-query/#whitespace
)

_TOKEN = re.compile(
    r"(?P<ws>\s+)|(?P<comment>\#[^\n\r]*)|" + "|".join(f"(?P<{name}>{pattern})" for name, pattern in _PIECES),
    re.DOTALL,
)
# The same tokens' texts alone, found by the regex engine in one call (no Python per token): the
# layout before each token, then the token. The token is optional so that a match never fails: a
# failed match would be tried again one character further on (inside a comment: other tokens), and
# trailing layout would be read again from each of its characters. Only the last two matches (the
# layout after the last token, then the empty end) have no token.
_TEXTS = re.compile(_LAYOUT + "(" + "|".join(pattern for _, pattern in _PIECES) + ")?", re.DOTALL)


class Token(NamedTuple):
    """A token: a tuple, as it is made by the thousand per query (a frozen dataclass costs 2 µs each)."""

    kind: str  # iri, string, var, langtag, pname, name, number, other
    text: str
    offset: int


def unescape(text: str) -> str:
    if "\\u" not in text and "\\U" not in text:  # most texts have none: no regex pass
        return text
    return _CODEPOINT_ESCAPE.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), text)


def tokenize(text: str) -> list[Token]:
    """The tokens of ``text`` (after codepoint escapes), without whitespace and comments, with their
    offsets (in the text with its codepoint escapes replaced). Where only the tokens' texts are
    needed, :func:`lex` finds them for a fraction of the cost."""
    tokens: list[Token] = []
    append, make = tokens.append, tuple.__new__
    for m in _TOKEN.finditer(unescape(text)):
        kind = m.lastgroup or "other"
        if kind == "ws" or kind == "comment":
            continue
        # each made as a tuple: Token(…) would call the named tuple's Python __new__
        append(make(Token, (_KINDS.get(kind, kind), m.group(), m.start())))
    return tokens


def lex(text: str) -> list[str]:
    """The texts of :func:`tokenize`'s tokens, found in one call of the regex engine: what the
    checks on every new query's path read (:func:`kind_of` tells a text's kind)."""
    texts = _TEXTS.findall(unescape(text))
    while texts and not texts[-1]:  # at the end of the text: the layout after the last token, and
        texts.pop()  # the empty match at the very end
    return texts


_KIND_OF_FIRST = dict.fromkeys("\"'", "string") | dict.fromkeys("0123456789", "number")


def kind_of(text: str) -> str:
    """The kind of a token given its text (one of :func:`lex`'s): a token's first character tells it,
    and its length where a single character is another kind (``?`` alone is a path's)."""
    kind = _KIND_OF_FIRST.get(text[0])
    if kind is not None:
        return kind
    if len(text) == 1:
        if text == ":":
            return "pname"  # the empty prefix's empty local name
        return "name" if text.isascii() and (text.isalpha() or text == "_") else "other"
    first = text[0]
    if first == "<":
        return "iri"
    if first == "?" or first == "$":
        return "var"
    if first == "@":
        return "langtag"
    return "pname" if ":" in text else "name"


# the kinds of short token texts met before: a query's keywords, punctuation, variables and prefixed
# names recur from one query to the next, and a dict lookup costs a third of kind_of
_KINDS_SEEN: dict[str, str] = {}
_KINDS_SEEN_MAX = 8192  # texts; then the memory starts again
_KINDS_SEEN_LENGTH = 64  # characters: longer texts (IRIs, literals) are told afresh


def kinds_of(texts: Iterable[str]) -> list[str]:
    """:func:`kind_of` of each text."""
    seen = _KINDS_SEEN
    return [seen.get(text) or _kind_remembered(text) for text in texts]


def _kind_remembered(text: str) -> str:
    kind = kind_of(text)
    if len(text) <= _KINDS_SEEN_LENGTH:
        if len(_KINDS_SEEN) >= _KINDS_SEEN_MAX:
            _KINDS_SEEN.clear()
        _KINDS_SEEN[text] = kind
    return kind


@dataclass
class Shape:
    """What the endpoint needs to know of a query before running it."""

    form: str | None  # SELECT, ASK, CONSTRUCT, DESCRIBE; UPDATE for an update; None: unknown
    services: list[str | None] = field(default_factory=list)  # SERVICE targets (None: a variable)
    dataset_iris: list[str] = field(default_factory=list)  # FROM and FROM NAMED IRIs
    # calls a function whose value changes from one run to the next (RAND, NOW, UUID, STRUUID, BNODE):
    # its results are not the data's alone, so they are never cached
    volatile: bool = False


# https://www.w3.org/TR/sparql11-query/#func-rand and the others whose value is new on every call
VOLATILE_FUNCTIONS = frozenset({"RAND", "NOW", "UUID", "STRUUID", "BNODE"})
# Words that oblige shape() to read the whole query; without any of them (in any case, anywhere in
# the text) it stops at the query form, after the prologue: most queries are read no further.
_READ_ON = ("service", "from", "rand", "now", "uuid", "bnode")
# an IRI with a scheme and no dot segments resolves to itself (RFC 3986 §5.2.2): urljoin is skipped
_ABSOLUTE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")


def shape(text: str, base: str = "", texts: list[str] | None = None) -> Shape:
    """The form of a query, the services it calls, the graphs it names (IRIs resolved) and whether it
    calls a volatile function. ``texts``: the text's tokens (:func:`lex`), when the caller has them.

    The tokens are read in one pass; a token that follows ``BASE``, ``PREFIX``, ``SERVICE`` or
    ``FROM`` is read as its argument (``pending``)."""
    source = unescape(text)
    lowered = source.lower()
    read_all = any(word in lowered for word in _READ_ON)
    prefixes: dict[str, str] = {}
    current_base = base
    form: str | None = None
    services: list[str | None] = []
    dataset: list[str] = []
    volatile = False

    def resolve(kind: str, value: str) -> str | None:
        if kind == "iri":
            iri = value[1:-1]
            resolved = current_base and ("/." in iri or not _ABSOLUTE.match(iri))  # dot segments too
            return urljoin(current_base, iri) if resolved else iri
        if kind == "pname":
            prefix, _, local = value.partition(":")
            namespace = prefixes.get(prefix)
            return None if namespace is None else namespace + local.replace("\\", "")
        return None

    pending = ""  # BASE, PREFIX, PREFIX <name>, SERVICE, FROM: what the next token is read as
    declared = ""  # the prefix name of PREFIX <name>
    for value in lex(source) if texts is None else texts:
        kind = kind_of(value)
        if pending:
            waiting, pending = pending, ""
            if waiting == "BASE" and kind == "iri":
                current_base = resolve(kind, value) or current_base
                continue
            if waiting == "PREFIX" and kind == "pname":
                pending, declared = "PREFIX NAME", value.rstrip(":").partition(":")[0]
                continue
            if waiting == "PREFIX NAME" and kind == "iri":
                prefixes[declared] = resolve(kind, value) or ""
                continue
            if waiting == "SERVICE":
                if kind == "name" and value.upper() == "SILENT":
                    pending = "SERVICE"
                    continue
                services.append(resolve(kind, value))
            elif waiting == "FROM":
                if kind == "name" and value.upper() == "NAMED":
                    pending = "FROM"
                    continue
                if (iri := resolve(kind, value)) is not None:
                    dataset.append(iri)
        if kind != "name":
            continue
        word = value.upper()
        if word in ("BASE", "PREFIX", "SERVICE", "FROM"):
            pending = word
        elif form is None and word in QUERY_FORMS:
            form = word
        elif form is None and word in UPDATE_KEYWORDS:
            form = "UPDATE"
        elif word in VOLATILE_FUNCTIONS:
            volatile = True
        if form is not None and not read_all:
            break
    if pending == "SERVICE":
        services.append(None)
    return Shape(form, services, dataset, volatile)


Normal = str | tuple[str, ...]  # what normalise() gives
_APART = "\x1f"  # between tokens in a normal form: a control character, in no IRI and no query's layout


def normalise(text: str, texts: list[str] | None = None) -> Normal:
    """The query as the texts of its tokens (:func:`tokenize`: codepoint escapes replaced, whitespace
    and comments gone, which mean nothing to a SPARQL parser between tokens,
    https://www.w3.org/TR/sparql11-query/#whitespace): two texts with the same normal form are the
    same query. ``texts``: the text's tokens (:func:`lex`), when the caller has them.

    The texts are joined by a character no token holds (else they are kept apart, as a tuple, never
    equal to a string). Joined by a space, as layout would be, the pieces of a string broken by a line
    end (``"a⏎b"``, refused by any parser) would read as another query's string ``"a b"``, and the
    cached answer to the one would be served for the other."""
    if texts is None:
        texts = lex(text)
    joined = _APART.join(texts)
    if joined.count(_APART) == max(len(texts) - 1, 0):
        return joined
    return tuple(texts)


# --- update text surgery (guarded writes) -------------------------------------------------------


def brace_depths(tokens: list[Token]) -> list[int]:
    """The depth of ``{ }`` nesting after each token (a "{" counts itself in, a "}" itself out)."""
    depths, depth = [], 0
    for tok in tokens:
        if tok.kind == "other" and tok.text in ("{", "}"):
            depth += 1 if tok.text == "{" else -1
        depths.append(depth)
    return depths


def data_operations(text: str) -> list[tuple[str, str]] | None:
    """``[(INSERT|DELETE, that operation rewritten as a standalone INSERT DATA)]`` if ``text`` holds
    only INSERT DATA / DELETE DATA operations (with their prologues); otherwise None."""
    source = unescape(text)  # tokenize() gives offsets into the text with codepoint escapes replaced
    tokens = list(tokenize(text))
    depths = brace_depths(tokens)
    prologue: list[str] = []
    operations: list[tuple[str, str]] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        word = tok.text.upper() if tok.kind == "name" else ""
        if word == "PREFIX" and i + 2 < len(tokens):
            prologue.append(source[tok.offset : tokens[i + 2].offset + len(tokens[i + 2].text)])
            i += 3
        elif word == "BASE" and i + 1 < len(tokens):
            prologue.append(source[tok.offset : tokens[i + 1].offset + len(tokens[i + 1].text)])
            i += 2
        elif word in ("INSERT", "DELETE") and i + 2 < len(tokens) and tokens[i + 1].text.upper() == "DATA":
            if tokens[i + 2].text != "{":
                return None
            outside = depths[i + 2] - 1  # the matching "}" brings the depth back to this
            j = next((k for k in range(i + 3, len(tokens)) if depths[k] == outside), len(tokens))
            if j == len(tokens):
                return None
            body = source[tokens[i + 2].offset : tokens[j].offset + 1]
            operations.append((word, "\n".join(prologue) + "\nINSERT DATA " + body))
            i = j + 1
        elif tok.kind == "other" and tok.text == ";":
            i += 1
        else:
            return None
    return operations or None


def with_using(sparql: str, using: list[str], using_named: list[str]) -> str:
    """Refuse LOAD; apply the protocol's using-graph-uri / using-named-graph-uri as USING clauses.

    SPARQL 1.1 Protocol §2.2.3: the parameters are equivalent to USING / USING NAMED in every
    DELETE/INSERT operation, and are an error together with USING, USING NAMED or WITH.
    """
    tokens = list(tokenize(sparql))
    words = [t.text.upper() if t.kind == "name" else "" for t in tokens]
    if "LOAD" in words:
        raise WriteRefused(
            "LOAD is refused: writes never fetch from the network or read files", code="load_refused"
        )
    if not using and not using_named:
        return sparql
    if {"USING", "WITH"} & set(words):
        raise WriteRefused(
            "using-graph-uri/using-named-graph-uri cannot be combined with USING or WITH in the update",
            code="bad_request",
        )
    clause = " ".join([f"USING <{g}>" for g in using] + [f"USING NAMED <{g}>" for g in using_named]) + " "
    depths = brace_depths(tokens)
    inserts = [
        tok.offset
        for i, tok in enumerate(tokens)
        if depths[i] == 0 and words[i] == "WHERE" and (i == 0 or words[i - 1] != "DELETE")
    ]
    if not inserts:
        raise WriteRefused(
            "using-graph-uri applies to DELETE/INSERT … WHERE operations; this update has none",
            code="bad_request",
        )
    text = unescape(sparql)  # tokenize() gave offsets into the text with codepoint escapes replaced
    for offset in reversed(inserts):
        text = text[:offset] + clause + text[offset:]
    return text
