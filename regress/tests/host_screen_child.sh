# The screen child (capsem-hostd-screen, issue 14 item 3) parses what the
# guest prints, so it runs sandboxed like the decoder children: Seccomp 2,
# NoNewPrivs 1 and, as root, a non-root uid and an empty root.  In the
# self-test mode (CAPSEM_SANDBOX_SELFTEST=screen:open) it is killed by
# SIGSYS for openat, capsem-hostd names it and the call, restarts it, and
# the session goes on.  Killed with SIGKILL: one line in hostd's log, the
# session goes on (commands typed in the attached client run), the child
# comes back sandboxed, and the next client gets a cleared screen (no
# earlier output) and a note (capsem-shell's stderr).  Killed more often than it is restarted (5
# times), it stays dead and attaching still works: a cleared screen and
# the "no screen model" note.
. "$CAPSEM_TOP/regress/lib.sh"
. "$CAPSEM_TOP/regress/hostlib.sh"

command -v tmux >/dev/null 2>&1 || { echo "skipped: no tmux"; exit 0; }
[ -x "$CAPSEM_LIBEXECDIR/capsem-hostd-screen" ] ||
    fail "no $CAPSEM_LIBEXECDIR/capsem-hostd-screen"

screen_pid() {
	pgrep -P "$HOSTDPID" -f '^capsem-hostd-screen' 2>/dev/null | head -n 1
}

# new_screen OLD: a screen child that is not pid OLD runs and has its
# seccomp filter (it sets it up right after exec); its pid in $SP.
new_screen() {
	SP=$(screen_pid)
	[ -n "$SP" ] && [ "$SP" != "$1" ] &&
	    grep -q '^Seccomp:[[:space:]]*2$' "/proc/$SP/status" 2>/dev/null
}

wait_screen() {	# OLD WHAT
	wait_until 10 "a sandboxed screen child ($2)" new_screen "$1"
	sandboxed "$SP" "screen child $SP ($2)"
}

# 1. The self-test: a forbidden openat kills it; it comes back.
D=$TESTDIR/tmp/st
log=$TESTDIR/st.hostd.log
selftest_session 1 "$D" hostd screen:open
wait_until 20 "the screen child killed for openat" log_has "$log" \
    "$LL_SANDBOX_VIOLATION" ROLE=screen CALL='openat ([0-9]*)'
vpid=$(sed -n "s/.*$(ll "$LL_SANDBOX_VIOLATION" ROLE=screen \
    PID='\([0-9]*\)' CALL='openat ([0-9]*)').*/\1/p" "$log" | head -n 1)
wait_until 10 "hostd log: screen child (pid $vpid) killed by SIGSYS" \
    log_has "$log" "$LL_CHILD_DIED" ROLE=screen PID="$vpid" \
    HOW="$LL_EXIT_SIGSYS"
wait_screen "$vpid" "after the self-test"
wait_until 20 "session 1 connected" state_is "$D" connected
exec_ok "$D" "after the screen self-test"
shutdown_session "$D"
session_exits 129 "after shutdown"

# 2. SIGKILL: the session goes on, the next attach is drawn cleared.
S=$TESTDIR/tmp/k
log=$TESTDIR/k.hostd.log
start_session "$S"
tm_run a capsem-shell -S "$S"
WU_HINT="pane_tail a"
wait_until 10 "the prompt in window a" pane_prompt a
type_line a 'echo early-$((5*5))'
wait_until 5 "early output" pane_line a early-25
wait_screen "" "the first"
killed=$SP
kill -9 "$killed"
wait_until 5 "hostd log: screen child (pid $killed) killed by SIGKILL" \
    log_has "$log" "$LL_CHILD_DIED" ROLE=screen PID="$killed" \
    HOW="$(ll "$LL_EXIT_SIGNAL" SIG=9)"
[ "$(log_count "$log" "$LL_CHILD_DIED" ROLE=screen)" = 1 ] ||
    fail "the screen child's death logged more than once"
type_line a 'echo alive-$((1+1))'
wait_until 5 "the session to go on" pane_line a alive-2
wait_screen "$killed" "restarted"
tm_run b capsem-shell -S "$S"
WU_HINT="pane_tail b"
wait_until 10 "b: the note that the screen may be incomplete" \
    file_has "$TESTDIR/b.err" 'this screen may be incomplete'
! pane_has b early-25 || fail "b: output from before the restart drawn"
type_line b 'echo from-b-$((2+2))'
wait_until 5 "b's command to run" pane_line a from-b-4

# 3. Past the bound on restarts: no model, attach still works.
for i in 2 3 4 5 6; do
	kill -9 "$SP"
	killed=$SP
	[ "$i" = 6 ] || wait_screen "$killed" "restart $i"
done
wait_until 10 "hostd to give the screen child up" log_has "$log" \
    "$LL_SCREEN_GIVEN_UP" N=5
tm_run c capsem-shell -S "$S"
WU_HINT="pane_tail c"
wait_until 10 "c: the note that there is no screen model" file_has \
    "$TESTDIR/c.err" 'no screen model): it shows what comes from now on'
[ -z "$(screen_pid)" ] || fail "a screen child after the last restart"
type_line c 'echo from-c-$((3+3))'
wait_until 5 "c's command to run" pane_line a from-c-6
WU_HINT=

end_attached "$S" a b c
exit 0
