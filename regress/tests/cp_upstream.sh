# capsem-shell cp with an agent that announces nothing (an upstream agent,
# CAPSEM_TEST_NO_AGENTCAPS): capsem-hostd sends no copyin/copyout; a small
# file still goes in and out through the upstream filewrite and fileread,
# a file larger than one frame and a directory are refused with "the
# guest agent does not support large copies", and nothing is left behind.
. "$CAPSEM_TOP/regress/lib.sh"
. "$CAPSEM_TOP/regress/hostlib.sh"

S=$TESTDIR/s
WS=$TESTDIR/ws
export CAPSEM_TEST_NO_AGENTCAPS=1
start_session "$S"
unset CAPSEM_TEST_NO_AGENTCAPS
grep -q "guest agent supports: none" "$TESTDIR/s.hostd.log" ||
    fail "the agent announced something: $(grep 'agent supports' \
"$TESTDIR/s.hostd.log")"

head -c 500000 /dev/urandom >small.bin
capsem-shell cp -S "$S" small.bin :small.bin 2>in.err ||
    fail "small cp in: $(cat in.err)"
cmp -s small.bin "$WS/small.bin" || fail "small cp in: content differs"
capsem-shell cp -S "$S" :small.bin back.bin 2>out.err ||
    fail "small cp out: $(cat out.err)"
cmp -s small.bin back.bin || fail "small cp out: content differs"

head -c 2000000 /dev/urandom >big.bin
capsem-shell cp -S "$S" big.bin :big.bin 2>big.err &&
    fail "a 2 MB copy in to an upstream agent succeeded"
grep -q "big.bin: the guest agent does not support large copies" big.err ||
    fail "large copy in: cp said: $(cat big.err)"
[ -e "$WS/big.bin" ] && fail "a refused copy left $WS/big.bin"
cp big.bin "$WS/big.bin"
capsem-shell cp -S "$S" :big.bin bigback.bin 2>bigout.err &&
    fail "a 2 MB copy out of an upstream agent succeeded"
grep -q "big.bin: the guest agent does not support large copies" bigout.err ||
    fail "large copy out: cp said: $(cat bigout.err)"
[ -e bigback.bin ] && fail "a refused copy out left bigback.bin"
mkdir d && printf x >d/x
capsem-shell cp -S "$S" -r d :d 2>dir.err &&
    fail "cp -r to an upstream agent succeeded"
grep -q "does not support large copies" dir.err ||
    fail "cp -r to an upstream agent: cp said: $(cat dir.err)"
grep -q '"t":"copy\|copyin\|copyout' "$TESTDIR/s.agent.log" &&
    fail "capsem-hostd sent a copy message to an agent that did not announce it"
grep -q "host sent copy" "$TESTDIR/s.agent.log" &&
    fail "capsem-hostd sent copyin/copyout to an agent that did not announce it"

shutdown_session "$S"
session_exits 129 "after shutdown"
