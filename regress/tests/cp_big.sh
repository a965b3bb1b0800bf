# capsem-shell cp of a 256 MiB file in and out: the content arrives whole
# (sha256), and no process grows with the file: the peak RSS (VmHWM) of
# capsem-hostd and of the agent grows by less than 8 MiB over the two
# copies, and capsem-shell's, sampled while it copies, stays under 16 MiB.
. "$CAPSEM_TOP/regress/lib.sh"
. "$CAPSEM_TOP/regress/hostlib.sh"

S=$TESTDIR/s
WS=$TESTDIR/ws
start_session "$S"

hwm() {	# PID: VmHWM in KiB
	awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null
}
# sampled PID: the largest VmRSS of PID until it exits, in $peak (KiB).
sampled() {
	peak=0
	while kill -0 "$1" 2>/dev/null; do
		r=$(awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null)
		[ -n "$r" ] && [ "$r" -gt "$peak" ] && peak=$r
		sleep 0.05
	done
}

head -c $((256 * 1024 * 1024)) /dev/urandom >big.bin
want=$(sha256sum <big.bin)
h0=$(hwm "$HOSTDPID")
a0=$(hwm "$HOSTDAGENT")

capsem-shell cp -S "$S" big.bin :big.bin 2>in.err &
cpid=$!
sampled "$cpid"
wait_for "$cpid" 120
[ "$st" = 0 ] || fail "cp in of 256 MiB: exit $st: $(cat in.err)"
[ "$peak" -lt 16384 ] || fail "capsem-shell cp in: RSS reached $peak KiB"
in_peak=$peak
[ "$(sha256sum <"$WS/big.bin")" = "$want" ] || fail "256 MiB in: sha256 differs"

capsem-shell cp -S "$S" :big.bin back.bin 2>out.err &
cpid=$!
sampled "$cpid"
wait_for "$cpid" 120
[ "$st" = 0 ] || fail "cp out of 256 MiB: exit $st: $(cat out.err)"
[ "$peak" -lt 16384 ] || fail "capsem-shell cp out: RSS reached $peak KiB"
[ "$(sha256sum <back.bin)" = "$want" ] || fail "256 MiB out: sha256 differs"

h1=$(hwm "$HOSTDPID")
a1=$(hwm "$HOSTDAGENT")
[ $((h1 - h0)) -lt 8192 ] || fail "capsem-hostd VmHWM grew $h0 -> $h1 KiB"
[ $((a1 - a0)) -lt 8192 ] || fail "the agent VmHWM grew $a0 -> $a1 KiB"
echo "rss: client in $in_peak KiB, out $peak KiB; hostd $h0->$h1, agent $a0->$a1 KiB" >>"$TESTDIR/test.log"
rm -f big.bin back.bin "$WS/big.bin"

shutdown_session "$S"
session_exits 129 "after shutdown"
