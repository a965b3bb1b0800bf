#!/bin/sh
# Audit records of interleaved execve events (issue 13, item 7), through
# the real agent and its audit child: two events whose lines alternate at
# the start of tailing, before any EOE was seen, both arrive; two that
# complete out of order (the later serial first) both arrive; and when a
# transport drop restarts the audit child while one event is open and one
# that began after it was already sent, the sent one is not sent again and
# the open one arrives once it completes.  Every event exactly once.
. "$CAPSEM_TOP/regress/lib.sh"

# One line of execve event SERIAL as auditd writes it.  All share one
# timestamp: only the serial tells the events apart.
aid() {
	echo "1713200000.000:$1"
}
SCFMT='type=SYSCALL msg=audit(%s): arch=c000003e syscall=59 success=yes'
SCFMT="$SCFMT exit=0 a0=1 a1=2 a2=3 a3=0 items=2 ppid=1 pid=%s auid=0 uid=0"
SCFMT="$SCFMT gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0"
SCFMT="$SCFMT ses=1 comm=\"%s\" exe=\"/usr/bin/%s\" key=\"capsem_exec\"\n"
sc() {	# SERIAL COMM
	printf "$SCFMT" "$(aid "$1")" "$1" "$2" "$2"
}
ex() {	# SERIAL COMM
	printf 'type=EXECVE msg=audit(%s): argc=2 a0="%s" a1="--serial-%s"\n' \
	    "$(aid "$1")" "$2" "$1"
}
cwd() {
	printf 'type=CWD msg=audit(%s): cwd="/root"\n' "$(aid "$1")"
}
eoe() {
	printf 'type=EOE msg=audit(%s): \n' "$(aid "$1")"
}

# wait_file FILE STRING [COUNT]: until FILE holds STRING COUNT times (10 s).
wait_file() {
	i=0
	until [ "$(grep -cF -- "$2" "$1" 2>/dev/null)" -ge "${3:-1}" ]; do
		i=$((i + 1))
		[ $i -lt 1000 ] || fail "waited 10 s for '$2' in $1"
		sleep 0.01
	done
}

{ sc 10 old; ex 10 old; cwd 10; eoe 10; } >audit.log
cat >script <<'S'
wait-boot
expect-audit --serial-20 10000
expect-audit --serial-21 10000
expect-audit --serial-31 10000
expect-audit --serial-30 10000
expect-audit --serial-41 10000
drop
wait-boot
expect-audit --serial-40 15000
term exit\n
expect-json {"t":"shellexited" 2000
exit
S
start_host script
start_agent
wait_file agent.log 'audit: reading the log from offset'
# Tailing starts at the end: no EOE seen yet when these alternate.
{ sc 20 ls; sc 21 cat; ex 20 ls; ex 21 cat; cwd 20; cwd 21; eoe 20
    eoe 21; } >>audit.log
wait_file events.jsonl '--serial-21'
# 31 completes before 30.
{ sc 30 id; sc 31 uname; ex 30 id; ex 31 uname; cwd 31; eoe 31; cwd 30
    eoe 30; } >>audit.log
wait_file events.jsonl '--serial-30'
# 41 completes and is sent while 40 is open; then the drop.
{ sc 40 env; sc 41 date; ex 40 env; ex 41 date; cwd 41; eoe 41; } \
    >>audit.log
wait_file counts 'bootready 2'
wait_file agent.log 'audit: reading the log from offset' 2
{ cwd 40; eoe 40; } >>audit.log
host_ok 60
wait_for "$AGENTPID" 10
AGENTPID=
[ "$st" = 0 ] || fail "agent exited $st"
! grep -q -- '--serial-10' events.jsonl ||
    fail "an event older than the agent was sent"
for s in 20 21 30 31 40 41; do
	n=$(grep '"ev":"audit"' events.jsonl | grep -c -- "--serial-$s\"")
	[ "$n" = 1 ] || fail "event $s sent $n times"
done
grep '"ev":"audit"' events.jsonl | grep -- '--serial-20"' |
    grep -q '"argv":"ls --serial-20","cwd":"/root"' ||
    fail "record 20 incomplete: $(grep -- '--serial-20"' events.jsonl)"
exit 0
