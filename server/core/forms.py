"""``application/x-www-form-urlencoded`` text (a form body, a URL's query string) read into its
pairs: :func:`urllib.parse.parse_qsl`'s answer (blank values kept, undecodable bytes as werkzeug
quotes them), faster for the common text.

A SPARQL query sent as a form is percent-encoded almost throughout (every space, brace and question
mark), and ``parse_qsl`` decodes each ``%XX`` in a Python loop: ~20 µs for a 350-character query, on
every new query's path. Here, a value that is ASCII and holds no backslash has its ``%XX`` turned
into ``\\xXX`` and decoded by :func:`codecs.escape_decode` (C; the codec behind ``bytes``
literals' escapes). Anything else, or any failure (a ``%`` not followed by two hex digits, bytes
that are not UTF-8), is read by ``parse_qsl`` itself: the answer is always ``parse_qsl``'s
(``tests/test_forms.py`` compares the two on generated texts).
"""

from __future__ import annotations

import codecs
from urllib.parse import parse_qsl, unquote

import werkzeug.urls  # noqa: F401 (registers the "werkzeug.url_quote" error handler)

ERRORS = "werkzeug.url_quote"  # werkzeug's handler: undecodable bytes stay percent-encoded


def parse_form(text: str) -> list[tuple[str, str]]:
    """``parse_qsl(text, keep_blank_values=True, errors="werkzeug.url_quote")``."""
    if "\\" in text or not text.isascii():
        return parse_qsl(text, keep_blank_values=True, errors=ERRORS)
    pairs = []
    for field in text.split("&"):
        if not field:
            continue
        name, _, value = field.partition("=")
        pairs.append((_unquote_plus(name), _unquote_plus(value)))
    return pairs


def _unquote_plus(text: str) -> str:
    """``unquote(text.replace("+", " "), errors=ERRORS)`` for an ASCII ``text`` without backslashes."""
    text = text.replace("+", " ")
    if "%" not in text:
        return text
    try:
        # typeshed says str; it is bytes (the escapes of a bytes literal)
        decoded: bytes = codecs.escape_decode(text.replace("%", "\\x").encode("ascii"))[0]  # type: ignore[assignment]
        return decoded.decode("utf-8")
    except (ValueError, UnicodeDecodeError):  # a bare "%", or not UTF-8
        return unquote(text, errors=ERRORS)
