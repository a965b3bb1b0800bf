# Shared helpers of the reliability scenarios (regress/reliability/*.sh,
# sourced, POSIX sh).  They build on regress/lib.sh and regress/hostlib.sh
# (deadline waits, tagged process cleanup, tmux on a private socket) and
# add the scenario's result line: every scenario ends, pass or fail, with
#	RESULT name runs passed figure-text
# which regress/reliability/run.sh collects.  A failure (fail, from any
# helper) prints its reason, then the RESULT line with the runs so far
# counted as run and the failing one as not passed.

. "$CAPSEM_TOP/regress/lib.sh"
. "$CAPSEM_TOP/regress/hostlib.sh"

R_NAME=${R_NAME:?}
R_RUNS=0	# runs started
R_PASSED=0	# runs that passed
R_FIGURE=
QUICK=${RELIABILITY_QUICK:-0}

# count FULL QUICK: the number of runs for this mode.
count() {
	if [ "$QUICK" = 1 ]; then echo "$2"; else echo "$1"; fi
}

result() {
	printf 'RESULT %s %s %s %s\n' "$R_NAME" "$R_RUNS" "$R_PASSED" \
	    "${R_FIGURE:-n/a}"
}

fail() {
	echo "FAIL: $*"
	cleanup
	# A failure after the last run (the final checks) is a failed run.
	if [ "${R_PASSED:-0}" -ge "${R_RUNS:-0}" ]; then
		R_RUNS=$((${R_RUNS:-0} > 0 ? R_RUNS : 1))
		R_PASSED=$((R_RUNS - 1))
	fi
	R_FIGURE="FAILED: $*${R_FIGURE:+; $R_FIGURE}"
	R_FIGURE=$(printf '%s' "$R_FIGURE" | sed "s|$TESTDIR/||g" | tr "\n|" "  " | cut -c1-200)
	result
	exit 1
}

# median: of the numbers on stdin, one a line.
median() {
	sort -n | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "n/a"; exit }
		if (NR % 2) print v[(NR + 1) / 2]
		else print int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}

fd_count() {
	ls /proc/$$/fd | wc -l
}

# rss_kib PID: VmRSS of PID in KiB (0 when gone).
rss_kib() {
	sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$1/status" \
	    2>/dev/null | grep . || echo 0
}

# scenario_session: the one session of a scenario, in $S ($TESTDIR/tmp/s;
# its logs $log for capsem-hostd and $alog for the agent), connected, with
# a fifo_client attached.
scenario_session() {
	S=$TESTDIR/tmp/s
	log=$TESTDIR/s.hostd.log
	alog=$TESTDIR/s.agent.log
	start_session "$S"
	fifo_client "$S"
}

# end_client OUTPUT: `exit` typed to the client on fd 4 ($cpid), which
# must exit 0 within 10 s (its OUTPUT file shown in a failure).
end_client() {
	printf 'exit\n' >&4
	wait_for "$cpid" 10
	exec 4>&-
	[ "$st" = 0 ] || fail "the client exited $st at the end: \
$(head -c 200 "$1" 2>/dev/null | plain)"
}

# scenario_end: capsem-hostd and the agent exit 0, nothing is left; the
# scenario passes with its RESULT line.
scenario_end() {
	session_exits 0 "at the end"
	no_leftovers
	result
	exit 0
}

# fifo_client DIR: a non-tty client of the session in DIR, its stdin the
# fifo in.fifo held open on our fd 4, its output in out (err: stderr);
# its pid in $cpid.
fifo_client() {
	mkfifo in.fifo || fail "mkfifo"
	capsem-shell -S "$1" <in.fifo >out 2>err &
	cpid=$!
	exec 4>in.fifo
}

# set_mark: export MARK in the remote shell and wait until it is set.
set_mark() {
	printf 'export MARK=m%s; echo set-$MARK\n' $$ >&4
	wait_until 10 "the variable to be set" eval \
	    'plain <out | grep -qx "set-m$$"'
}
