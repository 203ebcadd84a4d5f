#!/usr/bin/env bash
#
# build.sh: build the single static pipy binary into bin/pipy.
#
#   ./build.sh                      # host OS/arch
#   GOOS=linux GOARCH=arm64 ./build.sh
#
# Version information is taken from git and stamped into package main
# (var version, commit, commitDate) with -ldflags -X; `bin/pipy -v` prints it.
# Outside a git checkout (e.g. a source tarball) the values fall back to
# 0.0.0 / empty, or can be given explicitly:
#
#   PIPY_VERSION=1.2.3 PIPY_COMMIT=abc... PIPY_COMMIT_DATE='Mon, 1 Jan 2024 ...' ./build.sh
#
# Other knobs:
#   PIPY_OUT=path      output file (default bin/pipy)
#   PIPY_SKIP_UI=1     skip the console front-end bundle step
#   GOOS, GOARCH       passed to `go build` as usual
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

GO=${GO:-go}
OUT=${PIPY_OUT:-bin/pipy}

if ! command -v "$GO" >/dev/null 2>&1; then
  echo "build.sh: '$GO' not found in PATH (Go toolchain required)" >&2
  exit 1
fi

# --- version information ---------------------------------------------------
in_git=false
if command -v git >/dev/null 2>&1 && git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  in_git=true
fi

VERSION=${PIPY_VERSION:-}
COMMIT=${PIPY_COMMIT:-}
DATE=${PIPY_COMMIT_DATE:-}
if $in_git; then
  [[ -n $VERSION ]] || VERSION=$(git describe --tags 2>/dev/null || true)
  # --verify -q: prints nothing (instead of "HEAD") in a repository without commits.
  [[ -n $COMMIT ]] || COMMIT=$(git rev-parse --verify -q HEAD 2>/dev/null || true)
  [[ -n $DATE ]] || DATE=$(git log -1 --format=%cD 2>/dev/null || true)
fi
VERSION=${VERSION:-0.0.0}

# --- console front-end bundle (hook) ---------------------------------------
# The web console's UI lives in console/ui (npm project, lock file committed).
# Its bundle (console/ui/dist) is embedded into the binary with go:embed, so it
# must be built before `go build`. The Go build still works without it (the
# console then serves a placeholder page), hence the PIPY_SKIP_UI escape hatch.
if [[ -f console/ui/package.json && -z ${PIPY_SKIP_UI:-} ]]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "build.sh: console/ui/package.json present but npm not found (set PIPY_SKIP_UI=1 to skip)" >&2
    exit 1
  fi
  echo "build.sh: building console UI bundle (console/ui)"
  (cd console/ui && npm ci && npm run build)
fi

# --- Go build ----------------------------------------------------------------
ldflags="-s -w -X 'main.version=${VERSION}' -X 'main.commit=${COMMIT}' -X 'main.commitDate=${DATE}'"

mkdir -p "$(dirname "$OUT")"
echo "build.sh: go build ./cmd/pipy -> $OUT (version ${VERSION}${COMMIT:+, commit ${COMMIT:0:12}}, $("$GO" env GOOS)/$("$GO" env GOARCH))"
CGO_ENABLED=0 "$GO" build -trimpath -ldflags "$ldflags" -o "$OUT" ./cmd/pipy

size=$(wc -c <"$OUT")
echo "build.sh: built $OUT ($((size / 1024)) KiB)"
