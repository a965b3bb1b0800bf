# Every agent child runs sandboxed: /proc/PID/status shows Seccomp: 2 and
# NoNewPrivs: 1; when the tests run as root, each runs as a non-root uid
# with an empty root directory.  Also: SIGTERM to the agent hangs up the
# shell, and the session still ends with shellexited (status 129, SIGHUP).
. "$CAPSEM_TOP/regress/lib.sh"

cat >script <<'S'
wait-boot
expect-json {"t":"shellexited","d":{"exit_code":129,"signal":1}} 30000
exit
S
start_host script
start_agent
wait_boots 1
wait_until 10 "the audit connection (counts)" count_is audit 1
# A child sandboxes itself first thing, before it reads a byte from its
# parent (proto/child.c); the seccomp filter is the last step.  So wait for
# the filter on each of the three, then check everything of every child.
filtered() {	# ROLE
	fp=$(agent_child "$1") &&
	    grep -q '^Seccomp:[[:space:]]*2$' "/proc/$fp/status" 2>/dev/null
}
for r in term control audit; do
	WU_HINT="grep Seccomp /proc/\$(agent_child $r)/status"
	wait_until 10 "the $r child's seccomp filter" filtered "$r"
done
WU_HINT=
n=0
for pid in $(ps --ppid "$AGENTPID" -o pid= -o comm= |
    awk '$2 ~ /^capsem-agent-/ { print $1 }'); do
	s=/proc/$pid/status
	grep -q '^Seccomp:[[:space:]]*2$' "$s" || fail "pid $pid: no seccomp filter"
	grep -q '^NoNewPrivs:[[:space:]]*1$' "$s" || fail "pid $pid: NoNewPrivs unset"
	if [ "$(id -u)" = 0 ]; then
		uid=$(awk '/^Uid:/ { print $2 }' "$s")
		[ "$uid" != 0 ] || fail "pid $pid runs as root"
		[ -z "$(ls -A "/proc/$pid/root/" 2>/dev/null)" ] ||
		    fail "pid $pid: root directory not empty"
	fi
	n=$((n + 1))
done
[ "$n" -ge 3 ] || fail "expected the term, control and audit children, saw $n"
kill -TERM "$AGENTPID"
host_ok 30
wait_for "$AGENTPID" 10
AGENTPID=
[ "$st" = 129 ] || fail "agent exited $st, not 129"
exit 0
