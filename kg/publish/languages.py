"""The reader's languages: kk, ru and en, in that fallback order, and the search key of a text.

A reader's language comes first, then the others in the order kk → ru → en (:data:`LANGS`), then
untagged strings (:func:`pick`). :func:`fold` is the key search matches on: case-insensitive, with
the Kazakh-specific letters mapped to their Russian look-alikes.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

import pyoxigraph as ox

LANGS: tuple[str, ...] = ("kk", "ru", "en")  # also the fallback order


DEFAULT_LANG = LANGS[0]


# Kazakh letters that have a Russian look-alike (and ё, which Russian writers often drop): a search
# for "Коянкус" finds "Қоянқұс" and the other way round.
_FOLD = str.maketrans(
    {"ә": "а", "ғ": "г", "қ": "к", "ң": "н", "ө": "о", "ұ": "у", "ү": "у", "һ": "х", "і": "и", "ё": "е"}
)


def fold(text: str) -> str:
    """The search key of a text: NFC, case-folded, Kazakh letters as their Russian look-alikes,
    whitespace collapsed."""
    text = unicodedata.normalize("NFC", text).casefold().translate(_FOLD)
    return " ".join(text.split())


def language_order(lang: str) -> tuple[str, ...]:
    """The reader's language, then the others in the order of :data:`LANGS`."""
    return (lang, *(other for other in LANGS if other != lang))


def lang_of(term: ox.Literal) -> str:
    return (term.language or "").split("-")[0].lower()


def pick(literals: Iterable[ox.Literal], lang: str) -> ox.Literal | None:
    """The literal to show a reader of ``lang``: by :func:`language_order`, then untagged, then any."""
    found = list(literals)
    if not found:
        return None
    rank = {code: i for i, code in enumerate(language_order(lang))}
    return min(
        found, key=lambda lit: (rank.get(lang_of(lit), len(rank) + (0 if not lit.language else 1)), lit.value)
    )
