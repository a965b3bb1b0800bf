#!/bin/sh
# frame_tool: capsem-frame(1) against the golden vectors and bad streams.
# Checks that, for every line of frames.jsonl, `encode` gives exactly the
# vector's bytes and `decode` of those bytes gives the same JSON as decoding
# our own encoding (and re-encodes to the same bytes); that a stream of all
# the frames of one direction decodes to one line per frame; that a
# truncated stream, an oversize length prefix (ff ff ff ff) and a bad frame
# in the middle of a stream exit 1 naming the right frame and byte offset;
# that a bad JSON line stops encode at that line; and that usage errors
# exit 2.  Needs only sh, sed, awk and od (no python, no xxd).

V=${CAPSEM_VECTORS:?}/frames.jsonl
cd "${TESTDIR:-.}" || exit 1

fail() {
	echo "frame_tool: $*"
	exit 1
}

# The bytes of a hex string on stdout, via printf octal escapes.
unhex() {
	printf "$(printf '%s' "$1" | awk '{
		d = "0123456789abcdef"
		s = tolower($0)
		for (i = 1; i < length(s); i += 2) {
			v = (index(d, substr(s, i, 1)) - 1) * 16 + \
			    index(d, substr(s, i + 1, 1)) - 1
			printf "\\%03o", v
		}
	}')"
}

tohex() {
	od -An -tx1 | tr -d ' \n'
}

# refused WHAT PATTERN: capsem-frame exited ($rc) 1 with a message in
# err.txt matching PATTERN.
refused() {
	[ "$rc" -eq 1 ] || fail "$1: exit $rc, want 1"
	grep -q -- "$2" err.txt || fail "$1: unexpected message: $(cat err.txt)"
}

command -v capsem-frame >/dev/null || fail "capsem-frame not in PATH"
[ -r "$V" ] || fail "no vectors at $V"

n=0
: >h2g.bin
: >h2g.count
while IFS= read -r line; do
	n=$((n + 1))
	dir=$(printf '%s\n' "$line" | sed 's/^{"dir": "\([a-z0-9]*\)".*/\1/')
	hex=$(printf '%s\n' "$line" |
	    sed 's/.*, "hex": "\([0-9a-f]*\)"}$/\1/')
	json=$(printf '%s\n' "$line" |
	    sed -e 's/^{"dir": "[a-z0-9]*", "json": //' \
	    -e 's/, "hex": "[0-9a-f]*"}$//')
	case $dir in
	h2g|g2h|audit)	;;
	*)		fail "vector $n: bad dir '$dir'" ;;
	esac
	[ -n "$hex" ] && [ "$hex" != "$line" ] || fail "vector $n: no hex"

	printf '%s\n' "$json" | capsem-frame encode --dir "$dir" >enc.bin \
	    2>err.txt || fail "vector $n: encode failed: $(cat err.txt)"
	got=$(tohex <enc.bin)
	[ "$got" = "$hex" ] ||
	    fail "vector $n ($dir): encode gives $got, want $hex"

	unhex "$hex" >vec.bin
	[ "$(tohex <vec.bin)" = "$hex" ] || fail "vector $n: unhex is broken"
	capsem-frame decode -d "$dir" <vec.bin >dec.json 2>err.txt ||
	    fail "vector $n ($dir): decode failed: $(cat err.txt)"
	capsem-frame decode -d "$dir" <enc.bin >dec2.json 2>err.txt ||
	    fail "vector $n ($dir): decode of encode failed: $(cat err.txt)"
	cmp -s dec.json dec2.json ||
	    fail "vector $n ($dir): decode gives $(cat dec.json)," \
	    "want $(cat dec2.json)"
	[ "$(wc -l <dec.json)" -eq 1 ] ||
	    fail "vector $n ($dir): decode wrote $(wc -l <dec.json) lines"
	got=$(capsem-frame encode -d "$dir" <dec.json | tohex)
	[ "$got" = "$hex" ] ||
	    fail "vector $n ($dir): re-encoding the decode gives $got"

	if [ "$dir" = h2g ]; then
		cat vec.bin >>h2g.bin
		echo x >>h2g.count
	fi
done <"$V"
[ "$n" -gt 0 ] || fail "no vectors read"
echo "$n vectors ok"

# Several frames in one stream, one JSON line each.
capsem-frame decode -d h2g <h2g.bin >stream.json 2>err.txt ||
    fail "h2g stream: decode failed: $(cat err.txt)"
[ "$(wc -l <stream.json)" -eq "$(wc -l <h2g.count)" ] ||
    fail "h2g stream: $(wc -l <stream.json) lines for" \
    "$(wc -l <h2g.count) frames"
capsem-frame encode -d h2g <stream.json | cmp -s - h2g.bin ||
    fail "h2g stream: re-encoding differs"

# A stream longer than one read, with frames across the read boundaries,
# and a frame whose body alone spans several reads.
awk 'BEGIN { for (i = 0; i < 7000; i++) printf "{\"t\":\"pong\"}\n" }' |
    capsem-frame encode -d g2h >many.bin || fail "many pongs: encode failed"
capsem-frame decode -d g2h <many.bin >many.json 2>err.txt ||
    fail "many pongs: decode failed: $(cat err.txt)"
[ "$(wc -l <many.json)" -eq 7000 ] ||
    fail "many pongs: $(wc -l <many.json) lines for 7000 frames"
awk 'BEGIN { printf "{\"t\":\"filewrite\",\"d\":{\"id\":1,"
	printf "\"path\":\"/x\",\"data\":[0"
	for (i = 1; i < 150000; i++) printf ",%d", i % 256
	printf "],\"mode\":420}}\n" }' >big.json
capsem-frame encode -d h2g <big.json >big.bin || fail "big: encode failed"
capsem-frame decode -d h2g <big.bin >big2.json 2>err.txt ||
    fail "big: decode failed: $(cat err.txt)"
cmp -s big.json big2.json || fail "big: decode differs from the input"

# Frames of the wrong direction are refused.
capsem-frame decode -d g2h <h2g.bin >/dev/null 2>err.txt
rc=$?
refused "h2g frames decoded as g2h" 'frame 1 at byte 0:'

# Empty input is fine.
capsem-frame decode -d g2h </dev/null >out.json 2>err.txt ||
    fail "empty input: exit $?"
[ -s out.json ] && fail "empty input: output written"

PONG=0000000881a174a4706f6e67
SHUTDOWN=0000000c81a174a873687574646f776e
RESIZE=0000001982a174a6726573697a65a16482a4636f6c7350a4726f777318
BADRESIZE=0000001d82a174a6726573697a65a16482a4636f6c73ce00011170a4726f777318

[ "$(unhex "$PONG" | capsem-frame decode -d g2h)" = '{"t":"pong"}' ] ||
    fail "PONG decodes to $(unhex "$PONG" | capsem-frame decode -d g2h)"

# Bad streams exit 1 naming the frame and its byte offset, after writing
# the frames before it.  Columns: the case, the direction, the stream, the
# good frames it starts with, the message (a grep pattern).  The bad frame
# is resize with cols 70000 (as uint32): for h2g the message also names
# the offset of cols' value in its body.
while IFS='|' read -r what dir hex good want; do
	unhex "$hex" >bad.bin
	capsem-frame decode -d "$dir" <bad.bin >out.json 2>err.txt
	rc=$?
	refused "$what" "$want"
	unhex "$good" | capsem-frame decode -d "$dir" | cmp -s - out.json ||
	    fail "$what: wrote $(cat out.json), not the frames before the bad one"
done <<EOF
truncated body (cut in the second frame)|g2h|${PONG}0000000881a174|$PONG|frame 2 at byte 12:.*5 of 8 bytes missing
truncated prefix (cut in a length prefix)|g2h|${PONG}0000|$PONG|byte 12
oversize length (refused before any body byte)|h2g|ffffffff00||frame 1 at byte 0: length 4294967295
bad g2h frame after two good ones|g2h|${PONG}${PONG}${BADRESIZE}${PONG}|${PONG}${PONG}|frame 3 at byte 24:
bad h2g frame after two good ones|h2g|${RESIZE}${SHUTDOWN}${BADRESIZE}|${RESIZE}${SHUTDOWN}|frame 3 at byte 45: d.cols: .*70000.* (body offset 18)\$
EOF

# encode stops at the first bad line, naming it, after writing the frames
# of the lines before.  Columns: the case, the direction, the input (printf
# %b), the frames written (hex), the message.
while IFS='|' read -r what dir json good want; do
	printf '%b' "$json" | capsem-frame encode -d "$dir" >enc.bin 2>err.txt
	rc=$?
	refused "$what" "$want"
	[ "$(tohex <enc.bin)" = "$good" ] ||
	    fail "$what: output $(tohex <enc.bin)"
done <<EOF
bad JSON line|g2h|{"t":"pong"}\n\n{"t":"pong"\n{"t":"pong"}\n|$PONG|^capsem-frame: line 3: 
bad message|h2g|{"t":"resize","d":{"cols":70000,"rows":1}}\n||^capsem-frame: line 1: .*cols
g2h message encoded as h2g|h2g|{"t":"pong"}\n||^capsem-frame: line 1: .*pong
EOF

# Usage errors exit 2; -h exits 0.
for args in "" "encode" "-d h2g" "encode -d nope" "frob -d h2g" \
    "encode -d h2g extra" "encode -x -d h2g" "encode --dir"; do
	# shellcheck disable=SC2086
	capsem-frame $args </dev/null >/dev/null 2>&1
	rc=$?
	[ "$rc" -eq 2 ] || fail "usage '$args': exit $rc, want 2"
done
capsem-frame -h >out.txt 2>&1 || fail "-h: exit $?"
grep -q usage out.txt || fail "-h: no usage line"

echo "frame_tool: all checks passed"
