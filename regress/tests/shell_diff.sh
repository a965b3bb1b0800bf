# The differential test of issue 14: the same keystrokes typed into a plain
# local bash and into a capsem-shell session (local agent), in two tmux
# windows of the same size, TERM and LANG (C.UTF-8), with the same bash
# (--norc --noprofile), prompt, HOME (empty: no history, no rc files of the
# user) and PATH, give the same screens: `capture-pane -e -p` (text with its
# attributes and colours, as escapes) and the cursor, the alternate screen
# and the input modes tmux keeps for the pane.
#
# Each step waits for a condition on both screens (the prompt back, a
# program's marker), then for the two screens to be equal; a difference
# that stays fails with both screens kept in the test directory
# (STEP.plain, STEP.capsem).  The steps: UTF-8 output (printf of \u
# escapes, ls of a UTF-8 name); line editing with multibyte characters
# (readline: cursor keys and Backspace over é and 中; the kernel's line
# discipline: cat, Backspace over é); a UTF-8 prompt with Ctrl-A/Ctrl-E;
# a wrapped command line through a resize; vim (open, insert UTF-8 text,
# a resize of both windows and back, mouse reporting on, :wq);
# less (page, search, quit); top; Ctrl-Z and fg; Ctrl-C; clear and reset.
#
# What is not compared byte for byte: top's screen shows live numbers (the
# load, the memory, each shell's pid and times), so top runs with a long
# delay and shows only its own shell (-p $$), and while it runs and after
# it quits the screens are compared with every run of digits as one '#'
# and without blanks (numbers of other widths shift them): the labels, the
# attributes and colours, the layout by line, the one process row, and
# exactly the cursor, the alternate screen and the modes.
. "$CAPSEM_TOP/regress/lib.sh"
. "$CAPSEM_TOP/regress/hostlib.sh"

command -v tmux >/dev/null 2>&1 || { echo "skipped: no tmux"; exit 0; }
for p in vim less top seq; do
	command -v "$p" >/dev/null 2>&1 ||
	    fail "$p is not installed (tools/deps.sh installs it)"
done

mkdir -p home p/d c/d || fail mkdir
: >p/d/café && : >c/d/café || fail "touch café"
ENVPATH=/usr/local/bin:/usr/bin:/bin
# Both terminals do not echo control characters (stty -echoctl: no ^C or
# ^Z on the screen), which the session's PTY must take from capsem-shell's
# terminal (the termmodes extension) to look the same.
# Both shells: the same variables (capsem-shell adds TERM and LANG from its
# own environment, as it does for every session).
tm_run p sh -c 'cd p && stty -echoctl && exec env -i TERM="$TERM" LANG=C.UTF-8 HOME="$1" \
    PATH="$2" LESSHISTFILE=- "$3" CAPSEM_TESTTAG="$4" $5 2>&1' \
    sh "$TESTDIR/home" "$ENVPATH" "$PS1ENV" "$TESTDIR" "$SHELLCMD"
before=$(temp_dirs)
tm_run c sh -c 'cd c && stty -echoctl && exec env -u LC_ALL LANG=C.UTF-8 capsem-shell \
    --shell "$5" -e HOME="$1" -e PATH="$2" -e LESSHISTFILE=- -e "$3" \
    -e CAPSEM_TESTTAG="$4"' \
    sh "$TESTDIR/home" "$ENVPATH" "$PS1ENV" "$TESTDIR" "$SHELLCMD"
wait_temp_dir "$before"
for w in p c; do
	WU_HINT="pane_tail $w"
	wait_until 15 "window $w: the prompt" pane_prompt "$w"
done
WU_HINT=

both() {	# send-keys ARGS to both windows
	keys p "$@"
	keys c "$@"
}
both_line() {	# type TEXT then Enter in both
	type_line p "$1"
	type_line c "$1"
}
# screen NAME: what is compared, the visible screen and tmux's state of it.
screen() {
	tm capture-pane -e -p -t "=main:$1"
	tm display-message -p -t "=main:$1" "$STATE"
}
STATE='cursor #{cursor_x},#{cursor_y} #{pane_width}x#{pane_height}'
STATE="$STATE alt #{alternate_on} cursor #{cursor_flag}"
STATE="$STATE keypad #{keypad_cursor_flag}#{keypad_flag}"
STATE="$STATE insert #{insert_flag} wrap #{wrap_flag} origin #{origin_flag}"
STATE="$STATE mouse #{mouse_any_flag}#{mouse_all_flag}#{mouse_sgr_flag}"
STATE="$STATE title #{pane_title}"
STEP=
FILTER=cat
same() {
	screen p | $FILTER >"$TESTDIR/$STEP.plain"
	screen c | $FILTER >"$TESTDIR/$STEP.capsem"
	cmp -s "$TESTDIR/$STEP.plain" "$TESTDIR/$STEP.capsem"
}
show_diff() {
	diff "$TESTDIR/$STEP.plain" "$TESTDIR/$STEP.capsem" | head -n 8 |
	    cat -v | tr '\n' '|'
}
# compare STEP [SECONDS]: the two screens become equal.
compare() {
	STEP=$1
	WU_HINT=show_diff
	wait_until "${2:-10}" "the same screen after '$STEP'" same
	WU_HINT=
}
both_have() {	# TEXT on both screens
	tm capture-pane -p -t "=main:p" | grep -qF -- "$1" &&
	    tm capture-pane -p -t "=main:c" | grep -qF -- "$1"
}
both_prompt() {	# the last non-empty line of both is the prompt
	pane_prompt p && pane_prompt c
}
wait_both() {	# WHAT CONDITION...
	wb_what=$1
	shift
	WU_HINT="pane_tail p; printf ' / '; pane_tail c"
	wait_until 10 "$wb_what in both windows" "$@"
	WU_HINT=
}
step() {	# NAME TEXT: type a command line, wait for the prompt, compare
	both_line "$2"
	wait_both "the prompt after '$1'" both_prompt_after "$3"
	compare "$1"
}
both_prompt_after() {	# MARKER: MARKER on the screen and the prompt back
	both_have "$1" && both_prompt
}

both_only_prompt() {	# the screens hold the prompt and nothing else
	for w in p c; do
		[ "$(tm capture-pane -p -t "=main:$w" | sed 's/ *$//; /^$/d')" = \
		    'capsem$' ] || return 1
	done
}
both_last_is() {	# LINE: the last non-empty line of both screens
	for w in p c; do
		[ "$(tm capture-pane -p -t "=main:$w" | sed 's/ *$//; /^$/d' |
		    tail -n 1)" = "$1" ] || return 1
	done
}
both_have_line() {	# LINE: a line of both screens is exactly LINE
	for w in p c; do
		tm capture-pane -p -t "=main:$w" | sed 's/ *$//' |
		    grep -qxF -- "$1" || return 1
	done
}
both_have_twice() {	# LINE: two lines of both screens are exactly LINE
	for w in p c; do
		[ "$(tm capture-pane -p -t "=main:$w" | sed 's/ *$//' |
		    grep -cxF -- "$1")" -ge 2 ] || return 1
	done
}
# is_cat_both: a cat runs (not stopped) in both shells: the plain one's in
# p/, the session's in c/.
is_cat_both() {
	icb=
	for pid in $(pgrep -x cat); do
		tr '\0' '\n' 2>/dev/null <"/proc/$pid/environ" |
		    grep -qxF "CAPSEM_TESTTAG=$TESTDIR" || continue
		grep -q '^State:[[:space:]]*[RSD]' "/proc/$pid/status" \
		    2>/dev/null || continue
		icb="$icb $(readlink "/proc/$pid/cwd")"
	done
	case $icb in *" $TESTDIR/p"*) ;; *) return 1 ;; esac
	case $icb in *" $TESTDIR/c"*) ;; *) return 1 ;; esac
}
is_sleep_both() {	# a sleep 30 runs in both shells
	isb=
	for pid in $(pgrep -x sleep); do
		tr '\0' '\n' 2>/dev/null <"/proc/$pid/environ" |
		    grep -qxF "CAPSEM_TESTTAG=$TESTDIR" || continue
		isb="$isb $(readlink "/proc/$pid/cwd")"
	done
	case $isb in *" $TESTDIR/p"*) ;; *) return 1 ;; esac
	case $isb in *" $TESTDIR/c"*) ;; *) return 1 ;; esac
}
# top_structure: the screen with every run of digits as '#' and no blanks
# (a wider number eats one), and tmux's state line as it is.
top_structure() {
	sed '$!{s/[0-9][0-9]*/#/g; s/ //g;}'
}

# A clean start (capsem-shell prints nothing either, but the first prompt
# may come at another moment).
both_line clear
wait_both "the cleared screen" both_only_prompt
compare clear0

# UTF-8 output.
step utf8 "printf '\\u00e9\\u4e2d\\U0001F600 ok\\n'; ls d" 'café'

# Line editing with multibyte characters: readline moves over é and 中 a
# character at a time, and Backspace takes back a whole character.
both -l 'echo aé中b'
both Left Left BSpace
both -l X
both Enter
wait_both "readline's result" both_prompt_after 'aX中b'
compare readline
# The line discipline (canonical mode, IUTF8): Backspace over é in cat.
both_line cat
wait_both "cat" is_cat_both
both -l 'aé'
both BSpace
both -l b
both Enter
wait_both "cat's echo" both_have_twice ab
both C-d
wait_both "the prompt after cat" both_prompt
compare cat-erase

# A UTF-8 prompt, Ctrl-A and Ctrl-E.
both_line "PS1='é中> '"
wait_both "the UTF-8 prompt" both_last_is 'é中>'
both -l 'cho abc'
both C-a
both -l e
both C-e
both -l Y
both Enter
wait_both "echo abcY" both_have abcY
wait_both "the UTF-8 prompt again" both_last_is 'é中>'
compare utf8-prompt
step prompt-back "PS1='capsem$ '" 'capsem$'

# A command line longer than the window, wrapped, through a resize.
long=$(printf '%0150d' 0 | tr 0 a)
both -l "echo $long"
wait_both "the long line" both_have aaaaaaaaaaaaaaaaaaaaaaaaaaaa
compare long-line
tm resize-window -t "=main:p" -x 80 -y 20 || fail "resize-window p"
tm resize-window -t "=main:c" -x 80 -y 20 || fail "resize-window c"
compare long-line-80x20
tm resize-window -t "=main:p" -x 100 -y 30 || fail "resize-window p"
tm resize-window -t "=main:c" -x 100 -y 30 || fail "resize-window c"
compare long-line-100x30
both Enter
wait_both "the long line's output" both_prompt
compare long-line-run

# vim: open, insert, resize both windows, back, write and quit.
both_line 'vim -u NONE -i NONE -N f.txt'
wait_both "vim" both_have '"f.txt" [New]'
compare vim-open
both i
both -l 'héllo 中文 wörld'
wait_both "vim's insert" both_have 'wörld'
both Escape
compare vim-insert
tm resize-window -t "=main:p" -x 80 -y 20 || fail "resize-window p"
tm resize-window -t "=main:c" -x 80 -y 20 || fail "resize-window c"
compare vim-resize-80x20
tm resize-window -t "=main:p" -x 100 -y 30 || fail "resize-window p"
tm resize-window -t "=main:c" -x 100 -y 30 || fail "resize-window c"
compare vim-resize-100x30
both -l ':set mouse=a'
both Enter
compare vim-mouse
both -l ':wq'
both Enter
wait_both "the prompt after vim" both_prompt
compare vim-quit
cmp -s p/f.txt c/f.txt || fail "vim wrote different files: \
$(od -c p/f.txt | head -n 2) / $(od -c c/f.txt | head -n 2)"
grep -q 'héllo 中文 wörld' c/f.txt || fail "vim wrote $(cat c/f.txt)"

# less: a page, the next, a search, quit.
both_line 'seq 1 200 | less'
wait_both "less" both_have_line 29
compare less-open
both Space
wait_both "less's second page" both_have_line 58
compare less-page
both -l /150
both Enter
wait_both "less's search" both_have_line 178
compare less-search
both q
wait_both "the prompt after less" both_prompt
compare less-quit

# top: interactive, refreshing every 100 s, showing only the shell
# itself (-p $$); its structure only (see top).
both_line 'top -d 100 -p $$'
wait_both "top" both_have 'PID USER'
FILTER=top_structure
compare top
both q
wait_both "the prompt after top" both_prompt
compare top-quit
FILTER=cat
both_line clear
wait_both "the cleared screen" both_only_prompt
compare clear-top

# Ctrl-Z and fg.
both_line cat
wait_both "cat" is_cat_both
both -l hi
both Enter
wait_both "cat's echo" both_have_twice hi
both C-z
wait_both "the job stopped" both_prompt_after Stopped
compare ctrl-z
both_line fg
wait_both "cat in the foreground" is_cat_both
both -l again
both Enter
wait_both "cat's echo again" both_have_twice again
both C-d
wait_both "the prompt after fg" both_prompt
compare fg

# Ctrl-C (not echoed: -echoctl).
both_line 'sleep 30'
wait_both "sleep" is_sleep_both
both C-c
wait_both "the prompt after Ctrl-C" both_last_is 'capsem$'
compare ctrl-c

# clear and reset.
both_line clear
wait_both "the cleared screen" both_only_prompt
compare clear
both_line 'echo before-reset'
wait_both "before-reset" both_prompt_after before-reset
both_line reset
wait_both "the screen after reset" both_only_prompt
compare reset

# Both end on Ctrl-D; the session with status 0, nothing left.
both C-d
wait_rc c 10
[ "$rc" = 0 ] || fail "capsem-shell exit $rc"
wait_rc p 10
no_leftovers
exit 0
