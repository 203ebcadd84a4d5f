// Tabbed CodeMirror 6 editor. One EditorView shows the active tab; every
// other open file keeps its own EditorState (undo history, selection,
// diagnostics) until it is activated again.

import { EditorState, Compartment, Prec } from '@codemirror/state';
import {
  EditorView, keymap, lineNumbers, highlightActiveLineGutter, highlightSpecialChars,
  drawSelection, dropCursor, rectangularSelection, crosshairCursor, highlightActiveLine,
} from '@codemirror/view';
import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import {
  indentOnInput, syntaxHighlighting, HighlightStyle, bracketMatching, foldGutter, foldKeymap, indentUnit,
} from '@codemirror/language';
import { searchKeymap, highlightSelectionMatches } from '@codemirror/search';
import { autocompletion, completionKeymap, closeBrackets, closeBracketsKeymap } from '@codemirror/autocomplete';
import { lintGutter, lintKeymap, setDiagnostics } from '@codemirror/lint';
import { javascript } from '@codemirror/lang-javascript';
import { json } from '@codemirror/lang-json';
import { tags as t } from '@lezer/highlight';

// Colours come from CSS variables (style.css) so one style serves both themes.
const highlight = HighlightStyle.define([
  { tag: t.keyword, color: 'var(--tok-keyword)' },
  { tag: [t.controlKeyword, t.moduleKeyword], color: 'var(--tok-control)' },
  { tag: [t.function(t.variableName), t.function(t.propertyName)], color: 'var(--tok-function)' },
  { tag: [t.propertyName, t.definition(t.propertyName)], color: 'var(--tok-property)' },
  { tag: [t.definition(t.variableName), t.function(t.definition(t.variableName))], color: 'var(--tok-def)' },
  { tag: [t.string, t.special(t.string)], color: 'var(--tok-string)' },
  { tag: t.regexp, color: 'var(--tok-regexp)' },
  { tag: [t.number, t.bool, t.null, t.atom], color: 'var(--tok-number)' },
  { tag: [t.lineComment, t.blockComment, t.comment], color: 'var(--tok-comment)', fontStyle: 'italic' },
  { tag: [t.typeName, t.className, t.namespace], color: 'var(--tok-type)' },
  { tag: [t.operator, t.operatorKeyword], color: 'var(--tok-operator)' },
  { tag: t.invalid, color: 'var(--tok-invalid)' },
]);

const themeSpec = {
  '&': { height: '100%', fontSize: '13px', color: 'var(--editor-fg)', backgroundColor: 'var(--editor-bg)' },
  '.cm-scroller': { fontFamily: 'var(--mono)', lineHeight: '1.5' },
  '.cm-content': { caretColor: 'var(--cursor)' },
  '.cm-cursor, .cm-dropCursor': { borderLeftColor: 'var(--cursor)' },
  '&.cm-focused > .cm-scroller > .cm-selectionLayer .cm-selectionBackground, .cm-selectionBackground, .cm-content ::selection':
    { backgroundColor: 'var(--selection)' },
  '.cm-gutters': { backgroundColor: 'var(--editor-bg)', color: 'var(--gutter-fg)', border: 'none' },
  '.cm-activeLine': { backgroundColor: 'var(--active-line)' },
  '.cm-activeLineGutter': { backgroundColor: 'var(--active-line)', color: 'var(--fg)' },
  '.cm-foldPlaceholder': { backgroundColor: 'transparent', border: 'none', color: 'var(--gutter-fg)' },
  '.cm-tooltip': { backgroundColor: 'var(--widget-bg)', color: 'var(--fg)', border: '1px solid var(--border)' },
  '.cm-panels': { backgroundColor: 'var(--widget-bg)', color: 'var(--fg)' },
};
const lightTheme = EditorView.theme(themeSpec, { dark: false });
const darkTheme = EditorView.theme(themeSpec, { dark: true });
const darkQuery = window.matchMedia ? window.matchMedia('(prefers-color-scheme: dark)') : null;
const currentTheme = () => (darkQuery && darkQuery.matches ? darkTheme : lightTheme);

function languageFor(path) {
  if (/\.(m?js|cjs|ts)$/i.test(path)) return javascript();
  if (/\.json$/i.test(path)) return json();
  return [];
}

function basename(path) { return path.slice(path.lastIndexOf('/') + 1); }
function dirname(path) { return path.slice(0, path.lastIndexOf('/')); }

// Turns [{line, col, message, severity, source}] (1-based line and column)
// into CodeMirror diagnostics for a document; out-of-range lines are clamped.
function toDiagnostics(doc, list) {
  const out = [];
  for (const d of list) {
    const n = Math.min(Math.max(1, d.line | 0), doc.lines);
    const line = doc.line(n);
    const from = line.from + Math.min(Math.max(0, (d.col | 0) - 1), line.length);
    let to = line.to;
    if (from >= to) to = Math.min(from + 1, doc.length);
    out.push({
      from: Math.min(from, to), to, severity: d.severity || 'error', message: d.message, source: d.source,
    });
  }
  return out;
}

export class Editors {
  // host: element for the EditorView; tabBar: element for the tabs.
  // hooks: onSave(), onChange(tab) (doc changed), onActivate(tab|null), onDirty(tab).
  constructor(host, tabBar, hooks) {
    this.host = host;
    this.tabBar = tabBar;
    this.hooks = hooks;
    this.tabs = new Map();
    this.active = null;
    this.themeConf = new Compartment();
    this.view = new EditorView({
      parent: host,
      state: EditorState.create({ doc: '', extensions: [EditorState.readOnly.of(true), this.themeConf.of(currentTheme())] }),
    });
    host.classList.add('empty');
    if (darkQuery) {
      const update = () => {
        const effects = this.themeConf.reconfigure(currentTheme());
        for (const tab of this.tabs.values()) {
          if (tab !== this.active) tab.state = tab.state.update({ effects }).state;
        }
        this.view.dispatch({ effects });
      };
      if (darkQuery.addEventListener) darkQuery.addEventListener('change', update);
      else if (darkQuery.addListener) darkQuery.addListener(update);
    }
  }

  extensions(path) {
    return [
      lineNumbers(),
      highlightActiveLineGutter(),
      highlightSpecialChars(),
      history(),
      foldGutter(),
      lintGutter(),
      drawSelection(),
      dropCursor(),
      EditorState.allowMultipleSelections.of(true),
      EditorState.tabSize.of(2),
      indentUnit.of('  '),
      indentOnInput(),
      syntaxHighlighting(highlight),
      bracketMatching(),
      closeBrackets(),
      autocompletion(),
      rectangularSelection(),
      crosshairCursor(),
      highlightActiveLine(),
      highlightSelectionMatches(),
      Prec.highest(keymap.of([{ key: 'Mod-s', preventDefault: true, run: () => { this.hooks.onSave(); return true; } }])),
      keymap.of([
        ...closeBracketsKeymap, ...defaultKeymap, ...searchKeymap, ...historyKeymap,
        ...foldKeymap, ...completionKeymap, ...lintKeymap, indentWithTab,
      ]),
      languageFor(path),
      this.themeConf.of(currentTheme()),
      EditorView.updateListener.of((u) => {
        if (!u.docChanged || !this.active) return;
        const tab = this.active;
        const dirty = !u.state.doc.eq(tab.saved);
        if (dirty !== tab.dirty) {
          tab.dirty = dirty;
          this.renderTabs();
          this.hooks.onDirty(tab);
        }
        this.hooks.onChange(tab);
      }),
    ];
  }

  stateOf(tab) { return tab === this.active ? this.view.state : tab.state; }
  text(tab) { return this.stateOf(tab).doc.toString(); }
  get(path) { return this.tabs.get(path) || null; }
  dirtyTabs() { return [...this.tabs.values()].filter((t) => t.dirty); }

  // Opens a file (or activates it when already open).
  open(path, text) {
    let tab = this.tabs.get(path);
    if (!tab) {
      const state = EditorState.create({ doc: text, extensions: this.extensions(path) });
      tab = { path, state, saved: state.doc, dirty: false, diags: {}, scrollTop: 0, graph: null };
      this.tabs.set(path, tab);
    }
    this.activate(path);
    return tab;
  }

  activate(path) {
    const tab = this.tabs.get(path);
    if (!tab || tab === this.active) { this.renderTabs(); return; }
    if (this.active) {
      this.active.state = this.view.state;
      this.active.scrollTop = this.view.scrollDOM.scrollTop;
    }
    this.active = tab;
    this.view.setState(tab.state);
    this.host.classList.remove('empty');
    const top = tab.scrollTop;
    requestAnimationFrame(() => { this.view.scrollDOM.scrollTop = top; });
    this.renderTabs();
    this.hooks.onActivate(tab);
  }

  close(path) {
    const tab = this.tabs.get(path);
    if (!tab) return;
    if (tab.dirty && !window.confirm(`Discard unsaved changes to ${path}?`)) return;
    const keys = [...this.tabs.keys()];
    const i = keys.indexOf(path);
    this.tabs.delete(path);
    if (tab === this.active) {
      this.active = null;
      const next = keys[i + 1] || keys[i - 1];
      if (next && this.tabs.has(next)) {
        this.activate(next);
        return;
      }
      this.view.setState(EditorState.create({
        doc: '', extensions: [EditorState.readOnly.of(true), this.themeConf.of(currentTheme())],
      }));
      this.host.classList.add('empty');
      this.hooks.onActivate(null);
    }
    this.renderTabs();
  }

  // Records text as the saved content of the tab (after a successful save).
  markSaved(tab, text) {
    const doc = this.stateOf(tab).doc;
    tab.saved = doc.toString() === text ? doc : this.stateOf(tab).toText(text);
    tab.dirty = !doc.eq(tab.saved);
    this.renderTabs();
    this.hooks.onDirty(tab);
  }

  // Sets the diagnostics of one source ('load' or 'syntax') for a tab.
  setDiagnostics(tab, source, list) {
    tab.diags[source] = list;
    const all = [];
    for (const k in tab.diags) all.push(...tab.diags[k]);
    const spec = setDiagnostics(this.stateOf(tab), toDiagnostics(this.stateOf(tab).doc, all));
    if (tab === this.active) this.view.dispatch(spec);
    else tab.state = tab.state.update(spec).state;
  }

  // Moves the cursor to the first occurrence of one of the needles.
  reveal(tab, needles) {
    if (tab !== this.active) return false;
    const doc = this.view.state.doc.toString();
    for (const n of needles) {
      const i = doc.indexOf(n);
      if (i >= 0) {
        this.view.dispatch({ selection: { anchor: i, head: i + n.length }, scrollIntoView: true });
        this.view.focus();
        return true;
      }
    }
    return false;
  }

  renderTabs() {
    const bar = this.tabBar;
    bar.textContent = '';
    for (const tab of this.tabs.values()) {
      const el = document.createElement('div');
      el.className = 'tab' + (tab === this.active ? ' active' : '') + (tab.dirty ? ' dirty' : '');
      el.setAttribute('data-testid', 'tab:' + tab.path);
      el.setAttribute('role', 'tab');
      el.setAttribute('aria-selected', String(tab === this.active));
      el.title = tab.path + (tab.dirty ? ' (unsaved)' : '');
      const name = document.createElement('span');
      name.className = 'tab-name';
      name.textContent = basename(tab.path);
      const dir = document.createElement('span');
      dir.className = 'tab-dir';
      dir.textContent = dirname(tab.path).slice(1);
      const close = document.createElement('button');
      close.className = 'tab-close';
      close.setAttribute('aria-label', 'Close ' + tab.path);
      close.title = 'Close';
      close.addEventListener('click', (e) => { e.stopPropagation(); this.close(tab.path); });
      el.append(name, dir, close);
      el.addEventListener('click', () => this.activate(tab.path));
      el.addEventListener('auxclick', (e) => { if (e.button === 1) this.close(tab.path); });
      bar.appendChild(el);
      if (tab === this.active) requestAnimationFrame(() => el.scrollIntoView({ block: 'nearest', inline: 'nearest' }));
    }
  }
}
