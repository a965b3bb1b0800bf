# 20 transport drops in one session (the host closes terminal and control):
# 20 reconnects, a variable exported before is still set after, the
# parent's open-fd count and children (/proc) after the last reconnect are
# those after the first boot, the agent never connects more than once per
# drop, and no zombie is left behind.
. "$CAPSEM_TOP/regress/lib.sh"

{
	printf '%s\n' 'wait-boot'
	printf '%s\n' 'term export KEEP=still-here\n'
	printf '%s\n' 'term echo mark-$((40+2))\n'
	printf '%s\n' 'expect-term mark-42'
	printf 'wait-file %s/go1\n' "$TESTDIR"
	i=0
	while [ $i -lt 20 ]; do
		printf '%s\n' 'drop'
		printf '%s\n' 'wait-boot'
		i=$((i + 1))
	done
	printf 'wait-file %s/go2 30000\n' "$TESTDIR"
	printf '%s\n' 'term echo "$KEEP-$((1+1))"\n'
	printf '%s\n' 'expect-term still-here-2'
	printf '%s\n' 'term exit\n'
	printf '%s\n' 'expect-json {"t":"shellexited","d":{"exit_code":0 2000'
	printf '%s\n' 'exit'
} >script
# resources: the agent parent's open fds and its children (zombies
# included) by program name.
resources() {
	printf '%s fds, children:' "$(ls "/proc/$AGENTPID/fd" | wc -l)"
	for p in $(children_of "$AGENTPID"); do
		printf ' %s' "$(cat "/proc/$p/comm" 2>/dev/null)"
	done | tr ' ' '\n' | sort | tr '\n' ' '
}
# settled N: the state after boot N, once the agent is idle again: N boots
# and N audit connections seen, an audit child running, and the same
# resources in 5 looks 50 ms apart (the parent passes the audit fds on and
# closes them right after the audit connection is accepted).
settled() {
	wait_until 30 "boot $1 (counts)" count_is bootready "$1"
	wait_until 10 "audit connection $1 (counts)" count_is audit "$1"
	wait_until 10 "the audit child after boot $1" eval \
	    'agent_child audit >/dev/null'
	same=0
	prev=
	wait_until 10 "the agent's fds and children to settle after boot $1" \
	    stable
}
stable() {
	cur=$(resources)
	if [ "$cur" = "$prev" ]; then
		same=$((same + 1))
	else
		same=0
	fi
	prev=$cur
	[ "$same" -ge 4 ] || { sleep 0.05; return 1; }
}
start_host script
start_agent
settled 1
first=$prev
: >go1
settled 21
last=$prev
: >go2
[ "$first" = "$last" ] || fail "resources changed: after the first boot \
'$first', after the last '$last'"
agent_ends 120 0
count_is bootready 21 ||
    fail "expected 21 boots (1 + 20 reconnects): $(tr '\n' ' ' <counts)"
c=$(grep '"ev":"accept","chan":"control"' events.jsonl | wc -l)
[ "$c" = 21 ] || fail "expected 21 control connections, saw $c"
[ "$(agent_children_left)" = 0 ] || fail "agent children still running"
no_frames_on_terminal
exit 0
