"""The ``alatau-kg`` command line: build, reason, validate, query, export, stats, push, token, apply,
serve. It sits above both the library (:mod:`kg`) and the web layer (:mod:`server`).

Exit codes: 0 success (or conforms), 1 data does not conform, 2 could not run (bad usage, unreadable
file, syntax error). Progress goes to stderr, results to stdout.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import IO

import pyoxigraph as ox

from kg import __version__
from kg.build import assemble, build, load_additions, open_context, validate_additions
from kg.changes.durable import LocalDurable, RemoteStore, read_version
from kg.changes.tokens import add_token
from kg.changes.writer import Writer
from kg.config import ENGINE_PROFILES, Settings
from kg.engine.local import OxigraphStore, QueryResult
from kg.errors import ChangeRejected, KGError, LoadError, NotConformant, StoreError, UsageError
from kg.rdf.formats import rdf_format, rdf_format_of_path
from kg.rdf.names import VIEWS, Names
from kg.rdf.parsing import parse_file
from kg.rdf.stacks import on_deep_stack
from server.deploy import serve

EXIT_OK, EXIT_NOT_CONFORMANT, EXIT_ERROR = 0, 1, 2


def _progress(message: str) -> None:
    print(f"· {message}", file=sys.stderr, flush=True)


# `serve` flags that set a Settings field of the same name (the `dest` of each flag)
SERVE_SETTINGS = (
    "max_body_bytes",
    "max_result_bytes",
    "max_query_length",
    "max_group_depth",
    "max_optional_depth",
    "max_expression_depth",
    "max_path_depth",
    "max_triple_patterns",
    "max_union_branches",
    "max_bindings",
    "max_document_depth",
    "service_allowlist",
    "cors_origin",
    "rate_limit_per_minute",
    "rate_limit_burst",
    "server_threads",
    "workers",
    "union_default_graph",
    "oxigraph_bin",
    "queries_dir",
    "engine_url",
    "engine_update_url",
    "engine_store_url",
    "engine_union_param",
    "engine_profile",
    "engine_user",
)


# the query limits (kg/rdf/complexity.py) and the document depth: past any, 400 before any engine
QUERY_LIMIT_FLAGS = {
    "max_query_length": "longest query or update, in characters",
    "max_group_depth": "most { } groups nested",
    "max_optional_depth": "most OPTIONAL blocks nested",
    "max_expression_depth": "most parentheses/brackets nested in expressions and terms",
    "max_path_depth": "most parentheses nested in a property path",
    "max_triple_patterns": "most patterns joined in one group",
    "max_union_branches": "most UNION branches",
    "max_bindings": "most expressions bound to variables (BIND, SELECT … AS)",
    "max_document_depth": "deepest JSON-LD or RDF/XML body accepted",
}


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(
        store_path=args.store,
        base_iri=args.base,
        data_dir=args.data_dir,
        ontology_dir=args.ontology_dir,
        **{k: getattr(args, k, None) for k in ("host", "port", "query_timeout_s", *SERVE_SETTINGS)},
    )


# --- commands ----------------------------------------------------------------------------------


def cmd_build(args: argparse.Namespace, out: IO[str]) -> int:
    settings = _settings(args)
    t0 = time.perf_counter()
    try:
        summary = build(settings, _progress)
    except NotConformant as exc:
        print(exc.report.to_text(args.lang), file=out)
        print(
            "build refused: the data does not conform to the shapes; nothing written",
            file=sys.stderr,
        )
        return EXIT_NOT_CONFORMANT
    names = settings.names
    print(
        f"Built {summary.total} triples in {len(summary.graphs)} graphs ({time.perf_counter() - t0:.1f}s):",
        file=out,
    )
    for graph, n in summary.graphs.items():
        print(f"  {n:>7}  {_short(graph, names)}", file=out)
    warnings = summary.report.count("Warning")
    print(f"Conforms ({warnings} warning(s)). Store: {summary.store_path}", file=out)
    if warnings and args.verbose:
        print(summary.report.to_text(args.lang), file=out)
    return EXIT_OK


def cmd_reason(args: argparse.Namespace, out: IO[str]) -> int:
    settings = _settings(args)
    assembled = assemble(settings, _progress, engine=args.engine)
    names = assembled.names
    by_predicate = Counter(_short(str(p), names) for _, p, _ in assembled.inferred)
    print(f"OWL 2 RL closure: {len(assembled.inferred)} inferred triples", file=out)
    for predicate, n in by_predicate.most_common():
        print(f"  {n:>6}  {predicate}", file=out)
    if args.output:
        assembled.inferred.serialize(args.output, format="turtle")
        print(f"wrote {args.output}", file=sys.stderr)
    return EXIT_OK


def cmd_validate(args: argparse.Namespace, out: IO[str]) -> int:
    settings = _settings(args)
    names = settings.names
    additions = load_additions([Path(f) for f in args.files], names)
    _progress(f"read {len(additions)} triples from {len(args.files)} file(s)")
    report = validate_additions(settings, additions, _progress)
    if args.format == "json":
        json.dump(report.to_dict(args.lang), out, ensure_ascii=False, indent=2)
        out.write("\n")
    elif args.format == "turtle":
        out.write(report.to_turtle())
    else:
        print(report.to_text(args.lang), file=out)
    return EXIT_OK if report.conforms else EXIT_NOT_CONFORMANT


def _read_query(args: argparse.Namespace) -> str:
    if args.file:
        try:
            return Path(args.file).read_text(encoding="utf-8")
        except OSError as exc:
            raise LoadError(f"cannot read {args.file}: {exc.strerror}", source=args.file) from exc
    if args.query in (None, "-"):
        if sys.stdin is None or sys.stdin.isatty():
            raise UsageError("give a query as an argument, with --file, or on stdin")
        return sys.stdin.read()
    return args.query


def cmd_query(args: argparse.Namespace, out: IO[str]) -> int:
    settings = _settings(args)
    sparql = _read_query(args)
    settings.query_limits.check_text(sparql)  # pyoxigraph runs here: past the limits it could crash us
    store = open_context(settings, _progress)

    def answer() -> str:  # parsed, evaluated and written on a deep stack (kg.rdf.stacks)
        result = store.query(sparql, view=args.view, prefixes=store.names.prefixes())
        fmt = args.format
        if result.kind == "graph":
            rdf = rdf_format("turtle" if fmt in ("table", None) else fmt)
            return result.serialize(rdf).decode("utf-8")
        if fmt == "table":
            return _table(result, store.names)
        return result.serialize(fmt).decode("utf-8") + ("\n" if fmt in ("json", "xml") else "")

    out.write(on_deep_stack(answer))
    return EXIT_OK


def cmd_export(args: argparse.Namespace, out: IO[str]) -> int:
    settings = _settings(args)
    fmt = rdf_format(args.format)
    store = open_context(settings, _progress)
    if not fmt.datasets and args.graph is None:
        _progress(f"{fmt.name} holds no named graphs: writing the union of all graphs")
    target = Path(args.output) if args.output else None
    if target:
        with target.open("wb") as fh:
            store.dump(fh, fmt, graph=args.graph)
        _progress(f"wrote {target} ({target.stat().st_size} bytes, {store.count(args.graph)} triples)")
    else:
        buffer = io.BytesIO()
        store.dump(buffer, fmt, graph=args.graph)
        out.write(buffer.getvalue().decode("utf-8"))
    return EXIT_OK


def cmd_stats(args: argparse.Namespace, out: IO[str]) -> int:
    settings = _settings(args)
    store = open_context(settings, _progress)
    names = store.names
    print(f"{store.count()} triples in {len(store.graphs())} graphs", file=out)
    for graph in store.graphs():
        print(f"  {store.count(graph):>7}  {_short(graph, names)}", file=out)
    rows = store.query(
        "SELECT ?class (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a ?class } "
        "GROUP BY ?class ORDER BY DESC(?n) ?class",
        view="all",
    ).rows()
    print(f"{len(rows)} classes with instances (asserted + inferred):", file=out)
    for cls, n in rows:
        print(f"  {n.value:>7}  {_short(cls.value, names)}", file=out)  # type: ignore[union-attr]
    return EXIT_OK


def cmd_push(args: argparse.Namespace, out: IO[str]) -> int:
    """Load the built store's graphs into an external SPARQL 1.1 store (one graph at a time)."""
    settings = _settings(args)
    store = open_context(settings, _progress)
    names = store.names
    remote = RemoteStore.from_settings(settings, timeout_s=300.0)
    graphs = store.graphs()
    # Where the store has graph permissions (Virtuoso), queries are let read our graphs and no other:
    # first, for the version below is read as queries read
    secured = remote.secure([*graphs, names.changes_graph, names.graph_base + "locks"])
    local_version = read_version(LocalDurable(store), names)
    remote_version = read_version(remote, names)
    if remote_version > local_version and not args.force:
        raise UsageError(
            f"{settings.engine_url} holds {remote_version} committed change(s), the built store "
            f"{local_version}: pushing would lose acknowledged writes (--force to push anyway)"
        )
    t0 = time.perf_counter()
    total = remote.push(
        store, lambda i, n, graph, count: _progress(f"[{i}/{n}] {_short(graph, names)}: {count} triples")
    )
    others = sorted(set(remote.graph_names()) - set(graphs))
    print(
        f"pushed {total} triples in {len(graphs)} graphs to {settings.engine_url} "
        f"in {time.perf_counter() - t0:.1f} s"
        + (f"; {len(others)} other graph(s) there were left as they are" if others else ""),
        file=out,
    )
    if secured:
        print(
            f"{remote.profile.name}: graph-level security on: queries of its public endpoint read only the "
            f"graphs granted to them ({secured} granted now), never the store's own",
            file=out,
        )
    return EXIT_OK


def cmd_token(args: argparse.Namespace, out: IO[str]) -> int:
    settings = _settings(args)
    path = Path(args.file) if args.file else settings.tokens_file
    token = add_token(path, args.name, args.role)
    print(f"Token for {args.name} ({args.role}), shown once; its SHA-256 is in {path}:", file=sys.stderr)
    print(token, file=out)
    return EXIT_OK


def cmd_apply(args: argparse.Namespace, out: IO[str]) -> int:
    """Apply a change to a store the server is not holding, with the same guard as the server."""
    settings = _settings(args)
    names = settings.names
    if not (settings.store_path / "CURRENT").exists():  # opening read-write would create one
        raise StoreError(f"no store at {settings.store_path}: run `alatau-kg build` first")
    try:
        durable = OxigraphStore(names, settings.store_path)
    except StoreError as exc:
        hint = "is a server holding it? stop it, or send the change to its /update"
        raise StoreError(f"{exc} ({hint})") from exc
    writer = Writer(durable, names, write_graphs=settings.write_graphs, limits=settings.query_limits)
    target = Path(args.change)
    if target.exists():
        fmt = rdf_format_of_path(target) if target.suffix not in (".ru", ".rq", ".sparql") else None
        if fmt is None:
            change = writer.plan_update(target.read_text(encoding="utf-8"))
        else:
            quads = parse_file(target, fmt)
            if args.graph:
                change = writer.plan_graph(args.graph, quads, mode="add")
            elif any(isinstance(q.graph_name, ox.DefaultGraph) for q in quads):
                raise UsageError("the file has triples without a graph: give --graph IRI (a source graph)")
            else:
                change = writer.plan_quads(quads)
    else:
        change = writer.plan_update(args.change)
    _progress(f"planned: +{len(change.added)} −{len(change.removed)} quads")
    try:
        outcome = writer.submit(change, agent=args.agent, comment=args.comment or "")
    except ChangeRejected as exc:
        print(exc.report.to_text(args.lang), file=out)
        print("refused: the change breaks the shapes; nothing was stored", file=sys.stderr)
        return EXIT_NOT_CONFORMANT
    print(outcome.report.to_text(args.lang), file=out)
    print(
        f"Applied {outcome.change_iri or '(nothing to change)'}: +{outcome.added} −{outcome.removed} "
        f"(inferences +{outcome.inferred_added} −{outcome.inferred_removed})",
        file=out,
    )
    durable.flush()
    return EXIT_OK


def cmd_serve(args: argparse.Namespace, out: IO[str]) -> int:
    serve(_settings(args))
    return EXIT_OK


# --- output helpers ----------------------------------------------------------------------------


def _short(iri: str, names: Names) -> str:
    for prefix, ns in sorted(names.prefixes().items(), key=lambda kv: -len(kv[1])):
        if iri.startswith(ns) and len(iri) > len(ns):
            return f"{prefix}:{iri[len(ns) :]}"
    return f"<{iri}>"


def _cell(term, names: Names) -> str:
    if term is None:
        return ""
    if isinstance(term, ox.NamedNode):
        return _short(term.value, names)
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    if term.language:
        return f"{term.value}@{term.language}"
    return term.value


def _table(result: QueryResult, names: Names) -> str:
    if result.kind == "ask":
        return ("true" if result.boolean else "false") + "\n"
    rows = [[_cell(t, names) for t in row] for row in result.rows()]
    header = result.variables
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(header)]
    line = lambda cells: " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()  # noqa: E731
    text = [line(header), "-+-".join("-" * w for w in widths)]
    text += [line(r) for r in rows]
    text.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(text) + "\n"


# --- argument parsing --------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--store", type=Path, help="store directory (default: build/store)")
    common.add_argument("--base", help="base IRI of the dataset (default: https://w3id.org/alatau-kg/)")
    common.add_argument("--data-dir", type=Path, help="folder of source graphs (default: data/)")
    common.add_argument(
        "--ontology-dir", type=Path, help="folder of ontology and shapes (default: ontology/)"
    )
    common.add_argument("--lang", default="en", choices=("en", "ru"), help="language of reports")

    p = argparse.ArgumentParser(prog="alatau-kg", description="The Alatau City knowledge graph.")
    p.add_argument("--version", action="version", version=f"alatau-kg {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    b = sub.add_parser("build", parents=[common], help="load, reason, validate and write the store")
    b.add_argument("-v", "--verbose", action="store_true", help="also list warnings")
    b.set_defaults(func=cmd_build)

    r = sub.add_parser("reason", parents=[common], help="show (and optionally write) the OWL 2 RL inferences")
    r.add_argument("--output", "-o", help="write the inferred triples as Turtle to this file")
    r.add_argument(
        "--engine", default="rules", choices=("rules", "owlrl"), help="rule engine (default) or owlrl"
    )
    r.set_defaults(func=cmd_reason)

    v = sub.add_parser("validate", parents=[common], help="check new facts against the shapes in context")
    v.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="Turtle, TriG, N-Triples, N-Quads, JSON-LD or RDF/XML",
    )
    v.add_argument("--format", choices=("text", "json", "turtle"), default="text")
    v.set_defaults(func=cmd_validate)

    q = sub.add_parser("query", parents=[common], help="run a SPARQL query")
    q.add_argument("query", nargs="?", help="the query text, or - for stdin")
    q.add_argument("--file", "-f", help="read the query from this file")
    q.add_argument(
        "--format",
        default="table",
        choices=("table", "json", "xml", "csv", "tsv", "turtle", "ntriples", "jsonld", "rdfxml"),
    )
    q.add_argument("--view", default="all", choices=VIEWS, help="asserted, inferred, or all (default)")
    q.set_defaults(func=cmd_query)

    e = sub.add_parser("export", parents=[common], help="write the whole dataset with its named graphs")
    e.add_argument(
        "--format",
        default="trig",
        choices=("trig", "nquads", "turtle", "ntriples", "jsonld", "rdfxml"),
    )
    e.add_argument("--graph", help="export only this named graph")
    e.add_argument("--output", "-o", help="file to write (default: stdout)")
    e.set_defaults(func=cmd_export)

    s = sub.add_parser("stats", parents=[common], help="count triples per graph and instances per class")
    s.set_defaults(func=cmd_stats)

    t = sub.add_parser("token", parents=[common], help="create a write token (stored hashed)")
    t.add_argument("action", choices=("add",), help="add: create a token and print it once")
    t.add_argument("name", help="who uses it (recorded with every change they make)")
    t.add_argument("--role", default="writer", choices=("writer", "admin"), help="writer (default) or admin")
    t.add_argument("--file", help="tokens file (default: tokens.json, or ALATAU_KG_TOKENS_FILE)")
    t.set_defaults(func=cmd_token)

    a = sub.add_parser("apply", parents=[common], help="apply a change (file or SPARQL Update) to the store")
    a.add_argument("change", help="an RDF file, a .ru file of SPARQL Update, or the update text")
    a.add_argument("--graph", help="the source graph for a file of triples")
    a.add_argument("--agent", default="cli", help="who makes the change (recorded; default cli)")
    a.add_argument("--comment", help="why (recorded with the change)")
    a.set_defaults(func=cmd_apply)

    pu = sub.add_parser("push", parents=[common], help="load the built graphs into an external SPARQL store")
    _engine_options(pu, required=True)
    pu.add_argument("--force", action="store_true", help="push even if the store holds newer changes")
    pu.set_defaults(func=cmd_push)

    sv = sub.add_parser("serve", parents=[common], help="serve the built graph over HTTP (SPARQL 1.1)")
    sv.add_argument("--host", help="interface to bind (default 127.0.0.1)")
    _engine_options(sv, required=False)
    sv.add_argument(
        "--no-engine-union-param",
        dest="engine_union_param",
        action="store_false",
        default=None,
        help="do not send Oxigraph's union-default-graph parameter to the external store",
    )
    sv.add_argument("--port", type=int, help="port (default 8000)")
    sv.add_argument(
        "--query-timeout-s", type=float, dest="query_timeout_s", help="query timeout (default 10)"
    )
    sv.add_argument(
        "--max-body-bytes", type=int, help="largest request, body or query string (default 2000000)"
    )
    sv.add_argument(
        "--max-result-bytes", type=int, help="largest result sent; larger: 503 (default 50000000)"
    )
    for name, meaning in QUERY_LIMIT_FLAGS.items():
        default = getattr(Settings, name)
        sv.add_argument("--" + name.replace("_", "-"), type=int, help=f"{meaning} (default {default})")
    sv.add_argument(
        "--service-allowlist",
        metavar="PREFIXES",
        help="space-separated IRI prefixes SERVICE may call (default empty: SERVICE refused)",
    )
    sv.add_argument(
        "--cors-origin", metavar="ORIGIN", help="Access-Control-Allow-Origin (default *; empty: no CORS)"
    )
    sv.add_argument(
        "--rate-limit-per-minute", type=float, help="queries per client and minute (default 0: no limit)"
    )
    sv.add_argument("--rate-limit-burst", type=int, help="queries a client may send at once (default 30)")
    sv.add_argument(
        "--threads",
        type=int,
        dest="server_threads",
        help="threads per worker, started as requests need them (default 128, at least 8)",
    )
    sv.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="worker processes (default 0: one per core, at least 2; with write tokens: one process)",
    )
    sv.add_argument(
        "--union-default-graph",
        action=argparse.BooleanOptionalAction,
        help="default graph: the union of all graphs (default), or the store's own (--no-…)",
    )
    sv.add_argument(
        "--oxigraph-bin", metavar="PATH", help="the `oxigraph` executable (default: beside Python)"
    )
    sv.add_argument("--queries-dir", type=Path, help="example queries of the query page (default queries/)")
    sv.set_defaults(func=cmd_serve)
    return p


def _engine_options(p: argparse.ArgumentParser, *, required: bool) -> None:
    p.add_argument(
        "--engine",
        dest="engine_url",
        required=required,
        metavar="URL",
        help="query URL of an external SPARQL 1.1 store (serve: instead of the built store)",
    )
    p.add_argument(
        "--engine-update-url",
        metavar="URL",
        help="its SPARQL Update URL (default: the query URL with /query replaced by /update)",
    )
    p.add_argument(
        "--engine-store-url",
        metavar="URL",
        help="its Graph Store Protocol URL (push: PUT per graph; default: SPARQL Update)",
    )
    p.add_argument(
        "--engine-profile",
        choices=ENGINE_PROFILES,
        help="how to speak to it (default auto: as its Server header says)",
    )
    p.add_argument(
        "--engine-user",
        metavar="USER",
        help="user for its update and Graph Store URLs (the password: ALATAU_KG_ENGINE_PASSWORD)",
    )


def main(argv: list[str] | None = None, out: IO[str] | None = None) -> int:
    out = out or sys.stdout
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    try:
        return int(args.func(args, out))
    except KGError as exc:
        print(f"alatau-kg {args.command}: {_describe(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:
        return EXIT_OK


def _describe(exc: KGError) -> str:
    details = exc.to_dict()
    where = []
    if details.get("source"):
        where.append(str(details["source"]))
    if details.get("line") is not None:
        where.append(f"line {details['line']}")
    if details.get("position"):
        pos = details["position"]
        where.append(f"line {pos['line']} column {pos['column']}")
    return (", ".join(where) + ": " if where else "") + str(exc)


if __name__ == "__main__":
    sys.exit(main())
