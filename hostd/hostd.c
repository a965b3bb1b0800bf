/*
 * capsem-hostd: supervises one session (one VM).  It listens for the
 * guest's connections, hands every framed one to a sandboxed decoder child,
 * relays the terminal between the guest and the attach clients, records it
 * (pty.log), and ends the session when the guest says the shell exited.
 *
 * This file: configuration, the event loop (one poll over every fd, each
 * module adding its own with a callback), signals through a signalfd, and
 * the end of the session: exit status to every client, the VM stopped and
 * the directory removed for a temporary session, exit with the shell's
 * status.
 */
#include <sys/types.h>
#include <sys/signalfd.h>
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "capsem_imsg.h"
#include "hostd.h"
#include "log.h"
#include "proc.h"
#include "validate.h"

#define POLL_MAX		256
#define VM_GRACE_MS		2000
#define END_MS			2000
#define VM_LAST_WORDS_MS	1000

struct hconf	 conf;
struct hstatus	 st;

static struct pollfd	 pfds[POLL_MAX];
static poll_cb		 pcbs[POLL_MAX];
static void		*pargs[POLL_MAX];
static int		 npfds;
static int		 sigfd = -1;
static int		 vmfd = -1;	/* pidfd of the VM process */
static int64_t		 end_deadline;
static int64_t		 vm_gone;	/* VM exited: verdict due then */
static int		 finishing;

static __dead void	 usage(void);
static void		 signal_event(short, void *);
static void		 vm_event(short, void *);
static void		 vm_stop(void);
static void		 vm_verdict(void);
static __dead void	 session_end(void);
static int		 wait_pidfd(int, int);

static const struct option longopts[] = {
	{ "temp",	no_argument,		NULL, 'T' },
	{ "no-clock",	no_argument,		NULL, 'C' },
	{ "vm-pid",	required_argument,	NULL, 'k' },
	{ "vm-stop",	required_argument,	NULL, 'K' },
	{ "ready-fd",	required_argument,	NULL, 'R' },
	{ "ping",	required_argument,	NULL, 'p' },
	{ "missed",	required_argument,	NULL, 'm' },
	{ NULL,		0,			NULL, 0 }
};

static __dead void
usage(void)
{
	fprintf(stderr, "usage: %s [-CdTv] [-e key=value] [-K vm-stop-command] "
	    "[-k vm-pid]\n\t[-m missed-pongs] [-p ping-seconds] [-R fd] "
	    "[-t transport] -S dir\n", getprogname());
	exit(1);
}

int
main(int argc, char *argv[])
{
	char		 errbuf[160], abs[PATH_MAX];
	const char	*errstr, *why, *tspec = NULL;
	struct stat	 sb;
	sigset_t	 mask;
	int64_t		 now, next, t;
	char		*eq;
	int		 ch, i, timeout;

	conf.ready_fd = -1;
	conf.ping_secs = 10;
	conf.max_missed = 3;
	while ((ch = getopt_long(argc, argv, "Cde:K:k:m:p:R:S:Tt:v", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'C':
			conf.no_clock = 1;
			break;
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
		case 'K':
			conf.vm_stop = optarg;
			break;
		case 'k':
			conf.vm_pid = strtonum(optarg, 1, INT_MAX, &errstr);
			if (errstr != NULL)
				errx(1, "--vm-pid %s: %s", optarg, errstr);
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

	log_init(conf.debug, LOG_DAEMON);
	log_procinit("capsem-hostd");
	log_setverbose(conf.verbose);
	umask(077);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) == -1)
		fatal("sigprocmask");
	if ((sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) == -1)
		fatal("signalfd");

	session_open();
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

	for (;;) {
		npfds = 0;
		poll_add(sigfd, POLLIN, signal_event, NULL);
		if (vmfd != -1)
			poll_add(vmfd, POLLIN, vm_event, NULL);
		guest_poll();
		clients_poll();

		now = now_ms();
		next = guest_timers(now);
		if ((t = clients_timers(now)) < next)
			next = t;
		if (vm_gone != 0) {
			if (st.exited || now >= vm_gone ||
			    guest_children() == 0)
				vm_verdict();
			else if (vm_gone < next)
				next = vm_gone;
		}
		if (finishing) {
			if (clients_flushed() || now >= end_deadline)
				session_end();
			if (end_deadline < next)
				next = end_deadline;
		}
		timeout = -1;
		if (next != INT64_MAX)
			timeout = next <= now ? 0 : (int)(next - now);
		if (poll(pfds, npfds, timeout) == -1) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		for (i = 0; i < npfds; i++)
			if (pfds[i].revents != 0)
				pcbs[i](pfds[i].revents, pargs[i]);
	}
}

void
poll_add(int fd, short events, poll_cb cb, void *arg)
{
	if (npfds >= POLL_MAX)
		fatalx("more than %d descriptors to poll", POLL_MAX);
	pfds[npfds].fd = fd;
	pfds[npfds].events = events;
	pfds[npfds].revents = 0;
	pcbs[npfds] = cb;
	pargs[npfds] = arg;
	npfds++;
}

int64_t
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

int64_t
now_us_real(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
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

static void
signal_event(short revents, void *arg)
{
	struct signalfd_siginfo	 si;

	while (read(sigfd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			guest_sigchld();
			break;
		case SIGTERM:
		case SIGINT:
		case SIGHUP:
			if (finishing)
				break;
			log_info("%s: %s", strsignal(si.ssi_signo),
			    conf.temp ? "ending the temporary session" :
			    "leaving; the guest will reconnect to the next "
			    "capsem-hostd");
			if (!st.exited) {
				st.exit_code = 128 + (int)si.ssi_signo;
				session_finish("capsem-hostd was stopped");
			}
			break;
		}
	}
}

/*
 * The VM process is gone: nothing will reconnect any more.  Its last words
 * may still be on their way (an agent exits as soon as shellexited is
 * acknowledged, and the control child acknowledges before it forwards), so
 * the verdict waits for the control child to have passed on what it read.
 */
static void
vm_event(short revents, void *arg)
{
	close(vmfd);
	vmfd = -1;
	vm_gone = now_ms() + VM_LAST_WORDS_MS;
}

static void
vm_verdict(void)
{
	vm_gone = 0;
	if (st.exited)
		return;
	log_warnx("the VM (pid %d) exited before the shell did",
	    (int)conf.vm_pid);
	st.exit_code = 255;
	session_finish("the VM exited before the shell did");
}

/*
 * The session is over.  why NULL: the shell exited, everybody gets its
 * status; otherwise everybody gets why.  Clients have a moment to read it,
 * then session_end() finishes the job.
 */
void
session_finish(const char *why)
{
	if (finishing)
		return;
	finishing = 1;
	st.state = HS_ENDING;
	guest_close_listeners();
	if (why == NULL)
		clients_exit();
	else
		clients_error(why);
	end_deadline = now_ms() + END_MS;
	if (!st.exited && !conf.temp) {
		/* Not over for the guest: a new hostd may take it over. */
		st.state = HS_DISCONNECTED;
		session_json();
		st.state = HS_ENDING;
		return;
	}
	session_json();
}

static __dead void
session_end(void)
{
	int	 code = st.exit_code;

	clients_close();
	guest_stop_all();
	if (st.exited || conf.temp) {
		st.state = HS_EXITED;
		session_json();
	}
	if (conf.temp) {
		vm_stop();
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
	if (wait_pidfd(vmfd, VM_GRACE_MS) == 0) {
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
