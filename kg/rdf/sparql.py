"""A small SPARQL lexer: enough to tell a query's form and the IRIs it would call or name.

The endpoint must know, before the engine runs a query, which kind of result it will produce (to
negotiate a format) and whether it calls other services (``SERVICE``, refused unless allowed). A
substring search would be fooled by ``"SERVICE"`` in a string, an IRI or a comment, and miss
``\\u0053ERVICE``; a token stream is not. Tokens follow the terminals of the SPARQL 1.1 grammar
(https://www.w3.org/TR/sparql11-query/#grammar), loosely where only the boundaries matter.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urljoin

QUERY_FORMS = ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")
UPDATE_KEYWORDS = ("INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD", "WITH")

# https://www.w3.org/TR/sparql11-query/#codepointEscape: escapes are replaced before parsing.
_CODEPOINT_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")

_PN_CHARS = r"[A-Za-z0-9_\-\u00B7-\U000EFFFF]"
_TOKEN = re.compile(
    r"""
      (?P<ws>\s+)
    | (?P<comment>\#[^\n\r]*)
    | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
    | (?P<string>\"\"\"(?:[^"\\]|\\.|"(?!""))*(?:\"\"\"|$)
               |'''(?:[^'\\]|\\.|'(?!''))*(?:'''|$)
               |"(?:[^"\\\n\r]|\\.)*"?
               |'(?:[^'\\\n\r]|\\.)*'?)
    | (?P<var>[?$]"""
    + _PN_CHARS
    + r"""+)
    | (?P<langtag>@[A-Za-z]+(?:-[A-Za-z0-9]+)*)
    | (?P<pname>(?:[A-Za-z\u00C0-\U000EFFFF_](?:[A-Za-z0-9_.\-\u00B7-\U000EFFFF]*))?:(?:"""
    + _PN_CHARS
    + r"""|[:%.]|\\.)*)
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True)
class Token:
    kind: str  # iri, string, var, langtag, pname, name, other
    text: str
    offset: int


def unescape(text: str) -> str:
    return _CODEPOINT_ESCAPE.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), text)


def tokenize(text: str) -> Iterator[Token]:
    """The tokens of ``text`` (after codepoint escapes), without whitespace and comments."""
    for m in _TOKEN.finditer(unescape(text)):
        kind = m.lastgroup or "other"
        if kind in ("ws", "comment"):
            continue
        value = m.group()
        if kind == "pname":
            value = value.rstrip(".")  # a local name does not end with '.'; that dot ends a triple
        yield Token(kind, value, m.start())


@dataclass
class Shape:
    """What the endpoint needs to know of a query before running it."""

    form: str | None  # SELECT, ASK, CONSTRUCT, DESCRIBE; UPDATE for an update; None: unknown
    services: list[str | None] = field(default_factory=list)  # SERVICE targets (None: a variable)
    dataset_iris: list[str] = field(default_factory=list)  # FROM and FROM NAMED IRIs


def shape(text: str, base: str = "") -> Shape:
    """The form of a query, the services it calls and the graphs it names, IRIs resolved."""
    tokens = list(tokenize(text))
    prefixes: dict[str, str] = {}
    current_base = base
    form: str | None = None
    services: list[str | None] = []
    dataset: list[str] = []

    def resolve(token: Token) -> str | None:
        if token.kind == "iri":
            return urljoin(current_base, token.text[1:-1]) if current_base else token.text[1:-1]
        if token.kind == "pname":
            prefix, _, local = token.text.partition(":")
            namespace = prefixes.get(prefix)
            return None if namespace is None else namespace + local.replace("\\", "")
        return None

    i = 0
    while i < len(tokens):
        token = tokens[i]
        word = token.text.upper() if token.kind == "name" else ""
        following = tokens[i + 1] if i + 1 < len(tokens) else None
        if word == "BASE" and following is not None and following.kind == "iri":
            current_base = resolve(following) or current_base
            i += 2
            continue
        if word == "PREFIX" and following is not None and following.kind == "pname":
            after = tokens[i + 2] if i + 2 < len(tokens) else None
            if after is not None and after.kind == "iri":
                prefixes[following.text.rstrip(":").partition(":")[0]] = resolve(after) or ""
                i += 3
                continue
        if form is None and word in QUERY_FORMS:
            form = word
        elif form is None and word in UPDATE_KEYWORDS:
            form = "UPDATE"
        elif word == "SERVICE":
            target = following
            if target is not None and target.kind == "name" and target.text.upper() == "SILENT":
                target = tokens[i + 2] if i + 2 < len(tokens) else None
            services.append(resolve(target) if target is not None else None)
        elif word == "FROM":
            target = following
            if target is not None and target.kind == "name" and target.text.upper() == "NAMED":
                target = tokens[i + 2] if i + 2 < len(tokens) else None
            if target is not None and (iri := resolve(target)) is not None:
                dataset.append(iri)
        i += 1
    return Shape(form, services, dataset)
