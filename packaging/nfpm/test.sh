#!/usr/bin/env bash
#
# test.sh: build the pipy deb and rpm and test them on a Debian machine, as
# root (CI). No systemd needs to run: the installed binary is started the way
# pipy.service would start it (its ExecStart, User, UMask, capabilities and
# environment files, with /run/pipy moved to a temporary directory).
#
#   bash packaging/nfpm/test.sh              make package, then test
#   bash packaging/nfpm/test.sh --no-build   test the packages in dist/packages.txt
#
# Steps: build (make package); check both packages' file lists and metadata
# (dpkg-deb, rpm -qlp / -qp); dpkg -i; check the pipy user and `pipy -v`;
# systemd-analyze verify the unit (if it can be had); run 1: start, serve the
# default script on 127.0.0.1:16080, reload with the unit's ExecReload
# (SIGHUP), stop with SIGTERM (exit 0); run 2: binary upgrade with SIGUSR2,
# the pid file follows the new master, stop it; dpkg -r, dpkg -P, check that
# everything is gone.
#
# Idempotent (a leftover pipy package is purged first), bounded in time (the
# whole script runs under `timeout`, PIPY_PKG_TEST_TIMEOUT seconds, default
# 900), loopback only, and it leaves no package, user, process or file behind
# (it may apt-get install rpm, curl and systemd when they are missing; set
# PIPY_PKG_TEST_APT=0 to forbid that).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."

if [[ -z ${PIPY_PKG_TEST_UNDER_TIMEOUT:-} ]] && command -v timeout >/dev/null 2>&1; then
  export PIPY_PKG_TEST_UNDER_TIMEOUT=1
  exec timeout --kill-after=20 "${PIPY_PKG_TEST_TIMEOUT:-900}" bash "$0" "$@"
fi

build=true
for a in "$@"; do
  case $a in
    --no-build) build=false ;;
    *) echo "usage: $0 [--no-build]" >&2; exit 2 ;;
  esac
done

UNIT=/usr/lib/systemd/system/pipy.service
HTTP_PORT=16080 # packaging/nfpm/pipy.js
T0=$SECONDS
failed=0

log() { printf '[%3ds] %s\n' $((SECONDS - T0)) "$*"; }
fail() { log "FAIL: $*"; failed=1; exit 1; }
ok() { log "ok: $*"; }

# --- cleanup -------------------------------------------------------------------
TMP=$(mktemp -d /tmp/pipy-pkg-test.XXXXXX)
chmod 755 "$TMP"
PIDS=() # processes this script started (masters), stopped by pid on exit

purge_pipy() {
  if dpkg-query -W -f='${Status}' pipy 2>/dev/null | grep -qv 'not-installed'; then
    log "purging the pipy package"
    dpkg -P pipy >/dev/null
  fi
}

alive() { [[ -e /proc/$1 ]] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }

stop_pid() { # stop_pid PID: SIGTERM, then SIGKILL after 10s (if still our child or a pipy)
  local pid=$1 i
  alive "$pid" || return 0
  if [[ $(awk '/^PPid:/ {print $2}' "/proc/$pid/status" 2>/dev/null) != "$$" ]]; then
    { tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null | grep -q '^/usr/bin/pipy ' || return 0
  fi
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 100; i++)); do
    alive "$pid" || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  set +e
  for p in "${PIDS[@]}"; do stop_pid "$p"; done
  purge_pipy
  rm -rf "$TMP"
  if ((rc != 0 || failed)); then
    log "FAILED (exit $rc)"
  else
    log "PASSED"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

# --- prerequisites ---------------------------------------------------------------
[[ $(id -u) == 0 ]] || fail "run as root (it installs a package and creates a user)"
command -v dpkg >/dev/null || fail "dpkg not found: this test runs on Debian or Ubuntu"

apt_install() { # apt_install PACKAGE...: only when allowed; returns non-zero on failure
  [[ ${PIPY_PKG_TEST_APT:-1} != 0 ]] || return 1
  command -v apt-get >/dev/null || return 1
  log "apt-get install -y $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >"$TMP/apt.log" 2>&1 && return 0
  log "apt-get install failed, retrying after apt-get update"
  DEBIAN_FRONTEND=noninteractive apt-get update >>"$TMP/apt.log" 2>&1 || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >>"$TMP/apt.log" 2>&1 && return 0
  tail -n 20 "$TMP/apt.log"
  return 1
}
for tool in rpm curl; do
  command -v "$tool" >/dev/null || apt_install "$tool" || fail "$tool is needed (apt-get install -y $tool)"
done
command -v setpriv >/dev/null || fail "setpriv (util-linux) is needed"

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# --- build -----------------------------------------------------------------------
purge_pipy # a leftover from an earlier, interrupted run

if $build; then
  log "make package"
  t=$SECONDS
  make --no-print-directory package || fail "make package"
  log "make package took $((SECONDS - t))s"
fi
[[ -f dist/packages.txt ]] || fail "dist/packages.txt missing (run make package)"
DEB=$(grep '\.deb$' dist/packages.txt | tail -n 1)
RPM=$(grep '\.rpm$' dist/packages.txt | tail -n 1)
[[ -f $DEB ]] || fail "no deb in dist/packages.txt"
[[ -f $RPM ]] || fail "no rpm in dist/packages.txt"
ls -l "$DEB" "$RPM"

VERSION=$(packaging/release/version.sh)            # as `pipy -v` shows it (no "v")
PKG_VERSION=$(packaging/release/version.sh --package) # as the packages carry it
DEB_ARCH=$(dpkg --print-architecture)
case $DEB_ARCH in
  amd64) RPM_ARCH=x86_64 ;;
  arm64) RPM_ARCH=aarch64 ;;
  i386) RPM_ARCH=i386 ;;
  *) RPM_ARCH=$DEB_ARCH ;;
esac

# --- package contents and metadata -------------------------------------------------
COMMON=(
  /usr/bin/pipy
  /etc/pipy/pipy.js
  /usr/lib/systemd/system/pipy.service
  /usr/share/pipy/examples/001-echo/pipy.js
  /usr/share/pipy/examples/002-hello/pipy.js
  /usr/share/doc/pipy/README.md
  /usr/share/doc/pipy/README.packaging.md
)

dpkg-deb -c "$DEB" | awk '{print $NF}' | sed 's|^\./|/|; s|/$||' >"$TMP/deb.files"
for f in "${COMMON[@]}" /etc/default/pipy; do
  grep -qxF "$f" "$TMP/deb.files" || fail "deb lacks $f"
done
! grep -qxF /etc/sysconfig/pipy "$TMP/deb.files" || fail "deb ships /etc/sysconfig/pipy"
ok "deb file list ($(wc -l <"$TMP/deb.files") entries)"

[[ $(dpkg-deb -f "$DEB" Package) == pipy ]] || fail "deb Package: $(dpkg-deb -f "$DEB" Package)"
[[ $(dpkg-deb -f "$DEB" Version) == "$PKG_VERSION-1" ]] || fail "deb Version: $(dpkg-deb -f "$DEB" Version), want $PKG_VERSION-1"
[[ $(dpkg-deb -f "$DEB" Architecture) == "$DEB_ARCH" ]] || fail "deb Architecture: $(dpkg-deb -f "$DEB" Architecture)"
dpkg-deb -f "$DEB" Provides | grep -qw pipy-pjs || fail "deb does not provide pipy-pjs"
dpkg-deb --info "$DEB" conffiles >"$TMP/deb.conffiles"
for f in /etc/pipy/pipy.js /etc/default/pipy; do
  grep -qxF "$f" "$TMP/deb.conffiles" || fail "deb: $f is not a conffile"
done
for s in preinst postinst prerm postrm; do
  dpkg-deb --info "$DEB" "$s" >/dev/null 2>&1 || fail "deb has no $s"
done
ok "deb metadata: $(dpkg-deb -f "$DEB" Package Version Architecture | tr '\n' ' ')"

rpm -qlp "$RPM" 2>/dev/null >"$TMP/rpm.files"
for f in "${COMMON[@]}" /etc/sysconfig/pipy; do
  grep -qxF "$f" "$TMP/rpm.files" || fail "rpm lacks $f"
done
! grep -qxF /etc/default/pipy "$TMP/rpm.files" || fail "rpm ships /etc/default/pipy"
# rpm removes only the directories it owns
for d in /etc/pipy /usr/share/pipy /usr/share/pipy/examples /usr/share/pipy/examples/002-hello /usr/share/doc/pipy; do
  grep -qxF "$d" "$TMP/rpm.files" || fail "rpm does not own $d"
done
ok "rpm file list ($(wc -l <"$TMP/rpm.files") entries)"

meta=$(rpm -qp --qf '%{NAME} %{VERSION} %{RELEASE} %{ARCH}' "$RPM" 2>/dev/null)
[[ $meta == "pipy $PKG_VERSION 1 $RPM_ARCH" ]] || fail "rpm metadata: '$meta', want 'pipy $PKG_VERSION 1 $RPM_ARCH'"
rpm -qp --provides "$RPM" 2>/dev/null | grep -qw pipy-pjs || fail "rpm does not provide pipy-pjs"
# %config(noreplace): FILEFLAGS has config (c) and noreplace (n)
rpm -qp --qf '[%{FILENAMES} %{FILEFLAGS:fflags}\n]' "$RPM" 2>/dev/null >"$TMP/rpm.flags"
for f in /etc/pipy/pipy.js /etc/sysconfig/pipy; do
  grep -qE "^$f [a-z]*c[a-z]*n|^$f [a-z]*n[a-z]*c" "$TMP/rpm.flags" || fail "rpm: $f is not %config(noreplace): $(grep "^$f " "$TMP/rpm.flags")"
done
rpm -qp --scripts "$RPM" 2>/dev/null >"$TMP/rpm.scripts"
for s in preinstall postinstall preuninstall postuninstall; do
  grep -q "^$s scriptlet" "$TMP/rpm.scripts" || fail "rpm has no $s scriptlet"
done
rpm -K --nosignature "$RPM" >/dev/null 2>&1 || fail "rpm -K: bad digests"
ok "rpm metadata: $meta; config(noreplace) and scriptlets present; digests ok"

# --- install -------------------------------------------------------------------------
log "dpkg -i $DEB"
dpkg -i "$DEB" || fail "dpkg -i"
[[ -z $(dpkg --verify pipy) ]] || fail "dpkg --verify pipy: $(dpkg --verify pipy)"
getent group pipy >/dev/null || fail "group pipy missing"
IFS=: read -r _ _ uid gid _ home shell < <(getent passwd pipy) || fail "user pipy missing"
((uid < 1000)) || fail "pipy is not a system user (uid $uid)"
[[ $gid == "$(getent group pipy | cut -d: -f3)" ]] || fail "pipy's primary group is not pipy"
[[ $shell == */nologin || $shell == /bin/false ]] || fail "pipy has a login shell: $shell"
ok "user pipy: uid $uid, gid $gid, home $home, shell $shell"

/usr/bin/pipy -v >"$TMP/version" || fail "pipy -v"
cat "$TMP/version"
shown=$(sed -n 's/^Version *: *//p' "$TMP/version")
[[ ${shown#v} == "$VERSION" ]] || fail "pipy -v shows version '$shown', want $VERSION"
setpriv --reuid=pipy --regid=pipy --init-groups /usr/bin/pipy --verify /etc/pipy/pipy.js >"$TMP/verify" 2>&1 ||
  { cat "$TMP/verify"; fail "pipy --verify /etc/pipy/pipy.js (as pipy)"; }
ok "pipy -v and --verify of the default script"

# --- systemd-analyze verify -------------------------------------------------------------
if ! command -v systemd-analyze >/dev/null; then
  apt_install systemd || true
fi
if command -v systemd-analyze >/dev/null; then
  # The installed unit (its User=, ExecStart= binary exist now); same file as the repository's.
  cmp -s "$UNIT" packaging/systemd/pipy.service || fail "$UNIT differs from packaging/systemd/pipy.service"
  if ! out=$(systemd-analyze verify --man=no "$UNIT" 2>&1) || [[ -n $out ]]; then
    printf '%s\n' "$out"
    fail "systemd-analyze verify $UNIT"
  fi
  ok "systemd-analyze verify $UNIT: clean"
  if score=$(systemd-analyze security --offline=yes "$UNIT" 2>/dev/null | tail -n 1); then
    log "systemd-analyze security (offline): ${score# }"
  fi
else
  log "SKIP: systemd-analyze not available and systemd could not be installed; unit not verified"
fi

# --- run the installed binary the way pipy.service does ----------------------------------
unit_value() { sed -n "s/^$1=//p" "$UNIT"; }

# The service environment: Environment= lines, then the environment files.
declare -A ENV=()
while IFS= read -r kv; do ENV[${kv%%=*}]=${kv#*=}; done < <(unit_value Environment)
while IFS= read -r f; do
  f=${f#-}
  [[ -f $f ]] || continue
  while IFS= read -r line; do
    [[ $line =~ ^[[:space:]]*([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]] || continue
    k=${BASH_REMATCH[1]} v=${BASH_REMATCH[2]}
    if [[ $v =~ ^\"(.*)\"$ || $v =~ ^\'(.*)\'$ ]]; then v=${BASH_REMATCH[1]}; fi
    ENV[$k]=$v
  done <"$f"
done < <(unit_value EnvironmentFile)
[[ -f /etc/default/pipy ]] || fail "/etc/default/pipy missing"

RUN=$TMP/run # stands in for RuntimeDirectory=pipy (/run/pipy)
PIDFILE=$RUN/pipy.pid

# ExecStart= with $VAR (split into words) and ${VAR} expanded as systemd does.
read -r -a words <<<"$(unit_value ExecStart)"
CMD=()
for w in "${words[@]}"; do
  if [[ $w =~ ^\$([A-Za-z_][A-Za-z0-9_]*)$ ]]; then
    read -r -a split <<<"${ENV[${BASH_REMATCH[1]}]:-}"
    CMD+=(${split[@]+"${split[@]}"})
  else
    while [[ $w =~ \$\{([A-Za-z_][A-Za-z0-9_]*)\} ]]; do
      w=${w//"${BASH_REMATCH[0]}"/${ENV[${BASH_REMATCH[1]}]:-}}
    done
    CMD+=("$w")
  fi
done
CMD=("${CMD[@]//\/run\/pipy\//$RUN/}")
[[ ${CMD[0]} == /usr/bin/pipy ]] || fail "ExecStart does not run /usr/bin/pipy: ${CMD[*]}"
printf '%s\n' "${CMD[@]}" | grep -qx -- "--pid-file=$PIDFILE" || fail "ExecStart has no --pid-file=/run/pipy/pipy.pid"

ADMIN=$(printf '%s\n' "${CMD[@]}" | sed -n 's/^--admin-port=//p' | tail -n 1)
[[ -z $ADMIN || $ADMIN == *:* ]] || ADMIN=127.0.0.1:$ADMIN
ADMIN_PORT=${ADMIN##*:}

user=$(unit_value User) group=$(unit_value Group) umask=$(unit_value UMask)
caps=$(unit_value AmbientCapabilities | tr 'A-Z ' 'a-z\n' | sed -n 's/^cap_/+/p' | paste -sd, -)
log "service command (as $user:$group, umask ${umask:-default}, ambient caps ${caps:-none}):"
log "  ${CMD[*]}"
log "  environment: $(for k in "${!ENV[@]}"; do printf '%s="%s" ' "$k" "${ENV[$k]}"; done)"

envargs=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)
for k in "${!ENV[@]}"; do envargs+=("$k=${ENV[$k]}"); done
privargs=(--reuid="$user" --regid="$group" --init-groups --no-new-privs)
[[ -z $caps ]] || privargs+=(--inh-caps="-all,$caps" --ambient-caps="-all,$caps" --bounding-set="-all,$caps")

MASTER="" LOG=""
start_service() { # start_service NAME: start, wait for the pid file; sets MASTER, LOG
  LOG=$TMP/$1.log
  rm -rf "$RUN"
  install -d -m 0755 -o "$user" -g "$group" "$RUN"
  for p in "$HTTP_PORT" ${ADMIN_PORT:+"$ADMIN_PORT"}; do
    ! port_open "$p" || fail "port $p on 127.0.0.1 is already in use"
  done
  (
    cd /
    umask "${umask:-0022}"
    exec setpriv "${privargs[@]}" env -i "${envargs[@]}" "${CMD[@]}"
  ) >"$LOG" 2>&1 </dev/null &
  MASTER=$!
  PIDS+=("$MASTER")
  local i
  for ((i = 0; i < 300; i++)); do
    [[ $(cat "$PIDFILE" 2>/dev/null) == "$MASTER" ]] && break
    alive "$MASTER" || { cat "$LOG"; fail "pipy exited during start-up"; }
    sleep 0.1
  done
  [[ $(cat "$PIDFILE" 2>/dev/null) == "$MASTER" ]] || { cat "$LOG"; fail "pid file $PIDFILE does not name $MASTER"; }
  [[ $(stat -c %U "$PIDFILE") == "$user" ]] || fail "pid file not owned by $user"
  [[ $(awk '/^Uid:/ {print $2}' "/proc/$MASTER/status") == "$(id -u "$user")" ]] || fail "master does not run as $user"
  ok "$1: master $MASTER ready as $user, workers: $(workers_of "$MASTER" | wc -w)"
}

workers_of() { # workers_of PID: pids of its children
  local d
  for d in /proc/[0-9]*; do
    [[ $(awk '/^PPid:/ {print $2}' "$d/status" 2>/dev/null) == "$1" ]] && printf '%s ' "${d#/proc/}"
  done
  return 0
}

wait_log() { # wait_log PATTERN COUNT SECONDS
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    (($(grep -c -- "$1" "$LOG" || true) >= $2)) && return 0
    sleep 0.1
  done
  cat "$LOG"
  fail "no $2 x '$1' in the log after $3s"
}

wait_exit() { # wait_exit PID SECONDS: for a process that is not our child
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    alive "$1" || return 0
    sleep 0.1
  done
  return 1
}

check_hello() {
  local body
  body=$(curl -sS --max-time 5 "http://127.0.0.1:$HTTP_PORT/") || fail "curl 127.0.0.1:$HTTP_PORT"
  [[ $body == Hello! ]] || fail "127.0.0.1:$HTTP_PORT answered '$body', want Hello!"
  ok "$1: GET http://127.0.0.1:$HTTP_PORT/ -> $body"
}

# Run 1: serve, admin port, reload (ExecReload), stop (SIGTERM, exit 0).
start_service run1
nworkers=$(workers_of "$MASTER" | wc -w)
((nworkers >= 1)) || fail "no worker processes (PIPY_OPTIONS has --spawn?)"
check_hello run1
if [[ -n $ADMIN ]]; then
  curl -sS --max-time 5 -o "$TMP/status" -w '%{http_code}' "http://$ADMIN/status" | grep -qx 200 || fail "admin $ADMIN/status"
  curl -sS --max-time 5 "http://$ADMIN/metrics" >"$TMP/metrics" || fail "admin $ADMIN/metrics"
  ok "run1: admin http://$ADMIN/status and /metrics ($(wc -l <"$TMP/metrics") lines)"
fi

reload=$(unit_value ExecReload)
reload=${reload//\$MAINPID/$MASTER}
reload=${reload//\$\{MAINPID\}/$MASTER}
log "run1: ExecReload: $reload"
read -r -a rcmd <<<"$reload"
"${rcmd[@]}" || fail "ExecReload"
wait_log 'Script reloaded' "$nworkers" 15
check_hello "run1 after reload"
ok "run1: reload: $(grep -c 'Script reloaded' "$LOG") x 'Script reloaded'"

t=$SECONDS
read -r -a ws <<<"$(workers_of "$MASTER")"
kill -TERM "$MASTER"
rc=0
wait "$MASTER" || rc=$?
((rc == 0)) || { cat "$LOG"; fail "SIGTERM: exit status $rc, want 0"; }
grep -q 'Received SIGTERM' "$LOG" || fail "no 'Received SIGTERM' in the log"
for w in "${ws[@]}"; do ! alive "$w" || fail "worker $w outlived the master"; done
! port_open "$HTTP_PORT" || fail "port $HTTP_PORT still open after stop"
if ((SECONDS - t > 10)); then
  grep -v '\[config\]' "$LOG" | tail -n 30
  fail "the stop took $((SECONDS - t))s although no session was open: waited for the drain timeout?"
fi
ok "run1: SIGTERM: exit 0 after $((SECONDS - t))s, port closed"

# Run 2: binary upgrade (SIGUSR2 to the master, as `systemctl kill --kill-whom=main
# -s SIGUSR2 pipy` sends it): the pid file names the new master, the old one exits 0.
start_service run2
old=$MASTER
kill -USR2 "$old"
new=
for ((i = 0; i < 300; i++)); do
  new=$(cat "$PIDFILE" 2>/dev/null || true)
  [[ -n $new && $new != "$old" ]] && break
  sleep 0.1
done
[[ -n $new && $new != "$old" ]] || { cat "$LOG"; fail "SIGUSR2: the pid file still names $old"; }
PIDS+=("$new")
ok "run2: SIGUSR2: pid file now names the new master $new"
rc=0
wait "$old" || rc=$?
((rc == 0)) || { cat "$LOG"; fail "old master: exit status $rc after the upgrade, want 0"; }
ok "run2: old master $old drained and exited 0"
alive "$new" || { cat "$LOG"; fail "new master $new is gone"; }
[[ $(awk '/^Uid:/ {print $2}' "/proc/$new/status") == "$(id -u "$user")" ]] || fail "new master does not run as $user"
check_hello "run2 new master"
kill -TERM "$new"
wait_exit "$new" 45 || fail "new master $new did not stop within 45s of SIGTERM"
grep -q 'Received SIGTERM' "$LOG" || fail "new master: no 'Received SIGTERM' in the log"
! port_open "$HTTP_PORT" || fail "port $HTTP_PORT still open after stop"
ok "run2: new master stopped on SIGTERM"

# --- remove and purge -------------------------------------------------------------------------
log "dpkg -r pipy"
dpkg -r pipy >/dev/null || fail "dpkg -r"
for f in /usr/bin/pipy "$UNIT" /usr/share/pipy/examples/002-hello/pipy.js; do
  [[ ! -e $f ]] || fail "$f still there after dpkg -r"
done
[[ -f /etc/pipy/pipy.js && -f /etc/default/pipy ]] || fail "dpkg -r removed the conffiles"
ok "dpkg -r: program files gone, conffiles kept"

log "dpkg -P pipy"
dpkg -P pipy >/dev/null || fail "dpkg -P"
for f in /etc/pipy /etc/default/pipy /usr/share/pipy /usr/share/doc/pipy; do
  [[ ! -e $f ]] || fail "$f still there after dpkg -P"
done
! getent passwd pipy >/dev/null || fail "user pipy still there after purge"
! getent group pipy >/dev/null || fail "group pipy still there after purge"
dpkg-query -W -f='${Status}' pipy 2>/dev/null | grep -qv 'not-installed' && fail "pipy still known to dpkg"
ok "dpkg -P: config, user and group gone"
log "total $((SECONDS - T0))s"
