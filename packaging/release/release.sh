#!/usr/bin/env bash
#
# release.sh: cross-compile pipy and pack one archive per platform into dist/
# (`make release`):
#
#   dist/pipy-<version>-<os>-<arch>.tar.gz    pipy-<version>-<os>-<arch>/{pipy,README.md,LICENSE}
#   dist/SHA256SUMS                           `sha256sum -c SHA256SUMS` format
#
# <version> is `git describe --tags` without the leading "v" (0.0.0 without
# tags); see version.sh. Each binary is built by build.sh (GOOS, GOARCH,
# PIPY_OUT), so it carries the same version stamp as bin/pipy.
#
# Knobs (environment):
#   GO                  Go command (default go)
#   PIPY_RELEASE_TARGETS   space-separated os/arch list (default below)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."

GO=${GO:-go}
targets=${PIPY_RELEASE_TARGETS:-linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 freebsd/amd64}
version=$(packaging/release/version.sh)

# Reproducible archives: fixed owner, order and times (the last commit's).
epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
tar_flags=()
if tar --version 2>/dev/null | grep -q 'GNU tar'; then
  tar_flags=(--sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch")
fi
if command -v sha256sum >/dev/null 2>&1; then
  sha256() { sha256sum "$@"; }
else
  sha256() { shasum -a 256 "$@"; }
fi

stage=dist/.release
rm -rf "$stage"
mkdir -p "$stage"
# Archives of another version would not match SHA256SUMS: remove them.
rm -f dist/pipy-*.tar.gz dist/SHA256SUMS

skip_ui=${PIPY_SKIP_UI:-}
archives=()
for t in $targets; do
  os=${t%/*} arch=${t#*/}
  name=pipy-$version-$os-$arch
  mkdir -p "$stage/$name"
  echo "release.sh: $name"
  GOOS=$os GOARCH=$arch PIPY_OUT="$stage/$name/pipy" PIPY_SKIP_UI=$skip_ui GO=$GO ./build.sh
  # The console bundle (if any) is built once, for the first target.
  skip_ui=1
  cp README.md "$stage/$name/"
  for f in LICENSE LICENSE.md LICENSE.txt; do
    if [[ -f $f ]]; then cp "$f" "$stage/$name/"; fi
  done
  touch -d "@$epoch" "$stage/$name" "$stage/$name"/* 2>/dev/null || true
  tar -C "$stage" ${tar_flags[@]+"${tar_flags[@]}"} -cf - "$name" | gzip -n -9 >"dist/$name.tar.gz"
  archives+=("$name.tar.gz")
done
rm -rf "$stage"

(cd dist && sha256 "${archives[@]}" >SHA256SUMS)
echo "release.sh: dist/SHA256SUMS"
cat dist/SHA256SUMS
for a in "${archives[@]}"; do
  printf 'release.sh: dist/%s (%d KiB)\n' "$a" $(( $(wc -c <"dist/$a") / 1024 ))
done
