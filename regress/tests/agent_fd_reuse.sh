# A reused status pipe number never freezes the agent parent (issue 13,
# item 2): exec A ends while the parent is stopped (SIGSTOP), then exec B
# (a long sleep) and an `exit` that waits for the test arrive; once the
# parent runs again (SIGCONT) it handles A's end and B's start in one
# round, B's new pipe takes A's closed descriptor number, and the shell's
# exit still brings shellexited at once, not when B ends (an event matched
# to the pipe by number, not against the live registry, blocked the parent
# in read(2) on B's pipe for as long as B ran).
. "$CAPSEM_TOP/regress/lib.sh"

LONG=30		# exec B's sleep: a frozen parent answers only after it
PROMPT=3000	# ms for shellexited after SIGCONT, far below LONG
end_all() {
	[ -z "$AGENTPID" ] || kill -CONT "$AGENTPID" 2>/dev/null
	pkill -KILL -f "$TESTDIR/bin/" 2>/dev/null
}
trap "end_all 2>/dev/null" EXIT
mkdir bin
ln -s "$(command -v sleep)" bin/sleep
ln -s "$(command -v cat)" bin/cat
mkfifo gate gate2
start_fifo_session
cat >&3 <<S
wait-boot
send {"t":"exec","d":{"id":1,"command":"exec $TESTDIR/bin/cat $TESTDIR/gate"}}
expect-json {"t":"ack","d":{"id":1}}
S

a_pid() {
	pgrep -f "$TESTDIR/bin/cat" | head -n 1
}
has_a() {
	[ -n "$(a_pid)" ]
}
wait_until 10 "exec A's command in /proc" has_a
RUNNER=$(awk '{ print $4 }' "/proc/$(a_pid)/stat")
[ -n "$RUNNER" ] && [ "$RUNNER" != "$AGENTPID" ] || fail "no runner for A"
wait_shell

kill -STOP "$AGENTPID"
echo go >gate
zombie() {
	[ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" = Z ]
}
wait_until 10 "exec A's runner (pid $RUNNER) a zombie" zombie "$RUNNER"
# The shell exits when the test opens gate2: once the parent has taken
# exec B, so that a frozen parent cannot see it.
cat >&3 <<S
send {"t":"exec","d":{"id":2,"command":"exec $TESTDIR/bin/sleep $LONG"}}
term read x <$TESTDIR/gate2; exit\n
S
# Exec B waits for the parent: the control child has passed it on (the
# parent's end of the control child's channel has bytes queued).
CTL=$(agent_child control) || fail "no control child"
CTLSOCK=$(readlink "/proc/$CTL/fd/3" | tr -dc 0-9)
queued() {
	ss -xH 2>/dev/null | awk -v i="$CTLSOCK" \
	    '$8 == i && $3 > 0 { n++ } END { exit n == 0 }'
}
wait_until 10 "exec B queued for the agent parent" queued
kill -CONT "$AGENTPID"
has_b() {
	pgrep -f "$TESTDIR/bin/sleep" >/dev/null
}
wait_until 10 "exec B's command in /proc" has_b
echo go >gate2
t0=$(now_ms)
cat >&3 <<S
expect-json {"t":"shellexited" $PROMPT
exit
S
exec 3>&-
host_ok 30
ms=$(($(now_ms) - t0))
wait_for "$AGENTPID" 10
AGENTPID=
[ "$st" = 0 ] || fail "agent exited $st"
echo "shellexited $ms ms after the shell's exit"
exit 0
