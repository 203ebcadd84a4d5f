#!/usr/bin/env bash
#
# version.sh: the version of the current checkout, for release archives and
# packages.
#
#   packaging/release/version.sh            `git describe --tags` without a
#                                           leading "v" (0.0.0 without tags)
#   packaging/release/version.sh --package  the same, made valid for deb and
#                                           rpm and ordered correctly:
#       v1.2.3            -> 1.2.3
#       v1.2.3-rc1        -> 1.2.3~rc1          (sorts before 1.2.3)
#       v1.2.3-4-gabc1234 -> 1.2.3+git4.gabc1234 (4 commits after v1.2.3)
#
# PIPY_VERSION, if set, is used instead of git (as in build.sh).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."

v=${PIPY_VERSION:-}
if [[ -z $v ]] && command -v git >/dev/null 2>&1 && git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  v=$(git describe --tags 2>/dev/null || true)
fi
v=${v:-0.0.0}
v=${v#v}

if [[ ${1:-} != --package ]]; then
  printf '%s\n' "$v"
  exit 0
fi

post=
if [[ $v =~ ^(.+)-([0-9]+)-g([0-9a-f]+)$ ]]; then
  v=${BASH_REMATCH[1]}
  post="+git${BASH_REMATCH[2]}.g${BASH_REMATCH[3]}"
fi
v=${v//-/\~}                 # pre-release part: sorts before the release
v=$(printf '%s' "$v$post" | tr -c 'A-Za-z0-9.+~' '.')
[[ $v =~ ^[0-9] ]] || v="0.0.0+$v"
printf '%s\n' "$v"
