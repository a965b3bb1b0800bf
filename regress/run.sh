#!/bin/sh
# The whole regress suite, as `make check` runs it:
#  1. every cmocka unit test binary;
#  2. the same binaries under valgrind memcheck (not with SANITIZE=1: ASan
#     and valgrind do not mix), failing on any error or definite leak;
#  3. every integration test regress/tests/*.sh, each in its own temp dir,
#     printing `ok NAME` or `FAIL NAME: reason` (a failing test keeps its
#     directory and logs).
# It ends with the cmocka totals and one line `N passed, N failed`.
#
# usage: regress/run.sh BUILDDIR [TEST ...]

B=${1:?usage: regress/run.sh BUILDDIR}
shift
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/regress/env.sh"
test_env "$top" "$B"

utests=0 upass=0 ufail=0
itpass=0 itfail=0
failed=""
logdir=$(mktemp -d "${TMPDIR:-/tmp}/capsem-regress.XXXXXX") || exit 1

run_unit() {	# name log cmd...
	name=$1 log=$2
	shift 2
	"$@" >"$log" 2>&1
	rc=$?
	cat "$log"
	run=$(sed -n 's/^\[==========\] \([0-9]*\) test(s) run\./\1/p' "$log" |
	    tail -n 1)
	pass=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test(s)\./\1/p' "$log" |
	    tail -n 1)
	run=${run:-0} pass=${pass:-0}
	utests=$((utests + run))
	upass=$((upass + pass))
	if [ "$rc" -ne 0 ] || [ "$run" -eq 0 ] || [ "$pass" -ne "$run" ]; then
		fail=$((run - pass))
		[ "$fail" -gt 0 ] || fail=1
		ufail=$((ufail + fail))
		failed="$failed $name"
		echo "FAIL $name (exit $rc, log kept in $log)"
	fi
}

# With tests named on the command line, run only those.
units=$(find "$B/regress" -type f -name 'test_*' ! -name '*.[od]' \
    2>/dev/null | sort)
[ $# -eq 0 ] || units=

for t in $units; do
	[ -x "$t" ] || continue
	n=${t#"$B/regress/"}
	run_unit "$n" "$logdir/$(echo "$n" | tr / _).log" "$t"
done

if [ -n "$units" ] && [ "${SANITIZE:-0}" != 1 ] && command -v valgrind >/dev/null 2>&1; then
	for t in $units; do
		[ -x "$t" ] || continue
		n=${t#"$B/regress/"}
		run_unit "valgrind:$n" "$logdir/vg_$(echo "$n" | tr / _).log" \
		    valgrind -q --error-exitcode=99 --leak-check=full \
		    --errors-for-leak-kinds=definite,indirect \
		    --show-leak-kinds=definite,indirect "$t"
	done
fi

tests=$*
[ -n "$tests" ] || tests=$(ls "$top"/regress/tests/*.sh 2>/dev/null | sort)
for t in $tests; do
	case $t in /*) ;; *) t=$(pwd)/$t ;; esac
	name=$(basename "$t" .sh)
	# A test never runs where it cannot have a directory of its own
	# (never in the tree: it writes where it stands).
	if ! dir=$(mktemp -d "$logdir/$name.XXXXXX") || [ ! -d "$dir" ]; then
		echo "FAIL $name: no directory for it under $logdir"
		itfail=$((itfail + 1))
		continue
	fi
	reason=$(cd "$dir" && TESTDIR="$dir" sh "$t" >"$dir/test.log" 2>&1 \
	    </dev/null; echo $?)
	if [ "$reason" = 0 ]; then
		echo "ok $name"
		itpass=$((itpass + 1))
		rm -rf "$dir"
	else
		why=$(tail -n 1 "$dir/test.log")
		echo "FAIL $name: $why (logs in $dir)"
		itfail=$((itfail + 1))
		failed="$failed $name"
	fi
done

echo "[==========] $utests test(s) run."
echo "[  PASSED  ] $upass test(s)."
[ "$ufail" -eq 0 ] || echo "[  FAILED  ] $ufail test(s), listed below:$failed"
total_pass=$((upass + itpass))
total_fail=$((ufail + itfail))
[ "$total_fail" -ne 0 ] || rm -rf "$logdir"
echo "check: $total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
