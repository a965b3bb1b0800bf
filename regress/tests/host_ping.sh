#!/bin/sh
# capsem-hostd pings the guest and declares it dead after missed pongs:
# with a ping every second and 2 misses allowed, a healthy agent (which
# also sends a pong every 3 s by itself) is never dropped; an agent whose
# control child is stopped (SIGSTOP: connected but silent) is declared
# dead, its connections are closed, it reconnects, and the session goes on
# with its shell state: a client attached across the drop sees it go on,
# and an exec the silent guest never acknowledged is replayed and runs once.
. "$CAPSEM_TOP/regress/lib.sh"
. "$CAPSEM_TOP/regress/hostlib.sh"

SHELLCMD="/bin/bash --norc --noprofile -i"
D=$TESTDIR/tmp/ping
log=$TESTDIR/ping.hostd.log
start_hostd "$D" -p 1 -m 2
start_local_agent "$D"
boots() {
	json_field "$D/session.json" connections
}
boots_are() {	# N: session.json counts N boots and says connected
	[ "$(boots)" = "$1" ] && state_is "$D" connected
}
WU_HINT="cat $D/session.json"
wait_until 15 "first boot (session.json)" boots_are 1
WU_HINT=

capsem-shell exec -S "$D" -- sh -c 'echo $$ >/dev/null; echo pinged' \
    >"$TESTDIR/out1" || fail "exec on a healthy session failed"
grep -qx pinged "$TESTDIR/out1" || fail "exec output: $(cat "$TESTDIR/out1")"

# Five pings in (the agent's debug log is the only count of them):
# nobody declared dead, the first connection still up.
pings_seen() {
	[ "$(log_count "$TESTDIR/ping.agent.log" "$LL_AGENT_HOST_SENT" \
	    TAG=ping)" -ge 5 ]
}
wait_until 15 "five ping intervals" pings_seen
boots_are 1 || fail "a healthy guest was dropped: $(cat "$D/session.json")"

# A client stays attached across the drop (stdin a fifo: not a tty).
mkfifo "$TESTDIR/in"
capsem-shell -S "$D" <"$TESTDIR/in" >"$TESTDIR/client.out" 2>&1 &
CLIENT=$!
exec 7>"$TESTDIR/in"
printf 'X=kept; echo "set=$X"\n' >&7
wait_until 10 "the client's first command" file_has "$TESTDIR/client.out" \
    "set=kept"

ctl=$(pgrep -P "$HOSTDAGENT" -f capsem-agent-control)
[ -n "$ctl" ] || fail "no control child of the agent ($HOSTDAGENT)"
kill -STOP $ctl
# An exec sent to the silent guest is never acked: it must be replayed
# after the reconnect and run exactly once.
capsem-shell exec -S "$D" -- sh -c 'echo replayed; echo x >>"$0"' \
    "$TESTDIR/ran" >"$TESTDIR/out3" 2>&1 &
EXECPID=$!
# Declared dead (2 pings of 1 s unanswered), the connections dropped, and
# the agent booted again: the second connection in session.json.
WU_HINT="cat $D/session.json"
wait_until 35 "the silent guest dropped and reconnected" boots_are 2
WU_HINT=
kill -CONT $ctl 2>/dev/null
wait_for "$EXECPID" 20
[ "$st" = 0 ] || fail "the replayed exec ended with $st: $(cat "$TESTDIR/out3")"
grep -qx replayed "$TESTDIR/out3" || fail "replayed exec output: \
$(cat "$TESTDIR/out3")"
[ "$(wc -l <"$TESTDIR/ran")" = 1 ] || fail "the exec ran \
$(wc -l <"$TESTDIR/ran") times"
# The attached client saw the session go on.
printf 'echo "val=$X"\n' >&7
wait_until 10 "output after the reconnect on the attached client" \
    file_has "$TESTDIR/client.out" "val=kept"
kill -0 "$CLIENT" 2>/dev/null || fail "the attached client left"

# Why it was dropped, said once.
n=$(log_count "$log" "$LL_HOSTD_DECLARED_DEAD" N=2)
[ "$n" = 1 ] || fail "expected one 'declared dead' line, saw $n"

exec_ok "$D" "after the reconnect"
boots_are 2 || fail "dropped again after the reconnect: $(cat "$D/session.json")"
shutdown_session "$D"
wait_for "$CLIENT" 10
[ "$st" = 129 ] || fail "the attached client ended with $st, want 129"
exec 7>&-
session_exits 129 "after shutdown"
exit 0
