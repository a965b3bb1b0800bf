# Attach draws the current screen, never a replay of bytes (issue 14 item
# 3), in real terminals (tmux windows of one size): after the shell sent
# terminal queries (ESC[6n, ESC[>c) and printed text with attributes and
# 256-colour and truecolour colours, a second client's screen
# (capture-pane -e) and cursor equal the first's, and nothing was typed
# into the shell by its terminal (its next command line is exactly what
# was typed); a third client detaches with `~.` typed first thing after
# the screen is drawn.  Input modes are carried: application cursor keys
# and keypad, button-event mouse tracking with SGR encoding (tmux's pane
# flags) and bracketed paste (a paste into the new client arrives
# bracketed).  While vim runs, a new client's screen, cursor and
# alternate screen equal the first's, and once vim quits both show the
# same primary screen again.
. "$CAPSEM_TOP/regress/lib.sh"
. "$CAPSEM_TOP/regress/hostlib.sh"

command -v tmux >/dev/null 2>&1 || { echo "skipped: no tmux"; exit 0; }
command -v vim >/dev/null 2>&1 || { echo "skipped: no vim"; exit 0; }

FLAGS='#{cursor_x},#{cursor_y},#{alternate_on},#{cursor_flag},'
FLAGS=$FLAGS'#{keypad_cursor_flag},#{keypad_flag},#{mouse_button_flag},'
FLAGS=$FLAGS'#{mouse_sgr_flag},#{mouse_any_flag}'

screen_of() {	# NAME: the visible screen, with escapes
	tm capture-pane -p -e -t "=main:$1" 2>/dev/null
}

flags_of() {	# NAME
	tm display-message -p -t "=main:$1" "$FLAGS" 2>/dev/null
}

# same_screen A B: the two panes show the same screen, cursor and modes.
same_screen() {
	[ "$(screen_of "$1")" = "$(screen_of "$2")" ] &&
	    [ "$(flags_of "$1")" = "$(flags_of "$2")" ]
}

screen_diff() {	# A B: for a failure message
	screen_of "$1" >"$TESTDIR/$1.vis"
	screen_of "$2" >"$TESTDIR/$2.vis"
	printf '%s / %s: ' "$(flags_of "$1")" "$(flags_of "$2")"
	diff "$TESTDIR/$1.vis" "$TESTDIR/$2.vis" | grep '^[<>]' | head -4 |
	    tr '\n' '|'
}

wait_same() {	# A B WHAT
	WU_HINT="screen_diff $1 $2"
	wait_until 10 "$3: $2's screen to equal $1's" same_screen "$1" "$2"
	WU_HINT=
}

S=$TESTDIR/tmp/scr
start_session "$S"
tm_run a capsem-shell -S "$S"
WU_HINT="pane_tail a"
wait_until 10 "the prompt in window a" pane_prompt a

# Queries first: a's own terminal answers them live, read away here.
type_line a "printf '\\033[6n\\033[>c'; IFS= read -rsd c junk; \
printf 'p \\033[1mbold\\033[0m \\033[3mit\\033[0m \\033[4mul\\033[0m \
\\033[7mrev\\033[0m \\033[31mred\\033[0m \\033[38;5;208mc208\\033[0m \
\\033[38;2;1;2;3;48;2;200;100;50mrgb\\033[0m\\n'; echo colours-\$((2*3))"
wait_until 10 "the colours in window a" pane_line a colours-6
wait_until 5 "the prompt after them" pane_prompt a
screen_of a | grep -qF "$(printf '\033[38;2;1;2;3m\033[48;2;200;100;50mrgb')" ||
    fail "a: no truecolour text: $(screen_of a | grep rgb)"

tm_run b capsem-shell -S "$S"
wait_same a b "after the queries"
screen_of b | grep -q 'c208' || fail "b: no colours drawn"
type_line b 'echo typed-$((3+4))'
WU_HINT="pane_tail b"
wait_until 5 "b's command to run" pane_line a typed-7
pane_line b 'capsem$ echo typed-$((3+4))' ||
    fail "b: something was typed before its command: $(pane b |
    grep typed | head -n 1)"
! pane_has a 'command not found' || fail "a query's answer was run: \
$(pane a | grep 'not found' | head -n 1)"
wait_same a b "after b's command"

# ~. first thing once the screen is drawn: only if nothing was typed.
tm_run c capsem-shell -S "$S"
WU_HINT="pane_tail c"
wait_until 10 "the screen in window c" pane_line c typed-7
keys c '~' '.'
wait_rc c 5
[ "$rc" = 255 ] || fail "c: ~. right after attach: exit $rc, not 255"
same_stty c

# Input modes: set by the guest before d attached, carried to d.
type_line a "printf '\\033[?1h\\033=\\033[?1002h\\033[?1006h\\033[?2004h'; \
cat -v"
wait_until 5 "cat in window a" pane_has a "cat -v"
tm_run d capsem-shell -S "$S"
wait_same a d "with the input modes"
[ "$(flags_of d | cut -d, -f5-8)" = 1,1,1,1 ] ||
    fail "d: cursor keys, keypad, mouse, SGR mouse not all on: $(flags_of d)"
tm set-buffer -b scr 'pasted-x' || fail "tmux set-buffer"
tm paste-buffer -p -b scr -t "=main:d" || fail "tmux paste-buffer"
WU_HINT="pane_tail a"
wait_until 5 "the paste into d to arrive bracketed" pane_has a '^[[200~pasted-x'
keys d C-c
wait_until 5 "the prompt after cat" pane_prompt a
type_line a "printf '\\033[?1l\\033>\\033[?1002l\\033[?1006l'; clear"
wait_until 5 "the modes reset" eval '[ "$(flags_of a | cut -d, -f5-8)" = 0,0,0,0 ]'

# vim: the alternate screen, and the primary one under it.
printf 'first line of the file\nsecond-%s\n' vim >"$TESTDIR/ws/f.txt"
type_line a 'echo before-vim'
type_line a 'vim -u NONE -N -i NONE +"set hlsearch" +/second f.txt'
WU_HINT="pane_tail a"
wait_until 10 "vim in window a" eval 'pane_has a second-vim &&
    [ "$(flags_of a | cut -d, -f3)" = 1 ]'
tm_run e capsem-shell -S "$S"
wait_same a e "while vim runs"
keys e Escape ':q!' Enter
wait_until 10 "vim to quit" eval '[ "$(flags_of a | cut -d, -f3)" = 0 ]'
wait_until 5 "the prompt after vim" pane_prompt a
wait_same a e "after vim"
pane_line e before-vim || fail "e: the primary screen is not restored"

end_attached "$S" a b d e
exit 0
