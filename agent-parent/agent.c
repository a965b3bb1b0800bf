/*
 * capsem-agent: the privileged guest parent.
 *
 * It holds what must outlive a connection (the PTY master and the shell,
 * the pending table, the exec table, the audit position) and performs every
 * privileged action, each only after validating the request a child sent
 * over imsg.  It never reads the network itself: agent-term, agent-control
 * and agent-audit each own their socket, run sandboxed, and tell the parent
 * why they stop.  Every fd is close-on-exec; a channel's fd lives in exactly
 * one process, so a stale writer cannot exist.
 *
 * This file: main, the loop, and the phases.  The parent decides what a
 * channel's end means (DESIGN.md):
 *  - the shell was reaped: drain the PTY, end the terminal stream, send
 *    shellexited, wait (bounded) for its ackreply, hang up the session and
 *    exit with the shell's status.  Never reconnect after that.
 *  - a channel reported EOF or an error: the transport dropped.  Stop all
 *    channel children, reconnect with capped exponential backoff and
 *    jitter, boot again; the shell keeps running.
 *  - a child died without saying why: log it; the channel is lost with it.
 * The boot sequence is in boot.c, the audit channel in auditside.c, the
 * host's file and snapshot requests in hostreq.c, execs in exec.c.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "agent.h"
#include "log.h"
#include "sandbox.h"
#include "termmodes.h"

/* What the parent is doing; changed by phase_set() alone. */
enum phase {
	PH_CONNECT,	/* transport down: (re)connecting with backoff */
	PH_BOOT,	/* connected, boot sequence running */
	PH_RUN,		/* healthy: after bootready */
	PH_DRAIN,	/* shell reaped: term child draining the PTY */
	PH_ACKWAIT,	/* shellexited sent: waiting for its ackreply */
};

#define BACKOFF_BASE_MS		100
#define BACKOFF_MAX_MS		5000
#define BOOT_TIMEOUT_MS		10000
#define TERMMODES_WAIT_MS	500	/* first shell start, for termmodes */
#define DRAIN_TIMEOUT_MS	5000
#define ACK_TIMEOUT_MS		2000
#define HANGUP_GRACE_MS		500
#define STOP_TIMEOUT_MS		1000
#define DEATHS_MAX		5	/* unexplained child deaths ... */
#define DEATHS_WINDOW_MS	10000	/* ... in this window: back off */
#define EARLY_DEATHS_MAX	3	/* dead before ready in a row: broken */

struct agent_conf	 conf;

static void	 channel_imsg(struct proc *, struct imsg *);

static struct proc	 term_proc = {
	.role = "term", .prog = "capsem-agent-term", .dispatch = channel_imsg
};
static struct proc	 ctl_proc = {
	.role = "control", .prog = "capsem-agent-control",
	.dispatch = channel_imsg
};

/* The session as this process knows it. */
static struct {
	enum phase	 phase;
	int		 first_boot_done;
	int		 tm_wait;		/* shell held for termmodes */
	uint32_t	 host_caps;		/* CAPB_* of the last bootconfig */
	int		 announced;		/* agentcaps sent on this
						   connection */
	int		 shell_gone;		/* reaped */
	int		 subreaper;		/* orphans come to us */
	int		 stopping;		/* SIGTERM or shutdown seen */
	int32_t		 exit_code;
	int32_t		 exit_signal;
	uint64_t	 nconnects;
} sess;

/* The link to the host: backoff, the reconnect budget, child deaths. */
static struct {
	int		 level;			/* backoff doublings */
	int64_t		 last_attempt;
	int64_t		 down_since;
	int		 deaths;
	int64_t		 deaths_since;
} link_st;

static struct ev_timer	 t_connect;	/* next connect attempt */
static struct ev_timer	 t_boot;	/* boot sequence deadline */
static struct ev_timer	 t_termmodes;	/* the hold for termmodes */
static struct ev_timer	 t_drain;	/* drain deadline */
static struct ev_timer	 t_ack;		/* ackreply deadline */
static struct ev_timer	 t_kill;	/* SIGKILL the shell's session */

static __dead void	 usage(void);
static void		 parse_shell(const char *);
static void		 phase_set(enum phase);
static void		 agent_signal(int, void *);
static void		 agent_reap(void);
static void		 shell_reaped(int);
static void		 connect_due(void *);
static void		 boot_due(void *);
static void		 drain_due(void *);
static void		 ack_due(void *);
static void		 kill_due(void *);
static void		 agent_connect(void);
static void		 agent_down(const char *);
static void		 agent_schedule_connect(void);
static void		 agent_stop_children(void);
static void		 channel_done(struct proc *, struct imsg *);
static void		 control_imsg(struct proc *, struct imsg *);
static void		 control_bootconfig(struct proc *, struct imsg *);
static void		 agent_announce(void);
static void		 control_exec(struct proc *, struct imsg *);
static void		 agent_bootdone(void);
static void		 agent_bootdone_finish(void);
static void		 control_termmodes(struct proc *, struct imsg *);
static void		 termmodes_due(void *);
static void		 agent_drain(void);
static void		 agent_drained(void);
static __dead void	 agent_finish(void);
static __dead void	 agent_exit(int);
static void		 agent_shutdown(const char *);
static void		 agent_lifecycle_shutdown(void);

static __dead void
usage(void)
{
	fprintf(stderr, "usage: %s [-dVv] [-a auditlog] [-b boottiming] "
	    "[-f freezepath]\n\t[-o offset] [-r seconds] [-s \"shell args\"] "
	    "[-t transport] [-u user]\n\t[-w workspace]\n", getprogname());
	exit(1);
}

int
main(int argc, char *argv[])
{
	static const int sigs[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP };
	static const struct option longopts[] = {
		{ "version",	no_argument,	NULL,	'V' },
		{ NULL,		0,		NULL,	0 }
	};
	char		 errbuf[160], cmdline[4096];
	const char	*errstr, *tspec = "vsock:2", *offstr = NULL;
	uint32_t	 offset = 0;
	ssize_t		 n;
	int		 ch, fd;

	conf.workspace = "/root";
	conf.auditlog = "/var/log/audit/audit.log";
	conf.boottiming = "/run/capsem/boot-timing.jsonl";
	conf.reconnect_secs = 30;
	parse_shell("/bin/bash -i");

	while ((ch = getopt_long(argc, argv, "a:b:df:ho:r:s:t:u:Vvw:",
	    longopts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			conf.auditlog = optarg;
			break;
		case 'b':
			conf.boottiming = optarg;
			break;
		case 'd':
			conf.debug = 1;
			break;
		case 'f':
			conf.freezepath = optarg;
			break;
		case 'o':
			offstr = optarg;
			break;
		case 'r':
			conf.reconnect_secs = strtonum(optarg, 1, 86400,
			    &errstr);
			if (errstr != NULL)
				errx(1, "-r %s: reconnect deadline is %s",
				    optarg, errstr);
			break;
		case 's':
			parse_shell(optarg);
			break;
		case 't':
			tspec = optarg;
			break;
		case 'u':
			conf.user = optarg;
			break;
		case 'V':
			printf("capsem-agent %s\n", AGENT_VERSION);
			exit(0);
		case 'v':
			conf.verbose++;
			break;
		case 'w':
			conf.workspace = optarg;
			break;
		default:
			usage();
		}
	}
	if (argc != optind)
		usage();

	if (transport_parse(tspec, &conf.transport, errbuf,
	    sizeof(errbuf)) == -1)
		errx(1, "-t %s: %s", tspec, errbuf);
	if (conf.transport.kind == TRANSPORT_HYBRID)
		errx(1, "-t %s: hybrid is a host-side transport", tspec);
	if (offstr != NULL) {
		offset = strtonum(offstr, 0, UINT32_MAX, &errstr);
		if (errstr != NULL)
			errx(1, "-o %s: port offset is %s", offstr, errstr);
	} else if ((fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC)) != -1) {
		n = read(fd, cmdline, sizeof(cmdline) - 1);
		close(fd);
		cmdline[n > 0 ? n : 0] = '\0';
		if (transport_cmdline_offset(cmdline, &offset) == -1)
			errx(1, "/proc/cmdline: capsem.vsock_port_offset "
			    "overflows a port");
	}
	conf.transport.offset = offset;
	if (transport_port(&conf.transport, PORT_AUDIT, &offset) == -1)
		errx(1, "port offset %u overflows a port",
		    conf.transport.offset);
	if (conf.user != NULL && getpwnam(conf.user) == NULL)
		errx(1, "-u %s: no such user", conf.user);
	if (access(conf.shell_argv[0], X_OK) == -1)
		err(1, "-s %s", conf.shell_argv[0]);
	agent_check_program(&term_proc);
	agent_check_program(&ctl_proc);
	audit_check_program();

	log_init(conf.debug, LOG_DAEMON);
	log_procinit("capsem-agent");
	log_setverbose(conf.verbose);
	if (!conf.debug && daemon(1, 0) == -1)
		fatal("daemon");

	/* Signals arrive through the loop, never in a handler. */
	ev_init();
	if (ev_signals(sigs, sizeof(sigs) / sizeof(sigs[0]), agent_signal,
	    NULL) == -1)
		fatal("signalfd");
	signal(SIGPIPE, SIG_IGN);
	ev_timer_init(&t_connect, connect_due, NULL);
	ev_timer_init(&t_boot, boot_due, NULL);
	ev_timer_init(&t_termmodes, termmodes_due, NULL);
	ev_timer_init(&t_drain, drain_due, NULL);
	ev_timer_init(&t_ack, ack_due, NULL);
	ev_timer_init(&t_kill, kill_due, NULL);
	audit_init();
	/*
	 * What the shell leaves behind comes back to us, not to init: every
	 * member of its session stays below a child of ours, which is what
	 * lets agent_exit() see an empty session without walking /proc.
	 */
	if (ptree_subreaper() == 0)
		sess.subreaper = 1;
	else
		log_warn("PR_SET_CHILD_SUBREAPER");

	if (shell_open_pty() == -1)
		fatal("cannot open a PTY");
	hostreq_init();

	log_info("starting: transport %s, shell %s, workspace %s",
	    transport_describe(&conf.transport, PORT_CONTROL, errbuf,
	    sizeof(errbuf)), conf.shell_argv[0], conf.workspace);
	link_st.down_since = now_ms();
	ev_timer_in(&t_connect, 0);
	ev_run();
}

/* -s "shell args": split on spaces. */
static void
parse_shell(const char *s)
{
	static char	*copy;
	char		*tok, *last, **argv = NULL;
	size_t		 n = 0;

	free(copy);
	if ((copy = strdup(s)) == NULL)
		err(1, NULL);
	for (tok = strtok_r(copy, " ", &last); tok != NULL;
	    tok = strtok_r(NULL, " ", &last)) {
		if ((argv = reallocarray(argv, n + 2, sizeof(*argv))) == NULL)
			err(1, NULL);
		argv[n++] = tok;
	}
	if (n == 0)
		errx(1, "-s: empty shell command");
	argv[n] = NULL;
	free(conf.shell_argv);
	conf.shell_argv = argv;
}

static const char *
phase_name(enum phase p)
{
	static const char *const names[] = {
		"connect", "boot", "run", "drain", "ackwait"
	};

	return ((size_t)p < sizeof(names) / sizeof(names[0]) ?
	    names[p] : "?");
}

/* The one place the phase changes. */
static void
phase_set(enum phase p)
{
	if (sess.phase == p)
		return;
	log_debug("phase %s -> %s", phase_name(sess.phase), phase_name(p));
	sess.phase = p;
}

int
agent_running(void)
{
	return (sess.phase == PH_RUN);
}

int
agent_first_boot_done(void)
{
	return (sess.first_boot_done);
}

int
agent_deaths_exceeded(void)
{
	return (link_st.deaths > DEATHS_MAX);
}

static void
agent_signal(int signo, void *arg)
{
	switch (signo) {
	case SIGCHLD:
		agent_reap();
		break;
	case SIGTERM:
	case SIGINT:
	case SIGHUP:
		agent_shutdown(strsignal(signo));
		break;
	}
}

static void
agent_reap(void)
{
	struct proc	*p;
	pid_t		 pid;
	int		 st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		if (pid == shell_pid() && !sess.shell_gone) {
			shell_reaped(st);
			continue;
		}
		if (exec_reaped(pid, st) || copy_reaped(pid, st) ||
		    audit_reaped(pid, st))
			continue;
		if (pid == term_proc.pid)
			p = &term_proc;
		else if (pid == ctl_proc.pid)
			p = &ctl_proc;
		else {
			log_debug("reaped pid %d", (int)pid);
			continue;
		}
		if (!agent_child_reaped(p, pid, st) || sess.phase == PH_CONNECT)
			continue;
		if (agent_deaths_exceeded())
			link_st.level += 3;
		agent_down("channel child died");
	}
}

static void
shell_reaped(int st)
{
	sess.shell_gone = 1;
	if (WIFSIGNALED(st)) {
		sess.exit_signal = WTERMSIG(st);
		sess.exit_code = 128 + sess.exit_signal;
	} else
		sess.exit_code = WEXITSTATUS(st);
	log_info("shell exited: status %d%s", sess.exit_code,
	    sess.exit_signal ? " (signal)" : "");
	ev_timer_stop(&t_kill);
	if (sess.phase == PH_RUN)
		agent_drain();
	else if (sess.stopping && (sess.phase == PH_CONNECT ||
	    sess.phase == PH_BOOT))
		agent_finish();
}

/*
 * A child was reaped.  Its socket is closed, but what it said before it
 * died (why it stopped) is still in there: read that first, then judge.
 * Returns 1 if it died without saying why (logged, counted), else 0.
 */
int
agent_child_reaped(struct proc *p, pid_t pid, int st)
{
	char	 why[128], path[PATH_MAX];
	int64_t	 now;
	int	 n;

	/* Its pid stays known while its last words are read (they name it). */
	for (n = 0; p->running && !p->done && n < 64; n++)
		(void)proc_read(p);
	proc_close(p);
	p->pid = 0;
	if (p->done)
		return (0);
	/* Died without telling us why: a bug or an attack. */
	log_warnx("%s child (pid %d) %s", p->role, (int)pid,
	    sandbox_describe_exit(st, why, sizeof(why)));
	/* Never even ready, again and again: the program is broken. */
	if (!p->ready && ++p->early_deaths >= EARLY_DEATHS_MAX) {
		(void)proc_program(p->prog, path, sizeof(path));
		agent_fail("cannot run %s: it %s before it was ready, %d "
		    "times in a row", path, why, p->early_deaths);
	}
	now = now_ms();
	if (link_st.deaths_since == 0 ||
	    now - link_st.deaths_since > DEATHS_WINDOW_MS) {
		link_st.deaths_since = now;
		link_st.deaths = 0;
	}
	link_st.deaths++;
	return (1);
}

static void
connect_due(void *arg)
{
	agent_connect();
}

static void
boot_due(void *arg)
{
	if (sess.phase != PH_BOOT)
		return;
	log_warnx("host did not finish the boot sequence in %d ms",
	    BOOT_TIMEOUT_MS);
	agent_down("boot timeout");
}

static void
drain_due(void *arg)
{
	if (sess.phase != PH_DRAIN)
		return;
	log_warnx("terminal drain did not finish: ending");
	agent_drained();
}

static void
ack_due(void *arg)
{
	if (sess.phase != PH_ACKWAIT)
		return;
	log_warnx("no ackreply for shellexited in %d ms: ending anyway",
	    ACK_TIMEOUT_MS);
	agent_finish();
}

static void
kill_due(void *arg)
{
	if (sess.shell_gone)
		return;
	log_info("shell still running: SIGKILL");
	(void)shell_hangup(1);
}

/* Connect terminal, then control; start their children; say ready. */
static void
agent_connect(void)
{
	struct msg	 m;
	char		 desc[160];
	int		 tsock, csock, pty;

	link_st.last_attempt = now_ms();
	sess.nconnects++;
	if ((tsock = transport_connect(&conf.transport, PORT_TERMINAL)) ==
	    -1) {
		log_debug("connect %s: %s", transport_describe(&conf.transport,
		    PORT_TERMINAL, desc, sizeof(desc)), strerror(errno));
		agent_schedule_connect();
		return;
	}
	if ((csock = transport_connect(&conf.transport, PORT_CONTROL)) ==
	    -1) {
		log_debug("connect %s: %s", transport_describe(&conf.transport,
		    PORT_CONTROL, desc, sizeof(desc)), strerror(errno));
		close(tsock);
		agent_schedule_connect();
		return;
	}
	/* Out of descriptors or memory is transient: back off and retry. */
	if ((pty = fcntl(shell_master(), F_DUPFD_CLOEXEC, 3)) == -1 ||
	    agent_child_start(&term_proc) == -1 ||
	    agent_child_start(&ctl_proc) == -1) {
		if (pty == -1)
			log_warn("dup PTY master");
		else
			close(pty);
		agent_child_stop(&term_proc);
		close(tsock);
		close(csock);
		agent_schedule_connect();
		return;
	}
	proc_compose(&term_proc, IMSG_TERM_SOCKET, tsock, NULL, 0);
	proc_compose(&term_proc, IMSG_TERM_PTY, pty, NULL, 0);
	proc_compose(&ctl_proc, IMSG_CTL_SOCKET, csock, NULL, 0);

	phase_set(PH_BOOT);
	sess.announced = 0;
	ev_timer_in(&t_boot, BOOT_TIMEOUT_MS);
	boot_begin();
	memset(&m, 0, sizeof(m));
	m.type = MSG_READY;
	m.u.ready.version.s = AGENT_VERSION;
	m.u.ready.version.len = strlen(AGENT_VERSION);
	(void)agent_send(&m);
	log_info("connected (attempt %llu), booting",
	    (unsigned long long)sess.nconnects);
}

/*
 * Schedule the next connection attempt: at once after a healthy
 * connection, then 100 ms doubling to 5 s, each +-25% jitter, and never
 * sooner than 100 ms after the previous attempt.  Past the reconnect
 * deadline the agent gives up.
 */
static void
agent_schedule_connect(void)
{
	int64_t	 now = now_ms(), delay = 0;

	if (now - link_st.down_since > (int64_t)conf.reconnect_secs * 1000) {
		log_warnx("no connection to the host for %d s: giving up",
		    conf.reconnect_secs);
		agent_exit(1);
	}
	if (link_st.level > 0) {
		delay = BACKOFF_BASE_MS << (link_st.level > 6 ? 6 :
		    link_st.level - 1);
		if (delay > BACKOFF_MAX_MS)
			delay = BACKOFF_MAX_MS;
		delay += (int64_t)arc4random_uniform(delay / 2 + 1) - delay / 4;
	}
	if (now + delay < link_st.last_attempt + BACKOFF_BASE_MS)
		delay = link_st.last_attempt + BACKOFF_BASE_MS - now;
	link_st.level++;
	ev_timer_at(&t_connect, now + delay);
	log_debug("next connection attempt in %lld ms", (long long)delay);
}

/* The transport dropped: stop every channel child and reconnect. */
static void
agent_down(const char *why)
{
	if (sess.phase == PH_CONNECT)
		return;
	/*
	 * Told to stop, the shell gone, and the link lost (the host went,
	 * or a channel child with it) before the host acknowledged the
	 * exit: as for SIGTERM while disconnected, no wait for a host to
	 * come back and hear it.
	 */
	if (sess.stopping && sess.shell_gone) {
		log_info("transport down (%s) while stopping: not reconnecting",
		    why);
		agent_finish();
	}
	log_info("transport down (%s): reconnecting", why);
	copy_cancel_all("the control connection dropped");
	agent_stop_children();
	/* A drain or ackwait starts over: the exit is told after the boot. */
	ev_timer_stop(&t_drain);
	ev_timer_stop(&t_ack);
	ev_timer_stop(&t_boot);
	ev_timer_stop(&t_termmodes);
	sess.tm_wait = 0;
	phase_set(PH_CONNECT);
	link_st.down_since = now_ms();
	agent_schedule_connect();
}

/* Close a child's channel and reap it, bounded; say if it ended badly. */
void
agent_child_stop(struct proc *p)
{
	char	 why[128];
	pid_t	 pid;
	int	 st;

	proc_close(p);
	if ((pid = p->pid) == 0)
		return;
	p->pid = 0;
	if (proc_reap(pid, STOP_TIMEOUT_MS, &st) == 0 && !p->done &&
	    !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
		log_warnx("%s child (pid %d) %s", p->role, (int)pid,
		    sandbox_describe_exit(st, why, sizeof(why)));
}

/*
 * Start a child.  A program that cannot be run is a permanent fault: the
 * agent ends, saying so once.  Anything else (no memory, no descriptors,
 * no processes) may pass: -1, and the caller backs off and retries.
 */
int
agent_child_start(struct proc *p)
{
	char	 path[PATH_MAX];

	if (proc_start(p, conf.debug, conf.verbose) == 0)
		return (0);
	if (proc_permanent(errno)) {
		(void)proc_program(p->prog, path, sizeof(path));
		agent_fail("cannot run %s: %s", path, strerror(errno));
	}
	log_warn("cannot start the %s child now", p->role);
	return (-1);
}

/* Before anything starts: a child that cannot be found ends us at once. */
void
agent_check_program(const struct proc *p)
{
	char	 path[PATH_MAX];

	if (proc_program(p->prog, path, sizeof(path)) == -1)
		errx(1, "cannot run %s: %s", path, strerror(errno));
}

static void
agent_stop_children(void)
{
	audit_stop();
	agent_child_stop(&term_proc);
	agent_child_stop(&ctl_proc);
}

/* What every child may say; 1 if handled. */
int
agent_common_imsg(struct proc *p, struct imsg *imsg)
{
	switch (imsg_get_type(imsg)) {
	case IMSG_CHILD_READY:
		log_debug("%s child ready", p->role);
		p->early_deaths = 0;
		proc_selftest(p, conf.debug);
		return (1);
	case IMSG_CHILD_SECCOMP:
		proc_seccomp_report(p, imsg);
		return (1);
	}
	return (0);
}

/*
 * IMSG_CHILD_DONE: why the child stops.  The reason (and its words in
 * detail), or -1 if malformed.
 */
int
agent_child_done(struct proc *p, struct imsg *imsg, char *detail,
    size_t len)
{
	struct imsg_child_done	 d;

	if (proc_imsg_exact(p, imsg, &d, sizeof(d)) == -1)
		return (-1);
	d.detail[sizeof(d.detail) - 1] = '\0';
	p->done = 1;
	log_debug("%s child done: %s", p->role, d.detail);
	strlcpy(detail, d.detail, len);
	return (d.reason);
}

/* Input from agent-term and agent-control: typed, still untrusted. */
static void
channel_imsg(struct proc *p, struct imsg *imsg)
{
	if (agent_common_imsg(p, imsg))
		return;
	switch (imsg_get_type(imsg)) {
	case IMSG_CHILD_DONE:
		channel_done(p, imsg);
		return;
	case IMSG_TERM_DRAINED:
		if (p != &term_proc)
			break;
		if (sess.phase == PH_DRAIN)
			agent_drained();
		return;
	default:
		if (p != &ctl_proc)
			break;
		control_imsg(p, imsg);
		return;
	}
	proc_malformed(p, imsg, "unexpected type");
}

static void
channel_done(struct proc *p, struct imsg *imsg)
{
	char	 detail[sizeof(((struct imsg_child_done *)0)->detail)];
	int	 reason;

	if ((reason = agent_child_done(p, imsg, detail, sizeof(detail))) ==
	    -1 || reason == CHILD_STOPPED)
		return;
	/* After the drain, the terminal's end is expected. */
	if (p == &term_proc && sess.phase == PH_ACKWAIT)
		return;
	/*
	 * Before the ackreply the host may not have shellexited (a host that
	 * restarts): reconnect and tell it again, within the reconnect
	 * deadline; but not once told to stop (agent_down()).
	 */
	if (sess.phase == PH_ACKWAIT)
		log_info("control connection ended before the ackreply of "
		    "shellexited (%s)", detail);
	agent_down(detail);
}

/* Input from agent-control: typed, but still from an untrusted process. */
static void
control_imsg(struct proc *p, struct imsg *imsg)
{
	struct imsg_resize	 rs;
	uint64_t		 v;

	switch (imsg_get_type(imsg)) {
	case IMSG_CTL_BOOTCONFIG:
		control_bootconfig(p, imsg);
		break;
	case IMSG_CTL_SETENV:
		boot_setenv(p, imsg);
		break;
	case IMSG_CTL_BOOTFILE:
		boot_file(p, imsg);
		break;
	case IMSG_CTL_BOOTDONE:
		if (sess.phase == PH_BOOT)
			agent_bootdone();
		break;
	case IMSG_CTL_RESIZE:
		if (proc_imsg_exact(p, imsg, &rs, sizeof(rs)) == 0)
			shell_resize(rs.cols, rs.rows);
		break;
	case IMSG_CTL_EXEC:
		control_exec(p, imsg);
		break;
	case IMSG_CTL_EXECIO:
		control_exec(p, imsg);
		break;
	case IMSG_CTL_PING:
		if (proc_imsg_exact(p, imsg, &v, sizeof(v)) == 0 && v > 0)
			clock_set(v);
		break;
	case IMSG_CTL_ACKREPLY:
		if (proc_imsg_exact(p, imsg, &v, sizeof(v)) == -1)
			break;
		pending_ack(v);
		if (v == 0 && sess.phase == PH_ACKWAIT) {
			log_info("host acknowledged shellexited");
			agent_finish();
		}
		break;
	case IMSG_CTL_FILEWRITE:
	case IMSG_CTL_FILEREAD:
	case IMSG_CTL_FILEDELETE:
		hostreq_file(p, imsg);
		break;
	case IMSG_CTL_COPYIN:
	case IMSG_CTL_COPYOUT:
		copy_request(p, imsg);
		break;
	case IMSG_CTL_SHUTDOWN:
		agent_shutdown("host asked for shutdown");
		break;
	case IMSG_CTL_SNAPSHOT:
		hostreq_snapshot();
		break;
	case IMSG_CTL_UNFREEZE:
		hostreq_unfreeze();
		break;
	case IMSG_CTL_TERMMODES:
		control_termmodes(p, imsg);
		break;
	case IMSG_CTL_SENT:
		break;
	default:
		proc_malformed(p, imsg, "unexpected type");
		break;
	}
}

static void
control_bootconfig(struct proc *p, struct imsg *imsg)
{
	struct imsg_bootconfig	 bc;

	if (proc_imsg_exact(p, imsg, &bc, sizeof(bc)) == -1)
		return;
	sess.host_caps = bc.caps;
	log_debug("bootconfig: epoch %llu, host capabilities: %s",
	    (unsigned long long)bc.epoch_secs, cap_string(bc.caps));
	if (bc.epoch_secs > 0)
		clock_set(bc.epoch_secs);
	if ((bc.caps & CAPB_AGENTCAPS) && sess.phase == PH_BOOT &&
	    !sess.announced)
		agent_announce();
}

/*
 * Tell a host that understands agentcaps what this agent supports, before
 * bootready, so that it knows before it sends anything that needs it.
 */
static void
agent_announce(void)
{
	struct wire_str	 names[CAPB_NAMES_MAX];
	struct msg	 m;

	memset(&m, 0, sizeof(m));
	m.type = MSG_AGENTCAPS;
	m.u.agentcaps.caps = names;
	/* Tests only (-d): behave as an agent that knows no extension. */
	m.u.agentcaps.ncaps = conf.debug && getenv("CAPSEM_TEST_NO_AGENTCAPS")
	    != NULL ? 0 : cap_names(agent_caps(), names);
	m.u.agentcaps.has_caps = 1;
	if (agent_send(&m) == 0)
		sess.announced = 1;
}

/*
 * What this agent knows: AGENT_CAPS, less copytimes for the tests of an
 * agent from before it (-d and $CAPSEM_TEST_NO_COPYTIMES).
 */
uint32_t
agent_caps(void)
{
	if (conf.debug && getenv("CAPSEM_TEST_NO_COPYTIMES") != NULL)
		return (AGENT_CAPS & ~CAPB_COPYTIMES);
	return (AGENT_CAPS);
}

uint32_t
agent_host_caps(void)
{
	return (sess.host_caps);
}

static void
control_exec(struct proc *p, struct imsg *imsg)
{
	struct imsg_exec	 ex;
	struct msg		 ack;
	size_t			 len = imsg_get_len(imsg);
	uint8_t			*buf;

	if (len < sizeof(ex) || len > FRAME_MAX) {
		proc_malformed(p, imsg, "exec");
		return;
	}
	if ((buf = malloc(len)) == NULL)
		return;
	if (imsg_get_data(imsg, buf, len) == 0 &&
	    (sess.phase == PH_RUN || sess.phase == PH_BOOT)) {
		memcpy(&ex, buf, sizeof(ex));
		/*
		 * Acked here, not by the control child: once acked the host
		 * never sends it again, so it must be ours first.
		 */
		memset(&ack, 0, sizeof(ack));
		ack.type = MSG_ACK;
		ack.u.ack.id = ex.id;
		(void)agent_send(&ack);
		if (imsg_get_type(imsg) == IMSG_CTL_EXECIO)
			exec_request_io(buf, len);
		else
			exec_request(ex.id, (char *)buf + sizeof(ex),
			    len - sizeof(ex));
	}
	free(buf);
}

/*
 * bootconfigdone.  A host that announced "termmodes" sends them right after
 * our agentcaps, so after bootconfigdone: the first start of the shell
 * waits for them, bounded (capsem-protocol(7) "termmodes").
 */
static void
agent_bootdone(void)
{
	if (!sess.first_boot_done && (AGENT_CAPS & CAPB_TERMMODES) &&
	    (sess.host_caps & (CAPB_TERMMODES | CAPB_AGENTCAPS)) ==
	    (CAPB_TERMMODES | CAPB_AGENTCAPS) && !shell_has_termmodes()) {
		log_debug("holding the shell for the host's termmodes");
		sess.tm_wait = 1;
		ev_timer_in(&t_termmodes, TERMMODES_WAIT_MS);
		return;
	}
	agent_bootdone_finish();
}

static void
termmodes_due(void *arg)
{
	if (!sess.tm_wait || sess.phase != PH_BOOT)
		return;
	sess.tm_wait = 0;
	log_warnx("termmodes: none from the host within %d ms of "
	    "bootconfigdone; the shell starts with the default terminal "
	    "modes", TERMMODES_WAIT_MS);
	agent_bootdone_finish();
}

/* termmodes from agent-control, which checked them; so does shell.c. */
static void
control_termmodes(struct proc *p, struct imsg *imsg)
{
	uint8_t	 buf[TERMMODES_MAX];
	size_t	 len = imsg_get_len(imsg);
	char	 why[128];

	if (len == 0 || len > sizeof(buf) || imsg_get_data(imsg, buf, len) ==
	    -1) {
		proc_malformed(p, imsg, "termmodes");
		return;
	}
	if ((sess.host_caps & CAPB_TERMMODES) == 0) {
		log_warnx("termmodes from a host that did not announce "
		    "\"termmodes\": ignored");
		return;
	}
	switch (shell_termmodes(buf, len, why, sizeof(why))) {
	case -1:
		proc_malformed(p, imsg, why);
		return;
	case 1:
		log_info("termmodes: the shell runs already and keeps its "
		    "terminal; ignored");
		return;
	}
	if (sess.tm_wait && sess.phase == PH_BOOT) {
		ev_timer_stop(&t_termmodes);
		sess.tm_wait = 0;
		agent_bootdone_finish();
	}
}

/* Start the shell (first boot), say bootready, resume. */
static void
agent_bootdone_finish(void)
{
	struct msg	 m;

	if (!sess.first_boot_done) {
		if (shell_start() == -1) {
			log_warn("cannot start the shell");
			sess.shell_gone = 1;
			sess.exit_code = 127;
		}
	}
	memset(&m, 0, sizeof(m));
	m.type = MSG_BOOTREADY;
	(void)agent_send(&m);
	if (!sess.first_boot_done)
		boot_timing();
	sess.first_boot_done = 1;
	phase_set(PH_RUN);
	ev_timer_stop(&t_boot);
	link_st.down_since = 0;
	link_st.level = 0;
	boot_report(sess.nconnects);
	(void)pending_replay();
	audit_begin();
	if (sess.shell_gone)
		agent_drain();
}

/* The shell was reaped (or was already when the connection came back). */
static void
agent_drain(void)
{
	phase_set(PH_DRAIN);
	ev_timer_in(&t_drain, DRAIN_TIMEOUT_MS);
	if (proc_compose(&term_proc, IMSG_TERM_DRAIN, -1, NULL, 0) == -1)
		agent_drained();
}

/* The terminal stream has ended: tell the host the shell exited. */
static void
agent_drained(void)
{
	struct msg	 m;

	ev_timer_stop(&t_drain);
	if ((sess.host_caps & CAPB_SHELLEXITED) == 0) {
		agent_lifecycle_shutdown();
		agent_finish();
	}
	memset(&m, 0, sizeof(m));
	m.type = MSG_SHELLEXITED;
	m.u.shellexited.exit_code = sess.exit_code;
	m.u.shellexited.signal = sess.exit_signal;
	m.u.shellexited.has_signal = sess.exit_signal != 0;
	phase_set(PH_ACKWAIT);
	ev_timer_in(&t_ack, ACK_TIMEOUT_MS);
	if (agent_send_ackable(&m, 0) == -1)
		agent_finish();
	log_info("sent shellexited (exit code %d)", sess.exit_code);
}

/* An older host: ask it to end the session on the lifecycle port. */
static void
agent_lifecycle_shutdown(void)
{
	struct msg	 m;
	struct wbuf	 frame;
	struct wire_err	 err;
	size_t		 off = 0;
	ssize_t		 n;
	int		 s;

	log_info("host did not announce shellexited: sending "
	    "shutdownrequest on the lifecycle port");
	if ((s = transport_connect(&conf.transport, PORT_LIFECYCLE)) == -1) {
		log_warn("lifecycle port");
		return;
	}
	memset(&m, 0, sizeof(m));
	m.type = MSG_SHUTDOWNREQUEST;
	wbuf_init(&frame);
	if (msg_encode(&m, &frame, &err) == 0) {
		while (off < frame.len) {
			n = write(s, frame.data + off, frame.len - off);
			if (n == -1 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			off += n;
		}
	}
	wbuf_free(&frame);
	close(s);
}

/* The session is over: exit with the shell's status.  Never reconnects. */
static __dead void
agent_finish(void)
{
	log_info("session ended: exit status %d", sess.exit_code);
	agent_exit(sess.exit_code);
}

/*
 * Every end of the agent comes here: stop the children, hang up what is
 * left of the shell's session and every exec (at once, each with its own
 * grace period, after which what ignored SIGHUP gets SIGKILL), reap them
 * and exit.  Nothing the agent started outlives it.  The common end (the
 * shell reaped, no job left behind, so no child of ours but exec runners)
 * costs no walk of /proc and no wait.
 */
static __dead void
agent_exit(int status)
{
	int64_t		 deadline;
	struct pollfd	 pfd;

	agent_stop_children();
	exec_hangup();
	copy_cancel_all("the session ended");
	if ((!sess.shell_gone || !sess.subreaper ||
	    ptree_other_children(exec_is_runner)) &&
	    shell_hangup(0) > 0) {
		deadline = now_ms() + HANGUP_GRACE_MS;
		memset(&pfd, 0, sizeof(pfd));
		pfd.fd = -1;
		while (now_ms() < deadline && shell_session_count() > 0)
			(void)poll(&pfd, 0, 10);
		(void)shell_hangup(1);
	}
	exec_wait();
	exit(status);
}

/* A permanent fault: one line saying what cannot work, then the end. */
void
agent_fail(const char *fmt, ...)
{
	char	 msg[1024];
	va_list	 ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warnx("%s", msg);
	agent_exit(1);
}

/*
 * SIGTERM or the host's shutdown: hang up the shell; its exit ends us.
 * While disconnected there is nobody to tell, so the end comes at once
 * instead of after the reconnect deadline.
 */
static void
agent_shutdown(const char *why)
{
	sess.stopping = 1;
	if (sess.shell_gone) {
		log_info("shutdown (%s): the shell has exited already", why);
		if (sess.phase == PH_RUN)
			agent_drain();
		else if (sess.phase == PH_CONNECT || sess.phase == PH_BOOT)
			agent_finish();
		return;
	}
	if (shell_pid() <= 0) {
		log_info("shutdown (%s) before the shell started", why);
		agent_exit(0);
	}
	log_info("shutdown (%s): hanging up the shell", why);
	(void)shell_hangup(0);
	ev_timer_in(&t_kill, HANGUP_GRACE_MS);
}

/* Encode one message and hand it to agent-control, if there is one. */
int
agent_send(const struct msg *m)
{
	struct wbuf	 frame;
	struct wire_err	 err;
	int		 r;

	wbuf_init(&frame);
	if (msg_encode(m, &frame, &err) == -1) {
		log_warnx("cannot encode %s: %s", msg_type_name(m->type),
		    err.msg);
		return (-1);
	}
	r = agent_send_frame(&frame);
	wbuf_free(&frame);
	return (r);
}

int
agent_send_frame(const struct wbuf *frame)
{
	if (!ctl_proc.running)
		return (-1);
	return (proc_compose(&ctl_proc, IMSG_CTL_SEND, -1, frame->data,
	    frame->len) == -1 ? -1 : 0);
}

/*
 * An ackable response: kept in the pending table until its ackreply, sent
 * now if the connection is up (otherwise the replay after the next boot
 * sends it).  -1 if it cannot be encoded (too large for a frame).
 */
int
agent_send_ackable(const struct msg *m, uint64_t id)
{
	struct wbuf	 frame;
	struct wire_err	 err;

	wbuf_init(&frame);
	if (msg_encode(m, &frame, &err) == -1) {
		log_warnx("cannot encode %s %llu: %s", msg_type_name(m->type),
		    (unsigned long long)id, err.msg);
		return (-1);
	}
	(void)pending_add(m->type, id, &frame);
	if (sess.phase == PH_RUN || sess.phase == PH_DRAIN ||
	    sess.phase == PH_ACKWAIT)
		(void)agent_send_frame(&frame);
	wbuf_free(&frame);
	return (0);
}

void
agent_send_error(uint64_t id, const char *message)
{
	struct msg	 m;
	char		 buf[1024];

	memset(&m, 0, sizeof(m));
	m.type = MSG_ERROR;
	m.u.error.id = id;
	strlcpy(buf, message, sizeof(buf));
	m.u.error.message.s = buf;
	m.u.error.message.len = strlen(buf);
	(void)agent_send_ackable(&m, id);
}
