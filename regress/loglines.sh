# The log lines the integration tests (regress/tests/) and the reliability
# scenarios (regress/reliability/) rely on.  Sourced by regress/lib.sh, and
# by the tests that do not use it; POSIX sh.
#
# THESE LINES ARE A STABLE INTERFACE of the programs that print them.
# Changing the wording of one (the format string in the C source named next
# to it, or a reason text it embeds) needs this file changed in the same
# commit, and the tests that use it run again.
#
# Tests wait on and assert against machine-readable facts: events.jsonl and
# counts of capsem-testhost, the output file of capsem-testguest,
# session.json of capsem-hostd, exit statuses, /proc.  A log line is used
# only where the line itself is the behaviour under test (a diagnostic that
# must name what went wrong and why), or, marked "No fact yet", where no
# machine-readable fact exists (for a wait or for a count a test asserts
# on); each of those says what change would remove it.  No test spells out
# log wording of its own: every pattern comes from here.
#
# Not in this file: what the command-line tools print on stderr for their
# user (capsem-shell's messages, capsem-frame's "frame N at byte M: reason",
# documented in their manual pages), which the tests check as output.
#
# Each pattern is a basic regular expression (for grep without -E or -F)
# with slots @NAME@ for the variable parts; `ll PATTERN NAME=VALUE...`
# fills them.  A line is matched anywhere after the log prefix
# ("capsem-agent: control[PID]: "), which is not part of the interface.

# ll PATTERN [NAME=VALUE ...]: PATTERN with each @NAME@ replaced by VALUE
# (itself a regular expression, usually a fixed word or another filled
# pattern) and every slot left unnamed by ".*".
ll() {
	ll_p=$1
	shift
	for ll_a in "$@"; do
		ll_n=@${ll_a%%=*}@
		ll_v=${ll_a#*=}
		ll_r=
		while :; do
			case $ll_p in
			*"$ll_n"*)
				ll_r=$ll_r${ll_p%%"$ll_n"*}$ll_v
				ll_p=${ll_p#*"$ll_n"}
				;;
			*)	break ;;
			esac
		done
		ll_p=$ll_r$ll_p
	done
	ll_r=
	while :; do
		case $ll_p in
		*@[A-Z]*@*)
			ll_r=$ll_r${ll_p%%@*}.*
			ll_p=${ll_p#*@}
			ll_p=${ll_p#*@}
			;;
		*)	break ;;
		esac
	done
	printf '%s\n' "$ll_r$ll_p"
}

# log_has FILE PATTERN [NAME=VALUE ...]: FILE has a line matching the
# filled pattern.
log_has() {
	lh_f=$1
	shift
	grep -q -- "$(ll "$@")" "$lh_f" 2>/dev/null
}

# log_count FILE PATTERN [NAME=VALUE ...]: how many lines match.
log_count() {
	lc_f=$1
	shift
	grep -c -- "$(ll "$@")" "$lc_f" 2>/dev/null
}

# --- reasons embedded in the lines below -----------------------------------

# A frame that does not decode: wire_errstr() (proto/wire.c) of the error
# code, the byte offset, and the decoder's message (proto/mpack.c,
# proto/wire.c dec_tag).  FIELD is the path of the value ("d.cols").
LL_WIRE_TYPE='wrong type at byte @AT@: @FIELD@: expected @WANT@, got @GOT@'
LL_WIRE_RANGE='integer out of range at byte @AT@: @FIELD@: integer @VALUE@ out of range for @TYPE@'
LL_WIRE_DEPTH='nesting too deep at byte @AT@: @FIELD@: nested deeper than @MAX@ levels'
LL_WIRE_LENGTH='declared length exceeds input at byte @AT@: @FIELD@: declared @WHAT@'
LL_WIRE_UNKNOWN_TAG='unknown message tag at byte @AT@: t: unknown @DIR@ message "@TAG@"'

# A length prefix over FRAME_MAX: the connection's framing is lost.
# agent-control/control.c ctl_read, host/hostd-control.c, host/hostd-stream.c.
LL_FRAMING_LOST='frame length over 2 MiB, framing lost'

# EOF inside a frame: frame_reader_cut() (proto/frame.c).
LL_FRAME_CUT_SHORT='frame cut short: @DECLARED@ bytes declared, @GOT@ received'

# How a child ended: sandbox_describe_exit() (proto/sandbox.c).
LL_EXIT_SIGNAL='killed by signal @SIG@ (@NAME@)'
LL_EXIT_SIGSYS='killed by SIGSYS (seccomp: forbidden system call)'

# --- capsem-agent (agent-parent/agent.c) and capsem-hostd (host/) parents --

# A child's death as its parent reaps it, HOW one of the LL_EXIT_* above:
# capsem-agent agent_reap() and agent_stop_children() (agent-parent/agent.c),
# capsem-hostd child_report() (host/hostd-guest.c), which may add " without
# saying why", and screen_report() (hostd/screen.c) for the screen child.
LL_CHILD_DIED='@ROLE@ child (pid @PID@) @HOW@'

# capsem-hostd: the screen child died more often than it is restarted
# (hostd/screen.c screen_gone).  No fact yet: session.json could say
# whether a screen model runs.
LL_SCREEN_GIVEN_UP='screen child not restarted again (@N@ restarts): attach draws a cleared screen'

# The call a child's seccomp filter refused, as the child reported it before
# SIGSYS: proc_seccomp_report() (proto/proc.c), printed by both parents.
# CALL is "name (number)".
LL_SANDBOX_VIOLATION='@ROLE@ child (pid @PID@): sandbox violation: system call @CALL@ refused, the child is killed'

# capsem-agent: a boot environment variable refused by validation
# (agent-parent/agent.c agent_setenv; WHY from proto/validate.c).
LL_AGENT_SETENV_REJECTED='boot: setenv @KEY@ rejected: @WHY@'

# capsem-agent: past its reconnect deadline (-r) with no host
# (agent-parent/agent.c agent_schedule_connect).
LL_AGENT_GIVING_UP='no connection to the host for @SECS@ s: giving up'

# capsem-agent: each connection attempt that reached the host
# (agent_connect), and the exit told to the host (agent_drained).  The
# reliability scenario exit_storm checks that none of the first follows the
# second.  No fact yet: capsem-hostd refuses such a reconnect once the
# shell has exited and only logs that; a count of refused guest
# connections in session.json would replace these two.
LL_AGENT_CONNECTED='connected (attempt @N@), booting'
LL_AGENT_SENT_SHELLEXITED='sent shellexited (exit code @CODE@)'

# capsem-agent: the parent's own resources at each boot (agent_bootdone);
# the reliability scenario drops compares them across its boots.  No fact
# yet in the scenario: agent_drops.sh reads them in /proc instead, which
# the scenario could do at the cost of a settling wait per drop.
LL_AGENT_BOOT_DONE='boot sequence done: session running (connection @N@, @FDS@ fds open, @CHILDREN@ child processes)'

# capsem-agent: preparesnapshot could not freeze the -f mount point MOUNT;
# STEP is open or freeze, followed by ": strerror" (agent-parent/agent.c
# agent_snapshot).
LL_AGENT_FREEZE_FAILED='preparesnapshot: @STEP@ @MOUNT@: '

# --- capsem-agent-control (agent-control/control.c) ------------------------

# A host frame that does not decode costs that frame (ctl_frame); WHY one of
# the LL_WIRE_* reasons.
LL_AGENT_FRAME_DROPPED='control: host frame @N@ dropped: @WHY@'

# The control connection given up, and why (ctl_lost).
LL_AGENT_CONTROL_LOST='control: @WHY@'

# Debug level (-v): every message the host sent (ctl_frame).  No fact yet:
# host_ping.sh waits on it for five pings of capsem-hostd; a count of pings
# sent (and pongs received) in session.json would replace it.
LL_AGENT_HOST_SENT='control: host sent @TAG@'

# --- capsem-agent-audit (agent-audit/audit.c log_stats) --------------------

# The counts at the end of a -n run (on stderr) or when the child stops.
LL_AUDIT_STATS='audit: @RECORDS@ records, @INCOMPLETE@ dropped incomplete, @OVERSIZE@ dropped oversize'

# --- capsem-hostd-control (host/hostd-control.c) ---------------------------

# A guest frame that does not decode costs that frame (hctl_frame); WHY one
# of LL_WIRE_*.
LL_HOSTD_FRAME_DROPPED='control: guest frame @N@ dropped: @WHY@'

# A length prefix over FRAME_MAX, before the connection is given up: CHAN
# control (host/hostd-control.c hctl_read) or stream (host/hostd-stream.c
# stream_frames).
LL_HOSTD_FRAME_TOO_BIG='@CHAN@: guest frame of @BYTES@ bytes'

# --- capsem-hostd-stream (host/hostd-stream.c) -----------------------------

# An audit record that does not decode costs that record (stream_audit).
LL_HOSTD_AUDIT_DROPPED='audit: record @N@ dropped: @WHY@'

# An exec connection whose first frame is not execstarted
# (stream_execstarted): the line, and the reason the connection ends with.
LL_HOSTD_EXEC_NOT_STARTED='exec: first frame is @TAG@, not execstarted'
LL_HOSTD_EXEC_DROPPED='exec: first frame dropped: @WHY@'
LL_HOSTD_EXEC_LOST_UNDECODABLE='exec: first frame does not decode'
LL_HOSTD_EXEC_LOST_NOT_STARTED='exec: first frame is not execstarted'

# --- capsem-hostd (host/hostd-guest.c) -------------------------------------

# A decoder child's connection ended, with the reason the child reported:
# ROLE control, audit, exec or lifecycle (child_dispatch).
LL_HOSTD_CONN_ENDED='@ROLE@ connection ended: @WHY@'

# The ping deadline: N pings unanswered (guest_timers).
LL_HOSTD_DECLARED_DEAD='guest missed @N@ pings in a row: declared dead, dropping its connections'

# --- capsem-hostd (host/hostd-client.c) ------------------------------------

# An attached client dropped, and why (client_drop); WHY for a terminal
# client 16 MiB behind (clients_output).
LL_HOSTD_CLIENT_DROPPED='attach: client @ID@ (pid @PID@) @WHY@: disconnected'
LL_HOSTD_CLIENT_NOT_READING='is not reading its output (16 MiB queued)'
