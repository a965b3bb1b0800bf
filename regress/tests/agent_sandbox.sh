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
	sandboxed "$pid" "pid $pid"
	n=$((n + 1))
done
[ "$n" -ge 3 ] || fail "expected the term, control and audit children, saw $n"
kill -TERM "$AGENTPID"
agent_ends 30 129
exit 0
