"""The alatau-kg command line: every command, every exit code, on the tiny fixture project."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from rdflib import Dataset, Graph, URIRef

from kg.config import Settings
from server.cli import main

AK = "https://w3id.org/alatau-kg/def/ontology#"
ID = "https://w3id.org/alatau-kg/id/"


def run(settings: Settings, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    common = [
        "--ontology-dir",
        str(settings.ontology_dir),
        "--data-dir",
        str(settings.data_dir),
        "--store",
        str(settings.store_path),
    ]
    code = main([argv[0], *common, *argv[1:]], out=out)
    return code, out.getvalue()


def test_build_writes_a_store_and_prints_a_summary(mini_settings, capsys):
    code, out = run(mini_settings, "build")
    assert code == 0
    assert (mini_settings.store_path / "CURRENT").exists()
    assert "graph:inferred" in out and "graph:source/article-test" in out
    assert "Conforms" in out
    assert "reasoned (OWL 2 RL, rules)" in capsys.readouterr().err  # progress on stderr


def test_build_refuses_nonconformant_data_and_keeps_the_old_store(mini_settings, tmp_path):
    assert run(mini_settings, "build")[0] == 0
    bad_data = tmp_path / "bad"
    bad_data.mkdir()
    original = (mini_settings.data_dir / "article-test.trig").read_text()
    (bad_data / "a.trig").write_text(original.replace("ak:seatCount 600", "ak:seatCount -3"))
    code, out = run(mini_settings.with_(data_dir=bad_data), "build")
    assert code == 1
    assert "seatCount" in out and "Violation" in out
    # the store that was there is untouched: the good seat count is still served
    code, out = run(mini_settings, "query", "--format", "csv", f"SELECT ?n WHERE {{ ?s <{AK}seatCount> ?n }}")
    assert code == 0 and out.splitlines()[1] == "600"


def test_build_rejects_default_graph_triples_in_data_files(mini_settings, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "x.trig").write_text("<http://e/a> <http://e/b> <http://e/c> .\n")
    code, _ = run(mini_settings.with_(data_dir=data), "build")
    assert code == 2


def test_build_reports_syntax_errors_with_line(mini_settings, tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    graph = "https://w3id.org/alatau-kg/graph/source/x"
    (data / "x.trig").write_text(f"<{graph}> {{\n <http://e/a> <http://e/b> .\n}}\n")
    code, _ = run(mini_settings.with_(data_dir=data), "build")
    assert code == 2
    err = capsys.readouterr().err
    assert "x.trig, line 2" in err


def test_query_table_json_csv_tsv(mini_built):
    q = f"SELECT ?place WHERE {{ <{ID}facility/keleshek> <{AK}locatedIn> ?place }} ORDER BY ?place"
    code, table = run(mini_built, "query", q)
    assert code == 0
    assert "id:place/alatau" in table and "id:place/enbek" in table and "(2 rows)" in table
    code, js = run(mini_built, "query", "--format", "json", q)
    bindings = json.loads(js)["results"]["bindings"]
    assert [b["place"]["value"] for b in bindings] == [f"{ID}place/alatau", f"{ID}place/enbek"]
    code, text = run(mini_built, "query", "--format", "csv", q)
    assert list(csv.reader(io.StringIO(text)))[1:] == [[f"{ID}place/alatau"], [f"{ID}place/enbek"]]
    code, text = run(mini_built, "query", "--format", "tsv", q)
    assert text.splitlines()[1] == f"<{ID}place/alatau>"


def test_query_views_separate_asserted_and_inferred(mini_built):
    ask = f"ASK {{ <{ID}facility/keleshek> <{AK}locatedIn> <{ID}place/alatau> }}"
    assert run(mini_built, "query", "--view", "asserted", ask)[1].strip() == "false"
    assert run(mini_built, "query", "--view", "inferred", ask)[1].strip() == "true"
    assert run(mini_built, "query", ask)[1].strip() == "true"


def test_query_from_file_and_stdin(mini_built, tmp_path, monkeypatch):
    f = tmp_path / "q.rq"
    f.write_text(f"SELECT (COUNT(*) AS ?n) WHERE {{ ?s a <{AK}Place> }}")
    code, out = run(mini_built, "query", "--file", str(f), "--format", "csv")
    assert code == 0 and out.splitlines()[1] == "2"
    monkeypatch.setattr(sys, "stdin", io.StringIO(f.read_text()))
    code, out = run(mini_built, "query", "-", "--format", "csv")
    assert code == 0 and out.splitlines()[1] == "2"


def test_query_construct_gives_turtle(mini_built):
    code, out = run(mini_built, "query", f"CONSTRUCT WHERE {{ ?s <{AK}seatCount> ?n }}")
    assert code == 0
    g = Graph().parse(data=out, format="turtle")
    assert len(g) == 1


def test_query_syntax_error_exits_2_with_position(mini_built, capsys):
    code, _ = run(mini_built, "query", "SELECT * WHERE { ?s ?p }")
    assert code == 2
    assert "line 1 column" in capsys.readouterr().err


def test_query_unreadable_file_exits_2(mini_built, capsys):
    code, _ = run(mini_built, "query", "--file", "/nonexistent/q.rq")
    assert code == 2
    assert "cannot read" in capsys.readouterr().err


@pytest.mark.parametrize("fmt", ["trig", "nquads", "jsonld"])
def test_export_keeps_named_graphs(mini_built, tmp_path, fmt):
    target = tmp_path / f"dump.{fmt}"
    code, _ = run(mini_built, "export", "--format", fmt, "--output", str(target))
    assert code == 0
    ds = Dataset()
    ds.parse(target, format={"trig": "trig", "nquads": "nquads", "jsonld": "json-ld"}[fmt])
    graphs = {str(g.identifier) for g in ds.graphs() if len(g)}
    assert "https://w3id.org/alatau-kg/graph/source/article-test" in graphs
    assert "https://w3id.org/alatau-kg/graph/inferred" in graphs


def test_export_turtle_is_the_union(mini_built):
    code, out = run(mini_built, "export", "--format", "turtle")
    assert code == 0
    g = Graph().parse(data=out, format="turtle")
    assert (URIRef(f"{ID}facility/keleshek"), URIRef(f"{AK}locatedIn"), URIRef(f"{ID}place/alatau")) in g


def test_stats_counts_graphs_and_classes(mini_built):
    code, out = run(mini_built, "stats")
    assert code == 0
    assert "graph:source/article-test" in out
    assert "ak:School" in out


def test_reason_lists_and_writes_inferences(mini_settings, tmp_path):
    target = tmp_path / "inferred.ttl"
    code, out = run(mini_settings, "reason", "--output", str(target))
    assert code == 0 and "inferred triples" in out
    g = Graph().parse(target)
    assert (URIRef(f"{ID}facility/keleshek"), URIRef(f"{AK}locatedIn"), URIRef(f"{ID}place/alatau")) in g


def write(tmp_path: Path, name: str, text: str) -> str:
    p = tmp_path / name
    p.write_text(text)
    return str(p)


GOOD_SCHOOL = f"""
@prefix ak: <{AK}> . @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<{ID}facility/new-school> a ak:School ; rdfs:label "New school"@en ; rdfs:comment "x"@en ;
    ak:seatCount 900 ; ak:locatedIn <{ID}place/enbek> .
"""


def test_validate_accepts_new_facts_referencing_the_graph(mini_built, tmp_path):
    code, out = run(mini_built, "validate", write(tmp_path, "new.ttl", GOOD_SCHOOL))
    assert code == 0, out
    assert out.startswith("Conforms")


def test_validate_rejects_with_a_readable_report(mini_built, tmp_path):
    bad = GOOD_SCHOOL.replace("ak:seatCount 900", "ak:seatCount 0").replace(
        f"<{ID}place/enbek>", f"<{ID}place/nowhere>"
    )
    code, out = run(mini_built, "validate", write(tmp_path, "bad.ttl", bad))
    assert code == 1
    assert "New school" in out  # the entity is named by its label
    assert "positive integer" in out and "known place" in out


def test_validate_json_and_turtle_reports(mini_built, tmp_path):
    bad = write(tmp_path, "bad.ttl", GOOD_SCHOOL.replace("ak:seatCount 900", "ak:seatCount 0"))
    code, out = run(mini_built, "validate", "--format", "json", bad)
    assert code == 1
    report = json.loads(out)
    assert report["conforms"] is False
    (result,) = [r for r in report["results"] if r["resultSeverity"] == "Violation"]
    assert result["focusNode"] == f"{ID}facility/new-school"
    assert result["resultPath"] == f"{AK}seatCount"
    assert result["sourceConstraintComponent"].endswith("#MinExclusiveConstraintComponent")
    code, out = run(mini_built, "validate", "--format", "turtle", "--lang", "ru", bad)
    g = Graph().parse(data=out, format="turtle")
    assert any("ValidationReport" in str(o) for o in g.objects())


def test_validate_reports_in_russian(mini_built, tmp_path):
    bad = write(tmp_path, "bad.ttl", GOOD_SCHOOL.replace("ak:seatCount 900", "ak:seatCount 0"))
    code, out = run(mini_built, "validate", "--lang", "ru", bad)
    assert code == 1
    assert "НЕ соответствует" in out and "положительное целое" in out


def test_validate_warning_alone_still_conforms(mini_built, tmp_path):
    no_comment = GOOD_SCHOOL.replace('rdfs:comment "x"@en ;', "")
    code, out = run(mini_built, "validate", write(tmp_path, "w.ttl", no_comment))
    assert code == 0
    assert "1 warning(s)" in out


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("broken.ttl", "<http://e/a> <http://e/b> .\n", "line 1"),
        ("latin1.ttl", '<http://e/a> <http://e/b> "caf\xe9" .\n', "not UTF-8"),
        ("doctype.rdf", '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x/>', "DOCTYPE"),
        ("remote.jsonld", '{"@context": "http://example.org/c.jsonld", "@id": "http://e/a"}', "jsonld"),
        ("what.xyz", "", "extension"),
    ],
)
def test_validate_could_not_run_exits_2(mini_built, tmp_path, capsys, name, text, message):
    path = tmp_path / name
    path.write_bytes(text.encode("latin-1"))
    code, _ = run(mini_built, "validate", str(path))
    assert code == 2
    assert message in capsys.readouterr().err


def test_validate_missing_file_exits_2(mini_built, capsys):
    code, _ = run(mini_built, "validate", "/nonexistent.ttl")
    assert code == 2
    assert "cannot read" in capsys.readouterr().err


def test_usage_errors_exit_2():
    assert main(["no-such-command"], out=io.StringIO()) == 2
    assert main(["query", "--view", "bogus", "SELECT * {}"], out=io.StringIO()) == 2


def test_console_script_is_installed():
    script = Path(sys.executable).parent / "alatau-kg"
    result = subprocess.run([str(script), "--version"], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and "alatau-kg" in result.stdout


EDIT = f"""PREFIX ak: <{AK}> PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
INSERT DATA {{ GRAPH <https://w3id.org/alatau-kg/graph/source/edits> {{
    <{ID}facility/school-2> a ak:School ; rdfs:label "School 2"@en , "Школа 2"@ru ; rdfs:comment "x"@en ;
        ak:seatCount 300 ; ak:locatedIn <{ID}place/enbek> . }} }}"""


def test_apply_then_rebuild_keeps_the_change(mini_built):
    code, out = run(mini_built, "apply", EDIT, "--agent", "aigerim", "--comment", "a new school")
    assert code == 0, out
    assert "Applied https://w3id.org/alatau-kg/id/change/" in out
    ask = f"ASK {{ <{ID}facility/school-2> <{AK}locatedIn> <{ID}place/alatau> }}"  # inferred too
    assert run(mini_built, "query", ask)[1].strip() == "true"
    code, out = run(mini_built, "build")
    assert code == 0 and "graph:changes" in out
    assert run(mini_built, "query", ask)[1].strip() == "true"
    log = "SELECT ?who WHERE { ?c a ak:Change ; prov:wasAssociatedWith/rdfs:label ?who }"
    assert run(mini_built, "query", "--format", "csv", log)[1].splitlines()[1:] == ["aigerim"]


def test_apply_refuses_a_breaking_change_with_the_report(mini_built):
    code, out = run(mini_built, "apply", EDIT.replace("ak:seatCount 300", "ak:seatCount 0"))
    assert code == 1
    assert "School 2" in out and "positive integer" in out
    ask = f"ASK {{ <{ID}facility/school-2> ?p ?o }}"
    assert run(mini_built, "query", ask)[1].strip() == "false"


def test_a_rebuild_that_would_break_logged_changes_is_refused(mini_built, tmp_path):
    assert run(mini_built, "apply", EDIT)[0] == 0
    # new sources where Enbek is no longer a place: the logged school would lie in no known place
    data = tmp_path / "data"
    data.mkdir()
    original = (mini_built.data_dir / "article-test.trig").read_text()
    (data / "a.trig").write_text(original.replace("place:enbek a ak:Place ;", "place:enbek"))
    code, out = run(mini_built.with_(data_dir=data), "build")
    assert code == 1 and "School 2" in out
    ask = f"ASK {{ <{ID}facility/school-2> ?p ?o }}"
    assert run(mini_built, "query", ask)[1].strip() == "true"  # the old store, with the change, stays


def test_apply_could_not_run(mini_settings, mini_built, capsys):
    assert (
        run(mini_settings.with_(store_path=mini_settings.store_path.parent / "none"), "apply", EDIT)[0] == 2
    )
    assert "no store" in capsys.readouterr().err
    assert run(mini_built, "apply", "INSERT DATA { GRAPH <x> {")[0] == 2
    assert run(mini_built, "apply", "LOAD <file:///etc/passwd>")[0] == 2


def test_token_add_stores_only_a_hash(mini_settings, tmp_path):
    path = tmp_path / "tokens.json"
    code, out = run(mini_settings, "token", "add", "aigerim", "--role", "admin", "--file", str(path))
    assert code == 0
    token = out.strip()
    assert len(token) > 30 and token not in path.read_text()
    from kg.changes.tokens import Tokens

    principal = Tokens.load(path).authenticate(f"Bearer {token}")
    assert (principal.name, principal.role) == ("aigerim", "admin")
    assert run(mini_settings, "token", "add", "aigerim", "--file", str(path))[0] == 2  # names are unique
