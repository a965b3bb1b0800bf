# An execio across a transport drop (capsem-protocol(7) "execio"): the
# control connection lost (capsem-hostd's control child killed, the guest
# reconnects) while a command runs with its input still open does not end
# it: its exec connection is separate, its input still reaches it
# afterwards, and its execdone (replayed if need be) gives the client the
# status.  Its exec connection lost (the stream child killed) ends the
# command as a host closing it does: hung up, status 129, nothing left.
. "$CAPSEM_TOP/regress/lib.sh"
. "$CAPSEM_TOP/regress/hostlib.sh"

S=$TESTDIR/s
start_session "$S"
boots() {
	json_field "$S/session.json" connections
}
child_of_hostd() {	# PROG: the pid of HOSTDPID's child running PROG
	for p in $(pgrep -P "$HOSTDPID"); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$1" ] &&
		    { echo "$p"; return 0; }
	done
	return 1
}
mkfifo in.fifo || fail "mkfifo"
capsem-shell exec -S "$S" -- 'read a; echo "first:$a"; read b; echo "second:$b"' \
    <in.fifo >d.out 2>d.err &
cpid=$!
exec 3>in.fifo
printf 'one\n' >&3
has_line() {	# TEXT
	grep -qx -- "$1" d.out 2>/dev/null
}
wait_until 10 "the first line through" has_line first:one
b0=$(boots)
ctl=$(child_of_hostd capsem-hostd-co) || fail "no control child"
kill -9 "$ctl"
reconnected() {
	[ "$(boots)" -gt "$b0" ] 2>/dev/null
}
wait_until 15 "the guest to reconnect" reconnected
printf 'two\n' >&3
exec 3>&-
wait_for "$cpid" 15
[ "$st" = 0 ] || fail "exec across a control drop: exit $st: $(cat d.err)"
has_line second:two || fail "after the drop: '$(cat d.out)'"

# The exec connection lost: the command is hung up.
mkdir bin
ln -s "$(command -v sleep)" bin/sleep
capsem-shell exec -S "$S" -- "$TESTDIR/bin/sleep 100" </dev/null \
    >/dev/null 2>e.err &
cpid=$!
running() {
	[ -n "$(pgrep -f "^$TESTDIR/bin/")" ]
}
wait_until 10 "the command to start" running
# The exec's stream child, by its log line (the audit one runs the same
# program).
str=$(sed -n 's/.*stream\[\([0-9]*\)\]: exec: execstarted.*/\1/p' \
    s.hostd.log | tail -n 1)
[ -n "$str" ] && kill -0 "$str" 2>/dev/null || fail "no exec stream child"
kill -9 "$str"
wait_for "$cpid" 15
[ "$st" = 129 ] || fail "exec connection lost: exit $st, not 129: \
$(cat e.err)"
wait_until 5 "nothing left of the command" sh -c "! pgrep -f '^$TESTDIR/bin/'"

shutdown_session "$S"
no_leftovers
exit 0
