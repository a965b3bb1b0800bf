# A root capsem-hostd in a session directory owned by another user never
# follows that user's symbolic links: with pty.log and audit.jsonl planted
# as links to files outside, hostd refuses the directory (exit 1, naming
# the file) and the targets are untouched; a stale temporary session.json
# planted as a link is not written through either (as root only).
. "$CAPSEM_TOP/regress/lib.sh"
. "$CAPSEM_TOP/regress/hostlib.sh"

[ "$(id -u)" = 0 ] || { echo "skipped: not root"; exit 0; }

victim=$TESTDIR/victim
printf 'precious\n' >"$victim.pty"
printf 'precious\n' >"$victim.audit"
printf 'precious\n' >"$victim.json"
for f in pty.log audit.jsonl; do
	d=$TESTDIR/s.$f
	mkdir "$d" && chown 65534:65534 "$d" && chmod 700 "$d" ||
	    fail "mkdir $d"
	case $f in
	pty.log) ln -s "$victim.pty" "$d/pty.log" ;;
	*) ln -s "$victim.audit" "$d/audit.jsonl" ;;
	esac
	capsem-hostd -d -S "$d" 2>"$TESTDIR/$f.err" &
	p=$!
	wait_for "$p" 10
	[ "$st" = 1 ] || fail "$f planted as a link: hostd exit $st, not 1"
	grep -q "$f" "$TESTDIR/$f.err" ||
	    fail "$f planted as a link: no reason: $(cat "$TESTDIR/$f.err")"
done
for v in pty audit; do
	[ "$(cat "$victim.$v")" = precious ] ||
	    fail "$v: the link's target was written"
done

# The temporary session.json of a pid to come: planted for a range of pids
# is too wide; plant it for hostd's own pid through a wrapper that waits.
d=$TESTDIR/s.json
mkdir "$d" && chown 65534:65534 "$d" && chmod 700 "$d" || fail "mkdir $d"
sh -c 'ln -s "$1" "$2/.session.json.$$" && exec capsem-hostd -d -S "$2" \
    -R 3 3>"$3"' sh "$victim.json" "$d" "$TESTDIR/json.ready" \
    2>"$TESTDIR/json.err" &
p=$!
wait_until 10 "hostd on $d to be ready" hostd_ready "$TESTDIR/json.ready"
[ "$(cat "$victim.json")" = precious ] ||
    fail "the temporary session.json was written through a link"
[ -f "$d/session.json" ] && [ ! -L "$d/session.json" ] ||
    fail "no session.json written in $d"
kill "$p"
wait_for "$p" 10
exit 0
