# exec with upstream peers, which announce nothing (issue 15, capsem-
# protocol(7) "execio"):
#  1. our agent with a host that announces nothing (capsem-testhost -C) or
#     only shellexited: no agentcaps, and an exec runs as before, stdin
#     /dev/null, stdout and stderr mixed raw on the exec connection; a host
#     announcing agentcaps hears "execio" from it;
#  2. capsem-hostd with a guest that announces nothing (capsem-testguest):
#     a plain exec goes out as the upstream exec, never execio, and each
#     new option fails at once with a clear message and status 255 (-e,
#     --cwd, -tt, --timeout, piped stdin), the guest seeing nothing of it.
. "$CAPSEM_TOP/regress/lib.sh"
. "$CAPSEM_TOP/regress/hostlib.sh"

command -v capsem-testguest >/dev/null 2>&1 || fail "no capsem-testguest"

# 1. Our agent, older hosts.
for hc in -C "-A shellexited"; do
	fresh_dir "host${hc#-}"
	cat >script <<'S'
wait-boot
send {"t":"exec","d":{"id":1,"command":"echo out; echo err >&2; read x; echo \"[$x]\""}}
expect-exec 1
expect-json {"t":"execdone","d":{"id":1,"exit_code":0}}
term exit\n
expect-term-eof
exit
S
	start_host script $hc
	start_agent
	host_ok 30
	kill "$AGENTPID" 2>/dev/null
	wait_for "$AGENTPID" 10
	AGENTPID=
	! grep -q '"t":"agentcaps"' events.jsonl ||
	    fail "$hc: agentcaps sent to an older host"
	[ "$(sort exec-1.out | tr '\n' ' ')" = "[] err out " ] ||
	    fail "$hc: the exec's raw output was '$(cat exec-1.out)'"
done
fresh_dir caps
cat >script <<'S'
wait-boot
expect-json "execio"
term exit\n
expect-json {"t":"shellexited"
exit
S
start_host script -A shellexited,agentcaps
start_agent
agent_ends 30 0

# 2. capsem-hostd, an older guest.
fresh_dir guest
D=$TESTDIR/tmp/g
start_hostd "$D"
cat >gscript <<S
timeout 30000
expect "t":"exec"
wait-file $TESTDIR/go
send control {"t":"shellexited","d":{"exit_code":0,"signal":null}}
expect {"t":"ackreply","d":{"id":0}}
close terminal
exit
S
capsem-testguest -D "$D" -o "$TESTDIR/guest.jsonl" -s gscript \
    >"$TESTDIR/guest.log" 2>&1 &
GUESTPID=$!
WATCHDOGS="$WATCHDOGS $GUESTPID"
wait_until 10 "the guest to boot" state_is "$D" connected
refused() {	# MESSAGE ARGS...: exec ARGS fails at once saying MESSAGE
	msg=$1
	shift
	capsem-shell exec -S "$D" "$@" >r.out 2>r.err
	rc=$?
	[ "$rc" = 255 ] || fail "exec $*: exit $rc, not 255"
	grep -qF "$msg" r.err || fail "exec $*: said '$(cat r.err)', not \
'$msg'"
}
refused "this guest agent cannot pass -e to exec" -e A=B -- true </dev/null
refused "this guest agent cannot run exec in another directory" \
    --cwd /tmp -- true </dev/null
refused "this guest agent cannot give exec a terminal" -tt -- true \
    </dev/null
refused "this guest agent cannot time exec out" --timeout 3 -- true \
    </dev/null
echo data | refused "this guest agent cannot pass stdin to exec" -- cat
! grep -q '"t":"exec' "$TESTDIR/guest.jsonl" 2>/dev/null ||
    fail "a refused exec reached the guest: $(grep '"t":"exec' guest.jsonl)"
capsem-shell exec -S "$D" -- echo plain </dev/null >p.out 2>p.err &
cpid=$!
sent() {
	grep -q '"t":"exec","d":{"id":[0-9]*,"command":"echo plain"}' \
	    "$TESTDIR/guest.jsonl" 2>/dev/null
}
WU_HINT="cat $TESTDIR/guest.jsonl"
wait_until 10 "the upstream exec at the guest" sent
WU_HINT=
! grep -q "\"t\":\"execio\"" "$TESTDIR/guest.jsonl" ||
    fail "execio sent to a guest that did not announce it"
: >"$TESTDIR/go"
wait_for "$cpid" 10
grep -q "the session ended" p.err ||
    fail "the exec's client said '$(cat p.err)' at the session's end"
wait_for "$GUESTPID" 10
[ "$st" = 0 ] || fail "testguest: $(tail -n 1 guest.log)"
wait_for "$HOSTDPID" 10
HOSTDPID=
no_leftovers
exit 0
