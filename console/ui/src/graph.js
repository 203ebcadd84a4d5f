// Pipeline graph: turns the graph JSON of /api/graph and /api/config
// (spec/console.md §3) into one box per pipeline listing its filters, with an
// arrow from each link/fork/mux/demux/use filter to its targets; dagre lays
// the boxes out and the SVG can be zoomed (wheel) and panned (drag).

import { Graph, layout } from '@dagrejs/dagre';

const SVG = 'http://www.w3.org/2000/svg';
const HEAD = 24;       // header height of a box
const ROW = 18;        // height of one filter row
const PAD = 6;         // space under the last row
const MIN_W = 150;     // minimum box width
const FONT = '12px ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace';
const TITLE_FONT = 'bold ' + FONT;

const NOT_FOUND = 'pipeline not found: ';
const RECURSIVE = 'recursive pipeline: ';

let measureCtx = null;
function textWidth(text, font) {
  if (!measureCtx) measureCtx = document.createElement('canvas').getContext('2d');
  if (!measureCtx) return text.length * 7.2;
  measureCtx.font = font;
  return measureCtx.measureText(text).width;
}

// model(graph) → {boxes: Map<key, box>, edges: [{from, row, to, kind}]}
// A box is {key, name, kind: root|pipeline|missing|use, filters: [{name, t}]}.
export function model(graph) {
  const nodes = (graph && graph.nodes) || [];
  const boxes = new Map();
  const edges = [];
  const roots = (graph && graph.roots) || [];

  const define = (i) => {
    const n = nodes[i];
    if (!n || (n.t !== 'root' && n.t !== 'pipeline')) return;
    if (n.name.startsWith(RECURSIVE)) return; // a reference, drawn as an edge
    if (n.name.startsWith(NOT_FOUND)) {
      if (!boxes.has(n.name)) boxes.set(n.name, { key: n.name, name: n.name, kind: 'missing', filters: [] });
      return;
    }
    const existing = boxes.get(n.name);
    // The same named pipeline is expanded under every filter that links to
    // it: the first expansion with filters defines the box.
    if (existing && (existing.filters.length || !(n.c && n.c.length))) return;
    const box = existing || { key: n.name, name: n.name, kind: n.t === 'root' ? 'root' : 'pipeline', filters: [] };
    box.filters = [];
    box.edges = [];
    boxes.set(n.name, box);
    (n.c || []).forEach((fi, row) => {
      const f = nodes[fi];
      if (!f) return;
      box.filters.push({ name: f.name, t: f.t });
      if (f.name.startsWith('use ')) {
        const target = f.name.slice(4);
        const key = 'use:' + target;
        if (!boxes.has(key)) boxes.set(key, { key, name: target, kind: 'use', filters: [] });
        box.edges.push({ from: box.key, row, to: key, kind: 'use' });
      }
      for (const ti of f.c || []) {
        const t = nodes[ti];
        if (!t) continue;
        let to = t.name;
        if (to.startsWith(RECURSIVE)) to = to.slice(RECURSIVE.length);
        box.edges.push({ from: box.key, row, to, kind: f.t === 'fork' ? 'fork' : f.name });
      }
    });
  };

  // Roots first so that dagre keeps them in the order of the JSON.
  roots.forEach(define);
  nodes.forEach((_, i) => define(i));
  for (const box of boxes.values()) {
    for (const e of box.edges || []) {
      // a recursive reference to a pipeline that is not expanded anywhere
      if (!boxes.has(e.to)) boxes.set(e.to, { key: e.to, name: e.to, kind: 'pipeline', filters: [] });
      edges.push(e);
    }
    delete box.edges;
  }
  return { boxes, edges };
}

function el(name, attrs, parent) {
  const e = document.createElementNS(SVG, name);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (parent) parent.appendChild(e);
  return e;
}

function edgeClass(kind) {
  switch (kind) {
    case 'fork': return 'fork';
    case 'use': return 'use';
    case 'mux': case 'demux': return 'mux';
    default: return 'link';
  }
}

export class GraphView {
  // svg: the <svg> element; onBoxClick(box) when a box is clicked (not dragged).
  constructor(svg, { onBoxClick } = {}) {
    this.svg = svg;
    this.onBoxClick = onBoxClick;
    this.view = { k: 1, x: 0, y: 0 };
    this.size = { w: 0, h: 0 };
    this.keys = '';
    this.autoFit = true;
    this.boxes = new Map();

    const defs = el('defs', {}, svg);
    for (const kind of ['link', 'fork', 'mux', 'use']) {
      const m = el('marker', {
        id: 'arrow-' + kind, viewBox: '0 0 10 10', refX: '9', refY: '5',
        markerWidth: '7', markerHeight: '7', orient: 'auto-start-reverse',
      }, defs);
      el('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrow arrow-' + kind }, m);
    }
    this.viewport = el('g', { class: 'viewport' }, svg);
    this.installPanZoom();
    if (typeof ResizeObserver !== 'undefined') {
      new ResizeObserver(() => { if (this.autoFit) this.fit(); }).observe(svg);
    }
  }

  clear() {
    this.viewport.textContent = '';
    this.boxes = new Map();
    this.keys = '';
    this.size = { w: 0, h: 0 };
  }

  // Draws a graph JSON; keeps the zoom and pan when the set of pipelines is
  // unchanged (an edit of the same file), fits it to the pane otherwise.
  show(graph, { focus } = {}) {
    const { boxes, edges } = model(graph);
    const keys = [...boxes.keys()].join('\n');
    const changed = keys !== this.keys;
    this.viewport.textContent = '';
    this.boxes = boxes;
    this.keys = keys;
    if (!boxes.size) { this.size = { w: 0, h: 0 }; return 0; }

    const g = new Graph({ multigraph: true });
    g.setGraph({ rankdir: 'LR', nodesep: 22, ranksep: 64, edgesep: 12, marginx: 16, marginy: 16 });
    g.setDefaultEdgeLabel(() => ({}));
    for (const box of boxes.values()) {
      let w = textWidth(box.name, TITLE_FONT) + 24;
      for (const f of box.filters) w = Math.max(w, textWidth(f.name, FONT) + 30);
      box.w = Math.ceil(Math.max(MIN_W, w));
      box.h = HEAD + box.filters.length * ROW + (box.filters.length ? PAD : 0);
      g.setNode(box.key, { width: box.w, height: box.h });
    }
    edges.forEach((e, i) => g.setEdge(e.from, e.to, { minlen: 1 }, 'e' + i));
    layout(g);
    for (const box of boxes.values()) {
      const n = g.node(box.key);
      box.x = n.x - box.w / 2;
      box.y = n.y - box.h / 2;
    }
    const gl = g.graph();
    this.size = { w: gl.width || 0, h: gl.height || 0 };

    const edgeLayer = el('g', { class: 'edges' }, this.viewport);
    const boxLayer = el('g', { class: 'boxes' }, this.viewport);
    for (const e of edges) this.drawEdge(edgeLayer, boxes.get(e.from), e.row, boxes.get(e.to), e.kind);
    for (const box of boxes.values()) this.drawBox(boxLayer, box);

    if (focus && boxes.has(focus)) this.center(boxes.get(focus));
    else if (changed || this.autoFit) this.fit();
    else this.apply();
    return boxes.size;
  }

  drawBox(layer, box) {
    const g = el('g', {
      class: 'box box-' + box.kind,
      transform: `translate(${box.x},${box.y})`,
    }, layer);
    if (box.kind === 'use') g.setAttribute('data-testid', 'use:' + box.name);
    else g.setAttribute('data-testid', 'pipeline:' + box.name);
    g.setAttribute('data-key', box.key);
    el('title', {}, g).textContent = box.kind === 'use' ? 'use ' + box.name : box.name;
    el('rect', { class: 'box-bg', width: box.w, height: box.h, rx: 5, ry: 5 }, g);
    const r = 5;
    const head = box.filters.length
      ? `M0,${HEAD} V${r} Q0,0 ${r},0 H${box.w - r} Q${box.w},0 ${box.w},${r} V${HEAD} Z`
      : `M0,${HEAD - r} V${r} Q0,0 ${r},0 H${box.w - r} Q${box.w},0 ${box.w},${r} V${HEAD - r} Q${box.w},${HEAD} ${box.w - r},${HEAD} H${r} Q0,${HEAD} 0,${HEAD - r} Z`;
    el('path', { class: 'box-head', d: head }, g);
    const title = el('text', { class: 'box-title', x: 10, y: 16 }, g);
    title.textContent = box.name;
    box.filters.forEach((f, i) => {
      const y = HEAD + i * ROW;
      const row = el('g', { class: 'filter filter-' + f.t, transform: `translate(0,${y})` }, g);
      const t = el('text', { x: 12, y: 13 }, row);
      t.textContent = f.name;
      if (f.t === 'link' || f.t === 'fork' || f.name.startsWith('use ')) {
        el('circle', { class: 'port', cx: box.w, cy: ROW / 2, r: 3 }, row);
      }
    });
  }

  drawEdge(layer, from, row, to, kind) {
    if (!from || !to) return;
    const x1 = from.x + from.w;
    const y1 = from.y + HEAD + row * ROW + ROW / 2;
    let x2 = to.x;
    const y2 = to.y + HEAD / 2;
    let d;
    if (x2 > x1 + 10) {
      const dx = Math.max(30, (x2 - x1) / 2);
      d = `M${x1},${y1} C${x1 + dx},${y1} ${x2 - dx},${y2} ${x2 - 1},${y2}`;
    } else {
      // back edge (a recursive link): loop around on the right and enter from the left
      const out = 60;
      x2 = to.x;
      d = `M${x1},${y1} C${x1 + out},${y1} ${x1 + out},${Math.min(y1, y2) - 40} ${(x1 + x2) / 2},${Math.min(y1, y2) - 40}` +
        ` S${x2 - out},${y2} ${x2 - 1},${y2}`;
    }
    const cls = edgeClass(kind);
    const p = el('path', { class: 'edge edge-' + cls, d, 'marker-end': `url(#arrow-${cls})` }, layer);
    el('title', {}, p).textContent = `${kind} → ${to.name}`;
  }

  apply() {
    const { k, x, y } = this.view;
    this.viewport.setAttribute('transform', `translate(${x},${y}) scale(${k})`);
  }

  fit() {
    const W = this.svg.clientWidth, H = this.svg.clientHeight;
    if (!W || !H || !this.size.w) { this.apply(); return; }
    const k = Math.min(1.25, Math.max(0.1, Math.min(W / this.size.w, H / this.size.h)));
    this.view = { k, x: (W - this.size.w * k) / 2, y: Math.max(0, (H - this.size.h * k) / 2) };
    this.autoFit = true;
    this.apply();
  }

  center(box) {
    const W = this.svg.clientWidth, H = this.svg.clientHeight;
    const k = Math.max(this.view.k, 0.8);
    this.view = { k, x: W / 2 - (box.x + box.w / 2) * k, y: H / 2 - (box.y + box.h / 2) * k };
    this.autoFit = false;
    this.apply();
  }

  zoom(factor, cx, cy) {
    const { k, x, y } = this.view;
    if (cx === undefined) { cx = this.svg.clientWidth / 2; cy = this.svg.clientHeight / 2; }
    const nk = Math.min(4, Math.max(0.1, k * factor));
    this.view = { k: nk, x: cx - (cx - x) * (nk / k), y: cy - (cy - y) * (nk / k) };
    this.autoFit = false;
    this.apply();
  }

  installPanZoom() {
    const svg = this.svg;
    svg.addEventListener('wheel', (e) => {
      e.preventDefault();
      const r = svg.getBoundingClientRect();
      const delta = e.deltaMode === 1 ? e.deltaY * 16 : e.deltaY;
      this.zoom(Math.exp(-delta * (e.ctrlKey ? 0.01 : 0.0015)), e.clientX - r.left, e.clientY - r.top);
    }, { passive: false });

    let drag = null;
    svg.addEventListener('pointerdown', (e) => {
      if (e.button !== 0) return;
      drag = { id: e.pointerId, sx: e.clientX, sy: e.clientY, x: this.view.x, y: this.view.y, moved: false };
    });
    svg.addEventListener('pointermove', (e) => {
      if (!drag || e.pointerId !== drag.id) return;
      const dx = e.clientX - drag.sx, dy = e.clientY - drag.sy;
      if (!drag.moved && Math.abs(dx) + Math.abs(dy) < 4) return;
      if (!drag.moved) {
        drag.moved = true;
        svg.setPointerCapture(e.pointerId);
        svg.classList.add('panning');
      }
      this.view = { ...this.view, x: drag.x + dx, y: drag.y + dy };
      this.autoFit = false;
      this.apply();
    });
    const end = (e) => {
      if (!drag || e.pointerId !== drag.id) return;
      const moved = drag.moved;
      drag = null;
      svg.classList.remove('panning');
      if (moved || e.type !== 'pointerup') return;
      const g = e.target.closest && e.target.closest('.box');
      if (g && this.onBoxClick) {
        const box = this.boxes.get(g.getAttribute('data-key'));
        if (box) this.onBoxClick(box);
      }
    };
    svg.addEventListener('pointerup', end);
    svg.addEventListener('pointercancel', end);
    svg.addEventListener('dblclick', () => this.fit());
  }
}
