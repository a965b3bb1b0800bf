# An exec gets the shell's environment (issue 13, item 12): the variables
# the host set with setenv at boot (FOO=bar here), plus what a login gives
# (HOME, USER, LOGNAME, SHELL, TERM, PATH), exactly as the shell got it, and
# nothing of the agent's own environment (CAPSEM_AGENT_ONLY, given to the
# agent here, never reaches the exec).
. "$CAPSEM_TOP/regress/lib.sh"

cat >script <<'S'
wait-boot
send {"t":"exec","d":{"id":1,"command":"echo FOO=$FOO; cat /proc/$$/environ"}}
expect-exec 1
expect-json {"t":"execdone","d":{"id":1,"exit_code":0}}
wait-file shell-env
term exit\n
expect-json {"t":"shellexited"
exit
S
start_host script -e FOO=bar
CAPSEM_AGENT_ONLY=leaked start_agent
wait_shell
tr '\0' '\n' <"/proc/$SHELLPID/environ" | sort >shell.env
: >shell-env
agent_ends 20 0
[ "$(head -n 1 exec-1.out)" = FOO=bar ] ||
    fail "the exec saw $(head -n 1 exec-1.out), not the boot's FOO=bar"
tail -n +2 exec-1.out | tr '\0' '\n' | sort >exec.env
! grep -q CAPSEM_AGENT_ONLY exec.env ||
    fail "the exec saw the agent's own environment: $(grep CAPSEM_AGENT_ONLY \
exec.env)"
for v in HOME USER LOGNAME SHELL TERM PATH FOO; do
	grep -q "^$v=" exec.env || fail "the exec has no $v"
done
diff shell.env exec.env >env.diff ||
    fail "the exec's environment is not the shell's: $(tr '\n' ' ' <env.diff)"
exit 0
