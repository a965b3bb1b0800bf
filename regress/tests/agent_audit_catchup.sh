# A log rotated while no audit child reads it, then a second restart of
# the child while it is still sending the old file's rest: the file that
# replaced it is still passed down and its events arrive (issue 13 item 7;
# the second restart used to leave the new file unread for good).  The
# host stops reading audit connections, so the second child is held in
# the middle of the old file's 20000 events when the transport drops.
# Then records the child wrote but the host never read (the host closes
# the audit connection with them unread, as when its reader dies) are sent
# again by the next child: a position counts only what the host has read.
. "$CAPSEM_TOP/regress/lib.sh"

# events FIRST COUNT SECONDS COMM: COUNT execve events, serials from FIRST.
events() {
	awk -v first="$1" -v n="$2" -v sec="$3" -v comm="$4" 'BEGIN {
	for (s = first; s < first + n; s++) {
		id = sprintf("%d.000:%d", sec, s)
		printf "type=SYSCALL msg=audit(%s): arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 a2=3 a3=0 items=2 ppid=1 pid=%d auid=0 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=1 comm=\"%s\" exe=\"/usr/bin/%s\" key=\"capsem_exec\"\n", id, s, comm, comm
		printf "type=EXECVE msg=audit(%s): argc=2 a0=\"%s\" a1=\"--serial-%d\"\n", id, comm, s
		printf "type=CWD msg=audit(%s): cwd=\"/root\"\n", id
		printf "type=EOE msg=audit(%s): \n", id
	}
}'
}
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
expect-audit "comm":"after" 30000
audit-pause on
audit-queued QUEUED 20000
wait-file go2 20000
drop-audit
audit-pause off
expect-audit "comm":"last" 30000
term exit\n
expect-json {"t":"shellexited" 5000
exit
S
# The second part's 300 records, as the audit child encodes them: they fit
# in the socket's buffer, so the child has written them all when it waits.
events 30000 300 1713100003 tail >tail.log
q=$("$CAPSEM_LIBEXECDIR/capsem-agent-audit" -n tail.log 2>/dev/null | wc -c)
[ "$q" -gt 0 ] || fail "capsem-agent-audit -n encoded nothing"
# Half of it queued is the sign the child is at it (its live records may
# be shorter: no parent_exe in its sandbox); the settle below makes sure
# it wrote them all.
sed -i "s/QUEUED/$((q / 2))/" script
start_host script
start_agent
audit_wait_tail audit.log
audit_child_settle audit.log
apid=$(agent_child audit) || fail "no audit child"
kill -STOP "$apid"
events 1000 20000 1713100001 bulk >>audit.log
mv audit.log audit.log.1
audit_ev 1713100002 70 after >audit.log
: >go
wait_file_has() {	# FILE STRING
	grep -qF -- "$2" "$1" 2>/dev/null
}
wait_until 60 "the new file's event" wait_file_has events.jsonl '"comm":"after"'
cat tail.log >>audit.log
audit_ev 1713100004 90 last >>audit.log
wait_until 30 "the records queued unread at the host" \
    wait_file_has events.jsonl '"ev":"queued"'
audit_child_settle audit.log
: >go2
agent_ends 90 0
# Every event of the old file's rest arrived (a restart may resend what
# its predecessor had not seen read by the host, never skip: here the
# records the paused host read only after the second child was gone come
# again from the third).
got=$(grep '"ev":"audit"' events.jsonl | grep -o -- '--serial-[0-9]*' |
    sed 's/--serial-//' | awk '$1 >= 1000 && $1 < 21000' | sort -un | wc -l)
[ "$got" = 20000 ] || fail "$got of the 20000 old-file events arrived"
n=$(grep -c '"comm":"after"' events.jsonl)
[ "$n" = 1 ] || fail "the new file's event arrived $n times"
got=$(grep '"ev":"audit"' events.jsonl | grep -o -- '--serial-[0-9]*' |
    sed 's/--serial-//' | awk '$1 >= 30000 && $1 < 30300' | sort -un | wc -l)
[ "$got" = 300 ] || fail "$got of the 300 records dropped unread arrived"
exit 0
