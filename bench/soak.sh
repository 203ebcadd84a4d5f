#!/usr/bin/env bash
#
# bench/soak.sh: a soak test. Runs pipy on the HTTP proxy example under a
# constant load for a long time and checks that its memory and goroutine
# count stay flat: no leak of memory, goroutines or connections.
#
# What it does:
#   1. copies test/004-http-proxy/pipy.js (a router in front of two mock
#      services declared in the same script) with its ports rewritten to
#      free ones, and starts `bin/pipy <copy> --spawn=1 --admin-port=<port>`:
#      one worker, and the master's /metrics reports the worker's resident
#      memory (pipy_memory_bytes) and goroutines (pipy_goroutines);
#   2. drives `wrk -t1 -c50` at GET /hello through the proxy for
#      SOAK_DURATION seconds;
#   3. samples /metrics every SOAK_INTERVAL seconds into a CSV file in
#      bench/results/ (soak-<time>.csv: elapsed seconds, worker RSS bytes,
#      goroutines, open connections, requests so far, master RSS bytes);
#   4. prints min / max / mean of RSS and goroutines after the warm-up, and
#      whether each stays within +-SOAK_TOLERANCE % of its post-warm-up
#      mean. Exit status 0 if both do, 1 if not (or if the proxy stopped
#      answering, pipy died or wrk counted errors), 2 on a setup error.
#
# The number work (reading /metrics and wrk's output, the CSV, the bands)
# is done by bench/report, a Go program this script builds first (its
# soak-sample and soak-summary commands; go doc ./bench/report).
#
# Usage:
#   bash bench/soak.sh                                  # 10 minutes
#   SOAK_DURATION=30 SOAK_INTERVAL=5 bash bench/soak.sh  # short CI variant
#
# Knobs (environment):
#   SOAK_DURATION=600     seconds of load
#   SOAK_INTERVAL=10      seconds between samples
#   SOAK_WARMUP           seconds left out of the summary; default: 10 % of the
#                         duration, at most 60 s, at least 2 intervals
#   SOAK_TOLERANCE=10     allowed deviation from the post-warm-up mean, in %
#   SOAK_CONNS=50         wrk connections (-c); wrk runs one thread (-t1)
#   SOAK_PIPY=bin/pipy    pipy binary
#   SOAK_PIPY_ARGS=       extra pipy options
#   SOAK_SERVER_CPU=      pin pipy to this CPU (taskset); empty: no pinning
#   SOAK_CLIENT_CPU=      pin wrk to this CPU; empty: no pinning
#   SOAK_RESULTS_DIR=bench/results
#   SOAK_NO_INSTALL=1     never call apt-get (wrk and curl must be present)
#   GO=go                 the Go toolchain that builds bench/report
#
# Needs Linux, bash, curl, Go and wrk (wrk and curl installed with apt-get
# when missing and running as root). It only ever stops the processes it
# started.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

DURATION=${SOAK_DURATION:-600}
INTERVAL=${SOAK_INTERVAL:-10}
TOLERANCE=${SOAK_TOLERANCE:-10}
CONNS=${SOAK_CONNS:-50}
PIPY=${SOAK_PIPY:-$ROOT/bin/pipy}
read -r -a PIPY_ARGS <<<"${SOAK_PIPY_ARGS:-}"
RESULTS=${SOAK_RESULTS_DIR:-$ROOT/bench/results}
EXAMPLE=$ROOT/test/004-http-proxy/pipy.js

die() { echo "soak: $*" >&2; exit 2; }
say() { echo "soak: $*"; }

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }
is_count() { [[ $1 =~ ^[0-9]+$ ]] && (($1 > 0)); }
is_count "$DURATION" || die "SOAK_DURATION must be a positive number of seconds"
is_count "$INTERVAL" || die "SOAK_INTERVAL must be a positive number of seconds"
is_uint "$TOLERANCE" || die "SOAK_TOLERANCE must be a whole percentage"
is_count "$CONNS" || die "SOAK_CONNS must be a positive number"
if [[ -n ${SOAK_WARMUP:-} ]]; then
	WARMUP=$SOAK_WARMUP
	is_uint "$WARMUP" || die "SOAK_WARMUP must be a number of seconds"
else
	WARMUP=$((DURATION / 10))
	((WARMUP <= 60)) || WARMUP=60
	((WARMUP >= 2 * INTERVAL)) || WARMUP=$((2 * INTERVAL))
fi
((WARMUP < DURATION)) || die "the warm-up (${WARMUP}s) leaves nothing of a ${DURATION}s run to judge"

[[ $(uname -s) == Linux ]] || die "Linux only"
[[ -x $PIPY ]] || die "$PIPY not found: build it first (PIPY_SKIP_UI=1 ./build.sh)"
[[ -f $EXAMPLE ]] || die "$EXAMPLE not found"
GO=${GO:-go}
if ! command -v "$GO" >/dev/null && [[ -x /usr/local/go/bin/go ]]; then GO=/usr/local/go/bin/go; fi
command -v "$GO" >/dev/null || die "Go is needed to build bench/report (set GO=/path/to/go)"

# Tools
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v curl >/dev/null || need+=(curl)
if ((${#need[@]})); then
	if [[ ${SOAK_NO_INSTALL:-} == 1 || $(id -u) != 0 ]]; then
		die "missing: ${need[*]} (install them, e.g. apt-get install -y ${need[*]})"
	fi
	say "installing ${need[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y "${need[@]}" >/dev/null 2>&1 ||
		{ apt-get update >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y "${need[@]}" >/dev/null; } ||
		die "cannot install ${need[*]}"
fi
# pin CPU COMMAND...: becomes COMMAND (exec), on CPU when one is given. Run
# it in the background (pin ... &) so that $! is the command's pid.
pin() {
	local cpu=$1
	shift
	if [[ -n $cpu ]]; then exec taskset -c "$cpu" "$@"; else exec "$@"; fi
}

# Ports: a random free one each time (not 6080/8080/8081, which tests use).
declare -A USED=()
port_busy() { ss -Htln "sport = :$1" 2>/dev/null | grep -q . || (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
	local p i
	for ((i = 0; i < 200; i++)); do
		p=$((20000 + RANDOM % 40000))
		[[ -z ${USED[$p]:-} ]] && ! port_busy "$p" && { USED[$p]=1; echo "$p"; return; }
	done
	die "no free port found"
}
PROXY=$(free_port)
SVC_A=$(free_port)
SVC_B=$(free_port)
ADMIN=$(free_port)

STAMP=$(date +%Y%m%d-%H%M%S)
mkdir -p "$RESULTS"
CSV=$RESULTS/soak-$STAMP.csv
WRK_OUT=$RESULTS/soak-$STAMP.wrk.txt
LOG=$RESULTS/soak-$STAMP.pipy.log
SUMMARY=$RESULTS/soak-$STAMP.summary.txt
STATE=$(mktemp -d "${TMPDIR:-/tmp}/pipy-soak.XXXXXX")
PIPY_PID='' WRK_PID=''
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	local rc=$?
	if [[ -n $WRK_PID ]] && kill -0 "$WRK_PID" 2>/dev/null; then kill "$WRK_PID" 2>/dev/null || true; fi
	if [[ -n $PIPY_PID ]] && kill -0 "$PIPY_PID" 2>/dev/null; then
		kill -TERM "$PIPY_PID" 2>/dev/null || true
		for _ in $(seq 100); do kill -0 "$PIPY_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$PIPY_PID" 2>/dev/null || true
	fi
	rm -rf "$STATE"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

REPORT=$STATE/bench-report
(cd "$ROOT" && "$GO" build -o "$REPORT" ./bench/report) || die "cannot build bench/report"

# The example with its ports rewritten.
SCRIPT=$STATE/pipy.js
sed -e "s/\b6080\b/$PROXY/g" -e "s/\b8080\b/$SVC_A/g" -e "s/\b8081\b/$SVC_B/g" "$EXAMPLE" >"$SCRIPT"
grep -q "listen($PROXY)" "$SCRIPT" || die "could not rewrite the ports of $EXAMPLE"

version=$("$PIPY" --version 2>/dev/null | sed -n -e 's/^Version *: *//p' -e 's/^Commit *: *\(.\{1,12\}\).*/(commit \1)/p' | tr '\n' ' ')
say "pipy ${version% } on $SCRIPT: proxy :$PROXY, services :$SVC_A :$SVC_B, admin :$ADMIN"
unset PIPY_SPAWN # --spawn decides
pin "${SOAK_SERVER_CPU:-}" "$PIPY" "$SCRIPT" --spawn=1 --admin-port="127.0.0.1:$ADMIN" --log-level=warn \
	${PIPY_ARGS[@]+"${PIPY_ARGS[@]}"} >"$LOG" 2>&1 &
PIPY_PID=$!

# Wait (at most 30 s) for the admin port, which opens once the worker serves.
metrics() { curl -fsS --max-time 5 "http://127.0.0.1:$ADMIN/metrics"; }
for ((i = 0; ; i++)); do
	if metrics >/dev/null 2>&1; then break; fi
	kill -0 "$PIPY_PID" 2>/dev/null || { cat "$LOG" >&2; die "pipy exited during start-up"; }
	((i < 300)) || { cat "$LOG" >&2; die "pipy's admin port did not open within 30 s"; }
	sleep 0.1
done
URL=http://127.0.0.1:$PROXY/hello
WANT="Hello from service $SVC_A"
got=$(curl -fsS --max-time 5 "$URL") || die "GET $URL failed"
[[ $got == "$WANT" ]] || die "GET $URL answered '$got', want '$WANT'"

say "load: wrk -t1 -c$CONNS -d${DURATION}s $URL; sampling every ${INTERVAL}s into $CSV"
pin "${SOAK_CLIENT_CPU:-}" wrk -t1 -c"$CONNS" -d"${DURATION}s" --timeout 5s --latency "$URL" >"$WRK_OUT" 2>&1 &
WRK_PID=$!
START=$(date +%s%N)
for ((k = 0; ; k++)); do
	# Sample at START + k * INTERVAL.
	now=$(date +%s%N)
	target=$((START + k * INTERVAL * 1000000000))
	if ((target > now)); then
		ms=$(((target - now) / 1000000))
		sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
	fi
	elapsed=$((k * INTERVAL))
	# Only while the load runs: a sample at the very end races with wrk's
	# exit (its connections may already be gone from a fresh /metrics).
	((elapsed < DURATION)) || break
	kill -0 "$PIPY_PID" 2>/dev/null || { tail -n 20 "$LOG" >&2; echo "soak: FAIL: pipy died at ${elapsed}s" >&2; exit 1; }
	metrics >"$STATE/metrics.txt" 2>/dev/null || : >"$STATE/metrics.txt"
	# Appends a CSV row (the header first) and prints it; 3: no worker figures.
	srs=0
	"$REPORT" soak-sample "$CSV" "$elapsed" "$STATE/metrics.txt" "/proc/$PIPY_PID/status" 2>"$STATE/sample.err" || srs=$?
	if ((srs == 3)); then
		echo "soak: WARNING: no worker metrics at ${elapsed}s" >&2
	elif ((srs != 0)); then
		cat "$STATE/sample.err" >&2
		die "cannot record the sample at ${elapsed}s"
	fi
done
wait "$WRK_PID" || true
WRK_PID=

# The proxy still answers, and pipy is alive.
status=0
kill -0 "$PIPY_PID" 2>/dev/null || { echo "soak: FAIL: pipy died" >&2; status=1; }
got=$(curl -fsS --max-time 5 "$URL" 2>/dev/null || true)
[[ $got == "$WANT" ]] || { echo "soak: FAIL: after the load GET $URL answered '$got'" >&2; status=1; }


# The summary over the samples taken at WARMUP seconds or later, and wrk's
# figures; bench/report says FAIL (exit 1) if RSS or goroutines left the
# band, if there are too few samples or if wrk counted errors.
srs=0
"$REPORT" soak-summary -warmup "$WARMUP" -tolerance "$TOLERANCE" \
	-title "soak of $(basename "$PIPY") on test/004-http-proxy: ${DURATION}s, wrk -t1 -c$CONNS, a sample every ${INTERVAL}s" \
	"$CSV" "$WRK_OUT" >"$SUMMARY" 2>"$STATE/summary.err" || srs=$?
cat "$SUMMARY"
cat "$STATE/summary.err" >&2
if ((srs != 0)); then
	if ((srs != 1)); then echo "soak: FAIL: cannot judge the run (see above)" >&2; fi
	status=1
fi
if ((status == 0)); then say "PASS"; else say "FAIL (see $LOG, $WRK_OUT)"; fi
exit "$status"
