# The shell's exit status is capsem-shell's, through a real terminal (tmux):
# `exit 3` gives 3, `kill -9 $$` gives 137.  Ctrl-C interrupts a foreground
# `sleep` (the prompt and then `echo alive` come back at once), and resizing
# the tmux window changes the size the remote shell sees (stty size, tput
# cols).  Three temporary
# sessions run at once, one per window.
. "$CAPSEM_TOP/regress/lib.sh"
. "$CAPSEM_TOP/regress/hostlib.sh"

command -v tmux >/dev/null 2>&1 || { echo "skipped: no tmux"; exit 0; }

for w in ex kill intr; do
	tm_run "$w" capsem-shell --temp --local --shell "$SHELLCMD" \
	    -e "$PS1ENV" -e "CAPSEM_TESTTAG=$TESTDIR"
done
for w in ex kill intr; do
	WU_HINT="pane_tail $w"
	wait_until 15 "the prompt in window $w" pane_prompt "$w"
done
WU_HINT=

type_line ex 'exit 3'
type_line kill 'kill -9 $$'

# Ctrl-C: `sleep 3017` runs (seen in the process table), Ctrl-C, then
# `echo alive` typed at once must answer well before the sleep would end.
type_line intr 'sleep 3017'
sleep_running() {	# ours only: other tests may run the same sleep
	for sp in $(pgrep -f '^sleep 3017$'); do
		tr '\0' '\n' 2>/dev/null <"/proc/$sp/environ" |
		    grep -qxF "CAPSEM_TESTTAG=$TESTDIR" && return 0
	done
	return 1
}
wait_until 5 "sleep 3017 to run" sleep_running
keys intr C-c
t0=$(now_ms)
type_line intr 'echo al""ive'
WU_HINT="pane_tail intr"
wait_until 3 "'alive' after Ctrl-C" pane_line intr alive
t1=$(now_ms)
[ $((t1 - t0)) -le 2000 ] || fail "Ctrl-C took $((t1 - t0)) ms to interrupt"
wait_until 2 "the interrupted sleep to be gone" eval '! sleep_running'

# Size: 100x30 at first, then 120x40 after resizing the window.  The new
# size travels asynchronously, so ask again until it shows (5 s at most).
n=0
size_is() {	# ROWS COLS
	n=$((n + 1))
	type_line intr "echo sz$n=\$(stty size)"
	sz_end=$(($(now_ms) + 3000))
	until pane intr | grep -q "^sz$n="; do
		[ "$(now_ms)" -lt "$sz_end" ] ||
		    fail "no answer to stty size: $(pane_tail intr)"
		sleep 0.02
	done
	pane_line intr "sz$n=$1 $2"
}
size_is 30 100 || fail "the first size is not 30 rows 100 columns: \
$(pane intr | grep "^sz$n=")"
tm resize-window -t "=main:intr" -x 120 -y 40 || fail "tmux resize-window"
WU_HINT="pane intr | grep '^sz' | tail -n 1"
wait_until 5 "the remote size to become 40 rows 120 columns" size_is 40 120
type_line intr 'echo tc=$(tput cols)'
WU_HINT="pane intr | grep '^tc=' | tail -n 1"
wait_until 3 "tput cols to say 120" pane_line intr tc=120
WU_HINT=

wait_rc ex 5
[ "$rc" = 3 ] || fail "exit 3: capsem-shell exited $rc"
wait_rc kill 5
[ "$rc" = 137 ] || fail "kill -9 \$\$: capsem-shell exited $rc"
type_line intr exit
wait_rc intr 5
[ "$rc" = 0 ] || fail "exit after Ctrl-C and resize: capsem-shell exited $rc"
for w in ex kill intr; do
	pane_clean "$w"
	same_stty "$w"
done
wait_until 5 "every session directory to be removed" \
    eval '[ -z "$(ls -A "$TMPDIR")" ]'
no_leftovers
exit 0
