# capsem-shell with a temporary local session (real capsem-hostd and
# capsem-agent): a piped `exit 5` gives status 5 and every output byte; exec
# gives the command's status and output, quoting several words for sh; a
# missing session directory, and a directory that is not a session, are
# each an error saying "not a capsem session" with status 255; each
# temporary directory is gone afterwards and no process is left behind.
. "$CAPSEM_TOP/regress/lib.sh"

export TMPDIR="$TESTDIR/tmp"
mkdir -p "$TMPDIR"
SHELLOPT="/bin/bash --norc --noprofile -i"

out=$(printf 'head -c 100000 /dev/zero | tr "\\0" x; echo; exit 5\n' |
    timeout 30 capsem-shell --shell "$SHELLOPT" 2>"$TESTDIR/err1")
st=$?
[ "$st" = 5 ] || fail "attach: status $st, not 5: $(cat "$TESTDIR/err1")"
n=$(printf '%s' "$out" | tr -cd x | wc -c)
[ "$n" -ge 100000 ] || fail "attach: $n x bytes, not 100000"

out=$(timeout 30 capsem-shell exec -- sh -c 'echo "$1"; exit 3' sh 'a b')
st=$?
[ "$st" = 3 ] || fail "exec: status $st, not 3"
[ "$out" = "a b" ] || fail "exec: output '$out', not 'a b'"

out=$(timeout 30 capsem-shell exec 'echo one two | wc -w')
[ "$(echo $out)" = 2 ] || fail "exec: one-string command gave '$out'"

timeout 10 capsem-shell -S "$TESTDIR/none" </dev/null 2>"$TESTDIR/err2"
st=$?
[ "$st" = 255 ] || fail "missing session: status $st, not 255"
grep -q "none: not a capsem session (no such directory)" \
    "$TESTDIR/err2" ||
    fail "missing session: message '$(cat "$TESTDIR/err2")'"
mkdir "$TESTDIR/plain"
timeout 10 capsem-shell -S "$TESTDIR/plain" </dev/null 2>"$TESTDIR/err3"
st=$?
[ "$st" = 255 ] || fail "not a session: status $st, not 255"
grep -q "plain: not a capsem session$" "$TESTDIR/err3" ||
    fail "not a session: message '$(cat "$TESTDIR/err3")'"

sleep 0.5
left=$(ls "$TMPDIR")
[ -z "$left" ] || fail "temporary session left: $left"
for p in $(pgrep -f "$TMPDIR/capsem"); do
	fail "process left behind: $(ps -o cmd= -p "$p")"
done
exit 0
