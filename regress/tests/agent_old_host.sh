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
agent_ends 30 5 "old host"
! grep -q '"t":"shellexited"' events.jsonl || fail "shellexited sent to an old host"

fresh_dir noack
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
agent_ends 30 6 noack
# The agent ended on its own after its bounded wait: it closed control
# (reason eof: not the host's exit) at least 1 s after shellexited (the
# wait is ACK_TIMEOUT_MS, 2 s, in agent-parent/agent.c) and before the
# host's quiet 3 s were over.
ms() { sed -n 's/^{"ms":\([0-9]*\),.*/\1/p' | head -n 1; }
se=$(grep -F '"t":"shellexited"' events.jsonl | ms)
cl=$(grep -F '"ev":"close","chan":"control"' events.jsonl | ms)
ex=$(grep -F '"ev":"exit"' events.jsonl | ms)
[ -n "$se" ] && [ -n "$cl" ] && [ -n "$ex" ] ||
    fail "noack: events missing (shellexited '$se', close '$cl', exit '$ex')"
grep -F '"ev":"close","chan":"control"' events.jsonl | head -n 1 |
    grep -qF '"reason":"eof"' || fail "noack: control was not closed by \
the agent: $(grep -F '"ev":"close","chan":"control"' events.jsonl)"
[ $((cl - se)) -ge 1000 ] || fail "noack: the agent ended $((cl - se)) ms \
after shellexited, without waiting for the ackreply"
[ "$cl" -lt "$ex" ] || fail "noack: the agent ended only when the host did"
exit 0
