#!/usr/bin/env bash
#
# bench/run.sh: pipy vs nginx, side by side, on this machine, in one run.
#
# Scenarios (each: the server under test pinned to one core, wrk to another):
#   http-hello  pipy test/002-hello/pipy.js      vs  nginx `return 200 "Hello!\n"`
#   tcp-proxy   pipy bench/scripts/tcp-proxy.js  vs  nginx stream proxy_pass
#               (both in front of the same nginx hello backend)
#
# Prints a table (req/s, p99 latency, RSS idle and after load, server CPU,
# errors, pipy/nginx req/s ratio) and writes it to bench/results/latest.md.
# See bench/README.md.
#
# Knobs (environment):
#   BENCH_DURATION=10        seconds of measured load per scenario and server
#   BENCH_RUNS=1             repetitions; the table shows the median of each column
#   BENCH_WARMUP=2           seconds of unmeasured load before each measurement
#   BENCH_CONNECTIONS=50     wrk connections (-c); wrk always runs one thread
#   BENCH_SCENARIOS="http-hello tcp-proxy"
#   BENCH_SERVERS="pipy nginx"   e.g. BENCH_SERVERS=nginx to check the harness alone
#   BENCH_SERVER_CPU=0       core of the server under test
#   BENCH_CLIENT_CPU=1       core of wrk
#   BENCH_BACKEND_CPU        core of the tcp-proxy backend (default: 2 if the
#                            machine has 3+ CPUs, else BENCH_CLIENT_CPU)
#   BENCH_PIPY=bin/pipy      pipy binary
#   BENCH_PIPY_ARGS=         extra pipy options, e.g. --log-level=error
#   BENCH_HELLO_SCRIPT=test/002-hello/pipy.js  (must listen on 6080)
#   BENCH_START_TIMEOUT=10   seconds to wait for a server's port
#   BENCH_STATE_DIR=/tmp/pipy-bench  configs, logs, pid list of started servers
#   BENCH_RESULTS_DIR=bench/results
#   BENCH_NO_INSTALL=1       never call apt-get
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench

DURATION=${BENCH_DURATION:-10}
RUNS=${BENCH_RUNS:-1}
WARMUP=${BENCH_WARMUP:-2}
CONNS=${BENCH_CONNECTIONS:-50}
read -r -a SCENARIOS <<<"${BENCH_SCENARIOS:-http-hello tcp-proxy}"
read -r -a SERVERS <<<"${BENCH_SERVERS:-pipy nginx}"
SERVER_CPU=${BENCH_SERVER_CPU:-0}
CLIENT_CPU=${BENCH_CLIENT_CPU:-1}
# The tcp-proxy backend gets a core of its own when there is one (CPU 2), else
# it shares the client's core, so the proxy under test keeps its core alone.
if (($(nproc) >= 3)); then BACKEND_CPU=${BENCH_BACKEND_CPU:-2}; else BACKEND_CPU=${BENCH_BACKEND_CPU:-$CLIENT_CPU}; fi
PIPY=${BENCH_PIPY:-$ROOT/bin/pipy}
read -r -a PIPY_ARGS <<<"${BENCH_PIPY_ARGS:-}"
HELLO_SCRIPT=${BENCH_HELLO_SCRIPT:-$ROOT/test/002-hello/pipy.js}
PROXY_SCRIPT=$BENCH/scripts/tcp-proxy.js
START_TIMEOUT=${BENCH_START_TIMEOUT:-10}
STATE=${BENCH_STATE_DIR:-${TMPDIR:-/tmp}/pipy-bench}
OUT_DIR=${BENCH_RESULTS_DIR:-$BENCH/results}

# Ports. 6080 is fixed by test/002-hello/pipy.js; the others are ours.
PIPY_HELLO_PORT=6080
NGINX_HELLO_PORT=18081
BACKEND_PORT=18090
PIPY_PROXY_PORT=18091
NGINX_PROXY_PORT=18092

EXPECTED_BODY='Hello!'   # $(...) strips the trailing newline of "Hello!\n"

# ----------------------------------------------------------------------------
# helpers

log() { printf '[bench] %s\n' "$*" >&2; }
die() {
  printf '[bench] error: %s\n' "$*" >&2
  exit 1
}

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }

has() { command -v "$1" >/dev/null 2>&1; }

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
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >/dev/null
}

# nginx_configure prints nginx's configure arguments (nginx -V writes to stderr).
nginx_configure() { nginx -V 2>&1 | sed -n 's/^configure arguments: //p'; }

install_tools() {
  local pkgs=()
  has wrk || pkgs+=(wrk)
  has curl || pkgs+=(curl)
  has nginx || pkgs+=(nginx-light)
  if ((${#pkgs[@]})); then
    if ! apt_install "${pkgs[@]}"; then
      # Distributions without nginx-light ship the binary as "nginx".
      pkgs=("${pkgs[@]/nginx-light/nginx}")
      apt_install "${pkgs[@]}"
    fi
  fi
  has nginx || die "nginx not found after install"
  has wrk || die "wrk not found after install"
  has curl || die "curl not found after install"
}

# stream_load_line prints the load_module directive the tcp-proxy config
# needs (empty when stream is built in), installing the module if missing.
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

# render_conf TEMPLATE NAME PORT [BACKEND]: writes $RUNDIR/NAME.conf, prints its path.
render_conf() {
  local template=$1 name=$2 port=$3 backend=${4:-} out
  out=$RUNDIR/$name.conf
  awk -v rundir="$RUNDIR" -v name="$name" -v port="$port" -v backend="$backend" \
    -v temps="$TEMP_PATHS" -v mods="$LOAD_MODULES" '
    $0 == "@TEMP_PATHS@"   { print temps; next }
    $0 == "@LOAD_MODULES@" { print mods; next }
    {
      gsub(/@RUNDIR@/, rundir); gsub(/@NAME@/, name)
      gsub(/@PORT@/, port); gsub(/@BACKEND@/, backend)
      print
    }' "$template" >"$out"
  printf '%s\n' "$out"
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

# rss_kb PID: summed VmRSS (kB) of PID and its descendants (nginx: master + worker).
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
# start_bg CPU LOGFILE CMD...: start CMD pinned to CPU in the background,
# remember its pid (in STARTED_PID and in $STATE/pids for leftover cleanup).
start_bg() {
  local cpu=$1 logf=$2
  shift 2
  # setsid: own session, so a Ctrl-C on the terminal reaches only this script
  # (whose trap stops the servers); 9>&-: do not inherit the lock.
  setsid taskset -c "$cpu" "$@" >"$logf" 2>&1 9>&- &
  STARTED_PID=$!
  printf '%s\n' "$STARTED_PID" >>"$STATE/pids"
}

# stop PID: SIGTERM, up to 5 s grace, then SIGKILL; also kills children
# (nginx workers) that outlive it.
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

# kill_leftovers: servers (and wrk) a previous, killed run started and left behind.
kill_leftovers() {
  local pid exe
  [[ -f $STATE/pids ]] || return 0
  while read -r pid; do
    [[ -n $pid && -d /proc/$pid ]] || continue
    exe=$(readlink "/proc/$pid/exe" 2>/dev/null || true)
    case ${exe##*/} in
      nginx | pipy | "${PIPY##*/}" | timeout | wrk)
        log "killing leftover ${exe##*/} (pid $pid) from an earlier run"
        stop "$pid"
        ;;
    esac
  done <"$STATE/pids"
  : >"$STATE/pids"
}

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

# start_pipy NAME SCRIPT CPU PORT [ENV=VALUE...]
start_pipy() {
  local name=$1 script=$2 cpu=$3 port=$4 logf=$RUNDIR/$1.log
  shift 4
  start_bg "$cpu" "$logf" env "$@" "$PIPY" "${PIPY_ARGS[@]}" "$script"
  wait_port "$STARTED_PID" "$port" "$logf"
}

# check_hello PORT: one request; the body must be Hello!\n.
check_hello() {
  local body
  body=$(curl -sS -m 5 "http://127.0.0.1:$1/" 2>&1) || {
    log "GET http://127.0.0.1:$1/ failed: $body"
    return 1
  }
  [[ $body == "$EXPECTED_BODY" ]] || {
    log "GET http://127.0.0.1:$1/ answered '$body', expected '$EXPECTED_BODY'"
    return 1
  }
}

# port_free PORT: fails (with a message) if something already listens on PORT.
port_free() {
  if port_open "$1"; then
    log "port $1 is already in use (another server running?); stop it first"
    return 1
  fi
}

# ---- load ------------------------------------------------------------------------

now() { date +%s.%N; }

WRK_PID=
# wrk_run SECONDS PORT [OUTFILE]: one wrk run pinned to the client CPU. Run in
# the background and waited for, so that a signal to this script runs its
# trap at once instead of after wrk finishes.
wrk_run() {
  local secs=$1 port=$2 out=${3:-/dev/null} rc=0
  timeout $((secs + 30)) taskset -c "$CLIENT_CPU" \
    wrk -t1 -c"$CONNS" -d"${secs}s" --latency "http://127.0.0.1:$port/" >"$out" 2>&1 9>&- &
  WRK_PID=$!
  printf '%s\n' "$WRK_PID" >>"$STATE/pids"
  wait "$WRK_PID" || rc=$?
  WRK_PID=
  return "$rc"
}

# parse_wrk FILE: prints "req_per_sec p99_us errors" (errors = socket errors
# + non-2xx/3xx responses).
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
    /^[[:space:]]+99(\.0+)?%/    { p99 = us($2) }
    /Socket errors:/             { gsub(/,/, ""); err += $4 + $6 + $8 + $10 }
    /Non-2xx or 3xx responses:/  { err += $NF }
    END {
      if (rps == "" || p99 == "") exit 1
      printf "%s %s %d\n", rps, p99, err
    }' "$1"
}

# record SCENARIO SERVER METRIC VALUE
record() { printf '%s\n' "$4" >>"$DATA/$1.$2.$3"; }

# median SCENARIO SERVER METRIC: median of the recorded values ("" if none).
median() {
  local f=$DATA/$1.$2.$3
  [[ -s $f ]] || return 0
  sort -g "$f" | awk '{ a[NR] = $1 }
    END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# measure SCENARIO SERVER PID PORT RUN: idle RSS, warm-up, measured load, RSS
# after load; records the metrics. Fails if the server misbehaves.
measure() {
  local scenario=$1 server=$2 pid=$3 port=$4 run=$5
  local raw=$OUT_DIR/raw/$scenario.$server.run$run.txt
  local rss_idle rss_load t0 t1 c0 c1 parsed rps p99 errors cpu

  check_hello "$port" || return 1
  rss_idle=$(rss_kb "$pid")

  if ((WARMUP > 0)); then
    wrk_run "$WARMUP" "$port" || {
      log "warm-up wrk failed"
      return 1
    }
  fi

  c0=$(cpu_ticks "$pid")
  t0=$(now)
  wrk_run "$DURATION" "$port" "$raw" || {
    log "wrk failed:"
    cat "$raw" >&2
    return 1
  }
  t1=$(now)
  c1=$(cpu_ticks "$pid")
  rss_load=$(rss_kb "$pid")

  alive "$pid" || {
    log "$server died during the load"
    return 1
  }
  parsed=$(parse_wrk "$raw") || {
    log "cannot parse wrk output:"
    cat "$raw" >&2
    return 1
  }
  read -r rps p99 errors <<<"$parsed"
  cpu=$(awk -v c="$((c1 - c0))" -v hz="$CLK_TCK" -v t0="$t0" -v t1="$t1" \
    'BEGIN { printf "%.0f", c / hz / (t1 - t0) * 100 }')

  record "$scenario" "$server" rps "$rps"
  record "$scenario" "$server" p99 "$p99"
  record "$scenario" "$server" rss_idle "$rss_idle"
  record "$scenario" "$server" rss_load "$rss_load"
  record "$scenario" "$server" cpu "$cpu"
  record "$scenario" "$server" errors "$errors"
  log "$(printf '%-10s %-5s run %d: %s req/s, p99 %s us, RSS %s -> %s kB, CPU %s%%, errors %s' \
    "$scenario" "$server" "$run" "$rps" "$p99" "$rss_idle" "$rss_load" "$cpu" "$errors")"
}

# bench_one SCENARIO SERVER RUN: start the server, measure, stop it.
bench_one() {
  local scenario=$1 server=$2 run=$3 port conf ok=0
  STARTED_PID=
  case $scenario.$server in
    http-hello.pipy) port=$PIPY_HELLO_PORT ;;
    http-hello.nginx) port=$NGINX_HELLO_PORT ;;
    tcp-proxy.pipy) port=$PIPY_PROXY_PORT ;;
    tcp-proxy.nginx) port=$NGINX_PROXY_PORT ;;
    *) die "unknown scenario/server: $scenario/$server" ;;
  esac
  if port_free "$port"; then
    case $scenario.$server in
      http-hello.pipy)
        start_pipy pipy-hello "$HELLO_SCRIPT" "$SERVER_CPU" "$port" || ok=1
        ;;
      http-hello.nginx)
        conf=$(render_conf "$BENCH/nginx/hello.conf" nginx-hello "$port")
        start_nginx nginx-hello "$conf" "$SERVER_CPU" "$port" || ok=1
        ;;
      tcp-proxy.pipy)
        start_pipy pipy-proxy "$PROXY_SCRIPT" "$SERVER_CPU" "$port" \
          "PIPY_BENCH_PORT=$port" "PIPY_BENCH_BACKEND=$BACKEND_PORT" || ok=1
        ;;
      tcp-proxy.nginx)
        conf=$(render_conf "$BENCH/nginx/tcp-proxy.conf" nginx-proxy "$port" "$BACKEND_PORT")
        start_nginx nginx-proxy "$conf" "$SERVER_CPU" "$port" || ok=1
        ;;
    esac
    if ((ok == 0)); then
      measure "$scenario" "$server" "$STARTED_PID" "$port" "$run" || ok=1
    fi
  else
    ok=1
  fi
  if [[ -n $STARTED_PID ]]; then stop "$STARTED_PID"; fi
  if ((ok != 0)); then
    log "$scenario/$server run $run FAILED (logs in $RUNDIR)"
    FAILED=true
  fi
}

# ---- report ----------------------------------------------------------------------

# Cell formatters; an empty value (no successful run) prints FAILED or -.
fmt_rps() { if [[ -n $1 ]]; then printf '%.0f' "$1"; else printf 'FAILED'; fi; }
fmt_ms() { if [[ -n $1 ]]; then awk -v u="$1" 'BEGIN { printf "%.2f ms", u / 1000 }'; else printf -- '-'; fi; }
fmt_mib() { if [[ -n $1 ]]; then awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; else printf -- '-'; fi; }
fmt_pct() { if [[ -n $1 ]]; then printf '%.0f%%' "$1"; else printf -- '-'; fi; }
fmt_int() { if [[ -n $1 ]]; then printf '%.0f' "$1"; else printf -- '-'; fi; }

# table_rows: prints the table rows as "cell|cell|..." lines.
table_rows() {
  local s srv rps ratio nginx_rps
  for s in "${SCENARIOS[@]}"; do
    nginx_rps=$(median "$s" nginx rps)
    for srv in "${SERVERS[@]}"; do
      rps=$(median "$s" "$srv" rps)
      ratio=-
      if [[ $srv == pipy && -n $rps && -n $nginx_rps ]]; then
        ratio=$(awk -v a="$rps" -v b="$nginx_rps" 'BEGIN { printf "%.2fx", a / b }')
      fi
      printf '%s|%s|%s|%s|%s|%s|%s|%s|%s\n' "$s" "$srv" \
        "$(fmt_rps "$rps")" \
        "$(fmt_ms "$(median "$s" "$srv" p99)")" \
        "$(fmt_mib "$(median "$s" "$srv" rss_idle)")" \
        "$(fmt_mib "$(median "$s" "$srv" rss_load)")" \
        "$(fmt_pct "$(median "$s" "$srv" cpu)")" \
        "$(fmt_int "$(median "$s" "$srv" errors)")" \
        "$ratio"
    done
  done
}

HEADER='scenario|server|req/s|p99|RSS idle|RSS load|server CPU|errors|pipy/nginx req/s'

print_table() {
  { printf '%s\n' "$HEADER"; table_rows; } |
    awk -F'|' '
      { for (i = 1; i <= NF; i++) { cell[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) } n = NR; nf = NF }
      END {
        for (r = 1; r <= n; r++) {
          line = ""
          for (i = 1; i <= nf; i++) line = line sprintf("%-" w[i] "s  ", cell[r, i])
          sub(/ +$/, "", line); print line
          if (r == 1) { line = ""; for (i = 1; i <= nf; i++) { d = sprintf("%" w[i] "s", ""); gsub(/ /, "-", d); line = line d "  " } sub(/ +$/, "", line); print line }
        }
      }'
}

markdown_table() {
  printf '| %s |\n' "${HEADER//|/ | }"
  printf '|---|---|--:|--:|--:|--:|--:|--:|--:|\n'
  table_rows | while IFS= read -r row; do printf '| %s |\n' "${row//|/ | }"; done
}

write_markdown() {
  local f=$OUT_DIR/latest.md pipy_ver nginx_ver wrk_ver commit cpu_model
  pipy_ver=-
  if [[ -x $PIPY ]]; then
    pipy_ver=$("$PIPY" -v 2>/dev/null | sed -n 's/^Version *: *//p' | head -n 1 || true)
  fi
  nginx_ver=$(nginx -v 2>&1 | sed 's/^nginx version: //')
  wrk_ver=$(wrk -v 2>&1 | head -n 1 | awk '{ print $1, $2 }' || true)
  commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || printf '-')
  cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
  {
    printf '# pipy vs nginx: %s\n\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
    printf -- '- pipy: %s (%s, repo commit %s)\n' "${pipy_ver:--}" "${PIPY#"$ROOT"/}" "$commit"
    printf -- '- nginx: %s, 1 worker, access_log off\n' "$nginx_ver"
    printf -- '- load: %s, 1 thread, %s connections, %s s measured after %s s warm-up, %s run(s), median per column\n' \
      "$wrk_ver" "$CONNS" "$DURATION" "$WARMUP" "$RUNS"
    printf -- '- cores: server under test on CPU %s; wrk on CPU %s; tcp-proxy backend (nginx hello) on CPU %s\n' \
      "$SERVER_CPU" "$CLIENT_CPU" "$BACKEND_CPU"
    printf -- '- machine: %s, %s CPUs, %s\n' "${cpu_model:-unknown CPU}" "$(nproc)" "$(uname -sr)"
    printf -- '- RSS: VmRSS summed over the server process and its children (nginx: master + worker), idle = after start-up and one request, load = right after the measured run\n\n'
    markdown_table
    if $FAILED; then printf '\nSome runs FAILED; see the bench output.\n'; fi
  } >"$f"
}

# ----------------------------------------------------------------------------
# main

is_pos() { is_uint "$1" && (($1 > 0)); }
is_pos "$DURATION" || die "BENCH_DURATION must be a positive integer (seconds)"
is_pos "$RUNS" || die "BENCH_RUNS must be a positive integer"
is_uint "$WARMUP" || die "BENCH_WARMUP must be an integer (seconds)"
is_pos "$CONNS" || die "BENCH_CONNECTIONS must be a positive integer"
is_pos "$START_TIMEOUT" || die "BENCH_START_TIMEOUT must be a positive integer (seconds)"
for s in "${SCENARIOS[@]}"; do
  [[ $s == http-hello || $s == tcp-proxy ]] || die "unknown scenario '$s' (http-hello, tcp-proxy)"
done
WANT_PIPY=false
for s in "${SERVERS[@]}"; do
  [[ $s == pipy || $s == nginx ]] || die "unknown server '$s' (pipy, nginx)"
  if [[ $s == pipy ]]; then WANT_PIPY=true; fi
done

if $WANT_PIPY; then
  [[ -x $PIPY ]] || die "pipy binary not found at ${PIPY} (run 'make build' or './build.sh' first; BENCH_SERVERS=nginx runs the nginx half alone)"
  for s in "${SCENARIOS[@]}"; do
    if [[ $s == http-hello && ! -f $HELLO_SCRIPT ]]; then
      die "hello script not found: $HELLO_SCRIPT"
    fi
  done
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
if nginx -h 2>&1 | grep -q -- '-e filename'; then NGINX_HAS_E=true; fi

mkdir -p "$STATE"
exec 9>"$STATE/lock"
if has flock; then
  flock -n 9 || die "another bench/run.sh is running (lock $STATE/lock)"
fi
kill_leftovers
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

TEMP_PATHS=$(http_temp_paths)
LOAD_MODULES=
for s in "${SCENARIOS[@]}"; do
  if [[ $s == tcp-proxy ]]; then LOAD_MODULES=$(stream_load_line); fi
done

FAILED=false
log "scenarios: ${SCENARIOS[*]}; servers: ${SERVERS[*]}; ${RUNS} run(s) of ${DURATION}s (+${WARMUP}s warm-up), ${CONNS} connections"
log "server on CPU $SERVER_CPU, wrk on CPU $CLIENT_CPU, backend on CPU $BACKEND_CPU; state in $STATE"

for ((run = 1; run <= RUNS; run++)); do
  # Alternate the order of servers between runs so neither always goes first.
  order=("${SERVERS[@]}")
  if ((run % 2 == 0)); then
    order=()
    for ((i = ${#SERVERS[@]} - 1; i >= 0; i--)); do order+=("${SERVERS[i]}"); done
  fi
  for scenario in "${SCENARIOS[@]}"; do
    backend_pid=
    if [[ $scenario == tcp-proxy ]]; then
      port_free "$BACKEND_PORT" || die "cannot start the tcp-proxy backend"
      conf=$(render_conf "$BENCH/nginx/hello.conf" nginx-backend "$BACKEND_PORT")
      if ! start_nginx nginx-backend "$conf" "$BACKEND_CPU" "$BACKEND_PORT" ||
        ! check_hello "$BACKEND_PORT"; then
        die "the tcp-proxy backend (nginx on $BACKEND_PORT) did not start"
      fi
      backend_pid=$STARTED_PID
    fi
    for server in "${order[@]}"; do
      bench_one "$scenario" "$server" "$run"
    done
    if [[ -n $backend_pid ]]; then stop "$backend_pid"; fi
  done
done

echo
print_table
write_markdown
echo
log "table written to ${OUT_DIR#"$ROOT"/}/latest.md (raw wrk output in ${OUT_DIR#"$ROOT"/}/raw/)"
if $FAILED; then
  die "some runs failed (see above)"
fi
