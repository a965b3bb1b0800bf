# Shared helpers for the integration tests (sourced, POSIX sh).
# Each test runs in its own directory $TESTDIR (regress/run.sh makes it and
# keeps it, with every log, when the test fails).

set -u
export LC_ALL=C
TESTDIR=${TESTDIR:-$(mktemp -d)}
TESTTOP=$TESTDIR
cd "$TESTDIR" || exit 1
SHELLCMD=${SHELLCMD:-"/bin/bash --norc --noprofile -i"}
HOSTPID=
AGENTPID=
WATCHDOGS=
WU_HINT=
. "$CAPSEM_TOP/regress/loglines.sh"

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

# fresh_dir NAME: go on in the new directory $TESTTOP/NAME, as $TESTDIR
# (for another host and agent, with logs of their own).
fresh_dir() {
	TESTDIR=$TESTTOP/$1
	mkdir "$TESTDIR" && cd "$TESTDIR" || fail "mkdir $TESTDIR"
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

# agent_ends SECONDS STATUS [WHAT]: the host script passes within SECONDS,
# then the agent exits with STATUS within 10 s (WHAT: the case, for the
# failure message).
agent_ends() {
	host_ok "$1"
	wait_for "$AGENTPID" 10
	AGENTPID=
	[ "$st" = "$2" ] || fail "${3:+$3: }agent exited $st, not $2"
}

# Processes left in a session (the agent's or the shell's).
session_left() {
	ps -e -o sid= -o pid= -o stat= |
	    awk -v s="$1" '$1 == s && $3 !~ /^Z/ { n++ } END { print n + 0 }'
}

# now_ms: a monotonic clock in ms (/proc/uptime, 10 ms steps): the local
# agent may step the wall clock (it sets it from the host's boot epoch).
now_ms() {
	read -r nm_up nm_idle </proc/uptime
	printf '%s0\n' "${nm_up%.*}${nm_up#*.}"
}

# wait_until SECONDS WHAT COMMAND...: run COMMAND every 20 ms until it
# succeeds; fail naming WHAT past the deadline (and, when WU_HINT is set,
# what evaluating it prints).
wait_until() {
	wu_end=$(($(now_ms) + $1 * 1000))
	wu_what=$2
	shift 2
	until "$@"; do
		[ "$(now_ms)" -lt "$wu_end" ] ||
		    fail "waited for $wu_what${WU_HINT:+ ($(eval "$WU_HINT"))}"
		sleep 0.02
	done
}

# count_is NAME N: the testhost's counts file says NAME N (connections
# accepted on channel NAME, or bootready frames received).
count_is() {
	grep -qx "$1 $2" "$TESTDIR/counts" 2>/dev/null
}

# wait_boots N: the testhost has seen N bootready frames.
wait_boots() {
	WU_HINT="cat $TESTDIR/counts | tr '\n' ' '"
	wait_until 15 "bootready $1 (counts)" count_is bootready "$1"
	WU_HINT=
}

# children_of PID: its live children, one PID a line.
children_of() {
	cat "/proc/$1"/task/*/children 2>/dev/null | tr ' ' '\n' | grep .
}

# agent_child ROLE: the pid of the agent's channel child ROLE (term,
# control, audit), found in /proc by its program name.
agent_child() {
	for ac_p in $(children_of "$AGENTPID"); do
		ac_a=$(tr '\0' ' ' <"/proc/$ac_p/cmdline" 2>/dev/null)
		[ "${ac_a%% *}" = "capsem-agent-$1" ] || continue
		printf '%s\n' "$ac_p"
		return 0
	done
	return 1
}

# shell_pid: the shell the agent started: its child whose command line is
# $SHELLCMD (the agent execs it directly, in a session of its own, so the
# pid is also the session id).  Empty until the agent has exec'd it.
shell_pid() {
	for sp_p in $(children_of "$AGENTPID"); do
		[ "$(tr '\0' ' ' <"/proc/$sp_p/cmdline" 2>/dev/null)" = \
		    "$SHELLCMD " ] || continue
		printf '%s\n' "$sp_p"
		return 0
	done
}

has_shell() {
	[ -n "$(shell_pid)" ]
}

# wait_shell: the shell's pid, in $SHELLPID, once the agent started it; its
# session (what session_left counts) holds the shell itself at least.
wait_shell() {
	wait_until 10 "the agent's shell ($SHELLCMD) in /proc" has_shell
	SHELLPID=$(shell_pid)
	[ "$(session_left "$SHELLPID")" -ge 1 ] ||
	    fail "the shell (pid $SHELLPID) leads no session"
}

# sandboxed PID WHO: the process runs sandboxed: /proc/PID/status shows
# Seccomp 2 and NoNewPrivs 1 and, when the tests run as root, a non-root
# uid, and its root directory is empty.  WHO names it in a failure.
sandboxed() {
	sb_s=/proc/$1/status
	grep -q '^Seccomp:[[:space:]]*2$' "$sb_s" || fail "$2: no seccomp filter"
	grep -q '^NoNewPrivs:[[:space:]]*1$' "$sb_s" || fail "$2: NoNewPrivs unset"
	[ "$(id -u)" = 0 ] || return 0
	[ "$(awk '/^Uid:/ { print $2 }' "$sb_s")" != 0 ] || fail "$2 runs as root"
	[ -z "$(ls -A "/proc/$1/root/" 2>/dev/null)" ] ||
	    fail "$2: root directory not empty"
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

# start_fifo_session: the testhost reading its script from the FIFO ctl,
# which this shell holds open on fd 3 (so the host waits for the test to
# write each part: `cat >&3 <<S`), and the agent.
start_fifo_session() {
	rm -f ctl
	mkfifo ctl || fail "mkfifo ctl"
	exec 3<>ctl
	start_host ctl
	start_agent "$@"
}

# audit_ev SECONDS SERIAL COMM: one execve event as auditd writes it
# (SYSCALL, EXECVE with a1 "--serial-SERIAL", CWD, EOE).
audit_ev() {
	ae_id="$1.000:$2"
	printf 'type=SYSCALL msg=audit(%s): arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 a2=3 a3=0 items=2 ppid=1 pid=%s auid=0 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=1 comm="%s" exe="/usr/bin/%s" key="capsem_exec"\n' "$ae_id" "$2" "$3" "$3"
	printf 'type=EXECVE msg=audit(%s): argc=2 a0="%s" a1="--serial-%s"\n' "$ae_id" "$3" "$2"
	printf 'type=CWD msg=audit(%s): cwd="/root"\n' "$ae_id"
	printf 'type=EOE msg=audit(%s): \n' "$ae_id"
}

# audit_wait_tail LOG: the agent's audit child tails LOG from its end as it
# finds it, at a moment nothing outside the agent can see; so probe: an
# event (dated 1713100000, serial 101, 102...) every 2 s until one arrives
# at the testhost as a record.  Probes written before the tail started are
# older events and never sent; $AW_PROBES is how many were written.
audit_probe_seen() {
	grep '"ev":"audit"' events.jsonl 2>/dev/null | grep -q '"comm":"probe"'
}
audit_wait_tail() {
	AW_PROBES=0
	wait_until 15 "the audit connection (counts)" count_is audit 1
	aw_end=$(($(now_ms) + 20000))
	until audit_probe_seen; do
		[ "$(now_ms)" -lt "$aw_end" ] ||
		    fail "no probe record in 20 s ($AW_PROBES probe events)"
		AW_PROBES=$((AW_PROBES + 1))
		audit_ev 1713100000 $((100 + AW_PROBES)) probe >>"$1"
		aw_e2=$(($(now_ms) + 2000))
		while ! audit_probe_seen && [ "$(now_ms)" -lt "$aw_e2" ]; do
			sleep 0.02
		done
	done
}

# audit_child_idle: the agent's audit child sleeps in poll.
audit_child_idle() {
	ai_p=$(agent_child audit) || return 1
	grep -q '^State:[[:space:]]*S' "/proc/$ai_p/status" 2>/dev/null &&
	    grep -q poll "/proc/$ai_p/wchan" 2>/dev/null
}

# audit_child_settle: wait until the audit child has told the parent where
# to resume after everything the host has read so far.  It does so before
# each poll, after looking at what the host has not read yet, and looks
# again every 100 ms while something is unread (at the latest on its 2 s
# tick): two more sleeps in poll since now mean one such look was made
# after now, in a round that began after the host read what it read.
audit_ctxsw() {
	sed -n 's/^voluntary_ctxt_switches:[[:space:]]*//p' \
	    "/proc/$1/status" 2>/dev/null
}
audit_settled() {
	[ "$(audit_ctxsw "$as_p")" -ge $((as_n + 2)) ] 2>/dev/null &&
	    audit_child_idle
}
audit_child_settle() {
	as_p=$(agent_child audit) || fail "no audit child"
	as_n=$(audit_ctxsw "$as_p")
	wait_until 10 "the audit child settled (pid $as_p)" audit_settled
}
