# capsem-shell exec: the command's output and exit status (`sh -c 'echo hi;
# exit 5'` prints hi and exits 5), a command that does not exist exits 127,
# arguments are quoted for sh (one argument is run as is, so a pipeline
# works), large output arrives whole, two execs at once each get their own
# output, and exec --temp makes a session for one command and removes it.
. "$CAPSEM_TOP/regress/lib.sh"
. "$CAPSEM_TOP/regress/hostlib.sh"

S=$TESTDIR/s
start_session "$S"

# ex NAME [args...]: exec on the session, stdout in NAME.out, status in $rc.
ex() {
	n=$1
	shift
	capsem-shell exec -S "$S" -- "$@" >"$n.out" 2>"$n.err"
	rc=$?
}

ex hi sh -c 'echo hi; exit 5'
[ "$rc" = 5 ] || fail "sh -c 'echo hi; exit 5': exit $rc, not 5: \
$(head -c 200 hi.err)"
[ "$(cat hi.out)" = hi ] || fail "sh -c 'echo hi; exit 5' printed: \
$(head -c 100 hi.out | od -c | head -n 2 | tr '\n' ' ')"

ex nx ./no-such-command-$$
[ "$rc" = 127 ] || fail "a missing command: exit $rc, not 127"

ex quote printf '%s|' "it's" 'a b' '$HOME'
[ "$rc" = 0 ] || fail "quoted args: exit $rc"
[ "$(cat quote.out)" = "it's|a b|\$HOME|" ] ||
    fail "arguments not quoted for sh: got $(cat quote.out)"

ex pipe 'printf "a\nb\nc\n" | wc -l'
[ "$rc" = 0 ] || fail "one-argument pipeline: exit $rc"
[ "$(tr -d ' ' <pipe.out)" = 3 ] ||
    fail "one argument is not run as is: got $(cat pipe.out)"

ex big seq 1 1000000
[ "$rc" = 0 ] || fail "seq 1 1000000: exit $rc"
seq 1 1000000 >big.want
cmp -s big.want big.out || fail "seq 1 1000000 through exec: \
$(wc -c <big.out) bytes, $(cmp big.want big.out 2>&1 | head -n 1)"

# Two at once.
capsem-shell exec -S "$S" -- sh -c 'seq 1 300000; exit 6' >p1.out 2>p1.err &
p1=$!
capsem-shell exec -S "$S" -- sh -c 'seq 2 2 400000; exit 7' >p2.out 2>p2.err &
p2=$!
wait_for "$p1" 20
[ "$st" = 6 ] || fail "concurrent exec 1: exit $st, not 6"
wait_for "$p2" 20
[ "$st" = 7 ] || fail "concurrent exec 2: exit $st, not 7"
seq 1 300000 | cmp -s - p1.out || fail "concurrent exec 1: output wrong"
seq 2 2 400000 | cmp -s - p2.out || fail "concurrent exec 2: output wrong"

shutdown_session "$S"
session_exits 129 "after shutdown"

# exec --temp: a session of its own, removed after.
capsem-shell exec --temp --local -- sh -c 'echo tmp; exit 4' >tmp.out \
    2>tmp.err
rc=$?
[ "$rc" = 4 ] || fail "exec --temp: exit $rc, not 4: $(head -c 200 tmp.err)"
[ "$(cat tmp.out)" = tmp ] || fail "exec --temp printed: $(head -c 100 tmp.out)"
temp_dirs_gone "the exec --temp session directory"
no_leftovers
exit 0
