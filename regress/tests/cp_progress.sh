# capsem-shell cp on a terminal (tmux) draws a progress line for a copy
# that lasts more than a second (percentage, rate, time left) and ends it
# at 100%; the same copy with stderr not a terminal prints nothing, and
# -q prints nothing on a terminal.
. "$CAPSEM_TOP/regress/lib.sh"
. "$CAPSEM_TOP/regress/hostlib.sh"

S=$TESTDIR/s
WS=$TESTDIR/ws
start_session "$S"
head -c $((8 * 1024 * 1024)) /dev/urandom >src.bin

# 8 MiB at 24 Mbit/s: about 3 s.
tm_run bar sh -c "capsem-shell cp -S $(shq "$S") -l 24000 src.bin :p.bin \
2>/dev/tty"
wait_until 20 "a progress line with ETA" eval 'pane bar | grep -q \
"src.bin.*[0-9]%.*MiB/s.*ETA"'
wait_rc bar 30
[ "$(rc_of bar)" = 0 ] || fail "cp on a terminal: exit $(rc_of bar): \
$(pane_tail bar)"
pane bar | grep -q "src.bin.* 100%.*MiB/s" ||
    fail "no final 100% line: $(pane_tail bar)"
cmp -s src.bin "$WS/p.bin" || fail "cp on a terminal: content differs"

tm_run quiet sh -c "capsem-shell cp -q -S $(shq "$S") -l 24000 src.bin \
:q.bin 2>/dev/tty; echo done-q"
wait_rc quiet 30
pane quiet | grep -q "%" && fail "cp -q drew progress: $(pane_tail quiet)"

capsem-shell cp -S "$S" -l 24000 src.bin :n.bin 2>notty.err ||
    fail "cp without a terminal: $(cat notty.err)"
[ -s notty.err ] && fail "cp printed to a stderr that is no terminal: \
$(head -c 200 notty.err)"

shutdown_session "$S"
session_exits 129 "after shutdown"
