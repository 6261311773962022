// RDF terms as SPARQL 1.1 Query Results JSON gives them ({type, value, datatype, "xml:lang"}):
// how to show them, which are numbers and dates, and N-Triples (the form CONSTRUCT results come in).

const XSD = "http://www.w3.org/2001/XMLSchema#";
const NUMERIC = new Set(
  ["integer", "decimal", "double", "float", "int", "long", "short", "byte", "nonNegativeInteger",
   "positiveInteger", "negativeInteger", "nonPositiveInteger", "unsignedInt", "unsignedLong",
   "unsignedShort", "unsignedByte"].map((n) => XSD + n),
);
const DATES = new Set(["date", "dateTime", "dateTimeStamp", "gYear", "gYearMonth"].map((n) => XSD + n));

export function isNumber(term) {
  return !!term && term.type !== "uri" && term.type !== "bnode" && NUMERIC.has(term.datatype) && isFinite(Number(term.value));
}

export function isDate(term) {
  return !!term && term.type !== "uri" && DATES.has(term.datatype) && !isNaN(toDate(term));
}

/** Which columns hold numbers, which dates, which anything else (labels). */
export function columns(vars, rows) {
  const bound = (v) => rows.some((r) => r[v]);
  const numeric = vars.filter((v) => bound(v) && rows.every((r) => !r[v] || isNumber(r[v])));
  const dates = vars.filter((v) => bound(v) && rows.every((r) => !r[v] || isDate(r[v])));
  const others = vars.filter((v) => !numeric.includes(v) && !dates.includes(v));
  return { numeric, dates, others };
}

/** A date term as a JS Date (UTC): a year is its 1 January, a month its first day. */
export function toDate(term) {
  const v = term.value.trim();
  if (/^-?\d{4}$/.test(v)) return new Date(Date.UTC(Number(v), 0, 1));
  if (/^\d{4}-\d{2}$/.test(v)) return new Date(Date.UTC(Number(v.slice(0, 4)), Number(v.slice(5, 7)) - 1, 1));
  if (/^\d{4}-\d{2}-\d{2}$/.test(v)) return new Date(v + "T00:00:00Z");
  return new Date(v);
}

/** `prefix:local` for an IRI under one of `prefixes` (the longest namespace), else the IRI. */
export function shorten(iri, prefixes) {
  let best = null;
  for (const [prefix, ns] of Object.entries(prefixes)) {
    if (iri.startsWith(ns) && iri.length > ns.length && (!best || ns.length > best[1].length)) best = [prefix, ns];
  }
  return best ? `${best[0]}:${iri.slice(best[1].length)}` : iri;
}

/** The text a term shows as (labels aside). */
export function plain(term, prefixes) {
  if (!term) return "";
  if (term.type === "uri") return shorten(term.value, prefixes);
  if (term.type === "bnode") return "_:" + term.value;
  return term.value;
}

/** The key a column sorts by: numbers as numbers, dates as times, the rest as text. */
export function sortKey(term, shown) {
  if (!term) return [0, ""];
  if (isNumber(term)) return [1, Number(term.value)];
  if (isDate(term)) return [2, toDate(term).getTime()];
  return [3, (shown || term.value).toLocaleLowerCase()];
}

export function compareKeys(a, b) {
  if (a[0] !== b[0]) return a[0] - b[0];
  if (typeof a[1] === "number") return a[1] - b[1];
  return a[1].localeCompare(b[1]);
}

export function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} kB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

// --- N-Triples (https://www.w3.org/TR/n-triples/): one triple a line ---------------------------------

const IRI = /^<([^>]*)>/;
const BNODE = /^_:(\S+)/;
const LITERAL = /^"((?:[^"\\]|\\.)*)"(?:@([A-Za-z]+(?:-[A-Za-z0-9]+)*)|\^\^<([^>]*)>)?/;
const ESCAPES = { t: "\t", b: "\b", n: "\n", r: "\r", f: "\f", '"': '"', "'": "'", "\\": "\\" };

function unescapeLiteral(text) {
  return text.replace(/\\(?:u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.))/g, (m, u, U, c) =>
    u || U ? String.fromCodePoint(parseInt(u || U, 16)) : ESCAPES[c] ?? c,
  );
}

function readTerm(text) {
  let m;
  if ((m = IRI.exec(text))) return [{ type: "uri", value: unescapeLiteral(m[1]) }, m[0].length];
  if ((m = BNODE.exec(text))) return [{ type: "bnode", value: m[1] }, m[0].length];
  if ((m = LITERAL.exec(text))) {
    const term = { type: "literal", value: unescapeLiteral(m[1]) };
    if (m[2]) term["xml:lang"] = m[2];
    if (m[3]) term.datatype = m[3];
    return [term, m[0].length];
  }
  return [null, 0];
}

export function parseNTriples(text) {
  const triples = [];
  for (const raw of text.split("\n")) {
    let line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const terms = [];
    for (let i = 0; i < 3; i++) {
      const [term, length] = readTerm(line);
      if (!term) break;
      terms.push(term);
      line = line.slice(length).trimStart();
    }
    if (terms.length === 3) triples.push({ s: terms[0], p: terms[1], o: terms[2] });
  }
  return triples;
}
