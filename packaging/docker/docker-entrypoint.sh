#!/bin/sh
#
# docker-entrypoint.sh: entrypoint of the pipy-go container image.
# POSIX sh only (the image is alpine: busybox ash, no bash). Apart from the
# `healthcheck` mode it uses shell builtins only.
#
# Modes, chosen by the arguments (the image's CMD is `pipy docker-start`):
#
#   (none) | docker-start [ARGS...] | pipy docker-start [ARGS...]
#       Run the configured script:
#         exec $PIPY_BIN [--drain-timeout=...] [--admin-port=...] $PIPY_CONFIG_FILE ARGS...
#   -* [ARGS...]   (first argument is an option, e.g. `--log-level=debug`)
#       Same as docker-start with all arguments as the extra arguments, so
#       `docker run IMAGE --spawn=auto` runs the default script on all CPUs.
#   pipy [ARGS...]
#       Run pipy with exactly these arguments (the variables below that add
#       options are not applied; PIPY_SPAWN still is, by pipy itself), e.g.
#       `docker run IMAGE pipy /etc/pipy/test/002-hello/pipy.js`.
#   healthcheck
#       Exit 0 when the admin endpoint (PIPY_ADMIN_PORT) answers /status with
#       a ready worker; exit 0 without checking when PIPY_ADMIN_PORT is unset.
#   anything else
#       exec'd as given (`docker run -it IMAGE sh`).
#
# pipy is always exec'd: it replaces this shell, so it is PID 1 of the
# container and receives the stop signal (SIGTERM) itself.
#
# Environment:
#   PIPY_CONFIG_FILE    script to run (default: $PIPY_EXAMPLES_DIR/001-echo/pipy.js)
#   PIPY_SPAWN          number of EXTRA processes, a non-negative integer
#                       (default 0). Passed on in the environment: pipy itself
#                       runs a master with PIPY_SPAWN+1 workers when it is > 0,
#                       one plain process when it is 0.
#   PIPY_DRAIN_TIMEOUT  --drain-timeout for a graceful stop (default 8s, below
#                       Docker's 10 s stop timeout); set it empty for pipy's own
#                       default (30s)
#   PIPY_ADMIN_PORT     --admin-port=[host:]port (master only, i.e. PIPY_SPAWN>0
#                       or --spawn); unset by default
#   PIPY_BIN            the pipy binary (default /usr/local/bin/pipy)
#   PIPY_EXAMPLES_DIR   the examples (default /etc/pipy/test)
#
# Errors in these variables exit with status 255, as pipy does for a bad
# command line.

set -eu

PIPY_BIN=${PIPY_BIN:-/usr/local/bin/pipy}
PIPY_EXAMPLES_DIR=${PIPY_EXAMPLES_DIR:-/etc/pipy/test}

die() {
	printf 'docker-entrypoint.sh: %s\n' "$*" >&2
	exit 255
}

# check_spawn validates PIPY_SPAWN and exports it normalised (no leading
# zeros, 0 when empty). pipy would reject a bad value too, but this message
# says what the variable means.
check_spawn() {
	n=${PIPY_SPAWN:-0}
	case $n in
	*[!0-9]*)
		die "invalid PIPY_SPAWN='$n': expected a non-negative integer, the number of extra processes (PIPY_SPAWN=n runs n+1 workers; for one worker per CPU pass --spawn=auto instead)"
		;;
	esac
	n=${n#"${n%%[!0]*}"} # strip leading zeros
	n=${n:-0}
	if [ "${#n}" -gt 4 ] || [ "$n" -gt 1023 ]; then
		die "invalid PIPY_SPAWN='$PIPY_SPAWN': at most 1023 extra processes (1024 workers)"
	fi
	PIPY_SPAWN=$n
	export PIPY_SPAWN
}

check_bin() {
	[ -x "$PIPY_BIN" ] || die "pipy binary not found or not executable: PIPY_BIN=$PIPY_BIN"
}

start() {
	check_spawn
	check_bin
	config=${PIPY_CONFIG_FILE:-$PIPY_EXAMPLES_DIR/001-echo/pipy.js}
	if [ ! -f "$config" ]; then
		die "script not found: PIPY_CONFIG_FILE=$config (mount your script into the container, e.g. -v \$PWD/pipy.js:/etc/pipy/pipy.js:ro -e PIPY_CONFIG_FILE=/etc/pipy/pipy.js)"
	fi
	# Options from the environment go before the script, the arguments after
	# it: pipy reads options in any position and the last one wins, so an
	# argument such as --drain-timeout=20s overrides the variable.
	drain=${PIPY_DRAIN_TIMEOUT-8s}
	admin=${PIPY_ADMIN_PORT:-}
	if [ -n "$admin" ]; then
		set -- "--admin-port=$admin" "$config" "$@"
	else
		set -- "$config" "$@"
	fi
	if [ -n "$drain" ]; then
		set -- "--drain-timeout=$drain" "$@"
	fi
	exec "$PIPY_BIN" "$@"
}

healthcheck() {
	admin=${PIPY_ADMIN_PORT:-}
	# Without the admin endpoint there is nothing to ask: the container lives
	# exactly as long as pipy (PID 1) does.
	[ -n "$admin" ] || exit 0
	port=${admin##*:}
	host=127.0.0.1
	case $admin in
	*:*) host=${admin%:*} ;;
	esac
	case $host in
	'' | 0.0.0.0 | '*') host=127.0.0.1 ;;
	'[::]' | '::') host='[::1]' ;;
	esac
	# Loopback never goes through a proxy.
	unset http_proxy HTTP_PROXY all_proxy ALL_PROXY
	# No -T: busybox wget built without FEATURE_WGET_TIMEOUT (Debian's before
	# 1.36.1-5) crashes on it; HEALTHCHECK --timeout bounds the check instead.
	# The master reports each worker with "ready":true once it serves.
	if wget -q -O - "http://$host:$port/status" | grep -q '"ready":true'; then
		exit 0
	fi
	echo "docker-entrypoint.sh: no ready worker at http://$host:$port/status" >&2
	exit 1
}

if [ "$#" -eq 0 ]; then
	start
fi

case $1 in
docker-start)
	shift
	start "$@"
	;;
pipy)
	shift
	if [ "$#" -gt 0 ] && [ "$1" = docker-start ]; then
		shift
		start "$@"
	fi
	check_spawn
	check_bin
	exec "$PIPY_BIN" "$@"
	;;
healthcheck)
	healthcheck
	;;
-*)
	start "$@"
	;;
*)
	exec "$@"
	;;
esac
