// Package test holds pipy's end-to-end tests: they run the pipy binary on
// the example scripts (test/0xx-*) and on small scripts of their own, and
// talk to it over loopback with real clients. It also checks the
// repository's conventions (conventions_test.go).
package test
