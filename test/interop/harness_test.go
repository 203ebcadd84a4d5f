// The harness: pipy processes and their output, free ports, scripts and
// example copies, a self-signed certificate, curl.

package interop

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	startTimeout = 10 * time.Second // until pipy logs "Listening on" for every port
	callTimeout  = 10 * time.Second // one client exchange (a curl run, an RPC, a WebSocket message)
)

// ---------------------------------------------------------------------------
// Ports

// freePort returns a port that was free a moment ago. pipy's listen() binds
// 0.0.0.0, so that is what is probed.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp4", "0.0.0.0:0")
	if err != nil {
		t.Fatalf("no free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// listenLoopback listens on a free 127.0.0.1 port for a Go peer (a backend
// of pipy); it is closed at cleanup.
func listenLoopback(t testing.TB) (net.Listener, int) {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln, ln.Addr().(*net.TCPAddr).Port
}

// ---------------------------------------------------------------------------
// The pipy process

// pipyProc is a running pipy with its output (stdout and stderr, by line).
type pipyProc struct {
	t    testing.TB
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited and its output is complete

	mu      sync.Mutex
	lines   []string
	partial []byte
	changed chan struct{} // closed (and replaced) when lines grow or the process exits
}

type lineWriter struct{ p *pipyProc }

func (w lineWriter) Write(b []byte) (int, error) {
	p := w.p
	p.mu.Lock()
	defer p.mu.Unlock()
	p.partial = append(p.partial, b...)
	for {
		i := bytes.IndexByte(p.partial, '\n')
		if i < 0 {
			break
		}
		p.lines = append(p.lines, strings.TrimRight(string(p.partial[:i]), "\r"))
		p.partial = p.partial[i+1:]
	}
	close(p.changed)
	p.changed = make(chan struct{})
	return len(b), nil
}

// startPipy runs pipy on script and waits until it listens on every port.
// At cleanup the process group is killed; the output is logged if the test
// failed, and a test whose pipy logged a panic or (built with -race) a data
// race fails.
func startPipy(t testing.TB, script string, ports ...int) *pipyProc {
	t.Helper()
	p := &pipyProc{t: t, done: make(chan struct{}), changed: make(chan struct{})}
	cmd := exec.Command(pipyBinary, script)
	cmd.Dir = filepath.Dir(script)
	cmd.Stdout = lineWriter{p}
	cmd.Stderr = lineWriter{p}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 2 * time.Second
	p.cmd = cmd
	if err := cmd.Start(); err != nil {
		t.Fatalf("cannot start %s: %v", pipyBinary, err)
	}
	go func() {
		_ = cmd.Wait()
		p.mu.Lock()
		if len(p.partial) > 0 {
			p.lines = append(p.lines, string(p.partial))
			p.partial = nil
		}
		close(p.changed)
		p.changed = make(chan struct{})
		p.mu.Unlock()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill()
		out := p.output()
		if strings.Contains(out, "panic") {
			t.Errorf("pipy logged a panic")
		}
		if strings.Contains(out, "DATA RACE") {
			t.Errorf("pipy (a race-built binary) reported a DATA RACE")
		}
		if t.Failed() {
			t.Logf("pipy %s output:\n%s", script, out)
		}
	})
	for _, port := range ports {
		p.waitListening(port)
	}
	return p
}

func (p *pipyProc) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		p.t.Logf("pipy (pid %d) did not exit after SIGKILL", p.cmd.Process.Pid)
	}
}

// output returns everything pipy printed so far.
func (p *pipyProc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines, "\n") + string(p.partial)
}

// waitFor waits for a line satisfying match, failing the test on timeout or
// if pipy exits first.
func (p *pipyProc) waitFor(desc string, match func(string) bool, timeout time.Duration) string {
	p.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	seen := 0
	for {
		p.mu.Lock()
		lines, changed := p.lines[seen:], p.changed
		p.mu.Unlock()
		for _, l := range lines {
			if match(l) {
				return l
			}
		}
		seen += len(lines)
		select {
		case <-changed:
		case <-p.done:
			p.mu.Lock()
			rest := p.lines[seen:]
			p.mu.Unlock()
			for _, l := range rest {
				if match(l) {
					return l
				}
			}
			p.t.Fatalf("pipy exited before logging %s; output:\n%s", desc, p.output())
		case <-deadline.C:
			p.t.Fatalf("timed out after %v waiting for pipy to log %s; output:\n%s", timeout, desc, p.output())
		}
	}
}

// waitListening waits for `[listener] Listening on 0.0.0.0:<port>`.
func (p *pipyProc) waitListening(port int) {
	p.t.Helper()
	want := fmt.Sprintf("[listener] Listening on 0.0.0.0:%d", port)
	p.waitFor(strconv.Quote(want), func(l string) bool {
		return strings.HasSuffix(strings.TrimRight(l, " "), want)
	}, startTimeout)
}

// ---------------------------------------------------------------------------
// Scripts and examples

// writeScript writes text, with each old string of oldNew (old, new, old,
// new...) replaced by the new one, to dir/name and returns its path.
func writeScript(t testing.TB, dir, name, text string, oldNew ...string) string {
	t.Helper()
	text = replaceAll(t, name, text, oldNew...)
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// replaceAll replaces each old string of oldNew by its new one, all at
// once: a new string (a port such as 38080) is never taken for a later old
// one (8080).
func replaceAll(t testing.TB, name, text string, oldNew ...string) string {
	t.Helper()
	var args []string
	for i := 0; i+1 < len(oldNew); i += 2 {
		if !strings.Contains(text, oldNew[i]) {
			t.Fatalf("%s does not contain %q: update the test", name, oldNew[i])
		}
		args = append(args, oldNew[i], oldNew[i+1])
	}
	return strings.NewReplacer(args...).Replace(text)
}

// tempDir returns a fresh temporary directory with symlinks resolved.
func tempDir(t testing.TB) string {
	t.Helper()
	d, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// examplePath returns ../<name>/pipy.js (an example of the main suite),
// failing the test if it does not exist.
func examplePath(t testing.TB, name string) string {
	t.Helper()
	root, err := repoRootDir()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(root, "test", name, "pipy.js")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("example script missing: %v", err)
	}
	return p
}

// copyExample copies the example directory test/<name> into a temporary
// directory, replaces in its pipy.js each old string of oldNew by the new
// one (failing if one is missing, so that a changed example is noticed) and
// returns the copy's pipy.js.
func copyExample(t testing.TB, name string, oldNew ...string) string {
	t.Helper()
	src := filepath.Dir(examplePath(t, name))
	dst := filepath.Join(tempDir(t), name)
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatalf("copying example %s: %v", name, err)
	}
	script := filepath.Join(dst, "pipy.js")
	b, err := os.ReadFile(script)
	if err != nil {
		t.Fatal(err)
	}
	return writeScript(t, dst, "pipy.js", string(b), oldNew...)
}

// itoa is a port's decimal form, for oldNew lists.
func itoa(port int) string { return strconv.Itoa(port) }

// ---------------------------------------------------------------------------
// TLS

// writeSelfSignedCert writes cert.pem and key.pem (ECDSA P-256, valid for
// 127.0.0.1 and localhost for a day) into dir and returns a pool trusting
// the certificate.
func writeSelfSignedCert(t testing.TB, dir string) *x509.CertPool {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "pipy interop test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	if err := os.WriteFile(filepath.Join(dir, "cert.pem"), certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "key.pem"), keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	return pool
}

// negotiatedProtocol connects to 127.0.0.1:port with TLS offering protos
// and returns the protocol the server chose by ALPN.
func negotiatedProtocol(t testing.TB, port int, protos ...string) string {
	t.Helper()
	d := &net.Dialer{Timeout: callTimeout}
	c, err := tls.DialWithDialer(d, "tcp4", fmt.Sprintf("127.0.0.1:%d", port), &tls.Config{
		InsecureSkipVerify: true, NextProtos: protos,
	})
	if err != nil {
		t.Fatalf("TLS handshake with 127.0.0.1:%d offering %q: %v", port, protos, err)
	}
	defer c.Close()
	return c.ConnectionState().NegotiatedProtocol
}

// ---------------------------------------------------------------------------
// curl

// curl runs curl with args (bounded by callTimeout) and returns its stdout;
// it fails the test if curl fails.
func curl(t testing.TB, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	args = append([]string{"-sS", "--max-time", "8"}, args...)
	cmd := exec.CommandContext(ctx, "curl", args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("curl %s: %v\nstderr: %s\nstdout: %q", strings.Join(args, " "), err, stderr.String(), stdout.String())
	}
	return stdout.String()
}

// requireCurlHTTP2 skips unless curl is installed with HTTP/2 support.
func requireCurlHTTP2(t testing.TB) {
	t.Helper()
	out, err := exec.Command("curl", "--version").Output()
	if err != nil {
		t.Skipf("\n*** SKIPPING: curl is not installed (%v); .ci/run installs it", err)
	}
	if !bytes.Contains(out, []byte("HTTP2")) {
		t.Skipf("\n*** SKIPPING: this curl has no HTTP/2 support:\n%s", out)
	}
}

// statusLine returns the first line of a `curl -i` output.
func statusLine(out string) string {
	line, _, _ := strings.Cut(out, "\n")
	return strings.TrimRight(line, "\r ")
}

// bodyOf returns what follows the head of a `curl -i` output.
func bodyOf(out string) string {
	if _, body, ok := strings.Cut(out, "\r\n\r\n"); ok {
		return body
	}
	return ""
}
