# Host restarts: capsem-hostd SIGKILLed and started again on the same
# session directory N times.  Its children must go away with it, the agent
# must reconnect to each new hostd (session.json names the new pid and
# says connected), an exec answers after each, and at the end a terminal
# client (on a pty) sees the variable the shell got before the first kill.
# Figure: median ms from the kill to the new hostd's session connected.
R_NAME=host_restarts
. "$CAPSEM_TOP/regress/reliability/rlib.sh"

N=$(count 20 3)
S=$TESTDIR/tmp/s
start_session "$S"

fifo_client "$S"
set_mark

hostd_children() {
	for pid in $(tag_pids); do
		case $(cat "/proc/$pid/comm" 2>/dev/null) in
		capsem-hostd*) return 0 ;;
		esac
	done
	return 1
}
new_connected() {
	[ "$(json_field "$S/session.json" hostd_pid)" = "$HOSTDPID" ] &&
	    state_is "$S" connected
}

: >times
i=0
while [ $i -lt "$N" ]; do
	i=$((i + 1))
	R_RUNS=$i
	t0=$(now_ms)
	kill -9 "$HOSTDPID"
	wait_for "$HOSTDPID" 5
	HOSTDPID=
	wait_until 5 "hostd's children to exit (restart $i)" \
	    eval '! hostd_children'
	kill -0 "$HOSTDAGENT" 2>/dev/null ||
	    fail "restart $i: the agent died with capsem-hostd"
	start_hostd "$S"
	WU_HINT="cat $S/session.json"
	wait_until 30 "the agent to reconnect (restart $i)" new_connected
	WU_HINT=
	echo $(($(now_ms) - t0)) >>times
	capsem-shell exec -S "$S" -- echo ok >exec.out 2>exec.err ||
	    fail "restart $i: exec: $(head -c 200 exec.err)"
	grep -qx ok exec.out || fail "restart $i: exec said $(head -c 99 \
exec.out)"
	R_PASSED=$i
	R_FIGURE="median reconnect $(median <times) ms"
done
wait_for "$cpid" 5
exec 4>&-
[ "$st" = 255 ] || fail "the first client exited $st after the kill, not 255"

# A terminal client at the end, on a pty.
exec 4>&-
script -qec "capsem-shell -S $(shq "$S")" /dev/null <in.fifo >pty.out 2>&1 &
cpid=$!
exec 4>in.fifo
WU_HINT="plain <pty.out | tail -n 2"
printf 'echo mark=$MARK\n' >&4
wait_until 10 "the variable after $N restarts" eval \
    'plain <pty.out | grep -qx "mark=m$$"'
WU_HINT=
printf 'exit\n' >&4
wait_for "$cpid" 10
exec 4>&-
[ "$st" = 0 ] || fail "the terminal client exited $st at the end"
wait_for "$HOSTDPID" 10
HOSTDPID=
[ "$st" = 0 ] || fail "the last capsem-hostd exited $st, not 0"
wait_for "$HOSTDAGENT" 10
HOSTDAGENT=
no_leftovers
R_FIGURE="median reconnect $(median <times) ms, max $(sort -n times |
    tail -n 1) ms"
result
exit 0
