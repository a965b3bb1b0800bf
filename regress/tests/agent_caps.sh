# The agentcaps extension (capsem-protocol(7) "EXTENSIONS"): to a host that
# announces "agentcaps" the agent sends one agentcaps per connection, after
# bootconfig and before bootready, on every reconnect too; to a host that
# announces only "shellexited" (or nothing) it sends none, so an older host
# never sees the new tag.  capsem-hostd announces it and records what the
# agent sent in session.json (agent_caps: null until it arrives, as from an
# upstream agent, which never sends it); one sent after bootready is
# dropped with a log line.
. "$CAPSEM_TOP/regress/lib.sh"
. "$CAPSEM_TOP/regress/hostlib.sh"

# 1. A host announcing agentcaps: one per connection, before bootready.
fresh_dir announce
cat >script <<'S'
wait-boot
expect-json {"t":"agentcaps"
drop
wait-boot
expect-json {"t":"agentcaps"
term exit\n
expect-json {"t":"shellexited"
exit
S
start_host script -A shellexited,agentcaps
start_agent
agent_ends 30 0
n=$(grep -c '"t":"agentcaps"' events.jsonl)
[ "$n" = 2 ] || fail "$n agentcaps frames for two connections, not 2"
grep -E '"t":"(agentcaps|bootready|bootconfig)"' events.jsonl |
    sed 's/.*"t":"\([a-z]*\)".*/\1/' | tr '\n' ' ' >order
[ "$(cat order)" = "bootconfig agentcaps bootready bootconfig agentcaps \
bootready " ] ||
    fail "frames in the order $(cat order)"
caps=$(grep -m 1 '"t":"agentcaps"' events.jsonl |
    sed -n 's/.*"caps":\(\[[^]]*\]\).*/\1/p')
[ -n "$caps" ] || fail "agentcaps without a caps array: \
$(grep -m 1 '"t":"agentcaps"' events.jsonl)"

# 2. Hosts that did not announce it get no agentcaps.
for hc in shellexited ""; do
	fresh_dir "old${hc:+-$hc}"
	cat >script <<'S'
wait-boot
term exit\n
expect-term-eof
exit
S
	if [ -n "$hc" ]; then start_host script -A "$hc"; else start_host script -C; fi
	start_agent
	host_ok 30
	kill "$AGENTPID" 2>/dev/null
	wait_for "$AGENTPID" 10
	AGENTPID=
	! grep -q '"t":"agentcaps"' events.jsonl ||
	    fail "agentcaps sent to a host announcing '${hc:-nothing}'"
done

# 3. capsem-hostd: session.json holds what the agent announced.
caps_of() {	# DIR: session.json's agent_caps, without blanks
	tr -d ' \n' <"$1/session.json" |
	    sed -n 's/.*"agent_caps":\(\[[^]]*\]\|null\).*/\1/p'
}
fresh_dir hostd
start_session "$TESTDIR/s"
got=$(caps_of "$TESTDIR/s")
[ "$got" = "$(printf '%s' "$caps" | tr -d ' ')" ] ||
    fail "session.json agent_caps $got, the agent sends $caps"
grep -q "guest agent supports: " "$TESTDIR/s.hostd.log" ||
    fail "hostd did not log the agent's capabilities"
shutdown_session "$TESTDIR/s"
session_exits 129 "after shutdown (the shell gets SIGHUP)"

# 4. An agent that sends none (testguest, as an upstream one): null; one
# sent after bootready is dropped and changes nothing.
fresh_dir guest
G=$TESTDIR/g
start_hostd "$G"
cat >script <<'S'
wait-file sent-ok
send control {"t":"agentcaps","d":{"caps":["shellexited"]}}
send control {"t":"shellexited","d":{"exit_code":0,"signal":null}}
expect {"t":"ackreply","d":{"id":0}}
S
capsem-testguest -D "$G" -o guest.jsonl -s script >guest.log 2>&1 &
GUESTPID=$!
wait_until 10 "the testguest's boot" state_is "$G" connected
[ "$(caps_of "$G")" = null ] ||
    fail "agent_caps $(caps_of "$G") for an agent that sent none"
: >sent-ok
wait_for "$GUESTPID" 15
[ "$st" = 0 ] || fail "testguest: $(tail -n 1 guest.log)"
wait_for "$HOSTDPID" 10
HOSTDPID=
grep -q "guest sent agentcaps after bootready; dropped" "$G.hostd.log" ||
    fail "no log line for a late agentcaps"
[ "$(caps_of "$G")" = null ] ||
    fail "a late agentcaps was taken: $(caps_of "$G")"
exit 0
