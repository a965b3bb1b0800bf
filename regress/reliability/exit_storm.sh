# Exit storm: N sequential temporary local sessions, each ended by Ctrl-D
# (a real ^D byte on a real pty: through `script` for most, through tmux
# send-keys C-d for every 25th).  Every 10th is a session started by hand
# (capsem-hostd + agent, not temporary) so the agent's log survives it: the
# agent must never connect again after it sent shellexited.  Every client
# exits 0; at the end no capsem process, no session directory, and this
# shell's fd count as at the start.  Figure: median ms from ^D to exit.
R_NAME=exit_storm
. "$CAPSEM_TOP/regress/reliability/rlib.sh"

N=$(count 500 20)
fd0=$(fd_count)
: >times
mkfifo in.fifo || fail "mkfifo"

# pty_client OUTFILE CMD...: CMD on a pty (script), stdin in.fifo held on
# fd 4 by us; waits for the prompt, types ^D, waits for the exit.  Leaves
# the exit status in $rc and the ms from ^D to exit in $dt.
pty_client() {
	out=$1
	shift
	cmd=
	for a in "$@"; do
		cmd="$cmd $(shq "$a")"
	done
	script -qec "$cmd" /dev/null <in.fifo >"$out" 2>&1 &
	cpid=$!
	exec 4>in.fifo
	WU_HINT="tail -c 200 $out | plain"
	wait_until 15 "the prompt (run $R_RUNS)" file_has "$out" 'capsem$ '
	WU_HINT=
	t0=$(now_ms)
	printf '\004' >&4
	wait_for "$cpid" 10
	dt=$(($(now_ms) - t0))
	exec 4>&-
	rc=$st
}

# bad_run WHY: this run failed; the storm goes on (to count them all).
nbad=0
why1=
bad_run() {
	echo "run failed: $*"
	nbad=$((nbad + 1))
	[ -n "$why1" ] || why1=$*
}

i=0
while [ $i -lt "$N" ]; do
	i=$((i + 1))
	R_RUNS=$i
	if [ $((i % 10)) = 0 ]; then
		# By hand: the agent's log is kept.
		S=$TESTDIR/tmp/s$i
		start_session "$S"
		pty_client "out.$i" capsem-shell -S "$S"
		[ "$rc" = 0 ] || fail "run $i (by hand): client exited $rc: \
$(plain <"out.$i" | tail -n 2 | tr '\n' ' ')"
		wait_for "$HOSTDPID" 10
		[ "$st" = 0 ] || fail "run $i: capsem-hostd exited $st"
		wait_for "$HOSTDAGENT" 10
		[ "$st" = 0 ] || fail "run $i: the agent exited $st"
		HOSTDPID= HOSTDAGENT=
		al=$TESTDIR/s$i.agent.log
		se=$(ll "$LL_AGENT_SENT_SHELLEXITED")
		grep -q -- "$se" "$al" ||
		    fail "run $i: the agent never sent shellexited"
		grep -q -- "$(ll "$LL_AGENT_CONNECTED")" "$al" ||
		    fail "run $i: no connection of the agent logged"
		late=$(sed -n "/$se/,\$p" "$al" |
		    grep -c -- "$(ll "$LL_AGENT_CONNECTED")")
		[ "$late" = 0 ] || fail "run $i: the agent connected $late \
time(s) after shellexited"
		rm -rf "$S" "$TESTDIR/s$i".*
	elif [ $((i % 25)) = 1 ]; then
		tm_run "t$i" capsem-shell --temp --local --shell "$SHELLCMD" \
		    -e "$PS1ENV" -e "CAPSEM_TESTTAG=$TESTDIR"
		WU_HINT="pane_tail t$i"
		wait_until 15 "the prompt (tmux run $i)" pane_prompt "t$i"
		WU_HINT=
		t0=$(now_ms)
		keys "t$i" C-d
		wait_rc "t$i" 10
		dt=$(($(cat "t$i.tend") - t0))
		[ "$rc" = 0 ] && [ ! -s "t$i.err" ] || {
			bad_run "run $i (tmux): exit $rc: $(head -c 200 \
"t$i.err")"; continue; }
	else
		pty_client "out.$i" capsem-shell --temp --local \
		    --shell "$SHELLCMD" -e "$PS1ENV" \
		    -e "CAPSEM_TESTTAG=$TESTDIR"
		[ "$rc" = 0 ] || { bad_run "run $i: client exited $rc: \
$(plain <"out.$i" | tail -n 1 | sed "s|$TESTDIR/||g")"; continue; }
	fi
	echo "$dt" >>times
	rm -f "out.$i"
	R_PASSED=$((i - nbad))
	R_FIGURE="median exit $(median <times) ms"
done

# The tmux server is ours, not the system's: gone before counting.
if [ -n "$TM_STARTED" ]; then
	tm kill-server 2>/dev/null
	TM_STARTED=
fi
R_FIGURE="median exit $(median <times) ms, max $(sort -n times | tail -n 1) ms"
R_PASSED=$((N - nbad - 1))
no_leftovers
temp_dirs_gone "every session directory"
fd1=$(fd_count)
[ "$fd1" = "$fd0" ] || fail "the runner has $fd1 fds open, $fd0 at the start"
R_PASSED=$((N - nbad))
[ "$nbad" = 0 ] || R_FIGURE="$R_FIGURE; $nbad failed, first: $why1"
result
[ "$nbad" = 0 ] || exit 1
exit 0
