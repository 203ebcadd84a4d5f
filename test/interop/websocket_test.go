package interop

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// wsEcho is a WebSocket echo server (coder/websocket): every message comes
// back as it came, text or binary. How each connection ended is sent on
// ends (the close status and reason the client sent, or the error).
type wsEcho struct {
	port int
	ends chan error
}

func startWSEcho(t testing.TB) *wsEcho {
	t.Helper()
	ln, port := listenLoopback(t)
	e := &wsEcho{port: port, ends: make(chan error, 16)}
	srv := &http.Server{
		ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := websocket.Accept(w, r, &websocket.AcceptOptions{CompressionMode: websocket.CompressionContextTakeover})
			if err != nil {
				e.ends <- fmt.Errorf("accept: %w", err)
				return
			}
			defer c.CloseNow()
			c.SetReadLimit(8 << 20)
			ctx := r.Context()
			for {
				typ, data, err := c.Read(ctx)
				if err != nil {
					e.ends <- err
					return
				}
				if err := c.Write(ctx, typ, data); err != nil {
					e.ends <- fmt.Errorf("write: %w", err)
					return
				}
			}
		}),
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return e
}

// TestWebSocket: a coder/websocket client talks to a coder/websocket echo
// server through pipy, in both proxy styles: the 2021 one of the example
// test/019-websocket-proxy (decodeHttpRequest → demux → encodeHttpResponse,
// encodeHttpRequest → connect → decodeHttpResponse upstream) and demuxHttp →
// muxHttp version 1 → connect (testdata/websocket-demuxhttp.js).
func TestWebSocket(t *testing.T) {
	t.Run("DemuxHttp", func(t *testing.T) {
		echo := startWSEcho(t)
		text, err := os.ReadFile("testdata/websocket-demuxhttp.js")
		if err != nil {
			t.Fatal(err)
		}
		port := freePort(t)
		script := writeScript(t, tempDir(t), "pipy.js", string(text), "PORT", itoa(port), "UPSTREAM", itoa(echo.port))
		startPipy(t, script, port)
		wsExchanges(t, port, echo)
	})
	t.Run("Example019", func(t *testing.T) {
		echo := startWSEcho(t)
		port, script := example019(t, echo.port)
		startPipy(t, script, port)
		wsExchanges(t, port, echo)
	})
}

// wsExchanges runs the WebSocket checks through pipy on port to echo, with
// and without permessage-deflate.
func wsExchanges(t *testing.T, port int, echo *wsEcho) {
	for _, mode := range []struct {
		name string
		mode websocket.CompressionMode
	}{
		{"Uncompressed", websocket.CompressionDisabled},
		{"PermessageDeflate", websocket.CompressionContextTakeover},
	} {
		t.Run(mode.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c, resp, err := websocket.Dial(ctx, fmt.Sprintf("ws://127.0.0.1:%d/echo", port),
				&websocket.DialOptions{CompressionMode: mode.mode})
			if err != nil {
				t.Fatalf("WebSocket handshake through pipy: %v (response %+v)", err, resp)
			}
			defer c.CloseNow()
			if resp.StatusCode != http.StatusSwitchingProtocols {
				t.Fatalf("handshake status %d, want 101", resp.StatusCode)
			}
			if ext := resp.Header.Get("Sec-WebSocket-Extensions"); (mode.mode != websocket.CompressionDisabled) != (ext != "") {
				t.Errorf("Sec-WebSocket-Extensions in the 101: %q (compression %s)", ext, mode.name)
			}
			c.SetReadLimit(8 << 20)

			roundTrip := func(typ websocket.MessageType, data []byte) {
				t.Helper()
				if err := c.Write(ctx, typ, data); err != nil {
					t.Fatalf("write %v message of %d bytes: %v", typ, len(data), err)
				}
				gotTyp, got, err := c.Read(ctx)
				if err != nil {
					t.Fatalf("read the echo of a %v message of %d bytes: %v", typ, len(data), err)
				}
				if gotTyp != typ || !bytes.Equal(got, data) {
					t.Fatalf("echo of a %v message of %d bytes: got a %v message of %d bytes, not the same", typ, len(data), gotTyp, len(got))
				}
			}
			roundTrip(websocket.MessageText, []byte("hello, pipy ☺"))
			roundTrip(websocket.MessageBinary, randomBytes(1000))
			roundTrip(websocket.MessageText, []byte{})
			roundTrip(websocket.MessageBinary, randomBytes(1<<20))
			big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB of text
			roundTrip(websocket.MessageText, big)

			// Ten messages in flight at once, then their echoes in order.
			var sent [][]byte
			for i := range 10 {
				m := []byte(fmt.Sprintf("message %d %x", i, randomBytes(i*100)))
				sent = append(sent, m)
				if err := c.Write(ctx, websocket.MessageText, m); err != nil {
					t.Fatalf("write message %d: %v", i, err)
				}
			}
			for i, m := range sent {
				_, got, err := c.Read(ctx)
				if err != nil || !bytes.Equal(got, m) {
					t.Fatalf("echo %d: %q, %v; want %q", i, got, err, m)
				}
			}

			// The close handshake goes through both ways: the server reads the
			// client's status and reason, the client gets the server's close.
			if err := c.Close(websocket.StatusNormalClosure, "bye"); err != nil {
				t.Errorf("close handshake through pipy: %v", err)
			}
			select {
			case err := <-echo.ends:
				var ce websocket.CloseError
				if !errors.As(err, &ce) || ce.Code != websocket.StatusNormalClosure || ce.Reason != "bye" {
					t.Errorf("the echo server's connection ended with %v, want close status 1000 \"bye\"", err)
				}
			case <-time.After(10 * time.Second):
				t.Errorf("the echo server did not see the connection end within 10 s")
			}
		})
	}
}

// example019 copies the example test/019-websocket-proxy with its port
// 6080 and its upstream 127.0.0.1:8080 replaced (the upstream by upstream)
// and returns the listening port and the copied script.
func example019(t *testing.T, upstream int) (int, string) {
	t.Helper()
	port := freePort(t)
	script := copyExample(t, "019-websocket-proxy",
		"listen(6080)", fmt.Sprintf("listen(%d)", port),
		"'127.0.0.1:8080'", fmt.Sprintf("'127.0.0.1:%d'", upstream))
	return port, script
}
