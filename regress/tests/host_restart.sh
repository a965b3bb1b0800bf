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

kill_hostd
wait_rc a 5
[ "$rc" = 255 ] || fail "client after hostd was killed: exit $rc, not 255"
grep -qF "capsem-shell: connection to $S lost" a.err ||
    fail "client after hostd was killed: $(head -c 200 a.err)"
same_stty a
restart_hostd "$S" 20

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
session_exits 0 "after the restart"
no_leftovers
exit 0
