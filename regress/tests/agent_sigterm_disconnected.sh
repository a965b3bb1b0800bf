# SIGTERM while the agent is disconnected ends it at once, not after the
# reconnect deadline (here 60 s): when the shell exited while the host was
# gone (the agent exits with the shell's status, 7), and when the shell is
# still running (it is hung up, and the agent exits with its 129); and
# when the host goes away after SIGTERM, before it acknowledged the
# shell's exit (the agent does not wait for it to come back).
. "$CAPSEM_TOP/regress/lib.sh"

BOUND=2		# "at once", with room for a busy machine
end_all() {
	[ -z "$AGENTPID" ] || wait_for "$AGENTPID" 3
}
trap "end_all 2>/dev/null" EXIT

# sigterm_ends NAME STATUS: SIGTERM, then the agent is gone within BOUND.
sigterm_ends() {
	t0=$(date +%s%N)
	kill -TERM "$AGENTPID"
	wait_for "$AGENTPID" 10
	AGENTPID=
	ms=$((($(date +%s%N) - t0) / 1000000))
	[ "$st" = "$2" ] || fail "$1: agent exited $st, not $2"
	[ "$ms" -le $((BOUND * 1000)) ] || fail "$1: SIGTERM took $ms ms"
	grep -q 'shutdown (Terminated)' agent.log || fail "$1: no log line"
}

# A shell that exits when the test says so: it reads a FIFO.
mkfifo go
cat >script <<S
wait-boot
term read x <$TESTDIR/go; exit 7\n
exit
S
start_host script
start_agent -r 60
host_ok 10
timeout 10 sh -c 'echo >"$1"' sh go || fail "the shell did not read the FIFO"
i=0
until grep -q 'shell exited: status 7' agent.log; do
	i=$((i + 1))
	[ $i -lt 1000 ] || fail "the shell did not exit in 10 s"
	sleep 0.01
done
sigterm_ends exited 7

mkdir running && cd running && TESTDIR=$TESTDIR/running
cat >script <<'S'
wait-boot
term echo up-$((1+1))\n
expect-term up-2
exit
S
start_host script
start_agent -r 60
host_ok 10
sigterm_ends running 129
[ "$(session_left "$(shell_pid)")" = 0 ] || fail "the shell outlived the agent"

TESTDIR=${TESTDIR%/running}/hostgoes
mkdir "$TESTDIR" && cd "$TESTDIR"
cat >script <<'S'
wait-boot
noack on
term echo up-$((1+1))\n
expect-term up-2
expect shellexited 10000
exit
S
start_host script
start_agent -r 60
WU_HINT="tail -n 3 agent.log"
wait_until 10 "the shell to answer" grep -q up-2 term.out
sigterm_ends hostgoes 129
host_ok 10
grep -q 'while stopping: not reconnecting' agent.log ||
    fail "hostgoes: no log line for the end"
exit 0
