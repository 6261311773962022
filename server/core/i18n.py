"""The reader's language and the pages' own words in Kazakh, Russian and English.

The language of a page is, in this order: the ``lang`` parameter (which also sets the ``lang``
cookie, so following links keeps it), the ``lang`` cookie, the best of kk/ru/en in
``Accept-Language`` (q-values; ``kk-KZ`` counts as ``kk``), else Kazakh. Data shown in another
language fall back kk → ru → en (:func:`kg.publish.languages.language_order`).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from flask import Response, g, make_response, render_template, request

from kg.publish.languages import DEFAULT_LANG, LANGS
from server.core.negotiation import best_language

COOKIE = "lang"
LANGUAGE_NAMES = {"kk": "Қазақша", "ru": "Русский", "en": "English"}

WORDS: dict[str, dict[str, str]] = {
    "home": {"kk": "Басты бет", "ru": "Главная", "en": "Home"},
    "query": {"kk": "SPARQL сұрауы", "ru": "SPARQL-запрос", "en": "SPARQL query"},
    "ontology": {"kk": "Онтология", "ru": "Онтология", "en": "Ontology"},
    "changes": {"kk": "Өзгерістер", "ru": "Изменения", "en": "Changes"},
    "downloads": {"kk": "Жүктеп алу", "ru": "Выгрузки", "en": "Downloads"},
    "dataset": {"kk": "Деректер жинағы", "ru": "Набор данных", "en": "Dataset"},
    "language": {"kk": "Тіл", "ru": "Язык", "en": "Language"},
    "search": {"kk": "Іздеу", "ru": "Поиск", "en": "Search"},
    "search_hint": {
        "kk": "Атауы бойынша: қазақша, орысша немесе ағылшынша",
        "ru": "По названию: на казахском, русском или английском",
        "en": "By label, in Kazakh, Russian or English",
    },
    "search_results": {"kk": "Іздеу нәтижелері", "ru": "Результаты поиска", "en": "Search results"},
    "nothing_found": {"kk": "Ештеңе табылмады.", "ru": "Ничего не найдено.", "en": "Nothing found."},
    "matched": {"kk": "сәйкес келген атау", "ru": "совпавшее название", "en": "matching label"},
    "type": {"kk": "Түрі", "ru": "Тип", "en": "Type"},
    "labels": {"kk": "Атаулары", "ru": "Названия", "en": "Labels"},
    "properties": {"kk": "Қасиеттері", "ru": "Свойства", "en": "Properties"},
    "property": {"kk": "Қасиет", "ru": "Свойство", "en": "Property"},
    "values": {"kk": "Мәндері", "ru": "Значения", "en": "Values"},
    "incoming": {
        "kk": "Осы ресурсқа сілтемелер",
        "ru": "Ссылки на этот ресурс",
        "en": "Links to this resource",
    },
    "from": {"kk": "Кімнен", "ru": "Откуда", "en": "From"},
    "source": {"kk": "Дереккөз", "ru": "Источник", "en": "Source"},
    "sources": {"kk": "Дереккөздер", "ru": "Источники", "en": "Sources"},
    "inferred": {"kk": "шығарылған", "ru": "выведено", "en": "inferred"},
    "inferred_note": {
        "kk": "«шығарылған» деп белгіленген деректерді OWL 2 RL ережелері онтологиядан шығарды; "
        "олар ешбір мақалада тікелей айтылмаған.",
        "ru": "Факты с пометкой «выведено» получены правилами OWL 2 RL из онтологии; "
        "ни одна статья не говорит их прямо.",
        "en": "Facts marked “inferred” were derived by OWL 2 RL rules from the ontology; "
        "no article states them directly.",
    },
    "graph_ontology": {"kk": "онтология", "ru": "онтология", "en": "ontology"},
    "graph_shapes": {"kk": "SHACL пішіндері", "ru": "формы SHACL", "en": "SHACL shapes"},
    "graph_changes": {"kk": "өзгерістер журналы", "ru": "журнал изменений", "en": "change log"},
    "article_of": {"kk": "мақала", "ru": "статья от", "en": "article of"},
    "formats": {
        "kk": "Машинаға арналған форматтар",
        "ru": "Форматы для машин",
        "en": "Machine-readable formats",
    },
    "not_found": {"kk": "Табылмады", "ru": "Не найдено", "en": "Not found"},
    "not_found_text": {
        "kk": "Деректер жинағы бұл IRI туралы ештеңе білмейді:",
        "ru": "Набор данных ничего не знает об этом IRI:",
        "en": "The dataset knows nothing about this IRI:",
    },
    "statistics": {"kk": "Статистика", "ru": "Статистика", "en": "Statistics"},
    "data_table": {"kk": "Деректер кестесі", "ru": "Таблица данных", "en": "Data table"},
    "date": {"kk": "Күні", "ru": "Дата", "en": "Date"},
    "value": {"kk": "Мәні", "ru": "Значение", "en": "Value"},
    "count": {"kk": "Саны", "ru": "Количество", "en": "Count"},
    "facilities_by_status": {
        "kk": "Аудандардағы нысандар мәртебесі бойынша",
        "ru": "Объекты по статусу в каждом районе",
        "en": "Facilities by status in each district",
    },
    "facilities": {"kk": "Нысандар", "ru": "Объекты", "en": "Facilities"},
    "status_unknown": {"kk": "мәртебесі айтылмаған", "ru": "статус не указан", "en": "status not stated"},
    "district": {"kk": "Аудан", "ru": "Район", "en": "District"},
    "districts": {
        "kk": "Төрт функционалдық аудан",
        "ru": "Четыре функциональных района",
        "en": "The four functional districts",
    },
    "specialisation": {"kk": "Мамандануы", "ru": "Специализация", "en": "Specialisation"},
    "in_numbers": {"kk": "Сандармен", "ru": "В цифрах", "en": "In numbers"},
    "triples": {"kk": "үштік", "ru": "триплетов", "en": "triples"},
    "graphs": {"kk": "Атаулы графтар", "ru": "Именованные графы", "en": "Named graphs"},
    "graph": {"kk": "Граф", "ru": "Граф", "en": "Graph"},
    "things": {"kk": "ресурс", "ru": "ресурсов", "en": "resources"},
    "classes": {"kk": "Кластар", "ru": "Классы", "en": "Classes"},
    "object_properties": {
        "kk": "Объектілік қасиеттер",
        "ru": "Объектные свойства",
        "en": "Object properties",
    },
    "datatype_properties": {
        "kk": "Деректер қасиеттері",
        "ru": "Свойства-литералы",
        "en": "Datatype properties",
    },
    "schemes": {"kk": "Ұғымдар схемалары", "ru": "Схемы понятий", "en": "Concept schemes"},
    "superclasses": {"kk": "Жоғарғы кластар", "ru": "Надклассы", "en": "Superclasses"},
    "subclasses": {"kk": "Ішкі кластар", "ru": "Подклассы", "en": "Subclasses"},
    "superproperties": {"kk": "Жоғарғы қасиеттер", "ru": "Надсвойства", "en": "Super-properties"},
    "subproperties": {"kk": "Ішкі қасиеттер", "ru": "Подсвойства", "en": "Sub-properties"},
    "domain": {"kk": "Анықталу облысы", "ru": "Область определения", "en": "Domain"},
    "range": {"kk": "Мәндер облысы", "ru": "Область значений", "en": "Range"},
    "inverse": {"kk": "Кері қасиеті", "ru": "Обратное свойство", "en": "Inverse"},
    "characteristics": {"kk": "Сипаттамалары", "ru": "Характеристики", "en": "Characteristics"},
    "definition": {"kk": "Анықтамасы", "ru": "Определение", "en": "Definition"},
    "shapes": {
        "kk": "Қолданылатын SHACL пішіндері",
        "ru": "Применяемые формы SHACL",
        "en": "SHACL shapes that apply",
    },
    "inherited_from": {"kk": "мұраланған:", "ru": "унаследовано от", "en": "inherited from"},
    "via_property": {"kk": "қасиет арқылы", "ru": "через свойство", "en": "through the property"},
    "severity": {"kk": "Деңгейі", "ru": "Уровень", "en": "Severity"},
    "concepts": {"kk": "Ұғымдар", "ru": "Понятия", "en": "Concepts"},
    "instances": {"kk": "даналары", "ru": "экземпляров", "en": "instances"},
    "contents": {"kk": "Мазмұны", "ru": "Содержание", "en": "Contents"},
    "about_dataset": {"kk": "Деректер жинағы туралы", "ru": "О наборе данных", "en": "About the dataset"},
    "licence": {"kk": "Лицензия", "ru": "Лицензия", "en": "Licence"},
    "publisher": {"kk": "Жариялаушы", "ru": "Издатель", "en": "Publisher"},
    "modified": {"kk": "Өзгертілген күні", "ru": "Дата изменения", "en": "Modified"},
    "version": {"kk": "Деректер нұсқасы", "ru": "Версия данных", "en": "Data version"},
    "endpoint": {"kk": "SPARQL нүктесі", "ru": "SPARQL-точка доступа", "en": "SPARQL endpoint"},
    "vocabularies": {"kk": "Қолданылған сөздіктер", "ru": "Используемые словари", "en": "Vocabularies used"},
    "file": {"kk": "Файл", "ru": "Файл", "en": "File"},
    "size": {"kk": "Көлемі", "ru": "Размер", "en": "Size"},
    "bytes": {"kk": "байт", "ru": "байт", "en": "bytes"},
    "checksums": {"kk": "Бақылау сомалары", "ru": "Контрольные суммы", "en": "Checksums"},
    "dumps_text": {
        "kk": "Бүкіл деректер жинағы. TriG және N-Quads атаулы графтарды сақтайды; "
        "Turtle олардың бірігуін береді.",
        "ru": "Весь набор данных. TriG и N-Quads сохраняют именованные графы; "
        "Turtle содержит их объединение.",
        "en": "The whole dataset. TriG and N-Quads keep the named graphs; Turtle holds their union.",
    },
    "description_formats": {
        "kk": "Сипаттама басқа форматтарда",
        "ru": "Описание в других форматах",
        "en": "This description in other formats",
    },
    "population": {"kk": "Халық саны", "ru": "Численность населения", "en": "Population"},
    "fallback_note": {
        "kk": "Тілдің кезегі: таңдалған тіл, содан кейін қазақша → орысша → ағылшынша.",
        "ru": "Порядок языков: выбранный, затем казахский → русский → английский.",
        "en": "Language order: the one chosen, then Kazakh → Russian → English.",
    },
    "see_all": {"kk": "Бәрін көру", "ru": "Показать все", "en": "See all"},
    "iri": {"kk": "IRI", "ru": "IRI", "en": "IRI"},
}

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


def word(key: str, lang: str | None = None) -> str:
    lang = lang or current_language()
    entry = WORDS[key]
    return entry.get(lang) or entry["en"]


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
    html = render_template(template, lang=lang, t=word, languages=languages, number=format_number, **values)
    response = make_response(html, status)
    response.headers["Content-Language"] = lang
    return remember_language(response)
