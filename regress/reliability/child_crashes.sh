# Child crashes: in one live session, SIGKILL each agent child
# (capsem-agent-term, -control, -audit) and each host child
# (capsem-hostd-control, capsem-hostd-stream of the audit port) N times,
# each kill once the previous one is repaired (a new child of that role
# runs and the session is connected again).  Each death must be logged
# exactly once (by pid); at the end an exec answers and the shell keeps the
# variable set at the start.  Figure: the most restarts seen in any 1 s
# window (the backoff must bound it), and the median repair time.
R_NAME=child_crashes
. "$CAPSEM_TOP/regress/reliability/rlib.sh"

N=$(count 50 3)
scenario_session
set_mark

# role_pid PARENT NAME: the one child of PARENT whose command is NAME.
role_pid() {
	pgrep -P "$1" -x "$(printf '%s' "$2" | cut -c1-15)" | head -n 1
}
repaired() {	# PARENT NAME OLDPID
	np=$(role_pid "$1" "$2")
	[ -n "$np" ] && [ "$np" != "$3" ] && state_is "$S" connected
}

: >stamps
: >repair
i=0
for role in agent-term agent-control agent-audit hostd-control hostd-stream
do
	case $role in
	agent-*) parent=$HOSTDAGENT plog=$alog ;;
	hostd-*) parent=$HOSTDPID plog=$log ;;
	esac
	k=0
	while [ $k -lt "$N" ]; do
		k=$((k + 1))
		i=$((i + 1))
		R_RUNS=$i
		WU_HINT="tail -n 2 $plog | tr '\n' ' '"
		wait_until 10 "a capsem-$role child to kill (kill $k)" eval \
		    '[ -n "$(role_pid $parent capsem-$role)" ]'
		old=$(role_pid "$parent" "capsem-$role")
		t0=$(now_ms)
		kill -9 "$old"
		wait_until 20 "capsem-$role to be restarted (kill $k)" \
		    repaired "$parent" "capsem-$role" "$old"
		WU_HINT=
		t1=$(now_ms)
		echo "$t1" >>stamps
		echo $((t1 - t0)) >>repair
		kill -0 "$cpid" 2>/dev/null || fail "capsem-$role kill $k: \
the client exited: $(head -c 200 err)"
		n=$(log_count "$plog" "$LL_CHILD_DIED" PID="$old" \
		    HOW="$(ll "$LL_EXIT_SIGNAL" SIG=9)")
		[ "$n" = 1 ] || fail "capsem-$role (pid $old) death logged $n \
times"
		R_PASSED=$i
	done
done

# The most restarts within any 1000 ms.
rps=$(sort -n stamps | awk '{ t[NR] = $1 } END {
	j = 1; for (i = 1; i <= NR; i++) {
		while (t[i] - t[j] >= 1000) j++
		if (i - j + 1 > m) m = i - j + 1 }
	print m + 0 }')
R_FIGURE="max $rps restarts/s, median repair $(median <repair) ms"

exec_ok "$S" "after the crashes"
printf 'echo mark=$MARK\n' >&4
wait_until 10 "the variable after the crashes" eval \
    'plain <out | grep -qx "mark=m$$"'
end_client err
scenario_end
