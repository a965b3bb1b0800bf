#!/bin/sh
# Run the libFuzzer targets (called by `make fuzz`, see fuzz.mk).
#
#	sh regress/fuzz/run.sh BUILD_DIR SECONDS TARGET...
#
# For each target: replay the kept crash inputs of regress/fuzz/regress/
# TARGET/ (each must now pass), then fuzz for SECONDS from the corpus
# BUILD_DIR/corpus/TARGET (new inputs are added there; a crash input lands
# in BUILD_DIR/artifacts/TARGET/).  Prints one line per target and a total;
# exits 1 if any target failed.  Writes only under BUILD_DIR.

fb=$1
secs=$2
shift 2
top=$(cd "$(dirname "$0")/../.." && pwd)
failed=0
total_execs=0
ntargets=0
mkdir -p "$fb/log" || exit 1
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

for t in "$@"; do
	bin=$fb/$t
	log=$fb/log/$t.log
	reg=$top/regress/fuzz/regress/$t
	case $t in
	fuzz_auditlog)	maxlen=200000 ;;	# past AUDITLOG_LINE_MAX
	fuzz_wirejson)	maxlen=16384 ;;
	*)		maxlen=65536 ;;
	esac
	mkdir -p "$fb/corpus/$t" "$fb/artifacts/$t"

	nreg=0
	if [ -d "$reg" ] && [ -n "$(ls -A "$reg")" ]; then
		nreg=$(ls -A "$reg" | wc -l)
		if ! "$bin" -rss_limit_mb=2048 -timeout=10 "$reg"/* \
		    >"$log.regress" 2>&1; then
			echo "$t: FAIL replaying $reg (see $log.regress)"
			failed=1
			continue
		fi
	fi

	"$bin" -max_total_time="$secs" -max_len="$maxlen" \
	    -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
	    -artifact_prefix="$fb/artifacts/$t/" "$fb/corpus/$t" \
	    >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" |
	    tail -n 1)
	[ -n "$execs" ] || execs=$(sed -n 's/^#\([0-9]*\).*/\1/p' "$log" |
	    tail -n 1)
	[ -n "$execs" ] || execs=0
	pat='s/.* cov: \([0-9]*\) ft: \([0-9]*\) corp: \([0-9]*\).*'
	cov=$(sed -n "$pat/\\1 \\2 \\3/p" "$log" | tail -n 1)
	read c ft corp <<EOC
$cov
EOC
	ntargets=$((ntargets + 1))
	total_execs=$((total_execs + execs))
	if [ $rc -eq 0 ]; then
		status=ok
	else
		status="CRASH (rc $rc)"
		failed=1
	fi
	printf '%-18s %s: %s execs, cov %s, ft %s, corpus %s, %s regress\n' \
	    "$t" "$status" "$execs" "$c" "$ft" "$corp" "$nreg"
	if [ $rc -ne 0 ]; then
		grep -m 3 -E 'ERROR|SUMMARY|runtime error|Test unit written' \
		    "$log" | sed 's/^/    /'
	fi
done
echo "total: $total_execs execs in $ntargets targets x ${secs}s;" \
    "$([ $failed -eq 0 ] && echo ok || echo FAILED)"
exit $failed
