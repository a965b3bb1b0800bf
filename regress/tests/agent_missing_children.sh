# A child program that cannot be run is a permanent fault: the agent stops
# within 10 s, non-zero, with one line naming the program and the error,
# and never retries.  Three ways: the agent binary alone in a directory
# with CAPSEM_LIBEXECDIR=/nonexistent (found at start), a child removed
# while the session runs (found when a reconnect starts it again, which
# also hangs up the shell), and a child that exits before it is ready,
# three times in a row.  A live host is there each time, so an agent that
# retried would keep restarting children.
. "$CAPSEM_TOP/regress/lib.sh"

export CAPSEM_LIBEXECDIR=/nonexistent
AGENT=$(command -v capsem-agent)
end_all() {
	[ -z "$AGENTPID" ] || wait_for "$AGENTPID" 3
}
trap "end_all 2>/dev/null" EXIT

# run_agent DIR NAME: the agent copied to DIR/sbin, started as start_agent
# does, but from there.
run_agent() {
	mkdir -p "$TESTDIR/ws"
	setsid "$1/sbin/capsem-agent" -d -v -t "unix:$TESTDIR/sock" \
	    -s "$SHELLCMD" -w "$TESTDIR/ws" -a "$TESTDIR/audit.log" \
	    -b "$TESTDIR/bt.jsonl" >"$TESTDIR/$2.log" 2>&1 &
	AGENTPID=$!
}

# ended NAME PROGRAM WHY: the agent stopped non-zero within 10 s with one
# line naming PROGRAM and WHY.
ended() {
	wait_for "$AGENTPID" 10
	AGENTPID=
	[ "$st" != 0 ] && [ "$st" != 137 ] ||
	    fail "$1: agent exited $st (137: still running after 10 s)"
	n=$(grep -c "cannot run .*/$2: $3" "$1.log")
	[ "$n" = 1 ] || fail "$1: $n lines 'cannot run .../$2: $3', not 1"
	n=$(grep -c "$2" "$1.log")
	[ "$n" = 1 ] || fail "$1: $2 named on $n lines, not once"
}

cat >script <<'S'
sleep 30000
S
start_host script

mkdir -p alone/sbin
cp "$AGENT" alone/sbin/
run_agent "$TESTDIR/alone" alone
ended alone capsem-agent-term "No such file or directory"

# The build tree's layout, so that the children are found beside it.
tree() {
	mkdir -p "$1/sbin" "$1/libexec"
	cp "$AGENT" "$1/sbin/"
	cp "$(dirname "$AGENT")/../libexec/capsem-agent-"* "$1/libexec/"
}

kill "$HOSTPID"
wait "$HOSTPID" 2>/dev/null
rm -f counts
cat >script <<'S'
wait-boot
term echo up-$((1+1))\n
expect-term up-2
drop
sleep 30000
S
start_host script
tree "$TESTDIR/removed"
run_agent "$TESTDIR/removed" removed
i=0
until grep -q "boot sequence done" removed.log 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 1000 ] || fail "removed: no boot in 10 s"
	sleep 0.01
done
sh_pid=$(sed -n 's/.*shell .* started (pid \([0-9]*\)).*/\1/p' removed.log)
rm "$TESTDIR/removed/libexec/capsem-agent-term"
ended removed capsem-agent-term "No such file or directory"
[ "$(session_left "$sh_pid")" = 0 ] ||
    fail "removed: the shell outlived the agent"

kill "$HOSTPID"
wait "$HOSTPID" 2>/dev/null
rm -f counts
cat >script <<'S'
sleep 30000
S
start_host script
tree "$TESTDIR/early"
printf '#!/bin/sh\nexit 3\n' >"$TESTDIR/early/libexec/capsem-agent-control"
run_agent "$TESTDIR/early" early
ended early capsem-agent-control "it exited with status 3 before it was ready"
grep -q "3 times in a row" early.log || fail "early: the count is not said"
exit 0
