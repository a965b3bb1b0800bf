# The shell's exit status reaches the host and is the agent's own:
# `exit 7` gives 7; `kill -9 $$` gives 137 with signal 9; `sleep 100 & exit`
# still ends within 1 s (a background job holding the PTY cannot hold the
# exit); `head -c 1000000 /dev/zero | tr '\0' x; exit` delivers every byte
# before the end.  No control frame ever appears on the terminal.
. "$CAPSEM_TOP/regress/lib.sh"

# session NAME COMMAND JSON-SUBSTRING AGENT-STATUS
session() {
	fresh_dir "$1"
	cat >script <<S
wait-boot
wait-file $TESTDIR/go
term $2\n
expect-json {"t":"shellexited","d":{$3 1000
quiet 500
exit
S
	start_host script
	start_agent
	wait_shell
	: >go
	agent_ends 30 "$4" "$1"
	[ "$(session_left "$SHELLPID")" = 0 ] ||
	    fail "$1: shell session left over"
	no_frames_on_terminal
}

session exit7 'exit 7' '"exit_code":7,"signal":null' 7
session kill9 'kill -9 $$' '"exit_code":137,"signal":9' 137
session background 'sleep 100 & exit' '"exit_code":0' 0
session bigoutput "head -c 1000000 /dev/zero | tr '\\\\0' x; exit" \
    '"exit_code":0' 0
run=$(tr -c 'x' '\n' <"$TESTTOP/bigoutput/term.out" |
    awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }')
[ "$run" = 1000000 ] || fail "bigoutput: $run of 1000000 bytes arrived"
exit 0
