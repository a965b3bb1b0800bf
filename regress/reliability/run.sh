#!/bin/sh
# The reliability scenarios (`make reliability`): runs each
# regress/reliability/SCENARIO.sh in its own temp dir against the real
# binaries in BUILDDIR, takes its last `RESULT name runs passed figure`
# line and prints a markdown table of them; the same table, with the date,
# the machine and the mode, goes to BUILDDIR/reliability.md.
# RELIABILITY_QUICK=1 runs reduced counts (CI).  A failing scenario keeps
# its directory and logs.  Exit status 0 when every run of every scenario
# passed.
#
# usage: regress/reliability/run.sh BUILDDIR [SCENARIO ...]

B=${1:?usage: regress/reliability/run.sh BUILDDIR [SCENARIO ...]}
shift
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/regress/env.sh"
test_env "$top" "$B"
export RELIABILITY_QUICK="${RELIABILITY_QUICK:-0}"
[ "$RELIABILITY_QUICK" = 1 ] || RELIABILITY_QUICK=0

scenarios=${*:-exit_storm drops child_crashes host_restarts load slow_client \
    orphans}
if [ "$RELIABILITY_QUICK" = 1 ]; then
	mode="quick (CI counts)" limit=170
else
	mode="full" limit=1800
fi
logdir=$(mktemp -d "${TMPDIR:-/tmp}/capsem-reliability.XXXXXX") || exit 1
rows=$logdir/rows
: >"$rows"
bad=0
start=$(date +%s)

for s in $scenarios; do
	if ! dir=$(mktemp -d "$logdir/$s.XXXXXX") || [ ! -d "$dir" ]; then
		echo "reliability: no directory for $s under $logdir" >&2
		bad=1
		continue
	fi
	t0=$(date +%s)
	(cd "$dir" && TESTDIR="$dir" timeout -s KILL "$limit" \
	    sh "$top/regress/reliability/$s.sh" >"$dir/log" 2>&1 </dev/null)
	rc=$?
	secs=$(($(date +%s) - t0))
	res=$(grep '^RESULT ' "$dir/log" | tail -n 1)
	if [ -z "$res" ]; then
		res="RESULT $s 1 0 no result (killed after ${secs} s?)"
	fi
	set -- $res
	runs=$3 passed=$4
	shift 4
	fig=$*
	printf '| %s | %s | %s | %s |\n' "$s" "$runs" "$passed" "$fig" \
	    >>"$rows"
	if [ "$rc" = 0 ] && [ "$runs" = "$passed" ] && [ "$runs" -gt 0 ]; then
		echo "ok $s ($secs s): $runs/$passed, $fig"
		rm -rf "$dir"
	else
		echo "FAIL $s ($secs s): $passed of $runs passed: $fig \
(logs in $dir)"
		bad=$((bad + 1))
	fi
done

model=$(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo | head -n 1)
out=$B/reliability.md
mkdir -p "$B"
{
	printf 'Run %s, %s mode, %s s; machine: %s CPUs (%s), Linux %s.\n\n' \
	    "$(date -u '+%Y-%m-%d %H:%M UTC')" "$mode" \
	    "$(($(date +%s) - start))" "$(nproc)" "${model:-unknown}" \
	    "$(uname -r)"
	printf '| scenario | runs | passed | figure |\n'
	printf '|---|---:|---:|---|\n'
	cat "$rows"
} >"$out"
echo
cat "$out"
[ "$bad" -ne 0 ] || rm -rf "$logdir"
[ "$bad" -eq 0 ]
