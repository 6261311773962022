"""Engine profiles: how the one client (:class:`kg.engine.client.SparqlClient`) speaks to one kind of
SPARQL store, where the SPARQL 1.1 Protocol leaves stores room or where a store departs from it.

    Profile              the Protocol as written ("generic"): queries form-POSTed (§2.1.2, which every
    │                    store implements), updates POSTed directly, the store's default graph as it is
    ├── OxigraphProfile  ``oxigraph serve``: queries POSTed directly, the union of all graphs asked for
    │                    with its ``union-default-graph`` parameter, its own timer stops a query
    └── VirtuosoProfile  OpenLink Virtuoso 7.2 (Debian's ``virtuoso-opensource``), below

A profile decides, for each query, what is sent (:meth:`Profile.plan`, :meth:`Profile.request`), and
what the answer is worth (:meth:`Profile.answer`: checks and conversions; :meth:`Profile.error`: the
store's error texts); for updates, how they are sent and which literals a store would change.

Which profile: the setting ``engine_profile``. ``auto`` asks the store (one ``GET`` of ``ASK {}``,
safe on every store): a ``Server: Virtuoso/…`` header is Virtuoso, ``Server: Oxigraph/…`` Oxigraph;
anything else is generic, and its service description says whether its default graph is the union
(``sd:UnionDefaultGraph``).

**Virtuoso 7.2** (measured: ``tests/test_virtuoso_store.py`` pins every behaviour relied on here):

* *Method*: a query POSTed as ``application/sparql-query`` gets no answer at all and holds one of its
  HTTP threads (openlink/virtuoso-opensource#842): queries are form-POSTed; updates are form-POSTed to
  its authenticated endpoint (``/sparql-auth``, HTTP digest), never with dataset parameters (they break
  ``DELETE WHERE { GRAPH … }``), prefixed with ``define sql:big-data-const 1`` (else INSERT DATA fails
  past ~1,000 triples and changes decimals).
* *Formats*: only SPARQL JSON (SELECT, ASK) and N-Triples (CONSTRUCT, DESCRIBE) are asked for; every
  other format is written here (its TSV is not the W3C's, its Turtle and JSON-LD change numeric
  types). Its JSON is mended on the way: blank nodes ``nodeID://b1`` → ``_:b1``, stored booleans
  ``"1"``/``"0"`` → ``true``/``false``, an ASK answered as a SELECT of ``__ASK_RETVAL``.
* *Never a cut answer*: it cuts results at ``ResultSetMaxRows`` (virtuoso.ini ``[SPARQL]``) and says so
  only for SELECT (``X-SPARQL-MaxRows``, also on a complete answer of exactly that many rows);
  CONSTRUCT is cut at that many + 1 triples and DESCRIBE at that many resources, silently. So: a
  SELECT with the header is refused unless its own LIMIT is within the cap; a CONSTRUCT of more
  triples than the cap is refused; a DESCRIBE with a WHERE clause is preceded by the SELECT of what it
  describes, refused if that could reach the cap. Partial "anytime" answers (``X-SQL-State`` on a 200)
  are refused, and ``timeout=`` (which asks for them) is never sent: its ``MaxQueryExecutionTime``
  answers an error, and the client's own deadline closes the connection, which stops the query.
* *Graphs*: its default graph is the union of every graph, its own system graphs included. Queries
  through us see only the graphs its anonymous user (``nobody``) may read: graph-level security, set
  by ``alatau-kg push`` (:meth:`VirtuosoProfile.security_queries`) and checked when the profile is
  resolved. The dataset a request or a query names is sent as protocol parameters, ``FROM`` taken out
  of the text (Virtuoso adds it to the parameters; the Protocol says they replace it).
* *Text*: Virtuoso takes one ``BASE``, first in the prologue: relative IRIs are resolved here and
  ``BASE`` removed; prefixed names are written out as IRIs (it refuses some local names SPARQL allows).
  ``GROUP_CONCAT`` without ``SEPARATOR`` fails there: the default separator (a space, SPARQL 1.1
  §18.5.1.7) is written in. Refused outright: its functions (``bif:``, ``sql:``: anonymous
  ``bif:http_get`` fetches any URL, ``bif:virtuoso_ini_item_value`` reads its configuration) and its
  pragmas (``define``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit, urlunsplit

import pyoxigraph as ox

from kg.config import ENGINE_PROFILES
from kg.engine import EngineResponse
from kg.errors import (
    EngineError,
    KGError,
    QueryRefused,
    QuerySyntaxError,
    QueryTimeout,
    ResultTruncated,
    UsageError,
)
from kg.rdf.sparql import QUERY_FORMS, Token, brace_depths, tokenize, unescape

QUERY_TYPE = "application/sparql-query"
UPDATE_TYPE = "application/sparql-update"
FORM_TYPE = "application/x-www-form-urlencoded"
RESULTS_JSON = "application/sparql-results+json"
NTRIPLES = "application/n-triples"
XSD = "http://www.w3.org/2001/XMLSchema#"
SD = "http://www.w3.org/ns/sparql-service-description#"

RESULTS_FORMATS: dict[str, ox.QueryResultsFormat] = {
    "application/sparql-results+json": ox.QueryResultsFormat.JSON,
    "application/sparql-results+xml": ox.QueryResultsFormat.XML,
    "text/csv": ox.QueryResultsFormat.CSV,
    "text/tab-separated-values": ox.QueryResultsFormat.TSV,
}


@dataclass
class Plan:
    """One query as it will be sent, and what the answer must be checked and turned into."""

    sparql: str  # the text sent
    accept: str  # the media type asked of the store
    wanted: str  # the media type the caller asked for
    params: list[tuple[str, str]] = field(default_factory=list)  # dataset (and other) parameters
    form: str | None = None  # SELECT, ASK, CONSTRUCT, DESCRIBE; None: not known
    limit: int | None = None  # the query's own (outermost) LIMIT
    probe: Plan | None = None  # run first: its answer must be complete for this one's to be


@dataclass(frozen=True)
class Request:
    method: str
    url: str
    body: bytes | None
    headers: dict[str, str]


class Profile:
    """The SPARQL 1.1 Protocol as written: the generic profile."""

    name = "generic"
    query_method = "form"  # direct (POST application/sparql-query), form (POST urlencoded) or get
    update_method = "direct"  # direct (POST application/sparql-update) or form (POST update=)
    union_param = False  # the store takes Oxigraph's union-default-graph parameter
    # the client waits a grace period past its timeout for the store's own timer to answer first
    waits_past_timeout = True

    def __init__(self, *, union_default_graph: bool | None = None):
        # whether the store's own default graph is the union of its graphs (its service description's
        # sd:UnionDefaultGraph; None: it does not say)
        self.union_default_graph = union_default_graph

    # --- queries ---------------------------------------------------------------------------------

    def plan(
        self,
        sparql: str,
        *,
        accept: str,
        default_graphs: Sequence[str] = (),
        named_graphs: Sequence[str] = (),
        union: bool = False,
        union_param: bool = True,
        graphs: Callable[[], list[str]] = list,
    ) -> Plan:
        params = [("default-graph-uri", g) for g in default_graphs]
        params += [("named-graph-uri", g) for g in named_graphs]
        if union and union_param and self.union_param:
            params.append(("union-default-graph", ""))
        return Plan(sparql, accept, accept, params)

    def request(self, url: str, plan: Plan) -> Request:
        headers = {"Accept": plan.accept}
        if self.query_method == "direct":
            headers["Content-Type"] = QUERY_TYPE
            return Request("POST", with_params(url, plan.params), plan.sparql.encode("utf-8"), headers)
        fields = [("query", plan.sparql), *plan.params]
        if self.query_method == "get":
            return Request("GET", with_params(url, fields), None, headers)
        headers["Content-Type"] = FORM_TYPE
        return Request("POST", url, urlencode(fields).encode("ascii"), headers)

    def answer(self, plan: Plan, response: EngineResponse, headers: Mapping[str, str]) -> EngineResponse:
        """The answer to give for a 200 (checked; converted to what the caller asked for)."""
        return response

    def error(self, status: int, body: bytes) -> KGError | None:
        """The library error for a non-200 answer, where this store's texts say more (None: the
        client's generic reading)."""
        return None

    # --- updates and graphs ----------------------------------------------------------------------

    def update_request(self, sparql: str) -> tuple[bytes, str]:
        """An update's body and its content type."""
        if self.update_method == "form":
            return urlencode({"update": sparql}).encode("ascii"), FORM_TYPE
        return sparql.encode("utf-8"), UPDATE_TYPE

    def default_update_url(self, query_url: str) -> str:
        """``…/query`` → ``…/update`` (Oxigraph server, Fuseki); otherwise the query URL itself."""
        if query_url.rstrip("/").endswith("/query"):
            return query_url.rstrip("/")[: -len("query")] + "update"
        return query_url

    def default_store_url(self, query_url: str) -> str:
        """The Graph Store URL when none is configured (empty: the store has none we know of)."""
        return ""

    def rolled_back(self, status: int, body: bytes) -> bool:
        """Whether a failed update was rolled back whole by the store for a reason of the moment (a
        deadlock with another writer), so that sending it again is safe and may succeed."""
        return False

    def literal_problem(self, literal: ox.Literal) -> str | None:
        """Why the store would keep ``literal`` as another term (None: it keeps it as it is)."""
        return None

    def binds_literal(self, literal: ox.Literal) -> bool:
        """Whether an update template must carry ``literal`` as a bound variable (``STRDT``)
        because the store changes it when written as a constant."""
        return False

    def security_queries(self, graphs: Sequence[str]) -> list[str]:
        """Queries (run with the update credentials) that make ``graphs`` readable to queries, and
        only our graphs: none where the store has no graph permissions we rely on."""
        return []

    def grant_queries(self, graphs: Sequence[str]) -> list[str]:
        """Queries that make ``graphs`` readable too (a graph a write creates)."""
        return []

    @property
    def max_rows(self) -> int | None:
        """The store's cap on result rows (None: it has none, or does not cut silently)."""
        return None

    def facts(self) -> dict[str, Any]:
        """What the profile knows of the store (for ``/-/health``)."""
        facts: dict[str, Any] = {"profile": self.name}
        if self.union_default_graph is not None:
            facts["union_default_graph"] = self.union_default_graph
        return facts


class OxigraphProfile(Profile):
    """``oxigraph serve``: the store this service runs itself (kg.engine.process), or any other."""

    name = "oxigraph"
    query_method = "direct"
    union_param = True


# --- Virtuoso ---------------------------------------------------------------------------------------

VIRTUOSO_SYSTEM_GRAPHS = (
    "http://www.openlinksw.com/schemas/virtrdf#",
    "http://www.w3.org/ns/ldp#",
)
# A graph no store holds: the named graphs (or the default graph) of a dataset that names none. Virtuoso
# reads a missing parameter as "every graph" where SPARQL says "none".
NO_GRAPH = "urn:x-alatau-kg:no-graph"
# Virtuoso's own functions (bif:, sql:): a fetch of any URL, its configuration, its SQL procedures
_REFUSED_SCHEMES = ("bif:", "sql:")
_REFUSED_PREFIXES = ("bif", "sql")
_ABSOLUTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
_LIMIT_VALUE = re.compile(r"\s*(\d+)")
# a local name whose backslash escapes are all PN_LOCAL_ESC (https://www.w3.org/TR/sparql11-query/#rPN_LOCAL_ESC)
_VALID_ESCAPES = re.compile(r"(?:[^\\]|\\[_~.\-!$&'()*+,;=/?#@%])*")
# "Virtuoso 37000 Error SP030: SPARQL compiler, line 3: syntax error at ')' before '}'" + the query
_VIRTUOSO_ERROR = re.compile(
    r"Virtuoso (?P<state>[0-9A-Z]{5}) Error (?P<text>.*?)(?:\n\s*\nSPARQL query:|\Z)", re.S
)
_LINE = re.compile(r",? line (-?\d+):?")
# SQL states of errors the query itself causes: data exceptions (division by 0, a bad cast), the
# compiler's refusals (an unsupported form, "transitive start not given"), a missing argument
_QUERY_STATES = ("22", "37", "42", "07")
SECURITY_USER = "nobody"  # the user Virtuoso's public /sparql runs queries as

# Datatypes Virtuoso turns into others when written as constants in an update template (decimal →
# integer when integral, long → integer, time fails): carried as STRDT(…) variables instead.
_TEMPLATE_CHANGED = {XSD + "decimal", XSD + "long", XSD + "unsignedLong", XSD + "time"}
# Datatypes Virtuoso keeps as written, in a template too (measured in tests/test_virtuoso_engine.py)
_KEPT = {
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString",
    XSD + "string",
    XSD + "date",
    XSD + "gYear",
    XSD + "gYearMonth",
    XSD + "gMonth",
    XSD + "gDay",
    XSD + "gMonthDay",
    XSD + "anyURI",
    XSD + "token",
    XSD + "normalizedString",
    XSD + "hexBinary",
    XSD + "base64Binary",
    XSD + "int",
    XSD + "short",
    XSD + "byte",
    XSD + "nonNegativeInteger",
    XSD + "positiveInteger",
    XSD + "negativeInteger",
    XSD + "nonPositiveInteger",
    XSD + "unsignedInt",
    XSD + "unsignedShort",
    XSD + "unsignedByte",
}
_INTEGERS = {
    XSD + t
    for t in (
        "integer",
        "long",
        "unsignedLong",
        "int",
        "short",
        "byte",
        "nonNegativeInteger",
        "positiveInteger",
        "negativeInteger",
        "nonPositiveInteger",
        "unsignedInt",
        "unsignedShort",
        "unsignedByte",
    )
}
_DURATIONS = {XSD + "duration", XSD + "dayTimeDuration", XSD + "yearMonthDuration"}


@dataclass(frozen=True)
class VirtuosoFacts:
    """What a Virtuoso says of its configuration (``bif:virtuoso_ini_item_value``, public)."""

    version: str = ""
    max_rows: int | None = None  # [SPARQL] ResultSetMaxRows (None: not set)
    max_execution_s: int | None = None  # [SPARQL] MaxQueryExecutionTime
    isolation: int = 2  # [Parameters] DefaultIsolation: 2 read committed (the default), 4 repeatable read
    graphs_hidden: bool = False  # its system graphs are not readable by queries (graph-level security)

    #: the query that reads them (anyone may run it on a stock Virtuoso)
    QUERY = (
        "SELECT (bif:virtuoso_ini_item_value('SPARQL', 'ResultSetMaxRows') AS ?max) "
        "(bif:virtuoso_ini_item_value('SPARQL', 'MaxQueryExecutionTime') AS ?time) "
        "(bif:virtuoso_ini_item_value('Parameters', 'DefaultIsolation') AS ?isolation) "
        "(bif:sys_stat('st_dbms_ver') AS ?version) "
        "(EXISTS { GRAPH <http://www.openlinksw.com/schemas/virtrdf#> { ?s ?p ?o } } AS ?system) "
        "WHERE {}"
    )

    @classmethod
    def of(cls, row: Mapping[str, str]) -> VirtuosoFacts:
        def number(key: str) -> int | None:
            try:
                return int(float(row[key]))
            except (KeyError, ValueError):
                return None

        return cls(
            version=row.get("version", ""),
            max_rows=number("max"),
            max_execution_s=number("time"),
            isolation=number("isolation") or 2,
            graphs_hidden=row.get("system") in ("0", "false"),
        )


class VirtuosoProfile(Profile):
    """OpenLink Virtuoso 7.2 (see the module's docstring)."""

    name = "virtuoso"
    query_method = "form"
    update_method = "form"
    # never send timeout= (partial answers): the client's deadline, at the timeout, closes the
    # connection, which stops the query
    waits_past_timeout = False

    def __init__(self, facts: VirtuosoFacts | None = None):
        super().__init__(union_default_graph=True)
        self.facts_read = facts or VirtuosoFacts()

    @property
    def max_rows(self) -> int | None:
        return self.facts_read.max_rows

    # --- queries ---------------------------------------------------------------------------------

    def plan(
        self,
        sparql: str,
        *,
        accept: str,
        default_graphs: Sequence[str] = (),
        named_graphs: Sequence[str] = (),
        union: bool = False,
        union_param: bool = True,
        graphs: Callable[[], list[str]] = list,
    ) -> Plan:
        text = rewrite_for_virtuoso(sparql)
        form = text.form
        if form in ("CONSTRUCT", "DESCRIBE") or (form is None and accept not in RESULTS_FORMATS):
            asked = NTRIPLES
        else:
            asked = RESULTS_JSON
        params: list[tuple[str, str]] = []
        if default_graphs or named_graphs:  # the request's dataset replaces the query's (Protocol §2.1.4)
            default, named = list(default_graphs), list(named_graphs)
        else:
            default, named = text.default_graphs, text.named_graphs
        if default or named:
            # exactly the graphs named: a missing parameter would mean every graph to Virtuoso
            params += [("default-graph-uri", g) for g in default or [NO_GRAPH]]
            params += [("named-graph-uri", g) for g in named or [NO_GRAPH]]
        elif form == "DESCRIBE":
            # Virtuoso's DESCRIBE without a dataset misses graphs written after it started: name them
            ours = graphs()
            params += [("default-graph-uri", g) for g in ours] + [("named-graph-uri", g) for g in ours]
        # else no parameter at all: the union of the graphs queries may read. Virtuoso has no default
        # graph of its own (``union`` asks for what it gives anyway); and with any dataset parameter,
        # GRAPH <g> of a graph outside it matches as an empty group (ASK true), so none is sent unasked.
        plan = Plan(text.sparql, asked, accept, params, form, text.limit)
        if text.described is not None:
            plan.probe = Plan(text.described, RESULTS_JSON, RESULTS_JSON, params, "SELECT", text.limit)
        return plan

    def answer(self, plan: Plan, response: EngineResponse, headers: Mapping[str, str]) -> EngineResponse:
        state = _header(headers, "X-SQL-State")
        if state:
            message = _header(headers, "X-SQL-Message") or state
            raise ResultTruncated(
                f"the store returned a partial result ({message.strip()[:200]}): refused; "
                "nothing partial is passed on"
            )
        media_type = response.content_type.split(";")[0].strip().lower()
        if media_type == "text/html":
            raise EngineError("the store answered an HTML page, not a result: is that its SPARQL endpoint?")
        if plan.accept == RESULTS_JSON:
            self._check_rows(plan, headers, response.body)
            body = _mended_json(response.body)
            return _converted_results(body, plan.wanted if plan.wanted in RESULTS_FORMATS else RESULTS_JSON)
        triples = list(ox.parse(response.body, format=ox.RdfFormat.N_TRIPLES))
        cap = self.max_rows
        # CONSTRUCT is cut at cap + 1 triples; DESCRIBE at cap resources, whatever their triples (its probe)
        if cap is not None and plan.form != "DESCRIBE" and len(triples) > cap:
            raise self._truncated(cap, f"a result of more than {cap} triples")
        return _converted_triples(triples, plan.wanted)

    def check_probe(self, plan: Plan, response: EngineResponse, headers: Mapping[str, str]) -> None:
        """A DESCRIBE's resources (its probe's answer): the DESCRIBE is complete only if they are far
        enough below the cap (Virtuoso describes at most ResultSetMaxRows resources, silently)."""
        self._check_rows(plan, headers, response.body)
        cap = self.max_rows
        if cap is None:
            return
        document = json.loads(response.body)
        rows = len(document.get("results", {}).get("bindings", []))
        width = max(1, len(document.get("head", {}).get("vars", [])))
        if rows * width >= cap:
            raise self._truncated(cap, f"a DESCRIBE of up to {rows * width} resources")

    def _check_rows(self, plan: Plan, headers: Mapping[str, str], body: bytes) -> None:
        reached = _header(headers, "X-SPARQL-MaxRows")
        if not reached:
            return
        try:
            cap = int(reached)
        except ValueError:
            cap = self.max_rows or 0
        # The header is set whenever the answer has as many rows as the cap, complete or not: only the
        # query's own LIMIT within the cap proves it complete.
        if plan.limit is None or plan.limit > cap:
            raise self._truncated(cap, f"a result of {cap} rows or more")

    def _truncated(self, cap: int, what: str) -> ResultTruncated:
        return ResultTruncated(
            f"the store cut {what} at its limit of {cap} rows (Virtuoso's ResultSetMaxRows, [SPARQL] "
            "section of virtuoso.ini, raises it): refused rather than answered incomplete; narrow the "
            f"query, or give it a LIMIT of at most {cap}",
            store_limit=cap,
        )

    def error(self, status: int, body: bytes) -> KGError | None:
        text = body.decode("utf-8", "replace").strip()
        match = _VIRTUOSO_ERROR.search(text)
        if match is None:
            if status == 401:
                return EngineError("the store refused the credentials (engine_user, engine_password)")
            return None
        state, message = match.group("state"), " ".join(match.group("text").split())
        if state == "S1T00" or "SR171" in message:
            return QueryTimeout(
                "the store stopped the query at its own time limit (Virtuoso's MaxQueryExecutionTime)",
                timeout_s=float(self.facts_read.max_execution_s or 0),
            )
        if "estimated execution time" in message:
            return QueryTimeout(
                f"the store refused to start the query: {message} (Virtuoso's MaxQueryCostEstimationTime)",
                timeout_s=float(self.facts_read.max_execution_s or 0),
            )
        if "SECURITY" in message:
            return UsageError(f"the store refused the query: {message}")
        if status == 400 and re.match(r"SP0\d\d", message):
            position = None
            if line := _LINE.search(message):
                position = {"line": int(line.group(1)), "column": 1}  # no column given
            message = _LINE.sub(":", message, count=1)
            return QuerySyntaxError(f"SPARQL syntax error: {message}", position=position)
        if status in (400, 500) and state.startswith(_QUERY_STATES):
            return UsageError(f"the store could not evaluate the query: Virtuoso {state} {message}")
        return EngineError(f"the query engine answered {status}: Virtuoso {state} {message}"[:600])

    # --- updates and graphs ----------------------------------------------------------------------

    def update_request(self, sparql: str) -> tuple[bytes, str]:
        # big-data-const 1: else INSERT DATA fails past ~1,000 triples and turns integral decimals into
        # integers (the endpoint puts "define sql:big-data-const 0" in front when its cost estimator is on;
        # a later define wins)
        return urlencode({"update": "define sql:big-data-const 1\n" + sparql}).encode("ascii"), FORM_TYPE

    def default_update_url(self, query_url: str) -> str:
        return _sibling(query_url, "sparql-auth")

    def rolled_back(self, status: int, body: bytes) -> bool:
        # SQLSTATE 40001 (SR172 "Transaction deadlocked"): two writers' updates locked each other and this
        # one was rolled back (the endpoint retries a few times itself, then answers 500); seen under
        # repeatable read when claims are withdrawn at the same moment
        return status == 500 and b"Virtuoso 40001 Error" in body

    def default_store_url(self, query_url: str) -> str:
        return _sibling(query_url, "sparql-graph-crud-auth")

    def literal_problem(self, literal: ox.Literal) -> str | None:
        return virtuoso_literal_problem(literal)

    def binds_literal(self, literal: ox.Literal) -> bool:
        datatype = literal.datatype.value
        return datatype in _TEMPLATE_CHANGED or (
            datatype not in _KEPT and datatype not in _INTEGERS and datatype != XSD + "boolean"
        )

    def security_queries(self, graphs: Sequence[str]) -> list[str]:
        """Graph-level security: queries read only the graphs granted to ``nobody`` (the default 0 first:
        narrowing it after a grant fails)."""
        queries = [f"SELECT (sql:RDF_DEFAULT_USER_PERMS_SET('{SECURITY_USER}', 0) AS ?done) WHERE {{}}"]
        for graph in graphs:
            if "'" in graph or not graph:
                raise UsageError(f"cannot grant a graph named {graph!r}")
            queries.append(
                f"SELECT (sql:RDF_GRAPH_USER_PERMS_SET('{graph}', '{SECURITY_USER}', 1) AS ?done) WHERE {{}}"
            )
        return queries

    def grant_queries(self, graphs: Sequence[str]) -> list[str]:
        """Make ``graphs`` readable (a graph created by a write is hidden until granted)."""
        return self.security_queries(graphs)[1:]

    def facts(self) -> dict[str, Any]:
        f = self.facts_read
        return {
            "profile": self.name,
            "version": f.version,
            "result_set_max_rows": f.max_rows,
            "max_query_execution_time_s": f.max_execution_s,
            "default_isolation": f.isolation,
            "system_graphs_hidden": f.graphs_hidden,
        }


# --- choosing a profile -----------------------------------------------------------------------------


def profile_named(name: str) -> Profile:
    """A profile by its setting's name (Virtuoso's facts are read when it is resolved: see the client)."""
    if name not in ENGINE_PROFILES or name == "auto":
        raise UsageError(f"unknown engine profile {name!r} (known: oxigraph, virtuoso, generic)")
    return {"oxigraph": OxigraphProfile, "virtuoso": VirtuosoProfile, "generic": Profile}[name]()


def detected(server: str) -> str:
    """The profile a ``Server`` header names."""
    product = server.strip().split("/")[0].lower()
    if product == "virtuoso":
        return "virtuoso"
    if product == "oxigraph":
        return "oxigraph"
    return "generic"


def union_in_description(body: bytes, content_type: str, base: str) -> bool | None:
    """Whether a service description declares ``sd:UnionDefaultGraph`` (None: no description read)."""
    fmt = ox.RdfFormat.from_media_type(content_type.split(";")[0].strip())
    if fmt is None:
        return None
    try:
        triples = list(ox.parse(body, format=fmt, base_iri=base))  # its sd:endpoint is often <>
    except (SyntaxError, ValueError):
        return None
    features = {t.object for t in triples if t.predicate == ox.NamedNode(SD + "feature")}
    return ox.NamedNode(SD + "UnionDefaultGraph") in features


# --- Virtuoso: the query text -----------------------------------------------------------------------


@dataclass
class VirtuosoText:
    sparql: str  # what is sent
    form: str | None
    default_graphs: list[str]  # the query's FROM
    named_graphs: list[str]  # its FROM NAMED
    limit: int | None  # its outermost LIMIT
    described: str | None  # for a DESCRIBE of variables: the SELECT DISTINCT of what it describes


def refused_iri(iri: str) -> bool:
    return iri.lower().startswith(_REFUSED_SCHEMES)


def rewrite_for_virtuoso(sparql: str) -> VirtuosoText:
    """The query as Virtuoso must get it: its IRIs resolved and BASE gone, its FROM clauses taken out
    (to be sent as parameters), GROUP_CONCAT given its default separator; refused if it calls Virtuoso's
    functions or pragmas. Line breaks are kept, so the store's error lines are the query's."""
    source = unescape(sparql)
    tokens = list(tokenize(sparql))
    depths = brace_depths(tokens)
    edits: list[tuple[int, int, str]] = []  # (start, end, replacement) in ``source``
    prefixes: dict[str, str] = {}
    base = ""
    form: str | None = None
    form_at = -1
    default: list[str] = []
    named: list[str] = []
    limit: int | None = None

    def absolute(iri: str) -> str:
        return iri if not base or _ABSOLUTE.match(iri) else resolve_iri(base, iri)

    def check(iri: str) -> None:
        if refused_iri(iri):
            raise QueryRefused(
                f"Virtuoso's own functions are refused (<{iri}>): bif: and sql: reach its files, its "
                "configuration and the network",
                code="function_refused",
            )

    def iri_of(token: Token) -> str | None:
        if token.kind == "iri":
            return absolute(token.text[1:-1])
        if token.kind == "pname":
            prefix, _, local = token.text.partition(":")
            namespace = prefixes.get(prefix)
            return None if namespace is None else namespace + local.replace("\\", "")
        return None

    i = 0
    while i < len(tokens):
        token = tokens[i]
        word = token.text.upper() if token.kind == "name" else ""
        following = tokens[i + 1] if i + 1 < len(tokens) else None
        if word == "DEFINE":
            raise QueryRefused(
                "Virtuoso's pragmas (define …) are refused: the dataset and the limits are this service's",
                code="pragma_refused",
            )
        if word == "BASE" and following is not None and following.kind == "iri":
            base = absolute(following.text[1:-1])
            check(base)
            edits.append((token.offset, following.offset + len(following.text), ""))
            i += 2
            continue
        if word == "PREFIX" and following is not None and following.kind == "pname":
            target = tokens[i + 2] if i + 2 < len(tokens) else None
            if target is not None and target.kind == "iri":
                namespace = absolute(target.text[1:-1])
                check(namespace)
                prefixes[following.text.partition(":")[0]] = namespace
                if namespace != target.text[1:-1]:
                    edits.append((target.offset, target.offset + len(target.text), f"<{namespace}>"))
                i += 3
                continue
        if token.kind == "iri":
            iri = absolute(token.text[1:-1])
            check(iri)
            if iri != token.text[1:-1]:
                edits.append((token.offset, token.offset + len(token.text), f"<{iri}>"))
        elif token.kind == "pname":
            prefix = token.text.partition(":")[0]
            if prefix.lower() in _REFUSED_PREFIXES:
                check(prefix.lower() + ":")
            if (expanded := iri_of(token)) is not None:
                check(expanded)
                if _VALID_ESCAPES.fullmatch(token.text.partition(":")[2]):
                    # written out: Virtuoso refuses local names SPARQL allows (":c:d", "og:a%3Ab", "\\~")
                    edits.append((token.offset, token.offset + len(token.text), f"<{expanded}>"))
        elif form is None and word in QUERY_FORMS:
            form, form_at = word, i
        elif word == "FROM" and depths[i] == 0 and following is not None:
            is_named = following.kind == "name" and following.text.upper() == "NAMED"
            target = tokens[i + 2] if is_named and i + 2 < len(tokens) else following
            dataset_iri = iri_of(target)
            if dataset_iri is not None:
                check(dataset_iri)
                (named if is_named else default).append(dataset_iri)
                edits.append((token.offset, target.offset + len(target.text), ""))
                i += 3 if is_named else 2
                continue
        elif word == "LIMIT" and depths[i] == 0:
            if m := _LIMIT_VALUE.match(source, token.offset + len(token.text)):
                limit = int(m.group(1))
        elif (
            word == "GROUP_CONCAT"
            and following is not None
            and following.text == "("
            and (close := _separator_missing(tokens, i + 1)) is not None
        ):
            edits.append((tokens[close].offset, tokens[close].offset, ' ; SEPARATOR=" "'))
        i += 1
    if form == "SELECT" and _lists_graphs(tokens, form_at):
        edits += _wrapped_where(tokens, depths, form_at)
    text = _edited(source, edits) if edits else sparql
    described = None
    if form == "DESCRIBE":
        described = _described_select(source, tokens, depths, form_at, edits)
    return VirtuosoText(text, form, default, named, limit, described)


def _lists_graphs(tokens: list[Token], form_at: int) -> bool:
    """``SELECT DISTINCT … GRAPH ?g …``: the shape Virtuoso answers from its list of every graph,
    ignoring graph permissions (``SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }`` names its
    system graphs), unless the pattern is one group deeper."""
    following = tokens[form_at + 1] if form_at + 1 < len(tokens) else None
    if following is None or following.kind != "name" or following.text.upper() != "DISTINCT":
        return False
    return any(
        t.kind == "name" and t.text.upper() == "GRAPH" and tokens[k + 1].kind == "var"
        for k, t in enumerate(tokens[:-1])
    )


def _wrapped_where(tokens: list[Token], depths: list[int], form_at: int) -> list[tuple[int, int, str]]:
    """Edits that put the query's WHERE group one group deeper (``{ X }`` → ``{ { X } }``: the same
    pattern, SPARQL 1.1 §18.2.2.5)."""
    opening = next((k for k in range(form_at, len(tokens)) if tokens[k].text == "{" and depths[k] == 1), None)
    if opening is None:
        return []
    closing = next(
        (k for k in range(opening + 1, len(tokens)) if tokens[k].text == "}" and depths[k] == 0), None
    )
    if closing is None:
        return []
    after = tokens[opening].offset + 1
    return [(after, after, " { "), (tokens[closing].offset, tokens[closing].offset, " } ")]


def _separator_missing(tokens: list[Token], opening: int) -> int | None:
    """The index of the ``)`` closing a GROUP_CONCAT( at ``opening`` when it has no SEPARATOR."""
    depth = 0
    for j in range(opening, len(tokens)):
        tok = tokens[j]
        if tok.kind == "other" and tok.text == "(":
            depth += 1
        elif tok.kind == "other" and tok.text == ")":
            depth -= 1
            if depth == 0:
                return j
        elif depth == 1 and tok.kind == "name" and tok.text.upper() == "SEPARATOR":
            return None
    return None


def _described_select(
    source: str, tokens: list[Token], depths: list[int], form_at: int, edits: list[tuple[int, int, str]]
) -> str | None:
    """``DESCRIBE ?x <iri> WHERE {…}`` → ``SELECT DISTINCT ?x WHERE {…}`` (None: no variable described)."""
    variables: list[str] = []
    star = False
    j = form_at + 1
    while j < len(tokens):
        tok = tokens[j]
        word = tok.text.upper() if tok.kind == "name" else ""
        if word in ("WHERE", "FROM") or (tok.kind == "other" and tok.text == "{"):
            break
        if tok.kind == "var":
            variables.append("?" + tok.text[1:])
        elif tok.kind == "other" and tok.text == "*":
            star = True
        j += 1
    if not variables and not star:
        return None
    head = "SELECT DISTINCT " + ("*" if star else " ".join(dict.fromkeys(variables))) + " "
    end = tokens[j].offset if j < len(tokens) else len(source)
    return _edited(source, [*edits, (tokens[form_at].offset, end, head)])


def _edited(source: str, edits: list[tuple[int, int, str]]) -> str:
    out, at = [], 0
    for start, end, replacement in sorted(edits, key=lambda e: (e[0], e[1])):
        if start < at:
            start = at  # an edit inside an earlier one (the DESCRIBE head over a removed FROM)
            if end < at:
                continue
        out.append(source[at:start])
        out.append(replacement)
        at = end
    out.append(source[at:])
    return "".join(out)


# --- Virtuoso: answers ------------------------------------------------------------------------------


def _mended_json(body: bytes) -> bytes:
    """Virtuoso's SPARQL JSON, made standard: blank nodes, stored booleans, ASK."""
    document = json.loads(body)
    if "boolean" in document:
        return json.dumps({"head": {}, "boolean": bool(document["boolean"])}).encode()
    head = document.get("head", {})
    bindings = document.get("results", {}).get("bindings", [])
    variables = head.get("vars", [])
    if variables == ["__ASK_RETVAL"]:  # an ASK, where CaseMode is not 2
        value = bindings[0]["__ASK_RETVAL"]["value"] if bindings else "0"
        return json.dumps({"head": {}, "boolean": value not in ("0", "false")}).encode()
    if "_star_fake" in variables:  # SELECT * of a pattern without variables: SPARQL has none
        variables = [v for v in variables if v != "_star_fake"]
        bindings = [{k: t for k, t in row.items() if k != "_star_fake"} for row in bindings]
    for row in bindings:
        for term in row.values():
            kind = term.get("type")
            if kind == "bnode":
                term["value"] = term["value"].removeprefix("nodeID://")
            elif kind == "typed-literal":
                term["type"] = "literal"
                if term.get("datatype") == XSD + "boolean" and term.get("value") in ("1", "0"):
                    term["value"] = "true" if term["value"] == "1" else "false"
    return json.dumps({"head": {"vars": variables}, "results": {"bindings": bindings}}).encode()


def _converted_results(body: bytes, wanted: str) -> EngineResponse:
    if wanted == RESULTS_JSON:
        return EngineResponse(200, RESULTS_JSON, body)
    results: Any = ox.parse_query_results(body, format=ox.QueryResultsFormat.JSON)
    data = results.serialize(format=RESULTS_FORMATS[wanted])
    return EngineResponse(200, wanted, bytes(data or b""))


def _converted_triples(triples: list[ox.Triple], wanted: str) -> EngineResponse:
    fmt = ox.RdfFormat.from_media_type(wanted) or ox.RdfFormat.N_TRIPLES
    if fmt.supports_datasets:
        data = ox.serialize((ox.Quad(t.subject, t.predicate, t.object) for t in triples), format=fmt)
    else:
        data = ox.serialize(triples, format=fmt)
    return EngineResponse(200, fmt.media_type, bytes(data or b""))


# --- Virtuoso: literals in writes -------------------------------------------------------------------


def virtuoso_literal_problem(literal: ox.Literal) -> str | None:
    """Why Virtuoso would keep ``literal`` as another term (it stores numbers, booleans and times by
    value, in its own lexical forms), or None when it keeps it as written."""
    datatype, value = literal.datatype.value, literal.value
    short = datatype.removeprefix(XSD)
    if datatype in _DURATIONS:
        return f'Virtuoso does not keep xsd:{short} values ("P1Y2M" comes back as "14")'
    expected = value
    try:
        if datatype in _INTEGERS:
            number = int(value)
            if not -(2**63) <= number < 2**63:
                return f"Virtuoso keeps integers of 64 bits only, not {value}"
            expected = str(number)
        elif datatype == XSD + "decimal":
            expected = format(Decimal(value).normalize(), "f")
            expected = "0" if expected == "-0" else expected
        elif datatype in (XSD + "double", XSD + "float"):
            if value not in ("INF", "-INF", "NaN"):
                number_f = float(value)
                expected = repr(number_f) if math.isfinite(number_f) else value
        elif datatype == XSD + "boolean":
            expected = {"1": "true", "0": "false"}.get(value, value)
        elif datatype == XSD + "dateTime":
            expected = re.sub(r"(\d\d:\d\d:\d\d)\.0+(?!\d)", r"\1", value)
    except (ValueError, InvalidOperation):
        return f"{value!r} is not a valid xsd:{short}"
    if expected != value:
        return f'Virtuoso stores "{value}"^^xsd:{short} as "{expected}": write it so'
    return None


# --- helpers ----------------------------------------------------------------------------------------


def resolve_iri(base: str, relative: str) -> str:
    """RFC 3986 §5.2 resolution (``urljoin`` drops an empty fragment: ``<#>`` must keep its ``#``)."""
    joined = urljoin(base, relative)
    if relative.endswith("#") and not joined.endswith("#"):
        joined += "#"
    return joined


def with_params(url: str, params: Sequence[tuple[str, str]]) -> str:
    if not params:
        return url
    joint = "&" if "?" in url else "?"
    if list(params) == _UNION_ONLY:  # most queries to Oxigraph: no urlencode per request
        return url + joint + "union-default-graph="
    return url + joint + urlencode(list(params))


_UNION_ONLY = [("union-default-graph", "")]


def _sibling(url: str, last: str) -> str:
    """``http://h/sparql`` → ``http://h/<last>`` (Virtuoso's other endpoints sit beside /sparql)."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    parent = path.rsplit("/", 1)[0] if "/" in path else ""
    return urlunsplit((parts.scheme, parts.netloc, f"{parent}/{last}", "", ""))


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if value is None:
        value = next((v for k, v in headers.items() if k.lower() == name.lower()), "")
    return value or ""
