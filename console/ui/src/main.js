// Pipy console: wires the file tree, the tabbed editor, the pipeline graph,
// the toolbar and the bottom panel to the REST API of spec/console.md.

import './style.css';
import * as api from './api.js';
import { Editors } from './editor.js';
import { FileTree } from './tree.js';
import { GraphView } from './graph.js';
import { LogView, StatsView, LiveFeed } from './panel.js';

const $ = (id) => document.getElementById(id);
const isScript = (path) => /\.(m?js)$/i.test(path || '');

const state = {
  program: '',
  graphMode: { kind: 'file' }, // or {kind: 'live', module}
  config: {},
  loadDiags: new Map(),   // path → [{line, col, message}] from the last load
  loadDiagKeys: new Set(),
};

// ---------------------------------------------------------------- status bar

let msgTimer = 0;
function notify(text, kind = 'info') {
  const el = $('status-msg');
  el.textContent = text;
  el.className = 'status-item ' + kind;
  clearTimeout(msgTimer);
  msgTimer = setTimeout(() => { el.textContent = ''; el.className = 'status-item'; }, kind === 'error' ? 10000 : 4000);
}

let busyCount = 0;
async function busy(text, fn) {
  const el = $('busy');
  busyCount++;
  el.textContent = text;
  el.classList.add('on');
  try {
    return await fn();
  } finally {
    if (--busyCount === 0) { el.textContent = ''; el.classList.remove('on'); }
  }
}

function fail(e) {
  console.error(e);
  notify(e.message || String(e), 'error');
}

// ---------------------------------------------------------------- components

const editors = new Editors($('editor'), $('tabs'), {
  onSave: () => save(),
  onChange: (tab) => scheduleGraph(tab, 1000),
  onActivate: (tab) => {
    tree.setActive(tab ? tab.path : '');
    if (tab) {
      tree.select(tab.path, { reveal: true });
      history.replaceState(null, '', '#' + encodeURI(tab.path));
    } else {
      history.replaceState(null, '', location.pathname + location.search);
    }
    if (state.graphMode.kind === 'file') renderGraph({ refit: true });
    if (tab && !(tab.graphDoc && editors.stateOf(tab).doc.eq(tab.graphDoc))) scheduleGraph(tab, 0);
    updateToolbar();
  },
  onDirty: () => updateToolbar(),
});

const tree = new FileTree($('file-tree'), {
  onOpen: (path) => openFile(path),
  onSelect: () => updateToolbar(),
});

const graphView = new GraphView($('graph'), {
  onBoxClick: (box) => {
    const tab = editors.active;
    if (state.graphMode.kind !== 'file' || !tab) return;
    const m = /^Listen (?:[\d.]+:)?(\d+)$/.exec(box.name);
    const needles = m
      ? [`listen(${m[1]}`, `listen( ${m[1]}`, m[1]]
      : box.kind === 'use' ? [box.name.split(' ')[0]]
        : [`'${box.name}'`, `"${box.name}"`, `\`${box.name}\``];
    editors.reveal(tab, needles);
  },
});

const logView = new LogView($('log'));
const statsView = new StatsView($('stats'));

// ---------------------------------------------------------------- files

async function refreshFiles() {
  try {
    tree.setFiles(await api.listFiles());
  } catch (e) { fail(e); }
}

async function openFile(path) {
  if (editors.get(path)) { editors.activate(path); return; }
  try {
    const text = await busy(`Opening ${path}...`, () => api.readFile(path));
    if (editors.get(path)) { editors.activate(path); return; }
    const tab = editors.open(path, text);
    applyLoadDiags(tab);
  } catch (e) { fail(e); }
}

async function save(tab = editors.active) {
  if (!tab) return false;
  const text = editors.text(tab);
  try {
    await busy('Saving...', () => api.writeFile(tab.path, text));
    editors.markSaved(tab, text);
    notify(`Saved ${tab.path}`);
    return true;
  } catch (e) { fail(e); return false; }
}

function normalize(base, name) {
  const out = [];
  for (const seg of (base + '/' + name).split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop(); else out.push(seg);
  }
  return '/' + out.join('/');
}

function addFile() {
  const dlg = $('dlg-add');
  const input = $('dlg-add-name');
  const err = $('dlg-add-error');
  const create = $('dlg-add-create');
  const base = tree.baseDir();
  $('dlg-add-base').textContent = `(in ${base || '/'})`;
  input.value = '';
  err.textContent = '';
  create.disabled = true;
  const check = () => {
    const name = input.value.trim();
    const path = normalize(base, name);
    let msg = '';
    if (name && tree.kind(path)) msg = 'Filename already exists';
    else if (name && (name.endsWith('/') || path === '/')) msg = 'Not a file name';
    err.textContent = msg;
    create.disabled = !name || !!msg;
    return msg ? null : path;
  };
  input.oninput = check;
  dlg.onclose = async () => {
    if (dlg.returnValue !== 'create') return;
    const path = check();
    if (!path) return;
    try {
      await busy('Creating...', () => api.writeFile(path, ''));
      await refreshFiles();
      tree.select(path, { reveal: true });
      await openFile(path);
    } catch (e) { fail(e); }
  };
  dlg.returnValue = '';
  dlg.showModal();
  input.focus();
}

function deleteFile() {
  const path = tree.selected;
  if (!path || tree.kind(path) !== 'file') return;
  const dlg = $('dlg-delete');
  $('dlg-delete-msg').textContent = `Delete the file '${path}'?`;
  dlg.onclose = async () => {
    if (dlg.returnValue !== 'delete') return;
    try {
      await busy('Deleting...', () => api.deleteFile(path));
      const tab = editors.get(path);
      if (tab) { tab.dirty = false; editors.close(path); }
      tree.selected = null;
      await refreshFiles();
      updateToolbar();
      notify(`Deleted ${path}`);
    } catch (e) { fail(e); }
  };
  dlg.returnValue = '';
  dlg.showModal();
}

// ---------------------------------------------------------------- program

function setProgram(path) {
  path = (path || '').trim();
  if (path && !path.startsWith('/')) path = '/' + path;
  const changed = path !== state.program;
  state.program = path;
  $('program').textContent = path;
  tree.setProgram(path);
  const st = $('status-program');
  st.textContent = path ? `● Running ${path}` : '○ No program running';
  st.classList.toggle('running', !!path);
  updateToolbar();
  if (changed && !$('view-running').hidden) refreshConfig();
}

async function refreshProgram() {
  try { setProgram(await api.getProgram()); } catch { /* offline: keep the last known */ }
}

async function start(path, verb) {
  if (!path) return;
  const tab = editors.get(path);
  if (tab && tab.dirty && !(await save(tab))) return;
  clearLoadDiags();
  showPanel(true);
  try {
    await busy(`${verb} ${path}...`, () => api.startProgram(path));
    setProgram(path);
    notify(`${verb === 'Starting' ? 'Started' : 'Restarted'} ${path}`);
  } catch (e) {
    if (e.status === 400) notify(`${path} failed to start: see the log`, 'error');
    else fail(e);
  }
  await refreshProgram();
  if (!$('view-running').hidden || state.graphMode.kind === 'live') refreshConfig();
}

async function stop() {
  try {
    await busy('Stopping program...', () => api.stopProgram());
    setProgram('');
    notify('Program stopped');
  } catch (e) { fail(e); }
  await refreshProgram();
}

// ---------------------------------------------------------------- error markers

// "2026-01-02 03:04:05 [error] /abs/dir/file.js:4:8: SyntaxError: ..."
const ERROR_LINE = /(?:^|\s)(\/[^\s]*?):(\d+):(\d+):\s+(.*)$/;
// A successful load prints its configuration: the markers of the previous load are stale.
const LOAD_DONE = /\[config\] Module \//;

function fileForAbsolute(abs) {
  let best = null;
  const consider = (p) => {
    if ((abs === p || abs.endsWith(p)) && (!best || p.length > best.length)) best = p;
  };
  for (const [p, kind] of tree.kinds) if (kind === 'file') consider(p);
  for (const p of editors.tabs.keys()) consider(p);
  return best;
}

function onLogLines(lines) {
  logView.append(lines);
  for (const line of lines) {
    if (LOAD_DONE.test(line)) { clearLoadDiags(); continue; }
    const m = ERROR_LINE.exec(line);
    if (!m) continue;
    const path = fileForAbsolute(m[1]);
    if (!path) continue;
    const d = { line: +m[2], col: +m[3], message: m[4], source: 'pipy' };
    const key = `${path}:${d.line}:${d.col}:${d.message}`;
    if (state.loadDiagKeys.has(key)) continue;
    state.loadDiagKeys.add(key);
    const list = state.loadDiags.get(path) || [];
    list.push(d);
    state.loadDiags.set(path, list);
    const tab = editors.get(path);
    if (tab) applyLoadDiags(tab);
  }
}

function applyLoadDiags(tab) {
  editors.setDiagnostics(tab, 'load', state.loadDiags.get(tab.path) || []);
}

function clearLoadDiags() {
  if (!state.loadDiags.size) return;
  const paths = [...state.loadDiags.keys()];
  state.loadDiags.clear();
  state.loadDiagKeys.clear();
  for (const p of paths) {
    const tab = editors.get(p);
    if (tab) applyLoadDiags(tab);
  }
}

// ---------------------------------------------------------------- graph

let graphTimer = 0;
let graphAbort = null;

function scheduleGraph(tab, delay) {
  clearTimeout(graphTimer);
  graphTimer = setTimeout(() => fetchGraph(tab), delay);
}

async function fetchGraph(tab) {
  if (!editors.get(tab.path)) return;
  if (!isScript(tab.path)) {
    tab.graph = null;
    tab.graphError = null;
    if (tab === editors.active) renderGraph();
    return;
  }
  if (graphAbort) graphAbort.abort();
  const ctl = new AbortController();
  graphAbort = ctl;
  const doc = editors.stateOf(tab).doc;
  try {
    const res = await api.staticGraph(doc.toString(), ctl.signal);
    if (ctl.signal.aborted) return;
    tab.graphDoc = doc;
    if (res.graph) {
      tab.graph = res.graph;
      tab.graphError = null;
      editors.setDiagnostics(tab, 'syntax', []);
    } else {
      tab.graphError = res.error;
      const m = /Line (\d+):(\d+)\s*(.*)/.exec(res.error) || /:(\d+):(\d+):?\s*(.*)/.exec(res.error);
      editors.setDiagnostics(tab, 'syntax', m ? [{ line: +m[1], col: +m[2], message: m[3] || res.error, source: 'syntax' }] : []);
    }
  } catch (e) {
    if (e.name === 'AbortError') return;
    tab.graphError = e.message;
  } finally {
    if (graphAbort === ctl) graphAbort = null;
  }
  if (tab === editors.active && state.graphMode.kind === 'file') renderGraph();
}

function renderGraph({ refit = false } = {}) {
  const msg = $('graph-msg');
  const err = $('graph-error');
  const mode = state.graphMode;
  let graph = null;
  let text = '';
  let error = null;
  let focus = null;
  $('graph-back').hidden = mode.kind !== 'live';
  if (mode.kind === 'live') {
    graph = state.config[mode.module] || null;
    focus = mode.focus;
    $('graph-title').textContent = `Live: ${mode.module}`;
    if (!graph) text = 'Module not loaded';
  } else {
    const tab = editors.active;
    $('graph-title').textContent = tab ? `Pipelines: ${tab.path.slice(tab.path.lastIndexOf('/') + 1)}` : 'Pipelines';
    if (!tab) text = 'No file open';
    else if (!isScript(tab.path)) text = 'Not a script';
    else {
      graph = tab.graph;
      error = tab.graphError;
      if (!graph && !error) text = 'Loading...';
    }
  }
  if (refit) graphView.autoFit = true;
  const n = graph ? graphView.show(graph, { focus }) : (graphView.clear(), 0);
  if (!text && !n && !error) text = 'No pipelines';
  msg.textContent = text;
  msg.hidden = !text;
  err.hidden = !error;
  err.textContent = error ? `⚠ ${error}` : '';
  $('graph').classList.toggle('stale', !!error);
}

// ---------------------------------------------------------------- running program view

async function refreshConfig() {
  const list = $('config-list');
  try {
    state.config = await api.getConfig();
  } catch (e) {
    state.config = {};
    list.textContent = '';
    const p = document.createElement('div');
    p.className = 'placeholder';
    p.textContent = e.message;
    list.appendChild(p);
    return;
  }
  list.textContent = '';
  const modules = Object.keys(state.config).sort();
  if (!modules.length) {
    const p = document.createElement('div');
    p.className = 'placeholder';
    p.textContent = 'No program running';
    list.appendChild(p);
  }
  for (const mod of modules) {
    const g = state.config[mod] || {};
    const item = document.createElement('div');
    item.className = 'config-module';
    item.textContent = mod;
    item.title = 'Show the live pipelines of ' + mod;
    item.setAttribute('data-testid', 'module:' + mod);
    item.addEventListener('click', () => showLive(mod));
    list.appendChild(item);
    for (const r of g.roots || []) {
      const node = (g.nodes || [])[r];
      if (!node) continue;
      const p = document.createElement('div');
      p.className = 'config-pipeline';
      p.textContent = node.name;
      p.addEventListener('click', () => showLive(mod, node.name));
      list.appendChild(p);
    }
  }
  if (state.graphMode.kind === 'live') renderGraph();
}

function showLive(module, focus) {
  state.graphMode = { kind: 'live', module, focus };
  renderGraph({ refit: !focus });
  state.graphMode.focus = undefined;
}

// ---------------------------------------------------------------- layout

function showView(name) {
  const app = $('app');
  const cur = document.querySelector('.activity.active');
  if (cur && cur.dataset.view === name && !app.classList.contains('no-sidebar')) {
    app.classList.add('no-sidebar');
    cur.classList.remove('active');
    cur.setAttribute('aria-pressed', 'false');
    return;
  }
  app.classList.remove('no-sidebar');
  for (const b of document.querySelectorAll('.activity[data-view]')) {
    const on = b.dataset.view === name;
    b.classList.toggle('active', on);
    b.setAttribute('aria-pressed', String(on));
  }
  $('view-explorer').hidden = name !== 'explorer';
  $('view-running').hidden = name !== 'running';
  if (name === 'running') refreshConfig();
}

function showPanel(on) {
  const app = $('app');
  app.classList.toggle('with-panel', on);
  $('toggle-panel').setAttribute('aria-pressed', String(on));
  if (on) { const log = $('log'); log.scrollTop = log.scrollHeight; }
}

const sizes = (() => {
  try { return JSON.parse(localStorage.getItem('pipy-console-layout') || '{}'); } catch { return {}; }
})();
function applySizes() {
  const app = $('app');
  for (const k of Object.keys(sizes)) app.style.setProperty('--' + k, sizes[k] + 'px');
}
function sash(id, prop, axis, min, max, invert) {
  const el = $(id);
  el.addEventListener('pointerdown', (e) => {
    e.preventDefault();
    el.setPointerCapture(e.pointerId);
    el.classList.add('dragging');
    const start = axis === 'x' ? e.clientX : e.clientY;
    const cssVal = parseFloat(getComputedStyle($('app')).getPropertyValue('--' + prop)) || 0;
    const move = (ev) => {
      const d = (axis === 'x' ? ev.clientX : ev.clientY) - start;
      sizes[prop] = Math.round(Math.min(max(), Math.max(min, cssVal + (invert ? -d : d))));
      applySizes();
    };
    const up = () => {
      el.releasePointerCapture(e.pointerId);
      el.classList.remove('dragging');
      el.removeEventListener('pointermove', move);
      el.removeEventListener('pointerup', up);
      try { localStorage.setItem('pipy-console-layout', JSON.stringify(sizes)); } catch { /* private mode */ }
    };
    el.addEventListener('pointermove', move);
    el.addEventListener('pointerup', up);
  });
}

// ---------------------------------------------------------------- toolbar

function updateToolbar() {
  const tab = editors.active;
  $('btn-save').disabled = !(tab && tab.dirty);
  $('btn-run').disabled = !(tab && isScript(tab.path));
  $('btn-reload').disabled = !state.program;
  $('btn-stop').disabled = !state.program;
  $('btn-delete').disabled = !(tree.selected && tree.kind(tree.selected) === 'file');
  $('btn-run').title = tab && isScript(tab.path) ? `Run ${tab.path}` : 'Open a script to run it';
  $('btn-reload').title = state.program ? `Reload ${state.program}` : 'No program running';
  const pos = $('status-pos');
  pos.textContent = tab ? (tab.dirty ? '● ' : '') + tab.path : '';
}

$('btn-add').addEventListener('click', addFile);
$('btn-delete').addEventListener('click', deleteFile);
$('btn-save').addEventListener('click', () => save());
$('btn-run').addEventListener('click', () => { const t = editors.active; if (t) start(t.path, 'Starting'); });
$('btn-reload').addEventListener('click', () => start(state.program, 'Restarting'));
$('btn-stop').addEventListener('click', stop);
$('btn-clear-log').addEventListener('click', () => logView.clear());
$('toggle-panel').addEventListener('click', () => showPanel(!$('app').classList.contains('with-panel')));
$('refresh-files').addEventListener('click', refreshFiles);
$('refresh-config').addEventListener('click', refreshConfig);
$('zoom-in').addEventListener('click', () => graphView.zoom(1.25));
$('zoom-out').addEventListener('click', () => graphView.zoom(0.8));
$('zoom-fit').addEventListener('click', () => graphView.fit());
$('graph-back').addEventListener('click', () => { state.graphMode = { kind: 'file' }; renderGraph({ refit: true }); });
for (const b of document.querySelectorAll('.activity[data-view]')) {
  b.addEventListener('click', () => showView(b.dataset.view));
}

window.addEventListener('keydown', (e) => {
  if ((e.ctrlKey || e.metaKey) && !e.altKey && (e.key === 's' || e.key === 'S')) {
    e.preventDefault();
    save();
  }
});
window.addEventListener('beforeunload', (e) => {
  if (editors.dirtyTabs().length) { e.preventDefault(); e.returnValue = ''; }
});
window.addEventListener('focus', () => { refreshFiles(); refreshProgram(); });
document.addEventListener('visibilitychange', () => { if (!document.hidden) refreshProgram(); });

sash('sash-sidebar', 'sidebar-w', 'x', 140, () => window.innerWidth * 0.5, false);
sash('sash-graph', 'graph-w', 'x', 160, () => window.innerWidth * 0.7, true);
sash('sash-panel', 'panel-h', 'y', 80, () => window.innerHeight * 0.8, true);
sash('sash-stats', 'stats-w', 'x', 200, () => window.innerWidth * 0.8, true);
applySizes();

// ---------------------------------------------------------------- start-up

const feed = new LiveFeed({
  onLog: onLogLines,
  onStats: (s) => statsView.update(s),
  onStatus: (s) => {
    const el = $('status-conn');
    el.textContent = { connecting: '… connecting', live: '⚡ live', polling: '↻ polling', offline: '✕ offline' }[s] || s;
    el.className = 'status-item conn-' + s;
  },
});

async function init() {
  setProgram('');
  updateToolbar();
  renderGraph();
  await Promise.all([refreshFiles(), refreshProgram()]);
  const want = decodeURI(location.hash.slice(1));
  if (want && tree.kind(want) === 'file') await openFile(want);
  else if (state.program) tree.select(state.program, { reveal: true });
  feed.start();
  setInterval(() => { if (!document.hidden) refreshProgram(); }, 5000);
}

// for browser tests and debugging
window.pipyConsole = { editors, tree, graphView, logView, statsView, state, openFile, save, refreshFiles, refreshProgram };

init();
