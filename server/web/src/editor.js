// The editor: CodeMirror 6 with the SPARQL mode of @codemirror/legacy-modes, line numbers, bracket
// matching, folding of the PREFIX block, completion from the server (completion.js), the service's
// prefixes declared as they are typed, and the error of a 400 marked at its line and column.

import { EditorState, Prec } from "@codemirror/state";
import {
  EditorView,
  keymap,
  lineNumbers,
  highlightActiveLine,
  highlightActiveLineGutter,
  drawSelection,
  highlightSpecialChars,
} from "@codemirror/view";
import {
  StreamLanguage,
  bracketMatching,
  syntaxHighlighting,
  defaultHighlightStyle,
  foldGutter,
  foldService,
  foldEffect,
  codeFolding,
  indentOnInput,
  foldKeymap,
  foldable,
} from "@codemirror/language";
import { sparql } from "@codemirror/legacy-modes/mode/sparql";
import { defaultKeymap, history, historyKeymap } from "@codemirror/commands";
import { autocompletion, closeBrackets, closeBracketsKeymap, completionKeymap } from "@codemirror/autocomplete";
import { lintGutter, setDiagnostics } from "@codemirror/lint";
import { searchKeymap, highlightSelectionMatches } from "@codemirror/search";
import { missingDeclarations } from "./prefixes.js";
import { t } from "./words.js";

const PREFIX_LINE = /^\s*PREFIX\b/i;

/** The PREFIX block that starts at a line folds into that line. */
const prefixBlock = foldService.of((state, lineStart) => {
  const doc = state.doc;
  const line = doc.lineAt(lineStart);
  if (!PREFIX_LINE.test(line.text)) return null;
  if (line.number > 1 && PREFIX_LINE.test(doc.line(line.number - 1).text)) return null;
  let last = line;
  while (last.number < doc.lines && PREFIX_LINE.test(doc.line(last.number + 1).text)) {
    last = doc.line(last.number + 1);
  }
  return last.number > line.number ? { from: line.to, to: last.to } : null;
});

const folding = codeFolding({
  preparePlaceholder: (state, range) => state.doc.lineAt(range.to).number - state.doc.lineAt(range.from).number,
  placeholderDOM(view, onclick, hidden) {
    const button = document.createElement("span");
    button.className = "cm-foldPlaceholder";
    button.textContent = `… +${hidden} PREFIX`;
    button.title = "PREFIX";
    button.setAttribute("aria-label", `+${hidden} PREFIX`);
    button.onclick = onclick;
    return button;
  },
});

/** Typing `ak:` declares `ak` (a service prefix not declared yet) in the same transaction. */
function autoPrefix(known) {
  return EditorState.transactionFilter.of((tr) => {
    if (!tr.docChanged || !(tr.isUserEvent("input.type") || tr.isUserEvent("input.complete"))) return tr;
    let colon = false;
    tr.changes.iterChanges((fromA, toA, fromB, toB, inserted) => {
      if (inserted.toString().endsWith(":")) colon = true;
    });
    if (!colon) return tr;
    const change = missingDeclarations(tr.newDoc, known);
    return change ? [tr, { changes: change, sequential: true }] : tr;
  });
}

export function createEditor(textarea, { prefixes, onRun, completionSources, onChange }) {
  const wrapper = document.createElement("div");
  wrapper.className = "wb-cm";
  textarea.after(wrapper);
  textarea.hidden = true;
  const view = new EditorView({
    parent: wrapper,
    state: EditorState.create({
      doc: textarea.value,
      extensions: [
        lineNumbers(),
        foldGutter(),
        lintGutter(),
        highlightActiveLineGutter(),
        highlightSpecialChars(),
        history(),
        drawSelection(),
        indentOnInput(),
        StreamLanguage.define(sparql),
        syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
        bracketMatching(),
        closeBrackets(),
        highlightActiveLine(),
        highlightSelectionMatches(),
        prefixBlock,
        folding,
        autoPrefix(prefixes),
        autocompletion({ override: completionSources, activateOnTypingDelay: 80, icons: true }),
        Prec.highest(
          keymap.of([
            { key: "Mod-Enter", run: () => (onRun(), true) },
            { key: "Shift-Enter", run: () => (onRun(), true) },
          ]),
        ),
        keymap.of([
          ...closeBracketsKeymap,
          ...defaultKeymap,
          ...searchKeymap,
          ...historyKeymap,
          ...foldKeymap,
          ...completionKeymap,
        ]),
        EditorView.contentAttributes.of({ "aria-label": t("editor"), spellcheck: "false", autocapitalize: "off" }),
        EditorView.lineWrapping,
        EditorView.updateListener.of((update) => {
          if (update.docChanged) {
            textarea.value = update.state.doc.toString();
            if (onChange) onChange();
          }
        }),
      ],
    }),
  });

  function foldPrefixes() {
    const doc = view.state.doc;
    for (let n = 1; n <= doc.lines; n++) {
      const line = doc.line(n);
      if (PREFIX_LINE.test(line.text)) {
        const range = foldable(view.state, line.from, line.to);
        if (range) view.dispatch({ effects: foldEffect.of(range) });
        return;
      }
    }
  }

  return {
    view,
    text: () => view.state.doc.toString(),
    setText(text, { fold = true } = {}) {
      view.dispatch({
        changes: { from: 0, to: view.state.doc.length, insert: text },
        selection: { anchor: text.length },
        effects: [],
      });
      this.clearError();
      if (fold) foldPrefixes();
    },
    foldPrefixes,
    /** Declare the service prefixes the query uses without declaring them (before it runs). */
    declarePrefixes() {
      const change = missingDeclarations(view.state.doc, prefixes);
      if (change) view.dispatch({ changes: change, userEvent: "input.prefixes" });
    },
    /** Mark the error of a 400 at its line and column (from 1). Oxigraph's position is just after
     * the token it could not take (past any whitespace): that token is marked. */
    markError(line, column, message) {
      const doc = view.state.doc;
      const target = doc.line(Math.min(Math.max(1, line), doc.lines));
      const inside = (at) => /[^\s{}()[\].,;]/.test(doc.sliceString(at, at + 1));
      let to = Math.min(target.from + Math.max(1, column) - 1, target.to);
      while (to > 0 && /\s/.test(doc.sliceString(to - 1, to))) to--;
      if (to === 0) to = Math.min(doc.length, 1);
      let from = to - 1;
      while (from > 0 && inside(from - 1) && inside(from)) from--;
      view.dispatch(setDiagnostics(view.state, [{ from, to: Math.max(to, from + 1), severity: "error", message }]));
      view.dispatch({ selection: { anchor: from }, scrollIntoView: true });
    },
    clearError() {
      view.dispatch(setDiagnostics(view.state, []));
    },
    focus: () => view.focus(),
  };
}
