#!/bin/sh
# capsem-hostd against an adversarial guest (capsem-testguest): bad input
# on control, audit and exec.  For each kind, hostd logs an error naming
# the channel and the reason and keeps serving (the process lives, still
# listening on attach.sock); a bad frame on control costs that frame only
# (the next good one is answered), an oversize length, random bytes or a
# truncated frame cost the control connection (the guest reconnects and
# boots again), garbage on audit costs the audit connection only, an exec
# connection whose first frame is not execstarted is dropped.  The guest
# ends with shellexited{7} after all that: hostd exits 7.
. "$CAPSEM_TOP/regress/lib.sh"
. "$CAPSEM_TOP/regress/hostlib.sh"

command -v capsem-testguest >/dev/null 2>&1 || fail "capsem-testguest not in PATH"

# hexs STRING: the msgpack str of an ASCII string (< 32 bytes), in hex.
hexs() {
	printf '%02x' $((0xa0 + ${#1}))
	printf '%s' "$1" | od -An -tx1 | tr -d ' \n'
}
# frame HEX: HEX with its 4-byte length.
frame() {
	printf '%08x%s' $((${#1} / 2)) "$1"
}
T=$(hexs t)
# {"t":"execdone","d":{"id":"1","exit_code":0}}: id is a string.
WRONGTYPE=$(frame "82${T}$(hexs execdone)$(hexs d)82$(hexs id)$(hexs 1)$(hexs \
exit_code)00")
UNKNOWN=$(frame "81${T}$(hexs bogustag)")
# A map whose body ends early (the frame is whole, its content is not).
SHORTMAP=$(frame "82${T}")
# {"t":"pong","d":{"x":{"t":{"t":...nil}}}}: 10000 maps deep under a key
# the decoder must skip.
DEEP=$(frame "82${T}$(hexs pong)$(hexs d)81$(hexs x)$(awk \
    'BEGIN { for (i = 0; i < 10000; i++) printf "81a174"; print "c0" }')")
# {"exe": 5}: an audit record of the wrong type.
BADREC=$(frame "81$(hexs exe)05")

D=$TESTDIR/tmp/bad
log=$TESTDIR/bad.hostd.log
start_hostd "$D"

cat >script <<S
timeout 10000
# -- control: a bad frame costs that frame; the next one is answered.
raw control $WRONGTYPE
send control {"t":"error","d":{"id":11,"message":"after wrong type"}}
expect {"t":"ackreply","d":{"id":11}}
raw control $UNKNOWN
send control {"t":"error","d":{"id":12,"message":"after unknown tag"}}
expect {"t":"ackreply","d":{"id":12}}
nested control 10000
send control {"t":"error","d":{"id":13,"message":"after nesting"}}
expect {"t":"ackreply","d":{"id":13}}
raw control $DEEP
send control {"t":"error","d":{"id":15,"message":"after deep d"}}
expect {"t":"ackreply","d":{"id":15}}
raw control $SHORTMAP
send control {"t":"error","d":{"id":14,"message":"after short map"}}
expect {"t":"ackreply","d":{"id":14}}
send control {"t":"pong"}
# -- audit: a bad record costs that record, garbage the connection.
raw audit $BADREC
send audit {"timestamp_us":1,"pid":2,"ppid":1,"uid":0,"exe":"/bin/good1","comm":null,"argv":"good1","cwd":null,"tty":null,"session_id":null,"parent_exe":null,"audit_id":"1.000:1"}
nested audit 10000
random audit 1048576
expect-closed audit
send audit {"timestamp_us":2,"pid":3,"ppid":1,"uid":0,"exe":"/bin/good2","comm":null,"argv":"good2","cwd":null,"tty":null,"session_id":null,"parent_exe":null,"audit_id":"2.000:2"}
raw audit 7fffffff
expect-closed audit
close audit
send control {"t":"error","d":{"id":21,"message":"after audit garbage"}}
expect {"t":"ackreply","d":{"id":21}}
# -- exec: the first frame must be execstarted.
send exec {"t":"pong"}
expect-closed exec
close exec
raw exec $UNKNOWN
expect-closed exec
close exec
random exec 1048576
expect-closed exec
close exec
send control {"t":"error","d":{"id":31,"message":"after exec garbage"}}
expect {"t":"ackreply","d":{"id":31}}
# -- control: framing lost costs the connection; the guest boots again.
raw control 7fffffff00
expect-closed control
reconnect
random control 1048576
expect-closed control
reconnect
raw control 00000064a1
close control
reconnect
send control {"t":"error","d":{"id":41,"message":"after reconnects"}}
expect {"t":"ackreply","d":{"id":41}}
wait-file $TESTDIR/go
send control {"t":"shellexited","d":{"exit_code":7,"signal":null}}
expect {"t":"ackreply","d":{"id":0}}
close terminal
exit
S

# Alive and serving: the process, attach.sock, session.json connected.
alive() {
	kill -0 "$HOSTDPID" 2>/dev/null || fail "capsem-hostd died: \
$(tail -n 2 "$log" | tr '\n' ' ')"
	[ -S "$D/attach.sock" ] || fail "attach.sock gone"
}

capsem-testguest -D "$D" -o "$TESTDIR/guest.jsonl" -s script \
    >"$TESTDIR/guest.log" 2>&1 &
GUESTPID=$!
WATCHDOGS="$WATCHDOGS $GUESTPID"
wait_until 10 "the first boot" file_has "$log" "guest booted: connection 1"
wait_until 30 "the last reconnect" file_has "$log" \
    "guest booted: connection 4"
alive
wait_until 10 "session.json connected" state_is "$D" connected
: >"$TESTDIR/go"
wait_for "$GUESTPID" 30
[ "$st" = 0 ] || fail "testguest failed: $(tail -n 1 "$TESTDIR/guest.log")"
wait_for "$HOSTDPID" 15
HOSTDPID=
[ "$st" = 7 ] || fail "capsem-hostd exited $st, expected 7 (shellexited)"

# Each kind of bad input has its own log line naming channel and reason.
has() {	# WHAT STRING
	file_has "$log" "$2" || fail "no log line for $1: \"$2\""
}
has "wrong type" \
    "dropped: wrong type at byte 18: d.id: expected integer, got str"
has "unknown tag" "dropped: unknown message tag at byte 3: t: unknown \
guest-to-host message \"bogustag\""
has "nested map" "dropped: wrong type at byte 3: t: expected str, got map"
has "deep map" "dropped: nesting too deep at byte 106: d: nested deeper"
has "short map" "dropped: declared length exceeds input at byte 0"
has "bad audit record" "audit: record 1 dropped: wrong type at byte 5: \
exe: expected str, got integer"
has "deep audit record" "audit: record 3 dropped: nesting too deep"
has "audit garbage" "stream: guest frame of"
has "audit connection lost" "audit connection ended: frame length over 2 MiB"
has "exec not execstarted" "exec: first frame is pong, not execstarted"
has "exec unknown tag" "exec: first frame dropped: unknown message tag"
has "exec connection dropped" "exec connection ended: exec: first frame"
has "control oversize" "control: guest frame of 2147483647 bytes"
has "control framing lost" \
    "control connection ended: frame length over 2 MiB, framing lost"
# A truncated frame then EOF: the control child says the frame was cut
# short; the reconnect may replace it first, so no "guest disconnected"
# line is certain.
has "truncated then closed" \
    "control connection ended: frame cut short: 100 bytes declared, 1 received"
has "shell exit" "shell exited 7"
# The good records around the garbage were written, nothing else.
[ "$(cut -c1-60 "$D/audit.jsonl" | grep -o 'good[0-9]' | tr '\n' ' ')" = \
    "good1 good2 " ] || fail "audit.jsonl: $(cat "$D/audit.jsonl")"
n=$(grep -c 'control connection ended: frame length over 2 MiB' "$log")
[ "$n" = 2 ] || fail "$n control connections lost to framing, expected 2"
exit 0
