// The table view: sortable by any column (click its header), paged, IRIs shown by their label in the
// reader's language and linked to their pages (the prefixed name with "Show IRIs").

import { plain, sortKey, compareKeys } from "./terms.js";
import { t } from "./words.js";

const PAGE_SIZES = [25, 50, 100, 500];

export class TableView {
  constructor(container, { prefixes }) {
    this.container = container;
    this.prefixes = prefixes;
    this.labels = new Map();
    this.showIris = false;
    this.pageSize = 50;
  }

  /** `vars`: the column names; `rows`: one object per row, variable → term. */
  show(vars, rows) {
    this.vars = vars;
    this.rows = rows;
    this.order = null; // [column, +1 | -1]
    this.page = 0;
    this.render();
  }

  setLabels(labels) {
    this.labels = labels;
    if (this.rows) this.render();
  }

  shown(term) {
    if (term && term.type === "uri" && !this.showIris) {
      const found = this.labels.get(term.value);
      if (found && found.label) return found.label;
    }
    return plain(term, this.prefixes);
  }

  sorted() {
    if (!this.order) return this.rows;
    const [column, direction] = this.order;
    const keyed = this.rows.map((row, i) => [sortKey(row[column], this.shown(row[column])), i, row]);
    keyed.sort((a, b) => compareKeys(a[0], b[0]) * direction || a[1] - b[1]);
    return keyed.map((k) => k[2]);
  }

  render() {
    const { vars } = this;
    const rows = this.sorted();
    const pages = Math.max(1, Math.ceil(rows.length / this.pageSize));
    this.page = Math.min(this.page, pages - 1);
    const start = this.page * this.pageSize;
    const table = document.createElement("table");
    table.className = "wb-table";
    const head = table.createTHead().insertRow();
    for (const v of vars) {
      const th = document.createElement("th");
      th.scope = "col";
      const sorted = this.order && this.order[0] === v ? this.order[1] : 0;
      th.setAttribute("aria-sort", sorted > 0 ? "ascending" : sorted < 0 ? "descending" : "none");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "wb-sort";
      button.textContent = v;
      button.title = t("sort");
      button.addEventListener("click", () => {
        this.order = [v, sorted > 0 ? -1 : 1];
        this.page = 0;
        this.render();
      });
      th.appendChild(button);
      head.appendChild(th);
    }
    const body = table.createTBody();
    for (const row of rows.slice(start, start + this.pageSize)) {
      const tr = body.insertRow();
      for (const v of vars) tr.insertCell().appendChild(this.cell(row[v]));
    }

    const controls = document.createElement("div");
    controls.className = "wb-table-controls";
    const iris = document.createElement("label");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.id = "show-iris";
    box.checked = this.showIris;
    box.addEventListener("change", () => {
      this.showIris = box.checked;
      this.render();
    });
    iris.append(box, " ", t("show_iris"));
    controls.appendChild(iris);
    if (rows.length > PAGE_SIZES[0]) {
      const sizeLabel = document.createElement("label");
      const size = document.createElement("select");
      size.id = "page-size";
      for (const n of PAGE_SIZES) size.add(new Option(String(n), String(n), false, n === this.pageSize));
      size.addEventListener("change", () => {
        this.pageSize = Number(size.value);
        this.page = 0;
        this.render();
      });
      sizeLabel.append(t("per_page"), " ", size);
      const previous = this.pager("previous", this.page > 0, -1);
      const next = this.pager("next", this.page < pages - 1, +1);
      const where = document.createElement("span");
      where.className = "wb-page";
      where.textContent = t("page", { page: this.page + 1, pages });
      controls.append(sizeLabel, previous, where, next);
    }
    const wrap = document.createElement("div");
    wrap.className = "table-wrap";
    wrap.appendChild(table);
    if (!rows.length) {
      const none = document.createElement("p");
      none.className = "muted wb-none";
      none.textContent = t("no_results");
      wrap.appendChild(none);
    }
    this.container.replaceChildren(controls, wrap);
  }

  pager(name, enabled, step) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = t(name);
    button.dataset.page = name;
    button.disabled = !enabled;
    button.addEventListener("click", () => {
      this.page += step;
      this.render();
    });
    return button;
  }

  cell(term) {
    const fragment = document.createDocumentFragment();
    if (!term) return fragment;
    if (term.type === "uri") {
      const a = document.createElement("a");
      const found = this.labels.get(term.value);
      a.href = found && found.href ? found.href : term.value;
      a.textContent = this.shown(term);
      a.title = term.value;
      if (found && found.lang) a.lang = found.lang;
      fragment.appendChild(a);
    } else if (term.type === "bnode") {
      fragment.appendChild(document.createTextNode("_:" + term.value));
    } else {
      const span = document.createElement("span");
      span.textContent = term.value;
      if (term["xml:lang"]) span.lang = term["xml:lang"];
      fragment.appendChild(span);
      const note = term["xml:lang"]
        ? "@" + term["xml:lang"]
        : term.datatype
          ? " ^^" + plain({ type: "uri", value: term.datatype }, this.prefixes)
          : "";
      if (note) {
        const small = document.createElement("small");
        small.className = term["xml:lang"] ? "lang" : "datatype";
        small.textContent = note;
        fragment.appendChild(small);
      }
    }
    return fragment;
  }
}
