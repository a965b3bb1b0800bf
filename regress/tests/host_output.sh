# Output arrives complete, in order and byte for byte: `seq 1 200000` typed
# into a temporary session by a client whose stdin is not a terminal (a
# fifo, simply forwarded) reaches its stdout whole and in order; through
# exec on a running session (capsem-hostd and a local agent started here),
# all 256 byte values and a 5 MB random file come back unchanged.
. "$CAPSEM_TOP/regress/lib.sh"
. "$CAPSEM_TOP/regress/hostlib.sh"

# 1. seq through the terminal, stdin a fifo held open until the end.
mkfifo in.fifo || fail "mkfifo"
capsem-shell --temp --local --shell "$SHELLCMD" -e "$PS1ENV" \
    -e "CAPSEM_TESTTAG=$TESTDIR" <in.fifo >seq.out 2>seq.err &
cpid=$!
exec 3>in.fifo
printf 'seq 1 200000; exit\n' >&3
wait_for "$cpid" 30
exec 3>&-
[ "$st" = 0 ] || fail "seq session: capsem-shell exited $st: \
$(head -c 200 seq.err | tr '\n' ' ')"
plain <seq.out | grep -x '[0-9][0-9]*' >seq.got
seq 1 200000 >seq.want
cmp -s seq.got seq.want || fail "seq output: $(wc -l <seq.got) number \
lines, first difference: $(cmp seq.got seq.want 2>&1 | head -n 1)"
temp_dirs_gone "the temporary session directory"

# 2. exec on a running session.
S=$TESTDIR/s
start_session "$S"

fmt=
i=0
while [ $i -lt 256 ]; do
	fmt=$fmt$(printf '\\%03o' $i)
	i=$((i + 1))
done
printf "$fmt" >bytes.want
[ "$(wc -c <bytes.want)" = 256 ] || fail "the test made a bad bytes file"
capsem-shell exec -S "$S" -- printf "$fmt" >bytes.got 2>bytes.err
rc=$?
[ "$rc" = 0 ] || fail "exec printf: exit $rc: $(head -c 200 bytes.err)"
od -An -tx1 bytes.want >bytes.want.od
od -An -tx1 bytes.got >bytes.got.od
cmp -s bytes.want.od bytes.got.od || fail "the 256 byte values differ: \
$(diff bytes.want.od bytes.got.od | grep '^[<>]' | head -2 | tr '\n' ' ')"

head -c 5000000 /dev/urandom >big.want
capsem-shell exec -S "$S" -- cat "$TESTDIR/big.want" >big.got 2>big.err
rc=$?
[ "$rc" = 0 ] || fail "exec cat 5 MB: exit $rc: $(head -c 200 big.err)"
cmp -s big.want big.got || fail "5 MB through exec: $(wc -c <big.got) \
bytes back, $(cmp big.want big.got 2>&1 | head -n 1)"

shutdown_session "$S"
session_exits 129 "after shutdown"
no_leftovers
exit 0
