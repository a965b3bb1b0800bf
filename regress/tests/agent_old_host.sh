# A host that does not announce the shellexited capability (an older host)
# never receives an unknown tag: on exit the agent sends one shutdownrequest
# on the lifecycle port instead, and still exits with the shell's status.
# A host that never acknowledges shellexited cannot hold the agent: it ends
# after its bounded wait.
. "$CAPSEM_TOP/regress/lib.sh"

cat >script <<'S'
wait-boot
term exit 5\n
expect shutdownrequest 2000
quiet 500
exit
S
start_host script -C
start_agent
host_ok 30
wait_for "$AGENTPID" 10
AGENTPID=
[ "$st" = 5 ] || fail "old host: agent exited $st, not 5"
! grep -q '"t":"shellexited"' events.jsonl || fail "shellexited sent to an old host"

mkdir noack && cd noack && TESTDIR=$TESTDIR/noack
cat >script <<'S'
wait-boot
noack on
term exit 6\n
expect-json {"t":"shellexited","d":{"exit_code":6 1000
quiet 3000
exit
S
start_host script
start_agent
host_ok 30
wait_for "$AGENTPID" 10
AGENTPID=
[ "$st" = 6 ] || fail "noack: agent exited $st, not 6"
grep -q 'no ackreply for shellexited' agent.log || fail "noack: no timeout logged"
exit 0
