// The query workbench (server/templates/workbench.html): runs the editor's query against /sparql,
// shows the result in views (table, chart, timeline, graph, raw response), keeps the query and the
// view in the address (a link that reopens them) and the reader's queries in a history.

import { setWords, t, fold } from "./words.js";
import { createEditor } from "./editor.js";
import { serverCompletion, keywordCompletion } from "./completion.js";
import { TableView } from "./table.js";
import { columns, parseNTriples, formatBytes } from "./terms.js";
import * as history from "./history.js";
import { save, saveSvg, savePng } from "./downloads.js";

const config = JSON.parse(document.getElementById("wb-config").textContent);
setWords(config.words);

const $ = (id) => document.getElementById(id);
const form = $("query-form");
const statusLine = $("status");
const errorLine = $("error");
const tabList = document.querySelector(".wb-tabs");
const downloads = $("downloads");
const viewSelect = $("view");
const cancelButton = $("cancel");
const DISPLAYS = ["table", "chart", "timeline", "graph", "response"];
const panels = Object.fromEntries(DISPLAYS.map((d) => [d, $("panel-" + d)]));
const tabs = Object.fromEntries(DISPLAYS.map((d) => [d, $("tab-" + d)]));
const MAX_LABELS = 2000;

let display = config.display || "table";
let result = null;
let controller = null;
let labels = new Map();
const table = new TableView(panels.table, { prefixes: config.prefixes });
const shown = (term) => table.shown(term);
const views = {}; // chart, timeline, graph: made on first use (their libraries load then)
let charts = null;
let graphs = null;
const loadCharts = () => (charts = charts || import("./charts.js"));
const loadGraphs = () => (graphs = graphs || import("./graph.js"));

const editor = createEditor($("query"), {
  prefixes: config.prefixes,
  onRun: run,
  completionSources: [
    serverCompletion({ url: config.complete, lang: config.lang, prefixes: config.prefixes }),
    keywordCompletion,
  ],
});
editor.foldPrefixes();

// --- running ----------------------------------------------------------------------------------------

form.addEventListener("submit", (event) => {
  event.preventDefault();
  run();
});
cancelButton.addEventListener("click", () => {
  if (controller) controller.abort();
});
viewSelect.addEventListener("change", updateAddress);

function setRunning(running) {
  cancelButton.hidden = !running;
  form.setAttribute("aria-busy", running ? "true" : "false");
}

function showError(message) {
  errorLine.textContent = message;
  errorLine.hidden = false;
}

function clearResult() {
  result = null;
  tabList.hidden = true;
  downloads.hidden = true;
  for (const d of DISPLAYS) panels[d].hidden = true;
}

async function run() {
  if (controller) controller.abort();
  editor.declarePrefixes();
  editor.clearError();
  const query = editor.text();
  if (!query.trim()) return;
  const view = viewSelect.value;
  const mine = (controller = new AbortController());
  errorLine.hidden = true;
  setRunning(true);
  const started = performance.now();
  statusLine.textContent = t("running");
  const ticker = setInterval(() => {
    statusLine.textContent = `${t("running")} ${((performance.now() - started) / 1000).toFixed(1)} s`;
  }, 250);
  const body = new URLSearchParams({ query });
  if (view !== "all") body.set("view", view);
  let response;
  let bytes;
  try {
    // Equal weights: a SELECT gets JSON results, a CONSTRUCT N-Triples (before JSON-LD in the graph table).
    response = await fetch(config.endpoint, {
      method: "POST",
      headers: { Accept: "application/sparql-results+json, application/n-triples" },
      body,
      signal: mine.signal,
    });
    bytes = new Uint8Array(await response.arrayBuffer());
  } catch (e) {
    clearInterval(ticker);
    if (controller !== mine) return; // a newer run took over
    controller = null;
    setRunning(false);
    if (mine.signal.aborted) {
      statusLine.textContent = t("cancelled");
    } else {
      statusLine.textContent = "";
      showError(`${t("unreachable")} ${e.message}`);
    }
    return;
  }
  clearInterval(ticker);
  if (controller !== mine) return;
  controller = null;
  setRunning(false);
  const ms = Math.round(performance.now() - started);
  const text = new TextDecoder().decode(bytes);
  const type = (response.headers.get("Content-Type") || "").split(";")[0].trim();
  if (!response.ok) {
    clearResult();
    statusLine.textContent = t("failed", { status: response.status });
    let message = response.statusText;
    try {
      const problem = JSON.parse(text);
      message = problem.message || message;
      if (problem.position) {
        message += ` (${t("position", problem.position)})`;
        editor.markError(problem.position.line, problem.position.column, message);
      }
    } catch (e) {
      /* not our JSON error: the status text */
    }
    showError(message);
    return;
  }
  result = { query, view, ms, size: bytes.length, text, type };
  if (type === "application/sparql-results+json") {
    const data = JSON.parse(text);
    if ("boolean" in data) {
      result.kind = "ask";
      result.boolean = data.boolean;
      result.vars = [];
      result.rows = [];
    } else {
      result.kind = "select";
      result.vars = data.head.vars;
      result.rows = data.results.bindings;
    }
  } else {
    result.kind = "graph";
    result.triples = parseNTriples(text);
    result.vars = ["subject", "predicate", "object"];
    result.rows = result.triples.map(({ s, p, o }) => ({ subject: s, predicate: p, object: o }));
  }
  statusLine.textContent = summary(result);
  history.remember({ query, view, ms, count: result.kind === "ask" ? null : result.rows.length });
  renderHistory();
  labels = new Map();
  table.labels = labels;
  if (result.kind !== "ask") table.show(result.vars, result.rows);
  else panels.table.replaceChildren(answer(result.boolean));
  for (const v of Object.values(views)) v.stale = true;
  const available = availability(result);
  for (const d of DISPLAYS) {
    tabs[d].disabled = !available[d];
    tabs[d].setAttribute("aria-disabled", available[d] ? "false" : "true");
  }
  tabList.hidden = false;
  await showDisplay(available[display] ? display : "table");
  fetchLabels(result);
}

function summary(r) {
  const parts = [];
  if (r.kind === "ask") parts.push(r.boolean ? t("yes") : t("no"));
  else if (r.kind === "graph") parts.push(t("triples", { n: r.rows.length }));
  else parts.push(t("rows", { n: r.rows.length }));
  parts.push(t("time", { ms: r.ms }), formatBytes(r.size));
  return parts.join(" · ");
}

function answer(value) {
  const p = document.createElement("p");
  p.className = "wb-answer";
  p.textContent = value ? t("yes") : t("no");
  return p;
}

function availability(r) {
  const cols = r.kind === "select" ? columns(r.vars, r.rows) : { numeric: [], dates: [] };
  return {
    table: true,
    chart: r.kind === "select" && r.rows.length > 0 && cols.numeric.length > 0,
    timeline: r.kind === "select" && r.rows.length > 0 && cols.dates.length > 0,
    graph: r.kind === "graph" && r.rows.length > 0,
    response: true,
  };
}

async function fetchLabels(r) {
  const iris = new Set();
  for (const row of r.rows) {
    for (const term of Object.values(row)) {
      if (term && term.type === "uri") iris.add(term.value);
      if (iris.size >= MAX_LABELS) break;
    }
  }
  if (!iris.size) return;
  try {
    const response = await fetch(config.labels, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ iris: [...iris], lang: config.lang }),
    });
    if (!response.ok || result !== r) return;
    const found = (await response.json()).labels || {};
    labels = new Map(Object.entries(found));
    table.setLabels(labels);
    for (const v of Object.values(views)) v.stale = true;
    if (display !== "table" && display !== "response") await showDisplay(display);
  } catch (e) {
    /* labels are a nicety: the prefixed names stay */
  }
}

// --- views ------------------------------------------------------------------------------------------

for (const d of DISPLAYS) {
  tabs[d].addEventListener("click", () => {
    if (!tabs[d].disabled) showDisplay(d);
  });
}
tabList.addEventListener("keydown", (event) => {
  // arrow keys move between the tabs (WAI-ARIA tabs pattern)
  if (event.key !== "ArrowRight" && event.key !== "ArrowLeft") return;
  const enabled = DISPLAYS.filter((d) => !tabs[d].disabled);
  const next = enabled[(enabled.indexOf(display) + (event.key === "ArrowRight" ? 1 : enabled.length - 1)) % enabled.length];
  showDisplay(next).then(() => tabs[next].focus());
});

async function showDisplay(name) {
  display = name;
  for (const d of DISPLAYS) {
    tabs[d].setAttribute("aria-selected", d === name ? "true" : "false");
    tabs[d].tabIndex = d === name ? 0 : -1;
    panels[d].hidden = d !== name;
  }
  if (!result) return;
  if (name === "chart" || name === "timeline") {
    const module = await loadCharts();
    const View = name === "chart" ? module.ChartView : module.TimelineView;
    views[name] = views[name] || new View(panels[name], { shown });
    if (views[name].stale !== false) {
      views[name].show(result.vars, result.rows);
      views[name].stale = false;
    }
  } else if (name === "graph") {
    const module = await loadGraphs();
    views.graph = views.graph || new module.GraphView(panels.graph, { prefixes: config.prefixes });
    if (views.graph.stale !== false) {
      views.graph.show(result.triples || [], labels);
      views.graph.stale = false;
    }
  } else if (name === "response") {
    const pre = document.createElement("pre");
    pre.className = "wb-response";
    pre.textContent = result.text.length > 2_000_000 ? result.text.slice(0, 2_000_000) + "\n…" : result.text;
    panels.response.replaceChildren(pre);
  }
  renderDownloads();
  updateAddress();
}

function endpointLink(format) {
  const params = new URLSearchParams({ query: result.query, format });
  if (result.view !== "all") params.set("view", result.view);
  return `${config.endpoint}?${params}`;
}

function renderDownloads() {
  const items = [];
  const link = (label, href, filename) => {
    const a = document.createElement("a");
    a.href = href;
    a.download = filename;
    a.textContent = label;
    a.dataset.format = label.toLowerCase();
    return a;
  };
  const button = (label, action) => {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = label;
    b.dataset.format = label.toLowerCase();
    b.addEventListener("click", action);
    return b;
  };
  if (display === "chart" || display === "timeline" || display === "graph") {
    const view = views[display];
    if (view && view.svg) {
      items.push(button("SVG", () => saveSvg(view.svg, `${display}.svg`)));
      items.push(button("PNG", () => savePng(view.svg, `${display}.png`)));
    }
  } else {
    const formats = result.kind === "graph" ? config.graphFormats : config.resultsFormats;
    for (const f of formats) items.push(link(f.name.toUpperCase(), endpointLink(f.name), `results.${f.extension}`));
    if (display === "response") {
      const ext = result.kind === "graph" ? "nt" : "srj";
      items.push(button(t("download"), () => save(new Blob([result.text], { type: result.type }), `response.${ext}`)));
    }
  }
  const label = document.createElement("span");
  label.textContent = t("download") + ":";
  downloads.replaceChildren(label, ...items);
  downloads.hidden = items.length === 0;
}

// --- the address: a link that reopens the query and the view ------------------------------------------

function currentLink() {
  const url = new URL(window.location.href);
  const query = result ? result.query : editor.text();
  url.searchParams.set("query", query);
  url.searchParams.set("display", display);
  if (viewSelect.value !== "all") url.searchParams.set("view", viewSelect.value);
  else url.searchParams.delete("view");
  url.searchParams.delete("lang");
  return url;
}

function updateAddress() {
  if (!result) return;
  const url = currentLink();
  window.history.replaceState(null, "", url);
  for (const a of document.querySelectorAll("nav.languages a[data-lang]")) {
    const other = new URL(url);
    other.searchParams.set("lang", a.dataset.lang);
    a.href = other.pathname + other.search;
  }
}

$("share").addEventListener("click", async () => {
  const url = currentLink().toString();
  const note = $("share-note");
  try {
    await navigator.clipboard.writeText(url);
    note.textContent = t("link_copied");
  } catch (e) {
    note.textContent = url; // no clipboard (not a secure context): the link to copy by hand
  }
  note.hidden = false;
});

// --- history ----------------------------------------------------------------------------------------

const historyList = document.querySelector("#history ol");
function renderHistory() {
  const found = history.entries();
  historyList.replaceChildren(
    ...found.map((entry) => {
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = history.titleOf(entry.query);
      b.title = entry.query;
      b.addEventListener("click", () => {
        editor.setText(entry.query);
        viewSelect.value = entry.view || "all";
        $("history").open = false;
        editor.focus();
      });
      const meta = document.createElement("small");
      meta.className = "muted";
      const when = new Date(entry.at);
      meta.textContent = ` ${when.toLocaleString(config.lang)}${entry.count != null ? " · " + t("rows", { n: entry.count }) : ""} · ${t("time", { ms: entry.ms })}`;
      li.append(b, meta);
      return li;
    }),
  );
  document.querySelector("#history [data-empty]").hidden = found.length > 0;
  $("clear-history").hidden = found.length === 0;
}
$("clear-history").addEventListener("click", () => {
  history.clear();
  renderHistory();
});
renderHistory();

// --- examples ---------------------------------------------------------------------------------------

const examples = $("examples");
if (!window.matchMedia("(min-width: 64rem)").matches) examples.open = false;
for (const button of document.querySelectorAll(".wb-example")) {
  button.addEventListener("click", () => {
    editor.setText(button.dataset.query);
    if (!window.matchMedia("(min-width: 64rem)").matches) examples.open = false;
    run();
  });
}
$("example-search").addEventListener("input", (event) => {
  const key = fold(event.target.value);
  let any = false;
  for (const section of document.querySelectorAll(".wb-topic")) {
    let visible = 0;
    for (const button of section.querySelectorAll(".wb-example")) {
      const match = !key || fold(button.textContent).includes(key) || fold(button.dataset.query).includes(key);
      button.parentElement.hidden = !match;
      visible += match ? 1 : 0;
    }
    section.hidden = visible === 0;
    any = any || visible > 0;
  }
  $("no-examples").hidden = any;
});

if (config.run) run();
