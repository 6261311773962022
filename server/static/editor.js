// The query page: runs the query with fetch, shows a table (SELECT), a yes/no (ASK) or Turtle
// (CONSTRUCT/DESCRIBE), the error message when it fails, and links to download the result.
"use strict";

(function () {
  const form = document.getElementById("query-form");
  const textarea = document.getElementById("query");
  const view = document.getElementById("view");
  const statusLine = document.getElementById("status");
  const errorLine = document.getElementById("error");
  const table = document.getElementById("results");
  const graph = document.getElementById("graph");
  const downloads = document.getElementById("downloads");
  const endpoint = form.getAttribute("action");
  // The service's prefixes, longest namespace first: IRIs are shown as prefix:local (linked in full).
  const prefixes = Object.entries(JSON.parse(table.dataset.prefixes || "{}"))
    .sort(function (a, b) { return b[1].length - a[1].length; });

  document.querySelectorAll("button[data-query]").forEach(function (button) {
    button.addEventListener("click", function () {
      textarea.value = button.dataset.query;
      run();
    });
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    run();
  });

  function params(extra) {
    const p = new URLSearchParams();
    p.set("query", textarea.value);
    if (view.value !== "all") p.set("view", view.value);
    Object.keys(extra || {}).forEach(function (k) { p.set(k, extra[k]); });
    return p;
  }

  function reset() {
    errorLine.hidden = true;
    table.hidden = true;
    graph.hidden = true;
    downloads.hidden = true;
    table.replaceChildren();
    graph.textContent = "";
  }

  async function run() {
    reset();
    statusLine.textContent = "Running…";
    const started = performance.now();
    let response;
    try {
      response = await fetch(endpoint, {
        method: "POST",
        // Equal weights: a CONSTRUCT gets Turtle (first of its formats), not JSON-LD, which
        // application/sparql-results+json also stands for in a graph's negotiation.
        headers: { "Accept": "application/sparql-results+json, text/turtle" },
        body: params(),
      });
    } catch (e) {
      statusLine.textContent = "";
      showError("The server could not be reached: " + e.message);
      return;
    }
    const ms = Math.round(performance.now() - started);
    const type = (response.headers.get("Content-Type") || "").split(";")[0];
    if (!response.ok) {
      statusLine.textContent = "The query failed (" + response.status + ").";
      let message = response.statusText;
      try {
        const problem = await response.json();
        message = problem.message;
        if (problem.position) message += "\n(line " + problem.position.line + ", column " + problem.position.column + ")";
      } catch (e) { /* not our JSON error: keep the status text */ }
      showError(message);
      return;
    }
    if (type === "application/sparql-results+json") {
      const data = await response.json();
      if ("boolean" in data) {
        statusLine.textContent = "ASK: " + (data.boolean ? "yes" : "no") + " (" + ms + " ms)";
      } else {
        renderTable(data);
        statusLine.textContent = data.results.bindings.length + " row(s) in " + ms + " ms";
      }
      showDownloads("results");
    } else {
      graph.textContent = await response.text();
      graph.hidden = false;
      statusLine.textContent = "Graph result in " + ms + " ms";
      showDownloads("graph");
    }
  }

  function showError(message) {
    errorLine.textContent = message;
    errorLine.hidden = false;
  }

  function showDownloads(kind) {
    downloads.querySelectorAll("span[data-kind]").forEach(function (span) {
      span.hidden = span.dataset.kind !== kind;
    });
    downloads.querySelectorAll("a[data-format]").forEach(function (a) {
      a.href = endpoint + "?" + params({ format: a.dataset.format }).toString();
    });
    downloads.hidden = false;
  }

  function renderTable(data) {
    const vars = data.head.vars;
    const head = table.createTHead().insertRow();
    vars.forEach(function (v) {
      const th = document.createElement("th");
      th.scope = "col";
      th.textContent = v;
      head.appendChild(th);
    });
    const body = table.createTBody();
    data.results.bindings.forEach(function (binding) {
      const row = body.insertRow();
      vars.forEach(function (v) { row.insertCell().appendChild(cell(binding[v])); });
    });
    table.hidden = false;
  }

  function shorten(iri) {
    for (const [prefix, namespace] of prefixes) {
      if (iri.length > namespace.length && iri.startsWith(namespace)) return prefix + ":" + iri.slice(namespace.length);
    }
    return iri;
  }

  function cell(term) {
    const fragment = document.createDocumentFragment();
    if (!term) return fragment;
    if (term.type === "uri") {
      const a = document.createElement("a");
      a.href = term.value;
      a.textContent = shorten(term.value);
      if (a.textContent !== term.value) a.title = term.value;
      fragment.appendChild(a);
    } else if (term.type === "bnode") {
      fragment.appendChild(document.createTextNode("_:" + term.value));
    } else {
      fragment.appendChild(document.createTextNode(term.value));
      const note = term["xml:lang"] ? "@" + term["xml:lang"] : (term.datatype ? " ^^" + term.datatype.replace("http://www.w3.org/2001/XMLSchema#", "xsd:") : "");
      if (note) {
        const span = document.createElement("span");
        span.className = term["xml:lang"] ? "lang" : "datatype";
        span.textContent = note;
        fragment.appendChild(span);
      }
    }
    return fragment;
  }
})();
