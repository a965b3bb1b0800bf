# Recordings people can play (issue 14 item 6): a persistent session used
# through a real terminal (tmux) with UTF-8 output and a window resize, then
# ended; afterwards `capsem-shell log -S DIR` writes asciicast v2 (header
# with version 2, the first window size, a timestamp and TERM; the resize
# as an "r" event), `asciinema cat` (Debian's asciinema) replays it to
# exactly the output bytes pty.log recorded, `-i` adds the typed input as
# "i" events, and a pty.log named directly gives the same recording.
. "$CAPSEM_TOP/regress/lib.sh"
. "$CAPSEM_TOP/regress/hostlib.sh"

command -v tmux >/dev/null 2>&1 || { echo "skipped: no tmux"; exit 0; }
command -v asciinema >/dev/null 2>&1 || fail "no asciinema (tools/deps.sh)"

D=$TESTDIR/sess
capsem-shell new -d -S "$D" --shell "$SHELLCMD" -e "$PS1ENV" -e TERM=screen \
    -e "CAPSEM_TESTTAG=$TESTDIR" 2>new.err || fail "new: $(cat new.err)"
wait_until 15 "the session to connect" state_is "$D" connected
tm_run a capsem-shell -S "$D"
WU_HINT="pane_tail a"
wait_until 10 "the prompt" pane_prompt a
type_line a "printf 'caf\\303\\251 \\344\\270\\255 log-%s\\n' \$((6*7))"
wait_until 5 "the output" pane_has a "log-42"
tm resize-window -t "=main:a" -x 90 -y 25 || fail "tmux resize-window"
wait_until 5 "the resize recorded" test -s "$D/pty.winsize"
type_line a 'exit 0'
wait_rc a 10
WU_HINT=
[ "$rc" = 0 ] || fail "the client exited $rc"
wait_until 10 "the session to end" state_is "$D" exited

capsem-shell log -S "$D" >cast 2>log.err || fail "log: $(cat log.err)"
head -n 1 cast | grep -q '^{"version":2,"width":100,"height":30,"timestamp":[0-9]*,"env":{"TERM":"screen"}}$' ||
    fail "header: $(head -n 1 cast)"
grep -q '^\[[0-9.]*,"r","90x25"\]$' cast || fail "no resize event"
grep -q 'café 中 log-42' cast || fail "no UTF-8 output event"
! grep -q '"i"' cast || fail "input events without -i"

# The output bytes pty.log holds, and what asciinema replays.
perl -e '
    open(my $fh, "<", $ARGV[0]) or die "open: $!\n";
    binmode($fh);
    binmode(STDOUT);
    local $/;
    my $d = <$fh>;
    for (my $p = 0; $p + 13 <= length($d); ) {
	my ($dir, $len) = unpack("C x8 V", substr($d, $p, 13));
	print substr($d, $p + 13, $len) if $dir == 0;
	$p += 13 + $len;
    }' "$D/pty.log" >want || fail "pty.log not read"
# asciinema wants a UTF-8 locale (the tests run with LC_ALL=C).
LC_ALL=C.UTF-8 script -qec "asciinema cat $TESTDIR/cast >$TESTDIR/got" /dev/null \
    </dev/null >/dev/null 2>&1 || fail "asciinema cat failed"
cmp -s want got || fail "asciinema cat differs from the output: \
$(cmp want got 2>&1 | head -n 1)"

capsem-shell log -i -S "$D" >cast.i || fail "log -i"
grep -q '^\[[0-9.]*,"i","exit 0' cast.i || fail "no input event with -i"
capsem-shell log "$D/pty.log" >cast.f || fail "log of a pty.log"
cmp -s cast cast.f || fail "the pty.log gives another recording"
capsem-shell log "$TESTDIR/none" 2>none.err && fail "log of nothing: 0"
grep -q "none: No such file" none.err || fail "log of nothing: $(cat none.err)"
no_leftovers
exit 0
