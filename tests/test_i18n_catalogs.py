"""The pages' message catalogs: every message the code and templates use is translated into kk, ru and
en, and the compiled catalogs the server loads say what their sources say."""

from __future__ import annotations

import io

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask import Flask
from flask_babel import force_locale, gettext

from kg.config import PROJECT_ROOT
from server.core.i18n import TRANSLATIONS, init

LANGS = ("kk", "ru", "en")
METHODS = [("server/**.py", "python"), ("server/templates/**.html", "jinja2")]


def used_messages() -> set[str]:
    """The messages the sources use now (what `make messages` would extract)."""
    found = extract_from_dir(
        str(PROJECT_ROOT), METHODS, keywords={"_": None, "gettext": None}, comment_tags=()
    )
    return {message for _, _, message, _, _ in found if isinstance(message, str)}


def catalog(lang: str):
    path = TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as f:
        return read_po(f, locale=lang)


@pytest.mark.parametrize("lang", LANGS)
def test_every_message_is_translated(lang: str) -> None:
    translated = {m.id: m.string for m in catalog(lang) if m.id and m.string and not m.fuzzy}
    missing = sorted(used_messages() - translated.keys())
    assert not missing, f"{lang}: not translated: {missing}"


def test_the_catalogs_hold_no_message_the_sources_no_longer_use() -> None:
    used = used_messages()
    for lang in LANGS:
        stale = sorted(m.id for m in catalog(lang) if m.id and m.id not in used)
        assert not stale, f"{lang}: no longer used: {stale}"


@pytest.mark.parametrize("lang", LANGS)
def test_the_compiled_catalog_matches_its_source(lang: str) -> None:
    compiled = read_mo(io.BytesIO((TRANSLATIONS / lang / "LC_MESSAGES" / "messages.mo").read_bytes()))
    assert {m.id: m.string for m in compiled if m.id} == {m.id: m.string for m in catalog(lang) if m.id}


def test_the_app_speaks_each_language() -> None:
    app = Flask(__name__)
    init(app)
    expected = {"kk": "Басты бет", "ru": "Главная", "en": "Home"}
    with app.test_request_context():
        for lang, text in expected.items():
            with force_locale(lang):
                assert gettext("Home") == text
