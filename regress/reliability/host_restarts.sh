# Host restarts: capsem-hostd SIGKILLed and started again on the same
# session directory N times.  Its children must go away with it, the agent
# must reconnect to each new hostd (session.json names the new pid and
# says connected), an exec answers after each, and at the end a terminal
# client (on a pty) sees the variable the shell got before the first kill.
# Figure: median ms from the kill to the new hostd's session connected.
R_NAME=host_restarts
. "$CAPSEM_TOP/regress/reliability/rlib.sh"

N=$(count 20 3)
scenario_session
set_mark

: >times
i=0
while [ $i -lt "$N" ]; do
	i=$((i + 1))
	R_RUNS=$i
	t0=$(now_ms)
	kill_hostd
	restart_hostd "$S" 30 "restart $i"
	echo $(($(now_ms) - t0)) >>times
	exec_ok "$S" "after restart $i"
	R_PASSED=$i
	R_FIGURE="median reconnect $(median <times) ms"
done
wait_for "$cpid" 5
exec 4>&-
[ "$st" = 255 ] || fail "the first client exited $st after the kill, not 255"

# A terminal client at the end, on a pty.
script -qec "capsem-shell -S $(shq "$S")" /dev/null <in.fifo >pty.out 2>&1 &
cpid=$!
exec 4>in.fifo
WU_HINT="plain <pty.out | tail -n 2"
printf 'echo mark=$MARK\n' >&4
wait_until 10 "the variable after $N restarts" eval \
    'plain <pty.out | grep -qx "mark=m$$"'
WU_HINT=
end_client pty.out
R_FIGURE="median reconnect $(median <times) ms, max $(sort -n times |
    tail -n 1) ms"
scenario_end
