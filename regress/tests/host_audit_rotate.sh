# audit.jsonl is rotated like pty.log (issue 13 item 9: a guest cannot
# grow the disk without bound): capsem-hostd --audit-max 4096 with a local
# agent whose audit log gets execve events; once audit.jsonl passes 4096
# bytes it becomes audit.jsonl.1 and a new audit.jsonl goes on, every
# record in one of the two exactly once, and the session goes on.
. "$CAPSEM_TOP/regress/lib.sh"
. "$CAPSEM_TOP/regress/hostlib.sh"


D=$TESTDIR/tmp/s
start_hostd "$D" --audit-max 4096
start_local_agent "$D"
wait_until 15 "the session to connect" state_is "$D" connected
records() {	# how many probe records both files hold
	cat "$D/audit.jsonl.1" "$D/audit.jsonl" 2>/dev/null | grep -c -- '--probe-'
}
# The agent tails its log from its end once the audit child runs: probe
# until the first record comes.
k=0
until [ "$(records)" -ge 1 ]; do
	k=$((k + 1))
	[ $k -le 100 ] || fail "no audit record after 100 probes"
	audit_probe "$k" >>"$TESTDIR/guest-audit.log"
	wu_end=$(($(now_ms) + 300))
	while [ "$(records)" -lt 1 ] && [ "$(now_ms)" -lt "$wu_end" ]; do
		sleep 0.02
	done
done
first=$k
n=$((first + 20))
while [ $k -lt $n ]; do
	k=$((k + 1))
	audit_probe "$k" >>"$TESTDIR/guest-audit.log"
done
want=$((n - first + 1))
WU_HINT="ls -l $D"
wait_until 10 "$want records in audit.jsonl and audit.jsonl.1" \
    eval '[ "$(records)" -ge '"$want"' ]'
WU_HINT=
[ -s "$D/audit.jsonl.1" ] || fail "audit.jsonl was not rotated"
[ "$(stat -c %s "$D/audit.jsonl.1")" -ge 4096 ] ||
    fail "rotated before 4096 bytes"
[ "$(stat -c %s "$D/audit.jsonl")" -lt 4096 ] ||
    fail "audit.jsonl past 4096 bytes after the rotation"
i=$first
while [ $i -le $n ]; do
	c=$(cat "$D/audit.jsonl.1" "$D/audit.jsonl" | grep -c -- "--probe-$i\"")
	[ "$c" = 1 ] || fail "probe $i recorded $c times"
	i=$((i + 1))
done
state_is "$D" connected || fail "the session did not go on"
shutdown_session "$D"
session_exits 129 "after shutdown"
no_leftovers
exit 0
