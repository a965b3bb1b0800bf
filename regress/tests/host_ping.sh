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
wait_until 15 "first boot" file_has "$log" "guest booted: connection 1"

capsem-shell exec -S "$D" -- sh -c 'echo $$ >/dev/null; echo pinged' \
    >"$TESTDIR/out1" || fail "exec on a healthy session failed"
grep -qx pinged "$TESTDIR/out1" || fail "exec output: $(cat "$TESTDIR/out1")"

# Five pings in: nobody declared dead.
pings_seen() {
	[ "$(grep -c 'control: host sent ping' "$TESTDIR/ping.agent.log")" \
	    -ge 5 ]
}
wait_until 15 "five ping intervals" pings_seen
! file_has "$log" "declared dead" || fail "a healthy guest was declared dead"

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
wait_until 15 "the silent guest declared dead" file_has "$log" \
    "declared dead"
wait_until 20 "the guest reconnected" file_has "$log" \
    "guest booted: connection 2"
kill -CONT $ctl 2>/dev/null
state_is "$D" connected || fail "session.json: $(cat "$D/session.json")"
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

n=$(grep -c 'missed 2 pings in a row' "$log")
[ "$n" = 1 ] || fail "expected one 'declared dead' line, saw $n"

capsem-shell exec -S "$D" -- echo after >"$TESTDIR/out2" ||
    fail "exec after the reconnect failed"
grep -qx after "$TESTDIR/out2" || fail "exec output: $(cat "$TESTDIR/out2")"
capsem-shell shutdown -S "$D" || fail "shutdown failed"
wait_for "$CLIENT" 10
[ "$st" = 129 ] || fail "the attached client ended with $st, want 129"
exec 7>&-
wait_for "$HOSTDPID" 10
[ "$st" != timeout ] || fail "capsem-hostd did not end after shutdown"
HOSTDPID=
exit 0
