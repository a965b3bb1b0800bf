# A log rotated while no audit child reads it, then a second restart of
# the child while it is still sending the old file's rest: the file that
# replaced it is still passed down and its events arrive (issue 13 item 7;
# the second restart used to leave the new file unread for good).  The
# host stops reading audit connections, so the second child is held in
# the middle of the old file's 20000 events when the transport drops.
. "$CAPSEM_TOP/regress/lib.sh"

audit_ev 1713100000 10 old >audit.log
cat >script <<'S'
wait-boot
wait-file go 30000
audit-pause on
drop
wait-boot
drop
wait-boot
audit-pause off
expect-audit --serial-70 30000
term exit\n
expect-json {"t":"shellexited" 5000
exit
S
start_host script
start_agent
audit_wait_tail audit.log
wait_until 10 "the audit child idle in poll" audit_child_idle
apid=$(agent_child audit) || fail "no audit child"
kill -STOP "$apid"
awk 'BEGIN {
	for (s = 1000; s < 21000; s++) {
		id = sprintf("1713100001.000:%d", s)
		printf "type=SYSCALL msg=audit(%s): arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 a2=3 a3=0 items=2 ppid=1 pid=%d auid=0 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=1 comm=\"bulk\" exe=\"/usr/bin/bulk\" key=\"capsem_exec\"\n", id, s
		printf "type=EXECVE msg=audit(%s): argc=2 a0=\"bulk\" a1=\"--serial-%d\"\n", id, s
		printf "type=CWD msg=audit(%s): cwd=\"/root\"\n", id
		printf "type=EOE msg=audit(%s): \n", id
	}
}' >>audit.log
mv audit.log audit.log.1
audit_ev 1713100002 70 after >audit.log
: >go
agent_ends 90 0
# Every event of the old file's rest arrived (a restart may resend what
# its predecessor had not confirmed, never skip).
got=$(grep '"ev":"audit"' events.jsonl | grep -o -- '--serial-[0-9]*' |
    sed 's/--serial-//' | awk '$1 >= 1000 && $1 < 21000' | sort -un | wc -l)
[ "$got" = 20000 ] || fail "$got of the 20000 old-file events arrived"
n=$(grep -c -- '--serial-70"' events.jsonl)
[ "$n" = 1 ] || fail "the new file's event arrived $n times"
exit 0
