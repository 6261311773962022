// Prefix declarations: which a query has, which it uses, and where a new one goes. The service's
// prefixes are declared as soon as they are typed (as YASGUI does), so that what the editor shows is
// exactly what runs.

const DECLARED = /\bPREFIX\s+([A-Za-z][\w.-]*)?:\s*</gi;
// Strings, IRIs and comments: blanked out before looking for prefixed names.
const OPAQUE = /"""[\s\S]*?"""|'''[\s\S]*?'''|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|<[^<>"{}|^`\\\s]*>|#[^\n]*/g;
const USED = /(^|[^\w?$:.\\-])([A-Za-z][\w-]*(?:\.[\w-]+)*)?:/g;
const HEADER_LINE = /^\s*(#.*)?$/;
const DECLARATION_LINE = /^\s*(PREFIX|BASE)\b/i;

export function declared(text) {
  const found = new Set();
  for (const m of text.matchAll(DECLARED)) found.add(m[1] || "");
  return found;
}

/** The text with strings, IRIs and comments replaced by spaces (offsets kept). */
export function blanked(text) {
  return text.replace(OPAQUE, (m) => m.replace(/[^\n]/g, " "));
}

/** The prefixes `text` uses, in order of first use. */
export function used(text) {
  const found = [];
  for (const m of blanked(text).matchAll(USED)) {
    const name = m[2] || "";
    if (!found.includes(name)) found.push(name);
  }
  return found;
}

/** Where a new declaration goes: after the leading PREFIX/BASE lines, else after the leading comments. */
export function insertionPoint(doc) {
  let afterComments = 0;
  let afterDeclarations = -1;
  for (let n = 1; n <= doc.lines; n++) {
    const line = doc.line(n);
    if (DECLARATION_LINE.test(line.text)) {
      afterDeclarations = Math.min(line.to + 1, doc.length);
    } else if (HEADER_LINE.test(line.text)) {
      if (afterDeclarations < 0 && line.text.trim()) afterComments = Math.min(line.to + 1, doc.length);
    } else {
      break;
    }
  }
  return afterDeclarations >= 0 ? afterDeclarations : afterComments;
}

/** The declarations (one change) that `text` needs for the service prefixes it uses undeclared. */
export function missingDeclarations(doc, known, extra) {
  const text = doc.toString();
  const have = declared(text);
  const wanted = [...used(text), ...(extra || [])].filter((p) => p in known && !have.has(p));
  const unique = [...new Set(wanted)];
  if (!unique.length) return null;
  const at = insertionPoint(doc);
  const lines = unique.map((p) => `PREFIX ${p}: <${known[p]}>\n`).join("");
  const needsBreak = at > 0 && at === doc.length && !text.endsWith("\n");
  return { from: at, insert: (needsBreak ? "\n" : "") + lines };
}
