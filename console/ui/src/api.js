// REST client for the console API (spec/console.md §2). Every function
// resolves with the parsed body or throws an HttpError naming what failed.

export class HttpError extends Error {
  constructor(what, status, body) {
    super(`${what}: ${status ? `HTTP ${status}` : 'network error'}${body ? ` (${body})` : ''}`);
    this.status = status;
    this.body = body;
  }
}

// Paths in the UI look like "/002-hello/pipy.js"; each segment is encoded.
export function filesURL(path) {
  return '/api/files' + path.split('/').map(encodeURIComponent).join('/');
}

async function request(what, url, init, okStatuses) {
  let res;
  try {
    res = await fetch(url, { cache: 'no-store', ...init });
  } catch (e) {
    throw new HttpError(what, 0, e.message);
  }
  if (!okStatuses.includes(res.status)) {
    let body = '';
    try { body = (await res.text()).slice(0, 300); } catch { /* ignore */ }
    // /api/graph answers {"error": msg}
    try { body = JSON.parse(body).error || body; } catch { /* not JSON */ }
    throw new HttpError(what, res.status, body);
  }
  return res;
}

export async function listFiles() {
  const res = await request('List files', '/api/files', {}, [200]);
  return res.json();
}

export async function readFile(path) {
  const res = await request(`Open ${path}`, filesURL(path), {}, [200]);
  return res.text();
}

export async function writeFile(path, text) {
  await request(`Save ${path}`, filesURL(path), {
    method: 'POST',
    headers: { 'content-type': 'text/plain; charset=utf-8' },
    body: text,
  }, [200, 201, 204]);
}

export async function deleteFile(path) {
  await request(`Delete ${path}`, filesURL(path), { method: 'DELETE' }, [200, 204]);
}

export async function getProgram() {
  const res = await request('Get program', '/api/program', {}, [200]);
  return (await res.text()).trim();
}

export async function startProgram(path) {
  await request(`Start ${path}`, '/api/program', {
    method: 'POST',
    headers: { 'content-type': 'text/plain; charset=utf-8' },
    body: path,
  }, [200, 201, 204]);
}

export async function stopProgram() {
  await request('Stop program', '/api/program', { method: 'DELETE' }, [200, 204]);
}

export async function getConfig() {
  const res = await request('Get configuration', '/api/config', {}, [200]);
  return res.json();
}

// Resolves with {graph} or {error} (a 400 from the parser is not an exception).
export async function staticGraph(source, signal) {
  let res;
  try {
    res = await fetch('/api/graph', {
      method: 'POST',
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      body: source,
      signal,
    });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new HttpError('Graph', 0, e.message);
  }
  if (res.status === 400) {
    let error = 'syntax error';
    try { error = (await res.json()).error || error; } catch { /* keep default */ }
    return { error };
  }
  if (res.status !== 200) throw new HttpError('Graph', res.status, '');
  return { graph: await res.json() };
}

// GET /api/log: returns {size, lines} where size is the server's total line count.
export async function getLog(have) {
  const res = await request('Log', '/api/log', { headers: { 'x-log-size': String(have) } }, [200]);
  const size = parseInt(res.headers.get('x-log-size') || '0', 10) || 0;
  const text = await res.text();
  const lines = text === '' ? [] : text.replace(/\n$/, '').split('\n');
  return { size, lines };
}

export async function getStats() {
  const res = await request('Stats', '/api/stats', {}, [200]);
  return res.json();
}
