# The agent finds its children beside its own binary, without any
# environment: in the build tree's layout (sbin/ next to libexec/), in an
# installed tree's (sbin/ next to libexec/capsem/) and in one directory.
# Those beside it win over $CAPSEM_LIBEXECDIR (here a directory of broken
# children), which is used when nothing is beside it.  Each session boots
# and ends with the shell's status.
. "$CAPSEM_TOP/regress/lib.sh"

AGENT=$(command -v capsem-agent)
CHILDREN=$(dirname "$AGENT")/../libexec
end_all() {
	[ -z "$AGENTPID" ] || wait_for "$AGENTPID" 3
}
trap "end_all 2>/dev/null" EXIT

mkdir broken
for c in term control audit; do
	printf '#!/bin/sh\nexit 3\n' >"broken/capsem-agent-$c"
	chmod 755 "broken/capsem-agent-$c"
done

# layout NAME AGENTDIR CHILDDIR: the agent in AGENTDIR, children in CHILDDIR.
layout() {
	mkdir -p "$TESTDIR/$1/$2"
	cp "$AGENT" "$TESTDIR/$1/$2/"
	if [ -n "$3" ]; then
		mkdir -p "$TESTDIR/$1/$3"
		cp "$CHILDREN"/capsem-agent-* "$TESTDIR/$1/$3/"
	fi
}

# session NAME AGENTDIR LIBEXECDIR: one session from that agent.
session() {
	rm -f counts
	cat >script <<'S'
wait-boot
term exit 7\n
expect-json {"t":"shellexited","d":{"exit_code":7 5000
exit
S
	start_host script
	mkdir -p "$TESTDIR/ws"
	CAPSEM_LIBEXECDIR=$3 setsid "$TESTDIR/$1/$2/capsem-agent" -d \
	    -t "unix:$TESTDIR/sock" -s "$SHELLCMD" -w "$TESTDIR/ws" \
	    -a "$TESTDIR/audit.log" -b "$TESTDIR/bt.jsonl" \
	    >"$TESTDIR/$1.log" 2>&1 &
	AGENTPID=$!
	host_ok 20
	wait_for "$AGENTPID" 10
	AGENTPID=
	[ "$st" = 7 ] || fail "$1: agent exited $st, not 7: \
$(grep -m 1 'cannot run' "$TESTDIR/$1.log")"
}

layout build sbin libexec
session build sbin "$TESTDIR/broken"
layout installed sbin libexec/capsem
session installed sbin "$TESTDIR/broken"
layout flat bin bin
session flat bin "$TESTDIR/broken"
layout alone sbin ""
session alone sbin "$CHILDREN"
exit 0
