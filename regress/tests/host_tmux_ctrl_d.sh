# Ctrl-D in a temporary local session typed through a real terminal (tmux,
# 100x30): capsem-shell exits 0 within 1 s of the key, the screen shows no
# pong, no U+FFFD and no msgpack marker, the terminal modes are what they
# were before, the session directory is removed and no process of the
# session is left.  While it runs, session.json says connected with one
# client and names a live capsem-hostd.
. "$CAPSEM_TOP/regress/lib.sh"
. "$CAPSEM_TOP/regress/hostlib.sh"

command -v tmux >/dev/null 2>&1 || { echo "skipped: no tmux"; exit 0; }

before=$(temp_dirs)
tm_run a capsem-shell --temp --local --shell "$SHELLCMD" -e "$PS1ENV" \
    -e "CAPSEM_TESTTAG=$TESTDIR"
wait_temp_dir "$before"
WU_HINT="pane_tail a"
wait_until 15 "the prompt" pane_prompt a
type_line a 'echo ready'
wait_until 5 "'ready' on the screen" pane_line a ready
WU_HINT=

# The session while it runs.
sj=$SESSDIR/session.json
[ "$(json_field "$sj" state)" = connected ] ||
    fail "session.json state is not connected: $(cat "$sj")"
hp=$(json_field "$sj" hostd_pid)
kill -0 "$hp" 2>/dev/null || fail "session.json hostd_pid $hp is not alive"
[ "$(json_field "$sj" clients)" = 1 ] ||
    fail "session.json clients is not 1: $(cat "$sj")"
[ -f "$SESSDIR/pty.log" ] || fail "no pty.log in the session directory"

t0=$(now_ms)
keys a C-d
wait_rc a 5
[ "$rc" = 0 ] || fail "capsem-shell exited $rc after Ctrl-D, not 0 \
(stderr: $(head -c 200 a.err | tr '\n' ' '))"
t1=$(cat a.tend)
[ $((t1 - t0)) -le 1000 ] ||
    fail "capsem-shell took $((t1 - t0)) ms to exit after Ctrl-D"
[ ! -s a.err ] || fail "a clean exit printed: $(head -c 200 a.err)"
pane_clean a
same_stty a
wait_until 5 "the session directory $SESSDIR to be removed" \
    test ! -e "$SESSDIR"
[ -z "$(ls -A "$TMPDIR")" ] || fail "left in TMPDIR: $(ls -A "$TMPDIR")"
no_leftovers
exit 0
