// Package k8s holds the Kubernetes samples of pipy-go (standalone.yaml,
// ingress.yaml, sidecar.yaml). It has no Go code of its own: its test decodes
// every manifest strictly into the Kubernetes API types, checks what the
// samples promise (probes on the admin port, --spawn=auto, grace period above
// the drain timeout, limits, non-root) and verifies the scripts they carry
// with bin/pipy --verify.
//
// It is a module of its own (github.com/pipy-go/pipy/packaging/k8s), so that
// the Kubernetes API types it needs stay out of the requirements of the pipy
// binary's module. `go test ./...` at the repository root therefore skips it;
// `make test` runs it (cd packaging/k8s && go test ./...) after building
// ../../bin/pipy, and the test skips the --verify step when that binary is
// missing.
package k8s
