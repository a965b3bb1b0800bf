# Ctrl-D in the shell: the terminal stream ends, then shellexited{0} arrives
# within 1 s, no connection is attempted for 3 s after it, the agent exits 0
# and leaves no process behind (neither its children nor the shell's).
. "$CAPSEM_TOP/regress/lib.sh"

cat >script <<S
wait-boot
wait-file $TESTDIR/go
term echo hello-\$((6*7))\n
expect-term hello-42
# The next prompt: readline has the terminal again (a ^D typed while bash
# still runs the command, in canonical mode, can be lost in the switch).
expect-term ready>\x20
term \x04
expect-json {"t":"shellexited","d":{"exit_code":0,"signal":null}} 1000
quiet 3000
exit
S
start_host script -e 'PS1=ready> '
start_agent
# The shell, while it runs: its session must be empty at the end.
wait_shell
: >go
agent_ends 30 0
eof=$(grep -n '"chan":"terminal"' events.jsonl | grep '"close"' | head -n 1 |
    cut -d: -f1)
se=$(event_line '"t":"shellexited"')
[ -n "$eof" ] || fail "the terminal stream never ended"
[ -n "$se" ] || fail "no shellexited"
[ "$eof" -lt "$se" ] || fail "shellexited came before the terminal ended"
n=$(grep '"ev":"accept"' events.jsonl | grep -c -e terminal -e control)
[ "$n" = 2 ] || fail "expected 2 connections (terminal, control), saw $n"
[ "$(session_left "$SHELLPID")" = 0 ] || fail "shell session still has processes"
[ "$(agent_children_left)" = 0 ] || fail "agent children still running"
no_frames_on_terminal
cleanup
exit 0
