#!/bin/sh
# The in-guest test of `make vm-check`, run by vm/init (busybox sh) when the
# kernel command line has capsem.test=1.  In the guest, as root: the host
# side (capsem-hostd) listens on AF_VSOCK, the agent connects to it over
# vsock loopback (CID 1), and a scripted capsem-shell session checks that
# commands run in the shell, that real kernel audit records of them reach
# audit.jsonl, that exec returns output and status, that a dropped
# transport reconnects to the same shell, and that Ctrl-D ends it with
# shellexited and the shell's status.  One line per check on standard
# output (the serial console):
#   VMCHECK plan N / VMCHECK ok NAME / VMCHECK fail NAME reason
#   VMCHECK done N passed M failed
# vm/vmcheck.sh on the host reads them.  Touches only $VMTEST_DIR.
#
# VMTEST_LOCAL=1 runs the same session on this machine over unix sockets
# (no vsock, no auditd: the audit check then feeds a synthetic log), to
# work on the script without booting a VM; PATH must find the programs.
PLAN=14
LOCAL=${VMTEST_LOCAL:-0}
D=${VMTEST_DIR:-/run/capsem/test}
S=$D/s
passed=0
failed=0
HOSTDPID=
AGENTPID=
CLIENTPID=

rm -rf "$D"
mkdir -p "$D" "$D/ws"
chmod 700 "$D"
echo "VMCHECK plan $PLAN"

ok() {
	passed=$((passed + 1))
	echo "VMCHECK ok $1"
}

# fail NAME REASON: the log tails help when reading the console later.
fail() {
	failed=$((failed + 1))
	echo "VMCHECK fail $1 $2"
	for f in hostd.log agent.log client.out; do
		[ -s "$D/$f" ] || continue
		tail -n 5 "$D/$f" | tr -d '\r' | sed "s|^|VMLOG $f: |"
	done
}

# now_ms: milliseconds since boot.
now_ms() {
	awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime
}

# wait_until MS COMMAND...: poll COMMAND until it succeeds or MS pass.
wait_until() {
	wu_end=$(($(now_ms) + $1))
	shift
	until "$@"; do
		[ "$(now_ms)" -lt "$wu_end" ] || return 1
		sleep 0.05
	done
	return 0
}

file_has() {
	grep -q -- "$2" "$1" 2>/dev/null
}

# json_field FILE KEY: a scalar of session.json (one object, one line or
# several: good enough for numbers and plain strings).
json_field() {
	tr ',{}' '\n\n\n' <"$1" 2>/dev/null |
	    sed -n "s/^ *\"$2\": *\"*\([^\"]*\)\"* *$/\1/p"
}

state_is() {
	[ "$(json_field "$S/session.json" state)" = "$1" ]
}

connections_at_least() {
	c=$(json_field "$S/session.json" connections)
	[ -n "$c" ] && [ "$c" -ge "$1" ]
}

# pids_named PPID PREFIX: processes whose parent is PPID (any if PPID is
# empty) and whose argv[0] starts with PREFIX, from /proc (busybox has no
# pgrep here).
pids_named() {
	for d in /proc/[0-9]*; do
		p=${d#/proc/}
		[ "$p" != $$ ] || continue
		a0=$(tr '\0' '\n' 2>/dev/null <"$d/cmdline" | head -n 1)
		case ${a0##*/} in
		"$2"*) ;;
		*) continue ;;
		esac
		if [ -n "$1" ]; then
			pp=$(sed -n 's/^PPid:[[:space:]]*//p' "$d/status" \
			    2>/dev/null)
			[ "$pp" = "$1" ] || continue
		fi
		echo "$p"
	done
}

pid_gone() {
	! kill -0 "$1" 2>/dev/null
}

# exits_with NAME VAR MS STATUS WHAT [ERRFILE]: the child whose pid is in
# $VAR (WHAT, in the reason) ends within MS ms with STATUS; VAR is then
# cleared (finish has nothing to kill).  ERRFILE's start is shown with a
# wrong status.
exits_with() {
	eval "ew_pid=\$$2"
	if ! wait_until "$3" pid_gone "$ew_pid"; then
		fail "$1" "$5 still running $(($3 / 1000)) s later"
		return
	fi
	wait "$ew_pid"
	rc=$?
	eval "$2="
	if [ "$rc" = "$4" ]; then
		ok "$1"
	else
		fail "$1" "$5 exited $rc, not $4${6:+: $(head -c 200 "$6")}"
	fi
}

client_has() {
	tr -d '\r' <"$D/client.out" 2>/dev/null | grep -q -- "$1\$"
}

# finish: the summary, whatever happened; nothing is left running.
finish() {
	[ -z "$CLIENTPID" ] || kill "$CLIENTPID" 2>/dev/null
	exec 3>&- 2>/dev/null
	[ -z "$AGENTPID" ] || kill "$AGENTPID" 2>/dev/null
	[ -z "$HOSTDPID" ] || kill "$HOSTDPID" 2>/dev/null
	echo "VMCHECK done $passed passed $failed failed"
	exit 0
}

# 1. vsock modules and 2. kernel audit.
if [ "$LOCAL" = 1 ]; then
	ok vsock
	ok auditd
	HT=unix:$S AT=unix:$S AUDITLOG=$D/audit.log HFLAGS=-C
	: >"$AUDITLOG"
else
	# Inside one VM every vsock peer is the loopback CID 1: that is the
	# guest's CID for the real session (check 3a refuses it for another).
	HT=vsock AT=vsock:1 AUDITLOG=/var/log/audit/audit.log HFLAGS="-g 1"
	if grep -q '^vsock_loopback ' /proc/modules; then
		ok vsock
	else
		fail vsock "vsock_loopback not loaded"
	fi
	st=$(auditctl -s 2>&1)
	rules=$(auditctl -l 2>&1)
	if echo "$st" | grep -q '^enabled 1' &&
	    echo "$st" | grep -q '^pid [1-9]' &&
	    echo "$rules" | grep -q 'execve' && [ -f "$AUDITLOG" ]; then
		ok auditd
	else
		fail auditd "$(echo "$st $rules" | tr '\n' ' ' | cut -c1-200)"
	fi
fi

# 3a. A vsock peer that is not the guest is refused (issue 13 item 1):
# a hostd whose guest is CID 7, read from the VM's command line as with
# QEMU's -device vhost-vsock-pci,guest-cid=7 (a stand-in process carries
# it), gets our agent's connections from CID 1 and refuses each one with a
# log line naming the peer, and stays without a guest.
if [ "$LOCAL" = 1 ]; then
	ok cid-refused
else
	R=$D/rogue
	mkdir -p "$R" && chmod 700 "$R"
	sh -c 'sleep 60; :' vm -device vhost-vsock-pci,guest-cid=7 &
	VMSTANDIN=$!
	capsem-hostd -d -t vsock -k "$VMSTANDIN" -S "$R" -R 4 4>"$D/rready" \
	    2>"$D/rogue.log" &
	RHOSTD=$!
	(cd "$D/ws" && exec capsem-agent -d -t vsock:1 -s "/bin/sh" \
	    -w "$D/ws" -a "$AUDITLOG") 2>"$D/rogue-agent.log" &
	RAGENT=$!
	if wait_until 20000 file_has "$D/rogue.log" \
	    'connection from vsock cid 1 port [0-9]* refused: the guest is cid 7' &&
	    [ "$(json_field "$R/session.json" connections)" = 0 ] &&
	    [ "$(json_field "$R/session.json" state)" = starting ] &&
	    kill -0 "$RHOSTD" 2>/dev/null; then
		ok cid-refused
	else
		fail cid-refused "$(tail -n 2 "$D/rogue.log" | tr '\n' ' ' |
		    cut -c1-200)"
	fi
	kill "$RAGENT" "$RHOSTD" "$VMSTANDIN" 2>/dev/null
	wait "$RAGENT" "$RHOSTD" "$VMSTANDIN" 2>/dev/null
fi

# 3. capsem-hostd listening.
mkdir -p "$S" && chmod 700 "$S"
capsem-hostd -d $HFLAGS -t "$HT" -S "$S" -R 4 4>"$D/ready" 2>"$D/hostd.log" &
HOSTDPID=$!
hostd_ready() {
	[ "$(cat "$D/ready" 2>/dev/null)" = 1 ] ||
	    ! kill -0 "$HOSTDPID" 2>/dev/null
}
if wait_until 20000 hostd_ready && [ "$(cat "$D/ready")" = 1 ]; then
	ok hostd-listens
else
	fail hostd-listens "capsem-hostd not ready in 20 s"
	finish
fi

# 4. the agent connects.
(cd "$D/ws" && exec capsem-agent -d -t "$AT" -s "/bin/bash --norc -i" \
    -w "$D/ws" -a "$AUDITLOG" -b /run/capsem/boot-timing.jsonl) \
    2>"$D/agent.log" &
AGENTPID=$!
if wait_until 60000 state_is connected; then
	ok agent-connects
else
	fail agent-connects "session.json: $(cat "$S/session.json" 2>&1 |
	    tr -d '\n' | cut -c1-200)"
	finish
fi

# The client: capsem-shell attached, its input a fifo kept open on fd 3.
mkfifo "$D/in"
capsem-shell -S "$S" <"$D/in" >"$D/client.out" 2>"$D/client.err" &
CLIENTPID=$!
exec 3>"$D/in"
type_line() {
	printf '%s\n' "$1" >&3
}

# 5. a command runs in the shell.
type_line 'echo vm-$((6*7)) pid=$$'
if wait_until 20000 client_has 'vm-42 pid=[0-9][0-9]*'; then
	ok shell-command
	bashpid=$(tr -d '\r' <"$D/client.out" |
	    sed -n 's/.*vm-42 pid=\([0-9]*\)$/\1/p' | head -n 1)
else
	fail shell-command "no vm-42 from the shell"
	bashpid=none
fi

# 6. its audit record: real kernel audit through auditd (locally, a
# synthetic event in the log the agent tails).
if [ "$LOCAL" = 1 ]; then
	printf '%s %s %s\n%s\n%s\n%s\n' \
	    'type=SYSCALL msg=audit(1713000000.000:7): arch=c000003e' \
	    'syscall=59 success=yes exit=0 a0=1 a1=2 a2=3 a3=0 items=2 ppid=1' \
	    'pid=7 uid=0 comm="true" exe="/bin/true"' \
	    'type=EXECVE msg=audit(1713000000.000:7): argc=2 a0="/bin/true" a1="capsem-vm-probe"' \
	    'type=CWD msg=audit(1713000000.000:7): cwd="/"' \
	    'type=EOE msg=audit(1713000000.000:7): ' >>"$AUDITLOG"
else
	type_line '/bin/true capsem-vm-probe'
fi
probe_recorded() {
	grep 'capsem-vm-probe' "$S/audit.jsonl" 2>/dev/null |
	    grep -q '"exe":"/bin/busybox"\|"exe":"/bin/true"'
}
if wait_until 30000 probe_recorded; then
	ok audit-record
	grep 'capsem-vm-probe' "$S/audit.jsonl" | head -n 1 | cut -c1-300 |
	    sed 's/^/VMLOG audit.jsonl: /'
else
	fail audit-record "no record of /bin/true capsem-vm-probe in \
audit.jsonl ($(wc -l <"$S/audit.jsonl" 2>/dev/null) lines)"
fi

# 7. exec: output and status.
capsem-shell exec -S "$S" -- sh -c 'echo exec-out; exit 5' \
    >"$D/exec.out" 2>"$D/exec.err"
rc=$?
if [ "$rc" = 5 ] && [ "$(cat "$D/exec.out")" = exec-out ]; then
	ok exec
else
	fail exec "status $rc, output '$(head -c 100 "$D/exec.out")' \
$(head -c 100 "$D/exec.err")"
fi

# 8. the decoder children are sandboxed: as root they run as _capsem (or
# nobody, where there is no such user, as in the local run) in an empty root.
cpid=$(pids_named "$HOSTDPID" capsem-hostd-control | head -n 1)
apid=$(pids_named "$AGENTPID" capsem-agent-control | head -n 1)
want=$(sed -n 's/^_capsem:[^:]*:\([0-9]*\):.*/\1/p' /etc/passwd)
[ -n "$want" ] || want=$(sed -n 's/^nobody:[^:]*:\([0-9]*\):.*/\1/p' \
    /etc/passwd)
uids=
for p in $cpid $apid; do
	uids="$uids $(sed -n 's/^Uid:[[:space:]]*\([0-9]*\).*/\1/p' \
	    "/proc/$p/status")"
	[ "$(readlink "/proc/$p/root")" != / ] || uids="$uids root=/"
done
if [ -n "$cpid" ] && [ -n "$apid" ] && [ "$uids" = " $want $want" ]; then
	ok sandbox-user
else
	fail sandbox-user "hostd-control '$cpid', agent-control '$apid': \
uids$uids, wanted $want"
fi

# 9. a transport drop: the control child killed, the agent reconnects to
# the same shell.
c0=$(json_field "$S/session.json" connections)
cpid=$(pids_named "$HOSTDPID" capsem-hostd-control | head -n 1)
if [ -n "$cpid" ] && kill -9 "$cpid"; then
	if wait_until 60000 connections_at_least $((c0 + 1)) &&
	    wait_until 30000 state_is connected; then
		type_line 'echo after-$((2*3)) pid=$$'
		if wait_until 20000 client_has "after-6 pid=$bashpid"; then
			ok reconnect
		else
			fail reconnect "no after-6 from shell $bashpid after \
the drop"
		fi
	else
		fail reconnect "no new connection in 60 s (connections $c0 \
then $(json_field "$S/session.json" connections))"
	fi
else
	fail reconnect "no capsem-hostd-control child to kill"
fi

# 10. Ctrl-D: shellexited, the client gets the shell's status (the last
# command's, 7).
type_line '(exit 7)'
sleep 0.2
printf '\004' >&3
exits_with ctrl-d CLIENTPID 20000 7 capsem-shell "$D/client.err"
exec 3>&-

# 11. shellexited reached hostd (its exit status is the shell's).
exits_with shellexited HOSTDPID 10000 7 capsem-hostd

# 12. the agent exits with the shell's status; then init powers off.
exits_with agent-exit AGENTPID 10000 7 capsem-agent

# 13. nothing of the session is left running.
if [ "$LOCAL" = 1 ]; then
	left=
else
	left=$(pids_named "" capsem- | tr '\n' ' ')
fi
if [ -z "$left" ]; then
	ok no-leftovers
else
	fail no-leftovers "still running: $left"
fi
finish
