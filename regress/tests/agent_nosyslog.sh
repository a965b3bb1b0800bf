# Without -d and with no syslog socket (issue 13, item 4): the agent's
# sandboxed children log through their parent, never through syslog(3),
# whose reconnect (socket, connect) their seccomp filters refuse.  A
# session with a chatty child (-v: every message logged) runs to its end
# with no child killed: one terminal and one control connection, the exec
# answered, shellexited.  /dev/log is absent here, or hidden in a private
# mount namespace where the machine has one.
. "$CAPSEM_TOP/regress/lib.sh"

cat >script <<'S'
wait-boot
send {"t":"exec","d":{"id":1,"command":"echo hi"}}
expect-exec 1
expect-json {"t":"execdone","d":{"id":1,"exit_code":0}}
send {"t":"ping","d":{"epoch_secs":0}}
expect pong
term exit\n
expect-json {"t":"shellexited"
exit
S
cat >agent.sh <<'S'
[ ! -e /dev/log ] || mount --bind /dev/null /dev/log || exit 99
exec capsem-agent "$@"
S
start_host script
mkdir ws
set -- sh agent.sh -v -t "unix:$TESTDIR/sock" -s "$SHELLCMD" -w "$TESTDIR/ws" \
    -a "$TESTDIR/audit.log" -b "$TESTDIR/bt.jsonl"
if [ -e /dev/log ]; then
	unshare -m "$@" >agent.log 2>&1
else
	"$@" >agent.log 2>&1
fi
[ $? = 0 ] || fail "the agent did not start: $(cat agent.log)"
daemon_pid() {
	pgrep -f "capsem-agent -v -t unix:$TESTDIR/sock" | head -n 1
}
AGENTPID=$(daemon_pid)
host_ok 20
gone() {
	[ -z "$(daemon_pid)" ]
}
wait_until 10 "the agent's exit" gone
AGENTPID=
count_is terminal 1 && count_is control 1 ||
    fail "a child died and the agent reconnected: $(tr '\n' ' ' <counts)"
exit 0
