# Transport drops: one session whose shell prints a counter without end;
# the test closes the guest's connections from the host side N times
# (SIGKILL of capsem-hostd's control child: the guest sees its control
# connection close and reconnects everything).  Each drop must give one
# more boot in session.json's connections; the agent parent's fd and child
# counts at every boot (its "boot sequence done" line) are the same; the
# counter seen by an attached client is a sequence whose gaps (numbers lost
# while the transport was down) are measured; the shell and its variables
# survive.  Figure: reconnects, numbers lost (max per drop, total).
R_NAME=drops
. "$CAPSEM_TOP/regress/reliability/rlib.sh"

N=$(count 200 10)
scenario_session
printf 'export MARK=m%s\n' $$ >&4
printf 'i=0; while :; do i=$((i+1)); echo $i; sleep 0.001; done\n' >&4

boots() {
	json_field "$S/session.json" connections
}
# last: the last counter value the client has seen.
last() {
	tail -c 200 out | tr -d '\r' | grep -x '[0-9][0-9]*' | tail -n 1
}
grown() {	# N: the counter went past N
	l=$(last)
	[ -n "$l" ] && [ "$l" -gt "$1" ]
}
wait_until 10 "the counter to start" grown 10

i=0
while [ $i -lt "$N" ]; do
	i=$((i + 1))
	R_RUNS=$i
	b=$(boots)
	ctl=$(pgrep -P "$HOSTDPID" -f capsem-hostd-control)
	[ -n "$ctl" ] || fail "drop $i: no control child of capsem-hostd"
	kill -9 $ctl
	WU_HINT="tail -n 2 $log"
	wait_until 10 "reconnect $i" eval '[ "$(boots)" -gt "$b" ]'
	WU_HINT=
	# The shell goes on printing, and we see it.
	l=$(last)
	wait_until 10 "the counter after drop $i" grown "${l:-0}"
	kill -0 "$cpid" 2>/dev/null || fail "drop $i: the client exited: \
$(head -c 200 err)"
	R_PASSED=$i
done

# Stop the loop, check the shell's state, end it.
# ^C flushes the terminal's input queue (no NOFLSH): a line typed with it
# may be discarded, so ask again until the answer shows.  The ^C itself
# can be lost to bash's job control (it lands on the process group of a
# `sleep` that has just exited, before bash takes the terminal back), so
# it is sent again too.
mark_seen() {
	plain <out | grep -qx "mark=m$$" && return 0
	printf '\003' >&4
	sleep 0.1
	printf 'echo mark=$MARK\n' >&4
	sleep 0.2
	return 1
}
wait_until 10 "the variable after $N drops" mark_seen
printf 'exit\n' >&4
wait_for "$cpid" 10
exec 4>&-
R_FIGURE=
cst=$st

nb=$(boots)
# Gaps: numbers missing between consecutive counter lines.
plain <out | grep -x '[0-9][0-9]*' | awk '
	NR > 1 && $1 != p + 1 { g = $1 - p - 1; if (g < 0) bad++; else {
		tot += g; if (g > max) max = g; n++ } }
	{ p = $1 }
	END { printf "%d %d %d %d\n", max, tot, n, bad }' >gaps
read -r gmax gtot gn gbad <gaps
# From the second boot on the agent also holds the audit log it passed
# to the first audit child (kept across drops so that a rotation while
# the link is down loses nothing): the first boot may have one fd less.
allcounts=$(sed -n "s/.*$(ll "$LL_AGENT_BOOT_DONE" FDS='\([0-9]*\)' \
    CHILDREN='\([0-9]*\)').*/\1 \2/p" "$alog")
counts=$(printf '%s\n' "$allcounts" | sed 1d | sort -u)
first=$(printf '%s\n' "$allcounts" | head -n 1)
R_FIGURE="$((nb - 1)) reconnects, lost max $gmax / drop, $gtot total"
[ "$cst" = 0 ] || fail "the client exited $cst at the end: $(head -c 200 err)"
[ "$((nb - 1))" = "$N" ] || fail "$N drops but $((nb - 1)) reconnects"
[ -n "$counts" ] || fail "no boot line with fd/child counts in $alog"
[ "$(printf '%s\n' "$counts" | wc -l)" = 1 ] ||
    fail "agent fd/child counts differ across boots: $(printf '%s' \
"$counts" | tr '\n' ',')"
case $first in
"$counts"|"$((${counts%% *} - 1)) ${counts#* }") ;;
*)	fail "agent fd/child counts at the first boot ($first) and later \
($counts) differ by more than the held audit log" ;;
esac
[ "$gbad" = 0 ] || fail "$gbad times the counter went backwards (dup)"
scenario_end
