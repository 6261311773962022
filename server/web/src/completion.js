// Completion from the graph, as QLever's UI does it: the server reads where the cursor is
// (/workbench/complete, kg/completion.py) and proposes classes after `a`, properties in predicate
// position, entities by a label in any language in subject or object position, prefixed names and
// variables. SPARQL keywords come from a list here, when typed in capitals.

import { missingDeclarations } from "./prefixes.js";

const KEYWORDS = [
  "SELECT", "DISTINCT", "WHERE", "FILTER", "OPTIONAL", "UNION", "MINUS", "GRAPH", "BIND", "VALUES",
  "ORDER BY", "GROUP BY", "HAVING", "LIMIT", "OFFSET", "CONSTRUCT", "DESCRIBE", "ASK", "PREFIX",
  "NOT EXISTS", "EXISTS", "COUNT", "SUM", "AVG", "MIN", "MAX", "SAMPLE", "GROUP_CONCAT", "STR", "LANG",
  "LANGMATCHES", "REGEX", "CONTAINS", "STRSTARTS", "YEAR", "DATATYPE", "COALESCE", "IF", "ASC", "DESC",
];

const TRIGGER = /[\p{L}\p{N}_:?$<\s/-]$/u;
const TYPES = { class: "class", property: "property", entity: "variable", variable: "variable", prefix: "namespace" };

/** The character offset (code points, as the server counts) of a JS string position. */
function codePoints(text, position) {
  return Array.from(text.slice(0, position)).length;
}

function option(item, pos, typedLength, prefixes) {
  // an entity shows its types (its IRI is long: in the info box); a class or property its name
  const detail = [];
  if (item.kind === "entity") {
    if (item.detail) detail.push(item.detail);
  } else if (item.kind !== "prefix" && item.kind !== "variable" && item.label !== item.insert) {
    detail.push(item.insert);
  }
  if (item.count != null) detail.push(`· ${item.count}`);
  const info = [item.matched ? `${item.matched}${item.matched_lang ? ` @${item.matched_lang}` : ""}` : "", item.iri || ""];
  return {
    label: item.kind === "variable" || item.kind === "prefix" ? item.insert : item.label,
    detail: detail.join(" "),
    info: info.filter(Boolean).join("\n") || undefined,
    type: TYPES[item.kind] || "text",
    apply(view, completion, from, to) {
      // insert the term; declare its prefix (a service prefix) in the same change
      const changes = [{ from, to, insert: item.insert }];
      const name = /^([A-Za-z][\w-]*)?:/.exec(item.insert);
      let shift = 0;
      if (name && item.kind !== "prefix-declaration") {
        const declaration = missingDeclarations(view.state.doc, prefixes, [name[1] || ""]);
        if (declaration && declaration.from <= from) shift = declaration.insert.length;
        if (declaration) changes.push(declaration);
      }
      changes.sort((a, b) => a.from - b.from);
      view.dispatch({
        changes,
        selection: { anchor: from + shift + item.insert.length },
        userEvent: "input.complete",
        scrollIntoView: true,
      });
    },
  };
}

export function serverCompletion({ url, lang, prefixes }) {
  return async function complete(context) {
    const doc = context.state.doc.toString();
    const before = doc.slice(Math.max(0, context.pos - 1), context.pos);
    if (!context.explicit && !TRIGGER.test(before)) return null;
    const controller = new AbortController();
    context.addEventListener("abort", () => controller.abort());
    let data;
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({
          query: doc,
          cursor: String(codePoints(doc, context.pos)),
          lang,
          explicit: context.explicit ? "1" : "",
        }),
        signal: controller.signal,
      });
      if (!response.ok) return null;
      data = await response.json();
    } catch (e) {
      return null; // aborted by more typing, or the server is away: no proposals
    }
    if (!data.items || !data.items.length) return null;
    const typed = data.typed || "";
    const from = context.pos - typed.length;
    return {
      from,
      options: data.items.map((item) => option(item, context.pos, typed.length, prefixes)),
      filter: false,
    };
  };
}

export function keywordCompletion(context) {
  const word = context.matchBefore(/[A-Z][A-Z_]+$/);
  if (!word) return null;
  const options = KEYWORDS.filter((k) => k.startsWith(word.text) && k !== word.text).map((k) => ({
    label: k,
    type: "keyword",
    boost: -10,
  }));
  return options.length ? { from: word.from, options, validFor: /^[A-Z_ ]*$/ } : null;
}
