# The host closing an exec connection ends the command (capsem-protocol(7),
# exec): `sleep 100`, and a `sleep 100` with a background sleep of its own
# under a shell that ignores SIGHUP, are gone within the bound (SIGHUP,
# SIGKILL 2 s later) with nothing left of their trees, found by this test's
# directory in the command lines; their statuses, replayed to the next
# host after the reconnect, say 129 (SIGHUP) and 137 (SIGKILL).
. "$CAPSEM_TOP/regress/lib.sh"

BOUND=4		# the 2 s of SIGHUP to SIGKILL, and room for a busy machine
# Also when it fails: an agent that lingers, then what the execs started.
end_all() {
	[ -z "$AGENTPID" ] || wait_for "$AGENTPID" 3
	pkill -KILL -f "$TESTDIR/bin/" 2>/dev/null
}
trap "end_all 2>/dev/null" EXIT
mkdir bin
ln -s "$(command -v sleep)" bin/sleep
S=$TESTDIR/bin/sleep
left() {
	pgrep -f "$TESTDIR/bin/" | wc -l
}

# The script comes through a FIFO, so that the host waits for the test.
start_fifo_session
cat >&3 <<S
wait-boot
send {"t":"exec","d":{"id":1,"command":"exec $S 100"}}
expect-json {"t":"ack","d":{"id":1}}
send {"t":"exec","d":{"id":2,"command":"trap '' HUP; $S 100 & $S 100"}}
expect-json {"t":"ack","d":{"id":2}}
S
i=0
until [ "$(left)" = 4 ]; do
	i=$((i + 1))
	[ $i -lt 1000 ] || fail "the execs did not start in 10 s: $(left) \
running"
	sleep 0.01
done
t0=$(date +%s%N)
echo exit >&3
exec 3>&-
host_ok 10
i=0
until [ "$(left)" = 0 ]; do
	i=$((i + 1))
	[ $i -lt $((BOUND * 100)) ] ||
	    fail "$(left) exec processes still there $BOUND s after the host \
closed"
	sleep 0.01
done
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$ms" -ge 1500 ] ||
    fail "the SIGHUP-ignoring exec ended after $ms ms, before its SIGKILL"

rm -f counts
cat >script2 <<'S'
wait-boot
expect-json {"t":"execdone","d":{"id":1,"exit_code":129}}
expect-json {"t":"execdone","d":{"id":2,"exit_code":137}}
term exit\n
expect-json {"t":"shellexited" 2000
exit
S
start_host script2
host_ok 30
wait_for "$AGENTPID" 10
AGENTPID=
[ "$st" = 0 ] || fail "agent exited $st"
grep -q 'exec 2: the host closed the exec connection: hanging up' agent.log ||
    fail "no log line for the cancelled exec"
exit 0
