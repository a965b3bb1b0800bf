# A channel child that dies without a word (SIGKILL) is logged with its role
# and signal; its channel is lost with it, so the agent reconnects and the
# shell keeps its state.  A killed audit child is restarted alone.  With no
# host at all, the agent gives up after its reconnect deadline (-r) with
# exit status 1 and a clear log line.
. "$CAPSEM_TOP/regress/lib.sh"

child_pid() {
	ps --ppid "$AGENTPID" -o pid= -o args= |
	    awk -v r="capsem-agent-$1" '$2 == r { print $1 }'
}

cat >script <<'S'
wait-boot
term export KEEP=kept\n
term echo ready-$((1+1))\n
expect-term ready-2
wait-boot 2 15000
term echo "$KEEP-$((2+2))"\n
expect-term kept-4
term exit\n
expect-json {"t":"shellexited" 2000
exit
S
start_host script
start_agent
i=0
until grep -q 'control child ready' agent.log && [ -n "$(child_pid term)" ] &&
    [ -n "$(child_pid audit)" ]; do
	i=$((i + 1))
	[ $i -lt 1000 ] || fail "children did not start in 10 s"
	sleep 0.01
done
a=$(child_pid audit)
kill -9 "$a"
i=0
until [ -n "$(child_pid audit)" ] && [ "$(child_pid audit)" != "$a" ]; do
	i=$((i + 1))
	[ $i -lt 1000 ] || fail "audit child not restarted in 10 s"
	sleep 0.01
done
kill -9 "$(child_pid term)"
host_ok 60
wait_for "$AGENTPID" 10
AGENTPID=
[ "$st" = 0 ] || fail "agent exited $st"
grep -q 'term child (pid [0-9]*) killed by SIGKILL' agent.log ||
    grep -q 'term child (pid [0-9]*) .*signal 9' agent.log ||
    fail "the term child's death was not logged with its signal"
grep -q 'audit child (pid [0-9]*) .*KILL\|audit child (pid [0-9]*) .*signal 9' \
    agent.log || fail "the audit child's death was not logged"

# No host: give up after the deadline.
mkdir nohost
capsem-agent -d -t "unix:$TESTDIR/nohost" -s "$SHELLCMD" -r 1 \
    -w "$TESTDIR/ws" -a /nonexistent >nohost/agent.log 2>&1 &
AGENTPID=$!
wait_for "$AGENTPID" 10
AGENTPID=
[ "$st" = 1 ] || fail "no host: agent exited $st, not 1"
grep -q 'no connection to the host for 1 s: giving up' nohost/agent.log ||
    fail "no host: no clear log line"
exit 0
