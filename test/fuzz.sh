#!/usr/bin/env bash
#
# test/fuzz.sh: run every Go fuzz target of the project, one after the other,
# for a while each, and summarise (docs/fuzzing.md).
#
#   bash test/fuzz.sh                          # every target, 10s each
#   FUZZTIME=5m bash test/fuzz.sh              # longer
#   FUZZ_TARGETS="FuzzJSONDecode xml/FuzzParse" bash test/fuzz.sh
#
# Knobs (environment):
#   FUZZTIME=10s           -fuzztime of each target (a duration, or Nx for N execs)
#   FUZZ_PARALLEL=1        fuzzing workers per target (-parallel)
#   FUZZ_MINIMIZETIME=3s   -fuzzminimizetime: the budget for minimizing each new
#                          interesting input and a crasher (Go's default, 60s,
#                          can eat a whole short run)
#   FUZZ_TARGETS=          space- or comma-separated subset; an entry is a
#                          target's name (FuzzJSONDecode: every target of that
#                          name), or its id or a suffix of it
#                          (scripts/xml/FuzzParse, xml/FuzzParse)
#   FUZZ_TIMEOUT=          go test -timeout; default FUZZTIME plus 5 minutes
#                          (0, no limit, for an Nx FUZZTIME)
#   FUZZ_LOGDIR=           keep each target's go test output there
#   GO=go                  the go command
#
# Prints one line per target (package, target, execs, result) as it ends,
# then the table again. Exits 1 if any target failed (a crasher is written
# to <package>/testdata/fuzz/<target>/ and named in the output), 2 on bad
# arguments.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Every fuzz target: package directory and target name. Keep in sync with
# `grep -rn '^func Fuzz' --include=*_test.go .` (checked below).
TARGETS=(
	"./filters/http FuzzDecodeHttpRequest"
	"./filters/http FuzzDecodeHttpResponse"
	"./filters/http FuzzDecodeHttpBodilessResponse"
	"./filters/http/h2 FuzzFrameReader"
	"./filters/http/h2 FuzzHeaderBlock"
	"./filters/socks4 FuzzSocks4"
	"./filters/dubbo FuzzDecodeDubbo"
	"./filters/compress FuzzDecompress"
	"./scripts FuzzJSONDecode"
	"./scripts FuzzStaticGraph"
	"./scripts/hessian FuzzDecode"
	"./scripts/xml FuzzParse"
	"./scripts/url FuzzParse"
	"./scripts/netmask FuzzParse"
	"./scripts/algo FuzzResourcePool"
	"./scripts/algo FuzzPercentile"
)

GO=${GO:-go}
FUZZTIME=${FUZZTIME:-10s}
FUZZ_PARALLEL=${FUZZ_PARALLEL:-1}
FUZZ_MINIMIZETIME=${FUZZ_MINIMIZETIME:-3s}

# seconds of a Go duration made of h, m and s parts (10s, 1m30s, 2h), or
# nothing when it is something else (1000x, 1.5s).
seconds() {
	local d=$1 total=0
	[[ $d =~ ^([0-9]+h)?([0-9]+m)?([0-9]+s)?$ && -n $d ]] || return 0
	local re='^([0-9]+)([hms])(.*)$'
	while [[ $d =~ $re ]]; do
		case ${BASH_REMATCH[2]} in
		h) total=$((total + BASH_REMATCH[1] * 3600)) ;;
		m) total=$((total + BASH_REMATCH[1] * 60)) ;;
		s) total=$((total + BASH_REMATCH[1])) ;;
		esac
		d=${BASH_REMATCH[3]}
	done
	echo "$total"
}

if [[ -z ${FUZZ_TIMEOUT:-} ]]; then
	secs=$(seconds "$FUZZTIME")
	if [[ -n $secs ]]; then
		FUZZ_TIMEOUT=$((secs + 300))s
	else
		FUZZ_TIMEOUT=0
	fi
fi

# The list above must name every target in the tree, and only those.
mapfile -t found < <(grep -rl --include='*_test.go' --exclude-dir=node_modules --exclude-dir=.git '^func Fuzz' . |
	while read -r f; do
		dir=$(dirname "$f")
		sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$f" | while read -r name; do
			echo "$dir $name"
		done
	done | sort)
mapfile -t listed < <(printf '%s\n' "${TARGETS[@]}" | sort)
if [[ "${found[*]}" != "${listed[*]}" ]]; then
	echo "fuzz.sh: the target list is out of date; in the tree:" >&2
	printf '  %s\n' "${found[@]}" >&2
	exit 2
fi

# Select the targets.
selected=()
if [[ -n ${FUZZ_TARGETS:-} ]]; then
	read -r -a sels <<<"${FUZZ_TARGETS//,/ }"
	for sel in "${sels[@]}"; do
		hit=0
		for t in "${TARGETS[@]}"; do
			pkg=${t% *} name=${t#* }
			id=${pkg#./}/$name
			if [[ $sel == "$name" || $sel == "$id" || $id == */"$sel" ]]; then
				hit=1
				[[ " ${selected[*]-} " == *" $pkg:$name "* ]] || selected+=("$pkg:$name")
			fi
		done
		if ((!hit)); then
			echo "fuzz.sh: no fuzz target matches \"$sel\"" >&2
			exit 2
		fi
	done
else
	for t in "${TARGETS[@]}"; do
		selected+=("${t% *}:${t#* }")
	done
fi

logdir=${FUZZ_LOGDIR:-}
if [[ -z $logdir ]]; then
	logdir=$(mktemp -d)
	trap 'rm -rf "$logdir"' EXIT
fi
mkdir -p "$logdir"

echo "fuzz.sh: ${#selected[@]} targets, FUZZTIME=$FUZZTIME, -parallel=$FUZZ_PARALLEL," \
	"-fuzzminimizetime=$FUZZ_MINIMIZETIME, -timeout=$FUZZ_TIMEOUT"
summary=()
failed=0
for t in "${selected[@]}"; do
	pkg=${t%:*} name=${t#*:}
	log=$logdir/$(echo "${pkg#./}" | tr / _)_$name.log
	start=$SECONDS
	for attempt in 1 2; do
		rc=0
		"$GO" test -run '^$' -fuzz "^$name\$" -fuzztime "$FUZZTIME" \
			-fuzzminimizetime "$FUZZ_MINIMIZETIME" -parallel "$FUZZ_PARALLEL" \
			-timeout "$FUZZ_TIMEOUT" "$pkg" >"$log" 2>&1 || rc=$?
		# Go <= 1.26's fuzz coordinator may report `context deadline
		# exceeded` when -fuzztime runs out with a worker mid-input
		# (go.dev/issue/75804, fixed in Go 1.27): no input failed and none
		# was written. Run such a target once more; a real failure (a
		# failing input, a panic, a t.Error) is never retried.
		if ((rc != 0 && attempt == 1)) && grep -q 'context deadline exceeded' "$log" &&
			! grep -qE 'Failing input written|panic:|_test\.go:[0-9]+:' "$log"; then
			echo "fuzz.sh: $name: spurious 'context deadline exceeded' at the fuzztime boundary (go.dev/issue/75804); running it again"
			continue
		fi
		break
	done
	execs=$(grep -o 'execs: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2 || true)
	if [[ -z $execs ]]; then
		# Still running the corpus (seeds and cached inputs) when time ran out.
		base=$(grep -o 'baseline coverage: [0-9]*/[0-9]*' "$log" | tail -n 1 | cut -d' ' -f3 || true)
		execs=${base:+0(baseline:$base)}
	fi
	result=ok
	if ((rc != 0)); then
		result=FAIL
		failed=1
	fi
	line=$(printf '%-18s %-24s execs %-12s %-4s %ds' "${pkg#./}" "$name" "${execs:-?}" "$result" $((SECONDS - start)))
	echo "$line"
	summary+=("$line")
	if ((rc != 0)); then
		# The failure and, when one was found, where the crasher went and how
		# to re-run it.
		grep -v '^fuzz: elapsed:' "$log" | tail -n 40 | sed 's/^/    /'
	fi
done

echo
echo "fuzz.sh summary (FUZZTIME=$FUZZTIME):"
printf '  %s\n' "${summary[@]}"
if ((failed)); then
	echo "fuzz.sh: FAIL (crashers are in <package>/testdata/fuzz/<target>/; see docs/fuzzing.md)"
	exit 1
fi
echo "fuzz.sh: ok"
