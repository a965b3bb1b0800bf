# Signals and the end of an exec (issue 15 item 5), on a running session
# (capsem-hostd and a local capsem-agent started here); the commands run
# sleeps named by this test's directory, so that ps finds exactly them:
#  - SIGINT and SIGQUIT to the client of an exec without a terminal (what
#    Ctrl-C and Ctrl-\ send) reach the command's process group: a trap sees
#    SIGINT, an untrapped command dies of it, status 130 and 131;
#  - the client killed with -9: the command is gone within the bound
#    (SIGHUP, SIGKILL 2 s later);
#  - the client's output pipe closing (`| head -2`): the client ends and so
#    does the command, long before it would have finished;
#  - --timeout 1 ends `sleep 100` after about a second with status 124, as
#    timeout(1) does, also for a command that ignores SIGTERM (SIGKILL
#    2 s later);
#  - each time nothing of the command is left in ps.
. "$CAPSEM_TOP/regress/lib.sh"
. "$CAPSEM_TOP/regress/hostlib.sh"

BOUND=5		# SIGHUP to SIGKILL is 2 s; room for a busy machine
mkdir bin
ln -s "$(command -v sleep)" bin/sleep
ln -s "$(command -v seq)" bin/seq
SL=$TESTDIR/bin/sleep
left() {
	pgrep -f "^$TESTDIR/bin/" | wc -l
}
none_left() {
	[ "$(left)" = 0 ]
}
running() {	# N
	[ "$(left)" = "$1" ]
}
S=$TESTDIR/s
start_session "$S"
X() {
	capsem-shell exec -S "$S" "$@"
}
XB() {	# run in the background with &: $! is the client itself
	exec capsem-shell exec -S "$S" "$@"
}

# Ctrl-C: a trap in the command sees it.
XB -- "trap 'echo got INT; exit 3' INT; $SL 100 & wait" </dev/null \
    >int.out 2>int.err &
cpid=$!
wait_until 10 "the command to start" running 1
kill -INT "$cpid"
wait_for "$cpid" 10
[ "$st" = 3 ] || fail "SIGINT with a trap: exit $st, not 3: $(cat int.err)"
grep -qx "got INT" int.out || fail "the trap did not run: $(cat int.out)"
pkill -f "^$TESTDIR/bin/"	# the background sleep ignores SIGINT

# Ctrl-C and Ctrl-\ without a trap: 128+N.
for sig in INT:130 QUIT:131; do
	XB -- "exec $SL 100" </dev/null >/dev/null 2>sig.err &
	cpid=$!
	wait_until 10 "the command to start" running 1
	kill -"${sig%:*}" "$cpid"
	wait_for "$cpid" 10
	[ "$st" = "${sig#*:}" ] ||
	    fail "SIG${sig%:*}: exit $st, not ${sig#*:}: $(cat sig.err)"
	wait_until "$BOUND" "nothing left after SIG${sig%:*}" none_left
done

# The client killed: the command goes.
XB -- "$SL 100" </dev/null >/dev/null 2>&1 &
cpid=$!
wait_until 10 "the command to start" running 1
kill -9 "$cpid"
wait_for "$cpid" 10
wait_until "$BOUND" "the command to end after its client's kill -9" \
    none_left

# The output pipe closing: the client ends, the command too.
t0=$(now_ms)
out=$(X -- "$TESTDIR/bin/seq 1 1000000000" </dev/null 2>/dev/null | head -2)
[ "$out" = "1
2" ] || fail "| head -2 printed '$out'"
wait_until "$BOUND" "seq to end once its output pipe closed" none_left
t1=$(now_ms)
[ $((t1 - t0)) -lt $((BOUND * 1000)) ] ||
    fail "| head -2 took $((t1 - t0)) ms"

# --timeout: 124, about when asked, even when SIGTERM is ignored.
for cmd in "exec $SL 100" "trap '' TERM; $SL 100; $SL 100"; do
	t0=$(now_ms)
	X --timeout 1 -- "$cmd" </dev/null >/dev/null 2>to.err
	rc=$?
	t1=$(now_ms)
	[ "$rc" = 124 ] || fail "--timeout 1 ($cmd): exit $rc, not 124: \
$(cat to.err)"
	[ $((t1 - t0)) -ge 900 ] && [ $((t1 - t0)) -lt $((1000 + BOUND * 1000)) ] ||
	    fail "--timeout 1 ($cmd) took $((t1 - t0)) ms"
	wait_until "$BOUND" "nothing left after --timeout" none_left
done
X --timeout 5 -- 'exit 4' </dev/null
rc=$?
[ "$rc" = 4 ] || fail "a command within its timeout: exit $rc, not 4"

shutdown_session "$S"
no_leftovers
exit 0
