# The term child's drain deadline counts only time in which the host reads
# (issue 13 item 10): the shell exits with a background job still writing
# 3 MB while the host reads nothing for 4 s (every client behind); once
# the host reads again, all of it arrives, up to the job's last line,
# before the terminal ends and shellexited{3} comes (the old 2 s deadline
# ran out during the stall and cut the tail).
. "$CAPSEM_TOP/regress/lib.sh"

cat >script <<S
wait-boot
expect-term ready>\x20
term (head -c 3000000 /dev/zero | tr '\\\\0' x; echo; echo END-OF-JOB) & exit 3\n
expect-term exit 2000
term-pause on
sleep 4000
term-pause off
expect-term END-OF-JOB 20000
expect-json {"t":"shellexited","d":{"exit_code":3,"signal":null}} 10000
exit
S
start_host script -e 'PS1=ready> '
start_agent
host_ok 60
wait_for "$AGENTPID" 10
[ "$st" = 3 ] || fail "agent exited $st, not 3"
AGENTPID=
[ "$(grep -c x term.out)" -ge 1 ] || fail "no job output"
no_frames_on_terminal
cleanup
exit 0
