"""Statistics drawn as charts: the RDF Data Cube observations of a place or a data set (population at
each date, age structure, investment per year, …) and the facilities of each district by status.

Two queries at most per page; labels come from the cached label index.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

import pyoxigraph as ox
from flask_babel import gettext
from markupsafe import Markup

from kg.publish.describe import select
from kg.publish.languages import pick
from kg.rdf.iris import sparql_iri
from kg.rdf.names import QB, SDMX_ATTRIBUTE, SDMX_DIMENSION, SDMX_MEASURE, UNIT, XSD
from server.core.i18n import format_date, format_number
from server.linked.state import Linked
from server.pages import charts

AK = "def/ontology#"
BILLION = 1_000_000_000
MONEY_WORDS = {"kk": "млрд ₸", "ru": "млрд ₸", "en": "bn ₸"}


@dataclass
class Chart:
    title: str
    svg: Markup
    headers: tuple[str, str]
    rows: list[tuple[str, str]] = field(default_factory=list)
    note: str = ""


@dataclass(frozen=True)
class Observation:
    iri: str
    indicator: str
    value: float
    lexical: str
    period: ox.Literal | None
    unit: str | None
    age: str | None


def label_of(state: Linked, iri: str, lang: str, *, short: bool = False) -> str:
    found = pick(state.labels().get(iri, []), lang)
    text = found.value if found else iri.rstrip("/#").rsplit("/", 1)[-1].rsplit("#", 1)[-1]
    if short:
        text = text.split(" (")[0]
    return text


def capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def display_value(value: float, lexical: str, unit: str | None, lang: str) -> str:
    if unit == UNIT + "CCY_KZT" and value >= BILLION:
        return f"{format_number(round(value / BILLION, 1), lang)} {MONEY_WORDS[lang]}"
    if unit == UNIT + "PERCENT":
        return f"{format_number(lexical, lang)} %"
    if unit == UNIT + "KiloM":
        return f"{format_number(lexical, lang)} {'km' if lang == 'en' else 'км'}"
    return format_number(lexical, lang)


def observations(state: Linked, iri: str) -> list[Observation]:
    r = sparql_iri(iri)
    ak = state.names.base + AK
    rows = select(
        state.engine,
        f"""SELECT DISTINCT ?obs ?ind ?value ?period ?unit ?age WHERE {{
  {{ ?obs <{SDMX_DIMENSION}refArea> {r} }} UNION {{ ?obs <{QB}dataSet> {r} }}
  ?obs <{ak}indicator> ?ind ; <{SDMX_MEASURE}obsValue> ?value .
  OPTIONAL {{ ?obs <{SDMX_DIMENSION}refPeriod> ?period }}
  OPTIONAL {{ ?obs <{SDMX_ATTRIBUTE}unitMeasure> ?unit }}
  OPTIONAL {{ ?obs <{ak}ageGroup> ?age }}
}}""",
        union=True,
    )
    found = []
    for row in rows:
        value = row["value"]
        if not isinstance(value, ox.Literal):
            continue
        try:
            number = float(value.value)
        except ValueError:
            continue
        period = row["period"] if isinstance(row["period"], ox.Literal) else None
        unit = row["unit"].value if isinstance(row["unit"], ox.NamedNode) else None
        age = row["age"].value if isinstance(row["age"], ox.NamedNode) else None
        found.append(
            Observation(str(row["obs"].value), str(row["ind"].value), number, value.value, period, unit, age)
        )
    return found


def _when(period: ox.Literal) -> dt.date | None:
    kind = period.datatype.value[len(XSD) :] if period.datatype.value.startswith(XSD) else ""
    try:
        if kind == "date":
            return dt.date.fromisoformat(period.value[:10])
        if kind == "gYearMonth":
            return dt.date(int(period.value[:4]), int(period.value[5:7]), 1)
        if kind == "gYear":
            return dt.date(int(period.value[:4]), 1, 1)
    except ValueError:
        return None
    return None


def observation_charts(state: Linked, iri: str, lang: str) -> list[Chart]:
    """A chart for every indicator that has several values: over time (dates: a time line; years:
    columns) or by age group (bars)."""
    by_indicator: dict[str, list[Observation]] = defaultdict(list)
    for obs in observations(state, iri):
        by_indicator[obs.indicator].append(obs)
    found = []
    for indicator, obs_list in sorted(by_indicator.items()):
        title = capitalised(label_of(state, indicator, lang))
        unit_label = label_of(state, obs_list[0].unit, lang) if obs_list[0].unit else ""
        aged = sorted((o for o in obs_list if o.age), key=lambda o: o.age or "")
        if len(aged) >= 2:
            bars = [
                charts.Bar(
                    label_of(state, o.age or "", lang, short=True),
                    o.value,
                    display_value(o.value, o.lexical, o.unit, lang),
                )
                for o in aged
            ]
            found.append(_chart(title, charts.bar_chart(title, bars), gettext("Value"), bars, unit_label))
            continue
        dated: list[tuple[Observation, dt.date]] = []
        for o in obs_list:
            when = _when(o.period) if o.period is not None and not o.age else None
            if when is not None:
                dated.append((o, when))
        if len({when for _, when in dated}) < 2:
            continue
        dated.sort(key=lambda pair: pair[1])
        yearly = all(o.period is not None and o.period.datatype.value == XSD + "gYear" for o, _ in dated)
        if yearly:
            bars = [
                charts.Bar(
                    o.period.value if o.period else "",
                    o.value,
                    display_value(o.value, o.lexical, o.unit, lang),
                )
                for o, _ in dated
            ]
            found.append(_chart(title, charts.column_chart(title, bars), gettext("Date"), bars, unit_label))
        else:
            points = [
                charts.Point(
                    when,
                    format_date(o.period.value, o.period.datatype.value, lang) if o.period else "",
                    o.value,
                    display_value(o.value, o.lexical, o.unit, lang),
                )
                for o, when in dated
            ]
            chart = Chart(
                title,
                charts.time_chart(title, points),
                (gettext("Date"), gettext("Value")),
                [(p.label, p.display) for p in points],
                unit_label,
            )
            found.append(chart)
    return found


def _chart(title: str, svg: Markup, first: str, bars: list[charts.Bar], unit_label: str) -> Chart:
    return Chart(
        title,
        svg,
        (first, gettext("Value")),
        [(b.label, b.display) for b in bars],
        unit_label,
    )


@dataclass
class DistrictFacilities:
    district: str
    statuses: dict[str, int]  # status IRI ("" when not stated) → number of facilities
    facilities: dict[str, str]  # facility IRI → its status IRI


def facilities_by_status(state: Linked) -> dict[str, DistrictFacilities]:
    """Facilities (asserted or inferred ``ak:Facility``) located in each functional district, by their
    current status; a status stated by several articles is taken from the latest one."""
    ak = state.names.base + AK
    rows = select(
        state.engine,
        f"""SELECT DISTINCT ?district ?f ?status ?g WHERE {{
  ?district a <{ak}FunctionalDistrict> .
  OPTIONAL {{
    ?f a <{ak}Facility> ; <{ak}locatedIn> ?district .
    OPTIONAL {{ GRAPH ?g {{ ?f <{ak}currentStatus> ?status }} }}
  }}
}}""",
        union=True,
    )
    graphs = state.graphs()
    chosen: dict[str, dict[str, tuple[str, str]]] = defaultdict(dict)  # district → facility → (date, status)
    districts: set[str] = set()
    for row in rows:
        district = row["district"]
        if not isinstance(district, ox.NamedNode):
            continue
        districts.add(district.value)
        f = row["f"]
        if not isinstance(f, ox.NamedNode):
            continue
        status = row["status"].value if isinstance(row["status"], ox.NamedNode) else ""
        graph = row["g"].value if isinstance(row["g"], ox.NamedNode) else ""
        date = (graphs[graph].date or "") if graph in graphs else ""
        previous = chosen[district.value].get(f.value)
        if previous is None or (not previous[1] and status) or (status and date > previous[0]):
            chosen[district.value][f.value] = (date, status)
    result = {}
    for district in sorted(districts):
        facilities = {f: status for f, (_, status) in chosen[district].items()}
        counts: dict[str, int] = defaultdict(int)
        for status in facilities.values():
            counts[status] += 1
        result[district] = DistrictFacilities(district, dict(counts), facilities)
    return result


STATUS_ORDER = (
    "planned",
    "designated",
    "under-design",
    "being-implemented",
    "under-construction",
    "completed",
    "in-commissioning",
    "operating",
)


def status_chart(state: Linked, districts: list[DistrictFacilities], lang: str) -> Chart | None:
    if not districts or not any(d.facilities for d in districts):
        return None
    keys = {k for d in districts for k in d.statuses}

    def order(key: str) -> tuple[int, str]:
        tail = key.rsplit("/", 1)[-1]
        return (STATUS_ORDER.index(tail) if tail in STATUS_ORDER else len(STATUS_ORDER) + (not key), key)

    legend = [
        (k, label_of(state, k, lang) if k else gettext("status not stated")) for k in sorted(keys, key=order)
    ]
    rows = [
        charts.StackedRow(
            label_of(state, d.district, lang),
            state.page_href(d.district),
            tuple(charts.Segment(k, d.statuses.get(k, 0)) for k, _ in legend),
        )
        for d in districts
    ]
    title = gettext("Facilities by status in each district")
    table = [
        (
            label_of(state, d.district, lang),
            ", ".join(f"{name}: {d.statuses[k]}" for k, name in legend if d.statuses.get(k)),
        )
        for d in districts
    ]
    return Chart(
        title, charts.stacked_chart(title, rows, legend), (gettext("District"), gettext("Count")), table
    )
