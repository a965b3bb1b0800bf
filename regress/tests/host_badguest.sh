#!/bin/sh
# capsem-hostd against an adversarial guest (capsem-testguest): bad input
# on control, audit and exec.  For each kind, hostd logs an error naming
# the channel and the reason and keeps serving (the process lives, still
# listening on attach.sock); a bad frame on control costs that frame only
# (the next good one is answered), an oversize length, random bytes or a
# truncated frame cost the control connection (the guest reconnects and
# boots again), garbage on audit costs the audit connection only, an exec
# connection whose first frame is not execstarted is dropped.  The guest
# ends with shellexited{7} after all that: hostd exits 7 and session.json
# says exited, exit_code 7.
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

# answered ID WHAT: script lines sending an error message (WHAT) on control,
# then expecting its ackreply: the connection still serves.
answered() {
	printf 'send control {"t":"error","d":{"id":%s,"message":"%s"}}\n' \
	    "$1" "$2"
	printf 'expect {"t":"ackreply","d":{"id":%s}}\n' "$1"
}

D=$TESTDIR/tmp/bad
log=$TESTDIR/bad.hostd.log
start_hostd "$D"

cat >script <<S
timeout 10000
# -- control: a bad frame costs that frame; the next one is answered.
raw control $WRONGTYPE
$(answered 11 'after wrong type')
raw control $UNKNOWN
$(answered 12 'after unknown tag')
nested control 10000
$(answered 13 'after nesting')
raw control $DEEP
$(answered 15 'after deep d')
raw control $SHORTMAP
$(answered 14 'after short map')
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
$(answered 21 'after audit garbage')
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
$(answered 31 'after exec garbage')
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
$(answered 41 'after reconnects')
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
# session.json counts the boots: the first, then one per reconnect.
boots_at_least() {	# N
	[ "$(json_field "$D/session.json" connections)" -ge "$1" ] 2>/dev/null
}
WU_HINT="cat $D/session.json"
wait_until 10 "the first boot (session.json)" boots_at_least 1
wait_until 30 "the last reconnect (session.json)" boots_at_least 4
alive
wait_until 10 "session.json connected" state_is "$D" connected
WU_HINT=
[ "$(json_field "$D/session.json" connections)" = 4 ] ||
    fail "expected 4 boots: $(cat "$D/session.json")"
: >"$TESTDIR/go"
wait_for "$GUESTPID" 30
[ "$st" = 0 ] || fail "testguest failed: $(tail -n 1 "$TESTDIR/guest.log")"
wait_for "$HOSTDPID" 15
HOSTDPID=
[ "$st" = 7 ] || fail "capsem-hostd exited $st, expected 7 (shellexited)"

[ "$(json_field "$D/session.json" state)" = exited ] &&
    [ "$(json_field "$D/session.json" exit_code)" = 7 ] ||
    fail "session.json after shellexited{7}: $(cat "$D/session.json")"

# Each kind of bad input has its own log line naming channel and reason.
has() {	# WHAT PATTERN [NAME=VALUE ...]
	h_what=$1
	shift
	log_has "$log" "$@" || fail "no log line for $h_what: \"$(ll "$@")\""
}
has "wrong type" "$LL_HOSTD_FRAME_DROPPED" \
    WHY="$(ll "$LL_WIRE_TYPE" AT=18 FIELD=d.id WANT=integer GOT=str)"
has "unknown tag" "$LL_HOSTD_FRAME_DROPPED" \
    WHY="$(ll "$LL_WIRE_UNKNOWN_TAG" AT=3 DIR=guest-to-host TAG=bogustag)"
has "nested map" "$LL_HOSTD_FRAME_DROPPED" \
    WHY="$(ll "$LL_WIRE_TYPE" AT=3 FIELD=t WANT=str GOT=map)"
has "deep map" "$LL_HOSTD_FRAME_DROPPED" \
    WHY="$(ll "$LL_WIRE_DEPTH" AT=106 FIELD=d)"
has "short map" "$LL_HOSTD_FRAME_DROPPED" WHY="$(ll "$LL_WIRE_LENGTH" AT=0)"
has "bad audit record" "$LL_HOSTD_AUDIT_DROPPED" N=1 \
    WHY="$(ll "$LL_WIRE_TYPE" AT=5 FIELD=exe WANT=str GOT=integer)"
has "deep audit record" "$LL_HOSTD_AUDIT_DROPPED" N=3 \
    WHY="$(ll "$LL_WIRE_DEPTH")"
has "audit garbage" "$LL_HOSTD_FRAME_TOO_BIG" CHAN=stream
has "audit connection lost" "$LL_HOSTD_CONN_ENDED" ROLE=audit \
    WHY="$LL_FRAMING_LOST"
has "exec not execstarted" "$LL_HOSTD_EXEC_NOT_STARTED" TAG=pong
has "exec unknown tag" "$LL_HOSTD_EXEC_DROPPED" \
    WHY="$(ll "$LL_WIRE_UNKNOWN_TAG" TAG=bogustag)"
has "exec connection dropped (not execstarted)" "$LL_HOSTD_CONN_ENDED" \
    ROLE=exec WHY="$LL_HOSTD_EXEC_LOST_NOT_STARTED"
has "exec connection dropped (undecodable)" "$LL_HOSTD_CONN_ENDED" \
    ROLE=exec WHY="$LL_HOSTD_EXEC_LOST_UNDECODABLE"
has "exec connection dropped (garbage)" "$LL_HOSTD_CONN_ENDED" \
    ROLE=exec WHY="$LL_FRAMING_LOST"
has "control oversize" "$LL_HOSTD_FRAME_TOO_BIG" CHAN=control \
    BYTES=2147483647
has "control framing lost" "$LL_HOSTD_CONN_ENDED" ROLE=control \
    WHY="$LL_FRAMING_LOST"
# A truncated frame then EOF: the control child says the frame was cut
# short; the reconnect may replace it first, so no "guest disconnected"
# line is certain.
has "truncated then closed" "$LL_HOSTD_CONN_ENDED" ROLE=control \
    WHY="$(ll "$LL_FRAME_CUT_SHORT" DECLARED=100 GOT=1)"
# The good records around the garbage were written, nothing else.
[ "$(cut -c1-60 "$D/audit.jsonl" | grep -o 'good[0-9]' | tr '\n' ' ')" = \
    "good1 good2 " ] || fail "audit.jsonl: $(cat "$D/audit.jsonl")"
n=$(log_count "$log" "$LL_HOSTD_CONN_ENDED" ROLE=control WHY="$LL_FRAMING_LOST")
[ "$n" = 2 ] || fail "$n control connections lost to framing, expected 2"
exit 0
