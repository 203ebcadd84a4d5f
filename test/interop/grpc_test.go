package interop

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/interop"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// testService is grpc-go's interop TestService (interop.NewTestServer) with
// three additions for these tests:
//   - UnaryCall echoes the request's payload bytes when the request asks for
//     a response of exactly that size (the interop server answers zeros), so
//     that bytes can be checked end to end;
//   - UnaryCall fills server_id with the backend's id when asked, so that a
//     test can tell which backend answered;
//   - StreamingInputCall reports how each call ended on streamEnds, so that
//     a test can see a cancellation reach the backend through pipy.
type testService struct {
	testgrpc.TestServiceServer
	id         string
	streamEnds chan error
}

func (s *testService) UnaryCall(ctx context.Context, in *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	resp, err := s.TestServiceServer.UnaryCall(ctx, in)
	if err != nil {
		return nil, err
	}
	if p := in.GetPayload().GetBody(); len(p) > 0 && int(in.GetResponseSize()) == len(p) {
		resp.Payload.Body = p
	}
	if in.GetFillServerId() {
		resp.ServerId = s.id
	}
	return resp, nil
}

func (s *testService) StreamingInputCall(stream testgrpc.TestService_StreamingInputCallServer) error {
	err := s.TestServiceServer.StreamingInputCall(stream)
	if err == nil {
		err = stream.Context().Err()
	}
	select {
	case s.streamEnds <- err:
	default:
	}
	return err
}

// grpcBackend is a running grpc-go server with the test service.
type grpcBackend struct {
	port         int
	svc          *testService
	lastDeadline atomic.Int64 // time left (ns) the last unary call arrived with; -1: none
}

// startGRPCBackend starts a grpc-go server with testService on a free
// loopback port (plaintext HTTP/2); it is stopped at cleanup.
func startGRPCBackend(t testing.TB, id string) *grpcBackend {
	t.Helper()
	ln, port := listenLoopback(t)
	b := &grpcBackend{port: port, svc: &testService{
		TestServiceServer: interop.NewTestServer(), id: id, streamEnds: make(chan error, 16),
	}}
	srv := grpc.NewServer(grpc.UnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if d, ok := ctx.Deadline(); ok {
			b.lastDeadline.Store(int64(time.Until(d)))
		} else {
			b.lastDeadline.Store(-1)
		}
		return h(ctx, req)
	}))
	testgrpc.RegisterTestServiceServer(srv, b.svc)
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	return b
}

// dialGRPC returns a client of 127.0.0.1:port, plaintext (h2c) when pool is
// nil and TLS trusting pool otherwise; it is closed at cleanup.
func dialGRPC(t testing.TB, port int, pool *x509.CertPool) *grpc.ClientConn {
	t.Helper()
	creds := insecure.NewCredentials()
	if pool != nil {
		creds = credentials.NewTLS(&tls.Config{RootCAs: pool})
	}
	cc, err := grpc.NewClient(fmt.Sprintf("passthrough:///127.0.0.1:%d", port), grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatalf("grpc.NewClient: %v", err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func callCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	t.Cleanup(cancel)
	return ctx
}

// grpcProxyScript: gRPC through pipy, demuxHttp → muxHttp version 2 →
// connect, on a plain (h2c) and a TLS (h2) port.
const grpcProxyScript = `
pipy()

.listen(PLAIN)
  .demuxHttp('proxy')

.listen(SECURE, {
  tls: {
    cert: os.readFile('cert.pem').toString(),
    key: os.readFile('key.pem').toString(),
  },
})
  .demuxHttp('proxy')

.pipeline('proxy')
  .muxHttp('upstream', { version: 2 })

.pipeline('upstream')
  .connect('127.0.0.1:UPSTREAM')
`

// TestGRPC: a grpc-go client and a grpc-go interop server talk through
// pipy: every kind of call, statuses and metadata in trailers, deadlines,
// cancellation and 50 concurrent calls.
func TestGRPC(t *testing.T) {
	backend := startGRPCBackend(t, "backend")
	dir := tempDir(t)
	pool := writeSelfSignedCert(t, dir)
	plain, secure := freePort(t), freePort(t)
	script := writeScript(t, dir, "pipy.js", grpcProxyScript,
		"PLAIN", itoa(plain), "SECURE", itoa(secure), "UPSTREAM", itoa(backend.port))
	startPipy(t, script, plain, secure)

	t.Run("H2C", func(t *testing.T) {
		grpcCalls(t, dialGRPC(t, plain, nil), backend)
	})
	t.Run("TLS", func(t *testing.T) {
		grpcCalls(t, dialGRPC(t, secure, pool), backend)
	})
}

// grpcCalls runs the gRPC checks on cc, whose calls reach backend.
func grpcCalls(t *testing.T, cc *grpc.ClientConn, backend *grpcBackend) {
	tc := testgrpc.NewTestServiceClient(cc)
	t.Run("EmptyCall", func(t *testing.T) {
		if _, err := tc.EmptyCall(callCtx(t), &testpb.Empty{}); err != nil {
			t.Fatalf("EmptyCall: %v", err)
		}
	})

	t.Run("UnaryCallLarge", func(t *testing.T) {
		// The interop "large_unary" case: 271828 bytes up, 314159 (zeros) down.
		resp, err := tc.UnaryCall(callCtx(t), &testpb.SimpleRequest{
			ResponseSize: 314159,
			Payload:      &testpb.Payload{Body: make([]byte, 271828)},
		})
		if err != nil {
			t.Fatalf("UnaryCall: %v", err)
		}
		if b := resp.GetPayload().GetBody(); len(b) != 314159 || !bytes.Equal(b, make([]byte, 314159)) {
			t.Fatalf("UnaryCall: response payload of %d bytes, want 314159 zero bytes", len(b))
		}
	})

	t.Run("UnaryCallEchoBytes", func(t *testing.T) {
		for _, n := range []int{1, 1000, 70000, 1 << 20} {
			body := randomBytes(n)
			resp, err := tc.UnaryCall(callCtx(t), &testpb.SimpleRequest{
				ResponseSize: int32(n), Payload: &testpb.Payload{Body: body},
			})
			if err != nil {
				t.Fatalf("UnaryCall of %d bytes: %v", n, err)
			}
			if !bytes.Equal(resp.GetPayload().GetBody(), body) {
				t.Fatalf("UnaryCall of %d random bytes: the echoed payload differs (%d bytes back)", n, len(resp.GetPayload().GetBody()))
			}
		}
	})

	t.Run("Metadata", func(t *testing.T) {
		// The interop "custom_metadata" case: the server echoes one key in
		// its headers and a binary one in its trailers.
		const initial, trailing = "test_initial_metadata_value", "\x0a\x0b\x0a\x0b\x0a\x0b"
		ctx := metadata.AppendToOutgoingContext(callCtx(t),
			"x-grpc-test-echo-initial", initial, "x-grpc-test-echo-trailing-bin", trailing)
		var header, trailer metadata.MD
		body := randomBytes(100)
		resp, err := tc.UnaryCall(ctx, &testpb.SimpleRequest{ResponseSize: 100, Payload: &testpb.Payload{Body: body}},
			grpc.Header(&header), grpc.Trailer(&trailer))
		if err != nil {
			t.Fatalf("UnaryCall: %v", err)
		}
		if !bytes.Equal(resp.GetPayload().GetBody(), body) {
			t.Errorf("payload differs")
		}
		if v := header.Get("x-grpc-test-echo-initial"); len(v) != 1 || v[0] != initial {
			t.Errorf("header x-grpc-test-echo-initial = %q, want [%q] (headers %v)", v, initial, header)
		}
		if v := trailer.Get("x-grpc-test-echo-trailing-bin"); len(v) != 1 || v[0] != trailing {
			t.Errorf("trailer x-grpc-test-echo-trailing-bin = %q, want [%q] (trailers %v)", v, trailing, trailer)
		}
	})

	t.Run("ServerStreaming", func(t *testing.T) {
		sizes := []int32{31415, 9, 2653, 58979}
		var params []*testpb.ResponseParameters
		for _, s := range sizes {
			params = append(params, &testpb.ResponseParameters{Size: s})
		}
		stream, err := tc.StreamingOutputCall(callCtx(t), &testpb.StreamingOutputCallRequest{ResponseParameters: params})
		if err != nil {
			t.Fatalf("StreamingOutputCall: %v", err)
		}
		for i, s := range sizes {
			resp, err := stream.Recv()
			if err != nil {
				t.Fatalf("response %d: %v", i, err)
			}
			if n := len(resp.GetPayload().GetBody()); n != int(s) {
				t.Fatalf("response %d: %d bytes, want %d", i, n, s)
			}
		}
		if _, err := stream.Recv(); err != io.EOF {
			t.Fatalf("after the last response: %v, want io.EOF (status OK)", err)
		}
	})

	t.Run("ServerStreamingLargeSlowReader", func(t *testing.T) {
		// 5 MiB down a stream to a reader that pauses: far more than the
		// HTTP/2 windows, so pipy has to hold back the backend (flow control
		// upstream) rather than buffer or reset.
		var params []*testpb.ResponseParameters
		for range 40 {
			params = append(params, &testpb.ResponseParameters{Size: 128 << 10})
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		stream, err := tc.StreamingOutputCall(ctx, &testpb.StreamingOutputCallRequest{ResponseParameters: params})
		if err != nil {
			t.Fatalf("StreamingOutputCall: %v", err)
		}
		for i := range params {
			if i%10 == 1 {
				time.Sleep(200 * time.Millisecond) // the reader falls behind
			}
			resp, err := stream.Recv()
			if err != nil {
				t.Fatalf("response %d of %d: %v", i, len(params), err)
			}
			if n := len(resp.GetPayload().GetBody()); n != 128<<10 {
				t.Fatalf("response %d: %d bytes, want %d", i, n, 128<<10)
			}
		}
		if _, err := stream.Recv(); err != io.EOF {
			t.Fatalf("after the last response: %v, want io.EOF (status OK)", err)
		}
	})

	t.Run("ClientStreamingLarge", func(t *testing.T) {
		// 5 MiB up a stream.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		stream, err := tc.StreamingInputCall(ctx)
		if err != nil {
			t.Fatalf("StreamingInputCall: %v", err)
		}
		for i := range 40 {
			if err := stream.Send(&testpb.StreamingInputCallRequest{Payload: &testpb.Payload{Body: make([]byte, 128<<10)}}); err != nil {
				t.Fatalf("Send %d: %v", i, err)
			}
		}
		resp, err := stream.CloseAndRecv()
		if err != nil {
			t.Fatalf("CloseAndRecv: %v", err)
		}
		if got := resp.GetAggregatedPayloadSize(); got != 40*128<<10 {
			t.Fatalf("aggregated payload size %d, want %d", got, 40*128<<10)
		}
	})

	t.Run("ClientStreaming", func(t *testing.T) {
		stream, err := tc.StreamingInputCall(callCtx(t))
		if err != nil {
			t.Fatalf("StreamingInputCall: %v", err)
		}
		sum := 0
		for _, n := range []int{27182, 8, 1828, 45904} {
			if err := stream.Send(&testpb.StreamingInputCallRequest{Payload: &testpb.Payload{Body: make([]byte, n)}}); err != nil {
				t.Fatalf("Send: %v", err)
			}
			sum += n
		}
		resp, err := stream.CloseAndRecv()
		if err != nil {
			t.Fatalf("CloseAndRecv: %v", err)
		}
		if got := resp.GetAggregatedPayloadSize(); got != int32(sum) {
			t.Fatalf("aggregated payload size %d, want %d", got, sum)
		}
	})

	t.Run("BidiPingPong", func(t *testing.T) {
		stream, err := tc.FullDuplexCall(callCtx(t))
		if err != nil {
			t.Fatalf("FullDuplexCall: %v", err)
		}
		reqSizes, respSizes := []int{27182, 8, 1828, 45904}, []int32{31415, 9, 2653, 58979}
		for i := range reqSizes {
			err := stream.Send(&testpb.StreamingOutputCallRequest{
				ResponseParameters: []*testpb.ResponseParameters{{Size: respSizes[i]}},
				Payload:            &testpb.Payload{Body: make([]byte, reqSizes[i])},
			})
			if err != nil {
				t.Fatalf("Send %d: %v", i, err)
			}
			resp, err := stream.Recv()
			if err != nil {
				t.Fatalf("Recv %d: %v", i, err)
			}
			if n := len(resp.GetPayload().GetBody()); n != int(respSizes[i]) {
				t.Fatalf("response %d: %d bytes, want %d", i, n, respSizes[i])
			}
		}
		if err := stream.CloseSend(); err != nil {
			t.Fatalf("CloseSend: %v", err)
		}
		if _, err := stream.Recv(); err != io.EOF {
			t.Fatalf("after CloseSend: %v, want io.EOF (status OK)", err)
		}
	})

	t.Run("StatusInTrailers", func(t *testing.T) {
		// The interop "status_code_and_message" and "special_status_message"
		// cases: the code and message come back in the trailers (for a unary
		// call, a trailers-only response) and must arrive unchanged.
		for _, msg := range []string{
			"test status message",
			"\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n",
		} {
			_, err := tc.UnaryCall(callCtx(t), &testpb.SimpleRequest{ResponseStatus: &testpb.EchoStatus{Code: 2, Message: msg}})
			if st := status.Convert(err); st.Code() != codes.Unknown || st.Message() != msg {
				t.Errorf("UnaryCall asking for status 2 %q: got %v %q", msg, st.Code(), st.Message())
			}
		}
		// The same from a stream, after a message was sent.
		stream, err := tc.FullDuplexCall(callCtx(t))
		if err != nil {
			t.Fatalf("FullDuplexCall: %v", err)
		}
		stream.Send(&testpb.StreamingOutputCallRequest{ResponseParameters: []*testpb.ResponseParameters{{Size: 10}}})
		if _, err := stream.Recv(); err != nil {
			t.Fatalf("Recv: %v", err)
		}
		stream.Send(&testpb.StreamingOutputCallRequest{ResponseStatus: &testpb.EchoStatus{Code: int32(codes.ResourceExhausted), Message: "enough"}})
		stream.CloseSend()
		_, err = stream.Recv()
		if st := status.Convert(err); st.Code() != codes.ResourceExhausted || st.Message() != "enough" {
			t.Errorf("FullDuplexCall asking for status RESOURCE_EXHAUSTED %q: got %v %q", "enough", st.Code(), st.Message())
		}
	})

	t.Run("UnimplementedMethod", func(t *testing.T) {
		err := cc.Invoke(callCtx(t), "/grpc.testing.TestService/UnimplementedCall", &testpb.Empty{}, &testpb.Empty{})
		if status.Code(err) != codes.Unimplemented {
			t.Errorf("UnimplementedCall: %v, want code Unimplemented", err)
		}
	})

	t.Run("DeadlinePropagated", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := tc.UnaryCall(ctx, &testpb.SimpleRequest{}); err != nil {
			t.Fatalf("UnaryCall: %v", err)
		}
		if left := time.Duration(backend.lastDeadline.Load()); left <= 0 || left > 5*time.Second {
			t.Errorf("the backend saw a deadline %v away (-1ns: none), want one in (0, 5s]: grpc-timeout lost on the way", left)
		}
	})

	t.Run("DeadlineExceeded", func(t *testing.T) {
		// The interop "timeout_on_sleeping_server" idea: the server waits 2 s
		// before answering, the call has 300 ms.
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		stream, err := tc.StreamingOutputCall(ctx, &testpb.StreamingOutputCallRequest{
			ResponseParameters: []*testpb.ResponseParameters{{Size: 1, IntervalUs: 2_000_000}},
		})
		if err == nil {
			_, err = stream.Recv()
		}
		if status.Code(err) != codes.DeadlineExceeded {
			t.Errorf("sleeping call with a 300 ms deadline: %v, want DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 1500*time.Millisecond {
			t.Errorf("DeadlineExceeded after %v, want about 300 ms", d)
		}
		// The connection is still good.
		if _, err := tc.EmptyCall(callCtx(t), &testpb.Empty{}); err != nil {
			t.Errorf("EmptyCall after the deadline: %v", err)
		}
	})

	t.Run("CancelReachesBackend", func(t *testing.T) {
		// A client stream cancelled half-way: the client sees Canceled and
		// the backend's stream ends with an error (pipy passed the reset on)
		// rather than staying open.
		for len(backend.svc.streamEnds) > 0 {
			<-backend.svc.streamEnds
		}
		ctx, cancel := context.WithCancel(context.Background())
		stream, err := tc.StreamingInputCall(ctx)
		if err != nil {
			t.Fatalf("StreamingInputCall: %v", err)
		}
		if err := stream.Send(&testpb.StreamingInputCallRequest{Payload: &testpb.Payload{Body: make([]byte, 10)}}); err != nil {
			t.Fatalf("Send: %v", err)
		}
		cancel()
		if _, err := stream.CloseAndRecv(); status.Code(err) != codes.Canceled {
			t.Errorf("CloseAndRecv after cancel: %v, want Canceled", err)
		}
		select {
		case err := <-backend.svc.streamEnds:
			if err == nil {
				t.Errorf("the backend's stream ended with OK after the client cancelled")
			}
		case <-time.After(5 * time.Second):
			t.Errorf("the backend's stream was still open 5 s after the client cancelled it")
		}
	})

	t.Run("Concurrent50", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan error, 50)
		for i := range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				body := randomBytes(1000 + i*997)
				resp, err := tc.UnaryCall(callCtx(t), &testpb.SimpleRequest{
					ResponseSize: int32(len(body)), Payload: &testpb.Payload{Body: body}, FillServerId: true,
				})
				switch {
				case err != nil:
					errs <- fmt.Errorf("call %d: %v", i, err)
				case !bytes.Equal(resp.GetPayload().GetBody(), body):
					errs <- fmt.Errorf("call %d: echoed payload differs", i)
				case resp.GetServerId() != backend.svc.id:
					errs <- fmt.Errorf("call %d: server_id %q", i, resp.GetServerId())
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
