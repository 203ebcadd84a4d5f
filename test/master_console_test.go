package test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// consoleCall makes one request to the console's REST API and returns the
// status and body.
func consoleCall(t *testing.T, port int, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, fmt.Sprintf("http://127.0.0.1:%d%s", port, path), strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

type consoleWorker struct {
	ID       int   `json:"id"`
	PID      int   `json:"pid"`
	Requests int64 `json:"requests"`
}

func consoleStats(t *testing.T, port int) []consoleWorker {
	t.Helper()
	code, body := consoleCall(t, port, "GET", "/api/stats", "")
	var doc struct {
		Workers []consoleWorker `json:"workers"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &doc) != nil {
		t.Fatalf("GET /api/stats = %d %q, want 200 and JSON", code, body)
	}
	return doc.Workers
}

// TestMasterConsole runs the web console in a master with two workers: its
// stats list both workers from their IPC reports, and starting, switching
// and stopping the program from the console applies to every worker,
// including one restarted after a crash.
func TestMasterConsole(t *testing.T) {
	portA, portB, gui := freePort(t), freePort(t), freePort(t)
	for portB == portA {
		portB = freePort(t)
	}
	for gui == portA || gui == portB {
		gui = freePort(t)
	}
	script := writeScript(t, "console_a.js", strings.ReplaceAll(masterHitScript, "'ok'", "'A'"), portA)
	root := filepath.Dir(script)
	if err := os.MkdirAll(filepath.Join(root, "b"), 0o755); err != nil {
		t.Fatal(err)
	}
	textB := strings.ReplaceAll(strings.ReplaceAll(masterHitScript, "'ok'", "'B'"), "PORT", fmt.Sprint(portB))
	if err := os.WriteFile(filepath.Join(root, "b", "b.js"), []byte(textB), 0o644); err != nil {
		t.Fatal(err)
	}
	requirePortsFree(t, portA, portB, gui)
	p := startMaster(t, masterOpts{script: script, args: []string{"--spawn=2", fmt.Sprintf("--gui-port=%d", gui)}})
	waitMasterReady(t, p, 0, 2, 0, 20*time.Second)
	p.waitForLine(fmt.Sprintf("[listener] Listening on 127.0.0.1:%d", gui), 5*time.Second)

	if code, body := consoleCall(t, gui, "GET", "/api/program", ""); code != 200 || body != "/console_a.js" {
		t.Fatalf("GET /api/program = %d %q, want 200 \"/console_a.js\"", code, body)
	}
	getMany(t, portA, 8, "A")

	// Stats: both workers, from the master's IPC view (pushed every second).
	deadline := time.Now().Add(5 * time.Second)
	var ws []consoleWorker
	for {
		ws = consoleStats(t, gui)
		var sum int64
		for _, w := range ws {
			sum += w.Requests
		}
		if len(ws) == 2 && sum == 8 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(ws) != 2 || ws[0].PID == ws[1].PID || ws[0].PID == p.cmd.Process.Pid {
		t.Fatalf("/api/stats workers = %+v, want two distinct worker processes", ws)
	}
	if s := ws[0].Requests + ws[1].Requests; s != 8 {
		t.Errorf("/api/stats requests summed = %d, want 8 (%+v)", s, ws)
	}

	// Switch every worker to another module of the root.
	if code, body := consoleCall(t, gui, "POST", "/api/program", "/b/b.js"); code != 201 {
		t.Fatalf("POST /api/program /b/b.js = %d %q, want 201", code, body)
	}
	getUntil(t, portB, "B", 8, 10*time.Second)
	if refused, err := dialRefused(portA, 5*time.Second); !refused {
		t.Errorf("port %d of the previous program still accepts connections (%v)", portA, err)
	}
	if _, body := consoleCall(t, gui, "GET", "/api/config", ""); !strings.Contains(body, `"/b/b.js"`) {
		t.Errorf("GET /api/config = %s, want the graph of /b/b.js", body)
	}

	// A module that does not load is refused; the program stays.
	if code, _ := consoleCall(t, gui, "POST", "/api/program", "/nope.js"); code != 400 {
		t.Errorf("POST /api/program /nope.js = %d, want 400", code)
	}
	if _, body := consoleCall(t, gui, "GET", "/api/program", ""); body != "/b/b.js" {
		t.Errorf("after a failed start GET /api/program = %q, want /b/b.js", body)
	}
	p.waitForLine("Failed starting script: /nope.js", 5*time.Second)

	// A worker killed now comes back running /b/b.js, not the script it
	// was first started with.
	before := waitWorkers(t, p.cmd.Process.Pid, 2, 5*time.Second)
	syscall.Kill(before[1], syscall.SIGKILL)
	after := waitWorkers(t, p.cmd.Process.Pid, 2, 10*time.Second)
	for after[1] == before[1] {
		time.Sleep(20 * time.Millisecond)
		after = waitWorkers(t, p.cmd.Process.Pid, 2, 10*time.Second)
	}
	getUntil(t, portB, "B", 16, 10*time.Second)
	if refused, _ := dialRefused(portA, 2*time.Second); !refused {
		t.Errorf("the restarted worker serves port %d of the first script", portA)
	}

	// Stop: every worker closes its listeners; the master keeps running.
	if code, _ := consoleCall(t, gui, "DELETE", "/api/program", ""); code != 204 {
		t.Fatalf("DELETE /api/program = %d, want 204", code)
	}
	if refused, err := dialRefused(portB, 5*time.Second); !refused {
		t.Errorf("port %d still accepts connections after DELETE /api/program (%v)", portB, err)
	}
	if _, body := consoleCall(t, gui, "GET", "/api/program", ""); body != "" {
		t.Errorf("after DELETE GET /api/program = %q, want empty", body)
	}
	deadline = time.Now().Add(5 * time.Second)
	for len(consoleStats(t, gui)) != 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if ws := consoleStats(t, gui); len(ws) != 2 {
		t.Errorf("after DELETE /api/stats has %d workers, want the 2 idle workers", len(ws))
	}
	// And start again.
	if code, _ := consoleCall(t, gui, "POST", "/api/program", "/console_a.js"); code != 201 {
		t.Fatalf("POST /api/program /console_a.js = %d, want 201", code)
	}
	getUntil(t, portA, "A", 8, 10*time.Second)
}

// TestConsoleSingleProcess: without --spawn the console works through the
// same master: its stats list the one worker (this process, counted at
// once), and starting, switching and stopping programs work as with
// workers.
func TestConsoleSingleProcess(t *testing.T) {
	portA, portB, gui := freePort(t), freePort(t), freePort(t)
	for portB == portA {
		portB = freePort(t)
	}
	for gui == portA || gui == portB {
		gui = freePort(t)
	}
	script := writeScript(t, "single_console_a.js", strings.ReplaceAll(masterHitScript, "'ok'", "'A'"), portA)
	root := filepath.Dir(script)
	if err := os.MkdirAll(filepath.Join(root, "b"), 0o755); err != nil {
		t.Fatal(err)
	}
	textB := strings.ReplaceAll(strings.ReplaceAll(masterHitScript, "'ok'", "'B'"), "PORT", fmt.Sprint(portB))
	if err := os.WriteFile(filepath.Join(root, "b", "b.js"), []byte(textB), 0o644); err != nil {
		t.Fatal(err)
	}
	requirePortsFree(t, portA, portB, gui)
	p := startMaster(t, masterOpts{script: script, args: []string{fmt.Sprintf("--gui-port=%d", gui)}})
	waitMasterReady(t, p, 0, 1, 0, 20*time.Second)
	p.waitForLine(fmt.Sprintf("[listener] Listening on 127.0.0.1:%d", gui), 5*time.Second)

	if code, body := consoleCall(t, gui, "GET", "/api/program", ""); code != 200 || body != "/single_console_a.js" {
		t.Fatalf("GET /api/program = %d %q, want 200 \"/single_console_a.js\"", code, body)
	}
	getMany(t, portA, 5, "A")
	if ws := consoleStats(t, gui); len(ws) != 1 || ws[0].PID != p.cmd.Process.Pid || ws[0].Requests != 5 {
		t.Errorf("/api/stats workers = %+v, want this process (pid %d) with 5 requests", ws, p.cmd.Process.Pid)
	}

	if code, body := consoleCall(t, gui, "POST", "/api/program", "/b/b.js"); code != 201 {
		t.Fatalf("POST /api/program /b/b.js = %d %q, want 201", code, body)
	}
	getUntil(t, portB, "B", 5, 5*time.Second)
	if refused, err := dialRefused(portA, 5*time.Second); !refused {
		t.Errorf("port %d of the previous program still accepts connections (%v)", portA, err)
	}
	if code, _ := consoleCall(t, gui, "POST", "/api/program", "/nope.js"); code != 400 {
		t.Errorf("POST /api/program /nope.js = %d, want 400", code)
	}
	if _, body := consoleCall(t, gui, "GET", "/api/program", ""); body != "/b/b.js" {
		t.Errorf("after a failed start GET /api/program = %q, want /b/b.js", body)
	}
	if code, _ := consoleCall(t, gui, "DELETE", "/api/program", ""); code != 204 {
		t.Fatalf("DELETE /api/program = %d, want 204", code)
	}
	if refused, err := dialRefused(portB, 5*time.Second); !refused {
		t.Errorf("port %d still accepts connections after DELETE /api/program (%v)", portB, err)
	}
	if _, body := consoleCall(t, gui, "GET", "/api/program", ""); body != "" {
		t.Errorf("after DELETE GET /api/program = %q, want empty", body)
	}
	p.stopOK()
}
