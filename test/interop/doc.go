// Package interop holds pipy's interoperability tests: the pipy binary,
// scripted with demuxHttp and muxHttp, against real HTTP/2, gRPC and
// WebSocket peers (h2spec, curl, grpc-go, coder/websocket, h2load, dubbo-go-hessian2), and the
// end-to-end tests of the examples test/017-http2-proxy and
// test/018-grpc-proxy.
//
// It is a module of its own (github.com/pipy-go/pipy/test/interop), so that
// the test-only dependencies (grpc-go, h2spec, a WebSocket library) stay out
// of the requirements of the pipy binary's module. `go test ./...` at the
// repository root therefore skips it; `make test` runs it from its directory
// with PIPY_BIN set to the bin/pipy it just built:
//
//	cd test/interop && PIPY_BIN=$PWD/../../bin/pipy go test -count=1 ./...
//
// Without PIPY_BIN, TestMain builds ../../cmd/pipy into a temporary
// directory (a plain `go build`, no console UI step). Every test starts its
// own pipy on free loopback ports and waits for its "Listening on" lines;
// h2load is run when it is installed (Debian's nghttp2-client; .ci/run
// installs it) and skipped with a message otherwise.
package interop
