package interop

import (
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/summerwind/h2spec"
	"github.com/summerwind/h2spec/config"
)

// serveScript answers every request itself through demuxHttp, on a plain
// port (HTTP/1.x and h2c by prior knowledge) and on a TLS port (ALPN h2 or
// http/1.1). The certificate files are next to the script. The body is
// longer than 4 bytes: h2spec's http2/6.9.2/2 needs 5 to make a window
// negative, and skips itself otherwise.
const serveScript = `
pipy()

.listen(PLAIN)
  .demuxHttp('serve')

.listen(SECURE, {
  tls: {
    cert: os.readFile('cert.pem').toString(),
    key: os.readFile('key.pem').toString(),
  },
})
  .demuxHttp('serve')

.pipeline('serve')
  .replaceMessage(
    new Message({ status: 200, headers: { 'content-type': 'text/plain' } }, 'hello from pipy\n')
  )
`

// serveBody is what serveScript answers.
const serveBody = "hello from pipy\n"

// startServe starts serveScript on two free ports and returns them.
func startServe(t *testing.T) (plain, secure int) {
	t.Helper()
	dir := tempDir(t)
	writeSelfSignedCert(t, dir)
	plain, secure = freePort(t), freePort(t)
	script := writeScript(t, dir, "pipy.js", serveScript, "PLAIN", itoa(plain), "SECURE", itoa(secure))
	startPipy(t, script, plain, secure)
	return plain, secure
}

// h2specCases is how many cases h2spec runs by default (without --strict).
const h2specCases = 145

// TestH2spec runs h2spec's default cases against demuxHttp over h2c and
// over TLS (ALPN h2). Every case must pass; a skipped case counts as not
// passed (pipy advertises SETTINGS_MAX_CONCURRENT_STREAMS and answers with
// a body, so none should be skipped).
func TestH2spec(t *testing.T) {
	plain, secure := startServe(t)
	t.Run("h2c", func(t *testing.T) {
		runH2spec(t, &config.Config{Host: "127.0.0.1", Port: plain})
	})
	t.Run("TLS", func(t *testing.T) {
		if p := negotiatedProtocol(t, secure, "h2", "http/1.1"); p != "h2" {
			t.Fatalf("ALPN offering h2 and http/1.1: the server chose %q, want h2", p)
		}
		runH2spec(t, &config.Config{Host: "127.0.0.1", Port: secure, TLS: true, Insecure: true})
	})
}

// h2specResult is one case's result, read back from h2spec's JUnit report.
type h2specResult struct {
	ID, Desc, Outcome, Message string // Outcome: passed, failed, skipped
}

// runH2spec runs h2spec.Run with c (the h2spec command's defaults filled
// in), its report printed to a file instead of stdout, and fails the test
// listing every case that did not pass.
func runH2spec(t *testing.T, c *config.Config) {
	t.Helper()
	dir := t.TempDir()
	c.Path = "/"
	c.Timeout = 2 * time.Second
	c.MaxHeaderLen = 4000
	c.JUnitReport = filepath.Join(dir, "junit.xml")

	// h2spec prints with fmt.Printf: send that to a file for the duration.
	logPath := filepath.Join(dir, "h2spec.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	// h2spec exits the process when it cannot connect at all (pipy died):
	// then this file, left behind, has its last words.
	fmt.Fprintf(os.Stderr, "interop: h2spec against %s:%d (tls=%v) writes its log to %s\n", c.Host, c.Port, c.TLS, logPath)
	stdout := os.Stdout
	os.Stdout = logFile
	start := time.Now()
	ok, runErr := h2spec.Run(c)
	os.Stdout = stdout
	logFile.Close()
	elapsed := time.Since(start)
	log, _ := os.ReadFile(logPath)
	if runErr != nil {
		t.Fatalf("h2spec.Run: %v\n%s", runErr, log)
	}

	results, err := readH2specReport(c.JUnitReport)
	if err != nil {
		t.Fatalf("reading h2spec's report: %v\n%s", err, log)
	}
	var passed, failed, skipped int
	var bad []string
	for _, r := range results {
		switch r.Outcome {
		case "passed":
			passed++
		case "skipped":
			skipped++
			bad = append(bad, fmt.Sprintf("%s (skipped) %s", r.ID, r.Desc))
		default:
			failed++
			bad = append(bad, fmt.Sprintf("%s %s\n      %s", r.ID, r.Desc, strings.ReplaceAll(strings.TrimSpace(r.Message), "\n", "\n      ")))
		}
	}
	t.Logf("h2spec %s:%d (tls=%v): %d cases, %d passed, %d skipped, %d failed in %.1f s",
		c.Host, c.Port, c.TLS, len(results), passed, skipped, failed, elapsed.Seconds())
	if len(results) != h2specCases {
		t.Errorf("h2spec ran %d cases, want the %d default ones", len(results), h2specCases)
	}
	if len(bad) > 0 || !ok {
		t.Errorf("h2spec: %d of %d cases did not pass:\n  %s", len(bad), len(results), strings.Join(bad, "\n  "))
		if testing.Verbose() {
			t.Logf("h2spec output:\n%s", log)
		}
	}
}

// readH2specReport reads h2spec's JUnit report. A case's ID is its group's
// (e.g. http2/5.1.1) and its position in the group, as h2spec numbers it.
func readH2specReport(path string) ([]h2specResult, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var report struct {
		Suites []struct {
			Package string `xml:"package,attr"`
			Cases   []struct {
				Desc    string  `xml:"classname,attr"`
				Failure *string `xml:"failure"`
				Error   *string `xml:"error"`
				Skipped *string `xml:"skipped"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b, &report); err != nil {
		return nil, err
	}
	var out []h2specResult
	for _, s := range report.Suites {
		for i, c := range s.Cases {
			r := h2specResult{ID: fmt.Sprintf("%s/%d", s.Package, i+1), Desc: c.Desc, Outcome: "passed"}
			switch {
			case c.Failure != nil:
				r.Outcome, r.Message = "failed", *c.Failure
			case c.Error != nil:
				r.Outcome, r.Message = "failed", *c.Error
			case c.Skipped != nil:
				r.Outcome = "skipped"
			}
			out = append(out, r)
		}
	}
	return out, nil
}
