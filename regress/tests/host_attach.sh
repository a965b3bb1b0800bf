# Several clients on one session (capsem-hostd and a local agent started
# here), each in its own tmux window: two attached clients both see the
# output of a command typed in one; a third attaching late is drawn the
# screen with what came before; a client of another uid is refused by hostd (as root
# only: the socket is made reachable so that the peer's credentials are
# what refuses it); `~.` after a newline detaches one client with the
# documented message and exit 255 while the session goes on; `capsem-shell
# shutdown` ends the session: every attached client exits 129 (the shell's
# SIGHUP status), capsem-hostd too, and session.json says exited.
. "$CAPSEM_TOP/regress/lib.sh"
. "$CAPSEM_TOP/regress/hostlib.sh"

command -v tmux >/dev/null 2>&1 || { echo "skipped: no tmux"; exit 0; }

# Outside $TESTDIR so that another uid can reach it when we are root.
S=$(mktemp -d /tmp/capsem-attach.XXXXXX) || fail "mktemp"
EXTRA_RM=$S
start_session "$S"

tm_run a capsem-shell -S "$S"
tm_run b capsem-shell -S "$S"
for w in a b; do
	WU_HINT="pane_tail $w"
	wait_until 10 "the prompt drawn in window $w" pane_prompt "$w"
done
type_line a 'echo $((6*7))-shared'
for w in a b; do
	WU_HINT="pane_tail $w"
	wait_until 5 "the output of a's command in window $w" \
	    pane_line "$w" 42-shared
done

tm_run c capsem-shell -S "$S"
WU_HINT="pane_tail c"
wait_until 10 "earlier output on the late client's screen" \
    pane_line c 42-shared
type_line c 'echo from-c-$((2+2))'
for w in a b c; do
	WU_HINT="pane_tail $w"
	wait_until 5 "the output of c's command in window $w" \
	    pane_line "$w" from-c-4
done
WU_HINT="cat $S/session.json"
wait_until 5 "session.json to count 3 clients" \
    eval '[ "$(json_field "$S/session.json" clients)" = 3 ]'
WU_HINT=

if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1; then
	chmod 711 "$S" && chmod 666 "$S/attach.sock" || fail "chmod"
	setpriv --reuid=65534 --regid=65534 --clear-groups \
	    "$(command -v capsem-shell)" -S "$S" </dev/null >nobody.out \
	    2>nobody.err
	rc=$?
	chmod 700 "$S" && chmod 600 "$S/attach.sock"
	[ "$rc" = 255 ] || fail "another uid: exit $rc, not 255: \
$(head -c 200 nobody.err)"
	grep -qi -e owner -e refused -e 'not allowed' nobody.err ||
	    fail "another uid: no refusal message: $(head -c 200 nobody.err)"
	! grep -q 'Permission denied' nobody.err ||
	    fail "another uid: the connect failed, hostd did not refuse: \
$(head -c 200 nobody.err)"
	[ ! -s nobody.out ] || fail "another uid got output: \
$(head -c 100 nobody.out)"
	printf 'another uid refused with: %s\n' "$(head -n 1 nobody.err)"
else
	printf 'note: not root (or no setpriv): the other-uid case is skipped\n'
fi

# Detach b with ~. right after a newline.
keys b Enter
tm send-keys -t "=main:b" -l '~.'
wait_rc b 5
[ "$rc" = 255 ] || fail "~. : capsem-shell exited $rc, not 255"
grep -qF "capsem-shell: disconnected; the session goes on: capsem-shell -S $S" \
    b.err || fail "~. : wrong message: $(head -c 200 b.err)"
same_stty b
type_line a 'echo still-$((1+1))'
WU_HINT="pane_tail a"
wait_until 5 "the session to go on after a detach" pane_line a still-2
WU_HINT=

shutdown_session "$S"
for w in a c; do
	wait_rc "$w" 5
	[ "$rc" = 129 ] || fail "shutdown: client $w exited $rc, not 129"
	pane_clean "$w"
	same_stty "$w"
done
session_exits 129 "after shutdown"
[ "$(json_field "$S/session.json" state)" = exited ] ||
    fail "session.json after shutdown: $(cat "$S/session.json")"
[ "$(json_field "$S/session.json" exit_code)" = 129 ] ||
    fail "session.json exit_code after shutdown: $(cat "$S/session.json")"
no_leftovers
exit 0
