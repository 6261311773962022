"""IRIs as text: local names, compact forms (CURIEs), and IRIs safe to write into a query."""

from __future__ import annotations


def local_name(iri: str) -> str:
    for sep in ("#", "/"):
        if sep in iri.rstrip(sep):
            tail = iri.rstrip(sep).rsplit(sep, 1)[1]
            if tail:
                return tail
    return iri


def curie(iri: str, prefixes: dict[str, str]) -> str:
    """``prefix:local`` for an IRI under a known namespace (the longest wins), else the IRI."""
    best = ""
    for prefix, ns in prefixes.items():
        if iri.startswith(ns) and len(ns) > len(prefixes.get(best, "")) and "/" not in iri[len(ns) :]:
            best = prefix
    return f"{best}:{iri[len(prefixes[best]) :]}" if best else iri


def is_iri(text: str) -> bool:
    """Whether ``text`` can be written as ``<…>`` in a query (no character that would break out)."""
    return bool(text) and not any(c in text for c in '<>"{}|^`\\ \n\r\t')


def sparql_iri(iri: str) -> str:
    """An IRI for a query, refusing what would break out of ``<…>``."""
    if not is_iri(iri):
        raise ValueError(f"not an IRI: {iri!r}")
    return f"<{iri}>"
