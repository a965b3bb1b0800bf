# Audit records from a log written while the agent runs: the log is tailed
# from its end at first start (older events are never sent), each execve
# event becomes exactly one record, the read position survives a transport
# drop (no record twice, none skipped), a rotated log (renamed, a new
# file in its place) is followed, and a log rotated while no audit child
# reads it (the child frozen, then the transport dropped) has the rest of
# the old file sent before the new one (issue 13 item 7): nothing lost.
. "$CAPSEM_TOP/regress/lib.sh"

# wait_file FILE STRING: until FILE holds STRING (10 s at most).
wait_file() {
	i=0
	until grep -qF -- "$2" "$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 1000 ] || fail "waited 10 s for '$2' in $1"
		sleep 0.01
	done
}

audit_ev 1713100000 10 old >audit.log
cat >script <<'S'
wait-boot
expect-audit --serial-20 30000
expect-audit --serial-21 10000
drop
wait-boot
expect-audit --serial-30 10000
expect-audit --serial-40 15000
wait-file go 20000
drop
wait-boot
expect-audit --serial-50 15000
expect-audit --serial-60 15000
term exit\n
expect-json {"t":"shellexited" 2000
exit
S
start_host script
start_agent
audit_wait_tail audit.log
{ audit_ev 1713100001 20 ls; audit_ev 1713100002 21 cat; } >>audit.log
wait_file counts 'bootready 2'
wait_file events.jsonl '--serial-21'
audit_ev 1713100003 30 id >>audit.log
wait_file events.jsonl '--serial-30'
mv audit.log audit.log.1
audit_ev 1713100004 40 uname >audit.log
wait_file events.jsonl '--serial-40'
# No child reads while the log is written and rotated again.
audit_child_settle
apid=$(agent_child audit) || fail "no audit child"
kill -STOP "$apid"
audit_ev 1713100005 50 date >>audit.log
mv audit.log audit.log.2
audit_ev 1713100006 60 env >audit.log
: >go
agent_ends 60 0
! grep -q -- '--serial-10"' events.jsonl || fail "an event older than the agent was sent"
i=1
while [ $i -le $AW_PROBES ]; do
	n=$(grep '"ev":"audit"' events.jsonl | grep -c -- "--serial-$((100 + i))\"")
	[ "$n" -le 1 ] || fail "probe $i sent $n times"
	i=$((i + 1))
done
for s in 20 21 30 40 50 60; do
	n=$(grep '"ev":"audit"' events.jsonl | grep -c -- "--serial-$s\"")
	[ "$n" = 1 ] || fail "event $s sent $n times"
done
grep '"ev":"audit"' events.jsonl | grep -q '"exe":"/usr/bin/uname","comm":"uname","argv":"uname --serial-40","cwd":"/root","tty":"pts0","session_id":1' ||
    fail "record fields wrong: $(grep -- --serial-40 events.jsonl)"
exit 0
