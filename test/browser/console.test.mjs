// Browser tests of the pipy web console (`pipy <dir> --gui-port=...`) in real
// headless Chromium (Debian's /usr/bin/chromium driven by playwright-core).
//
//   PIPY_BIN=/path/to/bin/pipy node --test console.test.mjs
//
// Environment:
//   PIPY_BIN        the pipy binary (required)
//   PIPY_GUI_PORT   port for --gui-port (default: a free port)
//   CHROMIUM_BIN    browser executable (default /usr/bin/chromium)
//   ARTIFACTS_DIR   where screenshots and pipy's output go (default ./artifacts)
//
// The steps run in order and share one browser page and one pipy process; once
// a step fails, the later ones are skipped (they depend on it). Every step
// saves a screenshot (also on failure) and prints its path. README.md has more.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const examplesDir = path.resolve(here, '..'); // <repo>/test
const PIPY_BIN = process.env.PIPY_BIN;
const CHROMIUM_BIN = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const ARTIFACTS = path.resolve(process.env.ARTIFACTS_DIR || path.join(here, 'artifacts'));

// Timeouts (ms). Everything the test waits for is bounded by one of these.
const T = {
  start: 15000,   // pipy's console answering HTTP
  ui: 10000,      // a UI element appearing or changing
  program: 15000, // a started program listening
  stats: 3500,    // the stats panel picking up new requests
  http: 5000,     // one HTTP exchange
  step: 60000,    // one test step as a whole
  kill: 5000,     // pipy exiting after SIGTERM
};

const HELLO = '/002-hello/pipy.js';
const PROXY = '/004-http-proxy/pipy.js';

// ---------------------------------------------------------------------------
// Helpers

function log(...args) {
  console.log('[browser-test]', ...args);
}

// freePorts returns n distinct ports that were free a moment ago on 0.0.0.0.
async function freePorts(n) {
  const servers = [];
  try {
    for (let i = 0; i < n; i++) {
      const srv = net.createServer();
      await new Promise((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(0, '0.0.0.0', resolve);
      });
      servers.push(srv);
    }
    return servers.map((s) => s.address().port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }
}

// httpRequest makes one request on a fresh connection (no keep-alive pool, so
// a stopped listener is noticed) and resolves {status, headers, body}.
function httpRequest(url, { method = 'GET', body, timeout = T.http } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent: false, timeout, headers: { connection: 'close' } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout after ${timeout} ms: ${method} ${url}`)));
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// waitFor polls fn until it returns a truthy value or the time is up; it
// gives up at once if pipy has exited.
async function waitFor(what, fn, timeout) {
  const deadline = Date.now() + timeout;
  let lastErr;
  for (;;) {
    if (pipyExit !== null && pipy) {
      throw new Error(`pipy exited (${pipyExit}) while waiting for ${what}; its output:\n${pipyOut}`);
    }
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeout} ms waiting for ${what}` + (lastErr ? ` (last error: ${lastErr.message})` : ''));
    }
    await sleep(100);
  }
}

const tid = (id) => `[data-testid=${JSON.stringify(id)}]`;

// ---------------------------------------------------------------------------
// Shared state

let workDir;        // temp copy of the examples
let userDataDir;    // fresh Chromium profile
let pipy;           // child process
let pipyOut = '';   // its stdout+stderr
let pipyExit = null;
let context, page;
let guiURL;
let ports;          // {gui, hello, proxy, svcA, svcB}
let expectedHello;  // the 002-hello script after the edit
const pageErrors = [];
let shotNo = 0;
let broken = null;  // name of the first failed step

async function screenshot(name) {
  if (!page) return;
  const file = path.join(ARTIFACTS, `${String(++shotNo).padStart(2, '0')}-${name}.png`);
  try {
    await page.screenshot({ path: file, fullPage: true, timeout: T.ui });
    log(`screenshot: ${file}`);
  } catch (e) {
    log(`screenshot ${file} failed: ${e.message}`);
  }
}

// step runs one ordered test step with a screenshot afterwards; after the
// first failure the remaining steps are skipped.
function step(name, fn) {
  test(name, { timeout: T.step }, async (t) => {
    if (broken) {
      t.skip(`skipped: step "${broken}" failed`);
      return;
    }
    try {
      await fn(t);
    } catch (e) {
      broken = name;
      await screenshot(`${name.replace(/[^a-z0-9]+/gi, '-')}-FAILED`);
      if (pipyExit && !String(e.message).includes('pipy exited')) e.message += `\n(pipy exited: ${pipyExit}; its output:\n${pipyOut})`;
      throw e;
    }
    await screenshot(name.replace(/[^a-z0-9]+/gi, '-'));
  });
}

// Text of an element (textContent, whitespace collapsed).
async function textOf(locator) {
  return ((await locator.textContent({ timeout: T.ui })) || '').replace(/\s+/g, ' ').trim();
}

// ---------------------------------------------------------------------------
// Setup / teardown

step('start pipy and Chromium', async () => {
  assert.ok(PIPY_BIN, 'PIPY_BIN must name the pipy binary');
  assert.ok(fs.existsSync(PIPY_BIN), `PIPY_BIN ${PIPY_BIN} does not exist (run ./build.sh)`);
  assert.ok(fs.existsSync(CHROMIUM_BIN), `${CHROMIUM_BIN} not found: apt-get install -y chromium`);

  await fsp.rm(ARTIFACTS, { recursive: true, force: true });
  await fsp.mkdir(ARTIFACTS, { recursive: true });

  const [gui, hello, proxy, svcA, svcB] = await freePorts(5);
  ports = { gui: Number(process.env.PIPY_GUI_PORT) || gui, hello, proxy, svcA, svcB };
  log('ports:', JSON.stringify(ports));

  // Copy the two example directories, moving their fixed ports to free ones.
  workDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'pipy-console-'));
  const copy = async (name, rewrite) => {
    await fsp.mkdir(path.join(workDir, name));
    for (const f of await fsp.readdir(path.join(examplesDir, name))) {
      const src = path.join(examplesDir, name, f);
      if (!(await fsp.stat(src)).isFile()) continue;
      let text = await fsp.readFile(src, 'utf8');
      if (f === 'pipy.js') text = rewrite(text);
      await fsp.writeFile(path.join(workDir, name, f), text);
    }
  };
  await copy('002-hello', (s) => {
    assert.ok(s.includes('listen(6080)') && s.includes("'Hello!\\n'"), '002-hello/pipy.js changed: update the test');
    const out = s.replace('listen(6080)', `listen(${ports.hello})`);
    expectedHello = out.replace("'Hello!\\n'", "'Hello, browser!\\n'");
    return out;
  });
  await copy('004-http-proxy', (s) => {
    assert.ok(s.includes('listen(6080)') && s.includes('listen(8080)') && s.includes('listen(8081)'), '004-http-proxy/pipy.js changed: update the test');
    return s.replaceAll('6080', String(ports.proxy)).replaceAll('8080', String(ports.svcA)).replaceAll('8081', String(ports.svcB));
  });
  log('work directory:', workDir);

  // Start pipy in directory mode with the console.
  const args = [workDir, `--gui-port=127.0.0.1:${ports.gui}`];
  log('starting:', PIPY_BIN, ...args);
  pipy = spawn(PIPY_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const collect = (d) => { pipyOut += d.toString(); };
  pipy.stdout.on('data', collect);
  pipy.stderr.on('data', collect);
  pipy.on('exit', (code, sig) => { pipyExit = `code ${code}, signal ${sig}`; });
  pipy.on('error', (e) => { pipyExit = `spawn error: ${e.message}`; });

  guiURL = `http://127.0.0.1:${ports.gui}/`;
  await waitFor(`the console at ${guiURL}`, async () => {
    const r = await httpRequest(guiURL, { timeout: 1000 });
    return r.status === 200;
  }, T.start).catch((e) => {
    throw pipyExit ? e : new Error(`${e.message}\npipy output so far:\n${pipyOut}`);
  });

  userDataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'pipy-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_BIN,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1440, height: 900 },
    timeout: 30000,
  });
  context.setDefaultTimeout(T.ui);
  page = context.pages()[0] || (await context.newPage());
  page.on('pageerror', (e) => { pageErrors.push(String(e && e.stack || e)); log('page error:', String(e)); });
  page.on('console', (m) => { if (m.type() === 'error') log('browser console error:', m.text()); });
});

after(async () => {
  if (context) await context.close().catch((e) => log('closing browser:', e.message));
  if (pipy && pipyExit === null) {
    const exited = (ms) => new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      pipy.once('exit', () => { clearTimeout(timer); resolve(true); });
    });
    const done = exited(T.kill);
    pipy.kill('SIGTERM');
    if (!(await done)) {
      log(`pipy did not exit within ${T.kill} ms of SIGTERM, killing it`);
      const dead = exited(T.kill);
      pipy.kill('SIGKILL');
      await dead;
    }
  }
  if (ARTIFACTS) {
    const f = path.join(ARTIFACTS, 'pipy-output.log');
    await fsp.writeFile(f, pipyOut).catch(() => {});
    log(`pipy output: ${f}`);
  }
  if (userDataDir) await fsp.rm(userDataDir, { recursive: true, force: true }).catch(() => {});
  if (workDir) {
    if (broken) log(`kept the work directory for inspection: ${workDir}`);
    else await fsp.rm(workDir, { recursive: true, force: true }).catch(() => {});
  }
});

// ---------------------------------------------------------------------------
// Steps

step('console loads', async () => {
  await page.goto(guiURL, { waitUntil: 'load', timeout: T.ui });
  try {
    await page.locator(tid('file-tree')).waitFor({ state: 'visible', timeout: T.ui });
  } catch {
    const body = ((await page.locator('body').textContent().catch(() => '')) || '').replace(/\s+/g, ' ').trim();
    if (/build/i.test(body) && !(await page.locator(tid('editor')).count())) {
      assert.fail(`the console UI bundle is not built into ${PIPY_BIN} (run ./build.sh); the page says: ${body.slice(0, 300)}`);
    }
    assert.fail(`the console page has no ${tid('file-tree')}; the page says: ${body.slice(0, 300)}`);
  }
  for (const id of ['editor', 'save', 'run', 'reload', 'stop', 'program', 'graph', 'log', 'stats']) {
    assert.equal(await page.locator(tid(id)).count(), 1, `expected exactly one ${tid(id)} on the page`);
  }
  assert.equal(await textOf(page.locator(tid('program'))), '', 'directory mode: no program should run before one is started');
});

step('open a file from the tree', async () => {
  const file = page.locator(tid(`file:${HELLO}`));
  if (!(await file.isVisible())) await page.locator(tid('dir:/002-hello')).click();
  await file.click();
  await page.locator(tid(`tab:${HELLO}`)).waitFor({ state: 'visible' });
  const content = page.locator(`${tid('editor')} .cm-content`);
  await waitFor('the editor to show 002-hello/pipy.js', async () => {
    const text = await content.textContent();
    return text.includes("new Message('Hello!\\n')") && text.includes(`.listen(${ports.hello})`);
  }, T.ui);
  assert.ok(!(await page.locator(tid(`tab:${HELLO}`)).evaluate((el) => el.classList.contains('dirty'))), 'a freshly opened file must not be dirty');
});

step('edit the file in CodeMirror', async () => {
  // Put the caret between "Hello" and "!" like a user would: click the line,
  // press End, walk left, then type.
  const line = page.locator(`${tid('editor')} .cm-line`, { hasText: 'Hello!' });
  assert.equal(await line.count(), 1, 'one editor line should contain Hello!');
  const lineText = await line.textContent();
  const caret = lineText.indexOf('Hello!') + 'Hello'.length;
  await line.click();
  await page.keyboard.press('End');
  for (let i = 0; i < lineText.length - caret; i++) await page.keyboard.press('ArrowLeft');
  await page.keyboard.type(', browser');
  await waitFor('the edit to show in the editor', async () =>
    (await page.locator(`${tid('editor')} .cm-content`).textContent()).includes("new Message('Hello, browser!\\n')"), T.ui);
  await waitFor(`${tid(`tab:${HELLO}`)} to be marked dirty`, () =>
    page.locator(tid(`tab:${HELLO}`)).evaluate((el) => el.classList.contains('dirty')), T.ui);
});

step('save writes the file', async () => {
  await page.locator(tid('save')).click();
  await waitFor(`${tid(`tab:${HELLO}`)} to lose its dirty mark after saving`, async () =>
    !(await page.locator(tid(`tab:${HELLO}`)).evaluate((el) => el.classList.contains('dirty'))), T.ui);
  const r = await httpRequest(`${guiURL}api/files${HELLO}`);
  assert.equal(r.status, 200, `GET /api/files${HELLO}`);
  assert.equal(r.body, expectedHello, 'the saved file should be the original with Hello! changed to Hello, browser!');
  const onDisk = await fsp.readFile(path.join(workDir, HELLO), 'utf8');
  assert.equal(onDisk, expectedHello, 'the file on disk');
});

step('run starts the program', async () => {
  await page.locator(tid('run')).click();
  await waitFor(`${tid('program')} to show ${HELLO}`, async () =>
    (await textOf(page.locator(tid('program')))).includes(HELLO), T.program);
  const want = `Listening on 0.0.0.0:${ports.hello}`;
  await waitFor(`a log line containing "${want}"`, async () =>
    (await page.locator(`${tid('log')} .log-line`, { hasText: want }).count()) > 0, T.program);
  const r = await httpRequest(`http://127.0.0.1:${ports.hello}/`);
  assert.equal(r.status, 200);
  assert.equal(r.body, 'Hello, browser!\n', 'the running program answers with the edited text');
  const api = await httpRequest(`${guiURL}api/program`);
  assert.equal(api.body.trim(), HELLO, 'GET /api/program');
});

step('graph of the proxy example', async () => {
  const file = page.locator(tid(`file:${PROXY}`));
  if (!(await file.isVisible())) await page.locator(tid('dir:/004-http-proxy')).click();
  await file.click();
  await page.locator(tid(`tab:${PROXY}`)).waitFor({ state: 'visible' });
  const graph = page.locator(tid('graph'));
  assert.equal(await graph.evaluate((el) => el.tagName.toLowerCase()), 'svg', `${tid('graph')} should be an SVG element`);
  for (const name of ['routing', 'pass', '404', `Listen 0.0.0.0:${ports.proxy}`, `Listen 0.0.0.0:${ports.svcA}`, `Listen 0.0.0.0:${ports.svcB}`]) {
    await graph.locator(tid(`pipeline:${name}`)).first().waitFor({ state: 'visible', timeout: T.ui })
      .catch(() => assert.fail(`the graph has no visible ${tid(`pipeline:${name}`)}`));
  }
  // The boxes of 002-hello (the previous file) must be gone.
  assert.equal(await graph.locator(tid(`pipeline:Listen 0.0.0.0:${ports.hello}`)).count(), 0, 'graph still shows the previous file');
});

step('stats panel updates', async () => {
  const rows = page.locator(`${tid('stats')} [data-testid^="worker:"]`);
  await rows.first().waitFor({ state: 'visible' });
  const n = await rows.count();
  for (let i = 0; i < n; i++) {
    for (const f of ['requestsPerSec', 'connections', 'memory', 'requests']) {
      const cell = rows.nth(i).locator(`[data-field="${f}"]`);
      assert.equal(await cell.count(), 1, `worker row ${i} should have one [data-field="${f}"] cell`);
      assert.notEqual(await textOf(cell), '', `worker row ${i}: [data-field="${f}"] is empty`);
    }
  }
  const total = async () => {
    let sum = 0;
    for (let i = 0; i < (await rows.count()); i++) {
      const s = (await textOf(rows.nth(i).locator('[data-field="requests"]'))).replace(/[^0-9]/g, '');
      assert.ok(s !== '', `worker row ${i}: [data-field="requests"] is not a number`);
      sum += Number(s);
    }
    return sum;
  };
  const before = await total();
  for (let i = 0; i < 5; i++) {
    const r = await httpRequest(`http://127.0.0.1:${ports.hello}/`);
    assert.equal(r.body, 'Hello, browser!\n');
  }
  let now = before;
  await waitFor(`the requests cell to grow past ${before} (5 requests sent)`, async () => (now = await total()) > before, T.stats);
  log(`stats: ${n} worker row(s), requests ${before} -> ${now}`);
});

step('stop ends the program', async () => {
  await page.locator(tid('stop')).click();
  await waitFor(`${tid('program')} to become empty`, async () =>
    (await textOf(page.locator(tid('program')))) === '', T.ui);
  const api = await httpRequest(`${guiURL}api/program`);
  assert.equal(api.body.trim(), '', 'GET /api/program after stop');
  await waitFor(`port ${ports.hello} to stop accepting connections`, async () => {
    try {
      await httpRequest(`http://127.0.0.1:${ports.hello}/`, { timeout: 1000 });
      return false;
    } catch (e) {
      return e.code === 'ECONNREFUSED';
    }
  }, T.ui);
});

step('no uncaught errors in the page', async () => {
  assert.deepEqual(pageErrors, [], 'uncaught exceptions in the console page');
});
