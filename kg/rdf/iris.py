"""IRIs as text: local names, compact forms (CURIEs), and IRIs safe to write into a query."""

from __future__ import annotations

import unicodedata


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


# Cyrillic (Russian and Kazakh letters) in Latin, for the slugs of new IRIs (after the Kazakh
# Latin alphabet of 2021 for the Kazakh letters, simplified to plain ASCII).
_LATIN = {
    "а": "a", "ә": "a", "б": "b", "в": "v", "г": "g", "ғ": "g", "д": "d", "е": "e", "ё": "yo",
    "ж": "zh", "з": "z", "и": "i", "й": "y", "і": "i", "к": "k", "қ": "q", "л": "l", "м": "m",
    "н": "n", "ң": "ng", "о": "o", "ө": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u",
    "ұ": "u", "ү": "u", "ф": "f", "х": "kh", "һ": "h", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya",
}  # fmt: skip


def slug(text: str, max_length: int = 60) -> str:
    """A lowercase hyphenated Latin slug of ``text`` (``Школа № 3 (Дәулет)`` → ``shkola-3-daulet``)."""
    out = []
    for ch in unicodedata.normalize("NFKD", text).casefold():
        if unicodedata.combining(ch):
            continue
        ch = _LATIN.get(ch, ch)
        out.append(ch if ch.isascii() and ch.isalnum() else "-")
    words = [w for w in "".join(out).split("-") if w]
    result = ""
    for word in words:
        candidate = f"{result}-{word}" if result else word
        if len(candidate) > max_length:
            break
        result = candidate
    return result or (words[0][:max_length] if words else "")
