# capsem-shell cp onto a full disk, on either side (a 1 MiB tmpfs in a
# mount namespace of its own: the guest's workspace, then the local
# target directory): the copy fails with "disk full (No space left on
# device)" naming the path, nothing is left at the destination and the
# space is given back (the unnamed temporary file is gone).
. "$CAPSEM_TOP/regress/lib.sh"
. "$CAPSEM_TOP/regress/hostlib.sh"

unshare -m sh -c "mount -t tmpfs -o size=1m tmpfs $(shq "$TESTDIR") &&
    umount $(shq "$TESTDIR")" 2>/dev/null || {
	echo "skipped: no mount namespace with tmpfs"
	exit 0
}

S=$TESTDIR/s
WS=$TESTDIR/ws
mkdir -p "$WS" small
start_hostd "$S"
: >>"$TESTDIR/guest-audit.log"
# The agent's workspace is a 1 MiB tmpfs that only it (and its execs) see.
setsid unshare -m sh -c "mount -t tmpfs -o size=1m tmpfs $(shq "$WS") &&
    exec capsem-agent -d -v -t unix:$(shq "$S") -s $(shq "$SHELLCMD") \
    -w $(shq "$WS") -a $(shq "$TESTDIR/guest-audit.log")" \
    >>"$TESTDIR/s.agent.log" 2>&1 &
HOSTDAGENT=$!
wait_until 15 "session connected" state_is "$S" connected

head -c 3000000 /dev/urandom >big.bin
capsem-shell cp -S "$S" big.bin :big.bin 2>in.err &&
    fail "a 3 MB copy onto a 1 MiB guest disk succeeded"
grep -q ":big.bin: disk full (No space left on device)" in.err ||
    fail "guest disk full: cp said: $(cat in.err)"
capsem-shell exec -S "$S" -- 'ls -A; df -k . | tail -n 1' >ws.out 2>&1 ||
    fail "exec after a full disk: $(cat ws.out)"
grep -q big.bin ws.out && fail "the failed copy left a file: $(cat ws.out)"
[ "$(awk 'END { print $3 }' ws.out)" -lt 64 ] ||
    fail "the guest's space was not given back: $(tail -n 1 ws.out)"

# And a small file still fits.
head -c 100000 /dev/urandom >small.bin
capsem-shell cp -S "$S" small.bin :small.bin 2>ok.err ||
    fail "a small copy after a full disk: $(cat ok.err)"

# Local disk full, for a copy out.
capsem-shell exec -S "$S" -- rm -f small.bin >/dev/null 2>&1
head -c 900000 /dev/urandom >mid.bin
capsem-shell cp -S "$S" mid.bin :mid.bin 2>mid.err ||
    fail "cp of 900 kB in: $(cat mid.err)"
unshare -m sh -c "mount -t tmpfs -o size=512k tmpfs small &&
    head -c 100000 /dev/zero >small/filler &&
    capsem-shell cp -S $(shq "$S") :mid.bin small/ 2>out.err;
    echo \$? >out.rc; ls -A small >small.ls; df -k small | tail -n 1 >small.df"
[ "$(cat out.rc)" != 0 ] || fail "a copy out onto a full local disk exited 0"
grep -q "small/mid.bin: disk full (No space left on device)" out.err ||
    fail "local disk full: cp said: $(cat out.err)"
[ "$(cat small.ls)" = filler ] ||
    fail "the failed copy out left: $(cat small.ls)"

shutdown_session "$S"
session_exits 129 "after shutdown"
