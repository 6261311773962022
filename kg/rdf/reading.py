"""A new query's reading before it runs: its shape (:func:`kg.rdf.sparql.shape`), its normal form
(:func:`kg.rdf.sparql.normalise`) and its complexity (:mod:`kg.rdf.complexity`), from one lexing and
one skeleton.

The endpoint reads every query text it has not seen before, so what reading costs is paid by every
uncached request (``bench/RESULTS.md``, issue 12). A client's queries are mostly a few templates filled
in again and again: texts with the same :func:`kg.rdf.complexity.skeleton` (the tokens with every term
replaced by its kind). What a reading takes from the skeleton alone is remembered per skeleton:

- the complexity (the walk reads kinds, never texts: :func:`kg.rdf.complexity.measure_skeleton`);
- the shape, when the skeleton holds neither ``FROM`` nor ``SERVICE``: then it has no dataset IRIs and
  no services whatever its terms, the query form is its first keyword of one, and a volatile function
  is a keyword too (``RAND``, ``NOW``…), so every text with that skeleton has the same shape, whatever
  its base IRI (which only resolves the IRIs after ``FROM`` and ``SERVICE``). A skeleton with either
  keyword is read afresh each time: its terms are what the shape is made of.

The normal form is the text's own (its terms are in it) and is made each time.
"""

from __future__ import annotations

from kg.rdf.complexity import Complexity, measure_skeleton, skeleton
from kg.rdf.sparql import Normal, Shape, kinds_of, lex, normalise, shape

_SHAPES: dict[str, Shape] = {}  # skeleton -> the shape of every text with it (see the docstring)
_SHAPES_MAX = 2048  # skeletons; then the memory starts again
_APART = "\x1f"  # between a skeleton's tokens (kg.rdf.complexity.skeleton)
_TERMS_READ = frozenset({"FROM", "SERVICE"})  # keywords whose arguments are part of the shape


def read_query(query: str, base: str = "") -> tuple[Shape, Normal, Complexity]:
    """The query's shape (IRIs resolved against ``base``), normal form and complexity. The shape is
    shared between texts of one skeleton: treat it as read-only."""
    texts = lex(query)
    kinds = kinds_of(texts)
    frame = skeleton(texts, kinds)
    complexity = measure_skeleton(texts, kinds, frame, len(query))
    found = _SHAPES.get(frame) if frame is not None else None
    if found is None:
        found = shape(query, base=base, texts=texts)
        if frame is not None and _shape_is_the_skeletons(frame):
            if len(_SHAPES) >= _SHAPES_MAX:
                _SHAPES.clear()
            _SHAPES[frame] = found
    return found, normalise(query, texts), complexity


def _shape_is_the_skeletons(frame: str) -> bool:
    """Whether every text with this skeleton has one shape: no ``FROM`` or ``SERVICE`` in it (a term
    stands as " kind" there, so a keyword token is its own text)."""
    return not any(token.upper() in _TERMS_READ for token in frame.split(_APART))
