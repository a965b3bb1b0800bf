# Shared helpers for the integration tests (sourced, POSIX sh).
# Each test runs in its own directory $TESTDIR (regress/run.sh makes it and
# keeps it, with every log, when the test fails).

set -u
export LC_ALL=C
TESTDIR=${TESTDIR:-$(mktemp -d)}
cd "$TESTDIR" || exit 1
SHELLCMD=${SHELLCMD:-"/bin/bash --norc --noprofile -i"}
HOSTPID=
AGENTPID=
WATCHDOGS=

fail() {
	echo "$*"
	cleanup
	exit 1
}

cleanup() {
	for p in $WATCHDOGS $AGENTPID $HOSTPID; do
		kill "$p" 2>/dev/null
	done
	WATCHDOGS=
}

# start_host SCRIPT [testhost args...]: the scripted host, listening.
start_host() {
	script=$1
	shift
	mkdir -p "$TESTDIR/sock"
	capsem-testhost -D "$TESTDIR/sock" -o "$TESTDIR" -s "$script" "$@" \
	    >"$TESTDIR/host.log" 2>&1 &
	HOSTPID=$!
	# The counts file appears once every socket listens.
	i=0
	while [ ! -f "$TESTDIR/counts" ]; do
		kill -0 "$HOSTPID" 2>/dev/null || fail "testhost did not start"
		i=$((i + 1))
		[ $i -lt 500 ] || fail "testhost did not listen in 5 s"
		sleep 0.01
	done
}

# start_agent [capsem-agent args...]: the agent in a session of its own.
start_agent() {
	mkdir -p "$TESTDIR/ws"
	setsid capsem-agent -d -v -t "unix:$TESTDIR/sock" -s "$SHELLCMD" \
	    -w "$TESTDIR/ws" -a "$TESTDIR/audit.log" -b "$TESTDIR/bt.jsonl" \
	    "$@" >"$TESTDIR/agent.log" 2>&1 &
	AGENTPID=$!
	AGENTSID=$AGENTPID
}

# wait_for PID SECONDS: wait for a child of this shell (not from a
# subshell: only the parent can wait), at most SECONDS; its exit status is
# left in $st.  A process still running then is killed (status 137).
wait_for() {
	( sleep "$2"; kill -9 "$1" 2>/dev/null ) &
	wd=$!
	wait "$1"
	st=$?
	kill "$wd" 2>/dev/null
	wait "$wd" 2>/dev/null
	return 0
}

# The host script's result.
host_ok() {
	wait_for "$HOSTPID" "${1:-60}"
	HOSTPID=
	[ "$st" = 0 ] || fail "testhost script failed: $(tail -n 1 \
	    "$TESTDIR/host.log")"
}

# Processes left in a session (the agent's or the shell's).
session_left() {
	ps -e -o sid= -o pid= -o stat= |
	    awk -v s="$1" '$1 == s && $3 !~ /^Z/ { n++ } END { print n + 0 }'
}

shell_pid() {
	sed -n 's/.*shell .* started (pid \([0-9]*\)).*/\1/p' \
	    "$TESTDIR/agent.log" | head -n 1
}

# No control frame ever appears on the terminal stream.
no_frames_on_terminal() {
	[ -f "$TESTDIR/term.out" ] || return 0
	for pat in '\201\241t' '\202\241t'; do
		if grep -aqF "$(printf "$pat")" "$TESTDIR/term.out"; then
			fail "a msgpack frame marker appeared on the terminal"
		fi
	done
}

# events.jsonl line number of the first line matching a fixed string.
event_line() {
	grep -nF "$1" "$TESTDIR/events.jsonl" | head -n 1 | cut -d: -f1
}

# The agent's children must all be gone too.
agent_children_left() {
	ps -e -o sid= -o stat= | awk -v s="$AGENTSID" \
	    '$1 == s && $2 !~ /^Z/ { n++ } END { print n + 0 }'
}
