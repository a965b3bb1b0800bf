# Orphans: N sessions, each ended by one of the ways out chosen at random
# (the client killed with SIGKILL, SIGTERM or SIGHUP, `exit 5` typed, an
# exec client interrupted, `exec -- yes | head -1`, `shutdown` of a
# persistent session with an exec running, the agent killed).  After
# each, nothing of that session may be left (no process with its
# directory in the command line or with the test's tag) and a temporary
# directory must be gone, within 3 s of the act; at the end no process
# and no directory at all.  Figure: the slowest end (act to last process
# gone), and the median.
R_NAME=orphans
. "$CAPSEM_TOP/regress/reliability/rlib.sh"

N=$(count 200 10)
BOUND_MS=3000
PATHS="sigkill sigterm sighup exit5 execint execpipe shutdown agentkill"
NPATHS=8
: >times
seed=$(od -An -N2 -tu2 /dev/urandom | tr -d " ")	# mawk: small seeds only
echo "seed $seed"

# The path of run I, from the seed: random, but the same for one seed.
path_of() {
	awk -v s="$seed" -v i="$1" -v n="$NPATHS" 'BEGIN {
		srand(s + i); print int(rand() * n) + 1 }' |
	    { read -r k; set -- $PATHS; eval "echo \${$k}"; }
}

# left DIR: processes of the session in DIR (command line) or tagged.
left() {
	for d in /proc/[0-9]*; do
		pid=${d#/proc/}
		[ "$pid" != $$ ] || continue
		comm=$(cat "$d/comm" 2>/dev/null) || continue
		case $comm in
		capsem*|bash|yes|sleep|head) ;;
		*) continue ;;
		esac
		sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' "$d/status" \
		    2>/dev/null | grep -q Z && continue
		if [ "$comm" = sleep ] && ! tr '\0' ' ' <"$d/cmdline" \
		    2>/dev/null | grep -q '^sleep 3017'; then
			continue
		fi
		if tr '\0' ' ' <"$d/cmdline" 2>/dev/null |
		    grep -qF -- "$1" || tr '\0' '\n' <"$d/environ" \
		    2>/dev/null | grep -qxF "CAPSEM_TESTTAG=$TESTDIR"; then
			printf '%s ' "$pid"
		fi
	done
}

# ended I T0 DIR: run I's session is gone within the bound of T0.
ended() {
	end=$(($2 + BOUND_MS))
	while [ -n "$(left "$3")" ] || { [ -n "$TEMP" ] && [ -e "$3" ]; }; do
		[ "$(now_ms)" -lt "$end" ] || fail "run $1 ($p): left after \
$BOUND_MS ms: $(describe_pids $(left "$3")) $(ls -d "$3" 2>/dev/null)"
		sleep 0.02
	done
	echo $(($(now_ms) - $2)) >>times
}

# temp_client: a temporary session with a non-tty client on in.fifo (our
# fd 4), connected; its directory in $D, the client in $cpid.
temp_client() {
	before=$(temp_dirs)
	rm -f in.fifo
	mkfifo in.fifo || fail "mkfifo"
	capsem-shell --shell "$SHELLCMD" -e "$PS1ENV" \
	    -e "CAPSEM_TESTTAG=$TESTDIR" <in.fifo >out 2>err &
	cpid=$!
	exec 4>in.fifo
	wait_temp_dir "$before"
	D=$SESSDIR
	wait_until 15 "run $i: connected" state_is "$D" connected
}

exec_running() {
	[ -n "$(pgrep -f '^sleep 3017')" ]
}

i=0
while [ $i -lt "$N" ]; do
	i=$((i + 1))
	R_RUNS=$i
	p=$(path_of "$i")
	TEMP=1
	case $p in
	sigkill|sigterm|sighup)
		temp_client
		t0=$(now_ms)
		kill -"$(echo "$p" | sed 's/^sig//' | tr a-z A-Z)" "$cpid"
		exec 4>&-
		;;
	exit5)
		temp_client
		t0=$(now_ms)
		printf 'exit 5\n' >&4
		wait_for "$cpid" 10
		[ "$st" = 5 ] || fail "run $i ($p): the client exited $st"
		exec 4>&-
		;;
	execint)
		before=$(temp_dirs)
		capsem-shell exec -- sleep 3017 >out 2>err &
		cpid=$!
		wait_until 15 "run $i: the command" exec_running
		D=$(new_temp_dir "$before")
		t0=$(now_ms)
		kill -INT "$cpid"
		;;
	execpipe)
		before=$(temp_dirs)
		t0=$(now_ms)
		o=$(capsem-shell exec -- yes | head -n 1)
		[ "$o" = y ] || fail "run $i ($p): got '$o'"
		D=$TESTDIR/no-such-dir	# the session's dir is gone already
		;;
	shutdown)
		TEMP=
		D=$TESTDIR/p$i
		capsem-shell new -d -S "$D" --shell "$SHELLCMD" \
		    -e "$PS1ENV" -e "CAPSEM_TESTTAG=$TESTDIR" 2>err ||
		    fail "run $i ($p): new: $(cat err)"
		wait_until 15 "run $i: connected" state_is "$D" connected
		capsem-shell exec -S "$D" -- sleep 3017 >out 2>&1 &
		cpid=$!
		wait_until 15 "run $i: the command" exec_running
		t0=$(now_ms)
		capsem-shell shutdown -S "$D" 2>err ||
		    fail "run $i ($p): shutdown: $(cat err)"
		;;
	agentkill)
		temp_client
		t0=$(now_ms)
		kill -KILL "$(json_field "$D/session.json" vm_pid)"
		;;
	esac
	ended "$i" "$t0" "$D"
	[ -z "$TEMP" ] && rm -rf "$D"
	wait 2>/dev/null
	R_PASSED=$i
	R_FIGURE="slowest end $(sort -n times | tail -n 1) ms, median \
$(median <times) ms"
done

no_leftovers
temp_dirs_gone "every session directory"
result
exit 0
