# Helpers for the host side integration tests (regress/tests/host_*.sh),
# sourced after regress/lib.sh (POSIX sh, run by dash).  They drive the
# real programs: capsem-shell, capsem-hostd (with its libexec children) and
# capsem-agent in local mode, and terminals through a private tmux server
# (tmux -L capsemtest$$, never the user's).  Every wait polls a condition
# against a deadline; nothing synchronizes on a fixed sleep.  cleanup (run
# by fail and on exit) kills the tmux server and every process this test
# started, found by the tag CAPSEM_TESTTAG in their environment.

for p in capsem-shell capsem-hostd capsem-agent; do
	command -v "$p" >/dev/null 2>&1 || fail "$p not in PATH"
done
for p in capsem-hostd-control capsem-hostd-stream; do
	[ -x "$CAPSEM_LIBEXECDIR/$p" ] || fail "no $CAPSEM_LIBEXECDIR/$p"
done

TM_SOCK=capsemtest$$
TM_STARTED=
EXTRA_RM=
SESSDIR=
HOSTDPID=
HOSTDAGENT=
export CAPSEM_TESTTAG="$TESTDIR"
mkdir -p "$TESTDIR/tmp" || exit 1
export TMPDIR="$TESTDIR/tmp"
PS1ENV='PS1=capsem$ '

# tag_pids: processes (not zombies) carrying our tag that belong to the
# system under test: capsem programs, the remote bash and anything it ran.
# The test's own sh, tmux and tools are not counted.
tag_pids() {
	for d in /proc/[0-9]*; do
		pid=${d#/proc/}
		[ "$pid" != $$ ] || continue
		tr '\0' '\n' 2>/dev/null <"$d/environ" |
		    grep -qxF "CAPSEM_TESTTAG=$TESTDIR" || continue
		comm=$(cat "$d/comm" 2>/dev/null) || continue
		state=$(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' \
		    "$d/status" 2>/dev/null)
		[ "$state" != Z ] || continue
		case $comm in
		capsem*|bash|seq|head) printf '%s\n' "$pid" ;;
		sleep)
			tr '\0' ' ' 2>/dev/null <"$d/cmdline" |
			    grep -q '^sleep 3017' && printf '%s\n' "$pid" ;;
		esac
	done
}

# Describe processes for a failure message.
describe_pids() {
	for pid in "$@"; do
		printf '%s:%s ' "$pid" "$(tr '\0' ' ' 2>/dev/null \
		    <"/proc/$pid/cmdline" | cut -c1-60)"
	done
}

cleanup() {
	for p in $WATCHDOGS $AGENTPID $HOSTPID $HOSTDPID $HOSTDAGENT; do
		kill "$p" 2>/dev/null
	done
	WATCHDOGS=
	WU_HINT=
	if [ -n "$TM_STARTED" ]; then
		tmux -L "$TM_SOCK" kill-server 2>/dev/null
		rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$TM_SOCK"
		TM_STARTED=
	fi
	left=$(tag_pids)
	[ -z "$left" ] || kill -9 $left 2>/dev/null
	chmod -R u+rwX "$TESTDIR/tmp" 2>/dev/null
	[ -z "$EXTRA_RM" ] || rm -rf $EXTRA_RM
	EXTRA_RM=
}
# Not TERM: lib.sh's wait_for kills its watchdog subshell with SIGTERM,
# possibly right after the fork, when the child still has our handler and
# would then run its whole sleep.
trap 'cleanup' EXIT
trap 'cleanup; exit 1' INT HUP

# now_ms and wait_until are in regress/lib.sh.

file_has() {	# FILE STRING
	grep -aqF -- "$2" "$1" 2>/dev/null
}

# shq ARG: ARG quoted for sh.
shq() {
	printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"
}

# --- tmux -----------------------------------------------------------------

tm() {
	tmux -L "$TM_SOCK" "$@"
}

# tm_run NAME COMMAND [ARG...]: run COMMAND in a new tmux window NAME
# (the first makes the session: 100x30, no status line, panes stay after
# their command ends).  A wrapper records `stty -a` of the pane before and
# after, the end time (ms) in NAME.tend and the exit status in NAME.rc
# (written last, so NAME.rc appearing means all of it is there).
tm_run() {
	n=$1
	shift
	cmd=
	for a in "$@"; do
		cmd="$cmd $(shq "$a")"
	done
	{
		printf 'cd %s || exit 1\n' "$(shq "$TESTDIR")"
		printf 'stty -a >%s.stty0 2>&1\n' "$n"
		printf '%s 2>%s.err\n' "$cmd" "$n"
		printf 'rc=$?\n'
		printf 'read -r up idle </proc/uptime\n'
		printf 'printf "%%s0\\n" "${up%%%%.*}${up#*.}" >%s.tend\n' \
		    "$n"
		printf 'stty -a >%s.stty1 2>&1\n' "$n"
		printf 'printf "%%s\\n" $rc >%s.rc.tmp\n' "$n"
		printf 'mv %s.rc.tmp %s.rc\n' "$n" "$n"
	} >"$TESTDIR/$n.wrap"
	if [ -z "$TM_STARTED" ]; then
		printf 'set -g remain-on-exit on\nset -g status off\n' \
		    >"$TESTDIR/tmux.conf"
		printf 'set -g history-limit 20000\n' >>"$TESTDIR/tmux.conf"
		TM_STARTED=1
		tm -f "$TESTDIR/tmux.conf" new-session -d -s main -x 100 \
		    -y 30 -n "$n" "sh $TESTDIR/$n.wrap" ||
		    fail "tmux new-session failed"
	else
		tm new-window -d -t main: -n "$n" "sh $TESTDIR/$n.wrap" ||
		    fail "tmux new-window $n failed"
	fi
}

# pane NAME: the whole pane (history included), lines joined.
pane() {
	tm capture-pane -p -J -S - -t "=main:$1" 2>/dev/null
}

# pane_line NAME LINE: a line of the pane is exactly LINE.
pane_line() {
	pane "$1" | sed 's/ *$//' | grep -qxF -- "$2"
}

pane_has() {
	pane "$1" | grep -qF -- "$2"
}

pane_tail() {	# NAME: its last lines, for a failure message
	pane "$1" | sed '/^$/d' | tail -n 3 | tr '\n' '|'
	printf ' stderr: %s' "$(tail -n 2 "$TESTDIR/$1.err" 2>/dev/null |
	    tr '\n' ' ')"
}

# The prompt is the last non-empty line.
pane_prompt() {
	[ "$(pane "$1" | sed 's/ *$//; /^$/d' | tail -n 1)" = 'capsem$' ]
}

# is_raw NAME: the pane's terminal is in raw mode (capsem-shell holds it).
is_raw() {
	rt=$(tm display-message -p -t "=main:$1" '#{pane_tty}' 2>/dev/null)
	[ -n "$rt" ] && stty -F "$rt" -a 2>/dev/null | grep -q -- '-icanon'
}

wait_raw() {	# NAME
	WU_HINT="pane_tail $1"
	wait_until 10 "capsem-shell to put window $1's terminal in raw mode" \
	    is_raw "$1"
	WU_HINT=
}

# type NAME TEXT: type TEXT then Enter in window NAME.
type_line() {
	tm send-keys -t "=main:$1" -l -- "$2" || fail "send-keys to $1"
	tm send-keys -t "=main:$1" Enter
}

keys() {
	n=$1
	shift
	tm send-keys -t "=main:$n" "$@" || fail "send-keys to $n"
}

rc_of() {
	cat "$TESTDIR/$1.rc" 2>/dev/null
}

has_rc() {
	[ -f "$TESTDIR/$1.rc" ]
}

# wait_rc NAME SECONDS: the command of window NAME ended; its status in $rc.
wait_rc() {
	WU_HINT="pane_tail $1"
	wait_until "$2" "the client in window $1 to exit" has_rc "$1"
	WU_HINT=
	rc=$(rc_of "$1")
}

# Nothing in a pane that should never reach a terminal: U+FFFD, a msgpack
# frame marker, a pong.
pane_clean() {
	tm capture-pane -p -e -J -S - -t "=main:$1" >"$TESTDIR/$1.screen"
	! grep -q pong "$TESTDIR/$1.screen" || fail "$1: 'pong' on the screen"
	! grep -qF "$(printf '\357\277\275')" "$TESTDIR/$1.screen" ||
	    fail "$1: U+FFFD on the screen"
	! grep -qF "$(printf '\201\241')" "$TESTDIR/$1.screen" ||
	    fail "$1: a msgpack marker on the screen"
}

# same_stty NAME: the pane's terminal modes after are those before (the
# size aside: a test may resize the window).
same_stty() {
	for f in stty0 stty1; do
		sed 's/rows [0-9]*; columns [0-9]*;//' "$TESTDIR/$1.$f" \
		    >"$TESTDIR/$1.$f.modes"
	done
	cmp -s "$TESTDIR/$1.stty0.modes" "$TESTDIR/$1.stty1.modes" ||
	    fail "$1: terminal modes not restored: $(diff \
	    "$TESTDIR/$1.stty0.modes" "$TESTDIR/$1.stty1.modes" |
	    grep '^[<>]' | head -4 | tr '\n' ' ')"
}

# plain: terminal output as lines of text (CR and escape sequences removed).
plain() {
	# CSI sequences (with private and intermediate bytes), OSC strings up
	# to BEL, and two- or three-byte escapes (ESC =, ESC >, ESC ( B), as
	# a late client's screen snapshot sends them.
	pl_e=$(printf '\033')
	pl_b=$(printf '\007')
	tr -d '\r' | sed -e "s#$pl_e\][^$pl_b]*$pl_b##g" \
	    -e "s#$pl_e\[[0-?]*[ -/]*[@-~]##g" \
	    -e "s#$pl_e[()*+][0-9A-Za-z]##g" -e "s#$pl_e[=>78DEHMNOZc]##g"
}

# --- sessions -------------------------------------------------------------

# temp_dirs: the temporary session directories capsem-shell made.
temp_dirs() {
	ls -d "$TMPDIR"/capsem.* 2>/dev/null
}

new_temp_dir() {	# BEFORE-LIST: a dir not in it with attach.sock
	for d in $(temp_dirs); do
		case " $1 " in *" $d "*) continue ;; esac
		[ -S "$d/attach.sock" ] || continue
		printf '%s\n' "$d"
		return 0
	done
	return 1
}

has_new_temp_dir() {
	[ -n "$(new_temp_dir "$1")" ]
}

# wait_temp_dir BEFORE-LIST: the new session dir, in $SESSDIR.
wait_temp_dir() {
	wait_until 10 "a temporary session directory in $TMPDIR" \
	    has_new_temp_dir "$1"
	SESSDIR=$(new_temp_dir "$1")
}

no_tag_pids() {
	[ -z "$(tag_pids)" ]
}

# no_leftovers: within 5 s, no process of the system under test is left.
no_leftovers() {
	wu_end=$(($(now_ms) + 5000))
	until no_tag_pids; do
		[ "$(now_ms)" -lt "$wu_end" ] || fail "processes left: \
$(describe_pids $(tag_pids))"
		sleep 0.05
	done
}

# end_attached DIR FIRST OTHER...: the OTHER panes' clients leave with ~.
# (status 255), then a shutdown of the session in DIR ends FIRST's client
# and the session (129 for both), and nothing is left.
end_attached() {
	ea_d=$1 ea_first=$2
	shift 2
	for w in "$@"; do
		keys "$w" Enter '~' '.'
		wait_rc "$w" 5
		[ "$rc" = 255 ] || fail "$w: ~. exit $rc"
	done
	shutdown_session "$ea_d"
	wait_rc "$ea_first" 5
	[ "$rc" = 129 ] || fail "shutdown: $ea_first exited $rc, not 129"
	session_exits 129 "after shutdown"
	no_leftovers
}

json_field() {	# FILE KEY: a scalar field of a one-object JSON file
	sed -n "s/.*\"$2\": *\"\{0,1\}\([^,\"}]*\).*/\1/p" "$1" 2>/dev/null |
	    head -n 1
}

state_is() {	# DIR STATE
	[ "$(json_field "$1/session.json" state)" = "$2" ]
}

hostd_ready() {
	[ "$(cat "$1" 2>/dev/null)" = 1 ]
}

# start_hostd DIR [hostd args...]: capsem-hostd in the foreground (as a
# child of this shell, $HOSTDPID) on DIR, waited for through --ready-fd.
# Its stderr is in $TESTDIR/BASENAME.hostd.log, the agent's in
# $TESTDIR/BASENAME.agent.log.
start_hostd() {
	sd=$1
	shift
	sb=$TESTDIR/${sd##*/}
	mkdir -p "$sd" && chmod 700 "$sd" || fail "mkdir $sd"
	rm -f "$sb.ready"
	capsem-hostd -d -v -e "$PS1ENV" -e "CAPSEM_TESTTAG=$TESTDIR" -R 3 \
	    -S "$sd" "$@" 3>"$sb.ready" 2>>"$sb.hostd.log" &
	HOSTDPID=$!
	wu_end=$(($(now_ms) + 10000))
	until hostd_ready "$sb.ready"; do
		kill -0 "$HOSTDPID" 2>/dev/null || fail "capsem-hostd exited \
early: $(tail -n 1 "$sb.hostd.log")"
		[ "$(now_ms)" -lt "$wu_end" ] ||
		    fail "capsem-hostd not ready in 10 s"
		sleep 0.02
	done
	[ -S "$sd/attach.sock" ] || fail "no $sd/attach.sock once ready"
}

# start_local_agent DIR: capsem-agent in local mode on DIR's transport
# ($HOSTDAGENT), workspace $TESTDIR/ws, audit log $TESTDIR/guest-audit.log.
start_local_agent() {
	mkdir -p "$TESTDIR/ws"
	: >>"$TESTDIR/guest-audit.log"
	setsid capsem-agent -d -v -t "unix:$1" -s "$SHELLCMD" \
	    -w "$TESTDIR/ws" -a "$TESTDIR/guest-audit.log" \
	    -b "$TESTDIR/bt.jsonl" >>"$TESTDIR/${1##*/}.agent.log" 2>&1 &
	HOSTDAGENT=$!
}

# start_session DIR: hostd + agent, connected.
start_session() {
	start_hostd "$1"
	start_local_agent "$1"
	wait_until 15 "session $1 connected (session.json: \
$(cat "$1/session.json" 2>/dev/null))" state_is "$1" connected
}

# exec_ok DIR WHEN: an exec on the session in DIR answers: `echo ok`
# prints ok (WHEN, e.g. "after the restart", names it in a failure).
exec_ok() {
	capsem-shell exec -S "$1" -- echo ok >"$TESTDIR/exec.out" \
	    2>"$TESTDIR/exec.err" ||
	    fail "exec $2: $(head -c 200 "$TESTDIR/exec.err")"
	grep -qx ok "$TESTDIR/exec.out" ||
	    fail "exec $2 printed: $(head -c 100 "$TESTDIR/exec.out")"
}

# shutdown_session DIR: `capsem-shell shutdown` of the session in DIR
# succeeds (its output in $TESTDIR/shutdown.out).
shutdown_session() {
	capsem-shell shutdown -S "$1" >"$TESTDIR/shutdown.out" 2>&1 ||
	    fail "shutdown: exit $?: $(head -c 200 "$TESTDIR/shutdown.out")"
}

# session_exits STATUS [WHEN]: capsem-hostd ($HOSTDPID), then the local
# agent ($HOSTDAGENT), each exits with STATUS within 10 s (WHEN, e.g.
# "after shutdown", for the failure message).
session_exits() {
	wait_for "$HOSTDPID" 10
	HOSTDPID=
	[ "$st" = "$1" ] || fail "capsem-hostd exited $st${2:+ $2}, not $1"
	wait_for "$HOSTDAGENT" 10
	HOSTDAGENT=
	[ "$st" = "$1" ] || fail "the agent exited $st${2:+ $2}, not $1"
}

# temp_dirs_gone WHAT: within 5 s no session directory is left in
# $TMPDIR (WHAT: whose, for the failure message).
temp_dirs_gone() {
	wait_until 5 "$1 to be removed" eval '[ -z "$(ls -A "$TMPDIR")" ]'
}

# --- capsem-hostd restarts ------------------------------------------------

# hostd_children: a process of the system under test is still a
# capsem-hostd (the parent or one of its children).
hostd_children() {
	for pid in $(tag_pids); do
		case $(cat "/proc/$pid/comm" 2>/dev/null) in
		capsem-hostd*) return 0 ;;
		esac
	done
	return 1
}

# new_connected DIR: session.json names the current capsem-hostd
# ($HOSTDPID) and says connected.
new_connected() {
	[ "$(json_field "$1/session.json" hostd_pid)" = "$HOSTDPID" ] &&
	    state_is "$1" connected
}

# kill_hostd: SIGKILL to capsem-hostd, reaped within 5 s.
kill_hostd() {
	kill -9 "$HOSTDPID"
	wait_for "$HOSTDPID" 5
	HOSTDPID=
}

# restart_hostd DIR SECONDS [WHEN]: after kill_hostd: its children go
# away within 5 s, the agent lives on, and a new capsem-hostd on DIR has
# the agent reconnected within SECONDS (WHEN, e.g. "restart 3", for the
# failure messages).
restart_hostd() {
	rh_when=${3:+ ($3)}
	wait_until 5 "capsem-hostd's children to exit$rh_when" \
	    eval '! hostd_children'
	kill -0 "$HOSTDAGENT" 2>/dev/null ||
	    fail "the agent died with capsem-hostd$rh_when"
	start_hostd "$1"
	WU_HINT="cat $1/session.json"
	wait_until "$2" "the agent to reconnect to the new capsem-hostd$rh_when" \
	    new_connected "$1"
	WU_HINT=
}

# selftest_session N DIR SIDE ROLE:WHAT: hostd and a local agent on DIR,
# with CAPSEM_SANDBOX_SELFTEST=ROLE:WHAT for SIDE (hostd or agent) only;
# for an exec ROLE, the first exec (whose stream child is the one asked to
# try) is run.
selftest_session() {
	[ "$3" = hostd ] && export CAPSEM_SANDBOX_SELFTEST="$4"
	start_hostd "$2"
	unset CAPSEM_SANDBOX_SELFTEST
	[ "$3" = agent ] && export CAPSEM_SANDBOX_SELFTEST="$4"
	start_local_agent "$2"
	unset CAPSEM_SANDBOX_SELFTEST
	if [ "${4%%:*}" = exec ]; then
		wait_until 20 "session $1 connected" state_is "$2" connected
		timeout 30 capsem-shell exec -S "$2" -- \
		    sh -c 'sleep 1; echo first' >/dev/null 2>&1
	fi
	return 0
}

# audit_probe N: one complete execve event (SYSCALL, EXECVE, CWD, EOE) of
# a guest audit log, older than every vector event; its record says
# "--probe-N".
audit_probe() {
	id="1713000000.000:$1"
	printf '%s %s %s %s %s %s\n' "type=SYSCALL msg=audit($id):" \
	    'arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 a2=3' \
	    "a3=0 items=2 ppid=1 pid=$1 auid=0 uid=0 gid=0 euid=0 suid=0" \
	    'fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=1 comm="true"' \
	    'exe="/usr/bin/true"' 'key="capsem_exec"'
	printf 'type=EXECVE msg=audit(%s): argc=2 a0="true" a1="--probe-%s"\n' \
	    "$id" "$1"
	printf 'type=CWD msg=audit(%s): cwd="/"\n' "$id"
	printf 'type=EOE msg=audit(%s): \n' "$id"
}

# tm_temp_session NAME: a temporary session (capsem-shell, the test's shell
# and tag) in tmux window NAME, at its prompt; its directory in $SESSDIR.
tm_temp_session() {
	before=$(temp_dirs)
	tm_run "$1" capsem-shell --shell "$SHELLCMD" -e "$PS1ENV" \
	    -e "CAPSEM_TESTTAG=$TESTDIR"
	wait_temp_dir "$before"
	WU_HINT="pane_tail $1"
	wait_until 15 "window $1: the prompt" pane_prompt "$1"
	WU_HINT=
}
