package interop

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sync"
	"testing"

	"github.com/summerwind/h2spec/config"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthgrpc "google.golang.org/grpc/health/grpc_health_v1"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"
)

// 017-http2-proxy: h2c on 6080 and h2 over TLS on 6443, proxied through
// muxHttp version 2 to the script's own mock service on 8080 (demuxHttp),
// which says what it received. The ports are replaced by free ones.
func TestExample017HTTP2Proxy(t *testing.T) {
	requireCurlHTTP2(t)
	plain, secure, service := freePort(t), freePort(t), freePort(t)
	script := copyExample(t, "017-http2-proxy",
		"6080", itoa(plain), "6443", itoa(secure), "8080", itoa(service))
	startPipy(t, script, plain, secure, service)
	cert := filepath.Join(filepath.Dir(script), "cert.pem")
	want := func(method, path string) string {
		return fmt.Sprintf("Hello from service %d: %s %s over HTTP/2.0\n", service, method, path)
	}

	t.Run("H2C", func(t *testing.T) {
		r := parseCurl(t, curl(t, "-i", "--http2-prior-knowledge", fmt.Sprintf("http://127.0.0.1:%d/hello", plain)))
		expectCurl(t, r, "HTTP/2 200", want("GET", "/hello"))
	})
	t.Run("H2OverTLS", func(t *testing.T) {
		// The example's certificate is trusted as it is (not -k): it must
		// name 127.0.0.1 and still be valid.
		r := parseCurl(t, curl(t, "-i", "--http2", "--cacert", cert, fmt.Sprintf("https://127.0.0.1:%d/hello?x=1", secure)))
		expectCurl(t, r, "HTTP/2 200", want("GET", "/hello?x=1"))
	})
	t.Run("HTTP11", func(t *testing.T) {
		r := parseCurl(t, curl(t, "-i", "--http1.1", "-X", "POST", "-d", "x=1", fmt.Sprintf("http://127.0.0.1:%d/form", plain)))
		expectCurl(t, r, "HTTP/1.1 200 OK", want("POST", "/form"))
	})
	t.Run("HTTP11OverTLS", func(t *testing.T) {
		r := parseCurl(t, curl(t, "-i", "--http1.1", "--cacert", cert, fmt.Sprintf("https://localhost:%d/", secure)))
		expectCurl(t, r, "HTTP/1.1 200 OK", want("GET", "/"))
	})
	t.Run("H2spec", func(t *testing.T) {
		// h2spec's default cases against the proxy, whose streams go on
		// upstream through muxHttp.
		runH2spec(t, &config.Config{Host: "127.0.0.1", Port: plain})
		runH2spec(t, &config.Config{Host: "127.0.0.1", Port: secure, TLS: true, Insecure: true})
	})
}

// 018-grpc-proxy: gRPC calls routed by service to two grpc-go backends
// (the interop TestService and grpc-go's health service); a call to any
// other service is answered UNIMPLEMENTED by the script.
func TestExample018GRPCProxy(t *testing.T) {
	tests := startGRPCBackend(t, "test-service")
	ln, healthPort := listenLoopback(t)
	hs := grpc.NewServer()
	healthgrpc.RegisterHealthServer(hs, health.NewServer())
	go hs.Serve(ln)
	t.Cleanup(hs.Stop)

	port := freePort(t)
	script := copyExample(t, "018-grpc-proxy",
		"6080", itoa(port), "8081", itoa(tests.port), "8082", itoa(healthPort))
	startPipy(t, script, port)
	cc := dialGRPC(t, port, nil)
	tc := testgrpc.NewTestServiceClient(cc)
	hc := healthgrpc.NewHealthClient(cc)

	t.Run("TestService", func(t *testing.T) {
		body := randomBytes(100000)
		resp, err := tc.UnaryCall(callCtx(t), &testpb.SimpleRequest{
			ResponseSize: int32(len(body)), Payload: &testpb.Payload{Body: body}, FillServerId: true,
		})
		if err != nil {
			t.Fatalf("UnaryCall: %v", err)
		}
		if resp.GetServerId() != "test-service" || !bytes.Equal(resp.GetPayload().GetBody(), body) {
			t.Errorf("UnaryCall answered by %q, payload intact: %v", resp.GetServerId(), bytes.Equal(resp.GetPayload().GetBody(), body))
		}
		_, err = tc.UnaryCall(callCtx(t), &testpb.SimpleRequest{ResponseStatus: &testpb.EchoStatus{Code: int32(codes.NotFound), Message: "nope"}})
		if st := status.Convert(err); st.Code() != codes.NotFound || st.Message() != "nope" {
			t.Errorf("status in trailers: %v %q, want NotFound \"nope\"", st.Code(), st.Message())
		}
	})
	t.Run("TestServiceStreams", func(t *testing.T) {
		stream, err := tc.FullDuplexCall(callCtx(t))
		if err != nil {
			t.Fatalf("FullDuplexCall: %v", err)
		}
		for i, size := range []int32{10, 100000, 1} {
			if err := stream.Send(&testpb.StreamingOutputCallRequest{ResponseParameters: []*testpb.ResponseParameters{{Size: size}}}); err != nil {
				t.Fatalf("Send %d: %v", i, err)
			}
			resp, err := stream.Recv()
			if err != nil || len(resp.GetPayload().GetBody()) != int(size) {
				t.Fatalf("Recv %d: %v (want %d bytes)", i, err, size)
			}
		}
		stream.CloseSend()
		if _, err := stream.Recv(); err != io.EOF {
			t.Fatalf("Recv after CloseSend: %v, want io.EOF (status OK)", err)
		}
	})
	t.Run("Health", func(t *testing.T) {
		resp, err := hc.Check(callCtx(t), &healthpb.HealthCheckRequest{})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("Health.Check: %v, %v; want SERVING", resp, err)
		}
		_, err = hc.Check(callCtx(t), &healthpb.HealthCheckRequest{Service: "no.such.Service"})
		if status.Code(err) != codes.NotFound {
			t.Errorf("Health.Check of an unknown service: %v, want NotFound from the health server", err)
		}
		w, err := hc.Watch(callCtx(t), &healthpb.HealthCheckRequest{})
		if err != nil {
			t.Fatalf("Health.Watch: %v", err)
		}
		if resp, err := w.Recv(); err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("Health.Watch first update: %v, %v; want SERVING", resp, err)
		}
	})
	t.Run("UnknownService", func(t *testing.T) {
		_, err := testgrpc.NewUnimplementedServiceClient(cc).UnimplementedCall(callCtx(t), &testpb.Empty{})
		want := "no upstream for /grpc.testing.UnimplementedService/UnimplementedCall"
		if st := status.Convert(err); st.Code() != codes.Unimplemented || st.Message() != want {
			t.Errorf("call to an unrouted service: %v %q, want Unimplemented %q (the script's answer)", st.Code(), st.Message(), want)
		}
	})
	t.Run("Concurrent", func(t *testing.T) {
		// 50 calls at once, half to each backend, over one client connection.
		var wg sync.WaitGroup
		errs := make(chan error, 50)
		for i := range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx := callCtx(t)
				if i%2 == 0 {
					body := randomBytes(1000 + i)
					resp, err := tc.UnaryCall(ctx, &testpb.SimpleRequest{ResponseSize: int32(len(body)), Payload: &testpb.Payload{Body: body}})
					if err != nil || !bytes.Equal(resp.GetPayload().GetBody(), body) {
						errs <- fmt.Errorf("UnaryCall %d: %v", i, err)
					}
					return
				}
				if resp, err := hc.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
					errs <- fmt.Errorf("Check %d: %v %v", i, resp, err)
				}
			}()
		}
		wg.Wait()
		close(errs)
		var all []error
		for err := range errs {
			all = append(all, err)
		}
		if len(all) > 0 {
			t.Errorf("%d of 50 concurrent calls failed:\n%v", len(all), errors.Join(all...))
		}
	})
}
