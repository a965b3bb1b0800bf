# capsem-shell cp: a file in and out (content, mode with -p but never the
# setuid bit, the default mode without), a name with spaces and UTF-8, a
# directory tree with -r (both ways), several sources into a directory,
# and the errors named by path: no such file, is a directory (without
# -r), outside the workspace, a guest directory at the destination.  A
# copy leaves no temporary file beside its destination, and stderr that
# is not a terminal gets no progress line.
. "$CAPSEM_TOP/regress/lib.sh"
. "$CAPSEM_TOP/regress/hostlib.sh"

S=$TESTDIR/s
WS=$TESTDIR/ws
start_session "$S"

# c NAME ARGS...: capsem-shell cp -S $S ARGS, stderr in NAME.err, $rc.
c() {
	n=$1
	shift
	capsem-shell cp -S "$S" "$@" 2>"$n.err"
	rc=$?
}
mode_of() {
	stat -c %a "$1"
}

head -c 100000 /dev/urandom >data.bin
chmod 4751 data.bin
c in1 -p data.bin :data.bin
[ "$rc" = 0 ] || fail "cp in: exit $rc: $(cat in1.err)"
cmp -s data.bin "$WS/data.bin" || fail "cp in: content differs"
[ "$(mode_of "$WS/data.bin")" = 751 ] ||
    fail "cp -p in: mode $(mode_of "$WS/data.bin"), not 751 (setuid dropped)"
[ -s in1.err ] && fail "cp in printed on a non-tty stderr: $(cat in1.err)"

c in2 data.bin :plain.bin
[ "$(mode_of "$WS/plain.bin")" = 644 ] ||
    fail "cp in without -p: mode $(mode_of "$WS/plain.bin"), not 644"

c out1 -p :data.bin back.bin
[ "$rc" = 0 ] || fail "cp out: exit $rc: $(cat out1.err)"
cmp -s data.bin back.bin || fail "cp out: content differs"
[ "$(mode_of back.bin)" = 751 ] ||
    fail "cp -p out: mode $(mode_of back.bin), not 751"

# Spaces and UTF-8, both ways.
name='a file — été ✓.txt'
printf 'unicode\n' >"$name"
c u1 "$name" ":dir one/$name"
[ "$rc" = 0 ] || fail "cp in of a UTF-8 name: $(cat u1.err)"
cmp -s "$name" "$WS/dir one/$name" || fail "UTF-8 name: content in"
mkdir got
c u2 ":dir one/$name" got/
[ "$rc" = 0 ] || fail "cp out of a UTF-8 name: $(cat u2.err)"
cmp -s "$name" "got/$name" || fail "UTF-8 name: content out"

# A tree, -r, both ways; a symlink inside is skipped, not followed.
mkdir -p tree/sub/deep tree/empty
printf 1 >tree/one
printf 2 >tree/sub/two
head -c 3000000 /dev/urandom >tree/sub/deep/big
ln -s /etc/passwd tree/link
c r1 -r tree :t
[ "$rc" = 0 ] || fail "cp -r in: exit $rc: $(cat r1.err)"
for f in one sub/two sub/deep/big; do
	cmp -s "tree/$f" "$WS/t/tree/$f" || fail "cp -r in: $f differs"
done
[ -d "$WS/t/tree/empty" ] || fail "cp -r in: the empty directory is missing"
[ -e "$WS/t/tree/link" ] && fail "cp -r in: followed a symlink"
mkdir back
c r2 -r :t/tree back
[ "$rc" = 0 ] || fail "cp -r out: exit $rc: $(cat r2.err)"
for f in one sub/two sub/deep/big; do
	cmp -s "tree/$f" "back/tree/$f" || fail "cp -r out: $f differs"
done
[ -d back/tree/empty ] || fail "cp -r out: the empty directory is missing"

# Several sources into a guest directory.
c multi tree/one tree/sub/two :many/
[ "$rc" = 0 ] || fail "cp of two files: $(cat multi.err)"
cmp -s tree/one "$WS/many/one" && cmp -s tree/sub/two "$WS/many/two" ||
    fail "cp of two files into :many/"

# Errors, each naming the path.
c e1 no-such-file :x
[ "$rc" != 0 ] && grep -q "no-such-file: No such file" e1.err ||
    fail "missing local file: exit $rc: $(cat e1.err)"
c e2 :no-such-file x
[ "$rc" != 0 ] && grep -q ":no-such-file: No such file" e2.err ||
    fail "missing guest file: exit $rc: $(cat e2.err)"
[ -e x ] && fail "a failed copy out left x"
c e3 tree :x
[ "$rc" != 0 ] && grep -q "tree: is a directory" e3.err ||
    fail "a directory without -r: exit $rc: $(cat e3.err)"
c e4 :t x
[ "$rc" != 0 ] && grep -q ":t: is a directory" e4.err ||
    fail "a guest directory without -r: exit $rc: $(cat e4.err)"
c e5 data.bin :../escape.bin
[ "$rc" != 0 ] && grep -q "outside the workspace\|contains '..'" e5.err ||
    fail "a path outside the workspace: exit $rc: $(cat e5.err)"
[ -e "$TESTDIR/escape.bin" ] && fail "cp wrote outside the workspace"
c e6 data.bin :/etc/escape.bin
[ "$rc" != 0 ] && grep -q "/etc/escape.bin: outside the workspace" e6.err ||
    fail "an absolute path outside: exit $rc: $(cat e6.err)"
ln -s "$TESTDIR" "$WS/out-link"
c e7 data.bin :out-link/escape.bin
[ "$rc" != 0 ] && [ ! -e "$TESTDIR/escape.bin" ] ||
    fail "a symlink out of the workspace was followed: $(cat e7.err)"
c e8 data.bin :t/tree
[ "$rc" != 0 ] && grep -q ":t/tree: path is a directory" e8.err ||
    fail "a guest directory as the target: exit $rc: $(cat e8.err)"

# -p keeps a directory's bits too.
mkdir -p pdir && chmod 750 pdir && printf p >pdir/f
c pd1 -r -p pdir :pd
[ "$(mode_of "$WS/pd/pdir")" = 750 ] ||
    fail "cp -r -p in: directory mode $(mode_of "$WS/pd/pdir"), not 750"
mkdir pback
c pd2 -r -p :pd/pdir pback
[ "$(mode_of pback/pdir)" = 750 ] ||
    fail "cp -r -p out: directory mode $(mode_of pback/pdir), not 750"

# Nothing temporary left on either side.
left=$(find "$WS" . -name '.*.capsem-*' | head -n 3)
[ -z "$left" ] || fail "temporary files left: $left"

shutdown_session "$S"
session_exits 129 "after shutdown"

# Without -S: a temporary session of its own, whose workspace is the
# current directory, gone after the copy (as for exec).
mkdir tws
(cd tws && capsem-shell cp ../data.bin :t.bin) 2>temp1.err ||
    fail "cp in with a temporary session: $(cat temp1.err)"
cmp -s data.bin tws/t.bin || fail "temporary session: content in"
(cd tws && capsem-shell cp :t.bin ../t.back) 2>temp2.err ||
    fail "cp out with a temporary session: $(cat temp2.err)"
cmp -s data.bin t.back || fail "temporary session: content out"
temp_dirs_gone "the temporary sessions of cp"
wait_until 5 "the temporary sessions' processes to end" no_tag_pids
