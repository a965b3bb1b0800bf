# Nothing an exec started outlives the agent: with an exec running (a
# sleep with a background sleep and a setsid'd one, which left its session
# and process group) and an exec that finished but left a background
# sleep, the session ends by `exit` in the shell, by the host's shutdown
# (there the running exec ignores SIGHUP, so SIGKILL ends it), and by
# SIGKILL of the agent itself.  Each time no process of the execs is left
# (found by this test's directory in the command lines); the background
# sleep of the finished exec was still running before the end (its
# execdone came at once).
. "$CAPSEM_TOP/regress/lib.sh"

BOUND=4		# 2 s of SIGHUP to SIGKILL, and room for a busy machine
BIN=$TESTDIR/bin
end_all() {
	[ -z "$AGENTPID" ] || wait_for "$AGENTPID" 3
	pkill -KILL -f "$BIN/" 2>/dev/null
}
trap "end_all 2>/dev/null" EXIT
mkdir bin
ln -s "$(command -v sleep)" bin/sleep
S=$BIN/sleep
left() {
	pgrep -f "$BIN/" | wc -l
}
wait_left() {	# N SECONDS WHAT
	i=0
	until [ "$(left)" = "$1" ]; do
		i=$((i + 1))
		[ $i -lt $(($2 * 100)) ] || fail "$3: $(left) exec processes, \
not $1, after $2 s"
		sleep 0.01
	done
}

# start_case NAME PREFIX: agent, host and the two execs; PREFIX goes
# before the running exec's command.
start_case() {
	mkdir "$TOP/$1"
	cd "$TOP/$1" || exit 1
	TESTDIR=$TOP/$1
	start_fifo_session
	cat >&3 <<S
wait-boot
send {"t":"exec","d":{"id":1,"command":"$2 $S 100 & setsid $S 100 & $S 100"}}
expect-json {"t":"ack","d":{"id":1}}
send {"t":"exec","d":{"id":2,"command":"$S 100 >/dev/null 2>&1 &"}}
expect-json {"t":"execdone","d":{"id":2,"exit_code":0}}
S
	# sh and three sleeps of exec 1, the background sleep of exec 2.
	wait_left 5 10 "$1: start"
}

# end_case NAME STATUS: the agent ends with STATUS and nothing left, while
# the host still holds every connection open; then the host ends.
end_case() {
	wait_for "$AGENTPID" 10
	AGENTPID=
	[ "$st" = "$2" ] || fail "$1: agent exited $st, not $2"
	[ "$(left)" = 0 ] ||
	    fail "$1: $(left) exec processes outlived the agent"
	echo exit >&3
	exec 3>&-
	host_ok 20
}

TOP=$TESTDIR
start_case exit ""
cat >&3 <<'S'
term exit\n
expect-json {"t":"shellexited" 2000
S
end_case exit 0

start_case shutdown "trap '' HUP;"
cat >&3 <<'S'
send {"t":"shutdown"}
expect-json {"t":"shellexited","d":{"exit_code":129 5000
S
end_case shutdown 129

start_case sigkill ""
sh_pid=$(shell_pid)
kill -KILL "$AGENTPID"
wait_for "$AGENTPID" 5
AGENTPID=
wait_left 0 "$BOUND" "agent SIGKILL"
i=0
while [ "$(session_left "$sh_pid")" != 0 ]; do
	i=$((i + 1))
	[ $i -lt $((BOUND * 100)) ] ||
	    fail "agent SIGKILL: the shell's session outlived the agent"
	sleep 0.01
done
echo exit >&3
exec 3>&-
host_ok 10
exit 0
