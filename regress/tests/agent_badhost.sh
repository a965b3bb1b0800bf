#!/bin/sh
# The real agent against an adversarial host (capsem-testhost): bad input
# that agent_boot_control.sh does not already send (it has a short map, an
# unknown tag and an oversize length).  Here: wrong field types, deeply
# nested maps (as the tag and under an unknown key of d), a truncated
# frame cut off by a dropped connection, 1 MiB of random bytes on control
# and 1 MiB on the terminal.  After each one the agent logs a clear error
# and the session goes on: a later command on the terminal is answered and
# a shell variable set at the start is still there; only the dropped
# connection and the random bytes on control cost a reconnect; Ctrl-D then
# ends it with shellexited.
. "$CAPSEM_TOP/regress/lib.sh"

hexs() {	# STRING: its msgpack str (< 32 bytes), hex
	printf '%02x' $((0xa0 + ${#1}))
	printf '%s' "$1" | od -An -tx1 | tr -d ' \n'
}
frame() {	# HEX: with its 4-byte length
	printf '%08x%s' $((${#1} / 2)) "$1"
}
T=$(hexs t)
D=$(hexs d)
# {"t":"resize","d":{"cols":"80","rows":24}}: cols is a string.
WRONGTYPE=$(frame "82${T}$(hexs resize)${D}82$(hexs cols)$(hexs 80)$(hexs \
rows)18")
# {"t":"exec","d":{"id":-1,"command":"true"}}: a negative u64.
NEGID=$(frame "82${T}$(hexs exec)${D}82$(hexs id)ff$(hexs command)$(hexs \
true)")
# {"t":{"t":{... 10000 deep ...nil}}}
NESTED=$(frame "$(awk 'BEGIN { for (i = 0; i < 10000; i++)
    printf "81a174"; print "c0" }')")
# {"t":"ping","d":{"epoch_secs":0,"x":{"t":{... 10000 deep}}}}
DEEP=$(frame "82${T}$(hexs ping)${D}82$(hexs epoch_secs)00$(hexs x)$(awk \
    'BEGIN { for (i = 0; i < 10000; i++) printf "81a174"; print "c0" }')")

cat >script <<S
wait-boot
term X=kept-\$((6*7))\n
term echo \$X\n
expect-term kept-42
raw-control $WRONGTYPE
raw-control $NEGID
raw-control $NESTED
raw-control $DEEP
send {"t":"ping","d":{"epoch_secs":0}}
expect pong
term echo alive1-\$X\n
expect-term alive1-kept-42
# A frame cut short, then the connections drop: the agent reconnects.
raw-control 0000006482a174a4
drop
wait-boot
term echo alive2-\$X\n
expect-term alive2-kept-42
random-control 1048576
wait-boot
send {"t":"ping","d":{"epoch_secs":0}}
expect pong
term echo alive3-\$X\n
expect-term alive3-kept-42
# 1 MiB of random bytes typed in: read by a raw-mode head, so that bash
# never interprets them; all of them must arrive.
term stty raw -echo -iexten; echo raw-\$((1+1)); head -c \$((1024*1024)) | wc -c; stty sane\n
expect-term raw-2
random-term 1048576
expect-term 1048576 20000
term echo alive4-\$X\n
expect-term alive4-kept-42
# Let bash settle back into readline after the raw-mode excursion: a ^D
# sent before that was seen lost (see the report).
quiet 500
term \x04
expect-json {"t":"shellexited","d":{"exit_code":0 5000
exit
S
start_host script
start_agent
agent_ends 90 0
# Only the drop and the random bytes cost a connection.
count_is bootready 3 || fail "expected 3 boots: $(tr '\n' ' ' <counts)"
count_is control 3 || fail "expected 3 control connections: $(tr '\n' ' ' \
    <counts)"
# Each bad frame is logged with its reason.
dropped() {	# WHAT REASON
	log_has "$TESTDIR/agent.log" "$LL_AGENT_FRAME_DROPPED" WHY="$2" ||
	    fail "no agent log line for $1: \"$(ll "$LL_AGENT_FRAME_DROPPED" \
	    WHY="$2")\""
}
dropped "wrong type" "$(ll "$LL_WIRE_TYPE" FIELD=d.cols WANT=integer GOT=str)"
dropped "negative id" "$(ll "$LL_WIRE_RANGE" FIELD=d.id VALUE=-1 TYPE=u64)"
dropped "nested tag" "$(ll "$LL_WIRE_TYPE" FIELD=t WANT=str GOT=map)"
dropped "deep map" "$(ll "$LL_WIRE_DEPTH" FIELD=d.x)"
log_has "$TESTDIR/agent.log" "$LL_AGENT_CONTROL_LOST" WHY="$LL_FRAMING_LOST" ||
    fail "no agent log line for random bytes: \"$LL_FRAMING_LOST\""
no_frames_on_terminal
exit 0
