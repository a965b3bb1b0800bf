# An interrupted copy leaves no partial file at its destination and
# nothing running: capsem-shell cp killed (SIGKILL) halfway through a copy
# in, Ctrl-C (SIGINT) halfway through a copy out, and the guest's control
# connection dropped halfway through a copy in (the copy fails with a
# clear message, the session goes on).  While a copy runs, an exec on the
# same session still answers: the control channel is not held up.
. "$CAPSEM_TOP/regress/lib.sh"
. "$CAPSEM_TOP/regress/hostlib.sh"

S=$TESTDIR/s
WS=$TESTDIR/ws
start_session "$S"
head -c $((48 * 1024 * 1024)) /dev/urandom >src.bin

# read_mib PID: MiB the process has read so far (its rchar).
read_mib() {
	echo $(($(awk '/^rchar:/ { print $2 }' "/proc/$1/io" 2>/dev/null ||
	    echo 0) / 1048576))
}
halfway() {	# PID: more than 8 MiB through
	[ "$(read_mib "$1")" -gt 8 ]
}
no_runner() {	# no copy runner left in the agent's tree
	! grep -q "runner pid" "$TESTDIR/s.agent.log" ||
	    [ "$(grep -c 'copy [0-9]*: runner pid' "$TESTDIR/s.agent.log")" = \
	    "$(grep -c 'copy [0-9]*: \(done\|copy interrupted\|failed\)' \
	    "$TESTDIR/s.agent.log")" ]
}
no_temp() {
	[ -z "$(find "$WS" "$TESTDIR" -maxdepth 1 -name '.*.capsem-*')" ]
}

# 1. SIGKILL of the client during a copy in (40 Mbit/s: about 10 s).
capsem-shell cp -S "$S" -l 40000 src.bin :dst1.bin 2>k.err &
cpid=$!
wait_until 20 "the copy in to get halfway" halfway "$cpid"
exec_ok "$S" "during a copy"
kill -9 "$cpid"
wait_for "$cpid" 5
wait_until 10 "the agent to abandon the copy" file_has \
    "$TESTDIR/s.agent.log" "copy interrupted: dst1.bin"
[ -e "$WS/dst1.bin" ] && fail "SIGKILL of cp left $WS/dst1.bin"
no_temp || fail "a temporary file was left after SIGKILL"
wait_until 5 "every copy runner to end" no_runner

# 2. Ctrl-C (SIGINT) of the client during a copy out.
cp src.bin "$WS/src.bin"
capsem-shell cp -S "$S" -l 40000 :src.bin dst2.bin 2>i.err &
cpid=$!
wait_until 20 "the copy out to get halfway" eval \
    "[ \"\$(awk '/^wchar:/ { print int(\$2 / 1048576) }' /proc/$cpid/io)\" -gt 8 ]"
kill -INT "$cpid"
wait_for "$cpid" 5
[ "$st" != 0 ] || fail "cp interrupted by SIGINT exited 0"
grep -q "interrupted" i.err || fail "SIGINT: cp said: $(cat i.err)"
[ -e dst2.bin ] && fail "SIGINT of cp out left dst2.bin"
no_temp || fail "a temporary file was left after SIGINT"
wait_until 10 "every copy runner to end" no_runner

# 3. The control connection drops halfway through a copy in.
capsem-shell cp -S "$S" -l 40000 src.bin :dst3.bin 2>d.err &
cpid=$!
wait_until 20 "the copy in to get halfway" halfway "$cpid"
ctl=
for p in $(children_of "$HOSTDPID"); do
	case $(cat "/proc/$p/comm" 2>/dev/null) in
	capsem-hostd-co*) ctl=$p ;;
	esac
done
[ -n "$ctl" ] || fail "no capsem-hostd-control child to kill"
kill -9 "$ctl"
wait_for "$cpid" 10
[ "$st" != 0 ] || fail "cp went on after the control connection dropped"
grep -q "copy interrupted: the guest's connection dropped" d.err ||
    fail "transport drop: cp said: $(cat d.err)"
wait_until 10 "the agent to abandon the copy" file_has \
    "$TESTDIR/s.agent.log" "copy interrupted: dst3.bin"
[ -e "$WS/dst3.bin" ] && fail "a dropped copy left $WS/dst3.bin"
no_temp || fail "a temporary file was left after the drop"
wait_until 15 "the session to reconnect" state_is "$S" connected
exec_ok "$S" "after the drop"
capsem-shell cp -S "$S" src.bin :dst3.bin 2>again.err ||
    fail "cp after the drop: $(cat again.err)"
cmp -s src.bin "$WS/dst3.bin" || fail "cp after the drop: content differs"

shutdown_session "$S"
session_exits 129 "after shutdown"
