"""How complex a SPARQL query or update is, measured on its tokens, and the limits that refuse it
before Oxigraph sees it.

Oxigraph's parser, optimizer and evaluator recurse over the query: nested deeply enough, a query
overflows the stack of the thread running it, and Rust aborts the whole process ("fatal runtime
error: stack overflow") — the engine, or, for pyoxigraph, this Python process. And its join
optimizer takes time that grows steeply with the number of patterns joined in one group, before
any timeout can stop it (a 128-pattern star: seconds of CPU the engine spends whatever the
timeout). ``bench/overflow.py`` measures both, construct by construct; the limits below sit well
under what it finds (the margins are in ``bench/RESULTS.md``).

:func:`measure` walks the tokens of :mod:`kg.rdf.sparql` (their texts, :func:`kg.rdf.sparql.lex`)
once, keeping a stack of the brackets it is in and, inside groups, where it is in a triple (subject,
verb, object), which is enough to tell a property path's parenthesis from an expression's or a
collection's. What it counts (:class:`Complexity`):

- ``query_length``: characters;
- ``group_depth``: ``{ }`` nesting (groups, OPTIONAL, MINUS, UNION branches, GRAPH, subqueries, EXISTS);
- ``optional_depth``: OPTIONAL blocks nested in one another;
- ``expression_depth``: nesting of parentheses and brackets outside property paths: expressions and
  function calls, collections ``( )``, blank node lists ``[ ]``, triple terms ``<<( )>>``;
- ``path_depth``: parentheses nested in one property path;
- ``triple_patterns``: the most patterns joined in one group, as the optimizer sees them: every
  triple pattern (with those ``;``, ``,``, ``[ ]``, collections and path sequences stand for), plus
  one for every nested group; a group nested plainly in another (``{ … { … } }``, ``GRAPH``) is
  joined with it, so its patterns count there too. Data blocks and templates are not joins;
- ``union_branches``: UNION branches in the whole query;
- ``bindings``: expressions bound to a variable (``BIND(… AS ?v)``, ``SELECT (… AS ?v)``): a chain
  of them costs the optimizer time growing with its square (5,000: about 3 s).

The same limits apply to updates (their ``WHERE`` patterns as joins; ``INSERT DATA`` is data).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

from kg.errors import QueryTooComplex
from kg.rdf.sparql import kinds_of, lex


@dataclass(frozen=True)
class Complexity:
    """What :func:`measure` counts (see the module's docstring)."""

    query_length: int = 0
    group_depth: int = 0
    optional_depth: int = 0
    expression_depth: int = 0
    path_depth: int = 0
    triple_patterns: int = 0
    union_branches: int = 0
    bindings: int = 0


@dataclass(frozen=True)
class Limits:
    """The largest :class:`Complexity` accepted. Each is a setting (``max_<measure>`` in
    :class:`kg.config.Settings`); the defaults are safe for the engine as :mod:`kg.engine.process`
    runs it and for pyoxigraph on :func:`kg.rdf.stacks.on_deep_stack`."""

    query_length: int = 100_000
    group_depth: int = 64
    optional_depth: int = 16
    expression_depth: int = 64
    path_depth: int = 32
    triple_patterns: int = 64
    union_branches: int = 256
    bindings: int = 1000

    def check(self, complexity: Complexity, *, what: str = "query") -> None:
        """Raise :class:`QueryTooComplex` naming the first limit ``complexity`` exceeds."""
        for name in _MEASURES:  # on every query's path: the names listed once, not asked of fields()
            limit, measured = getattr(self, name), getattr(complexity, name)
            if measured > limit:
                raise QueryTooComplex(
                    f"the {what} is too complex: {DESCRIPTIONS[name]} is {measured}, more than the "
                    f"limit of {limit} (setting max_{name}); simplify it or split it",
                    limit=f"max_{name}",
                    value=limit,
                    measured=measured,
                )

    def check_length(self, length: int, *, what: str = "query") -> None:
        """The length alone, before the text is read any further."""
        if length > self.query_length:
            self.check(Complexity(query_length=length), what=what)

    def check_text(self, text: str, *, what: str = "query") -> None:
        self.check_length(len(text), what=what)
        self.check(measure(text), what=what)


_MEASURES = tuple(f.name for f in fields(Limits))

DESCRIPTIONS = {
    "query_length": "its length in characters",
    "group_depth": "the nesting of its { } groups",
    "optional_depth": "the nesting of its OPTIONAL blocks",
    "expression_depth": "the nesting of parentheses and brackets in its expressions and terms",
    "path_depth": "the nesting of parentheses in a property path",
    "triple_patterns": "the number of patterns joined in one group",
    "union_branches": "the number of its UNION branches",
    "bindings": "the number of expressions it binds to variables (… AS ?v)",
}

# --- the walk ------------------------------------------------------------------------------------

# What a group's braces are, for its patterns.
_JOINED = "joined"  # a plain group or GRAPH's: its patterns are joined with its parent's
_SCOPE = "scope"  # the query pattern, OPTIONAL, MINUS, a UNION branch, EXISTS, SERVICE, a subquery
_DATA = "data"  # INSERT DATA / DELETE DATA, templates, VALUES: not joins

# Where a group (or a blank node list) is in its current triple.
_SUBJECT, _VERB, _OBJECT, _AFTER, _GRAPH_NAME, _CONSTRAINT, _MODIFIERS = range(7)

_TERMS = frozenset({"iri", "pname", "var", "string", "number"})
_TERM_NAMES = frozenset({"A", "TRUE", "FALSE", "UNDEF"})
_OUTER = frozenset({"VALUES", "DATA", "CONSTRUCT", "INSERT", "DELETE", "WHERE", "EXISTS"})
_TERMS_OR_NAME = _TERMS | {"name"}  # a name here is one of _TERM_NAMES (a, true, false, UNDEF)
# in a group, the keywords that decide what the next "{" is
_PENDING_IN_GROUP = frozenset({"OPTIONAL", "MINUS", "UNION", "EXISTS", "VALUES"}) | (_OUTER - {"WHERE"})


class _Frame:
    """An open bracket: "{" (a group), "[" (a blank node list) or "(" (expression, path, collection,
    triple term)."""

    __slots__ = ("bracket", "clause", "first_branch", "kind", "operands", "optional", "role", "state")

    def __init__(self, bracket: str, kind: str, role: str = "") -> None:
        self.bracket = bracket
        self.kind = kind  # "{": _JOINED, _SCOPE, _DATA; "(": expression, path, collection, term; "[": list
        self.role = role  # the keyword that opened a group (OPTIONAL, UNION, EXISTS, SELECT, …)
        self.operands = 0
        self.state = _VERB if bracket == "[" else _SUBJECT
        self.optional = role == "OPTIONAL"
        self.first_branch = False
        self.clause = False  # in a subquery's SELECT clause, before its WHERE group


def measure(text: str) -> Complexity:
    """The :class:`Complexity` of a query or update."""
    return measure_texts(lex(text), len(text))


# The walk below reads a term's kind, never its text: queries that differ only in their terms (a
# client's template filled in again and again) have the same skeleton and the same walk. The walks of
# the last skeletons are remembered (short ones only: a skeleton is kept as one string, a few bytes a
# token): the walk is most of measuring a new query's text (18 of 40 µs, bench/RESULTS.md).
_SKELETON_TERMS = {kind: f" {kind}" for kind in ("iri", "pname", "var", "string", "number", "langtag")}
_WALKED: dict[str, tuple[int, ...]] = {}  # skeleton -> what the walk found
_WALKED_MAX = 2048  # skeletons; then the memory starts again
_WALKED_TOKENS = 512  # a query of more tokens is walked afresh each time


def measure_texts(texts: Sequence[str], length: int) -> Complexity:
    """The :class:`Complexity` of a query or update already read into its tokens' texts
    (:func:`kg.rdf.sparql.lex`); ``length``: its length in characters."""
    kinds = kinds_of(texts)
    return measure_skeleton(texts, kinds, skeleton(texts, kinds), length)


def skeleton(texts: Sequence[str], kinds: Sequence[str]) -> str | None:
    """The tokens with every term (IRI, prefixed name, variable, literal, language tag) replaced by its
    kind, as one string; None for a text of more than :data:`_WALKED_TOKENS` tokens (not remembered).
    Two texts with the same skeleton differ only in their terms. A term stands as ``" " + kind``,
    which no other token's text can be (none starts with a space); the tokens are joined by ``\\x1f``,
    which none holds."""
    if len(texts) > _WALKED_TOKENS:
        return None
    terms = _SKELETON_TERMS
    return "\x1f".join([terms.get(kind) or text for kind, text in zip(kinds, texts, strict=True)])


def measure_skeleton(
    texts: Sequence[str], kinds: Sequence[str], skeleton: str | None, length: int
) -> Complexity:
    """:func:`measure_texts` with the tokens' kinds and the :func:`skeleton` already made."""
    if skeleton is None:
        return Complexity(length, *_walk(texts, kinds))
    walked = _WALKED.get(skeleton)
    if walked is None:
        walked = _walk(texts, kinds)
        if len(_WALKED) >= _WALKED_MAX:
            _WALKED.clear()
        _WALKED[skeleton] = walked
    return Complexity(length, *walked)


def _walk(texts: Sequence[str], kinds: Sequence[str]) -> tuple[int, int, int, int, int, int, int]:
    """What :class:`Complexity` counts but the length: one pass, no recursion (the text may be nested
    thousands deep)."""
    closing: dict[int, int] | None = None  # made when first needed: few queries nest plain groups
    stack: list[_Frame] = []
    groups: list[_Frame] = []  # the "{" frames of the stack
    depth = {"group": 0, "optional": 0, "expression": 0, "path": 0}
    most = dict.fromkeys(depth, 0)
    most_operands = branches = bindings = 0
    pending = ""  # the keyword that decides what the next "{" is
    n = len(texts)

    def add(count: int) -> None:
        """Patterns joined in the current group (if it is a join)."""
        if groups and groups[-1].kind != _DATA:
            groups[-1].operands += count

    def term_done(frame: _Frame | None) -> None:
        """A term (or a bracketed one) ended inside ``frame``: its triple moves along."""
        if frame is None:
            return
        if frame.bracket == "(":
            if frame.kind == "collection":
                add(2)  # rdf:first and rdf:rest
            return
        if frame.state == _SUBJECT:
            frame.state = _VERB
        elif frame.state == _VERB:
            frame.state = _OBJECT
        elif frame.state == _OBJECT:
            frame.state = _AFTER
            add(1)
        elif frame.state == _GRAPH_NAME:
            frame.state = _SUBJECT

    def push(frame: _Frame, measure: str) -> None:
        stack.append(frame)
        if frame.bracket == "{":
            groups.append(frame)
        depth[measure] += 1
        most[measure] = max(most[measure], depth[measure])
        if frame.optional:
            depth["optional"] += 1
            most["optional"] = max(most["optional"], depth["optional"])

    i = 0
    while i < n:
        kind, text = kinds[i], texts[i]
        top = stack[-1] if stack else None
        if kind == "name" and (word := text.upper()) not in _TERM_NAMES:
            bindings += word == "AS"
            if top is None or top.bracket == "(":
                if word in _OUTER:
                    pending = "" if word == "WHERE" else word
            elif top.bracket == "{":
                if word in _PENDING_IN_GROUP:
                    pending = word
                elif word in ("GRAPH", "SERVICE"):
                    pending, top.state = word, _GRAPH_NAME
                elif word in ("FILTER", "BIND"):
                    top.state = _CONSTRAINT
                elif word == "SELECT":
                    top.clause = True
                    if top.kind == _JOINED:
                        top.kind, top.role = _SCOPE, word  # a subquery is optimized on its own
        elif kind in _TERMS_OR_NAME:
            if kind == "string" and i + 2 < n and texts[i + 1] == "^" and texts[i + 2] == "^":
                i += 3  # "…"^^<datatype>: the datatype is part of the literal
            if top is not None and top.state != _MODIFIERS and top.state != _CONSTRAINT:
                term_done(top)
        elif text == "{":
            parent = groups[-1] if groups else None
            if pending in ("OPTIONAL", "MINUS", "EXISTS", "SERVICE", "UNION"):
                frame = _Frame("{", _SCOPE, pending)
                branches += pending == "UNION"
            elif pending in ("VALUES", "DATA", "CONSTRUCT", "INSERT", "DELETE") or (
                parent is not None and parent.kind == _DATA
            ):
                frame = _Frame("{", _DATA, pending)
            elif parent is None or parent.clause:
                frame = _Frame("{", _SCOPE, "WHERE")  # the query's (or a subquery's) pattern
                if parent is not None:
                    parent.clause = False
            else:
                frame = _Frame("{", _JOINED, pending)
                if closing is None:
                    closing = _closing_braces(texts)
                after = closing.get(i, n) + 1
                if after < n and kinds[after] == "name" and texts[after].upper() == "UNION":
                    frame.kind, frame.role, frame.first_branch = _SCOPE, "UNION", True
                    branches += 1
            pending = ""
            push(frame, "group")
        elif text == "}":
            if top is None or top.bracket != "{":
                break  # unbalanced: the engine will say where
            stack.pop()
            groups.pop()
            depth["group"] -= 1
            depth["optional"] -= top.optional
            parent = groups[-1] if groups else None
            if top.kind == _SCOPE:
                most_operands = max(most_operands, top.operands)
                joins = top.role in ("OPTIONAL", "MINUS", "SERVICE", "SELECT") or top.first_branch
                if parent is not None and joins:
                    add(1)
            elif top.kind == _JOINED:
                # joined with its parent (join flattening): its patterns count there, and an
                # empty or one-pattern group still counts as one operand
                if parent is not None:
                    add(max(top.operands, 1))
                else:
                    most_operands = max(most_operands, top.operands)
            below = stack[-1] if stack else None
            if below is not None and below.bracket == "{":
                below.state = _MODIFIERS if below.role == "SELECT" and top.role == "WHERE" else _SUBJECT
        elif text == "(":
            role = _paren_role(texts, kinds, i, top)
            push(_Frame("(", role), "path" if role == "path" else "expression")
        elif text == "[":
            if i + 1 < n and texts[i + 1] == "]":  # [] is one blank node: a term
                i += 1
                term_done(top)
            else:
                push(_Frame("[", "list"), "expression")
        elif text in (")", "]"):
            if top is None or top.bracket != ("(" if text == ")" else "["):
                break
            stack.pop()
            depth["path" if top.kind == "path" else "expression"] -= 1
            below = stack[-1] if stack else None
            if below is None or below.kind == "expression":
                pass
            elif below.bracket in ("{", "[") and below.state == _CONSTRAINT:
                below.state = _SUBJECT  # FILTER(…), BIND(…) ended
            elif top.kind == "path":
                if below.bracket != "(":
                    below.state = _OBJECT  # the verb ended; its object follows
            elif top.kind in ("collection", "term", "list"):
                term_done(below)
        elif top is not None and top.bracket in ("{", "["):
            if text == ".":
                top.state = _SUBJECT
            elif text == ";":
                top.state = _VERB
            elif text == ",":
                top.state = _OBJECT
            elif text in ("/", "|") and top.state == _OBJECT:  # the property path goes on
                top.state = _VERB
                if text == "/":
                    add(1)  # a sequence step is one more join
        elif top is not None and top.kind == "path" and text == "/":
            add(1)
        i += 1
    # in Complexity's order, after query_length
    return (
        most["group"],
        most["optional"],
        most["expression"],
        most["path"],
        most_operands,
        branches,
        bindings,
    )


def _paren_role(texts: Sequence[str], kinds: Sequence[str], i: int, top: _Frame | None) -> str:
    """What the "(" at ``texts[i]`` opens: an expression, a property path, a collection or a triple
    term ``<<( … )>>``."""
    previous = texts[i - 1] if i > 0 else None
    if previous == "<":
        return "term"
    if top is None:
        return "expression"  # SELECT (… AS ?x), GROUP BY (…), ORDER BY (…)
    if top.bracket == "(":
        return {"expression": "expression", "path": "path"}.get(top.kind, "collection")
    if top.state in (_CONSTRAINT, _MODIFIERS) or top.clause:
        return "expression"
    if previous is not None and kinds[i - 1] == "name" and previous.upper() not in _TERM_NAMES:
        return "expression"  # a function call, IN (…), VALUES (…)
    if top.state == _VERB and top.kind != _DATA:
        return "path"
    return "collection"


def _closing_braces(texts: Sequence[str]) -> dict[int, int]:
    """Each "{"'s index → its "}"'s index (one pass; a token whose text is a lone brace is the brace
    itself: strings, IRIs and the other tokens that may hold one are longer)."""
    found: dict[int, int] = {}
    opened: list[int] = []
    for j, text in enumerate(texts):
        if text == "{":
            opened.append(j)
        elif text == "}" and opened:
            found[opened.pop()] = j
    return found
