#!/bin/sh
# A host that sends part of a control frame and then closes: the agent's
# control child says the frame was cut short ("control: frame cut short:
# ..."), as the host's control child does for the guest, and not only that
# the peer closed.  Once inside the body (100 bytes declared, 4 sent) and
# once inside the 4-byte length (3 bytes sent), each in its own session.
# The cut comes after shellexited, which the host does not acknowledge:
# there the end of the terminal is expected, so the control child's report
# is what ends the connection (no reconnect can stop that child first);
# the agent then reconnects and tells the exit again (capsem-agent(8): a
# drop before the ackreply of shellexited), and ends with the shell's
# status once it is acknowledged.
. "$CAPSEM_TOP/regress/lib.sh"

cut_session() {	# STATUS HEX EXPECTED
	cat >script <<S
wait-boot
noack on
term exit $1\n
expect-json {"t":"shellexited","d":{"exit_code":$1 5000
raw-control $2
drop
noack off
wait-boot
expect-json {"t":"shellexited","d":{"exit_code":$1 5000
exit
S
	start_host script
	start_agent
	agent_ends 30 "$1"
	grep -qF -- "control: $3" agent.log ||
	    fail "no agent log line \"control: $3\""
}

fresh_dir body
cut_session 3 0000006482a174a4 \
    "frame cut short: 100 bytes declared, 4 received"
fresh_dir length
cut_session 4 000000 "frame cut short: 3 of 4 header bytes"
exit 0
