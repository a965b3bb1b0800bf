# exec with its standard streams, as ssh and docker users expect (issue 15,
# capsem-protocol(7) "execio"), on a running session (capsem-hostd and a
# local capsem-agent started here):
#  - stdin reaches the command, with its end (cat, wc -c of 3 MB);
#  - stderr stays stderr, and stays in order with stdout as far as the
#    streams allow;
#  - -e KEY=VALUE reaches the command over the session's environment (which
#    it otherwise gets, never the agent's own), --cwd DIR (relative to the
#    workspace or absolute; a missing one is status 1 and a message);
#  - the exit status, and 128+N for a signal;
#  - a command that never reads stdin, fed more than every window: the
#    client stops reading its stdin (the pipe feeding it stays full), the
#    command ends normally, nothing blocks;
#  - -t without a terminal on stdin is refused (exit 255, a clear message),
#    -tt forces one: the command sees a terminal of the given size.
. "$CAPSEM_TOP/regress/lib.sh"
. "$CAPSEM_TOP/regress/hostlib.sh"

S=$TESTDIR/s
start_session "$S"
X() {	# capsem-shell exec -S $S ...
	capsem-shell exec -S "$S" "$@"
}

# stdin, with its end
out=$(printf 'hello\nworld\n' | X -- cat) || fail "cat: exit $?"
[ "$out" = "hello
world" ] || fail "cat gave '$out'"
head -c 3000000 /dev/urandom >big.in
X -- cat <big.in >big.out || fail "cat of 3 MB: exit $?"
cmp -s big.in big.out || fail "3 MB through cat: $(cmp big.in big.out 2>&1)"
out=$(X -- 'wc -c' </dev/null) || fail "wc </dev/null: exit $?"
[ "$(echo $out)" = 0 ] || fail "wc -c of /dev/null gave '$out'"

# stderr stays stderr, in order
X -- 'echo out; echo err >&2; echo out2' >o.txt 2>e.txt ||
    fail "out/err: exit $?"
[ "$(cat o.txt)" = "out
out2" ] || fail "stdout held '$(cat o.txt)'"
[ "$(cat e.txt)" = err ] || fail "stderr held '$(cat e.txt)'"
X -- 'echo a; sleep 0.2; echo b >&2; sleep 0.2; echo c' >oe.txt 2>&1 ||
    fail "order: exit $?"
[ "$(tr '\n' ' ' <oe.txt)" = "a b c " ] ||
    fail "stdout and stderr out of order: $(tr '\n' ' ' <oe.txt)"

# environment and directory
out=$(X -e FOO=bar -e 'SP=a b' -- 'echo "$FOO|$SP|$CAPSEM_TESTTAG"') ||
    fail "-e: exit $?"
[ "$out" = "bar|a b|$TESTDIR" ] || fail "-e gave '$out'"
out=$(MYSECRET=client-env X -- 'echo "[$MYSECRET]"')
[ "$out" = "[]" ] || fail "the command saw the client's environment: '$out'"
# The agent was started with the test's environment (CAPSEM_TOP...): none
# of it reaches the command.
out=$(X -- 'echo "[${CAPSEM_TOP-}]"')
[ "$out" = "[]" ] || fail "the command saw the agent's environment: '$out'"
mkdir -p "$TESTDIR/ws/sub dir"
out=$(X --cwd "sub dir" -- pwd) || fail "--cwd: exit $?"
[ "$out" = "$TESTDIR/ws/sub dir" ] || fail "--cwd 'sub dir' gave '$out'"
out=$(X --cwd /tmp -- pwd)
[ "$out" = /tmp ] || fail "--cwd /tmp gave '$out'"
X --cwd nowhere -- pwd >cwd.out 2>cwd.err
rc=$?
[ "$rc" = 1 ] || fail "--cwd nowhere: exit $rc, not 1"
grep -q "cd nowhere: No such file or directory" cwd.err ||
    fail "--cwd nowhere said '$(cat cwd.err)'"

# status
X -- 'exit 7' </dev/null
rc=$?
[ "$rc" = 7 ] || fail "exit 7 gave $rc"
X -- 'kill -TERM $$' </dev/null
rc=$?
[ "$rc" = 143 ] || fail "kill -TERM \$\$ gave $rc, not 143"

# a command that never reads stdin, with an endless stdin: it ends, the
# client does not buffer what it cannot send
X -- 'sleep 1; echo done' </dev/zero >never.out 2>never.err &
cpid=$!
wait_for "$cpid" 20
[ "$st" = 0 ] || fail "a command not reading /dev/zero: exit $st: \
$(cat never.err)"
[ "$(cat never.out)" = done ] || fail "it printed '$(cat never.out)'"

# -t needs a terminal; -tt forces one
X -t -- true </dev/null >t.out 2>t.err
rc=$?
[ "$rc" = 255 ] || fail "-t without a terminal: exit $rc, not 255"
grep -q "stdin is not a terminal" t.err || fail "-t said '$(cat t.err)'"
out=$(X -tt -- 'test -t 0 && test -t 1 && stty size' </dev/null | tr -d '\r')
[ "$out" = "24 80" ] || fail "-tt: terminal check gave '$out'"

shutdown_session "$S"
no_leftovers
exit 0
