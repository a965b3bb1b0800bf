# capsem-shell cp -p keeps the modification times (extension "copytimes")
# of files and directories, to the nanosecond, both ways, also before 1970
# and through a tree copied with -r; without -p a copy is new.  With an agent
# from before copytimes (CAPSEM_TEST_NO_COPYTIMES), -p keeps the permission
# bits, the copy is new, and cp says so once.
. "$CAPSEM_TOP/regress/lib.sh"
. "$CAPSEM_TOP/regress/hostlib.sh"

S=$TESTDIR/s
WS=$TESTDIR/ws

# c NAME ARGS...: capsem-shell cp -S $S ARGS, stderr in NAME.err, $rc.
c() {
	n=$1
	shift
	capsem-shell cp -S "$S" "$@" 2>"$n.err"
	rc=$?
	[ "$rc" = 0 ] || fail "cp $*: exit $rc: $(cat "$n.err")"
}
mtime_of() {
	stat -c %y "$1"
}
# same_time WHAT A B
same_time() {
	[ "$(mtime_of "$2")" = "$(mtime_of "$3")" ] ||
	    fail "$1: $(mtime_of "$2"), not $(mtime_of "$3")"
}
# new_time WHAT A B: A did not get B's time.
new_time() {
	[ "$(mtime_of "$2")" != "$(mtime_of "$3")" ] ||
	    fail "$1: got the source's time $(mtime_of "$3")"
}

start_session "$S"
grep -q "guest agent supports: .*copytimes" "$TESTDIR/s.hostd.log" ||
    fail "the agent did not announce copytimes: $(grep 'agent supports' \
"$TESTDIR/s.hostd.log")"

printf 'timed\n' >f
chmod 640 f
touch -d '2001-02-03 04:05:06.789123456' f
c in1 -p f :f
same_time "cp -p in" "$WS/f" f
[ "$(stat -c %a "$WS/f")" = 640 ] || fail "cp -p in: mode $(stat -c %a \
"$WS/f")"
[ -s in1.err ] && fail "cp -p in printed: $(cat in1.err)"
c in2 f :g
new_time "cp in without -p" "$WS/g" f

touch -d '1999-12-31 23:59:59.5' "$WS/f"
c out1 -p :f back
same_time "cp -p out" back "$WS/f"
[ -s out1.err ] && fail "cp -p out printed: $(cat out1.err)"
c out2 :f back2
new_time "cp out without -p" back2 "$WS/f"

printf 'old\n' >pre
touch -d '1960-01-01 00:00:00.25' pre
c in3 -p pre :pre
same_time "cp -p in, before 1970" "$WS/pre" pre

mkdir -p tree/sub
printf 1 >tree/one
printf 2 >tree/sub/two
touch -d '2010-05-06 07:08:09' tree/one
touch -d '2011-05-06 07:08:09' tree/sub/two
touch -d '2012-05-06 07:08:09.5' tree/sub
touch -d '2013-05-06 07:08:09' tree
c r1 -r -p tree :t
same_time "cp -r -p in" "$WS/t/tree/one" tree/one
same_time "cp -r -p in, deeper" "$WS/t/tree/sub/two" tree/sub/two
same_time "cp -r -p in, a directory" "$WS/t/tree/sub" tree/sub
same_time "cp -r -p in, the top directory" "$WS/t/tree" tree
mkdir rback
c r2 -r -p :t/tree rback
same_time "cp -r -p out" rback/tree/sub/two tree/sub/two
same_time "cp -r -p out, a directory" rback/tree/sub tree/sub
same_time "cp -r -p out, the top directory" rback/tree tree
c r3 -r tree :u
new_time "cp -r in without -p, a directory" "$WS/u/tree" tree

shutdown_session "$S"
session_exits 129 "after shutdown"

# An agent from before copytimes: the bits, not the time, and a note.
S=$TESTDIR/s2
WS=$TESTDIR/ws
export CAPSEM_TEST_NO_COPYTIMES=1
start_session "$S"
unset CAPSEM_TEST_NO_COPYTIMES
grep -q "guest agent supports: .*copytimes" "$TESTDIR/s2.hostd.log" &&
    fail "the agent announced copytimes"
c old1 -p f :old
new_time "cp -p in, older agent" "$WS/old" f
[ "$(stat -c %a "$WS/old")" = 640 ] || fail "cp -p in, older agent: mode \
$(stat -c %a "$WS/old")"
grep -q "does not keep modification times" old1.err ||
    fail "cp -p in, older agent: no note: '$(cat old1.err)'"
c old2 -p :f oldback
new_time "cp -p out, older agent" oldback "$WS/f"
grep -q "does not keep modification times" old2.err ||
    fail "cp -p out, older agent: no note: '$(cat old2.err)'"
shutdown_session "$S"
session_exits 129 "after shutdown"
exit 0
