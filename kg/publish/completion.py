"""Completion for the query workbench, from the graph itself (as QLever's UI does): where the cursor
is in a query, and what can be written there.

Two parts, no web framework:

- :func:`locate` reads a query up to the cursor with :mod:`kg.rdf.sparql`'s tokens and tells the position
  (:class:`Position`): after ``a`` (a class), a predicate, a subject or an object, a ``PREFIX``
  declaration, a variable; the subject's classes (``?s a ak:School`` anywhere in the query) and the
  predicate of an object. Loose on purpose: a query being typed does not parse.
- :class:`CompletionIndex` (built by :func:`build_index`, a handful of aggregate queries) holds the
  classes with their instance counts, the properties with their labels and usage counts (overall and
  per class of subject), and every labelled IRI with its labels in every language, folded as the
  search page folds them (:func:`kg.publish.languages.fold`: case, Kazakh letters as Russian look-alikes).
  :meth:`CompletionIndex.complete` answers a position: classes after ``a``; in predicate position the
  properties the subject's classes use (all properties if none is known or none matches); in
  subject/object position entities by a word of any of their labels (an object after a known
  predicate: those that occur as its objects), the label itself first, then labels starting with the
  text, then later words, and among equals the most used (as QLever ranks by a score); prefixed names
  by namespace, variables in scope, the service's prefixes after ``PREFIX``.

Entity labels are found by their words: a binary search in the sorted words gives those starting
with the text typed, and their lists of labels the candidates (see :class:`CompletionIndex`).
"""

from __future__ import annotations

import bisect
import heapq
import re
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import pyoxigraph as ox

from kg.engine import Engine
from kg.publish.describe import select
from kg.publish.languages import fold, language_order
from kg.rdf.iris import local_name
from kg.rdf.names import LABEL_PREDICATES, RDF_TYPE, SKOS_ALT, Names
from kg.rdf.sparql import Token, tokenize, unescape

KINDS = ("class", "property", "subject", "object", "variable", "prefix", "none")
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
# Past this many labels to rank (a prefix of one or two letters), the best are read off the front of
# the merged word lists instead, and remembered: ranking every candidate is linear in their number.
WIDE_RANGE = 2_000
MAX_REMEMBERED = 4_096
LAST_CHAR = "\U0010ffff"

# The word being completed, at the end of the text before the cursor (the first that matches).
_TYPED = (
    re.compile(r"[?$]\w*$"),  # a variable
    re.compile(r"<[^<>\"{}|^`\\\s]*$"),  # an IRI not closed yet
    re.compile(r"(?:[^\W\d][\w\-]*)?:[\w\-/%]*$"),  # a prefixed name (a "/" too: id:place/…)
    re.compile(r"\w[\w\-]*$"),  # a word of a label
)
# PN_LOCAL without escapes (https://www.w3.org/TR/sparql11-query/#rPN_LOCAL): what can be written
# as prefix:local; anything else is written <iri>.
_PN_LOCAL = re.compile(r"[\w:](?:[\w\-.:]*[\w\-:])?")

GROUP_KEYWORDS = {"OPTIONAL", "MINUS", "UNION", "GRAPH", "SERVICE", "SILENT", "NOT", "EXISTS"}
EXPRESSION_KEYWORDS = {"FILTER", "BIND", "HAVING"}
OUTSIDE_KEYWORDS = {
    "SELECT",
    "CONSTRUCT",
    "DESCRIBE",
    "ASK",
    "WHERE",
    "FROM",
    "NAMED",
    "ORDER",
    "GROUP",
    "BY",
    "LIMIT",
    "OFFSET",
    "DISTINCT",
    "REDUCED",
    "ASC",
    "DESC",
    "BASE",
}


# --- where the cursor is -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Position:
    """What may be written at the cursor, and what the query around it says."""

    kind: str  # one of KINDS
    typed: str  # the text of the word being completed (it is replaced)
    subject: str | None = None  # the subject's term, in predicate position
    predicate: str | None = None  # the predicate's IRI, in object position
    subject_classes: tuple[str, ...] = ()  # classes the query gives the subject (variable)
    variables: tuple[str, ...] = ()  # every variable of the query, in order of appearance
    prefixes: dict[str, str] = field(default_factory=dict)  # declared in the query


@dataclass
class _Walk:
    """A loose reading of a query's triple patterns, token by token."""

    fallback: dict[str, str]
    prefixes: dict[str, str] = field(default_factory=dict)
    stack: list[str] = field(default_factory=list)  # "{", "(", "[", "values"
    # outside, subject, predicate, object, after_object, expr, keyword, keyword_expr, values_head,
    # values, prefix_name, prefix_iri
    state: str = "outside"
    subject: str | None = None
    predicate: str | None = None
    inverse: bool = False  # the predicate is a path starting with "^"
    datatype: bool = False  # a "^^" was read: the next IRI is a literal's datatype
    declaring: str = ""  # the prefix of a PREFIX declaration being read
    saved: list[tuple[str | None, str]] = field(default_factory=list)  # around "( … )" and "[ … ]"
    triples: list[tuple[str, str, str]] = field(default_factory=list)

    def resolve(self, term: str | None) -> str | None:
        if term is None:
            return None
        if term == "a":
            return RDF_TYPE
        return _iri_of(term, {**self.fallback, **self.prefixes})

    def _enclosing(self) -> str:
        top = self.stack[-1] if self.stack else ""
        return {"{": "subject", "(": "expr", "values": "values", "[": "predicate"}.get(top, "outside")

    def _term(self, text: str) -> None:
        if self.datatype:
            self.datatype = False
        elif self.state in ("subject", "after_object"):
            self.subject, self.state = text, "predicate"
        elif self.state == "predicate":
            self.predicate, self.inverse, self.state = text, False, "object"
        elif self.state == "object":
            if self.subject is not None and self.predicate is not None and not self.inverse:
                self.triples.append((self.subject, self.predicate, text))
            self.state = "after_object"

    def _open(self, bracket: str, state: str) -> None:
        self.saved.append((self.subject, self.state))
        self.stack.append(bracket)
        self.state = state

    def step(self, token: Token) -> None:
        text, kind = token.text, token.kind
        word = text.upper() if kind == "name" else ""
        if self.state == "prefix_name":
            self.declaring = text.rstrip(":").partition(":")[0]
            self.state = "prefix_iri" if kind == "pname" else self._enclosing()
        elif self.state == "prefix_iri":
            if kind == "iri":
                self.prefixes[self.declaring] = text[1:-1]
            self.state = self._enclosing()
        elif word == "PREFIX":
            self.state = "prefix_name"
        elif text == "{":
            if self.state == "values_head":
                self.stack.append("values")
                self.state = "values"
            else:
                self.stack.append("{")
                self.state, self.subject, self.predicate = "subject", None, None
        elif text == "}":
            if self.stack:
                self.stack.pop()
            self.state = self._enclosing()
        elif text == "(":
            self._open("(", "expr")
        elif text == ")" and self.stack and self.stack[-1] == "(":
            self.stack.pop()
            subject, state = self.saved.pop()
            if state in ("subject", "object", "after_object"):  # an RDF collection: one term
                self.subject, self.state = subject, state
                self._term("( )")
            else:  # after FILTER( … ) or BIND( … ) a new triple may start
                self.state = "subject" if state == "keyword_expr" else state
        elif text == "[" and self.state in ("subject", "object", "after_object"):
            self._open("[", "predicate")
            self.subject = "[]"
        elif text == "]" and self.stack and self.stack[-1] == "[":
            self.stack.pop()
            subject, state = self.saved.pop()
            if state == "object":
                self.subject, self.state = subject, "after_object"
            else:
                self.subject, self.state = "[]", "predicate"
        elif text == "." and self.state in ("subject", "predicate", "object", "after_object"):
            self.state = "subject"
        elif text == ";" and self.state in ("predicate", "object", "after_object"):
            self.state = "predicate"
        elif text == "," and self.state in ("object", "after_object"):
            self.state = "object"
        elif text in ("/", "|") and self.state == "object":
            self.state = "predicate"  # a path goes on; its last step is the predicate of the object
        elif text == "^":
            if self.state == "after_object":
                self.datatype = True
            elif self.state == "predicate":
                self.inverse = True
        elif word in EXPRESSION_KEYWORDS:
            self.state = "keyword_expr"
        elif word in GROUP_KEYWORDS:
            self.state = "keyword"
        elif word == "VALUES":
            self.state = "values_head"
        elif word in OUTSIDE_KEYWORDS:
            self.state = "outside"
        elif kind in ("var", "iri", "pname", "name") or (
            kind in ("string", "number") and self.state == "object"
        ):
            self._term(text)


_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def _tokens(text: str) -> list[Token]:
    """:func:`kg.lexer.tokenize`, with numbers as one token each (the lexer leaves digits alone)."""
    found: list[Token] = []
    skip_to = -1
    for token in tokenize(text):
        if token.offset < skip_to:
            continue
        if token.kind == "other" and (token.text.isdigit() or token.text in "+-."):
            m = _NUMBER.match(text, token.offset)
            if m and any(c.isdigit() for c in m.group()):
                found.append(Token("number", m.group(), token.offset))
                skip_to = m.end()
                continue
        found.append(token)
    return found


def _typed_at_end(text: str) -> str:
    for pattern in _TYPED:
        m = pattern.search(text)
        if m:
            return m.group()
    return ""


def locate(
    query: str, cursor: int | None = None, *, service_prefixes: dict[str, str] | None = None
) -> Position:
    """Where ``cursor`` (a character offset; the end by default) is in ``query``. Undeclared prefixes
    are read with ``service_prefixes`` (the workbench declares them as they are typed)."""
    fallback = service_prefixes or {}
    text = unescape(query)
    cursor = len(text) if cursor is None else max(0, min(cursor, len(text)))
    before = text[:cursor]
    typed = _typed_at_end(before)
    head = before[: len(before) - len(typed)]
    head_tokens = _tokens(head)
    whole = _walk(_tokens(head + " " * len(typed) + text[cursor:]), fallback)
    variables = tuple(dict.fromkeys(t.text[1:] for t in _tokens(head + text[cursor:]) if t.kind == "var"))
    if _in_string_or_comment(head, head_tokens):
        return Position("none", typed, variables=variables, prefixes=whole.prefixes)
    walk = _walk(head_tokens, fallback)
    state = walk.state
    kind = "none"
    subject, predicate, classes = walk.subject, None, _classes_of(whole, walk.subject)
    if state == "prefix_name":
        kind = "prefix"
    elif typed.startswith(("?", "$")):
        kind = "variable"
    elif state == "predicate":
        kind = "property"
    elif state == "object":
        predicate = None if walk.inverse else walk.resolve(walk.predicate)
        kind = "class" if predicate == RDF_TYPE else "object"
    elif state == "subject" or (state == "after_object" and typed):
        kind = "subject"
    elif state in ("values", "expr") and walk.stack:
        kind = "object"
    if kind not in ("property", "object", "class"):
        subject, classes = None, ()
    return Position(
        kind,
        typed,
        subject=subject,
        predicate=predicate,
        subject_classes=classes,
        variables=variables,
        prefixes=whole.prefixes,
    )


def _walk(tokens: Iterable[Token], fallback: dict[str, str]) -> _Walk:
    walk = _Walk(fallback)
    for token in tokens:
        walk.step(token)
    return walk


def _classes_of(walk: _Walk, subject: str | None) -> tuple[str, ...]:
    """The classes the query gives a variable (``?s a ak:School``, ``?s rdf:type …``)."""
    if subject is None or not subject.startswith(("?", "$")):
        return ()
    found: dict[str, None] = {}
    for s, p, o in walk.triples:
        if s[:1] in "?$" and s[1:] == subject[1:] and walk.resolve(p) == RDF_TYPE:
            iri = walk.resolve(o)
            if iri is not None:
                found[iri] = None
    return tuple(found)


def _in_string_or_comment(head: str, tokens: Sequence[Token]) -> bool:
    """Whether the end of ``head`` is inside a string or a comment (the tokens leave comments out)."""
    end = 0
    if tokens:
        last = tokens[-1]
        end = last.offset + len(last.text)
        if last.kind == "string" and end == len(head) and not _closed(last.text):
            return True
    rest = head[end:]
    hash_at = rest.rfind("#")
    return hash_at >= 0 and "\n" not in rest[hash_at:]


def _closed(literal: str) -> bool:
    quote = literal[:3] if literal[:3] in ('"""', "'''") else literal[:1]
    body = literal[len(quote) :]
    if not body.endswith(quote):
        return False
    inner = body[: len(body) - len(quote)]
    return (len(inner) - len(inner.rstrip("\\"))) % 2 == 0


# --- what the graph offers ---------------------------------------------------------------------------


@dataclass
class Term:
    """A class or a property: its IRI, how often the data use it, its labels, its match keys."""

    iri: str
    count: int
    labels: list[tuple[str, str]] = field(default_factory=list)  # (value, language)
    keys: list[str] = field(default_factory=list)  # folded labels and local name


@dataclass(frozen=True)
class Item:
    """One proposal: the text to insert and what to show."""

    insert: str
    label: str
    kind: str  # class, property, entity, variable, prefix
    iri: str | None = None
    detail: str = ""
    count: int | None = None
    matched: str | None = None  # the label that matched, when it is not the one shown
    matched_lang: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {k: v for k, v in self.__dict__.items() if v is not None and v != ""}


@dataclass(frozen=True)
class Completion:
    position: Position
    items: list[Item]

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": self.position.kind,
            "typed": self.position.typed,
            "items": [item.to_dict() for item in self.items],
        }


def short_name(iri: str, prefixes: dict[str, str]) -> str:
    """``prefix:local`` when the local part needs no escape (the longest namespace wins), else ``<iri>``."""
    best: tuple[str, str] | None = None
    for prefix, ns in prefixes.items():
        if iri.startswith(ns) and (best is None or len(ns) > len(best[1])):
            local = iri[len(ns) :]
            if local == "" or _PN_LOCAL.fullmatch(local):
                best = (prefix, ns)
    return f"{best[0]}:{iri[len(best[1]) :]}" if best else f"<{iri}>"


def _word_rank(folded: str, key: str) -> int | None:
    """0: the label is ``key``; 1: it starts with it; 2: a later word does; None: no match."""
    if folded.startswith(key):
        return 0 if len(folded) == len(key) else 1
    start = folded.find(key, 1)
    while start > 0:
        if not folded[start - 1].isalnum() and folded[start].isalnum():
            return 2
        start = folded.find(key, start + 1)
    return None


def pick_label(labels: Sequence[tuple[str, str]], lang: str) -> tuple[str, str] | None:
    """The label a reader of ``lang`` sees: by :func:`kg.publish.languages.language_order`, then untagged."""
    if not labels:
        return None
    rank = {code: i for i, code in enumerate(language_order(lang))}
    return min(
        labels, key=lambda lv: (rank.get(lv[1].split("-")[0], len(rank) + (0 if not lv[1] else 1)), lv[0])
    )


_WORD = re.compile(r"[^\W_]+")


class CompletionIndex:
    """What completion proposes, built once per data version (see :func:`build_index`).

    Entities are numbered by score, most used first, and so are their labels: a posting list (the
    labels in which a word occurs, in ascending order) lists the most used entities first, and the
    best entities of a common prefix are the first ones of a merge of its words' lists.
    """

    def __init__(
        self,
        prefixes: dict[str, str],
        classes: dict[str, int],
        properties: dict[str, int],
        labels: Iterable[tuple[str, str, str, bool]],  # (iri, value, language, alternative)
        types: Iterable[tuple[str, str]],  # (iri, class)
        links: Iterable[tuple[str, str, int]],  # (predicate, object IRI, count)
        class_properties: Iterable[tuple[str, str, int]],  # (class, predicate, count)
        fallback_labels: Mapping[str, Sequence[tuple[str, str]]] | None = None,  # (value, language)
    ):
        self.prefixes = dict(prefixes)
        by_iri: dict[str, list[tuple[str, str, bool]]] = {}
        for iri, value, lang, alternative in labels:
            by_iri.setdefault(iri, []).append((value, lang, alternative))
        for iri, gap_labels in (fallback_labels or {}).items():  # only where the data have none
            if iri not in by_iri:
                by_iri[iri] = [(value, lang, False) for value, lang in gap_labels]
        score: dict[str, int] = {}
        objects: dict[str, list[str]] = {}
        for predicate, obj, count in links:
            if obj in by_iri:
                score[obj] = score.get(obj, 0) + count
                objects.setdefault(predicate, []).append(obj)
        # entities: every labelled IRI, the most used first
        self.entity_iris = sorted(by_iri, key=lambda iri: (-score.get(iri, 0), iri))
        self.entity_ids = {iri: e for e, iri in enumerate(self.entity_iris)}
        self.entity_score = array("q", (score.get(iri, 0) for iri in self.entity_iris))
        self.label_start = array("i")  # the labels of entity e are label_start[e] … label_start[e + 1] - 1
        self.label_values: list[str] = []
        self.label_langs: list[str] = []
        self.label_folded: list[str] = []
        self.label_alt = bytearray()
        self.label_entity = array("i")
        postings: dict[str, array[int]] = {}
        langs: dict[str, str] = {}
        for e, iri in enumerate(self.entity_iris):
            self.label_start.append(len(self.label_values))
            for value, lang, alternative in by_iri[iri]:
                lid = len(self.label_values)
                folded = fold(value)
                self.label_values.append(value)
                self.label_langs.append(langs.setdefault(lang, lang))
                self.label_folded.append(folded)
                self.label_alt.append(alternative)
                self.label_entity.append(e)
                for word in set(_WORD.findall(folded)):
                    found = postings.get(word)
                    if found is None:
                        found = postings[word] = array("i")
                    found.append(lid)
        self.label_start.append(len(self.label_values))
        self.words = sorted(postings)
        self.postings = [postings[w] for w in self.words]
        self.entity_types: list[tuple[str, ...]] = [()] * len(self.entity_iris)
        by_entity: dict[int, set[str]] = {}
        for iri, cls in types:
            typed_entity = self.entity_ids.get(iri)
            if typed_entity is not None:
                by_entity.setdefault(typed_entity, set()).add(cls)
        for e, found_types in by_entity.items():
            self.entity_types[e] = tuple(sorted(found_types))
        self.objects_of = {p: {self.entity_ids[o] for o in objs} for p, objs in objects.items()}
        self.class_properties: dict[str, dict[str, int]] = {}
        for cls, predicate, count in class_properties:
            self.class_properties.setdefault(cls, {})[predicate] = count
        self.classes = [
            self._term(iri, n) for iri, n in sorted(classes.items(), key=lambda kv: (-kv[1], kv[0]))
        ]
        self.properties = [
            self._term(iri, n) for iri, n in sorted(properties.items(), key=lambda kv: (-kv[1], kv[0]))
        ]
        self.sorted_iris = sorted(self.entity_iris)
        self._remembered: dict[str, list[tuple[int, int]]] = {}

    def entity_labels(self, e: int) -> range:
        """The label ids of entity ``e``."""
        return range(self.label_start[e], self.label_start[e + 1])

    def _term(self, iri: str, count: int) -> Term:
        term = Term(iri, count)
        e = self.entity_ids.get(iri)
        if e is not None:
            term.labels = [(self.label_values[lid], self.label_langs[lid]) for lid in self.entity_labels(e)]
            term.keys = [self.label_folded[lid] for lid in self.entity_labels(e)]
        term.keys.append(fold(local_name(iri)))
        return term

    # --- lookups ---

    def label(self, iri: str, lang: str) -> tuple[str, str] | None:
        """The label of ``iri`` for a reader of ``lang`` (value, language), if it has one."""
        e = self.entity_ids.get(iri)
        if e is None:
            return None
        lids = self.entity_labels(e)
        main = [lid for lid in lids if not self.label_alt[lid]] or list(lids)
        return pick_label([(self.label_values[lid], self.label_langs[lid]) for lid in main], lang)

    def _words(self, key: str) -> range:
        """The positions in :attr:`words` of the words starting with ``key``."""
        lo = bisect.bisect_left(self.words, key)
        return range(lo, bisect.bisect_left(self.words, key + LAST_CHAR, lo))

    def _rank(self, key: str, lids: Iterable[int], limit: int) -> list[tuple[int, int]]:
        """The best ``limit`` (entity, label) among labels known to contain a word starting with
        ``key``: the label is ``key``, then starts with it, then the rest; more used entities first."""
        best: dict[int, tuple[int, int, int, int]] = {}
        folded, entity_of = self.label_folded, self.label_entity
        for lid in lids:
            text = folded[lid]
            rank = (0 if len(text) == len(key) else 1) if text.startswith(key) else 2
            e = entity_of[lid]
            candidate = (rank, e, len(text), lid)  # e: entities are numbered most used first
            found = best.get(e)
            if found is None or candidate < found:
                best[e] = candidate
        return [(c[1], c[3]) for c in heapq.nsmallest(limit, best.values())]

    def find_entities(
        self, text: str, limit: int = DEFAULT_LIMIT, allowed: set[int] | None = None
    ) -> list[tuple[int, int]]:
        """Entities with a label a word of which starts with ``text`` (folded), best first, each with
        the label that matched; only those in ``allowed`` if given."""
        key = fold(text)
        if not key:
            pool = sorted(allowed) if allowed is not None else range(len(self.entity_iris))
            return [(e, self.entity_labels(e)[0]) for e in pool[:limit]]
        first = _WORD.match(key)
        if first is None:
            return []
        word = first.group()  # the lists are of words; the whole key is checked on the labels
        if allowed is not None and len(allowed) <= 4 * WIDE_RANGE:
            lids = (
                lid
                for e in allowed
                for lid in self.entity_labels(e)
                if _word_rank(self.label_folded[lid], key) is not None
            )
            return self._rank(key, lids, limit)
        words = self._words(word)
        size = sum(len(self.postings[w]) for w in words)
        if size <= WIDE_RANGE:
            lids = (
                lid
                for w in words
                for lid in self.postings[w]
                if key == word or _word_rank(self.label_folded[lid], key) is not None
            )
            return self._rank(
                key, (lid for lid in lids if allowed is None or self.label_entity[lid] in allowed), limit
            )
        if allowed is None and key in self._remembered and len(self._remembered[key]) >= limit:
            return self._remembered[key][:limit]
        # a common prefix: the first entities of the merged lists are the most used ones
        wanted = max(limit, MAX_LIMIT) if allowed is None else limit
        seen: set[int] = set()
        candidates: list[int] = []
        for lid in heapq.merge(*(self.postings[w] for w in words)):
            e = self.label_entity[lid]
            if e in seen or (allowed is not None and e not in allowed):
                continue
            if key != word and _word_rank(self.label_folded[lid], key) is None:
                continue
            seen.add(e)
            candidates.append(lid)
            if len(seen) >= wanted:
                break
        ranked = self._rank(key, candidates, wanted)
        if allowed is None and len(self._remembered) < MAX_REMEMBERED:
            self._remembered[key] = ranked
        return ranked[:limit]

    def entities_by_iri(self, prefix: str, limit: int, allowed: set[int] | None = None) -> list[int]:
        """Entities whose IRI starts with ``prefix``, most used first."""
        lo = bisect.bisect_left(self.sorted_iris, prefix)
        found: list[int] = []
        for iri in self.sorted_iris[lo:]:
            if not iri.startswith(prefix):
                break
            e = self.entity_ids[iri]
            if allowed is None or e in allowed:
                found.append(e)
        return heapq.nsmallest(limit, found)

    # --- completion ---

    def complete(
        self,
        query: str,
        cursor: int | None = None,
        *,
        lang: str = "en",
        limit: int = DEFAULT_LIMIT,
        explicit: bool = False,
    ) -> Completion:
        """The proposals at ``cursor`` in ``query``, labels in ``lang``."""
        limit = max(1, min(limit, MAX_LIMIT))
        position = locate(query, cursor, service_prefixes=self.prefixes)
        prefixes = {**self.prefixes, **position.prefixes}
        typed = position.typed
        items: list[Item] = []
        if position.kind == "variable":
            items = self._variables(position, typed[1:])
        elif position.kind == "prefix":
            word = typed.rstrip(":").lower()
            items = [
                Item(f"{p}: <{ns}>", f"{p}:", "prefix", ns, detail=ns)
                for p, ns in sorted(self.prefixes.items())
                if p.lower().startswith(word)
            ]
        elif position.kind == "class":
            items = self._terms(self.classes, typed, prefixes, lang, limit, "class")
        elif position.kind == "property":
            items = self._properties(position, typed, prefixes, lang, limit)
        elif position.kind in ("subject", "object") and (typed or explicit or position.predicate):
            items = self._entities(position, typed, prefixes, lang, limit, explicit)
        if (
            position.kind in ("class", "property", "subject", "object")
            and typed[:1].isalpha()
            and ":" not in typed
        ):
            word = typed.lower()  # a prefix being typed
            items += [
                Item(f"{p}:", f"{p}:", "prefix", ns, detail=ns)
                for p, ns in sorted(prefixes.items())
                if p.lower().startswith(word)
            ][: max(0, limit - len(items))]
        return Completion(position, items[:limit])

    def _variables(self, position: Position, word: str) -> list[Item]:
        key = word.lower()
        return [Item("?" + v, "?" + v, "variable") for v in position.variables if v.lower().startswith(key)]

    def _resolve_typed(self, typed: str, prefixes: dict[str, str]) -> str | None:
        """The IRI prefix a typed ``<…`` or ``prefix:…`` stands for (None for a plain word)."""
        if typed.startswith("<"):
            return typed[1:]
        if ":" in typed:
            prefix, _, local = typed.partition(":")
            ns = prefixes.get(prefix)
            return None if ns is None else ns + local
        return None

    def _terms(
        self,
        terms: Sequence[Term],
        typed: str,
        prefixes: dict[str, str],
        lang: str,
        limit: int,
        kind: str,
        counts: dict[str, int] | None = None,
    ) -> list[Item]:
        iri_prefix = self._resolve_typed(typed, prefixes)
        if iri_prefix is None and ":" in typed:
            return []  # an unknown prefix
        key = fold(typed) if iri_prefix is None else ""
        ranked: list[tuple[tuple[int, int, str], Term, int | None]] = []
        for term in terms:
            count = term.count if counts is None else counts.get(term.iri)
            if count is None:
                continue
            if iri_prefix is not None:
                if not term.iri.lower().startswith(iri_prefix.lower()):
                    continue
                rank, matched = 0, None
            elif key:
                found = [(r, i) for i, k in enumerate(term.keys) if (r := _word_rank(k, key)) is not None]
                if not found:
                    continue
                rank, which = min(found)
                matched = which if which < len(term.labels) else None
            else:
                rank, matched = 0, None
            ranked.append(((rank, -count, term.iri), term, matched))
        ranked.sort(key=lambda r: r[0])
        items = []
        for (_, negative, _), term, matched in ranked[:limit]:
            items.append(self._term_item(term, -negative, kind, prefixes, lang, matched))
        return items

    def _term_item(
        self, term: Term, count: int, kind: str, prefixes: dict[str, str], lang: str, matched: int | None
    ) -> Item:
        insert = short_name(term.iri, prefixes)
        shown = pick_label(term.labels, lang)
        label = shown[0] if shown else insert
        matched_label = term.labels[matched] if matched is not None else None
        return Item(
            insert,
            label,
            kind,
            term.iri,
            detail=insert,
            count=count,
            matched=matched_label[0] if matched_label and matched_label[0] != label else None,
            matched_lang=matched_label[1] if matched_label and matched_label[0] != label else None,
        )

    def _properties(
        self, position: Position, typed: str, prefixes: dict[str, str], lang: str, limit: int
    ) -> list[Item]:
        classes = list(position.subject_classes)
        subject_iri = _iri_of(position.subject, prefixes)
        if subject_iri is not None and subject_iri in self.entity_ids:
            classes += self.entity_types[self.entity_ids[subject_iri]]
        counts: dict[str, int] = {}
        for cls in classes:
            for predicate, n in self.class_properties.get(cls, {}).items():
                counts[predicate] = max(counts.get(predicate, 0), n)
        if counts:
            items = self._terms(self.properties, typed, prefixes, lang, limit, "property", counts)
            if items:
                return items
        return self._terms(self.properties, typed, prefixes, lang, limit, "property")

    def _entities(
        self, position: Position, typed: str, prefixes: dict[str, str], lang: str, limit: int, explicit: bool
    ) -> list[Item]:
        allowed = self.objects_of.get(position.predicate or "") if position.kind == "object" else None
        iri_prefix = self._resolve_typed(typed, prefixes)
        if iri_prefix is None and ":" in typed:
            return []
        for pool in (allowed, None) if allowed is not None else (None,):
            found: list[tuple[int, int | None]]
            if iri_prefix is not None:
                found = [(e, None) for e in self.entities_by_iri(iri_prefix, limit, pool)]
            elif not typed and pool is None and not explicit:
                found = []
            else:
                found = list(self.find_entities(typed, limit, pool))
            if found:
                return [self._entity_item(e, lid, prefixes, lang) for e, lid in found]
        return []

    def _entity_item(self, e: int, lid: int | None, prefixes: dict[str, str], lang: str) -> Item:
        iri = self.entity_iris[e]
        shown = self.label(iri, lang)
        label = shown[0] if shown else iri
        types = []  # the labelled ones (the ontology's) first
        for cls in self.entity_types[e]:
            found = self.label(cls, lang)
            types.append((found is None, found[0] if found else short_name(cls, prefixes)))
        matched = self.label_values[lid] if lid is not None else None
        different = matched is not None and matched != label
        return Item(
            short_name(iri, prefixes),
            label,
            "entity",
            iri,
            detail=", ".join(name for _, name in sorted(types)[:3]),
            count=int(self.entity_score[e]),
            matched=matched if different else None,
            matched_lang=(self.label_langs[lid] or None) if different and lid is not None else None,
        )


def _iri_of(term: str | None, prefixes: dict[str, str]) -> str | None:
    if term is None:
        return None
    if term.startswith("<") and term.endswith(">"):
        return term[1:-1]
    if ":" in term and not term.startswith(("?", "$")):
        prefix, _, local = term.partition(":")
        ns = prefixes.get(prefix)
        return None if ns is None else ns + local
    return None


# --- building the index ----------------------------------------------------------------------------


def _iri(term: object) -> str | None:
    return term.value if isinstance(term, ox.NamedNode) else None


def _int(term: object) -> int:
    return int(term.value) if isinstance(term, ox.Literal) else 0


def _rows(engine: Engine, query: str) -> Iterator[ox.QuerySolution]:
    """The rows of a SELECT over the union of all graphs (TSV; in pages where the store cuts results)."""
    yield from select(engine, query, union=True)


LABELS_QUERY = (
    "SELECT ?s ?p ?l WHERE { VALUES ?p { "
    + " ".join(f"<{p}>" for p in (*LABEL_PREDICATES, SKOS_ALT))
    + " } ?s ?p ?l FILTER(isIRI(?s) && isLiteral(?l)) }"
)
CLASSES_QUERY = "SELECT ?c (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a ?c FILTER(isIRI(?c)) } GROUP BY ?c"
DECLARED_CLASSES_QUERY = (
    "SELECT DISTINCT ?c WHERE { VALUES ?t { <http://www.w3.org/2002/07/owl#Class> "
    "<http://www.w3.org/2000/01/rdf-schema#Class> } ?c a ?t FILTER(isIRI(?c)) }"
)
PROPERTIES_QUERY = "SELECT ?p (COUNT(*) AS ?n) WHERE { ?s ?p ?o } GROUP BY ?p"
TYPES_QUERY = "SELECT DISTINCT ?s ?c WHERE { ?s a ?c FILTER(isIRI(?s) && isIRI(?c)) }"
LINKS_QUERY = "SELECT ?p ?o (COUNT(*) AS ?n) WHERE { ?s ?p ?o FILTER(isIRI(?o)) } GROUP BY ?p ?o"
CLASS_PROPERTIES_QUERY = (
    "SELECT ?c ?p (COUNT(*) AS ?n) WHERE { ?s a ?c ; ?p ?o FILTER(isIRI(?c)) } GROUP BY ?c ?p"
)


def build_index(
    engine: Engine, names: Names, fallback_labels: Mapping[str, Sequence[tuple[str, str]]] | None = None
) -> CompletionIndex:
    """The completion index of the whole dataset (the union of its graphs, inferences included);
    ``fallback_labels`` label the IRIs the data leave unlabelled (other vocabularies' terms)."""
    classes = {c: _int(r["n"]) for r in _rows(engine, CLASSES_QUERY) if (c := _iri(r["c"]))}
    for r in _rows(engine, DECLARED_CLASSES_QUERY):
        if (c := _iri(r["c"])) is not None:
            classes.setdefault(c, 0)
    properties = {p: _int(r["n"]) for r in _rows(engine, PROPERTIES_QUERY) if (p := _iri(r["p"]))}
    # one string per class and property, however many rows name it
    shared = {**{c: c for c in classes}, **{p: p for p in properties}}
    return CompletionIndex(
        names.prefixes(),
        classes,
        properties,
        (
            (s, label.value, (label.language or "").lower(), _iri(r["p"]) == SKOS_ALT)
            for r in _rows(engine, LABELS_QUERY)
            if (s := _iri(r["s"])) is not None and isinstance(label := r["l"], ox.Literal)
        ),
        (
            (s, shared.setdefault(c, c))
            for r in _rows(engine, TYPES_QUERY)
            if (s := _iri(r["s"])) and (c := _iri(r["c"]))
        ),
        (
            (shared.setdefault(p, p), o, _int(r["n"]))
            for r in _rows(engine, LINKS_QUERY)
            if (p := _iri(r["p"])) and (o := _iri(r["o"]))
        ),
        (
            (shared.setdefault(c, c), shared.setdefault(p, p), _int(r["n"]))
            for r in _rows(engine, CLASS_PROPERTIES_QUERY)
            if (c := _iri(r["c"])) and (p := _iri(r["p"]))
        ),
        fallback_labels,
    )
