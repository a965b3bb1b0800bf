# The termmodes extension (capsem-protocol(7) "termmodes", issue 14
# requirement 2): the session's erase and other control characters are
# those of the client's terminal.
#  1. A scripted host announcing "termmodes": the frames go bootconfig,
#     agentcaps (naming termmodes), termmodes, bootready; the shell starts
#     only after the modes (stty -a in it shows erase = ^H, kill = ^X);
#     on a reconnect a second termmodes is ignored and the shell keeps its
#     terminal.
#  2. Hosts that do not announce it (an upstream host: only shellexited,
#     or nothing): no hold, default modes, and the agent sends no agentcaps
#     naming termmodes to a host that did not announce agentcaps.
#  3. A host that announces it but sends nothing, or a bad frame (an
#     opcode not in the table, a value out of range): the frame costs
#     itself with a log line, the shell starts with the defaults after the
#     500 ms bound.
#  4. capsem-hostd --term-modes: the modes only after an agentcaps naming
#     termmodes, once; nothing to other guests or without the option.
#  5. End to end in tmux: `stty erase ^H` in the pane, then capsem-shell:
#     inside, stty -a shows erase = ^H, and ab^Hc typed into `cat > f`
#     writes "ac".  capsem-hostd refuses a bad --term-modes.
. "$CAPSEM_TOP/regress/lib.sh"
. "$CAPSEM_TOP/regress/hostlib.sh"

erase_of() {	# FILE: the erase character stty printed in the terminal
	tr -d '\r' <"$1" | sed -n 's/.*[; ]erase = \([^;]*\);.*/erase = \1/p' |
	    tail -n 1
}
is_cat() {	# a cat of this test runs (in the session)
	for p in $(pgrep -x cat); do
		tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null |
		    grep -qxF "CAPSEM_TESTTAG=$TESTDIR" && return 0
	done
	return 1
}
order() {	# the tags of bootconfig/agentcaps/termmodes/bootready, in order
	grep -E '"t":"(agentcaps|bootready|bootconfig|termmodes)"' \
	    events.jsonl | sed 's/.*"t":"\([a-z]*\)".*/\1/' | tr '\n' ' '
}

# 1. The modes arrive, in order, before the shell; a reconnect keeps them.
# modes: VERASE=8 (^H), VKILL=24 (^X), TTY_OP_END.
fresh_dir announce
cat >script <<'S'
expect-json "termmodes"
send {"t":"termmodes","d":{"modes":[3,0,0,0,8,4,0,0,0,24,0]}}
wait-boot
term stty\x20-a\n
expect-term kill\x20=\x20^X
drop
wait-boot
send {"t":"termmodes","d":{"modes":[3,0,0,0,21,0]}}
term stty\x20-a;\x20exit\n
expect-json {"t":"shellexited"
exit
S
start_host script -A shellexited,agentcaps,termmodes
start_agent
agent_ends 30 0
[ "$(order)" = "bootconfig agentcaps termmodes bootready bootconfig \
agentcaps bootready termmodes " ] || fail "frames in the order $(order)"
grep -m 1 '"t":"agentcaps"' events.jsonl | grep -q '"termmodes"' ||
    fail "agentcaps does not name termmodes"
[ "$(grep -c 'erase = \^H' term.out)" = 2 ] ||
    fail "erase is not ^H before and after the reconnect: $(erase_of \
    term.out)"
file_has agent.log "PTY: the client's terminal modes (2, erase 8)" ||
    fail "the agent did not log the modes it applied"
file_has agent.log "the shell runs already and keeps its terminal" ||
    fail "the reconnect's termmodes not logged as ignored"
! file_has agent.log "none from the host within" ||
    fail "the agent timed out although the modes came"

# 2. Hosts that did not announce termmodes: no hold, default modes.
for hc in shellexited,agentcaps shellexited; do
	fresh_dir "old-$hc"
	cat >script <<'S'
wait-boot
term stty\x20-a;\x20exit\n
expect-json {"t":"shellexited"
exit
S
	start_host script -A "$hc"
	start_agent
	agent_ends 30 0
	[ "$(erase_of term.out)" = "erase = ^?" ] ||
	    fail "$hc: erase $(erase_of term.out), not the default ^?"
	! grep -q '"t":"termmodes"' events.jsonl ||
	    fail "$hc: termmodes in the events"
	! file_has agent.log "holding the shell" ||
	    fail "$hc: the agent waited for termmodes"
	case $hc in
	*agentcaps*) ;;
	*)	! grep -q '"t":"agentcaps"' events.jsonl ||
		    fail "$hc: agentcaps sent to a host that did not ask" ;;
	esac
done

# 3. Announced but missing, or bad: the defaults after the bound.
for c in none opcode value cut; do
	fresh_dir "bad-$c"
	case $c in
	none)	tm_frame= ;;
	opcode)	tm_frame='[3,0,0,0,8,128,0,0,150,0,0]'	# a speed
		why="unknown opcode 128 at byte 5" ;;
	value)	tm_frame='[3,0,0,1,0,0]'
		why="VERASE 256 out of range (0 to 255) at byte 0" ;;
	cut)	tm_frame='[3,0,0,0,8]'
		why="no TTY_OP_END" ;;
	esac
	{
		echo 'expect-json "termmodes"'
		[ -n "$tm_frame" ] &&
		    echo "send {\"t\":\"termmodes\",\"d\":{\"modes\":$tm_frame}}"
		echo 'wait-boot'
		printf '%s\n' 'term stty\x20-a;\x20exit\n'
		echo 'expect-json {"t":"shellexited"'
		echo 'exit'
	} >script
	start_host script -A shellexited,agentcaps,termmodes
	start_agent
	agent_ends 30 0
	[ "$(erase_of term.out)" = "erase = ^?" ] ||
	    fail "$c: erase $(erase_of term.out), not the default ^?"
	file_has agent.log "none from the host within 500 ms" ||
	    fail "$c: the agent did not log the missing modes"
	if [ -n "$tm_frame" ]; then
		file_has agent.log "control: termmodes dropped: $why" ||
		    fail "$c: no log line '$why': $(grep termmodes agent.log |
		    head -n 2)"
	fi
	# The hold is bounded: bootready within 500 ms (+ slack) of the
	# agentcaps.
	a=$(grep -m 1 '"t":"agentcaps"' events.jsonl |
	    sed 's/.*"ms":\([0-9]*\).*/\1/')
	b=$(grep -m 1 '"t":"bootready"' events.jsonl |
	    sed 's/.*"ms":\([0-9]*\).*/\1/')
	[ $((b - a)) -ge 450 ] && [ $((b - a)) -lt 3000 ] ||
	    fail "$c: bootready $((b - a)) ms after agentcaps"
done

# 4. capsem-hostd --term-modes against a scripted guest: bootconfig names
# termmodes, and the modes go out once, right after an agentcaps naming
# termmodes; to a guest whose agentcaps does not name it, and to one that
# sends no agentcaps (an upstream agent), nothing; without --term-modes the
# bootconfig's caps are the usual two.
# hguest NAME AGENTCAPS|- [hostd args]: one boot (AGENTCAPS: the names
# the guest announces, comma-separated; -: no agentcaps), then shellexited.
hguest() {
	hg=$1 hc=$2
	shift 2
	fresh_dir "hostd-$hg"
	D=$TESTDIR/s
	start_hostd "$D" -T "$@"
	{
		echo 'expect {"t":"bootconfigdone"'
		echo "wait-file $TESTDIR/go"
		echo 'send control {"t":"shellexited","d":{"exit_code":0,"signal":null}}'
		echo 'expect {"t":"ackreply","d":{"id":0}}'
		echo 'close terminal'
		echo 'exit'
	} >script
	if [ "$hc" = - ]; then set --; else set -- -a "$hc"; fi
	capsem-testguest "$@" -D "$D" -o "$TESTDIR/guest.jsonl" -s script \
	    >"$TESTDIR/guest.log" 2>&1 &
	GUESTPID=$!
	WATCHDOGS="$WATCHDOGS $GUESTPID"
	WU_HINT="tail -n 2 $TESTDIR/s.hostd.log"
	wait_until 10 "the guest agent's capabilities logged" \
	    file_has "$TESTDIR/s.hostd.log" "${HGWAIT:-guest booted}"
	WU_HINT=
	# The go-ahead after hostd handled agentcaps: a termmodes is queued.
	: >"$TESTDIR/go"
	wait_for "$GUESTPID" 20
	[ "$st" = 0 ] ||
	    fail "$hg: testguest failed: $(tail -n 1 "$TESTDIR/guest.log")"
	wait_for "$HOSTDPID" 15
	HOSTDPID=
}
caps3='"caps":["shellexited","agentcaps","execio","copy","copytimes",'
caps3=$caps3'"termmodes"]'
caps2='"caps":["shellexited","agentcaps","execio","copy","copytimes"]}'
HGWAIT="guest agent supports: termmodes" hguest modes termmodes \
    --term-modes VERASE=8,VKILL=24
grep -qF "$caps3" guest.jsonl || fail "bootconfig: $(head -n 1 guest.jsonl)"
[ "$(grep -c '"t":"termmodes"' guest.jsonl)" = 1 ] ||
    fail "not one termmodes: $(grep -c '"t":"termmodes"' guest.jsonl)"
grep -q '{"t":"termmodes","d":{"modes":\[3,0,0,0,8,4,0,0,0,24,0\]}}' \
    guest.jsonl || fail "termmodes: $(grep termmodes guest.jsonl)"
HGWAIT="guest agent supports: none" hguest none '' \
    --term-modes VERASE=8
grep -qF "$caps3" guest.jsonl || fail "bootconfig: $(head -n 1 guest.jsonl)"
! grep -q '"t":"termmodes"' guest.jsonl ||
    fail "termmodes sent to a guest that did not announce it"
file_has s.hostd.log "guest agent does not take termmodes" ||
    fail "hostd did not log the guest without termmodes"
hguest upstream - --term-modes VERASE=8
! grep -q '"t":"termmodes"' guest.jsonl ||
    fail "termmodes sent to a guest without agentcaps"
hguest nomodes termmodes
grep -qF "$caps2" guest.jsonl || fail "bootconfig without --term-modes: \
$(head -n 1 guest.jsonl)"
! grep -q '"t":"termmodes"' guest.jsonl ||
    fail "termmodes sent by a hostd without --term-modes"

# 5. capsem-shell in a real terminal whose erase is ^H (in the top
# directory: its programs carry the tag $TESTTOP that cleanup looks for).
TESTDIR=$TESTTOP
cd "$TESTDIR" || fail "cd $TESTDIR"
capsem-hostd -S "$TESTDIR/bad" --term-modes VERASE=256 >bad.out 2>&1 &&
    fail "capsem-hostd took --term-modes VERASE=256"
grep -q "term-modes: VERASE 256 out of range" bad.out ||
    fail "capsem-hostd: $(cat bad.out)"
capsem-hostd -S "$TESTDIR/bad" --term-modes ISPEED=9600 >bad.out 2>&1 &&
    fail "capsem-hostd took --term-modes ISPEED=9600"
grep -q "term-modes: ISPEED: unknown mode" bad.out ||
    fail "capsem-hostd: $(cat bad.out)"
command -v tmux >/dev/null 2>&1 || { echo "skipped: no tmux"; exit 0; }
before=$(temp_dirs)
tm_run a sh -c 'stty erase "^H" kill "^X" &&
    exec capsem-shell --shell "$1" -e "$2" -e "CAPSEM_TESTTAG=$3"' \
    sh "$SHELLCMD" "$PS1ENV" "$TESTDIR"
wait_temp_dir "$before"
WU_HINT="pane_tail a"
wait_until 15 "window a: the prompt" pane_prompt a
file_has "$SESSDIR/hostd.log" "sent the client's terminal modes" ||
    fail "hostd did not send the modes: $(grep -i mode "$SESSDIR/hostd.log")"
type_line a 'stty -a >inside.stty'
wait_until 5 "stty inside" file_has inside.stty 'erase = ^H'
grep -q 'kill = ^X' inside.stty || fail "kill inside: $(grep -o \
    'kill = [^;]*' inside.stty)"
grep -q -- ' iutf8' inside.stty || ! grep -q -- ' iutf8' a.stty0 ||
    fail "iutf8 in the pane but not inside"
type_line a 'cat >f'
wait_until 5 "cat to run" is_cat
keys a -l ab
keys a C-h
keys a -l c
keys a Enter C-d
wait_until 5 "the prompt after cat" pane_prompt a
[ "$(cat f)" = ac ] || fail "ab^Hc wrote '$(od -c f | head -n 1)', not ac"
keys a C-d
wait_rc a 10
[ "$rc" = 0 ] || fail "exit $rc"
WU_HINT=
no_leftovers
exit 0
