// Package all assembles pipy's standard filter set: importing it (for its
// side effects) registers every filter family with the engine's registry,
// as Caddy's modules/standard does for its modules. cmd/pipy imports it;
// so do the tests of packages that load scripts.
//
// A new filter family is one package under filters/ that calls
// filters.Register in its init, plus one line here.
package all

import (
	_ "github.com/pipy-go/pipy/filters/compress" // decompressMessageBody
	_ "github.com/pipy-go/pipy/filters/connect"  // connect
	_ "github.com/pipy-go/pipy/filters/debug"    // dummy, print, dump
	_ "github.com/pipy-go/pipy/filters/dubbo"    // decodeDubbo, encodeDubbo
	_ "github.com/pipy-go/pipy/filters/exec"     // exec
	_ "github.com/pipy-go/pipy/filters/flow"     // link, fork, demux, mux, use, wait
	_ "github.com/pipy-go/pipy/filters/handlers" // on*, replace*
	_ "github.com/pipy-go/pipy/filters/http"     // decodeHttp*, encodeHttp*
	_ "github.com/pipy-go/pipy/filters/socks4"   // proxySOCKS4
	_ "github.com/pipy-go/pipy/filters/throttle" // tap
)
