# capsem-hostd against a guest that abuses the copy port (capsem-testguest):
# a first frame longer than a copystarted, one that is not copystarted,
# garbage, and a copystarted for a copy nobody asked for each cost that
# connection only (hostd logs why and closes it) and hostd serves on: a
# bad frame on control is still answered, and shellexited{3} ends the
# session with 3.
. "$CAPSEM_TOP/regress/lib.sh"
. "$CAPSEM_TOP/regress/hostlib.sh"

hexs() {
	printf '%02x' $((0xa0 + ${#1}))
	printf '%s' "$1" | od -An -tx1 | tr -d ' \n'
}
D=$TESTDIR/tmp/bad
log=$TESTDIR/bad.hostd.log
start_hostd "$D"

cat >script <<S
timeout 10000
# A length of 4096: too long for copystarted, refused before the body.
raw copy 00001000$(awk 'BEGIN { for (i = 0; i < 64; i++) printf "00" }')
expect-closed copy
close copy
send copy {"t":"pong"}
expect-closed copy
close copy
random copy 300
expect-closed copy
close copy
send copy {"t":"copystarted","d":{"id":12345,"size":10,"mode":420}}
raw copy 00112233445566778899
expect-closed copy
close copy
send control {"t":"error","d":{"id":77,"message":"after the copy port"}}
expect {"t":"ackreply","d":{"id":77}}
send control {"t":"shellexited","d":{"exit_code":3,"signal":null}}
expect {"t":"ackreply","d":{"id":0}}
S
capsem-testguest -D "$D" -o "$TESTDIR/guest.jsonl" -s script >tg.log 2>&1 ||
    fail "testguest: $(tail -n 1 tg.log)"
wait_for "$HOSTDPID" 10
HOSTDPID=
[ "$st" = 3 ] || fail "capsem-hostd exited $st, not 3"
for why in "copy: first frame too long for copystarted" \
    "copy: first frame is not copystarted" \
    "copy connection for unknown copy 12345: closed"; do
	grep -q "$why" "$log" || fail "hostd did not log: $why"
done
