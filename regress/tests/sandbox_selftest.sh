#!/bin/sh
# Sandbox proof: in the debug-only self-test mode (CAPSEM_SANDBOX_SELFTEST,
# honoured with -d only) the first child of the named role attempts a
# forbidden system call as soon as it is ready.  It must be killed by
# SIGSYS, its parent must log the role and the system call by name, and the
# session must go on after the restart.  One session per case, so that one
# child's death cannot hide another's: agent children (term, control,
# audit) and capsem-hostd children (control, audit, exec), each with one of
# open, connect and execve (logged as the call the filter refused: openat,
# socket, execve).
. "$CAPSEM_TOP/regress/lib.sh"
. "$CAPSEM_TOP/regress/hostlib.sh"

SHELLCMD="/bin/bash --norc --noprofile -i"

violation() {	# LOG ROLE CALL
	log_has "$1" "$LL_SANDBOX_VIOLATION" ROLE="$2" CALL="$3 ([0-9]*)"
}

# capsem-hostd's children (the agent's are checked by agent_sandbox.sh):
# Seccomp 2, NoNewPrivs 1, and as root a non-root uid and an empty root.
host_children_sandboxed() {
	n=0
	for pid in $(pgrep -P "$HOSTDPID" -f 'capsem-hostd-'); do
		sandboxed "$pid" "hostd child $pid"
		n=$((n + 1))
	done
	[ "$n" -ge 2 ] || fail "expected control and audit children of \
capsem-hostd, found $n"
}

# selftest N SIDE ROLE:WHAT CALL
selftest() {
	D=$TESTDIR/tmp/sb$1
	log=$TESTDIR/sb$1.$2.log
	selftest_session "$1" "$D" "$2" "$3"
	role=${3%%:*}
	wait_until 20 "$2 $role child killed for $4" violation "$log" \
	    "$role" "$4"
	# The very child that tried is the one reaped, killed by SIGSYS.
	vpid=$(sed -n "s/.*$(ll "$LL_SANDBOX_VIOLATION" ROLE="$role" \
	    PID='\([0-9]*\)' CALL="$4 ([0-9]*)").*/\1/p" "$log" | head -n 1)
	wait_until 10 "$2 log: $role child (pid $vpid) reported killed by SIGSYS" \
	    log_has "$log" "$LL_CHILD_DIED" ROLE="$role" PID="$vpid" \
	    HOW="$LL_EXIT_SIGSYS"
	n=$(log_count "$log" "$LL_SANDBOX_VIOLATION")
	[ "$n" = 1 ] || fail "$2 $role: $n violations logged, want 1"
	wait_until 30 "session $1 connected after the restart" \
	    state_is "$D" connected
	exec_ok "$D" "after the $2 $role self-test"
	[ "$1" != 1 ] || host_children_sandboxed
	shutdown_session "$D"
	session_exits 129 "after shutdown"
}

selftest 1 agent term:open openat
selftest 2 agent control:connect socket
selftest 3 agent audit:execve execve
selftest 4 hostd control:execve execve
selftest 5 hostd audit:open openat
selftest 6 hostd exec:connect socket
exit 0
