# A channel child that dies without a word (SIGKILL) is logged with its role
# and signal; its channel is lost with it, so the agent reconnects and the
# shell keeps its state.  A killed audit child is restarted alone.  With no
# host at all, the agent gives up after its reconnect deadline (-r) with
# exit status 1 and a clear log line.
. "$CAPSEM_TOP/regress/lib.sh"

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
# Booted (the control child relayed bootready), the audit connection up.
wait_boots 1
wait_until 10 "the audit connection (counts)" count_is audit 1
wait_until 10 "the term and audit children" eval \
    'agent_child term >/dev/null && agent_child audit >/dev/null'
a=$(agent_child audit)
kill -9 "$a"
restarted() {
	na=$(agent_child audit) && [ "$na" != "$a" ]
}
# Restarted alone: the same session, a second audit connection.
wait_until 10 "the audit child to be restarted" restarted
wait_until 10 "the new audit child's connection (counts)" count_is audit 2
count_is bootready 1 || fail "killing the audit child cost a reconnect"
t=$(agent_child term)
kill -9 "$t"
agent_ends 60 0
killed=$(ll "$LL_EXIT_SIGNAL" SIG=9)
log_has agent.log "$LL_CHILD_DIED" ROLE=term PID="$t" HOW="$killed" ||
    fail "the term child's death (pid $t) was not logged with its signal"
log_has agent.log "$LL_CHILD_DIED" ROLE=audit PID="$a" HOW="$killed" ||
    fail "the audit child's death (pid $a) was not logged with its signal"

# No host: give up after the deadline.
mkdir nohost
capsem-agent -d -t "unix:$TESTDIR/nohost" -s "$SHELLCMD" -r 1 \
    -w "$TESTDIR/ws" -a /nonexistent >nohost/agent.log 2>&1 &
AGENTPID=$!
wait_for "$AGENTPID" 10
AGENTPID=
[ "$st" = 1 ] || fail "no host: agent exited $st, not 1"
log_has nohost/agent.log "$LL_AGENT_GIVING_UP" SECS=1 ||
    fail "no host: no clear log line"
exit 0
