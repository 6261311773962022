"""The reader's language; the pages' own words are in message catalogs (Babel), one per language.

The catalogs are ``server/translations/{kk,ru,en}/LC_MESSAGES/messages.po`` (and their compiled
``.mo``), with the English text as the message id: ``_('Home')`` in templates, ``gettext('Home')``
in code. ``make messages`` extracts the messages and updates the catalogs; a test checks that every
message has all three languages and that the compiled catalogs match their sources.

The language of a page is, in this order: the ``lang`` parameter (which also sets the ``lang``
cookie, so following links keeps it), the ``lang`` cookie, the best of kk/ru/en in
``Accept-Language`` (q-values; ``kk-KZ`` counts as ``kk``), else Kazakh. Data shown in another
language fall back kk → ru → en (:func:`kg.publish.languages.language_order`).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, g, make_response, render_template, request
from flask_babel import Babel

from kg.publish.languages import DEFAULT_LANG, LANGS
from server.core.negotiation import best_language

TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"
COOKIE = "lang"
LANGUAGE_NAMES = {"kk": "Қазақша", "ru": "Русский", "en": "English"}

MONTHS = {
    "en": [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
    "ru": [
        "января",
        "февраля",
        "марта",
        "апреля",
        "мая",
        "июня",
        "июля",
        "августа",
        "сентября",
        "октября",
        "ноября",
        "декабря",
    ],
    "ru_nominative": [
        "январь",
        "февраль",
        "март",
        "апрель",
        "май",
        "июнь",
        "июль",
        "август",
        "сентябрь",
        "октябрь",
        "ноябрь",
        "декабрь",
    ],
    "kk": [
        "қаңтар",
        "ақпан",
        "наурыз",
        "сәуір",
        "мамыр",
        "маусым",
        "шілде",
        "тамыз",
        "қыркүйек",
        "қазан",
        "қараша",
        "желтоқсан",
    ],
}


def choose_language() -> str:
    """The language of the current request (see the module's docstring)."""
    wanted = request.args.get("lang", "").lower()
    if wanted in LANGS:
        return wanted
    cookie = request.cookies.get(COOKIE, "")
    if cookie in LANGS:
        return cookie
    return best_language(request.headers.get("Accept-Language"), LANGS) or DEFAULT_LANG


def current_language() -> str:
    if "page_lang" not in g:
        g.page_lang = choose_language()
    return str(g.page_lang)


def remember_language(response: Response) -> Response:
    """Keep an explicit choice in a cookie; pages depend on the language headers."""
    wanted = request.args.get("lang", "").lower()
    if wanted in LANGS and request.cookies.get(COOKIE) != wanted:
        response.set_cookie(COOKIE, wanted, max_age=365 * 24 * 3600, samesite="Lax")
    response.vary.add("Accept-Language")
    response.vary.add("Cookie")
    return response


def init(app: Flask) -> None:
    """Flask-Babel over the catalogs in ``server/translations`` (``make messages`` updates them), in
    the language :func:`current_language` chooses."""
    Babel(app, locale_selector=current_language, default_translation_directories=str(TRANSLATIONS))


def format_number(value: str | float | int | Decimal, lang: str | None = None) -> str:
    """Digits grouped by thousands: ``52 086`` (kk, ru, with a narrow no-break space), ``52,086`` (en)."""
    lang = lang or current_language()
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    whole = number == number.to_integral_value()
    text = f"{int(number):,}" if whole else f"{number.normalize():,f}"
    if lang == "en":
        return text
    return text.replace(",", "\u202f").replace(".", ",")


def format_date(value: str, datatype: str, lang: str | None = None) -> str:
    """An ``xsd:date``, ``xsd:gYearMonth`` or ``xsd:gYear`` in the reader's words."""
    lang = lang or current_language()
    kind = datatype.rsplit("#", 1)[-1]
    try:
        if kind == "date":
            d = dt.date.fromisoformat(value[:10])
            if lang == "kk":
                return f"{d.year} жылғы {d.day} {MONTHS['kk'][d.month - 1]}"
            return f"{d.day} {MONTHS[lang][d.month - 1]} {d.year}"
        if kind == "gYearMonth":
            year, month = int(value[:4]), int(value[5:7])
            if lang == "kk":
                return f"{year} жылғы {MONTHS['kk'][month - 1]}"
            names = MONTHS["ru_nominative"] if lang == "ru" else MONTHS["en"]
            return f"{names[month - 1]} {year}"
    except (ValueError, IndexError):
        return value
    return value


def url_with_language(code: str) -> str:
    args = request.args.to_dict()
    args["lang"] = code
    return f"{request.path}?{urlencode(args)}"


def render_page(template: str, status: int = 200, **values: Any) -> Response:
    """A page in the reader's language (the switcher keeps the other parameters)."""
    lang = current_language()
    languages = [(code, LANGUAGE_NAMES[code], url_with_language(code)) for code in LANGS]
    html = render_template(template, lang=lang, languages=languages, number=format_number, **values)
    response = make_response(html, status)
    response.headers["Content-Language"] = lang
    return remember_language(response)
