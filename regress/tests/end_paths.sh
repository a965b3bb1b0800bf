# Every way a session ends, ends it (issue 12), one row per path, each
# through real programs in a real terminal (tmux): Ctrl-D, `exit 5`,
# `kill -9 $$`, the terminal closed (SIGHUP), the client killed with
# SIGTERM and SIGKILL, `~.` on a temporary session, `~.` on a persistent
# one then reattach and Ctrl-D, Ctrl-C on an exec client, `exec -- yes |
# head -1`, `shutdown` with an exec running, `exit` with an exec running,
# the agent and capsem-hostd killed, a VM command that never connects, an
# install without its children, a shell that does not exist.  Each row
# checks the bound (from the act to the client's exit and to the last
# process gone), the exit status, the message the user sees, that no
# process is left (by the session directory in a command line and by the
# test tag in the environment) and that a temporary directory is gone.
. "$CAPSEM_TOP/regress/lib.sh"
. "$CAPSEM_TOP/regress/hostlib.sh"

command -v tmux >/dev/null 2>&1 || { echo "skipped: no tmux"; exit 0; }

END_BOUND_MS=3000	# issue 12: everything gone within 3 s
ROWS=0

# Processes of the system under test: the tag in their environment, or
# the session directory in their command line (the test's own sh, tmux
# and tools aside).
left_pids() {	# [DIR]
	for d in /proc/[0-9]*; do
		pid=${d#/proc/}
		[ "$pid" != $$ ] || continue
		comm=$(cat "$d/comm" 2>/dev/null) || continue
		case $comm in
		capsem*|bash|yes|sleep|seq|head) ;;
		*) continue ;;
		esac
		state=$(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' \
		    "$d/status" 2>/dev/null)
		[ "$state" != Z ] || continue
		if [ "$comm" = sleep ] && ! tr '\0' ' ' <"$d/cmdline" \
		    2>/dev/null | grep -q '^sleep 3017'; then
			continue
		fi
		if tr '\0' '\n' 2>/dev/null <"$d/environ" |
		    grep -qxF "CAPSEM_TESTTAG=$TESTDIR" ||
		    { [ -n "${1:-}" ] && tr '\0' ' ' 2>/dev/null \
		    <"$d/cmdline" | grep -qF -- "$1"; }; then
			printf '%s\n' "$pid"
		fi
	done
}

none_left() {	# [DIR]
	[ -z "$(left_pids "${1:-}")" ]
}

# row_end NAME T0 RC [DIR]: the client's status, and within the bound of
# T0 nothing of the session is left (and a temporary DIR is gone).
row_end() {
	rn=$1 t0=$2 want=$3 sd=${4:-}
	WU_HINT="pane_tail $rn"
	wait_until 10 "row $rn: the client to exit" has_rc "$rn"
	WU_HINT=
	rc=$(rc_of "$rn")
	[ "$rc" = "$want" ] || fail "row $rn: exit $rc, not $want \
(stderr: $(head -c 300 "$rn.err" | tr '\n' ' '))"
	wu_end=$((t0 + END_BOUND_MS))
	until none_left "$sd"; do
		[ "$(now_ms)" -lt "$wu_end" ] || fail "row $rn: left after \
$END_BOUND_MS ms: $(describe_pids $(left_pids "$sd"))"
		sleep 0.02
	done
	tend=$(cat "$rn.tend")
	[ $((tend - t0)) -le $END_BOUND_MS ] ||
	    fail "row $rn: the client took $((tend - t0)) ms to exit"
	ROWS=$((ROWS + 1))
}

# row_gone NAME T0 DIR: as row_end, for a client that cannot report (its
# terminal was closed): nothing left, and the directory gone.
row_gone() {
	rn=$1 t0=$2 sd=$3
	wu_end=$((t0 + END_BOUND_MS))
	until none_left "$sd" && { [ -z "$sd" ] || [ ! -e "$sd" ]; }; do
		[ "$(now_ms)" -lt "$wu_end" ] || fail "row $rn: left after \
$END_BOUND_MS ms: $(describe_pids $(left_pids "$sd")) $(ls -d "$sd" \
		    2>/dev/null)"
		sleep 0.02
	done
	ROWS=$((ROWS + 1))
}

says() {	# NAME TEXT: the client's stderr says TEXT
	grep -qF -- "$2" "$TESTDIR/$1.err" ||
	    fail "row $1: no \"$2\" in its stderr: $(head -c 300 \
	    "$TESTDIR/$1.err" | tr '\n' ' ')"
}

gone() {	# DIR
	wait_until 3 "$1 to be removed" test ! -e "$1"
}

pid_of_client() {	# NAME: the capsem-shell of window NAME
	tp=$(tm display-message -p -t "=main:$1" '#{pane_pid}')
	for c in $(children_of "$tp"); do
		[ "$(cat "/proc/$c/comm" 2>/dev/null)" = capsem-shell ] &&
		    { echo "$c"; return 0; }
	done
	return 1
}

# A persistent session made with `new -d`, in $PDIR.
new_session() {
	PDIR=$TESTDIR/p.$1
	capsem-shell new -d -S "$PDIR" --shell "$SHELLCMD" -e "$PS1ENV" \
	    -e "CAPSEM_TESTTAG=$TESTDIR" 2>"$TESTDIR/$1.new.err" ||
	    fail "row $1: new: $(cat "$TESTDIR/$1.new.err")"
	wait_until 15 "row $1: the persistent session to connect" \
	    state_is "$PDIR" connected
}

exec_running() {	# the long exec command runs
	[ -n "$(pgrep -f '^sleep 3017')" ]
}

# --- the table ------------------------------------------------------------

tm_temp_session ctrl_d
t0=$(now_ms); keys ctrl_d C-d
row_end ctrl_d "$t0" 0 "$SESSDIR"; gone "$SESSDIR"

tm_temp_session exit5
t0=$(now_ms); type_line exit5 'exit 5'
row_end exit5 "$t0" 5 "$SESSDIR"; gone "$SESSDIR"

tm_temp_session kill9
t0=$(now_ms); type_line kill9 'kill -9 $$'
row_end kill9 "$t0" 137 "$SESSDIR"; gone "$SESSDIR"

tm_temp_session hup
t0=$(now_ms); tm kill-window -t "=main:hup"
row_gone hup "$t0" "$SESSDIR"

tm_temp_session term
t0=$(now_ms); kill -TERM "$(pid_of_client term)"
row_end term "$t0" 143 "$SESSDIR"; gone "$SESSDIR"

tm_temp_session kill
t0=$(now_ms); kill -KILL "$(pid_of_client kill)"
row_end kill "$t0" 137 "$SESSDIR"; gone "$SESSDIR"

tm_temp_session tilde
t0=$(now_ms); keys tilde Enter '~' '.'
row_end tilde "$t0" 255 "$SESSDIR"; gone "$SESSDIR"
says tilde "the temporary session ends"

new_session ptilde
tm_run ptilde capsem-shell -S "$PDIR"
wait_until 10 "row ptilde: the prompt" pane_prompt ptilde
keys ptilde Enter '~' '.'
wait_rc ptilde 5
[ "$rc" = 255 ] || fail "row ptilde: ~. exit $rc, not 255"
says ptilde "the session goes on"
state_is "$PDIR" connected || fail "row ptilde: the session did not go on"
tm_run ptilde2 capsem-shell -S "$PDIR"
wait_until 10 "row ptilde2: the prompt" pane_prompt ptilde2
t0=$(now_ms); keys ptilde2 C-d
row_end ptilde2 "$t0" 0 "$PDIR"
state_is "$PDIR" exited || fail "row ptilde2: session.json not exited"

tm_run execint capsem-shell exec -- sleep 3017
wait_until 15 "row execint: the command to run" exec_running
# ^C goes to the pane's whole foreground group: no status is recorded.
t0=$(now_ms); keys execint C-c
row_gone execint "$t0" ""
[ -z "$(temp_dirs)" ] || fail "row execint: left: $(temp_dirs)"

tm_run yes sh -c 'capsem-shell exec -- yes | head -n 1'
row_end yes "$(now_ms)" 0
[ -z "$(temp_dirs)" ] || fail "row yes: left: $(temp_dirs)"

new_session shut
tm_run shutexec capsem-shell exec -S "$PDIR" -- sleep 3017
wait_until 15 "row shut: the command to run" exec_running
t0=$(now_ms)
capsem-shell shutdown -S "$PDIR" 2>"$TESTDIR/shut.err" ||
    fail "row shut: shutdown: $(cat "$TESTDIR/shut.err")"
wait_rc shutexec 5
[ "$rc" != 0 ] || fail "row shut: the exec client exited 0"
row_end shutexec "$t0" "$rc" "$PDIR"
state_is "$PDIR" exited || fail "row shut: session.json not exited"

tm_temp_session exitexec
tm_run exitexec2 capsem-shell exec -S "$SESSDIR" -- sleep 3017
wait_until 15 "row exitexec: the command to run" exec_running
t0=$(now_ms); type_line exitexec exit
row_end exitexec "$t0" 0 "$SESSDIR"; gone "$SESSDIR"
wait_rc exitexec2 5
[ "$rc" != 0 ] || fail "row exitexec: the exec client exited 0"

tm_temp_session agent9
ap=$(json_field "$SESSDIR/session.json" vm_pid)
t0=$(now_ms); kill -KILL "$ap"
row_end agent9 "$t0" 255 "$SESSDIR"; gone "$SESSDIR"
says agent9 "the VM exited before the shell did"

new_session hostd9
hp=$(json_field "$PDIR/session.json" hostd_pid)
kill -KILL "$hp"
wait_until 5 "row hostd9: capsem-hostd gone" eval '! kill -0 "$hp" 2>/dev/null'
start_hostd "$PDIR"
wait_until 15 "row hostd9: the guest back" state_is "$PDIR" connected
tm_run hostd9 capsem-shell -S "$PDIR"
wait_until 10 "row hostd9: the prompt" pane_prompt hostd9
t0=$(now_ms); keys hostd9 C-d
row_end hostd9 "$t0" 0 "$PDIR"
wait_for "$HOSTDPID" 5
HOSTDPID=
[ "$st" = 0 ] || fail "row hostd9: the new capsem-hostd exited $st"

t0=$(now_ms)
tm_run novm capsem-shell --vm 'exec sleep 3017' --boot-timeout 2
wait_until 10 "row novm: the client to exit" has_rc novm
row_end novm "$((t0 + 2000))" 255
says novm "the guest did not connect within 2 s"
[ -z "$(temp_dirs)" ] || fail "row novm: left: $(temp_dirs)"

# An install without its children: the programs alone, no libexec.
mkdir -p "$TESTDIR/inst/bin" "$TESTDIR/inst/sbin"
cp "$(command -v capsem-shell)" "$TESTDIR/inst/bin/"
cp "$(command -v capsem-hostd)" "$(command -v capsem-agent)" \
    "$TESTDIR/inst/sbin/"
t0=$(now_ms)
tm_run nochild env -u CAPSEM_LIBEXECDIR "$TESTDIR/inst/bin/capsem-shell" \
    --shell "$SHELLCMD"
wait_until 10 "row nochild: the client to exit" has_rc nochild
row_end nochild "$((t0 + 7000))" 255	# issue 12: within 10 s
says nochild "capsem-"
grep -q "No such file or directory" "$TESTDIR/nochild.err" ||
    fail "row nochild: no reason: $(head -c 300 "$TESTDIR/nochild.err")"
[ -z "$(temp_dirs)" ] || fail "row nochild: left: $(temp_dirs)"

t0=$(now_ms)
tm_run noshell capsem-shell --shell /nonexistent/sh
row_end noshell "$t0" 255
says noshell "/nonexistent/sh: No such file or directory"
[ -z "$(temp_dirs)" ] || fail "row noshell: left: $(temp_dirs)"

echo "$ROWS rows"
no_leftovers
exit 0
