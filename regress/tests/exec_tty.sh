# exec -t in a real terminal (tmux, 100x30): the command gets a terminal
# of its own of the client's size (issue 15 item 4), the client's terminal
# is in raw mode while it runs and restored after; a resize of the client
# reaches the command (stty size, then SIGWINCH to a loop printing it);
# Ctrl-C is typed on the command's terminal (a byte, not a signal of the
# client) and ends the loop with 130; vim starts, shows a file, takes :q;
# top draws and q quits it; ~. ends the exec (exit 255, the command gone).
. "$CAPSEM_TOP/regress/lib.sh"
. "$CAPSEM_TOP/regress/hostlib.sh"

command -v tmux >/dev/null 2>&1 || { echo "skipped: no tmux"; exit 0; }

S=$TESTDIR/s
start_session "$S"
last_line() {	# NAME TEXT: the last non-empty line of the pane is TEXT
	[ "$(pane "$1" | sed 's/ *$//; /^$/d' | tail -n 1)" = "$2" ]
}

# Size, resize, Ctrl-C.
tm_run a capsem-shell exec -t -S "$S" -- \
    'trap "stty size" WINCH; stty size; while :; do sleep 0.1; done'
WU_HINT="pane_tail a"
wait_until 10 "the command's first stty size" last_line a "30 100"
wait_raw a
tm resize-window -t "=main:a" -x 120 -y 40 || fail "tmux resize-window"
wait_until 5 "the resize to reach the command" last_line a "40 120"
keys a C-c
wait_rc a 10
[ "$rc" = 130 ] || fail "Ctrl-C on exec -t: exit $rc, not 130"
same_stty a

# vim
printf 'line one of the file\nsecond line\n' >"$TESTDIR/ws/v.txt"
tm_run v capsem-shell exec -t -S "$S" -- vim -u NONE -N v.txt
WU_HINT="pane_tail v"
wait_until 10 "vim to show the file" pane_has v "second line"
wait_raw v
keys v Escape ':q' Enter
wait_rc v 10
[ "$rc" = 0 ] || fail "vim :q: exit $rc"
same_stty v

# top
tm_run t capsem-shell exec -t -S "$S" -- top -d 0.5
WU_HINT="pane_tail t"
wait_until 10 "top to draw" pane_has t "PID"
keys t q
wait_rc t 10
[ "$rc" = 0 ] || fail "top q: exit $rc"
same_stty t

# ~. ends it.
mkdir bin
ln -s "$(command -v sleep)" bin/sleep
tm_run e capsem-shell exec -t -S "$S" -- "$TESTDIR/bin/sleep 100"
wait_raw e
WU_HINT="pane_tail e"
keys e Enter '~' '.'
wait_rc e 10
[ "$rc" = 255 ] || fail "~.: exit $rc, not 255"
grep -q "disconnected; the command is ended" e.err ||
    fail "~. said '$(cat e.err)'"
gone() {
	[ -z "$(pgrep -f "^$TESTDIR/bin/")" ]
}
wait_until 5 "the command to end after ~." gone
same_stty e
WU_HINT=

shutdown_session "$S"
no_leftovers
exit 0
