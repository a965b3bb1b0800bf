# 20 transport drops in one session (the host closes terminal and control):
# 20 reconnects, a variable exported before is still set after, the
# parent's open-fd and child-process counts after the last reconnect are
# those after the first boot, the agent never connects more than once per
# drop, and no zombie is left behind.
. "$CAPSEM_TOP/regress/lib.sh"

{
	printf '%s\n' 'wait-boot'
	printf '%s\n' 'term export KEEP=still-here\n'
	printf '%s\n' 'term echo mark-$((40+2))\n'
	printf '%s\n' 'expect-term mark-42'
	i=0
	while [ $i -lt 20 ]; do
		printf '%s\n' 'drop'
		printf '%s\n' 'wait-boot'
		i=$((i + 1))
	done
	printf '%s\n' 'term echo "$KEEP-$((1+1))"\n'
	printf '%s\n' 'expect-term still-here-2'
	printf '%s\n' 'term exit\n'
	printf '%s\n' 'expect-json {"t":"shellexited","d":{"exit_code":0 2000'
	printf '%s\n' 'exit'
} >script
start_host script
start_agent
host_ok 120
wait_for "$AGENTPID" 10
AGENTPID=
[ "$st" = 0 ] || fail "agent exited $st"
n=$(grep -c 'boot sequence done' agent.log)
[ "$n" = 21 ] || fail "expected 21 boots (1 + 20 reconnects), saw $n"
first=$(grep 'boot sequence done' agent.log | head -n 1 |
    sed 's/.*(connection [0-9]*, //')
last=$(grep 'boot sequence done' agent.log | tail -n 1 |
    sed 's/.*(connection [0-9]*, //')
[ "$first" = "$last" ] || fail "resources changed: first boot '$first', \
last '$last'"
c=$(grep '"ev":"accept","chan":"control"' events.jsonl | wc -l)
[ "$c" = 21 ] || fail "expected 21 control connections, saw $c"
[ "$(agent_children_left)" = 0 ] || fail "agent children still running"
no_frames_on_terminal
exit 0
