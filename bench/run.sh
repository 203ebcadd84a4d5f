#!/usr/bin/env bash
#
# bench/run.sh: pipy vs nginx, HAProxy and Caddy, side by side, on this
# machine, in one run, with the same load generators (wrk; h2load for HTTP/2).
#
# Scenarios (each: the server under test pinned to one core, wrk to another):
#   http-hello  every request answered 200 "Hello!\n" by the server itself
#               (pipy: test/002-hello/pipy.js)
#   tcp-proxy   raw TCP proxy in front of an nginx hello backend
#               (pipy: bench/scripts/tcp-proxy.js; Caddy: n/a)
#   http-route  HTTP reverse proxy routing /api/* and /hello* to two upstream
#               pools of the backend, with upstream keep-alive
#               (pipy: bench/scripts/routing.js; wrk alternates the two routes)
#   h2-hello    HTTP/2 in clear text (h2c, prior knowledge), every request
#               answered 200 "Hello!\n" by the server itself
#               (pipy: bench/scripts/h2-hello.js, demuxHttp)
#   h2-proxy    h2c front end proxying to the backend over HTTP/1.1
#               (pipy: bench/scripts/h2-proxy.js, demuxHttp + muxHttp)
# plus a scaling line: pipy --spawn=2 (not pinned) vs pipy on http-hello.
#
# For every scenario and server: req/s, p50 and p99 latency at each
# concurrency of BENCH_CONNS (wrk -t1 -cN), RSS idle and right after the load,
# CPU used; medians over BENCH_RUNS runs; ratios pipy/peer. The h2 scenarios
# use h2load -t1 -c10 -m10 instead of wrk (one load level; latency mean, sd,
# min and max; any failed request fails the row). See bench/README.md.
#
# This script runs the processes and collects raw outputs (wrk, /proc
# snapshots, strace -c) into bench/results/raw/; bench/report, a Go program
# it builds first, parses them, takes the medians and ratios, prints the
# tables and writes the report (docs/performance.md). The layout of the
# results directory is in its package doc: go doc ./bench/report.
#
# Knobs (environment):
#   BENCH_DURATION=10        seconds of measured load per scenario, server and concurrency
#   BENCH_RUNS=3             repetitions; the tables show the median of each value
#   BENCH_WARMUP=2           seconds of unmeasured load before the measurements (0 = none)
#   BENCH_CONNS="50 1"       wrk concurrencies (-c) measured; the first is the "load"
#                            level (RSS after load, CPU, upstream connections, targets)
#   BENCH_CONNECTIONS=50     older knob: the load level when BENCH_CONNS is not set
#   BENCH_SCENARIOS="http-hello tcp-proxy http-route h2-hello h2-proxy"
#   BENCH_SERVERS="pipy nginx haproxy caddy"
#   BENCH_H2_CLIENTS=10      h2load -c (connections) of the h2 scenarios
#   BENCH_H2_STREAMS=10      h2load -m (concurrent streams per connection)
#   BENCH_SCALING=1          0: skip the pipy --spawn line
#   BENCH_SPAWN=2            workers of the scaling line
#   BENCH_SERVER_CPU=0       core of the server under test
#   BENCH_CLIENT_CPU=1       core of wrk
#   BENCH_BACKEND_CPU        core of the proxies' backend (default: 2 if the
#                            machine has 3+ CPUs, else BENCH_CLIENT_CPU)
#   BENCH_PIPY=bin/pipy      pipy binary
#   BENCH_PIPY_ARGS=         extra pipy options, e.g. --log-level=error
#   BENCH_HELLO_SCRIPT=test/002-hello/pipy.js  (its .listen(6080) is rewritten
#                            to the bench's port in a copy)
#   BENCH_START_TIMEOUT=10   seconds to wait for a server's port
#   BENCH_STATE_DIR=/tmp/pipy-bench  configs, logs, pid list of started processes
#   BENCH_RESULTS_DIR=bench/results
#   BENCH_DOC=docs/performance.md    the report; "none" = do not write it
#   BENCH_STRACE=0           1: after the measured runs, one more run at the load
#                            level with strace -c -f attached: syscalls per request
#                            (wrk scenarios only)
#   BENCH_STRACE_DURATION=3  seconds of that traced run
#   BENCH_NO_INSTALL=1       never call apt-get
#   GO=go                    the Go toolchain that builds bench/report
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench

DURATION=${BENCH_DURATION:-10}
RUNS=${BENCH_RUNS:-3}
WARMUP=${BENCH_WARMUP:-2}
read -r -a CONNS <<<"${BENCH_CONNS:-${BENCH_CONNECTIONS:-50} 1}"
read -r -a SCENARIOS <<<"${BENCH_SCENARIOS:-http-hello tcp-proxy http-route h2-hello h2-proxy}"
read -r -a SERVERS <<<"${BENCH_SERVERS:-pipy nginx haproxy caddy}"
# Commas are accepted too: BENCH_SERVERS=pipy,nginx.
if [[ ${BENCH_CONNS:-} == *,* ]]; then IFS=, read -r -a CONNS <<<"${BENCH_CONNS// /}"; fi
if [[ ${BENCH_SCENARIOS:-} == *,* ]]; then IFS=, read -r -a SCENARIOS <<<"${BENCH_SCENARIOS// /}"; fi
if [[ ${BENCH_SERVERS:-} == *,* ]]; then IFS=, read -r -a SERVERS <<<"${BENCH_SERVERS// /}"; fi
H2_CLIENTS=${BENCH_H2_CLIENTS:-10}
H2_STREAMS=${BENCH_H2_STREAMS:-10}
SCALING=${BENCH_SCALING:-1}
SPAWN=${BENCH_SPAWN:-2}
SERVER_CPU=${BENCH_SERVER_CPU:-0}
CLIENT_CPU=${BENCH_CLIENT_CPU:-1}
# The backend gets a core of its own when there is one (CPU 2), else it
# shares the client's core, so the proxy under test keeps its core alone.
if (($(nproc) >= 3)); then BACKEND_CPU=${BENCH_BACKEND_CPU:-2}; else BACKEND_CPU=${BENCH_BACKEND_CPU:-$CLIENT_CPU}; fi
PIPY=${BENCH_PIPY:-$ROOT/bin/pipy}
read -r -a PIPY_ARGS <<<"${BENCH_PIPY_ARGS:-}"
HELLO_SCRIPT=${BENCH_HELLO_SCRIPT:-$ROOT/test/002-hello/pipy.js}
PROXY_SCRIPT=$BENCH/scripts/tcp-proxy.js
ROUTING_SCRIPT=$BENCH/scripts/routing.js
H2_HELLO_SCRIPT=$BENCH/scripts/h2-hello.js
H2_PROXY_SCRIPT=$BENCH/scripts/h2-proxy.js
ROUTING_LUA=$BENCH/wrk/routing.lua
START_TIMEOUT=${BENCH_START_TIMEOUT:-10}
STATE=${BENCH_STATE_DIR:-${TMPDIR:-/tmp}/pipy-bench}
OUT_DIR=${BENCH_RESULTS_DIR:-$BENCH/results}
DOC=${BENCH_DOC:-$ROOT/docs/performance.md}
STRACE=false
if [[ ${BENCH_STRACE:-0} != 0 ]]; then STRACE=true; fi
STRACE_DURATION=${BENCH_STRACE_DURATION:-3}

# Ports (127.0.0.1). The backend serves the same hello on two ports, one per
# upstream pool of http-route (tcp-proxy uses the first).
BACKEND_PORT=18090
BACKEND2_PORT=18091
SPAWN_PORT=18104

ALL_SCENARIOS=(http-hello tcp-proxy http-route h2-hello h2-proxy)
ALL_SERVERS=(pipy nginx haproxy caddy)

# port_of SCENARIO SERVER: the port the server listens on in that scenario:
# 181<scenario index><server index>.
port_of() {
  local s i j
  for i in "${!ALL_SCENARIOS[@]}"; do
    if [[ ${ALL_SCENARIOS[i]} == "$1" ]]; then s=$i; fi
  done
  for j in "${!ALL_SERVERS[@]}"; do
    if [[ ${ALL_SERVERS[j]} == "$2" ]]; then printf '181%d%d\n' "$s" "$j"; fi
  done
}

# supported SCENARIO SERVER: Debian's caddy has no raw TCP proxy (layer4 is
# a third-party module), so it sits tcp-proxy out.
supported() { [[ "$1.$2" != tcp-proxy.caddy ]]; }

# A scenario that needs the nginx backend.
needs_backend() { [[ $1 == tcp-proxy || $1 == http-route || $1 == h2-proxy ]]; }

# An HTTP/2 scenario: h2load instead of wrk, one load level.
is_h2() { [[ $1 == h2-* ]]; }

# any_scenario PREDICATE: some selected scenario satisfies it (is_h2) or,
# with !, does not.
any_scenario() {
  local s
  for s in "${SCENARIOS[@]}"; do
    if [[ $1 == ! ]]; then
      "$2" "$s" || return 0
    else
      "$1" "$s" && return 0
    fi
  done
  return 1
}

EXPECTED_BODY=$'Hello!\n'

# ----------------------------------------------------------------------------
# helpers

log() { printf '[bench] %s\n' "$*" >&2; }
die() {
  printf '[bench] error: %s\n' "$*" >&2
  exit 1
}

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }
is_pos() { is_uint "$1" && (($1 > 0)); }

has() { command -v "$1" >/dev/null 2>&1; }

in_list() {
  local x=$1
  shift
  local y
  for y in "$@"; do [[ $y == "$x" ]] && return 0; done
  return 1
}

as_root() {
  if [[ $(id -u) -eq 0 ]]; then
    "$@"
  elif has sudo; then
    sudo "$@"
  else
    die "need root (or sudo) to run: $*"
  fi
}

APT_UPDATED=false
apt_install() {
  [[ -z ${BENCH_NO_INSTALL:-} ]] || die "missing $*; install it (BENCH_NO_INSTALL is set)"
  has apt-get || die "missing $*; no apt-get on this machine, install it by hand"
  if ! $APT_UPDATED; then
    log "apt-get update"
    as_root apt-get update -q >/dev/null
    APT_UPDATED=true
  fi
  log "apt-get install $*"
  # Debian packages start their service on install unless policy-rc.d says
  # no; the bench starts its own instances, on its own ports.
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >/dev/null
}

# nginx_configure prints nginx's configure arguments (nginx -V writes to stderr).
nginx_configure() { nginx -V 2>&1 | sed -n 's/^configure arguments: //p'; }

# need_nginx: nginx is the backend of the proxy scenarios, and a peer.
need_nginx() {
  local s
  in_list nginx "${SERVERS[@]}" && return 0
  for s in "${SCENARIOS[@]}"; do needs_backend "$s" && return 0; done
  return 1
}

install_tools() {
  local pkgs=()
  if any_scenario ! is_h2 && ! has wrk; then pkgs+=(wrk); fi
  if any_scenario is_h2 && ! has h2load; then pkgs+=(nghttp2-client); fi
  has curl || pkgs+=(curl)
  if $STRACE && ! has strace; then pkgs+=(strace); fi
  if need_nginx && ! has nginx; then pkgs+=(nginx-light); fi
  if in_list haproxy "${SERVERS[@]}" && ! has haproxy; then pkgs+=(haproxy); fi
  if in_list caddy "${SERVERS[@]}" && ! has caddy; then pkgs+=(caddy); fi
  if ((${#pkgs[@]})); then
    if ! apt_install "${pkgs[@]}"; then
      # Distributions without nginx-light ship the binary as "nginx".
      pkgs=("${pkgs[@]/nginx-light/nginx}")
      apt_install "${pkgs[@]}"
    fi
  fi
  if need_nginx; then has nginx || die "nginx not found after install"; fi
  if in_list haproxy "${SERVERS[@]}"; then has haproxy || die "haproxy not found after install"; fi
  if in_list caddy "${SERVERS[@]}"; then has caddy || die "caddy not found after install"; fi
  if any_scenario ! is_h2; then has wrk || die "wrk not found after install"; fi
  if any_scenario is_h2; then
    has h2load || die "h2load not found after install (Debian package nghttp2-client)"
    # The h2 checks use curl --http2-prior-knowledge.
    curl -V | grep -qw HTTP2 || die "this curl has no HTTP/2 support; the h2 scenarios need it"
  fi
  has curl || die "curl not found after install"
  if $STRACE; then has strace || die "strace not found after install"; fi
}

# stream_load_line prints the load_module directive the nginx tcp-proxy
# config needs (empty when stream is built in), installing the module if missing.
stream_load_line() {
  local args modpath so
  args=$(nginx_configure)
  if [[ " $args " == *" --with-stream=dynamic "* ]]; then
    modpath=$(sed -n 's/.*--modules-path=\([^ ]*\).*/\1/p' <<<"$args")
    modpath=${modpath:-/usr/lib/nginx/modules}
    so=$modpath/ngx_stream_module.so
    if [[ ! -f $so ]]; then
      apt_install libnginx-mod-stream >&2
    fi
    [[ -f $so ]] || die "nginx stream module not found at $so"
    printf 'load_module %s;\n' "$so"
  elif [[ " $args " == *" --with-stream "* ]]; then
    printf '\n'
  else
    log "this nginx has no stream module; installing the full nginx package"
    apt_install nginx libnginx-mod-stream >&2
    [[ " $(nginx_configure) " == *" --with-stream"* ]] || die "nginx still lacks the stream module"
    stream_load_line
  fi
}

# http_temp_paths prints *_temp_path directives for every temp-using module
# this nginx has, so nothing is written outside the run directory.
http_temp_paths() {
  local args m
  args=$(nginx_configure)
  printf '    client_body_temp_path %s/tmp/client_body;\n' "$RUNDIR"
  for m in proxy fastcgi uwsgi scgi; do
    [[ " $args " == *" --without-http_${m}_module "* ]] ||
      printf '    %s_temp_path %s/tmp/%s;\n' "$m" "$RUNDIR" "$m"
  done
}

# render_conf TEMPLATE NAME PORT: writes $RUNDIR/NAME.<ext of TEMPLATE> with
# the @...@ placeholders filled in, prints its path.
render_conf() {
  local template=$1 name=$2 port=$3 out
  out=$RUNDIR/$name.${template##*.}
  awk -v rundir="$RUNDIR" -v name="$name" -v port="$port" \
    -v backend="$BACKEND_PORT" -v backend2="$BACKEND2_PORT" \
    -v temps="$TEMP_PATHS" -v mods="$LOAD_MODULES" '
    $0 == "@TEMP_PATHS@"   { print temps; next }
    $0 == "@LOAD_MODULES@" { print mods; next }
    {
      gsub(/@RUNDIR@/, rundir); gsub(/@NAME@/, name)
      gsub(/@PORT@/, port); gsub(/@BACKEND2@/, backend2); gsub(/@BACKEND@/, backend)
      print
    }' "$template" >"$out"
  printf '%s\n' "$out"
}

# hello_script PORT: $RUNDIR/pipy-hello-PORT.js, a copy of the pipy hello
# script listening on PORT instead of 6080 (other tests on this machine may
# use 6080).
hello_script() {
  local out=$RUNDIR/pipy-hello-$1.js
  sed -E "s/\\.listen\\((6080|'6080'|\"6080\")\\)/.listen($1)/" "$HELLO_SCRIPT" >"$out"
  grep -q "\\.listen($1)" "$out" ||
    die "cannot rewrite the port of $HELLO_SCRIPT: it must contain .listen(6080)"
}

# ---- processes ---------------------------------------------------------------

# children PID: direct children of PID (from /proc; no procps needed).
children() {
  local f line rest
  local -a fields
  if [[ -r /proc/$1/task/$1/children ]]; then
    for f in /proc/"$1"/task/*/children; do
      fields=()
      # The file has no trailing newline, so read "fails" at EOF: ignore that.
      { read -r -a fields <"$f"; } 2>/dev/null || true
      ((${#fields[@]} == 0)) || printf '%s\n' "${fields[@]}"
    done
    return 0
  fi
  for f in /proc/[0-9]*/stat; do
    { read -r line <"$f"; } 2>/dev/null || continue
    rest=${line##*) } # skip "pid (comm) "; comm may contain spaces
    read -r -a fields <<<"$rest"
    if [[ ${fields[1]} == "$1" ]]; then
      f=${f#/proc/}
      printf '%s\n' "${f%/stat}"
    fi
  done
  return 0
}

# tree PID: PID and all its descendants.
tree() {
  local c
  printf '%s\n' "$1"
  for c in $(children "$1"); do
    tree "$c"
  done
}

# snap_mem PID FILE: /proc/P/smaps_rollup of PID and its descendants (nginx:
# master + worker; pipy --spawn: master + workers), one after the other, into
# FILE (bench/report sums their Rss). Fails if none could be read.
snap_mem() {
  local p
  for p in $(tree "$1"); do
    cat "/proc/$p/smaps_rollup" 2>/dev/null || true
  done >"$2"
  [[ -s $2 ]] || {
    log "cannot read /proc/$1/smaps_rollup (the server is gone?)"
    return 1
  }
}

# snap_cpu PID FILE: a CPU snapshot of PID and its descendants into FILE:
# the time (date +%s.%N), then the /proc/P/stat line of each process
# (bench/report takes utime+stime of two snapshots).
snap_cpu() {
  local p line
  {
    date +%s.%N
    for p in $(tree "$1"); do
      { read -r line <"/proc/$p/stat"; } 2>/dev/null || continue
      printf '%s\n' "$line"
    done
  } >"$2"
  grep -q '(' "$2" || {
    log "cannot read /proc/$1/stat (the server is gone?)"
    return 1
  }
}

alive() { [[ -d /proc/$1 ]] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }

STARTED_PID=
# start_bg CPU LOGFILE CMD...: start CMD in the background, pinned to CPU
# (unless CPU is "-"), remember its pid (in STARTED_PID and in $STATE/pids
# for leftover cleanup).
start_bg() {
  local cpu=$1 logf=$2
  shift 2
  # setsid: own session, so a Ctrl-C on the terminal reaches only this script
  # (whose trap stops the servers); 9>&-: do not inherit the lock.
  if [[ $cpu == - ]]; then
    setsid "$@" >"$logf" 2>&1 9>&- &
  else
    setsid taskset -c "$cpu" "$@" >"$logf" 2>&1 9>&- &
  fi
  STARTED_PID=$!
  printf '%s\n' "$STARTED_PID" >>"$STATE/pids"
}

# stop PID: SIGTERM, up to 5 s grace, then SIGKILL; also kills children
# (nginx workers, pipy workers) that outlive it.
stop() {
  local pid=$1 i p
  local -a procs
  if ! alive "$pid"; then
    wait "$pid" 2>/dev/null || true
    return 0
  fi
  mapfile -t procs < <(tree "$pid")
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    alive "$pid" || break
    sleep 0.05
  done
  if alive "$pid"; then
    log "pid $pid ($(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | cut -c1-60)) did not stop on SIGTERM within 5s, killing it"
  fi
  for p in "${procs[@]}"; do
    if alive "$p"; then kill -KILL "$p" 2>/dev/null || true; fi
  done
  wait "$pid" 2>/dev/null || true
}

# kill_leftovers: servers (and wrk) a previous, killed run started and left
# behind, found by the pids it recorded (never by name).
kill_leftovers() {
  local pid exe
  [[ -f $STATE/pids ]] || return 0
  while read -r pid; do
    [[ -n $pid && -d /proc/$pid ]] || continue
    exe=$(readlink "/proc/$pid/exe" 2>/dev/null || true)
    case ${exe##*/} in
      nginx | haproxy | caddy | pipy | "${PIPY##*/}" | timeout | wrk | strace)
        log "killing leftover ${exe##*/} (pid $pid) from an earlier run"
        stop "$pid"
        ;;
    esac
  done <"$STATE/pids"
  : >"$STATE/pids"
}

LOAD_PID=
cleanup() {
  local pid
  if [[ -n $LOAD_PID ]]; then
    kill -TERM "$LOAD_PID" 2>/dev/null || true
    wait "$LOAD_PID" 2>/dev/null || true
    LOAD_PID=
  fi
  [[ -f $STATE/pids ]] || return 0
  while read -r pid; do
    [[ -n $pid ]] && stop "$pid"
  done <"$STATE/pids"
  : >"$STATE/pids"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# port_owner PORT: who listens on PORT, if ss can tell.
port_owner() {
  if has ss; then
    ss -Hltnp "sport = :$1" 2>/dev/null | sed -n 's/.*users:((\("[^"]*",pid=[0-9]*\).*/\1/p' | head -n 1
  fi
}

# port_free PORT: fails (with a message) if something already listens on PORT.
port_free() {
  local owner
  if port_open "$1"; then
    owner=$(port_owner "$1")
    log "port $1 is already in use${owner:+ (by $owner)}; stop that server first"
    return 1
  fi
}

# wait_port PID PORT LOGFILE: wait until PORT accepts connections (bounded);
# fails if PID exits first.
wait_port() {
  local pid=$1 port=$2 logf=$3 deadline
  deadline=$((SECONDS + START_TIMEOUT))
  while ! port_open "$port"; do
    if ! alive "$pid"; then
      log "server (pid $pid) exited before listening on $port; its log:"
      tail -n 20 "$logf" >&2 || true
      return 1
    fi
    if ((SECONDS >= deadline)); then
      log "port $port not accepting connections after ${START_TIMEOUT}s; log:"
      tail -n 20 "$logf" >&2 || true
      return 1
    fi
    sleep 0.05
  done
}

# ---- servers -------------------------------------------------------------------

# start_nginx NAME CONF CPU PORT: start nginx with CONF, wait for PORT.
start_nginx() {
  local name=$1 conf=$2 cpu=$3 port=$4 logf=$RUNDIR/$1.log
  local -a cmd=(nginx -p "$RUNDIR/" -c "$conf")
  if $NGINX_HAS_E; then cmd+=(-e "$RUNDIR/$name.error.log"); fi
  start_bg "$cpu" "$logf" "${cmd[@]}"
  wait_port "$STARTED_PID" "$port" "$logf"
}

# start_haproxy NAME CONF CPU PORT: one process (-db: foreground, no daemon).
start_haproxy() {
  local name=$1 conf=$2 cpu=$3 port=$4 logf=$RUNDIR/$1.log
  start_bg "$cpu" "$logf" haproxy -db -f "$conf"
  wait_port "$STARTED_PID" "$port" "$logf"
}

# start_caddy NAME CONF CPU PORT: caddy with a JSON config (admin off, logs
# discarded), GOMAXPROCS=1, its data and config directories in the run dir.
start_caddy() {
  local name=$1 conf=$2 cpu=$3 port=$4 logf=$RUNDIR/$1.log home=$RUNDIR/$1.home
  mkdir -p "$home"
  start_bg "$cpu" "$logf" env GOMAXPROCS=1 HOME="$home" \
    XDG_DATA_HOME="$home/data" XDG_CONFIG_HOME="$home/config" \
    caddy run --config "$conf"
  wait_port "$STARTED_PID" "$port" "$logf"
}

# start_pipy NAME SCRIPT CPU PORT [ENV=VALUE...]: one process; pinned, so
# GOMAXPROCS=1 (the Go runtime would also derive it from the affinity).
start_pipy() {
  local name=$1 script=$2 cpu=$3 port=$4 logf=$RUNDIR/$1.log
  shift 4
  start_bg "$cpu" "$logf" env GOMAXPROCS=1 "$@" "$PIPY" --drain-timeout=1s "${PIPY_ARGS[@]}" "$script"
  wait_port "$STARTED_PID" "$port" "$logf"
}

# start_server SCENARIO SERVER PORT: start the server under test.
start_server() {
  local scenario=$1 server=$2 port=$3 name=$2-$1 conf
  case $scenario.$server in
    http-hello.pipy)
      start_pipy "$name" "$RUNDIR/pipy-hello-$port.js" "$SERVER_CPU" "$port"
      ;;
    tcp-proxy.pipy)
      start_pipy "$name" "$PROXY_SCRIPT" "$SERVER_CPU" "$port" \
        "PIPY_BENCH_PORT=$port" "PIPY_BENCH_BACKEND=$BACKEND_PORT"
      ;;
    http-route.pipy)
      start_pipy "$name" "$ROUTING_SCRIPT" "$SERVER_CPU" "$port" "PIPY_BENCH_PORT=$port" \
        "PIPY_BENCH_API=127.0.0.1:$BACKEND_PORT" "PIPY_BENCH_HELLO=127.0.0.1:$BACKEND2_PORT"
      ;;
    h2-hello.pipy)
      pipy_has "$scenario" demuxHttp || return 1
      start_pipy "$name" "$H2_HELLO_SCRIPT" "$SERVER_CPU" "$port" "PIPY_BENCH_PORT=$port"
      ;;
    h2-proxy.pipy)
      pipy_has "$scenario" demuxHttp muxHttp || return 1
      start_pipy "$name" "$H2_PROXY_SCRIPT" "$SERVER_CPU" "$port" \
        "PIPY_BENCH_PORT=$port" "PIPY_BENCH_BACKEND=$BACKEND_PORT"
      ;;
    *.nginx)
      conf=$(render_conf "$BENCH/nginx/$(conf_base "$scenario").conf" "$name" "$port")
      start_nginx "$name" "$conf" "$SERVER_CPU" "$port"
      ;;
    *.haproxy)
      conf=$(render_conf "$BENCH/haproxy/$(conf_base "$scenario").cfg" "$name" "$port")
      start_haproxy "$name" "$conf" "$SERVER_CPU" "$port"
      ;;
    *.caddy)
      conf=$(render_conf "$BENCH/caddy/$(conf_base "$scenario").json" "$name" "$port")
      start_caddy "$name" "$conf" "$SERVER_CPU" "$port"
      ;;
    *) die "unknown scenario/server: $scenario/$server" ;;
  esac
}

# conf_base SCENARIO: base name of the peers' config files.
conf_base() {
  case $1 in
    http-hello) printf 'hello\n' ;;
    tcp-proxy) printf 'tcp-proxy\n' ;;
    http-route) printf 'routing\n' ;;
    h2-hello | h2-proxy) printf '%s\n' "$1" ;;
  esac
}

# pipy_has SCENARIO FILTER...: this bin/pipy has the filters (pipy
# --list-filters); if not, says so in the log and in the run directory
# (failure.txt, shown by the report) and fails, so the script is not even
# started.
PIPY_FILTERS=
pipy_has() {
  local scenario=$1 f missing=()
  shift
  if [[ -z $PIPY_FILTERS ]]; then
    PIPY_FILTERS=$("$PIPY" --list-filters 2>/dev/null | awk 'NF { print $1 }') || true
  fi
  for f in "$@"; do
    grep -qx -- "$f" <<<"$PIPY_FILTERS" || missing+=("$f")
  done
  ((${#missing[@]} == 0)) && return 0
  local list
  list=$(printf '%s, ' "${missing[@]}")
  fail_note "$scenario" pipy "pipy: ${list%, } not available (not in ${PIPY#"$ROOT"/} --list-filters)"
  return 1
}

# fail_note SCENARIO SERVER TEXT: why this measurement failed, in the log
# and in the run directory (failure.txt, one line; the report shows it).
fail_note() {
  log "$1/$2: $3"
  printf '%s\n' "$3" >"$(run_dir "$1" "$2")/failure.txt"
}

# check_get PORT PATH [STATUS]: one request; the body must be Hello!\n (and
# the status 200).
check_get() {
  local port=$1 path=$2 out body status
  out=$(curl -sS -m 5 -w '\n%{http_code}' "http://127.0.0.1:$port$path" 2>&1) || {
    log "GET http://127.0.0.1:$port$path failed: $out"
    return 1
  }
  status=${out##*$'\n'}
  body=${out%$'\n'*}
  [[ $status == 200 && $body == "$EXPECTED_BODY" ]] || {
    log "GET http://127.0.0.1:$port$path answered $status $(printf '%q' "$body"), expected 200 $(printf '%q' "$EXPECTED_BODY")"
    return 1
  }
}

# check_h2 PORT PATH: one request over h2c (prior knowledge, as h2load
# sends it): it must be answered in HTTP/2, 200, body Hello!\n.
check_h2() {
  local port=$1 path=$2 out body tail status version
  out=$(curl -sS -m 5 --http2-prior-knowledge -w '\n%{http_code} %{http_version}' "http://127.0.0.1:$port$path" 2>&1) || {
    log "GET http://127.0.0.1:$port$path over h2c (curl --http2-prior-knowledge) failed: $out"
    return 1
  }
  tail=${out##*$'\n'}
  body=${out%$'\n'*}
  status=${tail% *}
  version=${tail#* }
  [[ $version == 2 && $status == 200 && $body == "$EXPECTED_BODY" ]] || {
    log "GET http://127.0.0.1:$port$path over h2c answered HTTP/$version $status $(printf '%q' "$body"), expected HTTP/2 200 $(printf '%q' "$EXPECTED_BODY")"
    return 1
  }
}

# check_server SCENARIO PORT: the answers wrk (h2load) will get are the right ones.
check_server() {
  case $1 in
    h2-*) check_h2 "$2" / ;;
    http-route)
      # Both routes, as wrk/routing.lua alternates them; an unrouted path
      # must not reach the backend.
      check_get "$2" /api/hello && check_get "$2" /hello || return 1
      local status
      status=$(curl -sS -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$2/other" 2>&1) || true
      [[ $status == 404 ]] || {
        log "GET http://127.0.0.1:$2/other answered $status, expected 404"
        return 1
      }
      ;;
    *) check_get "$2" / ;;
  esac
}

# ---- load ------------------------------------------------------------------------

now() { date +%s.%N; }

# load_start SECONDS PORT CONNS OUTFILE SCENARIO: one wrk run pinned to the
# client CPU, in the background (LOAD_PID), so that a signal to this script
# runs its trap at once instead of after wrk finishes. In the h2 scenarios
# h2load instead (one thread, BENCH_H2_CLIENTS connections of
# BENCH_H2_STREAMS concurrent streams, h2c with prior knowledge, for
# SECONDS; CONNS is not used).
load_start() {
  local secs=$1 port=$2 conns=$3 out=$4 scenario=$5
  local -a cmd script=()
  if is_h2 "$scenario"; then
    cmd=(h2load -t1 -c"$H2_CLIENTS" -m"$H2_STREAMS" -D "$secs" "http://127.0.0.1:$port/")
  else
    [[ $scenario != http-route ]] || script=(-s "$ROUTING_LUA")
    cmd=(wrk -t1 -c"$conns" -d"${secs}s" --latency "${script[@]}" "http://127.0.0.1:$port/")
  fi
  timeout $((secs + 30)) taskset -c "$CLIENT_CPU" "${cmd[@]}" >"$out" 2>&1 9>&- &
  LOAD_PID=$!
  printf '%s\n' "$LOAD_PID" >>"$STATE/pids"
}

load_wait() {
  local rc=0
  wait "$LOAD_PID" || rc=$?
  LOAD_PID=
  return "$rc"
}

# upstream_conns: established connections to the backend's two ports (the
# proxy's side of them), one line each.
upstream_conns() {
  ss -Htn state established "( dport = :$BACKEND_PORT or dport = :$BACKEND2_PORT )" 2>/dev/null || true
}

# run_dir SCENARIO SERVER: the raw directory of this run (created).
run_dir() {
  local d=$OUT_DIR/raw/$1/$2/run$RUN
  mkdir -p "$d"
  printf '%s\n' "$d"
}

# give_up DIR FILE...: rename the files of a measurement that failed to
# FILE.failed, so bench/report does not count them (they stay for reading).
give_up() {
  local dir=$1 f
  shift
  for f in "$@"; do
    if [[ -e $dir/$f ]]; then mv -f "$dir/$f" "$dir/$f.failed"; fi
  done
}

# report_line SCENARIO SERVER CONNS|strace|h2load: log the figures of the
# measurement just made; fails with bench/report's status: 2 if its raw
# output does not parse (bench/report names the file), 1 if h2load counted
# failed requests (the line says how many).
report_line() {
  local line rc=0
  line=$("$REPORT" line "$OUT_DIR" "$1" "$2" "$RUN" "$3") || rc=$?
  [[ -z $line ]] || log "$line"
  return "$rc"
}

# measure SCENARIO SERVER PID PORT: idle memory, warm-up, one measured wrk
# run per concurrency (measure_at); with BENCH_STRACE, a traced run. Leaves
# the raw files in the run directory (see bench/README.md, Output files);
# fails if the server misbehaves.
measure() {
  local scenario=$1 server=$2 pid=$3 port=$4 dir c first=true
  dir=$(run_dir "$scenario" "$server")

  check_server "$scenario" "$port" || return 1
  snap_mem "$pid" "$dir/mem.idle.txt" || return 1

  if ((WARMUP > 0)); then
    load_start "$WARMUP" "$port" "${CONNS[0]}" "$RUNDIR/warmup.txt" "$scenario"
    load_wait || {
      log "warm-up $(load_tool "$scenario") failed:"
      cat "$RUNDIR/warmup.txt" >&2
      return 1
    }
  fi

  if is_h2 "$scenario"; then
    measure_h2 "$scenario" "$server" "$pid" "$port" "$dir"
    return
  fi
  for c in "${CONNS[@]}"; do
    measure_at "$scenario" "$server" "$pid" "$port" "$dir" "$c" "$first" || {
      give_up "$dir" "wrk.c$c.txt" "cpu.c$c.start" "cpu.c$c.end"
      if $first; then give_up "$dir" mem.load.txt upstream.txt; fi
      return 1
    }
    first=false
  done
  if $STRACE && [[ $server != pipy-spawn ]]; then
    trace "$scenario" "$server" "$pid" "$port" "$dir" || {
      give_up "$dir" strace.txt wrk.strace.txt
      return 1
    }
  fi
}

# measure_at SCENARIO SERVER PID PORT DIR CONNS FIRST: one measured wrk run
# with CPU snapshots around it; after the first (the load level, FIRST=true)
# also the memory and, in the proxy scenarios, the upstream connections
# half-way through.
measure_at() {
  local scenario=$1 server=$2 pid=$3 port=$4 dir=$5 c=$6 first=$7
  snap_cpu "$pid" "$dir/cpu.c$c.start" || return 1
  load_start "$DURATION" "$port" "$c" "$dir/wrk.c$c.txt" "$scenario"
  if $first && needs_backend "$scenario" && has ss; then
    # In the background and waited for, so a signal is handled at once.
    sleep "$((DURATION / 2)).$((DURATION % 2 * 5))" &
    wait $! || true
    upstream_conns >"$dir/upstream.txt"
  fi
  load_wait || {
    log "wrk failed:"
    cat "$dir/wrk.c$c.txt" >&2
    return 1
  }
  snap_cpu "$pid" "$dir/cpu.c$c.end" || return 1
  if $first; then snap_mem "$pid" "$dir/mem.load.txt" || return 1; fi
  alive "$pid" || {
    log "$server died during the load"
    return 1
  }
  report_line "$scenario" "$server" "$c"
}

load_tool() { if is_h2 "$1"; then printf 'h2load\n'; else printf 'wrk\n'; fi; }

# measure_h2 SCENARIO SERVER PID PORT DIR: the one measured h2load run of an
# h2 scenario, with CPU snapshots around it (cpu.h2load.start, .end), the
# memory after it and, in h2-proxy, the upstream connections half-way
# through. If h2load counted failed requests its files stay (the report
# shows the counts and fails the row) and this fails; on any other failure
# the files are given up.
measure_h2() {
  local scenario=$1 server=$2 pid=$3 port=$4 dir=$5 rc=0
  local -a files=(h2load.txt cpu.h2load.start cpu.h2load.end mem.load.txt upstream.txt)
  snap_cpu "$pid" "$dir/cpu.h2load.start" || rc=1
  if ((rc == 0)); then
    load_start "$DURATION" "$port" - "$dir/h2load.txt" "$scenario"
    if needs_backend "$scenario" && has ss; then
      sleep "$((DURATION / 2)).$((DURATION % 2 * 5))" &
      wait $! || true
      upstream_conns >"$dir/upstream.txt"
    fi
    load_wait || {
      log "h2load failed:"
      cat "$dir/h2load.txt" >&2
      rc=1
    }
  fi
  if ((rc == 0)); then
    snap_cpu "$pid" "$dir/cpu.h2load.end" && snap_mem "$pid" "$dir/mem.load.txt" || rc=1
  fi
  if ((rc == 0)) && ! alive "$pid"; then
    log "$server died during the load"
    rc=1
  fi
  if ((rc == 0)); then
    report_line "$scenario" "$server" h2load || rc=$?
    if ((rc == 1)); then
      return 1 # requests failed: the files stay for the report
    fi
  fi
  if ((rc != 0)); then
    give_up "$dir" "${files[@]}"
    return 1
  fi
}

# trace SCENARIO SERVER PID PORT DIR: `strace -c -f` attached to the server
# and its children during an extra wrk run at the load level (BENCH_STRACE).
trace() {
  local scenario=$1 server=$2 pid=$3 port=$4 dir=$5 p n deadline spid tlog=$RUNDIR/strace.log
  local -a pids=() args=()
  mapfile -t pids < <(tree "$pid")
  for p in "${pids[@]}"; do args+=(-p "$p"); done
  : >"$tlog"
  strace -c -f -o "$dir/strace.txt" "${args[@]}" 2>"$tlog" 9>&- &
  spid=$!
  printf '%s\n' "$spid" >>"$STATE/pids"
  # strace says "Process N attached" for each process; wait (bounded) until
  # it has them all.
  deadline=$((SECONDS + START_TIMEOUT))
  while n=$(grep -c ' attached' "$tlog") || true; ((${n:-0} < ${#pids[@]})); do
    if ! alive "$spid" || ((SECONDS >= deadline)); then
      log "strace did not attach to ${pids[*]}:"
      cat "$tlog" >&2
      stop "$spid"
      return 1
    fi
    sleep 0.05
  done
  load_start "$STRACE_DURATION" "$port" "${CONNS[0]}" "$dir/wrk.strace.txt" "$scenario"
  if ! load_wait; then
    log "wrk failed under strace:"
    cat "$dir/wrk.strace.txt" >&2
    stop "$spid"
    return 1
  fi
  # On SIGTERM strace detaches and writes its table.
  stop "$spid"
  report_line "$scenario" "$server" strace
}

# bench_one SCENARIO SERVER: start the server, measure, stop it.
bench_one() {
  local scenario=$1 server=$2 port ok=0
  STARTED_PID=
  port=$(port_of "$scenario" "$server")
  if port_free "$port"; then
    start_server "$scenario" "$server" "$port" || ok=1
    if ((ok == 0)); then
      measure "$scenario" "$server" "$STARTED_PID" "$port" || ok=1
    fi
  else
    ok=1
  fi
  if [[ -n $STARTED_PID ]]; then stop "$STARTED_PID"; fi
  if ((ok != 0)); then
    log "$scenario/$server run $RUN FAILED (logs in $RUNDIR)"
    FAILED=true
  fi
}

# bench_spawn: the scaling line, pipy --spawn=N on http-hello, not pinned
# (each worker GOMAXPROCS=1), wrk still pinned to the client CPU. Recorded
# as server "pipy-spawn" of http-hello, load level only.
bench_spawn() {
  local port=$SPAWN_PORT ok=0 pid
  local -a save=("${CONNS[@]}")
  STARTED_PID=
  if port_free "$port"; then
    start_bg - "$RUNDIR/pipy-spawn.log" env GOMAXPROCS=1 "$PIPY" --drain-timeout=1s "${PIPY_ARGS[@]}" \
      "--spawn=$SPAWN" "$RUNDIR/pipy-hello-$port.js"
    pid=$STARTED_PID
    wait_port "$pid" "$port" "$RUNDIR/pipy-spawn.log" || ok=1
    if ((ok == 0)); then
      CONNS=("${save[0]}")
      measure http-hello pipy-spawn "$pid" "$port" || ok=1
      CONNS=("${save[@]}")
    fi
  else
    ok=1
  fi
  if [[ -n $STARTED_PID ]]; then stop "$STARTED_PID"; fi
  if ((ok != 0)); then
    log "http-hello/pipy --spawn=$SPAWN run $RUN FAILED (logs in $RUNDIR)"
    FAILED=true
  fi
}

# ---- report ----------------------------------------------------------------------

# build_report: build bench/report (the Go program that parses the raw
# files, takes the medians and writes the report) into the state directory.
build_report() {
  local go=${GO:-go}
  if ! has "$go" && [[ -x /usr/local/go/bin/go ]]; then go=/usr/local/go/bin/go; fi
  has "$go" || die "Go is needed to build bench/report, which writes the report (set GO=/path/to/go)"
  REPORT=$STATE/bench-report
  (cd "$ROOT" && "$go" build -o "$REPORT" ./bench/report) || die "cannot build bench/report"
}

# binary_sizes: BIN_BYTES (bin/pipy as built) and STRIPPED_BYTES (after
# strip --strip-all, on a copy).
BIN_BYTES=
STRIPPED_BYTES=
binary_sizes() {
  [[ -f $PIPY ]] || return 0
  BIN_BYTES=$(stat -c %s "$PIPY")
  if has strip && strip --strip-all -o "$RUNDIR/pipy.stripped" "$PIPY" 2>/dev/null; then
    STRIPPED_BYTES=$(stat -c %s "$RUNDIR/pipy.stripped")
    rm -f "$RUNDIR/pipy.stripped"
  elif has file && file -L "$PIPY" | grep -q ', stripped'; then
    STRIPPED_BYTES=$BIN_BYTES
  fi
}

# save_versions: the tools' own version outputs, raw, in versions/.
save_versions() {
  local v=$OUT_DIR/versions
  mkdir -p "$v"
  if [[ -x $PIPY ]]; then "$PIPY" -v >"$v/pipy.txt" 2>/dev/null || true; fi
  if has nginx; then nginx -v >"$v/nginx.txt" 2>&1 || true; fi
  if has haproxy; then haproxy -v >"$v/haproxy.txt" 2>&1 || true; fi
  if has caddy; then caddy version >"$v/caddy.txt" 2>/dev/null || true; fi
  if has wrk; then wrk -v >"$v/wrk.txt" 2>&1 || true; fi
  if has h2load; then h2load --version >"$v/h2load.txt" 2>&1 || true; fi
}

# write_meta: run.txt, the settings and the machine (KEY=VALUE; bench/report
# documents the keys).
write_meta() {
  local s v unsupported=() backend=() h2=()
  for s in "${ALL_SCENARIOS[@]}"; do
    for v in "${ALL_SERVERS[@]}"; do supported "$s" "$v" || unsupported+=("$s/$v"); done
    if needs_backend "$s"; then backend+=("$s"); fi
    if is_h2 "$s"; then h2+=("$s"); fi
  done
  {
    printf 'duration=%s\n' "$DURATION"
    printf 'runs=%s\n' "$RUNS"
    printf 'warmup=%s\n' "$WARMUP"
    printf 'conns=%s\n' "${CONNS[*]}"
    printf 'scenarios=%s\n' "${SCENARIOS[*]}"
    printf 'servers=%s\n' "${SERVERS[*]}"
    printf 'unsupported=%s\n' "${unsupported[*]}"
    printf 'backend_scenarios=%s\n' "${backend[*]}"
    printf 'h2_scenarios=%s\n' "${h2[*]}"
    printf 'h2_clients=%s\n' "$H2_CLIENTS"
    printf 'h2_streams=%s\n' "$H2_STREAMS"
    printf 'scaling=%s\n' "$DO_SCALING"
    printf 'spawn=%s\n' "$SPAWN"
    printf 'server_cpu=%s\n' "$SERVER_CPU"
    printf 'client_cpu=%s\n' "$CLIENT_CPU"
    printf 'backend_cpu=%s\n' "$BACKEND_CPU"
    printf 'nproc=%s\n' "$NCPU"
    printf 'cpu_model=%s\n' "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
    printf 'kernel=%s\n' "$(uname -sr)"
    printf 'loadavg=%s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
    printf 'commit=%s\n' "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || printf -- '-')"
    printf 'clk_tck=%s\n' "$(getconf CLK_TCK)"
  } >"$OUT_DIR/run.txt"
}

# ----------------------------------------------------------------------------
# main

is_pos "$DURATION" || die "BENCH_DURATION must be a positive integer (seconds)"
is_pos "$RUNS" || die "BENCH_RUNS must be a positive integer"
is_uint "$WARMUP" || die "BENCH_WARMUP must be an integer (seconds)"
((${#CONNS[@]} > 0)) || die "BENCH_CONNS is empty"
for c in "${CONNS[@]}"; do
  is_pos "$c" || die "BENCH_CONNS: '$c' is not a positive integer"
done
is_pos "$START_TIMEOUT" || die "BENCH_START_TIMEOUT must be a positive integer (seconds)"
is_pos "$SPAWN" || die "BENCH_SPAWN must be a positive integer"
is_pos "$H2_CLIENTS" || die "BENCH_H2_CLIENTS must be a positive integer"
is_pos "$H2_STREAMS" || die "BENCH_H2_STREAMS must be a positive integer"
is_pos "$STRACE_DURATION" || die "BENCH_STRACE_DURATION must be a positive integer (seconds)"
((${#SCENARIOS[@]} > 0)) || die "BENCH_SCENARIOS is empty"
((${#SERVERS[@]} > 0)) || die "BENCH_SERVERS is empty"
for s in "${SCENARIOS[@]}"; do
  in_list "$s" "${ALL_SCENARIOS[@]}" || die "unknown scenario '$s' (${ALL_SCENARIOS[*]})"
done
for s in "${SERVERS[@]}"; do
  in_list "$s" "${ALL_SERVERS[@]}" || die "unknown server '$s' (${ALL_SERVERS[*]})"
done
WANT_PIPY=false
if in_list pipy "${SERVERS[@]}"; then WANT_PIPY=true; fi
DO_SCALING=false
if $WANT_PIPY && [[ $SCALING != 0 ]] && in_list http-hello "${SCENARIOS[@]}"; then DO_SCALING=true; fi

if $WANT_PIPY; then
  [[ -x $PIPY ]] || die "pipy binary not found at ${PIPY} (run 'make build' or './build.sh' first; BENCH_SERVERS=nginx,haproxy,caddy runs the peers alone)"
  if in_list http-hello "${SCENARIOS[@]}"; then
    [[ -f $HELLO_SCRIPT ]] || die "hello script not found: $HELLO_SCRIPT"
  fi
fi

if ! has taskset || ! has setsid; then die "taskset and setsid are needed (util-linux)"; fi
NCPU=$(nproc)
for c in "$SERVER_CPU" "$CLIENT_CPU" "$BACKEND_CPU"; do
  if ! is_uint "$c" || ((c >= NCPU)); then die "CPU $c does not exist here ($NCPU CPUs); set BENCH_SERVER_CPU / BENCH_CLIENT_CPU / BENCH_BACKEND_CPU"; fi
done
[[ $SERVER_CPU != "$CLIENT_CPU" ]] || log "warning: server and wrk share CPU $SERVER_CPU; numbers will be low"

install_tools
NGINX_HAS_E=false
if has nginx && nginx -h 2>&1 | grep -q -- '-e filename'; then NGINX_HAS_E=true; fi

mkdir -p "$STATE"
exec 9>"$STATE/lock"
if has flock; then
  flock -n 9 || die "another bench/run.sh is running (lock $STATE/lock)"
fi
kill_leftovers
build_report

# Every port this run will listen on must be free before anything starts.
busy=()
ports=()
for s in "${SCENARIOS[@]}"; do
  for srv in "${SERVERS[@]}"; do
    if supported "$s" "$srv"; then ports+=("$(port_of "$s" "$srv")"); fi
  done
  if needs_backend "$s"; then ports+=("$BACKEND_PORT" "$BACKEND2_PORT"); fi
done
if $DO_SCALING; then ports+=("$SPAWN_PORT"); fi
for p in $(printf '%s\n' "${ports[@]}" | sort -un); do
  port_free "$p" || busy+=("$p")
done
if ((${#busy[@]})); then
  die "port(s) ${busy[*]} on 127.0.0.1 already in use; the bench needs them free (see bench/README.md, Ports)"
fi

trap cleanup EXIT
trap 'log interrupted; cleanup; exit 130' INT
trap 'log terminated; cleanup; exit 143' TERM

RUNDIR=$STATE/run
rm -rf "$RUNDIR"
mkdir -p "$RUNDIR/tmp"
# The results directory: see the Go package doc (go doc ./bench/report)
# and bench/README.md, Output files.
mkdir -p "$OUT_DIR"
rm -rf "$OUT_DIR/raw" "$OUT_DIR/versions"
rm -f "$OUT_DIR/run.txt" "$OUT_DIR/results.tsv" "$OUT_DIR/latest.txt" "$OUT_DIR/latest.md"
mkdir -p "$OUT_DIR/raw"
write_meta
save_versions

if $WANT_PIPY && in_list http-hello "${SCENARIOS[@]}"; then
  hello_script "$(port_of http-hello pipy)"
  if $DO_SCALING; then hello_script "$SPAWN_PORT"; fi
fi

TEMP_PATHS=
LOAD_MODULES=
if has nginx; then TEMP_PATHS=$(http_temp_paths); fi
if in_list tcp-proxy "${SCENARIOS[@]}" && in_list nginx "${SERVERS[@]}"; then
  LOAD_MODULES=$(stream_load_line)
fi

FAILED=false
RUN=0
log "scenarios: ${SCENARIOS[*]}; servers: ${SERVERS[*]}; ${RUNS} run(s), ${WARMUP}s warm-up"
if any_scenario ! is_h2; then log "wrk -t1 -cN -d${DURATION}s, N in ${CONNS[*]}"; fi
if any_scenario is_h2; then log "h2 scenarios: h2load -t1 -c$H2_CLIENTS -m$H2_STREAMS -D $DURATION (h2c)"; fi
log "server on CPU $SERVER_CPU, wrk/h2load on CPU $CLIENT_CPU, backend on CPU $BACKEND_CPU; state in $STATE"
if $DO_SCALING; then log "scaling: pipy --spawn=$SPAWN on http-hello, not pinned"; fi

for ((RUN = 1; RUN <= RUNS; RUN++)); do
  # Alternate the order of servers between runs so none always goes first.
  order=("${SERVERS[@]}")
  if ((RUN % 2 == 0)); then
    order=()
    for ((i = ${#SERVERS[@]} - 1; i >= 0; i--)); do order+=("${SERVERS[i]}"); done
  fi
  for scenario in "${SCENARIOS[@]}"; do
    backend_pid=
    if needs_backend "$scenario"; then
      if ! port_free "$BACKEND_PORT" || ! port_free "$BACKEND2_PORT"; then die "cannot start the backend"; fi
      conf=$(render_conf "$BENCH/nginx/backend.conf" nginx-backend "$BACKEND_PORT")
      if ! start_nginx nginx-backend "$conf" "$BACKEND_CPU" "$BACKEND_PORT" ||
        ! wait_port "$STARTED_PID" "$BACKEND2_PORT" "$RUNDIR/nginx-backend.log" ||
        ! check_get "$BACKEND_PORT" /api/hello || ! check_get "$BACKEND2_PORT" /hello; then
        die "the backend (nginx on $BACKEND_PORT and $BACKEND2_PORT) did not start"
      fi
      backend_pid=$STARTED_PID
    fi
    for server in "${order[@]}"; do
      if supported "$scenario" "$server"; then bench_one "$scenario" "$server"; fi
    done
    if [[ $scenario == http-hello ]] && $DO_SCALING; then bench_spawn; fi
    if [[ -n $backend_pid ]]; then stop "$backend_pid"; fi
  done
done

binary_sizes
{
  printf 'bin_bytes=%s\n' "$BIN_BYTES"
  printf 'stripped_bytes=%s\n' "$STRIPPED_BYTES"
  printf 'date=%s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
} >>"$OUT_DIR/run.txt"
echo
# Prints the tables, writes latest.txt, latest.md and results.tsv.
"$REPORT" write "$OUT_DIR" || die "cannot write the report from ${OUT_DIR#"$ROOT"/} (see above)"
if [[ $DOC != none ]]; then
  mkdir -p "$(dirname "$DOC")"
  cp "$OUT_DIR/latest.md" "$DOC"
fi
echo
doc_note=
if [[ $DOC != none ]]; then doc_note=" and ${DOC#"$ROOT"/}"; fi
log "report written to ${OUT_DIR#"$ROOT"/}/latest.md$doc_note (raw outputs in ${OUT_DIR#"$ROOT"/}/raw/, all measurements in ${OUT_DIR#"$ROOT"/}/results.tsv)"
if $FAILED; then
  die "some runs failed (see above)"
fi
