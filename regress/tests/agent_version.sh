# capsem-agent -V and --version print the agent's version (the one it
# announces in ready) on standard output and exit 0; the usage line
# lists -V.
. "$CAPSEM_TOP/regress/lib.sh"

want=$(sed -n 's/^#define AGENT_VERSION[^"]*"\(.*\)"$/\1/p' \
    "$CAPSEM_TOP/agent-parent/agent.h")
[ -n "$want" ] || fail "no AGENT_VERSION in agent.h"
for opt in -V --version; do
	out=$(capsem-agent "$opt" 2>err)
	st=$?
	[ "$st" = 0 ] || fail "$opt: exit $st: $(head -n 1 err)"
	[ "$out" = "capsem-agent $want" ] || fail "$opt printed '$out'"
	[ ! -s err ] || fail "$opt wrote to stderr: $(head -n 1 err)"
done
capsem-agent -h 2>err
st=$?
[ "$st" = 1 ] || fail "-h: exit $st"
grep -q 'usage: capsem-agent \[-dVv\]' err || fail "usage: $(head -n 1 err)"
exit 0
