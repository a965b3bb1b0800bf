# The session's records: a temporary local session with --audit-log FILE
# (the agent tails FILE from its end): auditd lines appended to FILE become
# the records of audit.jsonl in the session directory, exactly the golden
# ones for the vectors' audit-basic.log (after probe events that show the
# audit stream is up); pty.log is a clean sequence of records (direction,
# u64 LE microseconds, u32 LE length, data) whose input holds the typed
# command and whose output holds its result.
. "$CAPSEM_TOP/regress/lib.sh"
. "$CAPSEM_TOP/regress/hostlib.sh"

command -v tmux >/dev/null 2>&1 || { echo "skipped: no tmux"; exit 0; }
V=${CAPSEM_VECTORS:?}


: >audit.log
t_start=$(date +%s%3N)	# wall clock, as in pty.log
before=$(temp_dirs)
tm_run a capsem-shell --temp --local --shell "$SHELLCMD" -e "$PS1ENV" \
    -e "CAPSEM_TESTTAG=$TESTDIR" --audit-log "$TESTDIR/audit.log"
wait_temp_dir "$before"
WU_HINT="pane_tail a"
wait_until 15 "the prompt" pane_prompt a
WU_HINT=
AJ=$SESSDIR/audit.jsonl

# Probe until one record arrives (a new probe every 2 s, 20 s in all).
k=0
probe_seen() {
	grep -q -- '--probe-' "$AJ" 2>/dev/null
}
end=$(($(now_ms) + 20000))
until probe_seen; do
	[ "$(now_ms)" -lt "$end" ] || fail "no audit record in $AJ in 20 s \
($k probe events written)"
	k=$((k + 1))
	audit_probe "$k" >>audit.log
	e2=$(($(now_ms) + 2000))
	while ! probe_seen && [ "$(now_ms)" -lt "$e2" ]; do
		sleep 0.02
	done
done
cat "$V/audit-basic.log" >>audit.log
WU_HINT="cat $AJ | tail -n 3"
wait_until 10 "the vector records in audit.jsonl" \
    file_has "$AJ" '"audit_id":"1713100001.250:43"'
WU_HINT=
cp "$AJ" audit.jsonl
grep -v -- '--probe-' audit.jsonl >audit.vectors
cmp -s audit.vectors "$V/audit-basic.jsonl" || fail "audit.jsonl records \
differ from the vectors: $(diff audit.vectors "$V/audit-basic.jsonl" |
    head -n 3 | tr '\n' ' ')"
i=1
while [ $i -le "$k" ]; do
	n=$(grep -c -- "--probe-$i\"" audit.jsonl)
	[ "$n" -le 1 ] || fail "probe $i recorded $n times"
	i=$((i + 1))
done

# pty.log: the command typed and its output.
type_line a 'echo pty-$((5*5))'
WU_HINT="pane_tail a"
wait_until 5 "the command's output" pane_line a pty-25
WU_HINT=
PL=$SESSDIR/pty.log
WU_HINT="od -c $PL | tail -n 3"
wait_until 5 "the output in pty.log" file_has "$PL" pty-25
WU_HINT=
cp "$PL" pty.log
if command -v perl >/dev/null 2>&1; then
	# Split pty.log into its two directions; a last record cut short is
	# allowed (the log is live), anything else malformed is not.
	perl -e '
	    my ($f, $lo, $hi) = @ARGV;
	    open(my $fh, "<", $f) or die "open $f: $!\n";
	    binmode($fh);
	    local $/;
	    my $d = <$fh>;
	    my ($p, $n, @out) = (0, 0, "", "");
	    while ($p + 13 <= length($d)) {
		my ($dir, $tl, $th, $len) = unpack("C V V V",
		    substr($d, $p, 13));
		die "record $n at byte $p: direction $dir\n" if $dir > 1;
		my $ts = $th * 4294967296 + $tl;
		die "record $n at byte $p: time $ts out of range\n"
		    if $ts < $lo * 1000 || $ts > $hi * 1000;
		last if $p + 13 + $len > length($d);
		$out[$dir] .= substr($d, $p + 13, $len);
		$p += 13 + $len;
		$n++;
	    }
	    die "no records\n" if $n == 0;
	    for my $i (0, 1) {
		open(my $o, ">", "pty.$i") or die;
		binmode($o);
		print $o $out[$i];
	    }
	    print "$n records\n";
	' pty.log "$((t_start - 60000))" "$(($(date +%s%3N) + 60000))" \
	    >pty.parse 2>&1 || fail "pty.log: $(tail -n 1 pty.parse)"
	grep -aqF 'echo pty-$((5*5))' pty.1 ||
	    fail "pty.log input lacks the typed command"
	plain <pty.0 | grep -aqx 'pty-25' || fail "pty.log output lacks pty-25"
	! grep -aq 'pty-25' pty.1 || fail "pty.log input holds the output"
else
	printf 'note: no perl: pty.log records not parsed\n'
	grep -aqF 'echo pty-$((5*5))' pty.log ||
	    fail "pty.log lacks the typed command"
fi

keys a C-d
wait_rc a 5
[ "$rc" = 0 ] || fail "Ctrl-D: capsem-shell exited $rc"
wait_until 5 "the session directory to be removed" test ! -e "$SESSDIR"
no_leftovers
exit 0
