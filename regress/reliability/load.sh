# Load: N temporary local sessions at once, each streaming `seq 1 LINES`
# to its client (stdin a fifo: the new session's shell reads it, as with
# ssh -T, and its output comes through exec); when a client has seen the
# last number, the end of its input ends its shell.  Every client exits 0
# with the whole sequence; afterwards nothing is left.  Figure: total MB/s
# of output (all clients, first start to last exit) and the slowest exit
# (ms from the end of the input to the client's end).
R_NAME=load
. "$CAPSEM_TOP/regress/reliability/rlib.sh"

N=$(count 16 4)
LINES=$(count 2000000 500000)

# One session: the writer holds the fifo, types, waits for the last
# number, types ^D, waits for the client's status; files NAME.{out,rc,dt}.
session() {
	n=$1
	mkfifo "$n.fifo" || exit 1
	capsem-shell --temp --local --shell "$SHELLCMD" -e "$PS1ENV" \
	    -e "CAPSEM_TESTTAG=$TESTDIR" <"$n.fifo" >"$n.out" 2>"$n.err" &
	c=$!
	exec 4>"$n.fifo"
	printf 'seq 1 %s\n' "$LINES" >&4
	end=$(($(now_ms) + 600000))
	until tail -c 40 "$n.out" | tr -d '\r' | grep -qx "$LINES"; do
		[ "$(now_ms)" -lt "$end" ] || break
		kill -0 "$c" 2>/dev/null || break
		sleep 0.05
	done
	t0=$(now_ms)
	exec 4>&-
	wait "$c"
	r=$?
	echo $(($(now_ms) - t0)) >"$n.dt"
	echo "$r" >"$n.rc.tmp"
	mv "$n.rc.tmp" "$n.rc"
}

all_done() {
	j=0
	while [ $j -lt "$N" ]; do
		j=$((j + 1))
		[ -f "s$j.rc" ] || return 1
	done
}

R_RUNS=$N
t0=$(now_ms)
j=0
while [ $j -lt "$N" ]; do
	j=$((j + 1))
	session "s$j" &
	WATCHDOGS="$WATCHDOGS $!"
done
wait_until 600 "all $N sessions to end" all_done
t1=$(now_ms)
WATCHDOGS=

bytes=0
slow=0
ok=0
bad=
j=0
while [ $j -lt "$N" ]; do
	j=$((j + 1))
	b=$(wc -c <"s$j.out")
	bytes=$((bytes + b))
	d=$(cat "s$j.dt")
	[ "$d" -le "$slow" ] || slow=$d
	rc=$(cat "s$j.rc")
	got=$(plain <"s$j.out" | grep -cx '[0-9][0-9]*')
	if [ "$rc" = 0 ] && [ "$got" = "$LINES" ]; then
		ok=$((ok + 1))
	else
		bad="$bad s$j(exit $rc, $got lines $(head -c 80 "s$j.err"))"
	fi
done
R_PASSED=$ok
ms=$((t1 - t0))
R_FIGURE="$N sessions, $(awk -v b=$bytes -v ms=$ms \
    'BEGIN { printf "%.1f", b / 1048576 / (ms / 1000) }') MB/s total, \
slowest exit $slow ms"
[ -z "$bad" ] || fail "$bad"
no_leftovers
temp_dirs_gone "every session directory"
result
exit 0
