# A drop while the agent waits for the ackreply of shellexited does not end
# it: it reconnects, boots and sends shellexited again, so the host still
# learns the exit status, and exits with it once acknowledged.  Both with a
# host that restarts (a new capsem-testhost on the same sockets) and with
# a host that drops the connections and takes them again.
. "$CAPSEM_TOP/regress/lib.sh"

end_all() {
	[ -z "$AGENTPID" ] || wait_for "$AGENTPID" 3
}
trap "end_all 2>/dev/null" EXIT

cat >script <<'S'
wait-boot
noack on
term exit 5\n
expect-json {"t":"shellexited","d":{"exit_code":5 5000
exit
S
start_host script
start_agent
host_ok 20
rm -f counts
cat >script2 <<'S'
wait-boot
expect-json {"t":"shellexited","d":{"exit_code":5 5000
exit
S
start_host script2
host_ok 20
wait_for "$AGENTPID" 10
AGENTPID=
[ "$st" = 5 ] || fail "restarted host: agent exited $st, not 5"
grep -q 'control connection ended before the ackreply of shellexited' \
    agent.log || fail "restarted host: no log line for the drop"

mkdir drop && cd drop && TESTDIR=$TESTDIR/drop
cat >script <<'S'
wait-boot
noack on
term exit 6\n
expect-json {"t":"shellexited","d":{"exit_code":6 5000
drop
noack off
wait-boot
expect-json {"t":"shellexited","d":{"exit_code":6 5000
exit
S
start_host script
start_agent
host_ok 20
wait_for "$AGENTPID" 10
AGENTPID=
[ "$st" = 6 ] || fail "drop: agent exited $st, not 6"
n=$(grep -c '"t":"shellexited"' events.jsonl)
[ "$n" = 2 ] || fail "drop: shellexited sent $n times, not 2"
exit 0
