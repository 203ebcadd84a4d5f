# pipy-go developer targets. See README.md.
#
#   make run     build, then serve a copy of test/002-hello (playground/) on port 6080,
#                with the web console on http://127.0.0.1:6060/
#   make test    build, then go vet + go test (the end-to-end tests run the bin/pipy just built)
#   make bench   build, then compare pipy with nginx, HAProxy and Caddy; writes docs/performance.md (bench/README.md)
#   make package build, then a deb and an rpm in dist/ (packaging/nfpm/README.md)
#   make release cross-compiled archives + SHA256SUMS in dist/ (packaging/nfpm/README.md)

GO        ?= go
PIPY      := bin/pipy
TESTFLAGS ?=

.PHONY: build run test bench clean

build:
	GO=$(GO) ./build.sh

# The console edits files: give it a scratch copy, not the test fixture.
run: build
	@mkdir -p playground
	@[ -f playground/pipy.js ] || cp test/002-hello/pipy.js playground/pipy.js
	$(PIPY) playground/pipy.js --gui-port=6060

# packaging/k8s and test/interop are modules of their own (the Kubernetes API
# types, grpc-go, h2spec and the WebSocket library stay out of go.mod): ./...
# at the root skips them, so vet and test them from their directories.
test: build
	$(GO) vet ./...
	PIPY_BIN=$(CURDIR)/bin/pipy $(GO) test -count=1 $(TESTFLAGS) ./...
	cd packaging/k8s && $(GO) vet ./... && $(GO) test -count=1 $(TESTFLAGS) ./...
	cd test/interop && $(GO) vet ./... && PIPY_BIN=$(CURDIR)/bin/pipy $(GO) test -count=1 $(TESTFLAGS) ./...

bench: build
	bash bench/run.sh

# Packages and release archives (packaging/nfpm/README.md).
.PHONY: package release

package: build
	GO=$(GO) bash packaging/nfpm/package.sh

release:
	GO=$(GO) bash packaging/release/release.sh

clean:
	rm -rf bin dist bench/results
