# Slow client: one session, two attached clients; one is stopped (SIGSTOP:
# it never reads again), the other types a command writing MB megabytes
# through the terminal.  The normal client gets every byte; capsem-hostd's
# memory (VmRSS, sampled every 50 ms) stays under 64 MiB; hostd drops the
# stuck client (and says it is not reading), which, continued, reports the
# lost connection.  Figure: the largest hostd RSS seen, in KiB.
R_NAME=slow_client
. "$CAPSEM_TOP/regress/reliability/rlib.sh"

MB=$(count 100 100)
LIMIT=65536
scenario_session
R_RUNS=1
clients_at_least() {	# N: session.json counts N attached clients
	[ "$(json_field "$S/session.json" clients)" -ge "$1" ] 2>/dev/null
}
wait_until 10 "the normal client to attach" clients_at_least 1

mkfifo stuck.fifo || fail "mkfifo"
sleep 3017 >stuck.fifo &
spid=$!
capsem-shell -S "$S" <stuck.fifo >/dev/null 2>stuck.err &
stuck=$!
wait_until 10 "the stuck client to attach" clients_at_least 2
kill -STOP "$stuck"

# 'Z' (\132) never appears in the command line the pty echoes.
printf "head -c %s /dev/zero | tr '\\\\000' '\\\\132' | fold -w 100; echo END-\$((6*7))\n" \
    $((MB * 1000000)) >&4

maxrss=0
done_out() {
	r=$(rss_kib "$HOSTDPID")
	[ "$r" -le "$maxrss" ] || maxrss=$r
	tail -c 40 out | tr -d '\r' | grep -q END-42
}
wait_until 300 "the end of the output" done_out
R_FIGURE="max hostd RSS $maxrss KiB"
got=$(tr -cd Z <out | wc -c)
[ "$got" = $((MB * 1000000)) ] || fail "the normal client got $got of \
$((MB * 1000000)) bytes"
log_has "$log" "$LL_HOSTD_CLIENT_DROPPED" PID="$stuck" \
    WHY="$LL_HOSTD_CLIENT_NOT_READING" || fail "the stuck client was not dropped"
[ "$maxrss" -lt "$LIMIT" ] || fail "capsem-hostd grew to $maxrss KiB"
kill -CONT "$stuck"
wait_for "$stuck" 10
[ "$st" = 255 ] || fail "the stuck client exited $st once continued, \
not 255"
end_client err
kill "$spid"
wait "$spid" 2>/dev/null
R_PASSED=1
scenario_end
