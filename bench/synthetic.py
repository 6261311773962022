"""A seeded synthetic Alatau: our ontology's terms and modelling patterns, at any scale.

    .venv/bin/python -m bench.synthetic --triples 100k --seed 1 --out /tmp/city
    .venv/bin/alatau-kg build --data-dir /tmp/city/data --store /tmp/city/store

Writes ``DIR/data/synthetic-S-NNNN.trig``, one source graph per file
(``…/graph/source/synthetic-S-NNNN``), each described like our article graphs: a
``schema:NewsArticle`` with its publication date, and a graph entity derived from it. The city grows
microdistrict by microdistrict inside functional districts of Alatau: facilities (schools with seats,
feldsher-obstetric points with visits per shift, sports halls, houses of culture, …) with
``ak:QuantityValue`` capacities, dated ``ak:StatusRecord`` histories and ``ak:currentStatus``; companies and
investment projects; district akimats with deputy akims (posts and memberships); dated
``qb:Observation`` statistics (population, age groups, investment) with provenance and attribution;
labels in Kazakh, Russian and English; no blank nodes. It conforms to ``ontology/shapes.ttl``.

By default the real ``data/*.trig`` are copied beside it, so the synthetic city extends the real one
(it refers to ``pl:alatau`` and ``ao:akimat-alatau``); ``--no-real-data`` describes those two itself
instead. ``--triples`` is the target for all data files together (approximate: the city stops growing
at the first microdistrict past it); the exact count is printed.

Plain string formatting, streamed file by file: no rdflib, so a million triples take seconds.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from kg.config import PROJECT_ROOT

PREFIXES = """\
@prefix rdfs:    <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd:     <http://www.w3.org/2001/XMLSchema#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix schema:  <http://schema.org/> .
@prefix org:     <http://www.w3.org/ns/org#> .
@prefix prov:    <http://www.w3.org/ns/prov#> .
@prefix foaf:    <http://xmlns.com/foaf/0.1/> .
@prefix qb:      <http://purl.org/linked-data/cube#> .
@prefix sdmx-dimension: <http://purl.org/linked-data/sdmx/2009/dimension#> .
@prefix sdmx-measure:   <http://purl.org/linked-data/sdmx/2009/measure#> .
@prefix sdmx-attribute: <http://purl.org/linked-data/sdmx/2009/attribute#> .
@prefix qudt:    <http://qudt.org/schema/qudt/> .
@prefix unit:    <http://qudt.org/vocab/unit/> .
@prefix ak:      <https://w3id.org/alatau-kg/def/ontology#> .
@prefix fs:      <https://w3id.org/alatau-kg/def/facility-status/> .
@prefix vq:      <https://w3id.org/alatau-kg/def/value-qualifier/> .
@prefix spec:    <https://w3id.org/alatau-kg/def/district-specialisation/> .
@prefix age:     <https://w3id.org/alatau-kg/def/age-group/> .
@prefix ind:     <https://w3id.org/alatau-kg/def/indicator/> .
@prefix ms:      <https://w3id.org/alatau-kg/def/milestone/> .
@prefix role:    <https://w3id.org/alatau-kg/def/role/> .
@prefix pl:      <https://w3id.org/alatau-kg/id/place/> .
@prefix ao:      <https://w3id.org/alatau-kg/id/org/> .
@prefix pe:      <https://w3id.org/alatau-kg/id/person/> .
@prefix po:      <https://w3id.org/alatau-kg/id/post/> .
@prefix mb:      <https://w3id.org/alatau-kg/id/membership/> .
@prefix fa:      <https://w3id.org/alatau-kg/id/facility/> .
@prefix pr:      <https://w3id.org/alatau-kg/id/project/> .
@prefix ob:      <https://w3id.org/alatau-kg/id/observation/> .
@prefix ds:      <https://w3id.org/alatau-kg/id/dataset/> .
@prefix sr:      <https://w3id.org/alatau-kg/id/status-record/> .
@prefix qv:      <https://w3id.org/alatau-kg/id/quantity/> .
@prefix src:     <https://w3id.org/alatau-kg/id/source/> .

"""

GRAPH_BASE = "https://w3id.org/alatau-kg/graph/source/"
TRIPLES_PER_SOURCE = 25_000  # a new source graph (article) about every this many triples
MICRODISTRICTS_PER_DISTRICT = 24
FIRST_PUBLICATION = date(2025, 2, 3)

# Name roots (kk, ru, en) for places; people's names (kk, ru, en).
PLACE_ROOTS = [
    ("Жаңа өмір", "Жана омир", "Zhana Omir"),
    ("Алтын дала", "Алтын дала", "Altyn Dala"),
    ("Көктем", "Коктем", "Koktem"),
    ("Самал", "Самал", "Samal"),
    ("Бәйтерек", "Байтерек", "Baiterek"),
    ("Ақжол", "Акжол", "Akzhol"),
    ("Шұғыла", "Шугыла", "Shugyla"),
    ("Ақсай", "Аксай", "Aksai"),
    ("Нұрлы жол", "Нурлы жол", "Nurly Zhol"),
    ("Қарасу", "Карасу", "Karasu"),
    ("Тұлпар", "Тулпар", "Tulpar"),
    ("Бірлік", "Бирлик", "Birlik"),
    ("Достық", "Достык", "Dostyk"),
    ("Ұлан", "Улан", "Ulan"),
    ("Құлагер", "Кулагер", "Kulager"),
    ("Шапағат", "Шапагат", "Shapagat"),
]
FIRST_NAMES = [
    ("Асқар", "Аскар", "Askar"),
    ("Ержан", "Ержан", "Yerzhan"),
    ("Дәурен", "Даурен", "Dauren"),
    ("Нұрлан", "Нурлан", "Nurlan"),
    ("Бауыржан", "Бауыржан", "Bauyrzhan"),
    ("Серік", "Серик", "Serik"),
    ("Марат", "Марат", "Marat"),
    ("Талғат", "Талгат", "Talgat"),
    ("Қайрат", "Кайрат", "Kairat"),
    ("Ғалым", "Галым", "Galym"),
]
SURNAMES = [
    ("Сейітов", "Сеитов", "Seitov"),
    ("Омаров", "Омаров", "Omarov"),
    ("Жұмабаев", "Жумабаев", "Zhumabayev"),
    ("Әбенов", "Абенов", "Abenov"),
    ("Қасымов", "Касымов", "Kasymov"),
    ("Ахметов", "Ахметов", "Akhmetov"),
    ("Тоқтаров", "Токтаров", "Toktarov"),
    ("Байжанов", "Байжанов", "Baizhanov"),
    ("Ермеков", "Ермеков", "Yermekov"),
    ("Нұрғалиев", "Нургалиев", "Nurgaliyev"),
]
COMPANY_WORDS = ["Steppe", "Ili", "Kapshagay", "Orda", "Tengri", "Silk Way", "Zhetysu", "Almaly", "Saryarka"]
COMPANY_KINDS = ["Logistics", "Foods", "Construction", "Energy", "Textiles", "Pharma", "Digital", "Agro"]
SPECIALISATIONS = [
    "education",
    "medicine",
    "science",
    "tourism",
    "ecology",
    "recreation",
    "transport-hub",
    "business-centre",
    "industrial-logistics-centre",
]

# Facility kinds: (class, en, ru, kk, capacity unit or None, capacity choices, capacity wording).
FACILITY_KINDS = [
    ("School", "School", "школа", "мектеп", "ak:Seat", range(300, 1801, 100), "на {} мест"),
    ("School", "School", "школа", "мектеп", "ak:Seat", range(300, 1801, 100), "на {} мест"),
    ("FeldsherObstetricPoint", "Feldsher-obstetric point", "ФАП", "ФАП", "ak:VisitPerShift", (15, 25, 50),
     "на {} посещений в смену"),
    ("SportsHall", "Sports hall", "спортивный зал", "спорт залы", None, (), ""),
    ("SportsComplex", "Sports complex", "спортивный комплекс", "спорт кешені", None, (), ""),
    ("HouseOfCulture", "House of culture", "дом культуры", "мәдениет үйі", None, (), ""),
    ("BusinessCentre", "Business centre", "бизнес-центр", "бизнес орталығы", None, (), ""),
    ("EducationalCentre", "Educational centre", "образовательный центр", "білім орталығы", None, (), ""),
    ("InfrastructureNetwork", "Water network", "водопроводная сеть", "су құбыры желісі", None, (), ""),
]  # fmt: skip
FACILITIES_PER_MICRODISTRICT = (8, 13)  # uniform, inclusive

# Status histories, each ending in the facility's current status.
HISTORIES = [
    ("planned",),
    ("planned", "under-construction"),
    ("planned", "under-construction", "operating"),
    ("under-design", "under-construction", "completed", "in-commissioning"),
    ("under-construction", "completed", "operating"),
    ("operating",),
]
STATUS_WORDS = {
    "planned": ("planned", "запланирован"),
    "under-design": ("under design", "проектируется"),
    "under-construction": ("under construction", "строится"),
    "completed": ("completed", "строительство завершено"),
    "in-commissioning": ("in commissioning", "вводится в эксплуатацию"),
    "operating": ("operating", "действует"),
    "being-implemented": ("being implemented", "реализуется"),
}
AGE_GROUPS = [("age-0-17", "0–17", 0.29), ("age-18-35", "18–35", 0.22), ("age-36-60", "36–60", 0.32),
              ("age-over-60", "over 60", 0.12)]  # fmt: skip


def lit(text: str, lang: str) -> str:
    return f'"{text}"@{lang}'


def typed(value: object, datatype: str) -> str:
    return f'"{value}"^^xsd:{datatype}'


def month_text(month: int) -> str:
    """A month counted from year 0 (``year * 12 + month - 1``) as ``YYYY-MM``."""
    return f"{month // 12:04d}-{month % 12 + 1:02d}"


class SourceFile:
    """One TriG file holding one source graph; subjects are written as they come."""

    def __init__(self, path: Path, graph: str):
        self.path = path
        self.graph = graph
        self.parts: list[str] = [PREFIXES, f"<{graph}> {{\n\n"]
        self.triples = 0

    def entity(self, subject: str, pairs: list[str]) -> None:
        """``pairs`` are ``"predicate object"`` strings, one triple each (no duplicates)."""
        self.triples += len(pairs)
        self.parts.append(subject + " " + " ;\n    ".join(pairs) + " .\n")

    def close(self) -> None:
        self.parts.append("}\n")
        self.path.write_text("".join(self.parts), encoding="utf-8")
        self.parts = []


@dataclass
class Generated:
    out: Path
    files: list[Path]
    synthetic_triples: int
    real_triples: int
    graphs: list[str] = field(default_factory=list)
    facilities: int = 0
    microdistricts: int = 0

    @property
    def triples(self) -> int:
        return self.synthetic_triples + self.real_triples


def parse_count(text: str) -> int:
    """``10k``, ``1M``, ``2.5m``, ``5000``."""
    t = text.strip().lower().replace("_", "")
    scale = {"k": 1_000, "m": 1_000_000}.get(t[-1:], 1)
    return int(float(t[:-1] if scale > 1 else t) * scale)


def real_data_files() -> list[Path]:
    return sorted((PROJECT_ROOT / "data").glob("*.trig"))


def count_quads(paths: list[Path]) -> int:
    import pyoxigraph as ox

    return sum(sum(1 for _ in ox.parse(path=str(p), format=ox.RdfFormat.TRIG)) for p in paths)


class City:
    """The generator's state: counters, the open source file, the current district and akimat."""

    def __init__(self, out: Path, seed: int, target: int, real_data: bool):
        self.rng = random.Random(seed)
        self.seed = seed
        self.data_dir = out / "data"
        self.target = target
        self.real_data = real_data
        self.files: list[Path] = []
        self.graphs: list[str] = []
        self.done = 0  # triples in closed files
        self.source: SourceFile | None = None
        self.article = ""
        self.published = FIRST_PUBLICATION
        self.n_sources = 0
        self.n_districts = 0
        self.n_micro = 0
        self.n_facilities = 0
        self.n_people = 0
        self.n_companies = 0
        self.district = ""
        self.district_name = ("", "", "")
        self.akimat = ""
        self.portfolio = ""
        self.datasets: dict[str, str] = {}

    @property
    def triples(self) -> int:
        return self.done + (self.source.triples if self.source else 0)

    # --- sources -------------------------------------------------------------------------------

    def open_source(self) -> SourceFile:
        if self.source is not None:
            self.close_source()
        self.n_sources += 1
        slug = f"synthetic-{self.seed}-{self.n_sources:04d}"
        graph = GRAPH_BASE + slug
        path = self.data_dir / f"{slug}.trig"
        self.source = src = SourceFile(path, graph)
        self.files.append(path)
        self.graphs.append(graph)
        self.article = f"src:{slug}"
        self.published = FIRST_PUBLICATION + timedelta(days=7 * (self.n_sources - 1))
        day = self.published.isoformat()
        ru_day = self.published.strftime("%d.%m.%Y")
        k = self.n_sources
        src.entity(
            self.article,
            [
                "a schema:NewsArticle",
                "a prov:Entity",
                f"rdfs:label {lit(f'Synthetic news article {k} of {day} on Alatau', 'en')}",
                f"rdfs:label {lit(f'Синтетическая новостная статья {k} от {ru_day} об Алатау', 'ru')}",
                f"schema:datePublished {typed(day, 'date')}",
                f"dcterms:issued {typed(day, 'date')}",
                'dcterms:language "ru"',
                'schema:inLanguage "ru"',
                "dcterms:description "
                + lit("Generated article (bench/synthetic.py) reporting facilities, projects, officials and "
                      "statistics of new microdistricts of Alatau, as reported by district akimats.", "en"),
                "dcterms:description "
                + lit("Сгенерированная статья (bench/synthetic.py) об объектах, проектах, должностных лицах "
                      "и статистике новых микрорайонов Алатау по данным акиматов районов.", "ru"),
                "ak:citesSource ao:akimat-alatau",
                "schema:about pl:alatau",
            ],
        )  # fmt: skip
        src.entity(
            f"<{graph}>",
            [
                "a prov:Entity",
                f"rdfs:label {lit(f'Facts from synthetic article {k} of {day}', 'en')}",
                f"rdfs:label {lit(f'Факты из синтетической статьи {k} от {ru_day}', 'ru')}",
                f"prov:wasDerivedFrom {self.article}",
            ],
        )
        if self.n_sources == 1 and not self.real_data:
            self.anchor()
        self.portfolio = f"pr:{slug}-portfolio"
        src.entity(
            self.portfolio,
            [
                "a ak:ProjectPortfolio",
                f"rdfs:label {lit(f'Investment projects reported in synthetic article {k}', 'en')}",
                f"rdfs:label {lit(f'Инвестиционные проекты из синтетической статьи {k}', 'ru')}",
                f"prov:wasDerivedFrom {self.article}",
            ],
        )
        self.datasets = {}
        for key, en, ru in (
            ("population", "Population", "Численность населения"),
            ("age-structure", "Age structure", "Возрастная структура"),
            ("investment", "Investment", "Инвестиции"),
        ):
            iri = f"ds:{slug}-{key}"
            self.datasets[key] = iri
            src.entity(
                iri,
                [
                    "a qb:DataSet",
                    f"rdfs:label {lit(f'{en} of microdistricts of Alatau (synthetic article {k})', 'en')}",
                    f"rdfs:label {lit(f'{ru} микрорайонов Алатау (синтетическая статья {k})', 'ru')}",
                    "qb:structure ak:dsd-statistics",
                    f"prov:wasDerivedFrom {self.article}",
                ],
            )
        # A district straddles sources: re-describe nothing, only refer to it. A new source starts a
        # new district so that each district's akimat and statistics sit with their article.
        self.new_district()
        return src

    def close_source(self) -> None:
        assert self.source is not None
        self.done += self.source.triples
        self.source.close()
        self.source = None

    def anchor(self) -> None:
        """The real city and its akimat, with the real data's labels (when the real data is absent)."""
        assert self.source is not None
        self.source.entity(
            "pl:alatau",
            [
                "a ak:CityOfRegionalSignificance",
                f"rdfs:label {lit('Алатау', 'kk')}",
                f"rdfs:label {lit('Алатау', 'ru')}",
                f"rdfs:label {lit('Alatau', 'en')}",
            ],
        )
        self.source.entity(
            "ao:akimat-alatau",
            [
                "a ak:Akimat",
                f"rdfs:label {lit('Алатау қаласының әкімдігі', 'kk')}",
                f"rdfs:label {lit('акимат города Алатау', 'ru')}",
                f"rdfs:label {lit('Akimat of Alatau', 'en')}",
                "schema:areaServed pl:alatau",
            ],
        )

    # --- places, agents --------------------------------------------------------------------------

    def name(self, n: int) -> tuple[str, str, str]:
        kk, ru, en = PLACE_ROOTS[n % len(PLACE_ROOTS)]
        k = n // len(PLACE_ROOTS) + 1
        return f"{kk}-{k}", f"{ru}-{k}", f"{en} {k}"

    def new_district(self) -> None:
        assert self.source is not None
        src, rng = self.source, self.rng
        self.n_districts += 1
        d = self.n_districts
        kk, ru, en = self.name(d * 7)
        self.district = f"pl:syn-district-{d:04d}"
        self.district_name = (kk, ru, en)
        area = f"qv:syn-district-{d:04d}-area"
        hectares = rng.randrange(2_000, 30_000, 10)
        specs = rng.sample(SPECIALISATIONS, 2)
        src.entity(
            self.district,
            [
                "a ak:FunctionalDistrict",
                f"rdfs:label {lit(f'{kk} ауданы', 'kk')}",
                f"rdfs:label {lit(f'район {ru}', 'ru')}",
                f"rdfs:label {lit(f'{en} District', 'en')}",
                "ak:locatedIn pl:alatau",
                f"ak:specialisation spec:{specs[0]}",
                f"ak:specialisation spec:{specs[1]}",
                f"ak:area {area}",
            ],
        )
        src.entity(
            area,
            [
                "a ak:QuantityValue",
                f"rdfs:label {lit(f'Area of {en} District', 'en')}",
                f"rdfs:label {lit(f'Площадь района {ru}', 'ru')}",
                f"qudt:numericValue {hectares}.0",
                "qudt:unit unit:HA",
                f"ak:statedValue {lit(f'{hectares} гектаров', 'ru')}",
                "prov:wasAttributedTo ao:akimat-alatau",
                f"prov:wasDerivedFrom {self.article}",
            ],
        )
        self.akimat = f"ao:syn-akimat-district-{d:04d}"
        src.entity(
            self.akimat,
            [
                "a ak:Akimat",
                f"rdfs:label {lit(f'{kk} ауданының әкімдігі', 'kk')}",
                f"rdfs:label {lit(f'акимат района {ru}', 'ru')}",
                f"rdfs:label {lit(f'Akimat of {en} District', 'en')}",
                f"schema:areaServed {self.district}",
            ],
        )
        # Investment in fixed capital of the district, two years.
        year = self.published.year
        base = rng.randrange(5, 80) * 1_000_000_000
        for y, value in ((year - 2, base), (year - 1, base * rng.randrange(11, 30) // 10)):
            self.observation(
                f"ob:syn-investment-district-{d:04d}-{y}",
                "investment",
                "investment-fixed-capital",
                self.district,
                typed(y, "gYear"),
                f"{value}.0",
                "unit:CCY_KZT",
                (f"Investment in fixed capital, {en} District, {y}",
                 f"Инвестиции в основной капитал, район {ru}, {y}"),
                f"{value / 1e9:.1f} млрд тенге".replace(".", ","),
            )  # fmt: skip
        self.person(self.akimat, (f"{kk} ауданы әкімінің орынбасары", f"заместитель акима района {ru}",
                                  f"Deputy Akim of {en} District"))  # fmt: skip

    def person(self, org: str, post_name: tuple[str, str, str]) -> None:
        assert self.source is not None
        src, rng = self.source, self.rng
        self.n_people += 1
        n = self.n_people
        fk, fr, fe = rng.choice(FIRST_NAMES)
        sk, sr_, se = rng.choice(SURNAMES)
        person, post, membership = (
            f"pe:syn-person-{n:06d}",
            f"po:syn-post-{n:06d}",
            f"mb:syn-membership-{n:06d}",
        )
        src.entity(
            person,
            [
                "a foaf:Person",
                "a schema:Person",
                "a prov:Agent",
                f"rdfs:label {lit(f'{fk} {sk}', 'kk')}",
                f"rdfs:label {lit(f'{fr} {sr_}', 'ru')}",
                f"rdfs:label {lit(f'{fe} {se}', 'en')}",
                f"foaf:name {lit(f'{fr} {sr_}', 'ru')}",
                f"org:holds {post}",
                f"org:hasMembership {membership}",
            ],
        )
        src.entity(
            post,
            [
                "a org:Post",
                f"rdfs:label {lit(post_name[0], 'kk')}",
                f"rdfs:label {lit(post_name[1], 'ru')}",
                f"rdfs:label {lit(post_name[2], 'en')}",
                f"org:postIn {org}",
                "org:role role:deputy-akim",
                f"org:heldBy {person}",
            ],
        )
        day = self.published.isoformat()
        src.entity(
            membership,
            [
                "a org:Membership",
                f"rdfs:label {lit(f'{fe} {se}, {post_name[2]} (as of {day})', 'en')}",
                f"rdfs:label {lit(f'{fr} {sr_} — {post_name[1]} (на {day})', 'ru')}",
                f"org:member {person}",
                f"org:organization {org}",
                "org:role role:deputy-akim",
                f"ak:asOf {typed(day, 'date')}",
                f"prov:wasDerivedFrom {self.article}",
            ],
        )

    def observation(
        self,
        iri: str,
        dataset: str,
        indicator: str,
        area: str,
        period: str,
        value: str,
        unit: str,
        labels: tuple[str, str],
        stated: str,
        age_group: str | None = None,
    ) -> None:
        assert self.source is not None
        pairs = [
            "a qb:Observation",
            f"rdfs:label {lit(labels[0], 'en')}",
            f"rdfs:label {lit(labels[1], 'ru')}",
            f"qb:dataSet {self.datasets[dataset]}",
            f"ak:indicator ind:{indicator}",
            f"sdmx-dimension:refArea {area}",
            f"sdmx-dimension:refPeriod {period}",
            f"sdmx-measure:obsValue {value}",
            f"sdmx-attribute:unitMeasure {unit}",
            f"ak:statedValue {lit(stated, 'ru')}",
            f"prov:wasAttributedTo {self.akimat}",
            f"prov:wasDerivedFrom {self.article}",
        ]
        if age_group:
            pairs.insert(5, f"ak:ageGroup age:{age_group}")
        self.source.entity(iri, pairs)

    # --- a microdistrict and what it holds --------------------------------------------------------

    def microdistrict(self) -> None:
        assert self.source is not None
        src, rng = self.source, self.rng
        self.n_micro += 1
        m = self.n_micro
        kk, ru, en = self.name(m)
        md = f"pl:syn-md-{m:05d}"
        src.entity(
            md,
            [
                "a ak:Microdistrict",
                f"rdfs:label {lit(f'{kk} шағын ауданы', 'kk')}",
                f"rdfs:label {lit(f'микрорайон {ru}', 'ru')}",
                f"rdfs:label {lit(f'{en} microdistrict', 'en')}",
                f"ak:locatedIn {self.district}",
            ],
        )
        if m % 6 == 0:  # now and then a former village nearby, now a settlement of the district
            src.entity(
                f"pl:syn-settlement-{m:05d}",
                [
                    "a ak:Settlement",
                    f"rdfs:label {lit(f'{kk} ауылы', 'kk')}",
                    f"rdfs:label {lit(f'посёлок {ru}', 'ru')}",
                    f"rdfs:label {lit(f'{en} settlement', 'en')}",
                    f"ak:locatedIn {self.district}",
                ],
            )
        business = None
        for _ in range(rng.randint(*FACILITIES_PER_MICRODISTRICT)):
            iri = self.facility(md, (kk, ru, en))
            if iri.startswith("fa:syn-businesscentre"):
                business = iri
        self.statistics(md, (kk, ru, en))
        self.project(md, (kk, ru, en), business)
        if m % 3 == 0:
            self.person(self.akimat, (f"{kk} шағын ауданы бойынша әкім орынбасары",
                                      f"заместитель акима по микрорайону {ru}",
                                      f"Deputy Akim for {en} microdistrict"))  # fmt: skip

    def facility(self, md: str, place: tuple[str, str, str]) -> str:
        assert self.source is not None
        src, rng = self.source, self.rng
        self.n_facilities += 1
        n = self.n_facilities
        cls, en, ru, kk, unit, choices, wording = rng.choice(FACILITY_KINDS)
        iri = f"fa:syn-{cls.lower()}-{n:06d}"
        pairs = [
            f"a ak:{cls}",
            f"rdfs:label {lit(f'№ {n} {kk} ({place[0]})', 'kk')}",
            f"rdfs:label {lit(f'{ru} № {n} ({place[1]})', 'ru')}",
            f"rdfs:label {lit(f'{en} No. {n} ({place[2]})', 'en')}",
            f"ak:locatedIn {md}",
        ]
        if unit:
            value = rng.choice(choices)
            capacity = f"qv:syn-{cls.lower()}-{n:06d}-capacity"
            pairs.append(f"ak:capacity {capacity}")
            src.entity(
                capacity,
                [
                    "a ak:QuantityValue",
                    f"rdfs:label {lit(f'Capacity of {en} No. {n}', 'en')}",
                    f"rdfs:label {lit(f'Мощность: {ru} № {n}', 'ru')}",
                    f"qudt:numericValue {value}",
                    f"qudt:unit {unit}",
                    f"ak:statedValue {lit(wording.format(value), 'ru')}",
                    f"prov:wasAttributedTo {self.akimat}",
                    f"prov:wasDerivedFrom {self.article}",
                ],
            )
        history = rng.choice(HISTORIES)
        pub = self.published.year * 12 + self.published.month - 1
        # Months of each step, increasing, none after the publication month.
        months = sorted(rng.sample(range(pub - 36, pub + 1), len(history)))
        pairs.append(f"ak:currentStatus fs:{history[-1]}")
        for status, month in zip(history, months, strict=True):
            record = f"sr:syn-{n:06d}-{status}"
            pairs.append(f"ak:hasStatusRecord {record}")
            s_en, s_ru = STATUS_WORDS[status]
            when = month_text(month)
            rec = [
                "a ak:StatusRecord",
                f"rdfs:label {lit(f'{en} No. {n}: {s_en}, {when}', 'en')}",
                f"rdfs:label {lit(f'{ru} № {n}: {s_ru}, {when}', 'ru')}",
                f"ak:statusOf {iri}",
                f"ak:status fs:{status}",
                f"ak:statusDate {typed(when, 'gYearMonth')}",
                f"prov:wasAttributedTo {self.akimat}",
                f"prov:wasDerivedFrom {self.article}",
            ]
            if status == "planned":
                rec += [
                    "ak:plannedMilestone ms:construction-start",
                    f"ak:plannedDate {typed(month // 12 + 1, 'gYear')}",
                ]
            src.entity(record, rec)
        src.entity(iri, pairs)
        return iri

    def statistics(self, md: str, place: tuple[str, str, str]) -> None:
        rng = self.rng
        m = self.n_micro
        _, ru, en = place
        first = rng.randrange(1_500, 30_000)
        later = first + rng.randrange(0, first // 5 + 1)
        year = self.published.year
        for period, value in ((f"{year - 1}-01-01", first), (f"{year}-01-01", later)):
            self.observation(
                f"ob:syn-population-md-{m:05d}-{period}",
                "population",
                "population",
                md,
                typed(period, "date"),
                str(value),
                "unit:NUM",
                (
                    f"Population of {en} microdistrict on {period}",
                    f"Численность населения микрорайона {ru} на {period}",
                ),
                f"{value} человек",
            )
        # Age groups of the earlier date: each below every population figure of the area.
        period = f"{year - 1}-01-01"
        for slug, span, share in AGE_GROUPS:
            value = int(first * share)
            self.observation(
                f"ob:syn-population-md-{m:05d}-{slug}",
                "age-structure",
                "population-by-age-group",
                md,
                typed(period, "date"),
                str(value),
                "unit:NUM",
                (f"Population of {en} microdistrict aged {span} on {period}",
                 f"Население микрорайона {ru} в возрасте {span} на {period}"),
                f"{value} человек",
                age_group=slug,
            )  # fmt: skip

    def project(self, md: str, place: tuple[str, str, str], facility: str | None) -> None:
        assert self.source is not None
        src, rng = self.source, self.rng
        self.n_companies += 1
        c = self.n_companies
        company = f"ao:syn-company-{c:05d}"
        name = f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_KINDS)} {c}"
        pairs = [
            "a ak:Company",
            f"rdfs:label {lit(name, 'en')}",
            f"rdfs:label {lit(name, 'ru')}",
            f"rdfs:label {lit(name, 'kk')}",
        ]
        if self.real_data and c % 5 == 0:
            pairs[0] = "a ak:InternationalCompany"
            pairs.append(f"ak:countryOfOrigin pl:{rng.choice(['china', 'russia'])}")
        src.entity(company, pairs)
        project, volume = f"pr:syn-project-{c:05d}", f"qv:syn-project-{c:05d}-investment"
        record = f"sr:syn-project-{c:05d}-being-implemented"
        billions = rng.randrange(1, 200)
        day = self.published.isoformat()
        pairs = [
            "a ak:InvestmentProject",
            f"rdfs:label {lit(f'{name}: project in {place[2]} microdistrict', 'en')}",
            f"rdfs:label {lit(f'{name}: проект в микрорайоне {place[1]}', 'ru')}",
            f"ak:projectOf {company}",
            f"ak:implementedIn {md}",
            f"ak:partOfPortfolio {self.portfolio}",
            f"ak:investmentVolume {volume}",
            "ak:currentStatus fs:being-implemented",
            f"ak:hasStatusRecord {record}",
        ]
        if facility:
            pairs.append(f"ak:concernsFacility {facility}")
        src.entity(project, pairs)
        src.entity(
            volume,
            [
                "a ak:QuantityValue",
                f"rdfs:label {lit(f'Investment volume of project {c}', 'en')}",
                f"rdfs:label {lit(f'Объём инвестиций проекта {c}', 'ru')}",
                f"qudt:numericValue {billions}000000000.0",
                "qudt:unit unit:CCY_KZT",
                f"ak:statedValue {lit(f'{billions} млрд тенге', 'ru')}",
                f"prov:wasAttributedTo {self.akimat}",
                f"prov:wasDerivedFrom {self.article}",
            ],
        )
        src.entity(
            record,
            [
                "a ak:StatusRecord",
                f"rdfs:label {lit(f'Project {c}: being implemented, as of {day}', 'en')}",
                f"rdfs:label {lit(f'Проект {c}: реализуется, на {day}', 'ru')}",
                f"ak:statusOf {project}",
                "ak:status fs:being-implemented",
                f"ak:statusDate {typed(day, 'date')}",
                f"prov:wasDerivedFrom {self.article}",
            ],
        )

    # --- the whole ---------------------------------------------------------------------------------

    def grow(self, real_triples: int) -> None:
        target = self.target - real_triples
        self.open_source()
        per_district = 0
        while self.triples < target:
            if self.source is None or self.source.triples >= TRIPLES_PER_SOURCE:
                self.open_source()
                per_district = 0
            elif per_district >= MICRODISTRICTS_PER_DISTRICT:
                self.new_district()
                per_district = 0
            self.microdistrict()
            per_district += 1
        self.close_source()


def generate(out: Path, triples: int, seed: int = 0, real_data: bool = True) -> Generated:
    """Write the synthetic city (and, with ``real_data``, copies of ``data/*.trig``) to ``out/data``."""
    data_dir = out / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    for old in data_dir.glob("*.trig"):
        old.unlink()  # a fresh city every time: leftovers of another seed or size would mix in
    real_files: list[Path] = []
    real_triples = 0
    if real_data:
        for path in real_data_files():
            real_files.append(Path(shutil.copy2(path, data_dir / path.name)))
        real_triples = count_quads(real_files)
    city = City(out, seed, triples, real_data)
    city.grow(real_triples)
    return Generated(
        out=out,
        files=real_files + city.files,
        synthetic_triples=city.done,
        real_triples=real_triples,
        graphs=city.graphs,
        facilities=city.n_facilities,
        microdistricts=city.n_micro,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--triples", default="10k", help="target size of the data: 5000, 10k, 1M (default 10k)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True, help="writes OUT/data/*.trig")
    parser.add_argument(
        "--no-real-data", dest="real_data", action="store_false", help="do not copy data/*.trig beside it"
    )
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    result = generate(args.out, parse_count(args.triples), args.seed, args.real_data)
    seconds = time.perf_counter() - t0
    print(
        f"{result.triples} triples ({result.synthetic_triples} synthetic in {len(result.graphs)} source "
        f"graph(s), {result.real_triples} real): {result.microdistricts} microdistricts, "
        f"{result.facilities} facilities; "
        f"{len(result.files)} files in {args.out / 'data'} ({seconds:.1f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
