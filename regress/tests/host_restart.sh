# capsem-hostd killed (SIGKILL) in the middle of a session and started
# again on the same directory: the attached client reports the lost
# connection (exit 255), hostd's children go away, the agent reconnects to
# the new hostd and the shell is the same one: a variable exported before
# is still set when a new client attaches.  `exit` then ends it all with 0.
. "$CAPSEM_TOP/regress/lib.sh"
. "$CAPSEM_TOP/regress/hostlib.sh"

command -v tmux >/dev/null 2>&1 || { echo "skipped: no tmux"; exit 0; }

S=$TESTDIR/s
start_session "$S"
tm_run a capsem-shell -S "$S"
WU_HINT="pane_tail a"
wait_until 10 "the prompt" pane_prompt a
type_line a "export MARK=m$$-x"
type_line a 'echo set-$MARK'
wait_until 5 "the variable to be set" pane_line a "set-m$$-x"
WU_HINT=

old=$HOSTDPID
kill -9 "$old"
wait_for "$old" 5
HOSTDPID=
wait_rc a 5
[ "$rc" = 255 ] || fail "client after hostd was killed: exit $rc, not 255"
grep -qF "capsem-shell: connection to $S lost" a.err ||
    fail "client after hostd was killed: $(head -c 200 a.err)"
same_stty a
hostd_children() {
	for pid in $(tag_pids); do
		case $(cat "/proc/$pid/comm" 2>/dev/null) in
		capsem-hostd*) return 0 ;;
		esac
	done
	return 1
}
wait_until 5 "capsem-hostd's children to exit after it was killed" \
    eval '! hostd_children'
kill -0 "$HOSTDAGENT" 2>/dev/null || fail "the agent died with capsem-hostd"

start_hostd "$S"
new_connected() {
	[ "$(json_field "$S/session.json" hostd_pid)" = "$HOSTDPID" ] &&
	    state_is "$S" connected
}
WU_HINT="cat $S/session.json"
wait_until 20 "the agent to reconnect to the new capsem-hostd" new_connected
WU_HINT=

tm_run b capsem-shell -S "$S"
wait_raw b
type_line b 'echo mark=$MARK'
WU_HINT="pane_tail b"
wait_until 5 "the variable in the same shell" pane_line b "mark=m$$-x"
WU_HINT=
type_line b exit
wait_rc b 5
[ "$rc" = 0 ] || fail "exit after the restart: client exited $rc"
same_stty b
wait_for "$HOSTDPID" 10
HOSTDPID=
[ "$st" = 0 ] || fail "the new capsem-hostd exited $st, not 0"
wait_for "$HOSTDAGENT" 10
HOSTDAGENT=
[ "$st" = 0 ] || fail "the agent exited $st, not 0"
no_leftovers
exit 0
