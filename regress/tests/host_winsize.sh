# The session's window is that of the most recently active client (issue
# 14 item 4), in a real terminal (tmux): a 120x40 client, then an 80x20
# client attaches (the session becomes 80x20) and detaches with ~.: the
# session is 120x40 again at once, without the first client typing (its
# shell prints `stty size` ten times a second).
. "$CAPSEM_TOP/regress/lib.sh"
. "$CAPSEM_TOP/regress/hostlib.sh"

command -v tmux >/dev/null 2>&1 || { echo "skipped: no tmux"; exit 0; }

last_line() {	# NAME TEXT: the last non-empty line of the pane is TEXT
	[ "$(pane "$1" | sed 's/ *$//; /^$/d' | tail -n 1)" = "$2" ]
}

tm_temp_session a
WU_HINT="pane_tail a"
type_line a "while :; do stty size; sleep 0.1; done"
wait_until 5 "the loop" pane_has a "while :"
tm resize-window -t "=main:a" -x 120 -y 40 || fail "tmux resize-window"
wait_until 5 "a at 120x40" last_line a "40 120"

tm_run b capsem-shell -S "$SESSDIR"
wait_until 10 "b attached (the session at its 100x30)" last_line a "30 100"
tm resize-window -t "=main:b" -x 80 -y 20 || fail "tmux resize-window"
WU_HINT="pane_tail a"
wait_until 5 "the session at b's 80x20" last_line a "20 80"
keys b Enter '~' '.'
wait_rc b 5
[ "$rc" = 255 ] || fail "b: ~. exit $rc"
wait_until 5 "the session back at a's 120x40" last_line a "40 120"
keys a C-c
wait_until 5 "the prompt again" pane_prompt a
type_line a 'exit 0'
wait_rc a 10
[ "$rc" = 0 ] || fail "a: exit $rc"
WU_HINT=
no_leftovers
exit 0
