// The reader's own queries, kept in this browser (localStorage), newest first.

const KEY = "alatau-kg.workbench.history";
const MAX = 50;

export function entries() {
  try {
    const found = JSON.parse(localStorage.getItem(KEY) || "[]");
    return Array.isArray(found) ? found : [];
  } catch (e) {
    return [];
  }
}

export function remember(entry) {
  const kept = entries().filter((e) => e.query !== entry.query);
  kept.unshift({ ...entry, at: new Date().toISOString() });
  try {
    localStorage.setItem(KEY, JSON.stringify(kept.slice(0, MAX)));
  } catch (e) {
    /* storage full or disabled: the history is a convenience */
  }
}

export function clear() {
  try {
    localStorage.removeItem(KEY);
  } catch (e) {
    /* nothing kept */
  }
}

/** A short title for a query: its first comment, else its first line that is not a PREFIX. */
export function titleOf(query) {
  const lines = query.split("\n").map((l) => l.trim()).filter(Boolean);
  const comment = lines.find((l) => l.startsWith("#"));
  if (comment) return comment.replace(/^#+\s*/, "");
  return lines.find((l) => !/^(PREFIX|BASE)\b/i.test(l)) || lines[0] || "";
}
