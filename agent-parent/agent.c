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
 * The parent decides what a channel's end means (DESIGN.md):
 *  - the shell was reaped: drain the PTY, end the terminal stream, send
 *    shellexited, wait (bounded) for its ackreply, hang up the session and
 *    exit with the shell's status.  Never reconnect after that.
 *  - a channel reported EOF or an error: the transport dropped.  Stop all
 *    channel children, reconnect with capped exponential backoff and
 *    jitter, boot again; the shell keeps running.
 *  - a child died without saying why: log it; the channel is lost with it.
 */
#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/fs.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "fileops.h"
#include "log.h"
#include "sandbox.h"
#include "validate.h"

enum phase {
	PH_CONNECT,	/* transport down: (re)connecting with backoff */
	PH_BOOT,	/* connected, boot sequence running */
	PH_RUN,		/* healthy: after bootready */
	PH_DRAIN,	/* shell reaped: term child draining the PTY */
	PH_ACKWAIT,	/* shellexited sent: waiting for its ackreply */
};

enum { P_TERM, P_CONTROL, P_AUDIT, P_COUNT };

#define BACKOFF_BASE_MS		100
#define BACKOFF_MAX_MS		5000
#define BOOT_TIMEOUT_MS		10000
#define DRAIN_TIMEOUT_MS	5000
#define ACK_TIMEOUT_MS		2000
#define HANGUP_GRACE_MS		500
#define STOP_TIMEOUT_MS		1000
#define DEATHS_MAX		5	/* unexplained child deaths ... */
#define DEATHS_WINDOW_MS	10000	/* ... in this window: back off */
#define READFILE_MAX		(FRAME_MAX / 2 - 4096) /* bytes as int array */

struct agent_conf	 conf;

static struct proc	 procs[P_COUNT] = {
	{ .role = "term", .prog = "capsem-agent-term" },
	{ .role = "control", .prog = "capsem-agent-control" },
	{ .role = "audit", .prog = "capsem-agent-audit" },
};
static enum phase	 phase = PH_CONNECT;
static int		 sigfd = -1;
static int		 wsfd = -1;
static int		 first_boot_done;
static int		 cap_shellexited;
static int		 shell_gone;		/* reaped */
static int32_t		 exit_code;
static int32_t		 exit_signal;
static int		 backoff_level;
static int64_t		 t_connect;		/* next connect attempt */
static int64_t		 t_last_connect;
static int64_t		 t_down;		/* when the transport dropped */
static int64_t		 t_boot;		/* boot sequence deadline */
static int64_t		 t_drain;		/* drain deadline */
static int64_t		 t_ack;			/* ackreply deadline */
static int64_t		 t_kill;		/* SIGKILL the session */
static int64_t		 t_audit;		/* next audit connect */
static int		 audit_backoff_ms = 1000;
static struct imsg_audit_pos audit_pos;
static int		 audit_pos_valid;
static size_t		 boot_nenv;
static size_t		 boot_nfiles;
static uint64_t		 boot_bytes;
static int		 clock_eperm;
static int		 deaths;
static int64_t		 deaths_since;
static uint64_t		 nconnects;

static __dead void	 usage(void);
static void		 parse_shell(const char *);
static void		 agent_loop(void);
static void		 agent_signal(void);
static void		 agent_reap(void);
static void		 agent_timers(void);
static void		 agent_connect(void);
static void		 agent_down(const char *);
static void		 agent_schedule_connect(void);
static void		 agent_stop_children(void);
static void		 agent_dispatch(struct proc *);
static void		 agent_child_done(struct proc *, struct imsg *);
static void		 agent_control_imsg(struct imsg *);
static void		 agent_audit_imsg(struct imsg *);
static void		 agent_bootdone(void);
static void		 agent_drain(void);
static void		 agent_drained(void);
static __dead void	 agent_finish(void);
static void		 agent_shutdown(const char *);
static void		 agent_setenv(struct imsg *);
static void		 agent_bootfile(struct imsg *);
static void		 agent_fileop(struct imsg *);
static void		 agent_snapshot(void);
static void		 agent_unfreeze(void);
static void		 agent_boottiming(void);
static void		 agent_lifecycle_shutdown(void);
static void		 audit_start(void);
static void		 audit_stop(void);
static void		 clock_set(uint64_t);

static __dead void
usage(void)
{
	fprintf(stderr, "usage: %s [-dv] [-a auditlog] [-b boottiming] "
	    "[-f freezepath] [-o offset]\n\t[-r seconds] [-s \"shell args\"] "
	    "[-t transport] [-u user] [-w workspace]\n", getprogname());
	exit(1);
}

int
main(int argc, char *argv[])
{
	char		 errbuf[160], cmdline[4096];
	const char	*errstr, *tspec = "vsock:2", *offstr = NULL;
	sigset_t	 mask;
	uint32_t	 offset = 0;
	ssize_t		 n;
	int		 ch, fd;

	conf.workspace = "/root";
	conf.auditlog = "/var/log/audit/audit.log";
	conf.boottiming = "/run/capsem/boot-timing.jsonl";
	conf.reconnect_secs = 30;
	parse_shell("/bin/bash -i");

	while ((ch = getopt(argc, argv, "a:b:df:ho:r:s:t:u:vw:")) != -1) {
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

	log_init(conf.debug, LOG_DAEMON);
	log_procinit("capsem-agent");
	log_setverbose(conf.verbose);
	if (!conf.debug && daemon(1, 0) == -1)
		fatal("daemon");

	/* Signals arrive through one fd, handled in the loop. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) == -1)
		fatal("sigprocmask");
	if ((sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) == -1)
		fatal("signalfd");
	signal(SIGPIPE, SIG_IGN);

	if (shell_open_pty() == -1)
		fatal("cannot open a PTY");
	if ((wsfd = ws_open(conf.workspace)) == -1)
		log_warn("workspace %s: file operations will fail",
		    conf.workspace);

	log_info("starting: transport %s, shell %s, workspace %s",
	    transport_describe(&conf.transport, PORT_CONTROL, errbuf,
	    sizeof(errbuf)), conf.shell_argv[0], conf.workspace);
	t_down = now_ms();
	t_connect = now_ms();
	agent_loop();
	/* NOTREACHED */
	return (0);
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

int64_t
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static void
timer_min(int64_t *min, int64_t t)
{
	if (t != 0 && (*min == 0 || t < *min))
		*min = t;
}

static void
agent_loop(void)
{
	struct pollfd	 pfd[2 + P_COUNT + EXEC_RUNNING_MAX];
	struct proc	*pmap[P_COUNT];
	int		 efds[EXEC_RUNNING_MAX];
	int64_t		 next, now;
	int		 i, n, np, ne, timeout;

	for (;;) {
		memset(pfd, 0, sizeof(pfd));
		pfd[0].fd = sigfd;
		pfd[0].events = POLLIN;
		n = 1;
		np = 0;
		for (i = 0; i < P_COUNT; i++) {
			if (!procs[i].running)
				continue;
			pmap[np++] = &procs[i];
			pfd[n].fd = procs[i].ibuf.fd;
			pfd[n].events = POLLIN;
			if (imsgbuf_queuelen(&procs[i].ibuf) > 0)
				pfd[n].events |= POLLOUT;
			n++;
		}
		ne = exec_fds(efds, EXEC_RUNNING_MAX);
		for (i = 0; i < ne; i++) {
			pfd[n].fd = efds[i];
			pfd[n].events = POLLIN;
			n++;
		}

		next = 0;
		timer_min(&next, t_connect);
		timer_min(&next, t_boot);
		timer_min(&next, t_drain);
		timer_min(&next, t_ack);
		timer_min(&next, t_kill);
		timer_min(&next, t_audit);
		timeout = -1;
		if (next != 0) {
			now = now_ms();
			timeout = next > now ? (int)(next - now) : 0;
		}

		if (poll(pfd, n, timeout) == -1) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		if (pfd[0].revents & POLLIN)
			agent_signal();
		for (i = 0; i < np; i++) {
			if (!pmap[i]->running)
				continue;
			if (pfd[1 + i].revents & POLLOUT &&
			    imsgbuf_write(&pmap[i]->ibuf) == -1 &&
			    errno != EPIPE)
				log_warn("%s: imsgbuf_write", pmap[i]->role);
			if (pmap[i]->running &&
			    pfd[1 + i].revents & (POLLIN | POLLHUP | POLLERR))
				agent_dispatch(pmap[i]);
		}
		for (i = 0; i < ne; i++)
			if (pfd[1 + np + i].revents & (POLLIN | POLLHUP))
				exec_runner_readable(efds[i]);
		agent_timers();
	}
}

static void
agent_signal(void)
{
	struct signalfd_siginfo	 si;

	while (read(sigfd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			agent_reap();
			break;
		case SIGTERM:
		case SIGINT:
		case SIGHUP:
			agent_shutdown(strsignal(si.ssi_signo));
			break;
		}
	}
}

static void
agent_reap(void)
{
	char		 why[128];
	struct proc	*p;
	pid_t		 pid;
	int		 st, i, n, found;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		if (pid == shell_pid() && !shell_gone) {
			shell_gone = 1;
			if (WIFSIGNALED(st)) {
				exit_signal = WTERMSIG(st);
				exit_code = 128 + exit_signal;
			} else
				exit_code = WEXITSTATUS(st);
			log_info("shell exited: status %d%s", exit_code,
			    exit_signal ? " (signal)" : "");
			t_kill = 0;
			if (phase == PH_RUN)
				agent_drain();
			continue;
		}
		if (exec_reaped(pid, st))
			continue;
		found = 0;
		for (i = 0; i < P_COUNT; i++) {
			p = &procs[i];
			if (p->pid != pid)
				continue;
			found = 1;
			p->pid = 0;
			/*
			 * The child is dead, its socket closed: what it said
			 * before it died (why it stopped) is still in there.
			 * Read it first, then judge.
			 */
			for (n = 0; p->running && !p->done && n < 64; n++)
				agent_dispatch(p);
			proc_close(p);
			if (p->done)
				break;
			/* Died without telling us why: a bug or an attack. */
			log_warnx("%s child (pid %d) %s", p->role, (int)pid,
			    sandbox_describe_exit(st, why, sizeof(why)));
			if (deaths_since == 0 ||
			    now_ms() - deaths_since > DEATHS_WINDOW_MS) {
				deaths_since = now_ms();
				deaths = 0;
			}
			deaths++;
			if (i == P_AUDIT) {
				t_audit = now_ms() + (deaths > DEATHS_MAX ?
				    BACKOFF_MAX_MS : audit_backoff_ms);
			} else if (phase == PH_ACKWAIT) {
				agent_finish();
			} else if (phase == PH_BOOT || phase == PH_RUN ||
			    phase == PH_DRAIN) {
				if (deaths > DEATHS_MAX)
					backoff_level += 3;
				agent_down("channel child died");
			}
			break;
		}
		if (!found)
			log_debug("reaped pid %d", (int)pid);
	}
}

static void
agent_timers(void)
{
	int64_t	 now = now_ms();

	if (t_connect != 0 && now >= t_connect) {
		t_connect = 0;
		agent_connect();
	}
	if (t_boot != 0 && now >= t_boot) {
		t_boot = 0;
		if (phase == PH_BOOT) {
			log_warnx("host did not finish the boot sequence in "
			    "%d ms", BOOT_TIMEOUT_MS);
			agent_down("boot timeout");
		}
	}
	if (t_drain != 0 && now >= t_drain) {
		t_drain = 0;
		if (phase == PH_DRAIN) {
			log_warnx("terminal drain did not finish: ending");
			agent_drained();
		}
	}
	if (t_ack != 0 && now >= t_ack) {
		t_ack = 0;
		if (phase == PH_ACKWAIT) {
			log_warnx("no ackreply for shellexited in %d ms: "
			    "ending anyway", ACK_TIMEOUT_MS);
			agent_finish();
		}
	}
	if (t_kill != 0 && now >= t_kill) {
		t_kill = 0;
		if (!shell_gone) {
			log_info("shell still running: SIGKILL");
			(void)shell_hangup(1);
		}
	}
	if (t_audit != 0 && now >= t_audit) {
		t_audit = 0;
		audit_start();
	}
}

/* Connect terminal, then control; start their children; say ready. */
static void
agent_connect(void)
{
	struct msg	 m;
	char		 desc[160];
	int		 tsock, csock, pty;

	t_last_connect = now_ms();
	nconnects++;
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
	if ((pty = fcntl(shell_master(), F_DUPFD_CLOEXEC, 3)) == -1)
		fatal("dup PTY master");
	if (proc_start(&procs[P_TERM], conf.debug, conf.verbose) == -1 ||
	    proc_start(&procs[P_CONTROL], conf.debug, conf.verbose) == -1)
		fatal("cannot start channel children");
	proc_compose(&procs[P_TERM], IMSG_TERM_SOCKET, tsock, NULL, 0);
	proc_compose(&procs[P_TERM], IMSG_TERM_PTY, pty, NULL, 0);
	proc_compose(&procs[P_CONTROL], IMSG_CTL_SOCKET, csock, NULL, 0);

	phase = PH_BOOT;
	t_boot = now_ms() + BOOT_TIMEOUT_MS;
	boot_nenv = boot_nfiles = 0;
	boot_bytes = 0;
	memset(&m, 0, sizeof(m));
	m.type = MSG_READY;
	m.u.ready.version.s = AGENT_VERSION;
	m.u.ready.version.len = strlen(AGENT_VERSION);
	(void)agent_send(&m);
	log_info("connected (attempt %llu), booting",
	    (unsigned long long)nconnects);
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

	if (now - t_down > (int64_t)conf.reconnect_secs * 1000) {
		log_warnx("no connection to the host for %d s: giving up",
		    conf.reconnect_secs);
		if (!shell_gone) {
			(void)shell_hangup(0);
			(void)shell_hangup(1);
		}
		exit(1);
	}
	if (backoff_level > 0) {
		delay = BACKOFF_BASE_MS << (backoff_level > 6 ? 6 :
		    backoff_level - 1);
		if (delay > BACKOFF_MAX_MS)
			delay = BACKOFF_MAX_MS;
		delay += (int64_t)arc4random_uniform(delay / 2 + 1) - delay / 4;
	}
	if (now + delay < t_last_connect + BACKOFF_BASE_MS)
		delay = t_last_connect + BACKOFF_BASE_MS - now;
	backoff_level++;
	t_connect = now + delay;
	log_debug("next connection attempt in %lld ms", (long long)delay);
}

/* The transport dropped: stop every channel child and reconnect. */
static void
agent_down(const char *why)
{
	if (phase == PH_CONNECT)
		return;
	log_info("transport down (%s): reconnecting", why);
	agent_stop_children();
	if (phase == PH_DRAIN || phase == PH_ACKWAIT) {
		/* The exit is told again after the next boot. */
		t_drain = t_ack = 0;
	}
	phase = PH_CONNECT;
	t_boot = 0;
	t_audit = 0;
	t_down = now_ms();
	agent_schedule_connect();
}

/*
 * Stop the audit child in order: it reports its last read position before
 * it exits, so the next one neither resends nor skips a record.  Bounded.
 */
static void
audit_stop_gracefully(void)
{
	struct proc	*p = &procs[P_AUDIT];
	struct pollfd	 pfd;
	struct imsg	 imsg;
	int64_t		 deadline = now_ms() + STOP_TIMEOUT_MS;
	ssize_t		 n;

	if (!p->running || proc_compose(p, IMSG_CHILD_STOP, -1, NULL, 0) ==
	    -1 || imsgbuf_flush(&p->ibuf) == -1)
		return;
	while (!p->done && now_ms() < deadline) {
		pfd.fd = p->ibuf.fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int)(deadline - now_ms())) <= 0)
			break;
		if ((n = imsgbuf_read(&p->ibuf)) == 0 ||
		    (n == -1 && errno != EAGAIN))
			break;
		while ((n = imsg_get(&p->ibuf, &imsg)) > 0) {
			if (imsg_get_type(&imsg) == IMSG_AUDIT_POS)
				agent_audit_imsg(&imsg);
			else if (imsg_get_type(&imsg) == IMSG_CHILD_DONE)
				p->done = 1;
			imsg_free(&imsg);
		}
		if (n == -1)
			break;
	}
}

static void
agent_stop_children(void)
{
	struct proc	*p;
	pid_t		 pid;
	int		 i, st;
	char		 why[128];

	audit_stop_gracefully();
	for (i = 0; i < P_COUNT; i++) {
		p = &procs[i];
		proc_close(p);
		if ((pid = p->pid) == 0)
			continue;
		p->pid = 0;
		if (proc_reap(pid, STOP_TIMEOUT_MS, &st) == 0 && !p->done &&
		    !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
			log_warnx("%s child (pid %d) %s", p->role, (int)pid,
			    sandbox_describe_exit(st, why, sizeof(why)));
	}
}

static void
agent_dispatch(struct proc *p)
{
	struct imsg	 imsg;
	ssize_t		 n;

	if ((n = imsgbuf_read(&p->ibuf)) == -1 && errno != EAGAIN) {
		log_warn("%s: imsgbuf_read", p->role);
		n = 0;
	}
	if (n == 0) {
		/* The child closed its end; reaping tells us how it ended. */
		proc_close(p);
		return;
	}
	for (;;) {
		if ((n = imsg_get(&p->ibuf, &imsg)) == -1) {
			log_warn("%s: bad imsg from child", p->role);
			proc_close(p);
			return;
		}
		if (n == 0)
			return;
		switch (imsg_get_type(&imsg)) {
		case IMSG_CHILD_READY:
			log_debug("%s child ready", p->role);
			proc_selftest(p, conf.debug);
			break;
		case IMSG_CHILD_SECCOMP:
			proc_seccomp_report(p, &imsg);
			break;
		case IMSG_CHILD_DONE:
			agent_child_done(p, &imsg);
			break;
		case IMSG_TERM_DRAINED:
			if (p == &procs[P_TERM] && phase == PH_DRAIN)
				agent_drained();
			break;
		default:
			if (p == &procs[P_CONTROL])
				agent_control_imsg(&imsg);
			else if (p == &procs[P_AUDIT])
				agent_audit_imsg(&imsg);
			else
				log_warnx("%s: unexpected imsg %u", p->role,
				    imsg_get_type(&imsg));
			break;
		}
		imsg_free(&imsg);
		if (!p->running)
			return;
	}
}

static void
agent_child_done(struct proc *p, struct imsg *imsg)
{
	struct imsg_child_done	 d;

	if (imsg_get_data(imsg, &d, sizeof(d)) == -1) {
		log_warnx("%s: malformed IMSG_CHILD_DONE", p->role);
		return;
	}
	d.detail[sizeof(d.detail) - 1] = '\0';
	p->done = 1;
	log_debug("%s child done: %s", p->role, d.detail);
	if (p == &procs[P_AUDIT]) {
		proc_close(p);
		if (phase == PH_RUN)
			t_audit = now_ms() + audit_backoff_ms;
		return;
	}
	if (d.reason == CHILD_STOPPED)
		return;
	/* After the drain, the terminal's end is expected. */
	if (p == &procs[P_TERM] && phase == PH_ACKWAIT)
		return;
	/*
	 * shellexited has left: whatever happens to the connection now, the
	 * session is over and we never reconnect for it.
	 */
	if (phase == PH_ACKWAIT) {
		log_info("control connection ended before the ackreply "
		    "(%s): ending", d.detail);
		agent_finish();
	}
	if (phase == PH_BOOT || phase == PH_RUN || phase == PH_DRAIN)
		agent_down(d.detail);
}

/* Input from agent-control: typed, but still from an untrusted process. */
static void
agent_control_imsg(struct imsg *imsg)
{
	struct imsg_bootconfig	 bc;
	struct imsg_resize	 rs;
	struct imsg_exec	 ex;
	uint64_t		 v;
	size_t			 len = imsg_get_len(imsg);
	uint8_t			*buf;

	switch (imsg_get_type(imsg)) {
	case IMSG_CTL_BOOTCONFIG:
		if (imsg_get_data(imsg, &bc, sizeof(bc)) == -1)
			break;
		cap_shellexited = bc.cap_shellexited != 0;
		log_debug("bootconfig: epoch %llu, shellexited %s",
		    (unsigned long long)bc.epoch_secs,
		    cap_shellexited ? "supported" : "not supported");
		if (bc.epoch_secs > 0)
			clock_set(bc.epoch_secs);
		break;
	case IMSG_CTL_SETENV:
		agent_setenv(imsg);
		break;
	case IMSG_CTL_BOOTFILE:
		agent_bootfile(imsg);
		break;
	case IMSG_CTL_BOOTDONE:
		if (phase == PH_BOOT)
			agent_bootdone();
		break;
	case IMSG_CTL_RESIZE:
		if (imsg_get_data(imsg, &rs, sizeof(rs)) == 0)
			shell_resize(rs.cols, rs.rows);
		break;
	case IMSG_CTL_EXEC:
		if (len < sizeof(ex) || len > FRAME_MAX)
			break;
		if ((buf = malloc(len)) == NULL)
			break;
		if (imsg_get_data(imsg, buf, len) == 0) {
			memcpy(&ex, buf, sizeof(ex));
			if (phase == PH_RUN || phase == PH_BOOT)
				exec_request(ex.id, (char *)buf + sizeof(ex),
				    len - sizeof(ex));
		}
		free(buf);
		break;
	case IMSG_CTL_PING:
		if (imsg_get_data(imsg, &v, sizeof(v)) == 0 && v > 0)
			clock_set(v);
		break;
	case IMSG_CTL_ACKREPLY:
		if (imsg_get_data(imsg, &v, sizeof(v)) == -1)
			break;
		pending_ack(v);
		if (v == 0 && phase == PH_ACKWAIT) {
			log_info("host acknowledged shellexited");
			agent_finish();
		}
		break;
	case IMSG_CTL_FILEWRITE:
	case IMSG_CTL_FILEREAD:
	case IMSG_CTL_FILEDELETE:
		agent_fileop(imsg);
		break;
	case IMSG_CTL_SHUTDOWN:
		agent_shutdown("host asked for shutdown");
		break;
	case IMSG_CTL_SNAPSHOT:
		agent_snapshot();
		break;
	case IMSG_CTL_UNFREEZE:
		agent_unfreeze();
		break;
	case IMSG_CTL_SENT:
		break;
	default:
		log_warnx("control: unexpected imsg %u", imsg_get_type(imsg));
		break;
	}
}

/* Entries in a directory, or -1: our open fds, for the boot log line. */
static int
count_dir(const char *path)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	if ((d = opendir(path)) == NULL)
		return (-1);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return (n);
}

/* Our live children (channel children, the shell, exec runners). */
static int
count_children(void)
{
	char	 path[64], buf[64];
	FILE	*fp;
	int	 n = 0;

	snprintf(path, sizeof(path), "/proc/self/task/%d/children",
	    (int)getpid());
	if ((fp = fopen(path, "re")) == NULL)
		return (-1);
	while (fscanf(fp, "%63s", buf) == 1)
		n++;
	fclose(fp);
	return (n);
}

/* bootconfigdone: start the shell (first boot), say bootready, resume. */
static void
agent_bootdone(void)
{
	struct msg	 m;

	if (!first_boot_done) {
		if (shell_start() == -1) {
			log_warn("cannot start the shell");
			shell_gone = 1;
			exit_code = 127;
		}
	}
	memset(&m, 0, sizeof(m));
	m.type = MSG_BOOTREADY;
	(void)agent_send(&m);
	if (!first_boot_done)
		agent_boottiming();
	first_boot_done = 1;
	phase = PH_RUN;
	t_boot = 0;
	t_down = 0;
	backoff_level = 0;
	log_info("boot sequence done: session running (connection %llu, "
	    "%d fds open, %d child processes)", (unsigned long long)nconnects,
	    count_dir("/proc/self/fd") - 1, count_children());
	(void)pending_replay();
	audit_start();
	if (shell_gone)
		agent_drain();
}

static void
agent_setenv(struct imsg *imsg)
{
	char		 buf[ENV_KEY_MAX + ENV_VALUE_MAX + 2];
	const char	*why, *key, *value;
	size_t		 len = imsg_get_len(imsg), klen;

	if (len < 2 || len > sizeof(buf) ||
	    imsg_get_data(imsg, buf, len) == -1 || buf[len - 1] != '\0') {
		log_warnx("boot: malformed setenv dropped");
		return;
	}
	key = buf;
	klen = strlen(key);
	if (klen + 1 >= len) {
		log_warnx("boot: malformed setenv dropped");
		return;
	}
	value = buf + klen + 1;
	if (first_boot_done) {
		log_debug("boot: setenv %s ignored: the shell keeps its "
		    "environment", key);
		return;
	}
	if (valid_env_key(key, klen, &why) == -1 ||
	    valid_env_value(value, strlen(value), &why) == -1 ||
	    valid_env_count(boot_nenv + 1, &why) == -1) {
		log_warnx("boot: setenv %.64s rejected: %s", key, why);
		return;
	}
	if (shell_setenv(key, value) == -1) {
		log_warn("boot: setenv %.64s", key);
		return;
	}
	boot_nenv++;
}

/* Split a file imsg into its header, path (NUL-terminated copy) and data. */
static int
file_imsg(struct imsg *imsg, struct imsg_file *f, char **path,
    uint8_t **data, size_t *datalen)
{
	size_t	 len = imsg_get_len(imsg);
	uint8_t	*buf;

	*path = NULL;
	*data = NULL;
	if (len < sizeof(*f) || len > CAPSEM_IMSG_MAX ||
	    (buf = malloc(len + 1)) == NULL)
		return (-1);
	if (imsg_get_data(imsg, buf, len) == -1)
		goto bad;
	memcpy(f, buf, sizeof(*f));
	if (f->pathlen > len - sizeof(*f))
		goto bad;
	if ((*path = strndup((char *)buf + sizeof(*f), f->pathlen)) == NULL)
		goto bad;
	if (strlen(*path) != f->pathlen) {
		free(*path);
		*path = NULL;
		goto bad;
	}
	*datalen = len - sizeof(*f) - f->pathlen;
	memmove(buf, buf + sizeof(*f) + f->pathlen, *datalen);
	*data = buf;
	return (0);
 bad:
	free(buf);
	return (-1);
}

static void
agent_bootfile(struct imsg *imsg)
{
	struct imsg_file f;
	char		 err[256], *path;
	const char	*why;
	uint8_t		*data;
	size_t		 len;

	if (file_imsg(imsg, &f, &path, &data, &len) == -1) {
		log_warnx("boot: malformed file dropped");
		return;
	}
	if (first_boot_done)
		log_debug("boot: file %s ignored on reconnect", path);
	else if (valid_boot_path(path, strlen(path), &why) == -1 ||
	    valid_boot_files(boot_nfiles + 1, boot_bytes + len, &why) == -1)
		log_warnx("boot: file %.200s rejected: %s", path, why);
	else if (bootfile_write(path, data, len, f.mode, err,
	    sizeof(err)) == -1)
		log_warnx("boot: %s", err);
	else {
		boot_nfiles++;
		boot_bytes += len;
		log_debug("boot: wrote %s (%zu bytes)", path, len);
	}
	free(path);
	free(data);
}

static void
agent_fileop(struct imsg *imsg)
{
	struct imsg_file f;
	struct msg	 m;
	char		 err[512], *path;
	uint8_t		*data, *rdata = NULL;
	size_t		 len, rlen = 0;
	uint32_t	 type = imsg_get_type(imsg);
	int		 r;

	if (file_imsg(imsg, &f, &path, &data, &len) == -1) {
		log_warnx("control: malformed file request dropped");
		return;
	}
	memset(&m, 0, sizeof(m));
	if (type == IMSG_CTL_FILEWRITE)
		r = ws_write(wsfd, conf.workspace, path, data, len, f.mode,
		    err, sizeof(err));
	else if (type == IMSG_CTL_FILEREAD)
		r = ws_read(wsfd, conf.workspace, path, READFILE_MAX, &rdata,
		    &rlen, err, sizeof(err));
	else
		r = ws_delete(wsfd, conf.workspace, path, err, sizeof(err));
	if (r == -1) {
		log_info("file request %llu: %s", (unsigned long long)f.id,
		    err);
		agent_send_error(f.id, err);
	} else if (type == IMSG_CTL_FILEREAD) {
		m.type = MSG_FILECONTENT;
		m.u.filecontent.id = f.id;
		m.u.filecontent.path.s = path;
		m.u.filecontent.path.len = strlen(path);
		m.u.filecontent.data.p = rdata;
		m.u.filecontent.data.len = rlen;
		if (agent_send_ackable(&m, f.id) == -1)
			agent_send_error(f.id, "failed to read: the answer "
			    "does not fit in a frame");
	} else {
		m.type = MSG_FILEOPDONE;
		m.u.fileopdone.id = f.id;
		(void)agent_send_ackable(&m, f.id);
	}
	free(rdata);
	free(path);
	free(data);
}

static void
agent_snapshot(void)
{
	struct msg	 m;
	int		 fd;

	sync();
	if (conf.freezepath != NULL) {
		if ((fd = open(conf.freezepath, O_RDONLY | O_CLOEXEC)) == -1) {
			log_warn("preparesnapshot: open %s", conf.freezepath);
			return;
		}
		if (ioctl(fd, FIFREEZE, 0) == -1) {
			log_warn("preparesnapshot: freeze %s",
			    conf.freezepath);
			close(fd);
			return;
		}
		close(fd);
		log_info("froze %s for a snapshot", conf.freezepath);
	}
	memset(&m, 0, sizeof(m));
	m.type = MSG_SNAPSHOTREADY;
	(void)agent_send(&m);
}

static void
agent_unfreeze(void)
{
	int	 fd;

	if (conf.freezepath == NULL)
		return;
	if ((fd = open(conf.freezepath, O_RDONLY | O_CLOEXEC)) == -1) {
		log_warn("unfreeze: open %s", conf.freezepath);
		return;
	}
	if (ioctl(fd, FITHAW, 0) == -1)
		log_warn("unfreeze: thaw %s", conf.freezepath);
	else
		log_info("thawed %s", conf.freezepath);
	close(fd);
}

/* First boot only: the boot stages recorded by the image, if any. */
static void
agent_boottiming(void)
{
	struct boot_stage stages[64];
	struct msg	 m;
	json_t		*j, *name, *dur;
	FILE		*fp;
	char		 line[1024];
	size_t		 n = 0, i;

	if (conf.boottiming == NULL ||
	    (fp = fopen(conf.boottiming, "re")) == NULL)
		return;
	while (n < 64 && fgets(line, sizeof(line), fp) != NULL) {
		if ((j = json_loads(line, 0, NULL)) == NULL)
			continue;
		name = json_object_get(j, "name");
		dur = json_object_get(j, "duration_ms");
		if (json_is_string(name) && json_is_integer(dur) &&
		    json_integer_value(dur) >= 0) {
			stages[n].name.s = strdup(json_string_value(name));
			stages[n].name.len = stages[n].name.s ?
			    strlen(stages[n].name.s) : 0;
			stages[n].duration_ms = json_integer_value(dur);
			if (stages[n].name.s != NULL)
				n++;
		}
		json_decref(j);
	}
	fclose(fp);
	if (n > 0) {
		memset(&m, 0, sizeof(m));
		m.type = MSG_BOOTTIMING;
		m.u.boottiming.stages = stages;
		m.u.boottiming.nstages = n;
		(void)agent_send(&m);
	}
	for (i = 0; i < n; i++)
		free(stages[i].name.s);
}

/* The shell was reaped (or was already when the connection came back). */
static void
agent_drain(void)
{
	phase = PH_DRAIN;
	t_drain = now_ms() + DRAIN_TIMEOUT_MS;
	if (proc_compose(&procs[P_TERM], IMSG_TERM_DRAIN, -1, NULL, 0) == -1)
		agent_drained();
}

/* The terminal stream has ended: tell the host the shell exited. */
static void
agent_drained(void)
{
	struct msg	 m;

	t_drain = 0;
	if (!cap_shellexited) {
		agent_lifecycle_shutdown();
		agent_finish();
	}
	memset(&m, 0, sizeof(m));
	m.type = MSG_SHELLEXITED;
	m.u.shellexited.exit_code = exit_code;
	m.u.shellexited.signal = exit_signal;
	m.u.shellexited.has_signal = exit_signal != 0;
	phase = PH_ACKWAIT;
	t_ack = now_ms() + ACK_TIMEOUT_MS;
	if (agent_send_ackable(&m, 0) == -1)
		agent_finish();
	log_info("sent shellexited (exit code %d)", exit_code);
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

/*
 * The end: stop the children, hang up what is left of the shell's session
 * and exit with the shell's status.  Never reconnects.
 */
static __dead void
agent_finish(void)
{
	int64_t		 deadline;
	struct pollfd	 pfd;

	agent_stop_children();
	if (shell_hangup(0) > 0) {
		deadline = now_ms() + HANGUP_GRACE_MS;
		memset(&pfd, 0, sizeof(pfd));
		pfd.fd = -1;
		/* Bounded: a job that ignores SIGHUP gets SIGKILL. */
		while (now_ms() < deadline && shell_session_count() > 0)
			(void)poll(&pfd, 0, 10);
		(void)shell_hangup(1);
	}
	log_info("session ended: exit status %d", exit_code);
	exit(exit_code);
}

/* SIGTERM or the host's shutdown: hang up the shell; its exit ends us. */
static void
agent_shutdown(const char *why)
{
	log_info("shutdown (%s): hanging up the shell", why);
	if (shell_gone || shell_pid() <= 0) {
		if (phase == PH_RUN && shell_gone)
			agent_drain();
		else if (shell_pid() <= 0)
			exit(0);
		return;
	}
	(void)shell_hangup(0);
	t_kill = now_ms() + HANGUP_GRACE_MS;
}

static void
audit_start(void)
{
	struct imsg_audit_pos	 pos;
	struct stat		 sb;
	char			 desc[160];
	int			 sock, fd;

	if (phase != PH_RUN || procs[P_AUDIT].running || procs[P_AUDIT].pid)
		return;
	if ((sock = transport_connect(&conf.transport, PORT_AUDIT)) == -1) {
		log_debug("audit: connect %s: %s",
		    transport_describe(&conf.transport, PORT_AUDIT, desc,
		    sizeof(desc)), strerror(errno));
		t_audit = now_ms() + audit_backoff_ms;
		if (audit_backoff_ms < BACKOFF_MAX_MS)
			audit_backoff_ms *= 2;
		return;
	}
	audit_backoff_ms = 1000;
	if (proc_start(&procs[P_AUDIT], conf.debug, conf.verbose) == -1) {
		log_warn("audit: cannot start the audit child");
		close(sock);
		return;
	}
	proc_compose(&procs[P_AUDIT], IMSG_AUDIT_SOCKET, sock, NULL, 0);
	if ((fd = open(conf.auditlog, O_RDONLY | O_CLOEXEC)) == -1) {
		log_debug("audit: %s: %s", conf.auditlog, strerror(errno));
		proc_compose(&procs[P_AUDIT], IMSG_AUDIT_NOLOG, -1, NULL, 0);
		return;
	}
	memset(&pos, 0, sizeof(pos));
	if (fstat(fd, &sb) == 0) {
		pos.dev = sb.st_dev;
		pos.ino = sb.st_ino;
	}
	if (!audit_pos_valid)
		pos.from_end = 1;	/* first start: tail from the end */
	else {
		pos.last_sec = audit_pos.last_sec;
		pos.last_msec = audit_pos.last_msec;
		pos.last_serial = audit_pos.last_serial;
		if (audit_pos.dev == pos.dev && audit_pos.ino == pos.ino)
			pos.offset = audit_pos.offset;
		else
			log_info("audit: %s was replaced while we were away: "
			    "reading the new file from its start",
			    conf.auditlog);
	}
	proc_compose(&procs[P_AUDIT], IMSG_AUDIT_LOG, fd, &pos, sizeof(pos));
}

static void
audit_stop(void)
{
	proc_close(&procs[P_AUDIT]);
}

static void
agent_audit_imsg(struct imsg *imsg)
{
	struct imsg_audit_pos	 pos;
	struct stat		 sb;
	int			 fd;

	switch (imsg_get_type(imsg)) {
	case IMSG_AUDIT_POS:
		if (imsg_get_data(imsg, &pos, sizeof(pos)) == -1) {
			log_warnx("audit: malformed position");
			audit_stop();
			break;
		}
		audit_pos = pos;
		audit_pos_valid = 1;
		break;
	case IMSG_AUDIT_REOPEN:
		/* Rotated?  Only a new file (dev/ino) is passed down. */
		if (stat(conf.auditlog, &sb) == -1)
			break;
		if (audit_pos_valid && sb.st_dev == audit_pos.dev &&
		    sb.st_ino == audit_pos.ino)
			break;
		if ((fd = open(conf.auditlog, O_RDONLY | O_CLOEXEC)) == -1)
			break;
		if (fstat(fd, &sb) == -1) {
			close(fd);
			break;
		}
		memset(&pos, 0, sizeof(pos));
		pos.dev = sb.st_dev;
		pos.ino = sb.st_ino;
		pos.last_sec = audit_pos.last_sec;
		pos.last_msec = audit_pos.last_msec;
		pos.last_serial = audit_pos.last_serial;
		audit_pos = pos;
		audit_pos_valid = 1;
		log_info("audit: following %s to its new file",
		    conf.auditlog);
		proc_compose(&procs[P_AUDIT], IMSG_AUDIT_LOG, fd, &pos,
		    sizeof(pos));
		break;
	default:
		log_warnx("audit: unexpected imsg %u", imsg_get_type(imsg));
		break;
	}
}

static void
clock_set(uint64_t epoch)
{
	struct timespec	 ts;

	if (epoch > INT64_MAX)
		return;
	/*
	 * The host's time has whole seconds only: a clock already within a
	 * second of it is left alone rather than set back by up to a second
	 * at every boot and ping (and a local agent never moves the clock of
	 * the machine it shares with its host).
	 */
	if (clock_gettime(CLOCK_REALTIME, &ts) == 0 &&
	    ts.tv_sec >= (time_t)epoch - 1 && ts.tv_sec <= (time_t)epoch + 1)
		return;
	ts.tv_sec = (time_t)epoch;
	ts.tv_nsec = 0;
	if (clock_settime(CLOCK_REALTIME, &ts) == -1) {
		if (errno == EPERM) {
			if (!clock_eperm)
				log_info("clock not set: not permitted "
				    "(logged once)");
			clock_eperm = 1;
		} else
			log_warn("clock_settime");
	} else
		log_debug("clock set to %llu", (unsigned long long)epoch);
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
	if (!procs[P_CONTROL].running)
		return (-1);
	return (proc_compose(&procs[P_CONTROL], IMSG_CTL_SEND, -1,
	    frame->data, frame->len) == -1 ? -1 : 0);
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
	if (phase == PH_RUN || phase == PH_DRAIN || phase == PH_ACKWAIT)
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
