#!/usr/bin/env bash
#
# lint.sh: lint packaging/docker/ (for CI and developers).
#
#   packaging/docker/lint.sh
#
# 1. The Dockerfile, with dockerfile-utils (npm; the validator behind the
#    Docker language server / VS Code's Docker extension). It checks each
#    instruction's syntax, flags and arguments (durations, signals, JSON
#    forms, duplicate CMD/ENTRYPOINT/HEALTHCHECK, casing, deprecated
#    instructions). Its CLI fails only on errors; here any diagnostic,
#    warnings included, fails.
#    (hadolint is not packaged by Debian, and its PyPI wrappers are out of
#    reach here; the npm dockerfilelint 1.8.0 rejects valid syntax used here:
#    FROM --platform and HEALTHCHECK --start-period.)
# 2. The shell scripts, with shellcheck (Debian package) as POSIX sh, the
#    shell of the alpine image.
#
# Tools are installed when missing: dockerfile-utils into a cache directory
# (DOCKERFILE_UTILS_DIR, default ~/.cache/pipy-go/dockerfile-utils), shellcheck
# with apt-get when running as root.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DU_VERSION=0.16.3
DU_DIR=${DOCKERFILE_UTILS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pipy-go/dockerfile-utils}
status=0

# --- dockerfile-utils ------------------------------------------------------------
du=$DU_DIR/node_modules/.bin/dockerfile-utils
if [[ ! -x $du ]] || [[ $("$du" --version 2>/dev/null) != *" $DU_VERSION "* ]]; then
	if ! command -v npm >/dev/null 2>&1; then
		echo "lint.sh: npm not found (needed to install dockerfile-utils)" >&2
		exit 1
	fi
	echo "lint.sh: installing dockerfile-utils@$DU_VERSION into $DU_DIR"
	mkdir -p "$DU_DIR"
	npm install --prefix "$DU_DIR" --no-audit --no-fund --no-save --loglevel=error \
		"dockerfile-utils@$DU_VERSION" >/dev/null
fi

echo "lint.sh: $("$du" --version)"
json=$("$du" lint --json "$here/Dockerfile") || true
# Any diagnostic (error or warning) fails; print them readably.
if ! node -e '
	const d = JSON.parse(process.argv[1]);
	for (const x of d) console.error("Dockerfile:" + (x.range.start.line + 1) + ":" + (x.range.start.character + 1) + ": " + x.severity + ": " + x.message);
	process.exit(d.length ? 1 : 0);
' "$json"; then
	echo "lint.sh: dockerfile-utils: FAILED" >&2
	status=1
else
	echo "lint.sh: dockerfile-utils: Dockerfile OK"
fi

# --- shellcheck ------------------------------------------------------------------
if ! command -v shellcheck >/dev/null 2>&1; then
	if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
		echo "lint.sh: installing shellcheck"
		apt-get install -y -q shellcheck >/dev/null ||
			{ apt-get update -q >/dev/null && apt-get install -y -q shellcheck >/dev/null; }
	else
		echo "lint.sh: shellcheck not found (apt-get install shellcheck)" >&2
		exit 1
	fi
fi
echo "lint.sh: $(shellcheck --version | sed -n 's/^version: /shellcheck /p')"
if shellcheck -s sh "$here/docker-entrypoint.sh" "$here/stage-rootfs.sh" &&
	shellcheck "$here/lint.sh"; then
	echo "lint.sh: shellcheck: scripts OK"
else
	echo "lint.sh: shellcheck: FAILED" >&2
	status=1
fi

exit "$status"
