# Output of any size streams with bounded memory on every hop (issue 15
# item 6): 1 GiB of a command's output, then 1 GiB through cat (stdin and
# stdout), go through exec while every process of the system under test
# (capsem-hostd and its children, capsem-agent, its exec runner and
# children, capsem-shell) is sampled; none may peak above MEM_MAX_KB nor
# grow past its resident size before the transfer by more than
# GROW_MAX_KB.  A reader that stops reading stops the command: with the
# client's stdout not read for 2 s, the command is still running and
# memory stays bounded, then everything arrives.  A command that never
# reads its stdin, fed from /dev/zero, holds nobody's memory either.
. "$CAPSEM_TOP/regress/lib.sh"
. "$CAPSEM_TOP/regress/hostlib.sh"

GIB=1073741824
MEM_MAX_KB=16384
GROW_MAX_KB=6144

S=$TESTDIR/s
start_session "$S"

# One sample: "pid comm VmRSS VmHWM" of every tagged capsem process.
sample() {
	for f in $(grep -lsxz "CAPSEM_TESTTAG=$TESTDIR" /proc/[0-9]*/environ); do
		d=${f%/environ}
		awk -v pid="${d#/proc/}" '
		    /^Name:/ { n = $2 } /^VmRSS:/ { r = $2 } /^VmHWM:/ { h = $2 }
		    END { if (n ~ /^capsem/) print pid, n, r, h }' \
		    "$d/status" 2>/dev/null
	done
}
sampler() {	# FILE: sample into FILE until killed
	while :; do
		sample >>"$1"
		sleep 0.05
	done
}
# check_mem SAMPLES WHAT: the bounds, against before.txt.  Not with
# SANITIZE=1: ASan keeps freed memory in quarantine, so resident sizes say
# nothing there (the transfers are still checked).
check_mem() {
	if [ "${SANITIZE:-0}" = 1 ]; then
		echo "$2: memory not checked under SANITIZE=1"
		return
	fi
	[ -s "$1" ] || fail "$2: no memory samples"
	for want in capsem-shell capsem-hostd-st capsem-hostd capsem-agent; do
		awk -v w="$want" '$2 == w { f = 1 } END { exit !f }' "$1" ||
		    fail "$2: $want was never sampled"
	done
	bad=$(awk -v max="$MEM_MAX_KB" -v grow="$GROW_MAX_KB" '
	    FNR == NR { base[$1] = $3; next }
	    { if ($4 > peak[$1]) peak[$1] = $4; name[$1] = $2 }
	    END {
		for (p in peak) {
			if (peak[p] > max)
				printf "%s(%s) peaked at %d KiB; ", name[p], p, peak[p]
			if ((p in base) && peak[p] - base[p] > grow)
				printf "%s(%s) grew from %d to %d KiB; ", name[p],
				    p, base[p], peak[p]
		}
	    }' before.txt "$1")
	[ -z "$bad" ] || fail "$2: $bad"
	awk '{ if ($4 > m) m = $4 } END { printf "%s: peak %d KiB\n", w, m }' \
	    w="$2" "$1"
}

# 1. 1 GiB of output.
sample >before.txt
sampler out.samples &
SP=$!
WATCHDOGS="$WATCHDOGS $SP"
n=$(capsem-shell exec -S "$S" -- "head -c $GIB /dev/zero" </dev/null |
    wc -c) || fail "1 GiB of output: exit $?"
kill "$SP"
[ "$n" = "$GIB" ] || fail "1 GiB of output: $n bytes arrived"
check_mem out.samples "1 GiB of output"

# 2. 1 GiB in and out again (cat).
sample >before.txt
sampler cat.samples &
SP=$!
WATCHDOGS="$WATCHDOGS $SP"
n=$(head -c "$GIB" /dev/zero | capsem-shell exec -S "$S" -- cat | wc -c) ||
    fail "1 GiB through cat: exit $?"
kill "$SP"
[ "$n" = "$GIB" ] || fail "1 GiB through cat: $n bytes arrived"
check_mem cat.samples "1 GiB through cat"

# 3. A reader that stops: the command waits for it.
sample >before.txt
sampler stall.samples &
SP=$!
WATCHDOGS="$WATCHDOGS $SP"
capsem-shell exec -S "$S" -- \
    "head -c 268435456 /dev/zero; echo end >\"$TESTDIR/stall.done\"" \
    </dev/null | { sleep 2; cat >stall.flag; wc -c >stall.n; } &
RP=$!
sleep 1.5
[ ! -e stall.done ] || fail "the command finished while nobody read its \
output: its output was buffered somewhere"
wait_for "$RP" 30
kill "$SP"
[ -e stall.done ] || fail "the command did not finish once read"
[ "$(cat stall.n)" -ge 0 ] 2>/dev/null || fail "stalled reader: no count"
check_mem stall.samples "a reader that stops for 2 s"

# 4. A command that never reads its stdin, fed without end: the client
# reads no more than the guest grants.
sample >before.txt
sampler never.samples &
SP=$!
WATCHDOGS="$WATCHDOGS $SP"
out=$(capsem-shell exec -S "$S" -- 'sleep 2; echo done' </dev/zero) ||
    fail "a command not reading /dev/zero: exit $?"
kill "$SP"
[ "$out" = done ] || fail "a command not reading /dev/zero printed '$out'"
check_mem never.samples "a command that never reads stdin"

shutdown_session "$S"
no_leftovers
exit 0
