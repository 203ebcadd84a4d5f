// File tree of the console root, from GET /api/files: {name: "" | {…}}.
// Folders are listed first, then files, each sorted by name; folders start
// collapsed and toggle on click.

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

export class FileTree {
  // hooks: onOpen(path) for a file click, onSelect(path, isDir).
  constructor(el, hooks) {
    this.el = el;
    this.hooks = hooks;
    this.files = {};
    this.kinds = new Map(); // path → 'file' | 'dir'
    this.expanded = new Set();
    this.selected = null;
    this.program = '';
    this.active = '';
    el.setAttribute('role', 'tree');
    el.addEventListener('keydown', (e) => this.onKey(e));
  }

  setFiles(files) {
    this.files = files && typeof files === 'object' ? files : {};
    this.kinds = new Map();
    const walk = (obj, prefix) => {
      for (const name of Object.keys(obj)) {
        const path = prefix + '/' + name;
        const v = obj[name];
        if (v && typeof v === 'object') {
          this.kinds.set(path, 'dir');
          walk(v, path);
        } else this.kinds.set(path, 'file');
      }
    };
    walk(this.files, '');
    if (this.selected && !this.kinds.has(this.selected)) this.selected = null;
    this.render();
  }

  kind(path) { return this.kinds.get(path) || null; }

  // Expands every folder above path.
  expandTo(path) {
    let i = path.indexOf('/', 1);
    while (i > 0) {
      this.expanded.add(path.slice(0, i));
      i = path.indexOf('/', i + 1);
    }
  }

  select(path, { reveal = false } = {}) {
    this.selected = path;
    if (reveal && path) this.expandTo(path);
    this.render();
    if (reveal) {
      const row = this.row(path);
      if (row) row.scrollIntoView({ block: 'nearest' });
    }
  }

  setProgram(path) { this.program = path || ''; this.render(); }
  setActive(path) { this.active = path || ''; this.render(); }

  // The folder new files are created in: the selected folder, or the selected file's folder.
  baseDir() {
    const s = this.selected;
    if (!s) return '';
    if (this.kind(s) === 'dir') return s;
    return s.slice(0, s.lastIndexOf('/'));
  }

  row(path) {
    for (const r of this.el.children) if (r.dataset.path === path) return r;
    return null;
  }

  render() {
    const el = this.el;
    const focused = el.contains(document.activeElement) ? document.activeElement.dataset.path : null;
    el.textContent = '';
    const add = (obj, prefix, depth) => {
      const names = Object.keys(obj).filter((n) => !n.startsWith('.'));
      const isDir = (n) => obj[n] && typeof obj[n] === 'object';
      names.sort((a, b) => (isDir(b) - isDir(a)) || collator.compare(a, b));
      for (const name of names) {
        const path = prefix + '/' + name;
        const dir = isDir(name);
        const row = document.createElement('div');
        row.className = 'tree-row ' + (dir ? 'dir' : 'file');
        row.dataset.path = path;
        row.setAttribute('data-testid', (dir ? 'dir:' : 'file:') + path);
        row.setAttribute('role', 'treeitem');
        row.setAttribute('aria-level', String(depth + 1));
        row.tabIndex = path === (this.selected || '') ? 0 : -1;
        row.style.setProperty('--depth', depth);
        row.title = path;
        const open = dir && this.expanded.has(path);
        if (dir) {
          row.setAttribute('aria-expanded', String(open));
          if (open) row.classList.add('expanded');
        } else {
          const ext = name.includes('.') ? name.slice(name.lastIndexOf('.') + 1).toLowerCase() : '';
          row.dataset.ext = ext;
        }
        if (path === this.selected) { row.classList.add('selected'); row.setAttribute('aria-selected', 'true'); }
        if (path === this.active) row.classList.add('active');
        if (path === this.program) { row.classList.add('running'); row.title += ' (running)'; }
        const twistie = document.createElement('span');
        twistie.className = 'twistie';
        const icon = document.createElement('span');
        icon.className = 'icon';
        const label = document.createElement('span');
        label.className = 'label';
        label.textContent = name;
        row.append(twistie, icon, label);
        row.addEventListener('click', () => this.click(path, dir));
        el.appendChild(row);
        if (open) add(obj[name], path, depth + 1);
      }
    };
    add(this.files, '', 0);
    if (!this.selected && el.firstChild) el.firstChild.tabIndex = 0;
    if (focused) { const r = this.row(focused); if (r) r.focus(); }
  }

  click(path, dir) {
    if (dir) {
      if (this.expanded.has(path)) this.expanded.delete(path);
      else this.expanded.add(path);
    }
    this.selected = path;
    this.render();
    const r = this.row(path);
    if (r) r.focus({ preventScroll: true });
    this.hooks.onSelect(path, dir);
    if (!dir) this.hooks.onOpen(path);
  }

  onKey(e) {
    const rows = [...this.el.children];
    const cur = rows.indexOf(document.activeElement);
    if (cur < 0) return;
    const row = rows[cur];
    const path = row.dataset.path;
    const dir = row.classList.contains('dir');
    let next = null;
    switch (e.key) {
      case 'ArrowDown': next = rows[cur + 1]; break;
      case 'ArrowUp': next = rows[cur - 1]; break;
      case 'ArrowRight':
        if (dir && !this.expanded.has(path)) { this.click(path, true); e.preventDefault(); return; }
        next = rows[cur + 1];
        break;
      case 'ArrowLeft':
        if (dir && this.expanded.has(path)) { this.click(path, true); e.preventDefault(); return; }
        next = this.row(path.slice(0, path.lastIndexOf('/')));
        break;
      case 'Enter': case ' ':
        this.click(path, dir);
        e.preventDefault();
        return;
      default: return;
    }
    e.preventDefault();
    if (next) {
      for (const r of rows) r.tabIndex = -1;
      next.tabIndex = 0;
      next.focus();
    }
  }
}
