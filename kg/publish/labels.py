"""Human labels, in kk/ru/en, for the terms of other vocabularies the pages show (schema.org, Dublin
Core, SKOS, PROV, ORG, …), which the ontology reuses without labelling. The dataset's own labels
always win; these only fill the gaps.
"""

from __future__ import annotations

import pyoxigraph as ox

from kg.engine import Engine
from kg.publish.describe import select
from kg.rdf.names import DCTERMS, FOAF, GEO, LABEL_PREDICATES, ORG, OWL, PROV, QB, QUDT, RDFS, SCHEMA, SKOS

# IRI: (kk, ru, en)
LABELS: dict[str, tuple[str, str, str]] = {
    DCTERMS + "created": ("құрылған күні", "дата создания", "created"),
    DCTERMS + "date": ("күні", "дата", "date"),
    DCTERMS + "description": ("сипаттамасы", "описание", "description"),
    DCTERMS + "isPartOf": ("құрамына кіреді", "входит в", "is part of"),
    DCTERMS + "issued": ("жарияланған күні", "дата выпуска", "issued"),
    DCTERMS + "language": ("тілі", "язык", "language"),
    DCTERMS + "license": ("лицензиясы", "лицензия", "licence"),
    DCTERMS + "relation": ("байланысты", "связано с", "related to"),
    DCTERMS + "subject": ("тақырыбы", "тема", "subject"),
    DCTERMS + "title": ("атауы", "заглавие", "title"),
    SCHEMA + "about": ("туралы", "о чём", "about"),
    SCHEMA + "areaServed": ("қызмет көрсету аумағы", "обслуживаемая территория", "area served"),
    SCHEMA + "associatedMedia": ("медиа", "медиафайлы", "associated media"),
    SCHEMA + "attendee": ("қатысушы", "участник", "attendee"),
    SCHEMA + "containedInPlace": ("орналасқан жері", "находится в", "contained in place"),
    SCHEMA + "creditText": ("авторлық белгі", "подпись автора", "credit"),
    SCHEMA + "datePublished": ("жарияланған күні", "дата публикации", "date published"),
    SCHEMA + "foundingDate": ("құрылған күні", "дата основания", "founding date"),
    SCHEMA + "inLanguage": ("тілі", "язык", "in language"),
    SCHEMA + "location": ("өткен орны", "место", "location"),
    SCHEMA + "organizer": ("ұйымдастырушы", "организатор", "organizer"),
    SCHEMA + "publisher": ("баспагер", "издатель", "publisher"),
    SCHEMA + "superEvent": ("бөлігі болған оқиға", "часть события", "part of event"),
    SCHEMA + "City": ("қала (schema.org)", "город (schema.org)", "city (schema.org)"),
    SCHEMA + "Place": ("орын", "место", "place"),
    SCHEMA + "Person": ("адам", "человек", "person"),
    SCHEMA + "NewsArticle": ("жаңалық мақаласы", "новостная статья", "news article"),
    SCHEMA + "Organization": ("ұйым", "организация", "organisation"),
    SCHEMA + "GovernmentOrganization": (
        "мемлекеттік ұйым",
        "государственная организация",
        "government organisation",
    ),
    SCHEMA + "Corporation": ("корпорация", "корпорация", "corporation"),
    SCHEMA + "Event": ("оқиға", "событие", "event"),
    SCHEMA + "CreativeWork": ("шығарма", "произведение", "creative work"),
    SCHEMA + "Legislation": ("заңнама", "законодательный акт", "legislation"),
    SCHEMA + "ImageObject": ("сурет", "изображение", "image"),
    SCHEMA + "AdministrativeArea": ("әкімшілік аумақ", "административная территория", "administrative area"),
    SCHEMA + "Country": ("ел", "страна", "country"),
    SCHEMA + "NewsMediaOrganization": ("бұқаралық ақпарат құралы", "СМИ", "news media organisation"),
    SKOS + "altLabel": ("балама атауы", "другое название", "alternative label"),
    SKOS + "prefLabel": ("негізгі атауы", "основное название", "preferred label"),
    SKOS + "definition": ("анықтамасы", "определение", "definition"),
    SKOS + "inScheme": ("схемада", "в схеме", "in scheme"),
    SKOS + "topConceptOf": ("жоғарғы ұғымы", "верхнее понятие схемы", "top concept of"),
    SKOS + "hasTopConcept": ("жоғарғы ұғымдары", "верхние понятия", "has top concept"),
    SKOS + "notation": ("белгілеу", "обозначение", "notation"),
    SKOS + "Concept": ("ұғым", "понятие", "concept"),
    SKOS + "ConceptScheme": ("ұғымдар схемасы", "схема понятий", "concept scheme"),
    PROV + "wasDerivedFrom": ("дереккөзі", "получено из", "derived from"),
    PROV + "wasAttributedTo": ("хабарлаған", "по данным", "attributed to"),
    PROV + "wasAssociatedWith": ("байланысты агент", "связано с агентом", "associated with"),
    PROV + "Entity": ("мән (PROV)", "сущность (PROV)", "entity (PROV)"),
    PROV + "Agent": ("агент", "агент", "agent"),
    PROV + "Activity": ("қызмет", "деятельность", "activity"),
    PROV + "Collection": ("жиынтық", "коллекция", "collection"),
    ORG + "hasMembership": ("мүшелігі", "членство", "membership"),
    ORG + "heldBy": ("лауазымды атқарады", "занимает", "held by"),
    ORG + "holds": ("лауазымы", "занимает должность", "holds"),
    ORG + "member": ("мүше", "член", "member"),
    ORG + "organization": ("ұйым", "организация", "organisation"),
    ORG + "postIn": ("лауазым ұйымы", "должность в", "post in"),
    ORG + "role": ("рөлі", "роль", "role"),
    ORG + "unitOf": ("бөлімшесі", "подразделение", "unit of"),
    ORG + "Post": ("лауазым", "должность", "post"),
    ORG + "Membership": ("мүшелік", "членство", "membership"),
    ORG + "Organization": ("ұйым (W3C ORG)", "организация (W3C ORG)", "organisation (W3C ORG)"),
    ORG + "FormalOrganization": ("ресми ұйым", "формальная организация", "formal organisation"),
    ORG + "OrganizationalUnit": ("ұйым бөлімшесі", "подразделение организации", "organisational unit"),
    ORG + "Role": ("рөл", "роль", "role"),
    RDFS + "comment": ("түсініктеме", "комментарий", "comment"),
    RDFS + "seeAlso": ("сондай-ақ қараңыз", "см. также", "see also"),
    RDFS + "label": ("атауы", "название", "label"),
    RDFS + "subClassOf": ("жоғарғы класы", "подкласс", "subclass of"),
    RDFS + "subPropertyOf": ("жоғарғы қасиеті", "подсвойство", "subproperty of"),
    RDFS + "domain": ("анықталу облысы", "область определения", "domain"),
    RDFS + "range": ("мәндер облысы", "область значений", "range"),
    QB + "dataSet": ("деректер жинағы", "набор данных", "data set"),
    QB + "structure": ("құрылымы", "структура", "structure"),
    QB + "Observation": ("бақылау", "наблюдение", "observation"),
    QB + "DataSet": ("статистикалық деректер жинағы", "статистический набор данных", "statistical data set"),
    QUDT + "numericValue": ("сандық мәні", "числовое значение", "numeric value"),
    QUDT + "unit": ("өлшем бірлігі", "единица измерения", "unit"),
    QUDT + "QuantityValue": ("шама", "величина", "quantity value"),
    QUDT + "Unit": ("өлшем бірлігі", "единица измерения", "unit"),
    GEO + "hasArea": ("ауданы", "площадь", "area"),
    GEO + "Feature": ("географиялық нысан", "географический объект", "geographic feature"),
    FOAF + "name": ("аты", "имя", "name"),
    FOAF + "Person": ("адам", "человек", "person"),
    FOAF + "Group": ("топ", "группа", "group"),
    OWL + "Class": ("класс", "класс", "class"),
    OWL + "ObjectProperty": ("объектілік қасиет", "объектное свойство", "object property"),
    OWL + "DatatypeProperty": ("деректер қасиеті", "свойство-литерал", "datatype property"),
    OWL + "inverseOf": ("кері қасиеті", "обратное свойство", "inverse of"),
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#type": ("түрі", "тип", "type"),
}


def with_builtin(labels: dict[str, list[ox.Literal]]) -> dict[str, list[ox.Literal]]:
    """``labels`` plus :data:`LABELS` for the IRIs it has no label for."""
    merged = dict(labels)
    for iri, words in LABELS.items():
        if iri not in merged:
            merged[iri] = [
                ox.Literal(w, language=lang) for w, lang in zip(words, ("kk", "ru", "en"), strict=True)
            ]
    return merged


def vocabulary_labels(engine: Engine) -> dict[str, list[ox.Literal]]:
    """Labels of every IRI that has one (classes, properties, concepts, things): the dataset is small,
    so one query serves every page until the data change."""
    labels = " ".join(f"<{p}>" for p in LABEL_PREDICATES)
    rows = select(
        engine,
        f"SELECT DISTINCT ?s ?l WHERE {{ VALUES ?p {{ {labels} }} ?s ?p ?l "
        "FILTER(isIRI(?s) && isLiteral(?l)) }",
        union=True,
    )
    found: dict[str, list[ox.Literal]] = {}
    for row in rows:
        s, label = row["s"], row["l"]
        if isinstance(s, ox.NamedNode) and isinstance(label, ox.Literal):
            found.setdefault(s.value, []).append(label)
    return found
