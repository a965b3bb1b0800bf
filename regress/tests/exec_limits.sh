# One limit for the length of an exec command, checked where the user
# types it: a command of EXEC_COMMAND_MAX (65536) bytes runs, one byte more
# is refused by capsem-shell with a message naming both lengths (status
# 255), an empty one is refused too, and nothing of the sessions is left.
. "$CAPSEM_TOP/regress/lib.sh"
. "$CAPSEM_TOP/regress/hostlib.sh"

pad() {	# N: a command of exactly N bytes that prints OK
	printf 'echo OK #'
	head -c $(($1 - 9)) /dev/zero | tr '\0' x
}

out=$(timeout 30 capsem-shell exec -- "$(pad 65536)" 2>"$TESTDIR/ok.err")
[ "$out" = OK ] || fail "65536 bytes: '$out' ($(cat "$TESTDIR/ok.err"))"
timeout 30 capsem-shell exec -- "$(pad 65537)" >/dev/null 2>"$TESTDIR/long.err"
st=$?
[ "$st" = 255 ] || fail "65537 bytes: status $st, not 255"
grep -q "the command is 65537 bytes long, at most 65536" \
    "$TESTDIR/long.err" || fail "65537 bytes: $(cat "$TESTDIR/long.err")"
timeout 30 capsem-shell exec -- '' 2>"$TESTDIR/empty.err"
st=$?
[ "$st" = 255 ] || fail "empty: status $st, not 255"
grep -q "the command is empty" "$TESTDIR/empty.err" ||
    fail "empty: $(cat "$TESTDIR/empty.err")"
[ -z "$(temp_dirs)" ] || fail "left: $(temp_dirs)"
no_leftovers
exit 0
