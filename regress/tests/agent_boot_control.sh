# Boot and control through the real agent: boot environment applied with
# validation (a blocked or malformed variable is skipped, the rest set),
# boottiming sent on the first boot only, resize reaches the shell's tty,
# ping is answered with pong.  Bad input from the host: an undecodable
# frame and an unknown tag cost only that frame; an oversize length costs
# the connection, which comes back with the shell intact.
. "$CAPSEM_TOP/regress/lib.sh"

printf '%s\n' '{"name":"kernel","duration_ms":12}' \
    '{"name":"agent_start","duration_ms":300}' >bt.jsonl
cat >script <<'S'
wait-boot
expect-json {"t":"boottiming","d":{"stages":[{"name":"kernel","duration_ms":12}
term echo "tz=$TZ pre=${LD_PRELOAD-unset} bf=${BASH_FUNC_x-unset} ok=$CAPSEM_OK"\n
expect-term tz=Europe/Paris\x20pre=unset\x20bf=unset\x20ok=yes
send {"t":"resize","d":{"cols":132,"rows":43}}
wait-file resized
term stty size\n
expect-term 43\x20132
send {"t":"ping","d":{"epoch_secs":0}}
expect pong
raw-control 0000000382a174
raw-control 0000000c81a174a8626f677573746167
send {"t":"ping","d":{"epoch_secs":0}}
expect pong
term echo still-$((2+3))\n
expect-term still-5
raw-control 7fffffff00
wait-boot
term echo back-$((3+4))\n
expect-term back-7
term exit\n
expect-json {"t":"shellexited" 2000
exit
S
start_host script -e TZ=Europe/Paris -e LD_PRELOAD=/tmp/evil.so \
    -e BASH_FUNC_x%%='() { :; }' -e 'BAD=KEY=1' -e CAPSEM_OK=yes
start_agent
# The resize travels on control, the keys on the terminal: the keys wait
# until the agent has applied the size (its log says so).
resized() {
	grep -q 'resized to 132x43' agent.log 2>/dev/null
}
wait_until 30 "the resize applied (agent.log)" resized
: >resized
agent_ends 60 0
n=$(grep -c '"t":"boottiming"' events.jsonl)
[ "$n" = 1 ] || fail "boottiming sent $n times, expected once"
# The bad frames cost no connection; the oversize length cost one.
count_is bootready 2 || fail "expected 2 boots: $(tr '\n' ' ' <counts)"
count_is control 2 || fail "expected 2 control connections: $(tr '\n' ' ' <counts)"
# Each refusal is logged with its reason.
log_has agent.log "$LL_AGENT_SETENV_REJECTED" KEY=LD_PRELOAD ||
    fail "LD_PRELOAD not rejected"
log_has agent.log "$LL_AGENT_SETENV_REJECTED" KEY=BASH_FUNC_x%% ||
    fail "BASH_FUNC_x%% not rejected"
log_has agent.log "$LL_AGENT_FRAME_DROPPED" \
    WHY="$(ll "$LL_WIRE_LENGTH" AT=0)" || fail "short map frame not logged"
log_has agent.log "$LL_AGENT_FRAME_DROPPED" \
    WHY="$(ll "$LL_WIRE_UNKNOWN_TAG" TAG=bogustag)" ||
    fail "unknown tag frame not logged"
log_has agent.log "$LL_AGENT_CONTROL_LOST" WHY="$LL_FRAMING_LOST" ||
    fail "oversize length not logged"
no_frames_on_terminal
exit 0
