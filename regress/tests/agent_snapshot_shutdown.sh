# preparesnapshot without a freeze path syncs and answers snapshotready; with
# a path that cannot be frozen it answers nothing and logs why; unfreeze is
# accepted; an unsolicited pong arrives every 3 s with no ping; the host's
# shutdown hangs up the shell and the session ends with shellexited
# (129: SIGHUP) and that exit status.
. "$CAPSEM_TOP/regress/lib.sh"

cat >script <<'S'
wait-boot
send {"t":"preparesnapshot"}
expect snapshotready 5000
send {"t":"unfreeze"}
expect pong 4000
expect pong 4000
send {"t":"shutdown"}
expect-json {"t":"shellexited","d":{"exit_code":129,"signal":1}} 5000
exit
S
start_host script
start_agent
agent_ends 30 129 shutdown

fresh_dir frozen
cat >script <<'S'
wait-boot
send {"t":"preparesnapshot"}
quiet 1000
term exit\n
expect-json {"t":"shellexited" 2000
exit
S
start_host script
fp=$TESTDIR/not-a-mount-point-$$
start_agent -f "$fp"
agent_ends 30 0 "freeze failure"
! grep -q snapshotready events.jsonl || fail "snapshotready after a failed freeze"
log_has agent.log "$LL_AGENT_FREEZE_FAILED" MOUNT="$fp" ||
    fail "the failed freeze was not logged"
exit 0
