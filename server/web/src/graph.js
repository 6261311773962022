// The graph view of a CONSTRUCT or DESCRIBE result: its resources as nodes, its statements as arrows,
// laid out by d3-force once (no animation), drawn as SVG that can be zoomed and dragged.

import { forceSimulation, forceLink, forceManyBody, forceCenter, forceCollide, select, zoom } from "d3";
import { shorten } from "./terms.js";

const MAX_NODES = 300;
const LABELS = new Set([
  "http://www.w3.org/2000/01/rdf-schema#label",
  "http://www.w3.org/2004/02/skos/core#prefLabel",
]);
const SVG = "http://www.w3.org/2000/svg";

function element(name, attributes, parent) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attributes || {})) node.setAttribute(k, v);
  if (parent) parent.appendChild(node);
  return node;
}

export class GraphView {
  constructor(container, { prefixes }) {
    this.container = container;
    this.prefixes = prefixes;
  }

  show(triples, labels) {
    const nodes = new Map();
    const links = [];
    const ownLabels = new Map();
    for (const { s, p, o } of triples) {
      if (LABELS.has(p.value) && o.type === "literal" && !ownLabels.has(s.value)) ownLabels.set(s.value, o.value);
    }
    const nodeOf = (term, key) => {
      if (!nodes.has(key)) {
        if (nodes.size >= MAX_NODES) return null;
        const found = term.type === "uri" ? labels.get(term.value) : null;
        const text =
          term.type === "uri"
            ? (found && found.label) || ownLabels.get(term.value) || shorten(term.value, this.prefixes)
            : term.type === "bnode"
              ? "_:" + term.value
              : term.value.length > 40
                ? term.value.slice(0, 39) + "…"
                : term.value;
        nodes.set(key, { id: key, term, text, href: term.type === "uri" ? (found && found.href) || term.value : null });
      }
      return nodes.get(key);
    };
    triples.forEach(({ s, p, o }, i) => {
      if (LABELS.has(p.value) && o.type === "literal") return;
      const source = nodeOf(s, s.type + ":" + s.value);
      const target = nodeOf(o, o.type === "literal" ? `literal:${i}` : o.type + ":" + o.value);
      if (source && target) links.push({ source: source.id, target: target.id, label: shorten(p.value, this.prefixes) });
    });
    this.nodes = [...nodes.values()];
    this.links = links;
    this.truncated = nodes.size >= MAX_NODES;
    this.render();
  }

  render() {
    const width = Math.max(300, this.container.clientWidth || 640);
    const height = Math.max(360, Math.min(640, 120 + this.nodes.length * 12));
    const simulation = forceSimulation(this.nodes)
      .force("link", forceLink(this.links).id((d) => d.id).distance(90))
      .force("charge", forceManyBody().strength(-260))
      .force("center", forceCenter(width / 2, height / 2))
      .force("collide", forceCollide(28))
      .stop();
    for (let i = 0; i < 300; i++) simulation.tick();

    const svg = element("svg", {
      xmlns: SVG,
      class: "wb-graph",
      viewBox: `0 0 ${width} ${height}`,
      width: String(width),
      height: String(height),
      role: "img",
      "font-family": "system-ui, sans-serif",
      "font-size": "11",
    });
    const defs = element("defs", {}, svg);
    const marker = element(
      "marker",
      { id: "wb-arrow", viewBox: "0 -4 8 8", refX: "18", refY: "0", markerWidth: "7", markerHeight: "7", orient: "auto" },
      defs,
    );
    element("path", { d: "M0,-4L8,0L0,4", fill: "#8c959f" }, marker);
    element("rect", { width: String(width), height: String(height), fill: "#fff" }, svg);
    const layer = element("g", {}, svg);
    const edgeLabels = this.links.length <= 40; // more would hide the graph: then on hover only
    for (const link of this.links) {
      const group = element("g", { class: "wb-edge" }, layer);
      element("title", {}, group).textContent = link.label;
      element(
        "line",
        {
          x1: link.source.x.toFixed(1),
          y1: link.source.y.toFixed(1),
          x2: link.target.x.toFixed(1),
          y2: link.target.y.toFixed(1),
          stroke: "#8c959f",
          "marker-end": "url(#wb-arrow)",
        },
        group,
      );
      if (edgeLabels) {
        const text = element(
          "text",
          { x: ((link.source.x + link.target.x) / 2).toFixed(1), y: ((link.source.y + link.target.y) / 2).toFixed(1), fill: "#57606a", "font-size": "9", "text-anchor": "middle" },
          group,
        );
        text.textContent = link.label;
      }
    }
    for (const node of this.nodes) {
      const group = node.href ? element("a", { href: node.href, class: "wb-node" }, layer) : element("g", { class: "wb-node" }, layer);
      const literal = node.term.type === "literal";
      if (literal) {
        element("rect", { x: (node.x - 5).toFixed(1), y: (node.y - 5).toFixed(1), width: "10", height: "10", fill: "#f6f8fa", stroke: "#8c959f" }, group);
      } else {
        element("circle", { cx: node.x.toFixed(1), cy: node.y.toFixed(1), r: "8", fill: node.term.type === "uri" ? "#0b5cad" : "#8250df" }, group);
      }
      const text = element("text", { x: (node.x + 11).toFixed(1), y: (node.y + 4).toFixed(1), fill: "#1b1f23" }, group);
      text.textContent = node.text;
      const title = element("title", {}, group);
      title.textContent = node.term.value;
    }
    select(svg).call(
      zoom()
        .scaleExtent([0.2, 6])
        .on("zoom", (event) => layer.setAttribute("transform", event.transform.toString())),
    );
    this.svg = svg;
    this.container.replaceChildren(svg);
  }
}
