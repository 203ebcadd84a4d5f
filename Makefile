# pipy-go developer targets. See README.md.
#
#   make run     build, then serve test/002-hello on port 6080
#   make test    build, then go vet + go test (end-to-end tests run bin/pipy)
#   make bench   build, then compare pipy and nginx (bench/README.md)

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

clean:
	rm -rf bin dist bench/results
