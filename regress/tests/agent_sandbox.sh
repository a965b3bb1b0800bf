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
i=0
until grep -q '^bootready 1' counts 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 1000 ] || fail "no boot in 10 s"
	sleep 0.01
done
# The children are up once they said ready; the log says so.
i=0
until [ "$(grep -c 'child ready' agent.log)" -ge 2 ]; do
	i=$((i + 1))
	[ $i -lt 1000 ] || fail "children not ready in 10 s"
	sleep 0.01
done
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
[ "$n" -ge 2 ] || fail "expected at least the term and control children, saw $n"
kill -TERM "$AGENTPID"
host_ok 30
wait_for "$AGENTPID" 10
AGENTPID=
[ "$st" = 129 ] || fail "agent exited $st, not 129"
exit 0
