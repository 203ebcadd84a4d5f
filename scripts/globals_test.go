package scripts_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConsoleLogSplitsLines(t *testing.T) {
	h := newHarness(t)
	h.mustLoad(`console.log('a\nb');
console.log('x', 1, true, null, undefined, {});
console.log();
pipy()`)
	lines := h.logLines()
	want := []string{"[pjs] a", "[pjs] b", "[pjs] x 1 true null undefined [object Object]", "[pjs] "}
	if len(lines) != len(want) {
		t.Fatalf("log lines %q, want %q", lines, want)
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("line %d: %q, want %q", i, lines[i], want[i])
		}
	}
	for _, l := range strings.Split(strings.TrimSpace(h.log.String()), "\n")[:3] {
		if !strings.HasPrefix(l, "[INFO]") {
			t.Errorf("console.log line %q not at info level", l)
		}
	}
}

func TestConsoleLevels(t *testing.T) {
	h := newHarness(t)
	h.mustLoad(`console.info('i'); console.debug('d'); console.warn('w'); console.error('e'); pipy()`)
	raw := strings.Split(strings.TrimSpace(h.log.String()), "\n")
	want := []string{"[INFO]  [pjs] i", "[DEBUG] [pjs] d", "[WARN]  [pjs] w", "[ERROR] [pjs] e"}
	if len(raw) != len(want) {
		t.Fatalf("log %q", raw)
	}
	for i := range want {
		if raw[i] != want[i] {
			t.Errorf("line %d: %q, want %q", i, raw[i], want[i])
		}
	}
}

func TestConsoleLogInCallback(t *testing.T) {
	h := newHarness(t)
	prog := h.mustLoad(`pipy({_n: 41})
.pipeline('p')
  .onMessageStart(() => console.log('n is', _n + 1))
`)
	h.runMessage(prog, "p", nil)
	if !h.hasLogLine("[pjs] n is 42") {
		t.Errorf("log %q", h.logLines())
	}
}

func TestOSReadFileMissing(t *testing.T) {
	h := newHarness(t)
	got := h.results(`t('missing', () => os.readFile('no/such/file.txt'));`)
	checkResults(t, got, map[string]any{"missing": nil})
	if !h.hasLogLine("os.readFile: cannot open file: no/such/file.txt: no such file or directory") {
		t.Errorf("log %q", h.logLines())
	}
	if !strings.HasPrefix(h.log.String(), "[ERROR]") {
		t.Errorf("not logged as an error: %q", h.log.String())
	}
}

func TestOSReadFileRelativeToRoot(t *testing.T) {
	h := newHarness(t)
	h.write("conf/data.txt", "hello")
	abs := h.write("abs.txt", "absolute")
	// Run from another directory: relative paths still resolve against the
	// script's directory.
	t.Chdir(t.TempDir())
	got := h.results(`
t('rel', () => os.readFile('conf/data.txt').toString());
t('dot', () => os.readFile('./conf/data.txt').toString());
t('abs', () => os.readFile(` + "'" + filepath.ToSlash(abs) + "'" + `).toString());
t('isData', () => os.readFile('conf/data.txt') instanceof Data);
t('size', () => os.readFile('conf/data.txt').size);
`)
	checkResults(t, got, map[string]any{"rel": "hello", "dot": "hello", "abs": "absolute", "isData": true, "size": 5})
}

func TestOSWriteFileRoundTrip(t *testing.T) {
	h := newHarness(t)
	got := h.results(`
t('writeStr', () => os.writeFile('out.txt', 'first'));
t('readStr', () => os.readFile('out.txt').toString());
t('writeData', () => os.writeFile('out.txt', new Data('6869', 'hex')));
t('readData', () => os.readFile('out.txt').toString());
t('writeBad', () => os.writeFile('no/such/dir/x.txt', 'x'));
`)
	checkResults(t, got, map[string]any{
		"writeStr":  nil, // undefined exports as nil
		"readStr":   "first",
		"writeData": nil,
		"readData":  "hi",
		"writeBad":  nil,
	})
	b, err := os.ReadFile(filepath.Join(h.dir, "out.txt"))
	if err != nil || string(b) != "hi" {
		t.Errorf("file in root directory: %q %v", b, err)
	}
	if !h.hasLogLine("os.writeFile: cannot open file: no/such/dir/x.txt") {
		t.Errorf("log %q", h.logLines())
	}
}

func TestOSWriteFileReturnValues(t *testing.T) {
	h := newHarness(t)
	got := h.results(`
t('ok', () => os.writeFile('w.txt', 'x') === undefined);
t('fail', () => os.writeFile('no/such/dir/x.txt', 'x') === null);
`)
	checkResults(t, got, map[string]any{"ok": true, "fail": true})
}

func TestOSStat(t *testing.T) {
	h := newHarness(t)
	h.write("f.txt", "12345")
	if err := os.Mkdir(filepath.Join(h.dir, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	got := h.results(`
const s = os.stat('f.txt');
t('isFile', () => s.isFile());
t('isDir', () => s.isDirectory());
t('size', () => s.size);
t('mtime', () => Math.abs(s.mtime - Date.now() / 1000) < 3600);
t('numbers', () => ['dev', 'ino', 'mode', 'nlink', 'uid', 'gid', 'rdev', 'size', 'blksize', 'blocks', 'atime', 'mtime', 'ctime']
  .filter(k => typeof s[k] !== 'number').join(','));
t('methods', () => ['isFile', 'isDirectory', 'isCharacterDevice', 'isBlockDevice', 'isFIFO', 'isSymbolicLink', 'isSocket']
  .filter(k => typeof s[k] !== 'function').join(','));
t('dirIsDir', () => os.stat('d').isDirectory());
t('dirIsFile', () => os.stat('d').isFile());
t('missing', () => os.stat('nope'));
t('devNull', () => os.stat('/dev/null').isCharacterDevice());
`)
	checkResults(t, got, map[string]any{
		"isFile":    true,
		"isDir":     false,
		"size":      5,
		"mtime":     true,
		"numbers":   "",
		"methods":   "",
		"dirIsDir":  true,
		"dirIsFile": false,
		"missing":   nil,
		"devNull":   true,
	})
}

func TestOSEnv(t *testing.T) {
	t.Setenv("PIPY_TEST_VAR", "v=1")
	h := newHarness(t)
	got := h.results(`
t('path', () => typeof os.env.PATH === 'string' && os.env.PATH.length > 0);
t('var', () => os.env.PIPY_TEST_VAR);
t('missing', () => os.env.PIPY_SURELY_NOT_SET_12345);
`)
	checkResults(t, got, map[string]any{"path": true, "var": "v=1", "missing": nil})
}

func TestGlobalsPresent(t *testing.T) {
	h := newHarness(t)
	got := h.results(`
t('types', () => ['Object', 'Boolean', 'Number', 'String', 'Array', 'Date', 'RegExp', 'JSON', 'console', 'os',
  'Data', 'Message', 'MessageStart', 'MessageEnd', 'SessionEnd', 'algo', 'pipy', 'Math', 'Map', 'parseInt']
  .filter(n => typeof globalThis[n] === 'undefined').join(','));
t('restart', () => typeof pipy.restart);
`)
	checkResults(t, got, map[string]any{"types": "", "restart": "function"})
}

func TestPipyRestart(t *testing.T) {
	h := newHarness(t)
	calls := 0
	h.env.Restart = func() { calls++ }
	prog := h.mustLoad(`pipy()
.pipeline('p')
  .onMessageStart(() => pipy.restart())
`)
	h.runMessage(prog, "p", nil)
	if calls != 1 {
		t.Errorf("Restart called %d times", calls)
	}
	// Without a Restart hook, restart is a no-op.
	h.env.Restart = nil
	if out := h.runMessage(prog, "p", nil); out.end() != nil {
		t.Errorf("session ended: %v", out.end())
	}
}

func TestPipyOutsideLoading(t *testing.T) {
	h := newHarness(t)
	prog := h.mustLoad(`pipy()
.pipeline('p')
  .onMessageStart(() => pipy())
`)
	out := h.runMessage(prog, "p", nil)
	checkAborted(t, h, out, "pipy() can only be called while a module is loading")
}
