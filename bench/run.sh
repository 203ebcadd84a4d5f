#!/usr/bin/env bash
#
# bench/run.sh: pipy vs nginx, HAProxy and Caddy, side by side, on this
# machine, in one run, with the same load generator (wrk).
#
# Scenarios (each: the server under test pinned to one core, wrk to another):
#   http-hello  every request answered 200 "Hello!\n" by the server itself
#               (pipy: test/002-hello/pipy.js)
#   tcp-proxy   raw TCP proxy in front of an nginx hello backend
#               (pipy: bench/scripts/tcp-proxy.js; Caddy: n/a)
#   http-route  HTTP reverse proxy routing /api/* and /hello* to two upstream
#               pools of the backend, with upstream keep-alive
#               (pipy: bench/scripts/routing.js; wrk alternates the two routes)
# plus a scaling line: pipy --spawn=2 (not pinned) vs pipy on http-hello.
#
# For every scenario and server: req/s, p50 and p99 latency at each
# concurrency of BENCH_CONNS (wrk -t1 -cN), RSS idle and right after the load,
# CPU used; medians over BENCH_RUNS runs; ratios pipy/peer. Prints the tables
# and writes them, with the targets, to docs/performance.md; raw results go
# to bench/results/. See bench/README.md.
#
# Knobs (environment):
#   BENCH_DURATION=10        seconds of measured load per scenario, server and concurrency
#   BENCH_RUNS=3             repetitions; the tables show the median of each value
#   BENCH_WARMUP=2           seconds of unmeasured load before the measurements (0 = none)
#   BENCH_CONNS="50 1"       wrk concurrencies (-c) measured; the first is the "load"
#                            level (RSS after load, CPU, upstream connections, targets)
#   BENCH_CONNECTIONS=50     older knob: the load level when BENCH_CONNS is not set
#   BENCH_SCENARIOS="http-hello tcp-proxy http-route"
#   BENCH_SERVERS="pipy nginx haproxy caddy"
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
#   BENCH_NO_INSTALL=1       never call apt-get
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench

DURATION=${BENCH_DURATION:-10}
RUNS=${BENCH_RUNS:-3}
WARMUP=${BENCH_WARMUP:-2}
read -r -a CONNS <<<"${BENCH_CONNS:-${BENCH_CONNECTIONS:-50} 1}"
read -r -a SCENARIOS <<<"${BENCH_SCENARIOS:-http-hello tcp-proxy http-route}"
read -r -a SERVERS <<<"${BENCH_SERVERS:-pipy nginx haproxy caddy}"
# Commas are accepted too: BENCH_SERVERS=pipy,nginx.
if [[ ${BENCH_CONNS:-} == *,* ]]; then IFS=, read -r -a CONNS <<<"${BENCH_CONNS// /}"; fi
if [[ ${BENCH_SCENARIOS:-} == *,* ]]; then IFS=, read -r -a SCENARIOS <<<"${BENCH_SCENARIOS// /}"; fi
if [[ ${BENCH_SERVERS:-} == *,* ]]; then IFS=, read -r -a SERVERS <<<"${BENCH_SERVERS// /}"; fi
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
ROUTING_LUA=$BENCH/wrk/routing.lua
START_TIMEOUT=${BENCH_START_TIMEOUT:-10}
STATE=${BENCH_STATE_DIR:-${TMPDIR:-/tmp}/pipy-bench}
OUT_DIR=${BENCH_RESULTS_DIR:-$BENCH/results}
DOC=${BENCH_DOC:-$ROOT/docs/performance.md}

# Ports (127.0.0.1). The backend serves the same hello on two ports, one per
# upstream pool of http-route (tcp-proxy uses the first).
BACKEND_PORT=18090
BACKEND2_PORT=18091
SPAWN_PORT=18104

ALL_SCENARIOS=(http-hello tcp-proxy http-route)
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
needs_backend() { [[ $1 == tcp-proxy || $1 == http-route ]]; }

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
  has wrk || pkgs+=(wrk)
  has curl || pkgs+=(curl)
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
  has wrk || die "wrk not found after install"
  has curl || die "curl not found after install"
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

# rss_kb PID: summed VmRSS (kB) of PID and its descendants (nginx: master +
# worker; pipy --spawn: master + workers).
rss_kb() {
  local total=0 p v
  for p in $(tree "$1"); do
    v=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null || true)
    total=$((total + ${v:-0}))
  done
  printf '%s\n' "$total"
}

# cpu_ticks PID: summed utime+stime (clock ticks) of PID and its descendants.
cpu_ticks() {
  local total=0 p line rest
  local -a fields
  for p in $(tree "$1"); do
    { read -r line <"/proc/$p/stat"; } 2>/dev/null || continue
    rest=${line##*) }
    read -r -a fields <<<"$rest"
    total=$((total + fields[11] + fields[12]))
  done
  printf '%s\n' "$total"
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
    log "pid $pid ($(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-60)) did not stop on SIGTERM within 5s, killing it"
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
      nginx | haproxy | caddy | pipy | "${PIPY##*/}" | timeout | wrk)
        log "killing leftover ${exe##*/} (pid $pid) from an earlier run"
        stop "$pid"
        ;;
    esac
  done <"$STATE/pids"
  : >"$STATE/pids"
}

WRK_PID=
cleanup() {
  local pid
  if [[ -n $WRK_PID ]]; then
    kill -TERM "$WRK_PID" 2>/dev/null || true
    wait "$WRK_PID" 2>/dev/null || true
    WRK_PID=
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
  esac
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

# check_server SCENARIO PORT: the answers wrk will get are the right ones.
check_server() {
  case $1 in
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

# wrk_start SECONDS PORT CONNS OUTFILE SCENARIO: one wrk run pinned to the
# client CPU, in the background (WRK_PID), so that a signal to this script
# runs its trap at once instead of after wrk finishes.
wrk_start() {
  local secs=$1 port=$2 conns=$3 out=$4 scenario=$5
  local -a script=()
  [[ $scenario != http-route ]] || script=(-s "$ROUTING_LUA")
  timeout $((secs + 30)) taskset -c "$CLIENT_CPU" \
    wrk -t1 -c"$conns" -d"${secs}s" --latency "${script[@]}" "http://127.0.0.1:$port/" >"$out" 2>&1 9>&- &
  WRK_PID=$!
  printf '%s\n' "$WRK_PID" >>"$STATE/pids"
}

wrk_wait() {
  local rc=0
  wait "$WRK_PID" || rc=$?
  WRK_PID=
  return "$rc"
}

# upstream_conns: established connections to the backend's two ports (the
# proxy's side of them).
upstream_conns() {
  has ss || return 0
  ss -Htn state established "( dport = :$BACKEND_PORT or dport = :$BACKEND2_PORT )" 2>/dev/null | wc -l
}

# parse_wrk FILE: prints "req_per_sec p50_us p99_us errors requests" (errors
# = socket errors + non-2xx/3xx responses).
parse_wrk() {
  awk '
    function us(s,   n, u) {
      n = s + 0; u = s; sub(/^[0-9.]+/, "", u)
      if (u == "us") return n
      if (u == "ms") return n * 1000
      if (u == "s")  return n * 1000000
      if (u == "m")  return n * 60000000
      if (u == "h")  return n * 3600000000
      return -1
    }
    /^Requests\/sec:/            { rps = $2 }
    /^[[:space:]]+50(\.0+)?%/    { p50 = us($2) }
    /^[[:space:]]+99(\.0+)?%/    { p99 = us($2) }
    / requests in /              { reqs = $1 }
    /Socket errors:/             { gsub(/,/, ""); err += $4 + $6 + $8 + $10 }
    /Non-2xx or 3xx responses:/  { err += $NF }
    END {
      if (rps == "" || p50 == "" || p99 == "" || reqs == "") exit 1
      printf "%s %s %s %d %d\n", rps, p50, p99, err, reqs
    }' "$1"
}

# record SCENARIO SERVER METRIC VALUE: one measurement of one run (the
# medians are taken over the runs; all of them also go to results.tsv).
record() {
  printf '%s\n' "$4" >>"$DATA/$1.$2.$3"
  printf '%s\t%s\t%s\t%s\t%s\n' "$RUN" "$1" "$2" "$3" "$4" >>"$TSV"
}

# median SCENARIO SERVER METRIC: median of the recorded values ("" if none).
median() {
  local f=$DATA/$1.$2.$3
  [[ -s $f ]] || return 0
  sort -g "$f" | awk '{ a[NR] = $1 }
    END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# measure SCENARIO SERVER PID PORT: idle RSS, warm-up, one measured wrk run
# per concurrency; after the first (the load level): RSS, CPU, upstream
# connections. Records the metrics; fails if the server misbehaves.
measure() {
  local scenario=$1 server=$2 pid=$3 port=$4
  local rss_idle rss_load t0 t1 c0 c1 parsed rps p50 p99 errors reqs cpu cpureq conns
  local c raw extra first=true

  check_server "$scenario" "$port" || return 1
  rss_idle=$(rss_kb "$pid")
  record "$scenario" "$server" rss_idle "$rss_idle"

  if ((WARMUP > 0)); then
    wrk_start "$WARMUP" "$port" "${CONNS[0]}" "$RUNDIR/warmup.txt" "$scenario"
    wrk_wait || {
      log "warm-up wrk failed:"
      cat "$RUNDIR/warmup.txt" >&2
      return 1
    }
  fi

  for c in "${CONNS[@]}"; do
    raw=$OUT_DIR/raw/$scenario.$server.c$c.run$RUN.txt
    conns=
    c0=$(cpu_ticks "$pid")
    t0=$(now)
    wrk_start "$DURATION" "$port" "$c" "$raw" "$scenario"
    if $first && needs_backend "$scenario" && has ss; then
      # Sample the upstream connections half-way through the load.
      # (In the background and waited for, so a signal is handled at once.)
      sleep "$(awk -v d="$DURATION" 'BEGIN { print d / 2 }')" &
      wait $! || true
      conns=$(upstream_conns)
    fi
    wrk_wait || {
      log "wrk failed:"
      cat "$raw" >&2
      return 1
    }
    t1=$(now)
    c1=$(cpu_ticks "$pid")
    if $first; then rss_load=$(rss_kb "$pid"); fi

    alive "$pid" || {
      log "$server died during the load"
      return 1
    }
    parsed=$(parse_wrk "$raw") || {
      log "cannot parse wrk output:"
      cat "$raw" >&2
      return 1
    }
    read -r rps p50 p99 errors reqs <<<"$parsed"
    cpu=$(awk -v c="$((c1 - c0))" -v hz="$CLK_TCK" -v t0="$t0" -v t1="$t1" \
      'BEGIN { printf "%.1f", c / hz / (t1 - t0) * 100 }')
    cpureq=$(awk -v c="$((c1 - c0))" -v hz="$CLK_TCK" -v n="$reqs" \
      'BEGIN { if (n > 0) printf "%.2f", c / hz / n * 1e6; else print 0 }')

    record "$scenario" "$server" "rps.c$c" "$rps"
    record "$scenario" "$server" "p50.c$c" "$p50"
    record "$scenario" "$server" "p99.c$c" "$p99"
    record "$scenario" "$server" "errors.c$c" "$errors"
    record "$scenario" "$server" "cpu.c$c" "$cpu"
    record "$scenario" "$server" "cpureq.c$c" "$cpureq"
    if $first; then
      record "$scenario" "$server" rss_load "$rss_load"
      [[ -z $conns ]] || record "$scenario" "$server" upstream "$conns"
    fi
    extra=
    if $first; then extra=", RSS $rss_idle -> $rss_load kB${conns:+, upstream conns $conns}"; fi
    log "$(printf '%-10s %-10s c%-3s run %d: %s req/s, p50 %s us, p99 %s us, CPU %s%% (%s us/req), errors %s%s' \
      "$scenario" "$server" "$c" "$RUN" "$rps" "$p50" "$p99" "$cpu" "$cpureq" "$errors" "$extra")"
    first=false
  done
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

# Cell formatters; an empty value (no successful run) prints FAILED or -.
fmt_rps() { if [[ -n $1 ]]; then printf '%.0f' "$1"; else printf 'FAILED'; fi; }
fmt_ms() { if [[ -n $1 ]]; then awk -v u="$1" 'BEGIN { printf "%.2f ms", u / 1000 }'; else printf -- '-'; fi; }
fmt_mib() { if [[ -n $1 ]]; then awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; else printf -- '-'; fi; }
fmt_pct() { if [[ -n $1 ]]; then printf '%.0f%%' "$1"; else printf -- '-'; fi; }
fmt_num() { if [[ -n $1 ]]; then printf "%.${2:-0}f" "$1"; else printf -- '-'; fi; }
# ratio A B: A/B as "1.23x" ("-" when either is missing).
ratio() {
  if [[ -n $1 && -n $2 ]]; then
    awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else printf "-" }'
  else printf -- '-'; fi
}

# measured SCENARIO SERVER: the server was benchmarked in this scenario.
measured() { in_list "$2" "${SERVERS[@]}" && in_list "$1" "${SCENARIOS[@]}"; }

# Tables are built as "cell|cell|..." lines (first line: header), then
# printed aligned (text) or as Markdown.

table_results() {
  local s srv c row
  row='scenario|server'
  for c in "${CONNS[@]}"; do row+="|req/s c$c|p50 c$c|p99 c$c"; done
  for c in "${CONNS[@]}"; do row+="|errors c$c"; done
  printf '%s\n' "$row"
  for s in "${SCENARIOS[@]}"; do
    for srv in "${SERVERS[@]}"; do
      row="$s|$srv"
      if ! supported "$s" "$srv"; then
        for c in "${CONNS[@]}"; do row+='|n/a|n/a|n/a|n/a'; done
      else
        for c in "${CONNS[@]}"; do
          row+="|$(fmt_rps "$(median "$s" "$srv" "rps.c$c")")"
          row+="|$(fmt_ms "$(median "$s" "$srv" "p50.c$c")")"
          row+="|$(fmt_ms "$(median "$s" "$srv" "p99.c$c")")"
        done
        for c in "${CONNS[@]}"; do row+="|$(fmt_num "$(median "$s" "$srv" "errors.c$c")")"; done
      fi
      printf '%s\n' "$row"
    done
  done
}

table_ratios() {
  local s srv c row
  row='scenario|peer'
  for c in "${CONNS[@]}"; do row+="|req/s pipy/peer c$c|p99 peer/pipy c$c"; done
  printf '%s\n' "$row"
  for s in "${SCENARIOS[@]}"; do
    for srv in "${SERVERS[@]}"; do
      [[ $srv != pipy ]] || continue
      row="$s|$srv"
      for c in "${CONNS[@]}"; do
        if ! supported "$s" "$srv"; then
          row+='|n/a|n/a'
          continue
        fi
        row+="|$(ratio "$(median "$s" pipy "rps.c$c")" "$(median "$s" "$srv" "rps.c$c")")"
        row+="|$(ratio "$(median "$s" "$srv" "p99.c$c")" "$(median "$s" pipy "p99.c$c")")"
      done
      printf '%s\n' "$row"
    done
  done
}

table_resources() {
  local s srv c row l=${CONNS[0]}
  row="scenario|server|RSS idle|RSS after c$l|CPU c$l"
  for c in "${CONNS[@]}"; do row+="|CPU us/req c$c"; done
  row+="|upstream conns c$l"
  printf '%s\n' "$row"
  for s in "${SCENARIOS[@]}"; do
    for srv in "${SERVERS[@]}"; do
      row="$s|$srv"
      if ! supported "$s" "$srv"; then
        row+='|n/a|n/a|n/a'
        for c in "${CONNS[@]}"; do row+='|n/a'; done
        row+='|n/a'
      else
        row+="|$(fmt_mib "$(median "$s" "$srv" rss_idle)")"
        row+="|$(fmt_mib "$(median "$s" "$srv" rss_load)")"
        row+="|$(fmt_pct "$(median "$s" "$srv" "cpu.c$l")")"
        for c in "${CONNS[@]}"; do row+="|$(fmt_num "$(median "$s" "$srv" "cpureq.c$c")" 1)"; done
        if needs_backend "$s"; then
          row+="|$(fmt_num "$(median "$s" "$srv" upstream)")"
        else
          row+='|-'
        fi
      fi
      printf '%s\n' "$row"
    done
  done
}

table_scaling() {
  local l=${CONNS[0]} srv label
  printf 'http-hello|req/s c%s|p99 c%s|RSS idle|RSS after c%s|CPU c%s|vs pipy\n' "$l" "$l" "$l" "$l"
  for srv in pipy pipy-spawn; do
    if [[ $srv == pipy ]]; then
      label='pipy (1 process, CPU '$SERVER_CPU')'
    else
      label="pipy --spawn=$SPAWN (not pinned)"
    fi
    printf '%s|%s|%s|%s|%s|%s|%s\n' "$label" \
      "$(fmt_rps "$(median http-hello "$srv" "rps.c$l")")" \
      "$(fmt_ms "$(median http-hello "$srv" "p99.c$l")")" \
      "$(fmt_mib "$(median http-hello "$srv" rss_idle)")" \
      "$(fmt_mib "$(median http-hello "$srv" rss_load)")" \
      "$(fmt_pct "$(median http-hello "$srv" "cpu.c$l")")" \
      "$(if [[ $srv == pipy ]]; then printf '1.00x'; else ratio "$(median http-hello pipy-spawn "rps.c$l")" "$(median http-hello pipy "rps.c$l")"; fi)"
  done
}

# ---- targets ---

# verdict OK: "met" / "not met"; "not measured" when OK is empty.
verdict() {
  case $1 in
    1) printf 'met' ;;
    0) printf 'not met' ;;
    *) printf 'not measured' ;;
  esac
}

# ge A B: 1 if A >= B, 0 if not, "" if either is missing.
ge() { if [[ -n $1 && -n $2 ]]; then awk -v a="$1" -v b="$2" 'BEGIN { print (a >= b) ? 1 : 0 }'; fi; }

# target_ratio SCENARIO PEER LABEL: pipy >= 1.0x PEER on req/s at the load level.
target_ratio() {
  local s=$1 peer=$2 l=${CONNS[0]} a b
  if measured "$s" pipy && measured "$s" "$peer"; then
    a=$(median "$s" pipy "rps.c$l")
    b=$(median "$s" "$peer" "rps.c$l")
  fi
  printf '%s|%s|%s\n' "$3" "$(ratio "${a:-}" "${b:-}")" "$(verdict "$(ge "${a:-}" "${b:-}")")"
}

# target_p99 SCENARIO: pipy's p99 no worse than the best peer's, at every
# concurrency.
target_p99() {
  local s=$1 c srv v best ok=1 any=false parts=() peer_best
  measured "$s" pipy || ok=
  for c in "${CONNS[@]}"; do
    [[ -n $ok ]] || break
    v=$(median "$s" pipy "p99.c$c")
    best=
    peer_best=
    for srv in "${SERVERS[@]}"; do
      if [[ $srv == pipy ]] || ! supported "$s" "$srv"; then continue; fi
      local p
      p=$(median "$s" "$srv" "p99.c$c")
      [[ -n $p ]] || continue
      if [[ -z $best ]] || awk -v a="$p" -v b="$best" 'BEGIN { exit !(a < b) }'; then
        best=$p
        peer_best=$srv
      fi
    done
    if [[ -z $v || -z $best ]]; then
      ok=
      break
    fi
    any=true
    parts+=("c$c $(fmt_ms "$v") vs $(fmt_ms "$best") ($peer_best)")
    if ! awk -v a="$v" -v b="$best" 'BEGIN { exit !(a <= b) }'; then ok=0; fi
  done
  $any || ok=
  local joined=-
  if ((${#parts[@]})); then joined=$(printf '%s; ' "${parts[@]}") && joined=${joined%; }; fi
  printf '%s: pipy p99 <= best peer p99|%s|%s\n' "$s" "$joined" "$(verdict "$ok")"
}

# max_over METRIC: largest of pipy's medians of METRIC over the scenarios.
max_over() {
  local s v m=
  for s in "${SCENARIOS[@]}"; do
    v=$(median "$s" pipy "$1")
    [[ -n $v ]] || continue
    if [[ -z $m ]] || ((v > m)); then m=$v; fi
  done
  printf '%s' "$m"
}

table_targets() {
  local v ok l=${CONNS[0]}
  printf 'target|measured|result\n'
  target_ratio http-hello nginx 'http-hello: pipy req/s >= 1.0x nginx'
  target_ratio tcp-proxy nginx 'tcp-proxy: pipy req/s >= 1.0x nginx (stream)'
  target_ratio http-route haproxy 'http-route: pipy req/s >= 1.0x HAProxy'
  for s in "${ALL_SCENARIOS[@]}"; do target_p99 "$s"; done
  if in_list pipy "${SERVERS[@]}"; then v=$(max_over rss_idle); else v=; fi
  ok=
  [[ -z $v ]] || ok=$(awk -v k="$v" 'BEGIN { print (k <= 8 * 1024) ? 1 : 0 }')
  printf 'pipy RSS idle <= 8 MiB (largest over the scenarios)|%s|%s\n' "$(fmt_mib "$v")" "$(verdict "$ok")"
  if in_list pipy "${SERVERS[@]}"; then v=$(max_over rss_load); else v=; fi
  ok=
  [[ -z $v ]] || ok=$(awk -v k="$v" 'BEGIN { print (k <= 14 * 1024) ? 1 : 0 }')
  printf 'pipy RSS after c%s <= 14 MiB (largest over the scenarios)|%s|%s\n' "$l" "$(fmt_mib "$v")" "$(verdict "$ok")"
  ok=
  [[ -z $STRIPPED_BYTES ]] || ok=$(awk -v b="$STRIPPED_BYTES" 'BEGIN { print (b <= 10 * 1048576) ? 1 : 0 }')
  printf 'stripped bin/pipy <= 10 MiB|%s|%s\n' "$(fmt_bytes "$STRIPPED_BYTES")" "$(verdict "$ok")"
}

fmt_bytes() { if [[ -n $1 ]]; then awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; else printf -- '-'; fi; }

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

# print_text: aligned columns, a dashed line under the header.
print_text() {
  awk -F'|' '
    { for (i = 1; i <= NF; i++) { cell[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) } n = NR; if (NF > nf) nf = NF }
    END {
      for (r = 1; r <= n; r++) {
        line = ""
        for (i = 1; i <= nf; i++) line = line sprintf("%-" w[i] "s  ", cell[r, i])
        sub(/ +$/, "", line); print line
        if (r == 1) { line = ""; for (i = 1; i <= nf; i++) { d = sprintf("%" w[i] "s", ""); gsub(/ /, "-", d); line = line d "  " } sub(/ +$/, "", line); print line }
      }
    }'
}

# print_md N: Markdown table; the first N columns left-aligned, the others right.
print_md() {
  awk -F'|' -v left="$1" '
    NR == 1 {
      line = "|"; sep = "|"
      for (i = 1; i <= NF; i++) { line = line " " $i " |"; sep = sep (i <= left ? "---|" : "--:|") }
      print line; print sep; next
    }
    { line = "|"; for (i = 1; i <= NF; i++) line = line " " $i " |"; print line }'
}

tool_versions() {
  PIPY_VER=-
  if [[ -x $PIPY ]]; then
    PIPY_VER=$("$PIPY" -v 2>/dev/null | awk -F' *: *' '
      $1 == "Version" { v = $2 } $1 == "Commit" { c = $2 } $1 == "Go" { g = $2 }
      END { printf "%s", v; if (c != "") printf " (commit %s)", c; if (g != "") printf ", %s", g }' || true)
  fi
  NGINX_VER=-
  if has nginx; then NGINX_VER=$(nginx -v 2>&1 | sed 's/^nginx version: //'); fi
  HAPROXY_VER=-
  if has haproxy; then HAPROXY_VER=$(haproxy -v 2>&1 | sed -n 's/^HAProxy version \([^ ]*\).*/\1/p' | head -n 1); fi
  CADDY_VER=-
  if has caddy; then CADDY_VER=$(caddy version 2>/dev/null | awk '{ print $1 }' | head -n 1); fi
  WRK_VER=$(wrk -v 2>&1 | head -n 1 | awk '{ print $2 }' || true)
  CPU_MODEL=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
  COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || printf -- '-')
}

# The measured ratio lines, for the text summary and the report.
write_tables_text() {
  echo "Results (median of $RUNS run(s); wrk -t1 -cN, ${DURATION}s each)"
  table_results | print_text
  echo
  echo "pipy vs peers (req/s: pipy/peer, p99: peer/pipy; above 1.00x pipy is better)"
  table_ratios | print_text
  echo
  echo "Resources (RSS: server and its children; CPU: % of one core during the c${CONNS[0]} run)"
  table_resources | print_text
  if $DO_SCALING; then
    echo
    echo "Scaling (http-hello; pipy --spawn=$SPAWN not pinned, wrk pinned to CPU $CLIENT_CPU)"
    table_scaling | print_text
  fi
  echo
  echo "Targets"
  table_targets | print_text
}

# Markdown: the backticks in single quotes are literal on purpose.
# shellcheck disable=SC2016
write_report() {
  local l=${CONNS[0]} date short=false
  date=$(date -u '+%Y-%m-%d %H:%M UTC')
  if ((DURATION < 10 || RUNS < 3)); then short=true; fi
  printf '# Performance\n\n'
  printf 'Generated by `make bench` (`bench/run.sh`, see [bench/README.md](../bench/README.md)) on %s.\n' "$date"
  printf 'Do not edit by hand: run the benchmark again.\n\n'
  printf 'pipy is compared with nginx, HAProxy and Caddy on the same machine, in the same run, with the\n'
  printf 'same load generator. Each server under test runs as one process (or one worker) with one\n'
  printf 'thread, pinned to CPU %s; wrk (one thread) is pinned to CPU %s. Ratios matter more than\n' "$SERVER_CPU" "$CLIENT_CPU"
  printf 'absolute numbers, which depend on the machine and on whatever else runs on it.\n\n'
  if $short; then
    printf '> **Short run** (%s s per measurement, %s run(s)): a smoke test of the harness, the numbers\n' "$DURATION" "$RUNS"
    printf '> are not meaningful. Use the defaults (10 s, 3 runs) on an otherwise idle machine.\n\n'
  fi
  printf '## Machine\n\n'
  printf -- '- CPU: %s, %s CPUs (`nproc`)\n' "${CPU_MODEL:-unknown}" "$(nproc)"
  printf -- '- kernel: %s\n' "$(uname -sr)"
  printf -- '- load average before the run: %s\n' "$LOADAVG"
  printf -- '- pipy: %s, repo commit %s\n' "${PIPY_VER:--}" "$COMMIT"
  printf -- '- nginx: %s\n' "$NGINX_VER"
  printf -- '- HAProxy: %s\n' "$HAPROXY_VER"
  printf -- '- Caddy: %s\n' "$CADDY_VER"
  printf -- '- wrk: %s\n' "$WRK_VER"
  printf -- '- bin/pipy: %s bytes (%s), stripped %s bytes (%s)\n\n' "${BIN_BYTES:--}" "$(fmt_bytes "$BIN_BYTES")" \
    "${STRIPPED_BYTES:--}" "$(fmt_bytes "$STRIPPED_BYTES")"
  printf '## Settings\n\n'
  printf -- '- scenarios: %s; servers: %s\n' "${SCENARIOS[*]}" "${SERVERS[*]}"
  printf -- '- load: `wrk -t1 -cN -d%ss --latency`, N in {%s}, after %s s of warm-up at c%s; %s run(s), median of each value, server order reversed every other run\n' \
    "$DURATION" "${CONNS[*]}" "$WARMUP" "$l" "$RUNS"
  printf -- '- cores: server under test on CPU %s, wrk on CPU %s, the proxies'"'"' backend (nginx, 1 worker) on CPU %s\n' \
    "$SERVER_CPU" "$CLIENT_CPU" "$BACKEND_CPU"
  printf -- '- pipy: one process, GOMAXPROCS=1; nginx: `worker_processes 1`; HAProxy: `nbthread 1`; Caddy: GOMAXPROCS=1, admin and logs off\n\n'
  printf '## Scenarios\n\n'
  printf '| scenario | what | pipy |\n|---|---|---|\n'
  printf '| http-hello | every request answered `200 Hello!\\n` by the server itself | `test/002-hello/pipy.js` |\n'
  printf '| tcp-proxy | raw TCP proxy to the nginx backend (nginx `stream`, HAProxy `mode tcp`; Caddy has no TCP proxy: n/a) | `bench/scripts/tcp-proxy.js` |\n'
  printf '| http-route | HTTP reverse proxy: `/api/*` and `/hello*` routed to two upstream pools of the backend, upstream keep-alive; wrk alternates `GET /api/hello` and `GET /hello` | `bench/scripts/routing.js` |\n\n'
  printf '## Results\n\n'
  printf 'Medians; latencies are wrk'"'"'s percentiles (closed loop). errors: socket errors + non-2xx answers.\n\n'
  table_results | print_md 2
  printf '\n### pipy vs peers\n\n'
  printf 'req/s pipy/peer and p99 peer/pipy: above 1.00x pipy is better.\n\n'
  table_ratios | print_md 2
  printf '\n### Resources\n\n'
  printf 'RSS: VmRSS of the server and its children (nginx master + worker), idle = after start-up and\n'
  printf 'the check requests, after = right after the c%s run. CPU: CPU time of the server during the c%s\n' "$l" "$l"
  printf 'run, in %% of one core (near 100%%: the server was the bottleneck); CPU us/req: its CPU time per\n'
  printf 'request. upstream conns: established connections to the backend half-way through the c%s run.\n\n' "$l"
  table_resources | print_md 2
  if $DO_SCALING; then
    printf '\n### Scaling\n\n'
    printf 'pipy `--spawn=%s` (master + %s workers, each GOMAXPROCS=1) is **not pinned**: its workers share\n' "$SPAWN" "$SPAWN"
    printf 'the %s CPUs with wrk, which stays pinned to CPU %s. On a 2-CPU machine the second worker mostly\n' "$(nproc)" "$CLIENT_CPU"
    printf 'takes CPU time from wrk, so this shows the overhead of --spawn more than its scaling.\n\n'
    table_scaling | print_md 1
  fi
  printf '\n## Targets\n\n'
  printf 'Computed from the numbers above (req/s and RSS after load at c%s).\n\n' "$l"
  table_targets | print_md 3
  printf '\n## Notes\n\n'
  printf -- '- Each proxy keeps its upstream connections alive its own way: nginx and HAProxy reuse idle\n'
  printf '  connections (about one per concurrent request), Caddy keeps a pool per upstream, pipy'"'"'s\n'
  printf '  `mux` sends all requests of a pool over one shared, pipelined connection (see upstream conns).\n'
  printf -- '- The answers differ a little: nginx and Caddy add `Server`, `Date` and `Content-Type`, HAProxy\n'
  printf '  `content-type`; pipy sends `Connection` and `Content-Length` only. nginx gets\n'
  printf '  `keepalive_requests 100000000` because pipy never closes a keep-alive connection on its own.\n'
  printf -- '- pipy runs with `--drain-timeout=1s`, which only shortens its shutdown between measurements\n'
  printf '  (an idle `mux` upstream session would otherwise hold it for about 10 s).\n'
  if [[ $BACKEND_CPU == "$CLIENT_CPU" ]]; then
    printf -- '- The backend and wrk share CPU %s, so in the proxy scenarios the client side can limit the\n' "$CLIENT_CPU"
    printf '  rate: a server CPU clearly below 100%% means the server under test was not the bottleneck.\n'
  else
    printf -- '- A server CPU clearly below 100%% means the server under test was not the bottleneck.\n'
  fi
  printf '\n## Reproduce\n\n'
  printf '```sh\n'
  printf 'make bench      # = ./build.sh, then bash bench/run.sh\n'
  printf 'BENCH_DURATION=%s BENCH_RUNS=%s BENCH_WARMUP=%s BENCH_CONNS="%s" \\\n' "$DURATION" "$RUNS" "$WARMUP" "${CONNS[*]}"
  printf '  BENCH_SCENARIOS="%s" BENCH_SERVERS="%s" bash bench/run.sh\n' "${SCENARIOS[*]}" "${SERVERS[*]}"
  printf '```\n\n'
  printf 'Raw wrk output and every measurement of every run: `bench/results/` (not committed).\n'
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
CLK_TCK=$(getconf CLK_TCK)
NGINX_HAS_E=false
if has nginx && nginx -h 2>&1 | grep -q -- '-e filename'; then NGINX_HAS_E=true; fi

mkdir -p "$STATE"
exec 9>"$STATE/lock"
if has flock; then
  flock -n 9 || die "another bench/run.sh is running (lock $STATE/lock)"
fi
kill_leftovers

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
DATA=$RUNDIR/data
mkdir -p "$DATA"
mkdir -p "$OUT_DIR/raw"
rm -f "$OUT_DIR"/raw/*.txt
TSV=$OUT_DIR/results.tsv
printf 'run\tscenario\tserver\tmetric\tvalue\n' >"$TSV"
LOADAVG=$(cut -d' ' -f1-3 /proc/loadavg)

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
log "scenarios: ${SCENARIOS[*]}; servers: ${SERVERS[*]}; ${RUNS} run(s) of ${DURATION}s per concurrency (${CONNS[*]}), ${WARMUP}s warm-up"
log "server on CPU $SERVER_CPU, wrk on CPU $CLIENT_CPU, backend on CPU $BACKEND_CPU; state in $STATE"
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
tool_versions
echo
write_tables_text | tee "$OUT_DIR/latest.txt"
write_report >"$OUT_DIR/latest.md"
if [[ $DOC != none ]]; then
  mkdir -p "$(dirname "$DOC")"
  cp "$OUT_DIR/latest.md" "$DOC"
fi
echo
doc_note=
if [[ $DOC != none ]]; then doc_note=" and ${DOC#"$ROOT"/}"; fi
log "report written to ${OUT_DIR#"$ROOT"/}/latest.md$doc_note (raw wrk output in ${OUT_DIR#"$ROOT"/}/raw/, all measurements in ${TSV#"$ROOT"/})"
if $FAILED; then
  die "some runs failed (see above)"
fi
