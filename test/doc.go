// Package test holds pipy's end-to-end tests: they run the pipy binary on
// the example scripts (test/0xx-*) and on small scripts of their own, and
// talk to it over loopback with real clients. It also checks the
// repository's conventions (conventions_test.go).
//
// The binary is built by TestMain into a temporary directory, or named by
// PIPY_BIN (main_test.go says how, and how to catch data races in a
// race-built binary); tests reach it through pipyBin. So `go test ./test/`
// works on a fresh clone and always tests the current source.
//
// The examples listen on fixed ports, so no test here may call t.Parallel.
package test
