// The page's words in the reader's language (server/pages_i18n.py, the wb_ entries), and the folding
// of the search page (kg/describe.py fold): case-insensitive, Kazakh letters as Russian look-alikes.

let words = {};

export function setWords(found) {
  words = found || {};
}

/** The word `key`, with `{name}` placeholders filled from `values`. */
export function t(key, values) {
  const text = words[key] || key;
  return text.replace(/\{(\w+)\}/g, (m, name) => (values && name in values ? String(values[name]) : m));
}

const FOLD = { "ә": "а", "ғ": "г", "қ": "к", "ң": "н", "ө": "о", "ұ": "у", "ү": "у", "һ": "х", "і": "и", "ё": "е" };

export function fold(text) {
  return text
    .normalize("NFC")
    .toLowerCase()
    .replace(/[әғқңөұүһіё]/g, (c) => FOLD[c])
    .split(/\s+/)
    .filter(Boolean)
    .join(" ");
}
