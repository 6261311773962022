"""Completion (kg/completion.py): where the cursor is in a query being typed, and what the graph offers
there. A hand-written index for the rules, the real graph (through a real engine) for the whole."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kg.config import Settings
from kg.engine.process import OxigraphProcess
from kg.publish.completion import CompletionIndex, build_index, locate, short_name
from kg.rdf.names import Names

NAMES = Names()
PREFIXES = NAMES.prefixes()
AK = PREFIXES["ak"]
ID = PREFIXES["id"]
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"


def at(query: str) -> tuple[str, int]:
    """The query without its ``|`` and the cursor where the ``|`` was."""
    return query.replace("|", ""), query.index("|")


@pytest.mark.parametrize(
    ("query", "kind", "typed"),
    [
        ("SELECT * WHERE { ?s a |", "class", ""),
        ("SELECT * WHERE { ?s a ak:Sch|", "class", "ak:Sch"),
        ("SELECT * WHERE { ?s rdf:type Шко|", "class", "Шко"),
        ("SELECT * WHERE { ?s |", "property", ""),
        ("SELECT * WHERE { ?s ak:locatedIn ?o ; |", "property", ""),
        ("SELECT * WHERE { ?s ak:locatedIn |", "object", ""),
        ("SELECT * WHERE { ?s ak:locatedIn ?o , Ала|", "object", "Ала"),
        ("SELECT * WHERE { ?s ak:locatedIn ?o . Ала|", "subject", "Ала"),
        ("SELECT * WHERE { Ала|", "subject", "Ала"),
        ("SELECT * WHERE { ?s ak:p [ |", "property", ""),
        ("SELECT * WHERE { ?s ak:p [ ak:q ?x ] ; |", "property", ""),
        ("SELECT * WHERE { ?s ak:p ?o FILTER(?o = Ала|", "object", "Ала"),
        ("SELECT * WHERE { ?s ak:p ?o FILTER(?o > 3) ?x |", "property", ""),
        ("SELECT * WHERE { OPTIONAL { ?s a |", "class", ""),
        ("SELECT * WHERE { GRAPH ?g { ?s ak:p/ak:q |", "object", ""),
        ("SELECT * WHERE { VALUES ?x { Ала|", "object", "Ала"),
        ("SELECT ?x ?| WHERE { ?x a ?y }", "variable", "?"),
        ("PREFIX |", "prefix", ""),
        ("PREFIX sk|", "prefix", "sk"),
        ('SELECT * WHERE { ?s rdfs:label "Ала|', "none", "Ала"),
        ("SELECT * WHERE { ?s ak:p ?o # Ала|", "none", "Ала"),
        ("SELECT * WHERE { ?s ak:p ?o }\nORDER BY |", "none", ""),
        ('SELECT * WHERE { ?s ak:p "x"@ru ; |', "property", ""),
        ('SELECT * WHERE { ?s ak:p "5"^^xsd:integer ; |', "property", ""),
        ("SELECT * WHERE { ?s ak:p 1.5 ; |", "property", ""),
    ],
)
def test_the_position_of_the_cursor(query: str, kind: str, typed: str) -> None:
    text, cursor = at(query)
    position = locate(text, cursor, service_prefixes=PREFIXES)
    assert (position.kind, position.typed) == (kind, typed)


def test_the_position_knows_the_subject_classes_and_the_predicate() -> None:
    text, cursor = at("SELECT * WHERE { ?s ak:locatedIn ?d ; | . ?s a ak:School . ?d rdf:type ak:District }")
    position = locate(text, cursor, service_prefixes=PREFIXES)
    assert position.kind == "property"
    assert position.subject == "?s"
    assert position.subject_classes == (AK + "School",)
    text, cursor = at("PREFIX x: <http://example.org/> SELECT * WHERE { ?s x:near |")
    position = locate(text, cursor, service_prefixes=PREFIXES)
    assert (position.kind, position.predicate) == ("object", "http://example.org/near")
    assert position.prefixes == {"x": "http://example.org/"}


def test_variables_in_scope_exclude_the_one_being_typed() -> None:
    text, cursor = at("SELECT ?place ?n WHERE { ?place ak:population ?n . ?p|")
    position = locate(text, cursor, service_prefixes=PREFIXES)
    assert position.kind == "variable"
    assert position.variables == ("place", "n")


def test_short_names_only_where_no_escape_is_needed() -> None:
    assert short_name(AK + "School", PREFIXES) == "ak:School"
    assert short_name(ID + "place/alatau", PREFIXES) == f"<{ID}place/alatau>"
    assert short_name("http://example.org/x", PREFIXES) == "<http://example.org/x>"


# --- a hand-written index ------------------------------------------------------------------------------


def small_index() -> CompletionIndex:
    """Two classes, three properties, five places and a school, labelled in kk/ru/en."""
    labels = [
        (AK + "School", "School", "en", False),
        (AK + "School", "Школа", "ru", False),
        (AK + "School", "Мектеп", "kk", False),
        (AK + "Settlement", "Settlement", "en", False),
        (AK + "Settlement", "Населённый пункт", "ru", False),
        (AK + "locatedIn", "located in", "en", False),
        (AK + "locatedIn", "расположен в", "ru", False),
        (AK + "capacity", "capacity", "en", False),
        (ID + "place/alatau", "Alatau", "en", False),
        (ID + "place/alatau", "Алатау", "ru", False),
        (ID + "place/alatau", "Алатау", "kk", False),
        (ID + "place/koyankus", "Koyankus", "en", False),
        (ID + "place/koyankus", "Коянкус", "ru", False),
        (ID + "place/koyankus", "Қоянқұс", "kk", False),
        (ID + "place/ili", "Ili District", "en", False),
        (ID + "place/ili", "Илийский район", "ru", False),
        (ID + "place/ili", "Іле ауданы", "kk", False),
        (ID + "place/almaty", "Almaty Region", "en", False),
        (ID + "place/almaty", "Алматинская область", "ru", False),
        (ID + "place/almaty-road", "Almaty road", "en", False),
        (ID + "org/akimat", "Akimat of Alatau", "en", False),
        (ID + "org/akimat", "акимат Алатау", "ru", True),
        (ID + "school/1", "School No. 1", "en", False),
    ]
    types = [
        (ID + "school/1", AK + "School"),
        (ID + "place/koyankus", AK + "Settlement"),
        (ID + "place/ili", AK + "Settlement"),
    ]
    links = [
        (AK + "locatedIn", ID + "place/alatau", 5),
        (AK + "locatedIn", ID + "place/ili", 2),
        (AK + "locatedIn", ID + "place/koyankus", 1),
        (AK + "operatedBy", ID + "org/akimat", 3),
        (RDF_TYPE, AK + "School", 1),
    ]
    class_properties = [(AK + "School", AK + "capacity", 1), (AK + "School", AK + "locatedIn", 1)]
    return CompletionIndex(
        PREFIXES,
        {AK + "School": 1, AK + "Settlement": 2},
        {AK + "locatedIn": 8, AK + "capacity": 1, AK + "operatedBy": 3, RDF_TYPE: 3},
        labels,
        types,
        links,
        class_properties,
    )


@pytest.fixture(scope="module")
def index() -> CompletionIndex:
    return small_index()


def complete(index: CompletionIndex, query: str, lang: str = "en", **options: object) -> list[dict]:
    text, cursor = at(query)
    return [item.to_dict() for item in index.complete(text, cursor, lang=lang, **options).items]  # type: ignore[arg-type]


def test_classes_after_a_most_used_first_labelled_in_the_readers_language(index) -> None:
    items = complete(index, "SELECT * WHERE { ?s a |", lang="kk")
    assert [i["insert"] for i in items] == ["ak:Settlement", "ak:School"]
    assert items[1]["label"] == "Мектеп" and items[1]["count"] == 1 and items[1]["kind"] == "class"


def test_classes_by_a_label_in_any_language_or_by_prefixed_name(index) -> None:
    for typed in ("Шко", "Мек", "ak:Sch"):
        assert [i["insert"] for i in complete(index, f"SELECT * WHERE {{ ?s a {typed}|")] == ["ak:School"]
    items = complete(index, "SELECT * WHERE { ?s a sch|")  # also a prefix, after the terms
    assert [(i["insert"], i["kind"]) for i in items] == [("ak:School", "class"), ("schema:", "prefix")]


def test_properties_of_the_subjects_class_first(index) -> None:
    items = complete(index, "SELECT * WHERE { ?s a ak:School ; |")
    assert [i["insert"] for i in items] == ["ak:capacity", "ak:locatedIn"]  # what schools use
    items = complete(index, "SELECT * WHERE { ?s |")
    assert [i["insert"] for i in items][:2] == ["ak:locatedIn", "rdf:type"]  # all, most used first
    items = complete(index, "SELECT * WHERE { ?s a ak:School ; ope|")
    assert [i["insert"] for i in items] == ["ak:operatedBy"]  # no school has it: any property that matches


def test_objects_of_a_known_predicate_are_its_objects(index) -> None:
    items = complete(index, "SELECT * WHERE { ?s ak:locatedIn |")
    assert [i["iri"] for i in items] == [ID + "place/alatau", ID + "place/ili", ID + "place/koyankus"]
    assert items[0]["insert"] == f"<{ID}place/alatau>"
    items = complete(index, "SELECT * WHERE { ?s ak:locatedIn Alm|")
    assert [i["iri"] for i in items][:1] == [ID + "place/almaty"]  # none of its objects: all entities


def test_entities_by_a_russian_or_a_kazakh_label_with_kazakh_letters_folded(index) -> None:
    assert [i["iri"] for i in complete(index, "SELECT * WHERE { Илий|", lang="ru")] == [ID + "place/ili"]
    items = complete(index, "SELECT * WHERE { Іле|", lang="en")
    assert [i["iri"] for i in items] == [ID + "place/ili"]
    assert items[0]["label"] == "Ili District" and items[0]["matched"] == "Іле ауданы"
    assert items[0]["matched_lang"] == "kk"
    for typed in ("Қоянқұс", "Коянкус", "қоян", "KOYAN"):
        assert [i["iri"] for i in complete(index, f"SELECT * WHERE {{ ?x ak:locatedIn {typed}|")] == [
            ID + "place/koyankus"
        ]


def test_entities_rank_exact_then_label_start_then_word_start_then_use(index) -> None:
    items = complete(index, "SELECT * WHERE { Алатау|", lang="ru")
    assert [i["iri"] for i in items] == [ID + "place/alatau", ID + "org/akimat"]  # "акимат Алатау" second
    items = complete(index, "SELECT * WHERE { alm|")
    assert [i["iri"] for i in items] == [ID + "place/almaty", ID + "place/almaty-road"]
    assert complete(index, "SELECT * WHERE { no|")[0]["iri"] == ID + "school/1"  # a later word


def test_entities_by_prefixed_name_or_iri(index) -> None:
    items = complete(index, "SELECT * WHERE { id:place/al|")
    assert [i["iri"] for i in items] == [ID + "place/alatau", ID + "place/almaty", ID + "place/almaty-road"]
    items = complete(index, f"SELECT * WHERE {{ <{ID}place/k|")
    assert [i["iri"] for i in items] == [ID + "place/koyankus"]
    assert complete(index, "SELECT * WHERE { nope:x|") == []


def test_variables_prefixes_and_nothing_in_strings(index) -> None:
    items = complete(index, "SELECT ?place ?n WHERE { ?place ak:locatedIn ?n . ?p|")
    assert [i["insert"] for i in items] == ["?place"]
    items = complete(index, "PREFIX sk|")
    assert [i["insert"] for i in items] == [f"skos: <{PREFIXES['skos']}>"]
    assert complete(index, 'SELECT * WHERE { ?s rdfs:label "Ала|') == []
    items = complete(index, "SELECT * WHERE { ?s sko|")
    assert [i["insert"] for i in items] == ["skos:"]


def test_a_subject_without_typing_proposes_only_when_asked(index) -> None:
    assert complete(index, "SELECT * WHERE { |") == []
    assert complete(index, "SELECT * WHERE { |", explicit=True)[0]["iri"] == ID + "place/alatau"


def test_labels_for_result_tables(index) -> None:
    assert index.label(ID + "place/koyankus", "kk") == ("Қоянқұс", "kk")
    assert index.label(ID + "place/almaty", "kk") == ("Алматинская область", "ru")  # kk → ru → en
    assert index.label(ID + "org/akimat", "ru") == ("Akimat of Alatau", "en")  # not the alternative
    assert index.label("http://example.org/unknown", "en") is None


def test_a_common_prefix_gives_the_most_used_entities() -> None:
    """Past the size where every match is ranked, the best are read off the merged word lists."""
    labels = [(f"{ID}school/{i}", f"School No. {i}", "en", False) for i in range(5000)]
    links = [(AK + "near", f"{ID}school/{i}", i) for i in range(5000)]
    index = CompletionIndex(PREFIXES, {}, {}, labels, [], links, [])
    items = complete(index, "SELECT * WHERE { s|", limit=3)
    assert [i["iri"] for i in items] == [f"{ID}school/4999", f"{ID}school/4998", f"{ID}school/4997"]
    items = complete(index, "SELECT * WHERE { no|", limit=2)
    assert [i["iri"] for i in items] == [f"{ID}school/4999", f"{ID}school/4998"]
    items = complete(index, "SELECT * WHERE { 1234|")
    assert [i["iri"] for i in items] == [f"{ID}school/1234"]


# --- the real graph --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_index(real_settings: Settings) -> Iterator[CompletionIndex]:
    with OxigraphProcess.from_settings(real_settings) as engine:
        yield build_index(engine, NAMES)


def test_the_real_graph(real_index: CompletionIndex) -> None:
    classes = complete(real_index, "SELECT * WHERE { ?s a |")
    assert classes and all(i["kind"] == "class" for i in classes)
    assert [i["count"] for i in classes] == sorted((i["count"] for i in classes), reverse=True)
    assert complete(real_index, "SELECT * WHERE { ?s a Шко|", lang="ru")[0]["insert"] == "ak:School"
    objects = complete(real_index, "SELECT * WHERE { ?s ak:locatedIn Қоянқұс|", lang="ru")
    assert [i["iri"] for i in objects] == [ID + "place/koyankus"]
    assert objects[0]["label"] == "Коянкус"
    assert complete(real_index, "SELECT * WHERE { Іле|", lang="en")[0]["label"] == "Ili District"
    props = complete(real_index, "SELECT * WHERE { ?s a ak:School ; |")
    assert "ak:locatedIn" in [i["insert"] for i in props]
