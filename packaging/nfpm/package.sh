#!/usr/bin/env bash
#
# package.sh: build the pipy deb and rpm into dist/ with nfpm (`make package`).
#
#   packaging/nfpm/package.sh                 host architecture, bin/pipy
#   GOARCH=arm64 packaging/nfpm/package.sh    another architecture
#
# nfpm (github.com/goreleaser/nfpm) runs through `go run module@version`, so
# nothing needs installing; the first run downloads it into the module cache.
#
# Knobs (environment):
#   GO                   Go command (default go)
#   NFPM_VERSION         nfpm version (default below; newer ones need modules
#                        the Go proxy does not serve)
#   NFPM                 an nfpm command to use instead of `go run`
#   PIPY_PKG_FORMATS     default "deb rpm"
#   PIPY_PKG_ARCH        Go architecture (default: go env GOARCH)
#   PIPY_PKG_BINARY      linux binary to package (default: bin/pipy when
#                        building for linux, else a fresh linux build)
#   PIPY_PKG_VERSION     package version (default: release/version.sh --package)
#   PIPY_PKG_MAINTAINER, PIPY_PKG_HOMEPAGE   package metadata
#   SOURCE_DATE_EPOCH    file times in the packages (default: last commit)
#
# Prints the paths of the packages it wrote, and lists them in dist/packages.txt.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."

GO=${GO:-go}
NFPM_VERSION=${NFPM_VERSION:-v2.45.2}
formats=${PIPY_PKG_FORMATS:-deb rpm}

arch=${PIPY_PKG_ARCH:-$("$GO" env GOARCH)}
binary=${PIPY_PKG_BINARY:-}
if [[ -z $binary ]]; then
  if [[ $("$GO" env GOOS) == linux && $arch == "$("$GO" env GOARCH)" ]]; then
    binary=bin/pipy
    [[ -x $binary ]] || GO=$GO ./build.sh
  else
    binary=dist/.package/linux-$arch/pipy
    GOOS=linux GOARCH=$arch PIPY_OUT=$binary GO=$GO ./build.sh
  fi
fi
[[ -x $binary ]] || { echo "package.sh: $binary is not an executable" >&2; exit 1; }

version=${PIPY_PKG_VERSION:-$(packaging/release/version.sh --package)}
if [[ -z ${SOURCE_DATE_EPOCH:-} ]]; then
  SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || true)
  [[ -n $SOURCE_DATE_EPOCH ]] || unset SOURCE_DATE_EPOCH
fi

export PIPY_PKG_ARCH=$arch PIPY_PKG_BINARY=$binary PIPY_PKG_VERSION=$version
export PIPY_PKG_MAINTAINER=${PIPY_PKG_MAINTAINER:-pipy-go developers <noreply@pipy-go.invalid>}
export PIPY_PKG_HOMEPAGE=${PIPY_PKG_HOMEPAGE:-}
[[ -z ${SOURCE_DATE_EPOCH:-} ]] || export SOURCE_DATE_EPOCH

if [[ -n ${NFPM:-} ]]; then
  read -r -a nfpm <<<"$NFPM"
else
  nfpm=("$GO" run "github.com/goreleaser/nfpm/v2/cmd/nfpm@$NFPM_VERSION")
fi

# The configuration, with a `type: dir` entry for each example directory.
mkdir -p dist/.package
config=dist/.package/nfpm.yaml
{
  echo "/usr/share/pipy"
  echo "/usr/share/pipy/examples"
  find test -mindepth 1 -path 'test/0*-*' -type d | sort | sed 's|^test/|/usr/share/pipy/examples/|'
} | awk 'NR == FNR { dirs[++n] = $0; next }
  /# @EXAMPLE_DIRS@/ {
    for (i = 1; i <= n; i++) printf "  - dst: %s\n    type: dir\n    file_info:\n      mode: 0755\n", dirs[i]
    next
  }
  { print }' - packaging/nfpm/nfpm.yaml >"$config"

: >dist/packages.txt
for f in $formats; do
  echo "package.sh: nfpm $NFPM_VERSION: $f of pipy $version ($arch) from $binary"
  out=$("${nfpm[@]}" pkg --config "$config" --packager "$f" --target dist/ 2>&1) || {
    printf '%s\n' "$out" >&2
    exit 1
  }
  # nfpm logs "created package: <path>"
  pkg=$(printf '%s\n' "$out" | sed -n 's/.*created package: //p' | tail -n 1)
  if [[ -z $pkg || ! -f $pkg ]]; then
    printf '%s\n' "$out" >&2
    echo "package.sh: nfpm did not report the $f it created" >&2
    exit 1
  fi
  echo "$pkg" >>dist/packages.txt
  echo "package.sh: wrote $pkg ($(( $(wc -c <"$pkg") / 1024 )) KiB)"
done
