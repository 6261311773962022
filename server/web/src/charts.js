// The chart and timeline views, drawn as SVG by Observable Plot (loaded when first shown): bars or a
// line of a numeric column against a label or date column; dates on a time axis, one row a line.

import * as Plot from "@observablehq/plot";
import { columns, toDate } from "./terms.js";
import { t } from "./words.js";

function select(id, label, values, chosen, names) {
  const wrap = document.createElement("label");
  const element = document.createElement("select");
  element.id = id;
  for (const v of values) element.add(new Option(names ? names[v] : v, v, false, v === chosen));
  wrap.append(label, " ", element);
  return [wrap, element];
}

function truncate(text, size) {
  text = String(text);
  return text.length > size ? text.slice(0, size - 1) + "…" : text;
}

function widthOf(container) {
  return Math.max(280, Math.min(container.clientWidth || 640, 1100));
}

export class ChartView {
  constructor(container, { shown }) {
    this.container = container;
    this.shown = shown; // term → the text the table shows (labels)
  }

  show(vars, rows) {
    this.vars = vars;
    this.rows = rows;
    const { numeric, dates, others } = columns(vars, rows);
    this.cols = { numeric, dates, others };
    this.y = numeric[0];
    this.x = dates[0] || others[0] || numeric.find((v) => v !== this.y) || null;
    this.kind = dates.includes(this.x) ? "line" : "bar";
    this.render();
  }

  render() {
    const { numeric, dates, others } = this.cols;
    if (!numeric.length) {
      const p = document.createElement("p");
      p.className = "muted";
      p.textContent = t("no_numbers");
      this.container.replaceChildren(p);
      this.svg = null;
      return;
    }
    const controls = document.createElement("div");
    controls.className = "wb-chart-controls";
    const [kindLabel, kind] = select("chart-kind", t("chart_kind"), ["bar", "line"], this.kind, {
      bar: t("bar"),
      line: t("line"),
    });
    const xs = [...dates, ...others, ...numeric.filter((v) => v !== this.y)];
    const [xLabel, x] = select("chart-x", t("x"), xs, this.x);
    const [yLabel, y] = select("chart-y", t("y"), numeric, this.y);
    kind.addEventListener("change", () => ((this.kind = kind.value), this.render()));
    x.addEventListener("change", () => ((this.x = x.value), this.render()));
    y.addEventListener("change", () => ((this.y = y.value), this.render()));
    controls.append(kindLabel, xLabel, yLabel);

    const width = widthOf(this.container);
    const xIsDate = dates.includes(this.x);
    const xIsNumber = numeric.includes(this.x);
    const data = this.rows
      .filter((r) => r[this.y])
      .map((r, i) => ({
        key: this.x ? (xIsDate ? toDate(r[this.x]) : xIsNumber ? Number(r[this.x].value) : this.shown(r[this.x])) : i + 1,
        value: Number(r[this.y].value),
      }));
    let chart;
    if (this.kind === "bar" && !xIsDate && !xIsNumber) {
      const labels = [...new Set(data.map((d) => String(d.key)))];
      const longest = Math.max(...labels.map((l) => l.length), 1);
      const marginLeft = Math.min(Math.round(width * 0.45), 12 + 7 * Math.min(longest, 40));
      chart = Plot.plot({
        width,
        height: 40 + 26 * labels.length,
        marginLeft,
        x: { grid: true, label: this.y },
        y: { domain: labels, label: null, tickFormat: (d) => truncate(d, Math.floor((marginLeft - 12) / 7)) },
        marks: [
          Plot.barX(data, { y: (d) => String(d.key), x: "value", fill: "#0b5cad", title: (d) => `${d.key}: ${d.value}` }),
          Plot.ruleX([0]),
        ],
      });
    } else if (this.kind === "bar") {
      chart = Plot.plot({
        width,
        height: 360,
        x: { label: this.x, type: xIsDate ? "band" : "band", tickFormat: xIsDate ? (d) => d.toISOString().slice(0, 10) : undefined },
        y: { grid: true, label: this.y },
        marks: [Plot.barY(data, { x: "key", y: "value", fill: "#0b5cad", title: (d) => String(d.value) }), Plot.ruleY([0])],
      });
    } else {
      const sorted = [...data].sort((a, b) => (a.key > b.key ? 1 : a.key < b.key ? -1 : 0));
      const ordinal = !xIsDate && !xIsNumber;
      chart = Plot.plot({
        width,
        height: 360,
        marginLeft: 60,
        x: { label: this.x, type: ordinal ? "point" : xIsDate ? "utc" : "linear" },
        y: { grid: true, label: this.y },
        marks: [
          Plot.lineY(ordinal ? data : sorted, { x: "key", y: "value", stroke: "#0b5cad", marker: "circle" }),
          Plot.ruleY([0]),
        ],
      });
    }
    chart.classList.add("wb-plot");
    this.svg = chart.tagName.toLowerCase() === "svg" ? chart : chart.querySelector("svg");
    this.container.replaceChildren(controls, chart);
  }
}

export class TimelineView {
  constructor(container, { shown }) {
    this.container = container;
    this.shown = shown;
  }

  show(vars, rows) {
    const { dates, others, numeric } = columns(vars, rows);
    if (!dates.length) {
      const p = document.createElement("p");
      p.className = "muted";
      p.textContent = t("no_dates");
      this.container.replaceChildren(p);
      this.svg = null;
      return;
    }
    const labelColumn = others[0] || numeric[0] || null;
    const [startColumn, endColumn] = dates;
    const data = rows
      .filter((r) => r[startColumn])
      .map((r, i) => ({
        label: labelColumn && r[labelColumn] ? this.shown(r[labelColumn]) : `#${i + 1}`,
        start: toDate(r[startColumn]),
        end: endColumn && r[endColumn] ? toDate(r[endColumn]) : null,
        when: r[startColumn].value + (endColumn && r[endColumn] ? ` – ${r[endColumn].value}` : ""),
      }))
      .sort((a, b) => a.start - b.start);
    const labels = [...new Set(data.map((d) => d.label))];
    const width = widthOf(this.container);
    const longest = Math.max(...labels.map((l) => l.length), 1);
    const marginLeft = Math.min(Math.round(width * 0.4), 12 + 7 * Math.min(longest, 40));
    const marks = [Plot.ruleY(labels, { stroke: "#d0d7de" })];
    if (endColumn) marks.push(Plot.barX(data.filter((d) => d.end), { x1: "start", x2: "end", y: "label", fill: "#0b5cad", fillOpacity: 0.35 }));
    marks.push(Plot.dot(data, { x: "start", y: "label", fill: "#0b5cad", r: 5, title: (d) => `${d.label}: ${d.when}` }));
    const chart = Plot.plot({
      width,
      height: 50 + 28 * labels.length,
      marginLeft,
      marginRight: 30,
      x: { type: "utc", grid: true, label: startColumn, insetLeft: 10, insetRight: 10 },
      y: { domain: labels, label: null, tickFormat: (d) => truncate(d, Math.floor((marginLeft - 12) / 7)) },
      marks,
    });
    chart.classList.add("wb-plot");
    this.svg = chart.tagName.toLowerCase() === "svg" ? chart : chart.querySelector("svg");
    this.container.replaceChildren(chart);
  }
}
