# Piped input to capsem-shell (issue 15 item 7).  With stdin not a
# terminal, a new temporary session runs its shell on that input, as
# `ssh -T host <script` does: no echo, no prompt, stdout and stderr apart,
# a line the script reads is its input, and the status is the shell's at
# the end of the input; the temporary session is gone afterwards.
# Attached to an existing session, the input is typed into the session's
# terminal and its end is one end-of-file: `cat` then ends and the shell
# stays (the session goes on), and a script without `exit` ends the shell,
# also when its last line is still running as the input ends.
# (The input comes through a FIFO in steps: typed ahead, it would race the
# shell's own terminal modes.)
. "$CAPSEM_TOP/regress/lib.sh"
. "$CAPSEM_TOP/regress/hostlib.sh"

T() {	# a new temporary session with the test's shell and tag
	timeout 30 capsem-shell --shell "$SHELLCMD" -e "$PS1ENV" \
	    -e "CAPSEM_TESTTAG=$TESTDIR" "$@"
}

printf 'echo marker-$((6*7))\necho oops >&2\nread x\nline for read\necho "got:$x"\nfalse\n' |
    T >p.out 2>p.err
rc=$?
[ "$rc" = 1 ] || fail "a script ending in false: exit $rc, not 1: $(cat p.err)"
[ "$(cat p.out)" = "marker-42
got:line for read" ] || fail "the script printed '$(cat p.out)' (echo or \
a prompt?)"
grep -qx oops p.err || fail "stderr held '$(cat p.err)'"
printf 'exit 5\n' | T >/dev/null 2>&1
rc=$?
[ "$rc" = 5 ] || fail "exit 5: status $rc"
[ -z "$(temp_dirs)" ] || fail "temporary session directories left: \
$(temp_dirs)"
no_leftovers

# An existing session: the end of the input is one end-of-file.
S=$TESTDIR/s
start_session "$S"
mkfifo in.fifo || fail "mkfifo"
capsem-shell -S "$S" <in.fifo >c1.out 2>c1.err &
c1=$!
exec 3>in.fifo
n_of() {	# TEXT N: the client's output has N lines holding TEXT
	[ "$(plain <c1.out | grep -c -- "$1")" -ge "$2" ]
}
prompt_last() {
	[ "$(plain <c1.out | sed 's/ *$//; /^$/d' | tail -n 1)" = 'capsem$' ]
}
WU_HINT="plain <c1.out | tail -n 3"
printf 'cat\n' >&3
wait_until 10 "cat to start" n_of 'capsem$ cat' 1
sleep 0.2
printf 'xyz\n' >&3
wait_until 10 "cat to copy its line" n_of xyz 2
exec 3>&-
wait_until 10 "cat to end at the end of the input, the prompt back" \
    prompt_last
WU_HINT=
sleep 0.3
state_is "$S" connected || fail "the session ended after one end-of-file: \
$(cat "$S/session.json")"
kill "$c1"
wait_for "$c1" 5
# The end comes while the line runs, the terminal cooked: the end-of-file
# must still end the shell (sent apart from the line, readline took it
# for a NUL once it made the terminal raw again).
printf 'sleep 0.3; echo bye-$((1+1))\n' | timeout 20 capsem-shell -S "$S" \
    >c2.out 2>c2.err
rc=$?
[ "$rc" = 0 ] || fail "a script without exit: status $rc: $(cat c2.err)"
plain <c2.out | grep -qx 'bye-2' || fail "it printed '$(plain <c2.out)'"
wait_for "$HOSTDPID" 10
HOSTDPID=
no_leftovers
exit 0
