# The audit child follows the log by inotify (made by the parent, passed
# like the log fd), not by looking at it on a timer: with no log at all it
# sleeps until one is created, then sends its records at once; with a log
# it sleeps until the log is written.  Idle, it is not woken (at most one
# context switch in 4 s, where the timer made one every 2 s), in both
# states; and the records still arrive, each exactly once.
. "$CAPSEM_TOP/regress/lib.sh"

IDLE_S=4


ctxt() {	# PID: its context switches so far
	awk '/^(non)?voluntary_ctxt_switches:/ { n += $2 } END { print n + 0 }' \
	    "/proc/$1/status"
}

# steady: no context switch in 300 ms (after a burst of records the child
# looks once more, 100 ms later, at what the host has not read yet).
steady() {
	s0=$(ctxt "$AUD")
	sleep 0.3
	[ "$(ctxt "$AUD")" = "$s0" ]
}
# idle_ok WHAT: the audit child, once steady, is not woken for IDLE_S
# seconds.
idle_ok() {
	wait_until 5 "the audit child steady" steady
	c0=$(ctxt "$AUD")
	sleep "$IDLE_S"
	c1=$(ctxt "$AUD")
	[ $((c1 - c0)) -le 1 ] || fail "$1: the audit child woke $((c1 - c0)) \
times in $IDLE_S s (a timer?)"
}

seen() {	# SERIAL: its record arrived
	grep '"ev":"audit"' events.jsonl 2>/dev/null |
	    grep -q -- "--serial-$1\""
}

fresh_dir notify
cat >script <<'S'
wait-boot
expect-audit --serial-50 30000
expect-audit --serial-51 30000
expect-audit --serial-52 30000
term exit\n
expect-json {"t":"shellexited" 5000
exit
S
start_host script
start_agent
wait_until 15 "the audit connection (counts)" count_is audit 1
wait_until 10 "the audit child" agent_child audit
AUD=$(agent_child audit)
# Let it settle: the first looks at the (missing) log are at its start.
sleep 1
idle_ok "no log yet"
audit_ev 1713100005 50 ls >audit.log
wait_until 5 "the record of the new log" seen 50
idle_ok "following the log"
audit_ev 1713100006 51 cat >>audit.log
wait_until 5 "the record appended" seen 51
# Rotated: renamed, a new file in its place.
mv audit.log audit.log.1
audit_ev 1713100007 52 id >audit.log
wait_until 5 "the record of the rotated log" seen 52
agent_ends 30 0
for s in 50 51 52; do
	n=$(grep '"ev":"audit"' events.jsonl | grep -c -- "--serial-$s\"")
	[ "$n" = 1 ] || fail "event $s sent $n times"
done
exit 0
