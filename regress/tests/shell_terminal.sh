# The session's terminal is the user's (issue 14, first part): a new
# session takes TERM, LANG and LC_* from capsem-shell's environment (an -e
# of the same name wins, --no-send-env sends none), its PTY has IUTF8 when
# that locale is UTF-8 and not otherwise; and in a real terminal (tmux) a
# bracketed paste holding a line "~." is pasted as text: the client stays
# attached, both pasted commands run, Ctrl-D then ends it with status 0.
. "$CAPSEM_TOP/regress/lib.sh"
. "$CAPSEM_TOP/regress/hostlib.sh"

probe='echo "T=$TERM L=$LANG C=$LC_CTYPE"; stty -a | grep -o -- "-\{0,1\}iutf8"; exit'
run() {	# OUTFILE "ENV..." "capsem-shell ARGS": the probe, piped into a
	# session made by `new` (piped input to a new temporary session runs
	# its shell without a terminal, as ssh -T does: issue 15)
	env -u LC_ALL $2 capsem-shell new -d -S "$TESTDIR/$1.s" \
	    --shell "$SHELLCMD" ${3-} 2>"$TESTDIR/$1.new" ||
	    fail "$1: capsem-shell new: $(cat "$TESTDIR/$1.new")"
	printf '%s\n' "$probe" | timeout 30 capsem-shell -S "$TESTDIR/$1.s" \
	    2>&1 | tr -d '\r' | plain >"$TESTDIR/$1"
}
has() {	# FILE LINE
	grep -aqx -- "$2" "$TESTDIR/$1" ||
	    fail "$1: no line '$2': $(grep -a -e 'T=' -e iutf8 "$TESTDIR/$1" |
	    tail -n 3 | tr '\n' ' ')"
}

run utf8 "TERM=screen LANG=C.UTF-8 LC_CTYPE=C.UTF-8"
has utf8 "T=screen L=C.UTF-8 C=C.UTF-8"
has utf8 iutf8
run latin "TERM=vt220 LANG=C LC_CTYPE=C"
has latin "T=vt220 L=C C=C"
has latin -iutf8
run override "TERM=screen LANG=C.UTF-8" "-e TERM=vt100"
has override "T=vt100 L=C.UTF-8 C="
run none "TERM=screen LANG=C.UTF-8" --no-send-env
has none "T=xterm-256color L= C="
has none -iutf8

command -v tmux >/dev/null 2>&1 || { echo "skipped: no tmux"; exit 0; }
tm_temp_session a
WU_HINT="pane_tail a"
printf 'echo pasted-$((1+1))\n~.\necho pasted-$((2+2))\n' >"$TESTDIR/paste"
tm load-buffer "$TESTDIR/paste" || fail "tmux load-buffer"
tm paste-buffer -p -t "=main:a" || fail "tmux paste-buffer"
# bash takes a bracketed paste as one edit: it runs on Enter.
wait_until 5 "the paste on the screen" pane_has a 'pasted-$((2+2))'
keys a Enter
wait_until 10 "the second pasted command to run" pane_line a pasted-4
pane_line a pasted-2 || fail "the first pasted command did not run"
has_rc a && fail "the client ended on a pasted ~.: $(rc_of a)"
wait_until 5 "the prompt after the paste" pane_prompt a
keys a C-d
wait_rc a 10
[ "$rc" = 0 ] || fail "Ctrl-D after the paste: exit $rc"
WU_HINT=
no_leftovers
exit 0
