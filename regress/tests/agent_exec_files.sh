# exec and file operations through the real agent: every ackable request is
# acked; exec output (stdout and stderr merged, stdin /dev/null) arrives on
# its own connection, closed before execdone, with the exit status or
# 128+signal; a replayed exec id gets the cached execdone and no second run;
# unacknowledged responses are replayed after a reconnect; file operations
# stay inside the workspace (`..`, absolute paths outside, symlinked
# components and final symlinks are all refused with an error).
. "$CAPSEM_TOP/regress/lib.sh"

WS=$TESTDIR/ws
mkdir -p "$WS"
ln -s /etc "$WS/link"
echo secret >"$TESTDIR/outside"
ln -s "$TESTDIR/outside" "$WS/final"

cat >script <<S
wait-boot
send {"t":"exec","d":{"id":1,"command":"echo out; echo err >&2; cat; exit 3"}}
expect-json {"t":"ack","d":{"id":1}}
expect-exec 1
expect-json {"t":"execdone","d":{"id":1,"exit_code":3}}
send {"t":"exec","d":{"id":1,"command":"echo ran-twice > $TESTDIR/twice"}}
expect-json {"t":"ack","d":{"id":1}}
expect-json {"t":"execdone","d":{"id":1,"exit_code":3}}
send {"t":"exec","d":{"id":2,"command":"kill -TERM \$\$"}}
expect-json {"t":"execdone","d":{"id":2,"exit_code":143}}
send {"t":"filewrite","d":{"id":10,"path":"$WS/a/b/c.txt","data":[104,105,10],"mode":384}}
expect-json {"t":"ack","d":{"id":10}}
expect-json {"t":"fileopdone","d":{"id":10}}
send {"t":"fileread","d":{"id":11,"path":"a/b/c.txt"}}
expect-json "data":[104,105,10]
send {"t":"filedelete","d":{"id":12,"path":"$WS/a/b/c.txt"}}
expect-json {"t":"fileopdone","d":{"id":12}}
send {"t":"filedelete","d":{"id":13,"path":"$WS/missing"}}
expect-json {"t":"fileopdone","d":{"id":13}}
send {"t":"filewrite","d":{"id":14,"path":"$WS/../escape.txt","data":[],"mode":420}}
expect-json {"t":"error","d":{"id":14,"message":"FileWrite\x20rejected:
send {"t":"fileread","d":{"id":15,"path":"$WS/link/passwd"}}
expect-json {"t":"error","d":{"id":15,"message":"FileRead\x20rejected:
send {"t":"filewrite","d":{"id":16,"path":"$WS/link/newdir/x","data":[],"mode":420}}
expect-json {"t":"error","d":{"id":16,"message":"FileWrite\x20rejected:
send {"t":"filewrite","d":{"id":17,"path":"/etc/capsem-should-not-exist","data":[],"mode":420}}
expect-json {"t":"error","d":{"id":17,"message":"FileWrite\x20rejected:
send {"t":"fileread","d":{"id":18,"path":"$WS/final"}}
expect-json {"t":"error","d":{"id":18,"message":"FileRead\x20rejected:
send {"t":"filedelete","d":{"id":19,"path":"a/../../outside"}}
expect-json {"t":"error","d":{"id":19,"message":"FileDelete\x20rejected:
noack on
send {"t":"exec","d":{"id":3,"command":"echo replayed"}}
expect-json {"t":"execdone","d":{"id":3,"exit_code":0}}
expect-exec 3
drop
noack off
wait-boot
expect-json {"t":"execdone","d":{"id":3,"exit_code":0}}
term exit\n
expect-json {"t":"shellexited" 2000
exit
S
start_host script
start_agent
agent_ends 60 0
[ "$(cat exec-1.out)" = "$(printf 'out\nerr')" ] ||
    fail "exec 1 output: '$(cat exec-1.out)'"
[ ! -e "$TESTDIR/twice" ] || fail "a replayed exec id ran twice"
[ ! -e "$TESTDIR/escape.txt" ] || fail "a write escaped the workspace"
[ ! -e /etc/capsem-should-not-exist ] || fail "a write reached /etc"
[ "$(cat outside)" = secret ] || fail "the symlink target was touched"
n=$(grep '"ev":"accept","chan":"exec"' events.jsonl | wc -l)
[ "$n" = 3 ] || fail "expected 3 exec connections, saw $n"
# Each exec connection closed before its execdone.  Both sockets may be
# readable in one poll round of the host, so compare times, not lines.
ms() { sed -n 's/^{"ms":\([0-9]*\),.*/\1/p'; }
for id in 1 2 3; do
	c=$(grep '"ev":"close","chan":"exec"' events.jsonl |
	    grep "\"id\":$id," | head -n 1 | ms)
	d=$(grep -F "{\"t\":\"execdone\",\"d\":{\"id\":$id," events.jsonl |
	    head -n 1 | ms)
	[ -n "$c" ] && [ -n "$d" ] || fail "exec $id: events missing"
	[ "$c" -le "$d" ] || fail "exec $id: execdone before its output ended"
done
no_frames_on_terminal
exit 0
