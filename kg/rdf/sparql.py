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
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urljoin

from kg.errors import WriteRefused

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
    | (?P<number>[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)
    | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True)
class Token:
    kind: str  # iri, string, var, langtag, pname, name, number, other
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
    tokens: list[Token] = field(default_factory=list, repr=False)  # for kg.rdf.complexity.measure_tokens


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
    return Shape(form, services, dataset, tokens)


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
