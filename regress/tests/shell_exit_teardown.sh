# The user gets the prompt back as soon as the shell's exit status is
# known and the terminal restored, not after the teardown of the
# temporary session (issue 16): with a VM side that lingers after its
# agent has exited (capsem-hostd gives it 2 s, then SIGTERM), capsem-shell
# still exits at once with the shell's status, while that VM side is
# still there; then, without the client, everything goes and the
# directory is removed, within the bounds.
. "$CAPSEM_TOP/regress/lib.sh"
. "$CAPSEM_TOP/regress/hostlib.sh"

command -v tmux >/dev/null 2>&1 || { echo "skipped: no tmux"; exit 0; }

RETURN_MS=1500		# the client's exit after `exit 3` typed

lingering() {	# the VM side's last process (ours: tagged) runs
	for lp in $(tag_pids); do
		[ "$(cat "/proc/$lp/comm" 2>/dev/null)" = sleep ] && return 0
	done
	return 1
}

mkdir -p "$TESTDIR/vm" || fail "mkdir"
VMCMD="capsem-agent -d -t \"\$CAPSEM_TRANSPORT\" -s '$SHELLCMD' \
-w '$TESTDIR' -a '$TESTDIR/audit.log' -b '$TESTDIR/bt.jsonl'; \
exec sleep 3017"
before=$(temp_dirs)
tm_run slow env "CAPSEM_TESTTAG=$TESTDIR" capsem-shell --temp \
    -t "unix:$TESTDIR/vm" --vm "$VMCMD" --shell "$SHELLCMD" -e "$PS1ENV"
wait_temp_dir "$before"
WU_HINT="pane_tail slow"
wait_until 15 "the prompt" pane_prompt slow
WU_HINT=
t0=$(now_ms)
type_line slow 'exit 3'
wait_rc slow 10
[ "$rc" = 3 ] || fail "the client exited $rc, not 3 \
(stderr: $(head -c 300 slow.err | tr '\n' ' '))"
tend=$(cat slow.tend)
[ $((tend - t0)) -le $RETURN_MS ] || fail "the client took \
$((tend - t0)) ms to exit: it waited for the teardown"
# The teardown was not over when the client left: the VM side lingers.
lingering || fail "the VM side was gone already: nothing shows the \
client did not wait"
no_leftovers
wait_until 5 "$SESSDIR to be removed" test ! -e "$SESSDIR"
! lingering || fail "the VM side is still running"
exit 0
