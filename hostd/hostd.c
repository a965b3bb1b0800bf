/*
 * capsem-hostd: supervises one session (one VM).  It listens for the
 * guest's connections, hands every framed one to a sandboxed decoder child,
 * relays the terminal between the guest and the attach clients, records it
 * (pty.log), and ends the session when the guest says the shell exited.
 *
 * This file: configuration, the event loop (proto/ev.c: every module
 * registers its own fds and timers), signals, the session's state (changed
 * by hostd_state() alone, which logs the transition and rewrites
 * session.json), and the end of the session: exit status to every client,
 * the VM stopped and the directory removed for a temporary session, exit
 * with the shell's status.
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "capsem_imsg.h"
#include "hostd.h"
#include "log.h"
#include "proc.h"
#include "validate.h"
#include "version.h"

#define VM_GRACE_MS		2000
#define END_MS			2000
#define VM_LAST_WORDS_MS	1000
#define HANGUP_MS		2000	/* shell hung up: its exit due by then */
#define BOOT_SECS_DEFAULT	60
#define AUDIT_MAX_DEFAULT	(20LL * 1024 * 1024)

struct hconf	 conf;
struct hsession	 sess;

static int		 vmfd = -1;	/* pidfd of the VM process */
static struct ev	*vmev;
static int		 vm_gone;	/* VM exited: verdict pending */
static struct ev_timer	 vm_timer;	/* ... due by then at the latest */
static int		 finishing;
static int		 stop_vm;	/* stop the VM side at the end */
static struct ev_timer	 end_timer;
static struct ev_timer	 hangup_timer;

static __dead void	 usage(void);
static void		 hostd_signal(int, void *);
static void		 hostd_prepare(void *);
static void		 vm_event(int, short, void *);
static void		 vm_due(void *);
static void		 vm_stop(void);
static void		 vm_verdict(void);
static void		 end_due(void *);
static void		 hangup_due(void *);
static __dead void	 hostd_exit(void);
static int		 wait_pidfd(int, int);
static void		 guest_cid_conf(void);
static int		 vm_cmdline_cid(pid_t, uint32_t *);

static const struct option longopts[] = {
	{ "temp",	no_argument,		NULL, 'T' },
	{ "no-clock",	no_argument,		NULL, 'C' },
	{ "vm-pid",	required_argument,	NULL, 'k' },
	{ "guest-cid",	required_argument,	NULL, 'g' },
	{ "vm-stop",	required_argument,	NULL, 'K' },
	{ "ready-fd",	required_argument,	NULL, 'R' },
	{ "ping",	required_argument,	NULL, 'p' },
	{ "missed",	required_argument,	NULL, 'm' },
	{ "boot-timeout", required_argument,	NULL, 'B' },
	{ "audit-max",	required_argument,	NULL, 'A' },
	{ "term-modes",	required_argument,	NULL, 'M' },
	{ "version",	no_argument,		NULL, 'V' },
	{ NULL,		0,			NULL, 0 }
};

static __dead void
usage(void)
{
	fprintf(stderr, "usage: %s [-CdTVv] [-A audit-max] [-B boot-seconds] "
	    "[-e key=value]\n\t[-g guest-cid] [-K vm-stop-command] [-k vm-pid] "
	    "[-M term-modes]\n\t[-m missed-pongs] [-p ping-seconds] [-R fd] "
	    "[-t transport] -S dir\n", getprogname());
	exit(1);
}

int
main(int argc, char *argv[])
{
	static const int sigs[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP };
	char		 errbuf[160], abs[PATH_MAX];
	const char	*errstr, *why, *tspec = NULL;
	struct stat	 sb;
	struct termmodes tm;
	char		*eq;
	int		 ch;

	conf.ready_fd = -1;
	conf.ping_secs = 10;
	conf.max_missed = 3;
	conf.boot_secs = BOOT_SECS_DEFAULT;
	conf.audit_max = AUDIT_MAX_DEFAULT;
	while ((ch = getopt_long(argc, argv, "A:B:Cde:g:K:k:M:m:p:R:S:Tt:Vv",
	    longopts, NULL)) != -1) {
		switch (ch) {
		case 'A':
			conf.audit_max = strtonum(optarg, 4096, LLONG_MAX,
			    &errstr);
			if (errstr != NULL)
				errx(1, "--audit-max %s: bytes is %s", optarg,
				    errstr);
			break;
		case 'B':
			conf.boot_secs = strtonum(optarg, 0, 86400, &errstr);
			if (errstr != NULL)
				errx(1, "--boot-timeout %s: seconds is %s",
				    optarg, errstr);
			break;
		case 'C':
			conf.no_clock = 1;
			break;
		case 'V':
			printf("capsem-hostd %s\n", CAPSEM_VERSION);
			exit(0);
		case 'd':
			conf.debug = 1;
			break;
		case 'e':
			if ((eq = strchr(optarg, '=')) == NULL)
				errx(1, "-e %s: not KEY=VALUE", optarg);
			if (valid_env_key(optarg, eq - optarg, &why) == -1 ||
			    valid_env_value(eq + 1, strlen(eq + 1), &why) == -1)
				errx(1, "-e %s: %s", optarg, why);
			if (valid_env_count(conf.nenv + 1, &why) == -1)
				errx(1, "-e %s: %s", optarg, why);
			conf.env[conf.nenv++] = optarg;
			break;
		case 'g':
			if (strcmp(optarg, "any") == 0) {
				conf.guest_cid_any = 1;
				break;
			}
			conf.guest_cid = strtonum(optarg, 1, UINT32_MAX - 1,
			    &errstr);
			if (errstr != NULL)
				errx(1, "--guest-cid %s: the CID is %s (a number,"
				    " or \"any\")", optarg, errstr);
			break;
		case 'K':
			conf.vm_stop = optarg;
			break;
		case 'k':
			conf.vm_pid = strtonum(optarg, 1, INT_MAX, &errstr);
			if (errstr != NULL)
				errx(1, "--vm-pid %s: %s", optarg, errstr);
			break;
		case 'M':
			if (termmodes_from_text(optarg, &tm, errbuf,
			    sizeof(errbuf)) == -1)
				errx(1, "--term-modes: %s", errbuf);
			conf.termmodes_len = tm.n == 0 ? 0 :
			    termmodes_encode(&tm, conf.termmodes);
			break;
		case 'm':
			conf.max_missed = strtonum(optarg, 1, 1000, &errstr);
			if (errstr != NULL)
				errx(1, "-m %s: missed pongs is %s", optarg,
				    errstr);
			break;
		case 'p':
			conf.ping_secs = strtonum(optarg, 1, 3600, &errstr);
			if (errstr != NULL)
				errx(1, "-p %s: ping interval is %s", optarg,
				    errstr);
			break;
		case 'R':
			conf.ready_fd = strtonum(optarg, 3, INT_MAX, &errstr);
			if (errstr != NULL)
				errx(1, "--ready-fd %s: %s", optarg, errstr);
			if (fcntl(conf.ready_fd, F_SETFD, FD_CLOEXEC) == -1)
				err(1, "--ready-fd %s", optarg);
			break;
		case 'S':
			conf.dir = optarg;
			break;
		case 'T':
			conf.temp = 1;
			break;
		case 't':
			tspec = optarg;
			break;
		case 'v':
			conf.verbose++;
			break;
		default:
			usage();
		}
	}
	if (argc != optind || conf.dir == NULL)
		usage();
	if (realpath(conf.dir, abs) == NULL) {
		if (errno != ENOENT || mkdir(conf.dir, 0700) == -1 ||
		    realpath(conf.dir, abs) == NULL)
			err(1, "-S %s", conf.dir);
	}
	if ((conf.dir = strdup(abs)) == NULL)
		err(1, NULL);
	if (stat(conf.dir, &sb) == -1)
		err(1, "%s", conf.dir);
	if (!S_ISDIR(sb.st_mode))
		errx(1, "-S %s: not a directory", conf.dir);
	conf.owner = sb.st_uid;
	if (sb.st_uid != geteuid() && geteuid() != 0)
		errx(1, "%s: owned by uid %u, not by us", conf.dir, sb.st_uid);
	if (tspec == NULL) {
		snprintf(conf.tspec, sizeof(conf.tspec), "unix:%s", conf.dir);
		tspec = conf.tspec;
	} else
		strlcpy(conf.tspec, tspec, sizeof(conf.tspec));
	if (transport_parse(tspec, &conf.transport, errbuf,
	    sizeof(errbuf)) == -1)
		errx(1, "-t %s: %s", tspec, errbuf);
	if (conf.vm_pid > 0 &&
	    (vmfd = (int)syscall(SYS_pidfd_open, conf.vm_pid, 0)) == -1)
		err(1, "--vm-pid %d", (int)conf.vm_pid);
	guest_cid_conf();

	log_init(conf.debug, LOG_DAEMON);
	log_procinit("capsem-hostd");
	log_setverbose(conf.verbose);
	umask(077);
	signal(SIGPIPE, SIG_IGN);
	ev_init();
	if (ev_signals(sigs, sizeof(sigs) / sizeof(sigs[0]), hostd_signal,
	    NULL) == -1)
		fatal("signalfd");
	ev_timer_init(&vm_timer, vm_due, NULL);
	ev_timer_init(&end_timer, end_due, NULL);
	ev_timer_init(&hangup_timer, hangup_due, NULL);
	stop_vm = conf.temp;
	sess.over = conf.temp;
	ev_prepare(hostd_prepare, NULL);
	if (vmfd != -1)
		vmev = ev_add(vmfd, POLLIN, vm_event, NULL);

	session_open();
	children_init();
	execs_init();
	copies_init();
	term_init();
	guest_init();
	clients_init();
	if (!conf.debug && daemon(1, 0) == -1)
		fatal("daemon");
	session_json();
	log_info("session %s: serving%s", conf.dir,
	    conf.temp ? " (temporary)" : "");
	if (conf.ready_fd != -1) {
		(void)write(conf.ready_fd, "1", 1);
		close(conf.ready_fd);
		conf.ready_fd = -1;
	}
	ev_run();
}

const char *
state_name(enum hstate s)
{
	switch (s) {
	case HS_STARTING:
		return ("starting");
	case HS_CONNECTED:
		return ("connected");
	case HS_DISCONNECTED:
		return ("disconnected");
	case HS_DRAINING:
		return ("exiting");
	case HS_ENDING:
	case HS_EXITED:
		return ("exited");
	}
	return ("?");
}

/*
 * The one place the session's state changes: the transition is logged and
 * session.json rewritten at once.
 */
void
hostd_state(enum hstate s)
{
	if (sess.state == s)
		return;
	log_debug("session state %s -> %s", state_name(sess.state),
	    state_name(s));
	sess.state = s;
	session_json();
}

/*
 * Why the session ended (session.json "reason", the log).  The first
 * reason given stands: a shell hung up because its last client left
 * exits with a status too, and that status is not the reason.
 */
void
hostd_reason(const char *fmt, ...)
{
	va_list	 ap;

	if (sess.reason[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(sess.reason, sizeof(sess.reason), fmt, ap);
	va_end(ap);
	session_changed();
}

/*
 * A fault that no retry can mend (a child program that cannot be run, a
 * sandbox that cannot be set up): one log line, the reason to every
 * client, the end.
 */
void
hostd_fault(const char *fmt, ...)
{
	char	 why[160];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	log_warnx("%s", why);
	if (!sess.exited)
		sess.exit_code = 255;
	hostd_end(why);
}

/*
 * A temporary session belongs to its clients, as an ssh session does: the
 * last one is gone (closed terminal, killed client, closed output pipe,
 * detach), so the shell's session is hung up and the session ends
 * through the normal path, bounded by HANGUP_MS.
 */
void
hostd_orphaned(void)
{
	if (!conf.temp || finishing || sess.exited)
		return;
	log_info("the last client left: ending the temporary session");
	hostd_reason("the last client left");
	if (guest_shutdown() == 0) {
		ev_timer_in(&hangup_timer, HANGUP_MS);
		return;
	}
	sess.exit_code = 128 + SIGHUP;
	hostd_end(NULL);
}

/* A client asked for the end of the session. */
void
hostd_shutdown(pid_t by)
{
	char	 note[96];

	if (finishing || sess.exited)
		return;
	hostd_reason("shut down (capsem-shell shutdown, pid %d)", (int)by);
	snprintf(note, sizeof(note), "the session is being shut down "
	    "(requested by pid %d)", (int)by);
	clients_notice(note);
	stop_vm = 1;
	if (guest_shutdown() == 0) {
		ev_timer_in(&hangup_timer, HANGUP_MS + END_MS);
		return;
	}
	/* No guest to ask: the session ends now, the VM side with it. */
	sess.over = 1;
	sess.exit_code = 128 + SIGHUP;
	hostd_end(NULL);
}

static void
hangup_due(void *arg)
{
	if (finishing || sess.exited)
		return;
	log_warnx("the shell did not end within %d ms of its hangup",
	    HANGUP_MS);
	sess.exit_code = 128 + SIGKILL;
	hostd_end(NULL);
}

static void
hostd_signal(int signo, void *arg)
{
	switch (signo) {
	case SIGCHLD:
		children_sigchld();
		break;
	case SIGTERM:
	case SIGINT:
	case SIGHUP:
		/* Already ending: the clients were told; end now. */
		if (finishing)
			hostd_exit();
		log_info("%s: %s", strsignal(signo),
		    conf.temp ? "ending the temporary session" :
		    "leaving; the guest will reconnect to the next "
		    "capsem-hostd");
		if (!sess.exited) {
			sess.exit_code = 128 + signo;
			hostd_end("capsem-hostd was stopped");
		}
		break;
	}
}

/* Before every poll: the conditions that end a wait. */
static void
hostd_prepare(void *arg)
{
	if (vm_gone && (sess.exited || children_running() == 0))
		vm_verdict();
	if (finishing && clients_flushed())
		hostd_exit();
}

/*
 * The VM process is gone: nothing will reconnect any more.  Its last words
 * may still be on their way (an agent exits as soon as shellexited is
 * acknowledged, and the control child acknowledges before it forwards), so
 * the verdict waits for the control child to have passed on what it read.
 */
static void
vm_event(int fd, short revents, void *arg)
{
	ev_del(vmev);
	vmev = NULL;
	close(vmfd);
	vmfd = -1;
	vm_gone = 1;
	ev_timer_in(&vm_timer, VM_LAST_WORDS_MS);
}

static void
vm_due(void *arg)
{
	if (vm_gone)
		vm_verdict();
}

static void
vm_verdict(void)
{
	vm_gone = 0;
	ev_timer_stop(&vm_timer);
	if (sess.exited)
		return;
	log_warnx("the VM (pid %d) exited before the shell did",
	    (int)conf.vm_pid);
	sess.exit_code = 255;
	hostd_end("the VM exited before the shell did");
}

/*
 * The session is over.  why NULL: the shell exited, everybody gets its
 * status; otherwise everybody gets why.  Clients have a moment to read it,
 * then hostd_exit() finishes the job.  (session.json says "disconnected"
 * for a session that is over for this hostd only: the guest's shell runs
 * on and a new hostd may take it over.)
 */
void
hostd_end(const char *why)
{
	if (finishing)
		return;
	finishing = 1;
	ev_timer_stop(&hangup_timer);
	if (why != NULL)
		hostd_reason("%s", why);
	else if (sess.exited)
		hostd_reason("the shell exited");
	else
		hostd_reason("the session was ended");
	guest_close_listeners();
	if (why == NULL) {
		if (sess.reason[0] != '\0' && strcmp(sess.reason,
		    "the shell exited") != 0)
			clients_notice(sess.reason);
		clients_exit();
	} else
		clients_error(why);
	ev_timer_in(&end_timer, END_MS);
	hostd_state(HS_ENDING);
}

static void
end_due(void *arg)
{
	hostd_exit();
}

static __dead void
hostd_exit(void)
{
	int	 code = sess.exit_code;

	clients_close();
	guest_stop_all();
	if (sess.over)
		hostd_state(HS_EXITED);
	if (stop_vm)
		vm_stop();
	if (conf.temp) {
		session_remove();
		log_info("temporary session removed");
	}
	log_info("session ended: exit %d", code);
	exit(code & 0xff);
}

/*
 * Temporary session: the VM goes too.  An agent exits by itself after
 * shellexited, so give it a moment, then ask, then insist.
 */
static void
vm_stop(void)
{
	pid_t	 pid;
	int	 status;

	if (conf.vm_stop != NULL) {
		log_info("stopping the VM: %s", conf.vm_stop);
		switch ((pid = fork())) {
		case -1:
			log_warn("fork");
			break;
		case 0:
			proc_reset_signals();
			execl("/bin/sh", "sh", "-c", conf.vm_stop,
			    (char *)NULL);
			_exit(127);
		default:
			if (proc_reap(pid, 10000, &status) == 0 &&
			    (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
				log_warnx("--vm-stop command failed (status "
				    "%d)", status);
		}
	}
	if (vmfd == -1)
		return;
	/* Only an agent whose shell exited is on its way out by itself. */
	if (!sess.exited || wait_pidfd(vmfd, VM_GRACE_MS) == 0) {
		log_info("VM (pid %d) did not exit: SIGTERM",
		    (int)conf.vm_pid);
		(void)syscall(SYS_pidfd_send_signal, vmfd, SIGTERM, NULL, 0);
		if (wait_pidfd(vmfd, VM_GRACE_MS) == 0) {
			log_warnx("VM (pid %d) did not exit: SIGKILL",
			    (int)conf.vm_pid);
			(void)syscall(SYS_pidfd_send_signal, vmfd, SIGKILL,
			    NULL, 0);
			(void)wait_pidfd(vmfd, VM_GRACE_MS);
		}
	}
	close(vmfd);
	vmfd = -1;
}

/* 1 when the process behind pidfd exited within ms, else 0. */
static int
wait_pidfd(int fd, int ms)
{
	struct pollfd	 pfd;
	int		 r;

	pfd.fd = fd;
	pfd.events = POLLIN;
	while ((r = poll(&pfd, 1, ms)) == -1 && errno == EINTR)
		;
	return (r > 0);
}

/*
 * Over vsock every VM on this host (and, with vsock_loopback, every local
 * user) can connect to our ports: only the guest's CID is accepted
 * (guest_peer_ok).  It is --guest-cid, or the guest-cid= of the VM's QEMU
 * command line (--vm-pid); with neither we refuse to start rather than
 * serve whoever connects first.  unix and hybrid sockets are 0600 instead.
 */
static void
guest_cid_conf(void)
{
	if (conf.transport.kind != TRANSPORT_VSOCK) {
		if (conf.guest_cid != 0 || conf.guest_cid_any)
			errx(1, "--guest-cid: only for the vsock transport "
			    "(-t %s is guarded by its socket files' mode "
			    "0600)", conf.tspec);
		return;
	}
	if (conf.guest_cid != 0 || conf.guest_cid_any)
		return;
	if (conf.vm_pid > 0 && vm_cmdline_cid(conf.vm_pid,
	    &conf.guest_cid) == 0)
		return;
	errx(1, "-t %s: the guest's CID is unknown, and any VM on this host "
	    "could take over the session: give --guest-cid CID%s, or "
	    "--guest-cid any", conf.tspec, conf.vm_pid > 0 ?
	    " (the VM's command line has no guest-cid=)" : "");
}

/*
 * The guest-cid=N of a QEMU vhost-vsock device on the VM's command line
 * (-device vhost-vsock-pci,guest-cid=N): every occurrence must name the
 * same number, which must end at a ',' or at the end of its argument.
 * The whole command line must fit in the buffer, and the process must
 * still be the one of --vm-pid after it was read (a pid reused in
 * between is not our VM).  0, or -1 when there is no such CID.
 */
static int
vm_cmdline_cid(pid_t pid, uint32_t *cid)
{
	char		 path[64], buf[65536], num[16], *p, *end;
	const char	*errstr;
	ssize_t		 n;
	size_t		 len = 0, k;
	uint32_t	 found = 0, v;
	int		 fd;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (-1);
	while ((n = read(fd, buf + len, sizeof(buf) - len)) > 0)
		if ((len += n) == sizeof(buf))
			break;
	close(fd);
	if (n < 0 || len == 0 || len == sizeof(buf))
		return (-1);	/* an error, empty, or too long to trust */
	if (buf[len - 1] != '\0')
		return (-1);	/* every argument ends with a NUL */
	end = buf + len;
	for (p = buf; p < end; p++) {
		if ((p = memmem(p, end - p, "guest-cid=", 10)) == NULL)
			break;
		if (p != buf && p[-1] != ',' && p[-1] != '\0')
			continue;
		p += 10;
		for (k = 0; k < sizeof(num) - 1 && p + k < end &&
		    p[k] >= '0' && p[k] <= '9'; k++)
			num[k] = p[k];
		num[k] = '\0';
		if (p + k >= end || (p[k] != ',' && p[k] != '\0'))
			return (-1);
		v = strtonum(num, 3, UINT32_MAX - 1, &errstr);
		if (errstr != NULL || (found != 0 && v != found))
			return (-1);
		found = v;
	}
	if (found == 0)
		return (-1);
	if (vmfd != -1 && syscall(SYS_pidfd_send_signal, vmfd, 0, NULL, 0) ==
	    -1)
		return (-1);
	*cid = found;
	return (0);
}
