// Bottom panel: the live log view and the worker stats table, plus the
// connection that feeds them (Server-Sent Events from /api/events, or
// polling /api/log and /api/stats when the stream is unavailable).

import { getLog, getStats } from './api.js';

const MAX_LINES = 5000;

export class LogView {
  constructor(el) {
    this.el = el;
    this.queue = [];
    this.timer = 0;
  }

  append(lines) {
    if (!lines.length) return;
    this.queue.push(...lines);
    if (!this.timer) this.timer = setTimeout(() => this.flush(), 16);
  }

  flush() {
    this.timer = 0;
    const el = this.el;
    const atBottom = el.scrollTop + el.clientHeight >= el.scrollHeight - 24;
    const frag = document.createDocumentFragment();
    for (const line of this.queue.splice(0)) {
      const div = document.createElement('div');
      div.className = 'log-line';
      const m = /\[(error|warn|warning|debug)\]/.exec(line);
      if (m) div.classList.add('level-' + (m[1] === 'warning' ? 'warn' : m[1]));
      div.textContent = line;
      frag.appendChild(div);
    }
    el.appendChild(frag);
    let extra = el.childElementCount - MAX_LINES;
    while (extra-- > 0) el.firstElementChild.remove();
    if (atBottom) el.scrollTop = el.scrollHeight;
  }

  clear() {
    this.queue = [];
    this.el.textContent = '';
  }
}

function fmtBytes(n) {
  n = Number(n) || 0;
  if (n < 1024) return n + ' B';
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let i = -1;
  do { n /= 1024; i++; } while (n >= 1024 && i < units.length - 1);
  return n.toFixed(n < 10 ? 1 : 0) + ' ' + units[i];
}

const fmtInt = (n) => (Number(n) || 0).toLocaleString('en-US');
const fmtRate = (n) => (Number(n) || 0).toFixed(1);
const fmtMiB = (n) => ((Number(n) || 0) / 1048576).toFixed(1);

const COLUMNS = [
  ['id', 'Worker', (v) => String(v)],
  ['pid', 'PID', (v) => String(v ?? '')],
  ['connections', 'Conns', fmtInt],
  ['requestsPerSec', 'Req/s', fmtRate],
  ['requests', 'Requests', fmtInt],
  ['memory', 'Mem MiB', fmtMiB],
  ['bytesIn', 'In', fmtBytes],
  ['bytesOut', 'Out', fmtBytes],
];
const HISTORY = 60;

export class StatsView {
  constructor(el) {
    this.el = el;
    this.history = new Map(); // worker id → requestsPerSec samples
    const table = document.createElement('table');
    const head = table.createTHead().insertRow();
    for (const [field, title] of COLUMNS) {
      const th = document.createElement('th');
      th.textContent = title;
      th.dataset.field = field;
      head.appendChild(th);
    }
    const th = document.createElement('th');
    th.textContent = 'Req/s 60 s';
    th.className = 'spark-head';
    head.appendChild(th);
    this.body = table.createTBody();
    this.foot = table.createTFoot();
    this.empty = document.createElement('div');
    this.empty.className = 'placeholder';
    this.empty.textContent = 'No worker statistics yet';
    el.append(table, this.empty);
  }

  update(stats) {
    const workers = (stats && Array.isArray(stats.workers)) ? stats.workers : [];
    this.empty.hidden = workers.length > 0;
    const seen = new Set();
    const total = { id: 'total', pid: '', connections: 0, requestsPerSec: 0, requests: 0, memory: 0, bytesIn: 0, bytesOut: 0 };
    for (const w of workers) {
      const id = String(w.id);
      seen.add(id);
      for (const k of ['connections', 'requestsPerSec', 'requests', 'memory', 'bytesIn', 'bytesOut']) total[k] += Number(w[k]) || 0;
      const h = this.history.get(id) || [];
      h.push(Number(w.requestsPerSec) || 0);
      if (h.length > HISTORY) h.shift();
      this.history.set(id, h);
      let row = this.body.querySelector(`tr[data-worker="${CSS.escape(id)}"]`);
      if (!row) row = this.newRow(id, this.body);
      this.fill(row, w, h);
    }
    for (const row of [...this.body.rows]) {
      if (!seen.has(row.dataset.worker)) { this.history.delete(row.dataset.worker); row.remove(); }
    }
    // keep rows in worker order
    const rows = [...this.body.rows].sort((a, b) => collate(a.dataset.worker, b.dataset.worker));
    rows.forEach((r) => this.body.appendChild(r));
    this.foot.textContent = '';
    if (workers.length > 1) {
      const row = this.foot.insertRow();
      row.setAttribute('data-testid', 'workers-total');
      for (const [field] of COLUMNS) {
        const td = row.insertCell();
        td.dataset.field = field;
      }
      row.insertCell();
      this.fill(row, { ...total, id: 'All' }, null);
    }
  }

  newRow(id, body) {
    const row = body.insertRow();
    row.dataset.worker = id;
    row.setAttribute('data-testid', 'worker:' + id);
    for (const [field] of COLUMNS) {
      const td = row.insertCell();
      td.dataset.field = field;
    }
    row.insertCell().className = 'spark';
    return row;
  }

  fill(row, w, history) {
    COLUMNS.forEach(([field, , fmt], i) => {
      const text = fmt(w[field]);
      const cell = row.cells[i];
      if (cell.textContent !== text) cell.textContent = text;
      if (field === 'memory') cell.title = fmtBytes(w.memory);
    });
    if (history) row.cells[COLUMNS.length].replaceChildren(sparkline(history));
  }
}

function collate(a, b) {
  const na = Number(a), nb = Number(b);
  if (!Number.isNaN(na) && !Number.isNaN(nb)) return na - nb;
  return a < b ? -1 : a > b ? 1 : 0;
}

function sparkline(values) {
  const NS = 'http://www.w3.org/2000/svg';
  const w = 64, h = 16;
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('width', w);
  svg.setAttribute('height', h);
  svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
  svg.setAttribute('aria-hidden', 'true');
  const max = Math.max(1, ...values);
  const step = w / (HISTORY - 1);
  const x0 = w - (values.length - 1) * step;
  const pts = values.map((v, i) => `${(x0 + i * step).toFixed(1)},${(h - 1 - (v / max) * (h - 2)).toFixed(1)}`);
  const line = document.createElementNS(NS, 'polyline');
  line.setAttribute('points', pts.join(' '));
  svg.appendChild(line);
  return svg;
}

// Feeds log lines and stats to the callbacks. Prefers the event stream;
// polls once a second when EventSource is missing or the stream fails
// before it ever opened.
export class LiveFeed {
  // hooks: onLog(lines), onStats(stats), onStatus(state) with state
  // 'connecting' | 'live' | 'polling' | 'offline'.
  constructor(hooks) {
    this.hooks = hooks;
    this.logSize = 0;        // lines received, as counted by the server
    this.recent = new Map(); // event id → line, to drop replays after a reconnect
    this.es = null;
    this.polling = false;
  }

  async start() {
    this.hooks.onStatus('connecting');
    // History first: lines logged before the page was opened.
    try {
      const { size, lines } = await getLog(0);
      this.logSize = size;
      this.hooks.onLog(lines);
    } catch { /* the stream or the poller will retry */ }
    if (typeof EventSource === 'undefined') { this.poll(); return; }
    this.connect();
  }

  connect() {
    let opened = false;
    const es = new EventSource('/api/events');
    this.es = es;
    es.addEventListener('open', () => { opened = true; this.hooks.onStatus('live'); });
    es.addEventListener('log', (e) => {
      const id = parseInt(e.lastEventId, 10);
      if (!Number.isNaN(id) && String(id) === e.lastEventId) {
        if (id <= this.logSize && this.recent.get(id) === e.data) return; // replayed
        this.logSize = id;
        this.recent.set(id, e.data);
        if (this.recent.size > 2000) this.recent.delete(this.recent.keys().next().value);
      } else {
        this.logSize++;
      }
      this.hooks.onLog(e.data.split('\n'));
    });
    es.addEventListener('stats', (e) => {
      try { this.hooks.onStats(JSON.parse(e.data)); } catch { /* ignore a bad frame */ }
    });
    es.addEventListener('error', () => {
      if (es.readyState === EventSource.CLOSED || !opened) {
        // Not a stream (404, wrong type) or never reachable: poll instead.
        es.close();
        this.es = null;
        this.poll();
      } else {
        this.hooks.onStatus('offline'); // the browser reconnects by itself
      }
    });
  }

  async poll() {
    if (this.polling) return;
    this.polling = true;
    this.hooks.onStatus('polling');
    let failures = 0;
    const logLoop = async () => {
      let delay = 1000;
      try {
        const { size, lines } = await getLog(this.logSize);
        if (size < this.logSize) {
          // the server restarted: its count starts over
          this.logSize = 0;
          delay = 0;
        } else if (size > this.logSize) {
          this.logSize = size;
          this.hooks.onLog(lines);
          delay = 100;
        }
        if (failures) { failures = 0; this.hooks.onStatus('polling'); }
      } catch {
        if (++failures === 1) this.hooks.onStatus('offline');
      }
      setTimeout(logLoop, delay);
    };
    const statsLoop = async () => {
      try { this.hooks.onStats(await getStats()); } catch { /* no stats endpoint or offline */ }
      setTimeout(statsLoop, 1000);
    };
    logLoop();
    statsLoop();
  }
}
