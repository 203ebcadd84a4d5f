# pipy-go developer targets. See README.md.
#
#   make run     build, then serve test/002-hello on port 6080
#   make test    build, then go vet + go test (end-to-end tests run bin/pipy)
#   make bench   build, then compare pipy and nginx (bench/README.md)
#   make package build, then a deb and an rpm in dist/ (packaging/nfpm/README.md)
#   make release cross-compiled archives + SHA256SUMS in dist/ (packaging/nfpm/README.md)

GO        ?= go
PIPY      := bin/pipy
TESTFLAGS ?=

.PHONY: build run test bench clean

build:
	GO=$(GO) ./build.sh

run: build
	$(PIPY) test/002-hello/pipy.js

test: build
	$(GO) vet ./...
	$(GO) test -count=1 $(TESTFLAGS) ./...

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
