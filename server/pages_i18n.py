"""The reader's language and the pages' own words in Kazakh, Russian and English.

The language of a page is, in this order: the ``lang`` parameter (which also sets the ``lang``
cookie, so following links keeps it), the ``lang`` cookie, the best of kk/ru/en in
``Accept-Language`` (q-values; ``kk-KZ`` counts as ``kk``), else Kazakh. Data shown in another
language fall back kk → ru → en (:func:`kg.describe.language_order`).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from flask import Response, g, make_response, render_template, request

from kg.describe import DEFAULT_LANG, LANGS

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
    # the query workbench (server/workbench.py; its script gets the wb_ words without the prefix)
    "wb_intro": {
        "kk": "Сұраулар SPARQL 1.1 нүктесінде орындалады (тек оқу үшін, бір сұрауға {timeout} с):",
        "ru": "Запросы выполняются в точке доступа SPARQL 1.1 (только чтение, {timeout} с на запрос):",
        "en": "Queries run against the SPARQL 1.1 endpoint (read-only, {timeout} s per query):",
    },
    "wb_examples": {"kk": "Мысалдар", "ru": "Примеры", "en": "Examples"},
    "wb_search_examples": {"kk": "Мысалдардан іздеу", "ru": "Поиск по примерам", "en": "Search the examples"},
    "wb_no_examples": {
        "kk": "Бұл сөздері бар мысал жоқ.",
        "ru": "Нет примеров с этими словами.",
        "en": "No example has these words.",
    },
    "wb_topic_places": {"kk": "Жерлер мен аудандар", "ru": "Места и районы", "en": "Places and districts"},
    "wb_topic_population": {"kk": "Халық", "ru": "Население", "en": "Population"},
    "wb_topic_economy": {
        "kk": "Инвестиция және бизнес",
        "ru": "Инвестиции и бизнес",
        "en": "Investment and business",
    },
    "wb_topic_facilities": {
        "kk": "Нысандар мен құрылыс",
        "ru": "Объекты и строительство",
        "en": "Facilities and construction",
    },
    "wb_topic_government": {
        "kk": "Билік, актілер, іс-шаралар",
        "ru": "Власть, акты, мероприятия",
        "en": "Government, acts and events",
    },
    "wb_topic_sources": {"kk": "Дереккөздер", "ru": "Источники", "en": "Sources"},
    "wb_topic_other": {"kk": "Жалпы сұраулар", "ru": "Общие запросы", "en": "General queries"},
    "wb_editor": {"kk": "SPARQL сұрауы", "ru": "SPARQL-запрос", "en": "SPARQL query"},
    "wb_hint": {
        "kk": "Ctrl+Enter — орындау; Ctrl+Space — курсор тұрған жерге сәйкес ұсыныстар.",
        "ru": "Ctrl+Enter — выполнить; Ctrl+Space — подсказки для места, где стоит курсор.",
        "en": "Ctrl+Enter runs the query; Ctrl+Space proposes what fits where the cursor is.",
    },
    "wb_run": {"kk": "Орындау", "ru": "Выполнить", "en": "Run"},
    "wb_cancel": {"kk": "Тоқтату", "ru": "Отменить", "en": "Cancel"},
    "wb_graphs": {"kk": "Графтар", "ru": "Графы", "en": "Graphs"},
    "wb_view_all": {
        "kk": "барлығы (айтылған + шығарылған)",
        "ru": "все (заявленные + выведенные)",
        "en": "all (asserted + inferred)",
    },
    "wb_view_asserted": {"kk": "тек айтылғандар", "ru": "только заявленные", "en": "asserted only"},
    "wb_view_inferred": {"kk": "тек шығарылғандар", "ru": "только выведенные", "en": "inferred only"},
    "wb_share": {"kk": "Сілтемені көшіру", "ru": "Скопировать ссылку", "en": "Copy link"},
    "wb_link_copied": {
        "kk": "Сілтеме көшірілді: ол осы сұрау мен көріністі ашады.",
        "ru": "Ссылка скопирована: она открывает этот запрос и этот вид.",
        "en": "Link copied: it opens this query and this view.",
    },
    "wb_history": {"kk": "Тарих", "ru": "История", "en": "History"},
    "wb_history_empty": {
        "kk": "Бұл браузерде әлі сұрау орындалған жоқ.",
        "ru": "В этом браузере ещё не выполнялось запросов.",
        "en": "No query has run in this browser yet.",
    },
    "wb_clear_history": {"kk": "Тарихты тазалау", "ru": "Очистить историю", "en": "Clear the history"},
    "wb_results": {"kk": "Нәтижелер", "ru": "Результаты", "en": "Results"},
    "wb_ready": {
        "kk": "Нәтижелерді көру үшін сұрауды орындаңыз.",
        "ru": "Выполните запрос, чтобы увидеть результаты.",
        "en": "Run a query to see its results.",
    },
    "wb_running": {"kk": "Орындалуда…", "ru": "Выполняется…", "en": "Running…"},
    "wb_cancelled": {"kk": "Сұрау тоқтатылды.", "ru": "Запрос отменён.", "en": "The query was cancelled."},
    "wb_failed": {
        "kk": "Сұрау орындалмады ({status}).",
        "ru": "Запрос не выполнен ({status}).",
        "en": "The query failed ({status}).",
    },
    "wb_unreachable": {
        "kk": "Серверге қосылу мүмкін болмады:",
        "ru": "Сервер недоступен:",
        "en": "The server could not be reached:",
    },
    "wb_position": {
        "kk": "{line}-жол, {column}-баған",
        "ru": "строка {line}, столбец {column}",
        "en": "line {line}, column {column}",
    },
    "wb_rows": {"kk": "Жолдар: {n}", "ru": "Строк: {n}", "en": "Rows: {n}"},
    "wb_triples": {"kk": "Үштіктер: {n}", "ru": "Триплетов: {n}", "en": "Triples: {n}"},
    "wb_time": {"kk": "{ms} мс", "ru": "{ms} мс", "en": "{ms} ms"},
    "wb_yes": {"kk": "Иә", "ru": "Да", "en": "Yes"},
    "wb_no": {"kk": "Жоқ", "ru": "Нет", "en": "No"},
    "wb_tab_table": {"kk": "Кесте", "ru": "Таблица", "en": "Table"},
    "wb_tab_chart": {"kk": "Диаграмма", "ru": "Диаграмма", "en": "Chart"},
    "wb_tab_timeline": {"kk": "Уақыт сызығы", "ru": "Хронология", "en": "Timeline"},
    "wb_tab_graph": {"kk": "Граф", "ru": "Граф", "en": "Graph"},
    "wb_tab_response": {"kk": "Жауап", "ru": "Ответ", "en": "Response"},
    "wb_download": {"kk": "Жүктеп алу", "ru": "Скачать", "en": "Download"},
    "wb_page": {
        "kk": "{page} / {pages} бет",
        "ru": "Страница {page} из {pages}",
        "en": "Page {page} of {pages}",
    },
    "wb_previous": {"kk": "Алдыңғы", "ru": "Назад", "en": "Previous"},
    "wb_next": {"kk": "Келесі", "ru": "Вперёд", "en": "Next"},
    "wb_per_page": {"kk": "Беттегі жолдар", "ru": "Строк на странице", "en": "Rows per page"},
    "wb_show_iris": {"kk": "IRI көрсету", "ru": "Показывать IRI", "en": "Show IRIs"},
    "wb_sort": {"kk": "Сұрыптау", "ru": "Сортировать", "en": "Sort"},
    "wb_chart_kind": {"kk": "Түрі", "ru": "Вид", "en": "Kind"},
    "wb_bar": {"kk": "бағандар", "ru": "столбцы", "en": "bars"},
    "wb_line": {"kk": "сызық", "ru": "линия", "en": "line"},
    "wb_x": {"kk": "Көлденең ось", "ru": "Горизонтальная ось", "en": "Horizontal axis"},
    "wb_y": {"kk": "Тік ось", "ru": "Вертикальная ось", "en": "Vertical axis"},
    "wb_no_numbers": {
        "kk": "Диаграмма үшін сандық баған жоқ.",
        "ru": "Нет числового столбца для диаграммы.",
        "en": "No numeric column to chart.",
    },
    "wb_no_dates": {
        "kk": "Уақыт сызығы үшін күн бағаны жоқ.",
        "ru": "Нет столбца с датами для хронологии.",
        "en": "No date column for a timeline.",
    },
    "wb_no_results": {"kk": "Нәтиже жоқ.", "ru": "Результатов нет.", "en": "No results."},
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


def parse_accept_language(header: str | None) -> str | None:
    """The best of :data:`LANGS` in an Accept-Language header (RFC 9110 §12.5.4), or None."""
    best: tuple[float, int, str] | None = None
    for position, item in enumerate((header or "").split(",")):
        parts = [p.strip() for p in item.split(";")]
        tag = parts[0].lower().split("-")[0]
        q = 1.0
        for param in parts[1:]:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if tag in LANGS and q > 0 and (best is None or (q, -position) > (best[0], best[1])):
            best = (q, -position, tag)
    return best[2] if best else None


def choose_language() -> str:
    """The language of the current request (see the module's docstring)."""
    wanted = request.args.get("lang", "").lower()
    if wanted in LANGS:
        return wanted
    cookie = request.cookies.get(COOKIE, "")
    if cookie in LANGS:
        return cookie
    return parse_accept_language(request.headers.get("Accept-Language")) or DEFAULT_LANG


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
