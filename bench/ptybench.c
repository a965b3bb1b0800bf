/*
 * ptybench: the one harness `make bench` drives every path through (a bare
 * shell, ssh -tt, capsem-shell).  It forks the given command on a fresh PTY,
 * as a terminal emulator would, writes keystrokes to the master and times
 * what comes back with CLOCK_MONOTONIC.  Every mode prints "name value"
 * lines on stdout (the figure, already reduced to a median or percentile)
 * and the samples on stderr.
 *
 * It touches only the PTY it makes, the process tree it forks (reading
 * /proc; in reconnect mode it SIGKILLs capsem-hostd's control child, which
 * is the point of that mode) and the session.json of that session.
 */
#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define READ_CHUNK	65536
#define MARKER_MAX	64
#define MAX_PIDS	4096
#define START_TIMEOUT	30000	/* ms, a session to its first prompt */
#define STEP_TIMEOUT	10000	/* ms, one echo, one exit */
#define TPUT_TIMEOUT	900000	/* ms, one 256 MiB cat */
#define END_MARK	"__BEND__"	/* typed as __BE''ND__ */
#define RECON_MARK	"__RECON__"	/* typed as __RE''CON__ */

struct proc_sample {
	pid_t		 pid;
	char		 comm[32];
	long		 rss_kib;
	long		 ctxt;
};

/* One of several sessions at once (footprint, density). */
struct msess {
	pid_t		 child;
	int		 mfd;
	int		 pidfd;
	char		*pend;
	size_t		 pendlen;
	int		 keys;		/* typed on the current line */
};

#define MSESS_MAX	128

static pid_t	 child = -1;
static int	 mfd = -1;
static int	 pidfd = -1;
static uint64_t	 nread;		/* bytes read from the master */
static char	 pend0[MARKER_MAX + READ_CHUNK];
static char	*pend = pend0;	/* read, not yet matched */
static size_t	 pendlen;
static FILE	*outlog;	/* -l: everything read, for debugging */
static const char *prompt = "@bench@ ";
static char	**cmdv;

static uint64_t
now_ns(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec);
}

static void
sleep_ms(int ms)
{
	struct timespec	 ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t	 x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x < y ? -1 : x > y);
}

/* Nearest-rank percentile of n samples (sorted here). */
static uint64_t
pct(uint64_t *v, size_t n, double p)
{
	size_t	 i;

	if (n == 0)
		return (0);
	qsort(v, n, sizeof(*v), cmp_u64);
	i = (size_t)(p / 100.0 * n + 0.999999);
	if (i > 0)
		i--;
	if (i >= n)
		i = n - 1;
	return (v[i]);
}

static void
spawn(void)
{
	struct winsize	 ws = { .ws_row = 24, .ws_col = 80 };
	int		 sfd;

	if (openpty(&mfd, &sfd, NULL, NULL, &ws) == -1)
		err(1, "openpty");
	switch ((child = fork())) {
	case -1:
		err(1, "fork");
	case 0:
		close(mfd);
		if (setsid() == -1 || ioctl(sfd, TIOCSCTTY, 0) == -1)
			err(1, "controlling terminal");
		if (dup2(sfd, 0) == -1 || dup2(sfd, 1) == -1 ||
		    dup2(sfd, 2) == -1)
			err(1, "dup2");
		if (sfd > 2)
			close(sfd);
		execvp(cmdv[0], cmdv);
		err(127, "%s", cmdv[0]);
	}
	close(sfd);
	if ((pidfd = syscall(SYS_pidfd_open, child, 0)) == -1)
		err(1, "pidfd_open");
	pendlen = 0;
	nread = 0;
}

static void
put(const char *s)
{
	size_t	 len = strlen(s);
	ssize_t	 n;

	while (len > 0) {
		if ((n = write(mfd, s, len)) == -1) {
			if (errno == EINTR)
				continue;
			err(1, "write to the pty");
		}
		s += n;
		len -= n;
	}
}

/*
 * Read until the marker has been seen; return the time the read that
 * completed it returned, or 0 on timeout or end of output.  What follows
 * the marker stays pending for the next call; a marker split across reads
 * is found through the kept tail of the previous read.
 */
static uint64_t
wait_marker(const char *marker, int timeout_ms)
{
	struct pollfd	 pfd;
	uint64_t	 end, t;
	size_t		 mlen = strlen(marker), keep;
	ssize_t		 n;
	char		*hit;
	int		 left, fresh = 0;

	end = now_ns() + (uint64_t)timeout_ms * 1000000ULL;
	for (;;) {
		if ((hit = memmem(pend, pendlen, marker, mlen)) != NULL) {
			hit += mlen;
			pendlen -= hit - pend;
			memmove(pend, hit, pendlen);
			return (fresh ? t : now_ns());
		}
		keep = pendlen < mlen - 1 ? pendlen : mlen - 1;
		memmove(pend, pend + pendlen - keep, keep);
		pendlen = keep;
		t = now_ns();
		if (t >= end)
			return (0);
		left = (int)((end - t) / 1000000ULL) + 1;
		pfd.fd = mfd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, left) == -1) {
			if (errno == EINTR)
				continue;
			err(1, "poll");
		}
		if ((n = read(mfd, pend + pendlen, READ_CHUNK)) == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return (0);	/* EIO: every slave fd closed */
		}
		if (n == 0)
			return (0);
		t = now_ns();
		fresh = 1;
		nread += n;
		if (outlog != NULL)
			fwrite(pend + pendlen, 1, n, outlog);
		pendlen += n;
	}
}

/* Drain the master until the child has exited; its exit time, 0 if not. */
static uint64_t
wait_exit(int timeout_ms)
{
	char		 buf[READ_CHUNK];
	struct pollfd	 pfd[2];
	uint64_t	 end, t;
	int		 nfds = 2, status;

	end = now_ns() + (uint64_t)timeout_ms * 1000000ULL;
	pfd[0].fd = pidfd;
	pfd[0].events = POLLIN;
	pfd[1].fd = mfd;
	pfd[1].events = POLLIN;
	for (;;) {
		t = now_ns();
		if (t >= end)
			return (0);
		if (poll(pfd, nfds, (int)((end - t) / 1000000ULL) + 1) == -1) {
			if (errno == EINTR)
				continue;
			err(1, "poll");
		}
		if (pfd[0].revents & POLLIN) {
			t = now_ns();
			break;
		}
		if (nfds == 2 && (pfd[1].revents & (POLLIN | POLLHUP))) {
			ssize_t n = read(mfd, buf, sizeof(buf));
			if (n <= 0)
				nfds = 1;	/* hung up; wait on pidfd */
			else if (outlog != NULL)
				fwrite(buf, 1, n, outlog);
		}
	}
	if (waitpid(child, &status, 0) == -1)
		err(1, "waitpid");
	close(pidfd);
	close(mfd);
	pidfd = mfd = -1;
	child = -1;
	return (t);
}

static void
kill_child(void)
{
	if (child > 0) {
		kill(child, SIGHUP);
		kill(child, SIGTERM);
		(void)wait_exit(5000);
	}
}

static void
need_prompt(const char *what)
{
	if (wait_marker(prompt, START_TIMEOUT) == 0) {
		kill_child();
		errx(1, "%s: no prompt from %s", what, cmdv[0]);
	}
}

/* Make ms the session the single-session functions work on, and back. */
static void
ms_use(struct msess *ms)
{
	child = ms->child;
	mfd = ms->mfd;
	pidfd = ms->pidfd;
	pend = ms->pend;
	pendlen = ms->pendlen;
}

static void
ms_keep(struct msess *ms)
{
	ms->child = child;
	ms->mfd = mfd;
	ms->pidfd = pidfd;
	ms->pend = pend;
	ms->pendlen = pendlen;
	pend = pend0;
	pendlen = 0;
	child = -1;
	mfd = pidfd = -1;
}

/* n sessions, one after the other, each up to its first prompt. */
static struct msess *
ms_start(int n)
{
	struct msess	*ms;
	int		 i;

	if (n > MSESS_MAX)
		errx(1, "at most %d sessions", MSESS_MAX);
	if ((ms = calloc(n, sizeof(*ms))) == NULL)
		err(1, NULL);
	for (i = 0; i < n; i++) {
		if ((ms[i].pend = malloc(MARKER_MAX + READ_CHUNK)) == NULL)
			err(1, NULL);
		ms_use(&ms[i]);
		spawn();
		if (wait_marker(prompt, START_TIMEOUT) == 0) {
			kill_child();
			errx(1, "session %d: no prompt from %s", i, cmdv[0]);
		}
		ms_keep(&ms[i]);
	}
	return (ms);
}

/* Every session typed "exit" and waited for. */
static void
ms_end(struct msess *ms, int n)
{
	int	 i;

	for (i = 0; i < n; i++) {
		ms_use(&ms[i]);
		put("\025exit\r");
	}
	for (i = 0; i < n; i++) {
		ms_use(&ms[i]);
		if (wait_exit(STEP_TIMEOUT) == 0)
			kill_child();
		free(ms[i].pend);
	}
	pend = pend0;
	pendlen = 0;
	free(ms);
}

/* --- /proc ------------------------------------------------------------ */

static int
proc_read(pid_t pid, const char *file, char *buf, size_t sz)
{
	char	 path[64];
	ssize_t	 n;
	int	 fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	if ((fd = open(path, O_RDONLY)) == -1)
		return (-1);
	n = read(fd, buf, sz - 1);
	close(fd);
	if (n < 0)
		return (-1);
	buf[n] = '\0';
	return ((int)n);
}

static pid_t
proc_ppid(pid_t pid)
{
	char	 buf[1024], *p;

	if (proc_read(pid, "stat", buf, sizeof(buf)) == -1 ||
	    (p = strrchr(buf, ')')) == NULL)
		return (-1);
	return ((pid_t)strtol(p + 4, NULL, 10));
}

/* Does argv[0] or argv[1] of pid contain s?  (the NULs read as spaces) */
static int
proc_cmd_has(pid_t pid, const char *s)
{
	char	 buf[4096];
	int	 n, i;

	if ((n = proc_read(pid, "cmdline", buf, sizeof(buf))) <= 0)
		return (0);
	for (i = 0; i < n; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	return (strstr(buf, s) != NULL);
}

/* Every live descendant of the roots (the roots too), at most max. */
static size_t
descendants(const pid_t *roots, size_t nroots, pid_t *out, size_t max)
{
	DIR		*d;
	struct dirent	*de;
	pid_t		 pids[4096], ppids[4096];
	size_t		 np = 0, nout = 0, i, j;
	int		 grew;

	if ((d = opendir("/proc")) == NULL)
		err(1, "/proc");
	while ((de = readdir(d)) != NULL && np < 4096) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		pids[np] = (pid_t)strtol(de->d_name, NULL, 10);
		ppids[np] = proc_ppid(pids[np]);
		np++;
	}
	closedir(d);
	for (i = 0; i < nroots && nout < max; i++)
		out[nout++] = roots[i];
	do {
		grew = 0;
		for (i = 0; i < np; i++) {
			for (j = 0; j < nout; j++)
				if (out[j] == pids[i])
					break;
			if (j < nout)
				continue;
			for (j = 0; j < nout; j++)
				if (out[j] == ppids[i])
					break;
			if (j < nout && nout < max) {
				out[nout++] = pids[i];
				grew = 1;
			}
		}
	} while (grew);
	return (nout);
}

static pid_t
find_desc(pid_t root, const char *cmd, pid_t parent)
{
	pid_t	 pids[MAX_PIDS];
	size_t	 n, i;

	n = descendants(&root, 1, pids, MAX_PIDS);
	for (i = 1; i < n; i++)
		if ((parent == -1 || proc_ppid(pids[i]) == parent) &&
		    proc_cmd_has(pids[i], cmd))
			return (pids[i]);
	return (-1);
}

static long
status_field(const char *status, const char *key)
{
	const char	*p;

	if ((p = strstr(status, key)) == NULL)
		return (-1);
	return (strtol(p + strlen(key), NULL, 10));
}

static int
sample_proc(pid_t pid, struct proc_sample *ps)
{
	char	 buf[8192];

	if (proc_read(pid, "status", buf, sizeof(buf)) == -1)
		return (-1);
	ps->pid = pid;
	ps->rss_kib = status_field(buf, "\nVmRSS:");
	ps->ctxt = status_field(buf, "\nvoluntary_ctxt_switches:") +
	    status_field(buf, "\nnonvoluntary_ctxt_switches:");
	if (proc_read(pid, "comm", ps->comm, sizeof(ps->comm)) == -1)
		ps->comm[0] = '\0';
	ps->comm[strcspn(ps->comm, "\n")] = '\0';
	return (0);
}

/* Proportional set size (smaps_rollup) in KiB, -1 if unreadable. */
static long
pss_kib(pid_t pid)
{
	char	 buf[4096];

	if (proc_read(pid, "smaps_rollup", buf, sizeof(buf)) == -1)
		return (-1);
	return (status_field(buf, "\nPss:"));
}

/* utime + stime + cutime + cstime of pid, in clock ticks; -1 if gone. */
static long long
cpu_ticks(pid_t pid)
{
	char		 buf[1024], *p;
	long long	 v[4];

	if (proc_read(pid, "stat", buf, sizeof(buf)) == -1 ||
	    (p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
	    "%lld %lld %lld %lld", &v[0], &v[1], &v[2], &v[3]) != 4)
		return (-1);
	return (v[0] + v[1] + v[2] + v[3]);
}

static int
is_extra(pid_t pid, const pid_t *extra, size_t nextra)
{
	size_t	 j;

	for (j = 0; j < nextra; j++)
		if (pid == extra[j])
			return (1);
	return (0);
}

/*
 * The CPU time of every process of the trees of roots and extra (the
 * extra roots themselves, an sshd listener, not counted), in ticks.
 */
static long long
tree_ticks(const pid_t *roots, size_t nroots, const pid_t *extra,
    size_t nextra)
{
	pid_t		 all[MAX_PIDS + 8], pids[MAX_PIDS];
	size_t		 n, i, na = 0;
	long long	 t, sum = 0;

	for (i = 0; i < nroots && na < MAX_PIDS; i++)
		all[na++] = roots[i];
	for (i = 0; i < nextra && na < MAX_PIDS + 8; i++)
		all[na++] = extra[i];
	n = descendants(all, na, pids, MAX_PIDS);
	for (i = 0; i < n; i++)
		if (!is_extra(pids[i], extra, nextra) &&
		    (t = cpu_ticks(pids[i])) > 0)
			sum += t;
	return (sum);
}

/* --- session.json ----------------------------------------------------- */

static void
session_state(const char *dir, char *state, size_t sz, long *conns)
{
	char	 path[PATH_MAX], buf[4096], *p, *q;
	int	 fd;
	ssize_t	 n;

	state[0] = '\0';
	*conns = -1;
	snprintf(path, sizeof(path), "%s/session.json", dir);
	if ((fd = open(path, O_RDONLY)) == -1)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	if ((p = strstr(buf, "\"state\"")) != NULL &&
	    (p = strchr(p + 7, '"')) != NULL &&
	    (q = strchr(p + 1, '"')) != NULL && (size_t)(q - p) < sz) {
		memcpy(state, p + 1, q - p - 1);
		state[q - p - 1] = '\0';
	}
	if ((p = strstr(buf, "\"connections\"")) != NULL &&
	    (p = strchr(p, ':')) != NULL)
		*conns = strtol(p + 1, NULL, 10);
}

/* The -S DIR of capsem-hostd's command line. */
static void
hostd_dir(pid_t hostd, char *dir, size_t sz)
{
	char	 buf[4096];
	int	 n, i;

	dir[0] = '\0';
	if ((n = proc_read(hostd, "cmdline", buf, sizeof(buf))) <= 0)
		return;
	for (i = 0; i < n; i += strlen(buf + i) + 1)
		if (strcmp(buf + i, "-S") == 0 && i + 3 < n) {
			strlcpy(dir, buf + i + 3, sz);
			return;
		}
}

/* --- modes ------------------------------------------------------------ */

/* n sessions: time to the first prompt, then from "exit" to the end. */
static void
mode_start(int n, int settle_ms)
{
	uint64_t	*st, *ex, t0, t;
	int		 i;

	if ((st = calloc(n, sizeof(*st))) == NULL ||
	    (ex = calloc(n, sizeof(*ex))) == NULL)
		err(1, NULL);
	for (i = 0; i < n; i++) {
		t0 = now_ns();
		spawn();
		if ((t = wait_marker(prompt, START_TIMEOUT)) == 0) {
			kill_child();
			errx(1, "start %d: no prompt", i);
		}
		st[i] = t - t0;
		sleep_ms(settle_ms);
		t0 = now_ns();
		put("exit\r");
		if ((t = wait_exit(STEP_TIMEOUT)) == 0) {
			kill_child();
			errx(1, "exit %d: the client did not end", i);
		}
		ex[i] = t - t0;
		fprintf(stderr, "session %d: start %.3f ms exit %.3f ms\n", i,
		    st[i] / 1e6, ex[i] / 1e6);
	}
	printf("start_p50_ms %.3f\n", pct(st, n, 50) / 1e6);
	printf("start_min_ms %.3f\n", st[0] / 1e6);
	printf("exit_p50_ms %.3f\n", pct(ex, n, 50) / 1e6);
	printf("exit_min_ms %.3f\n", ex[0] / 1e6);
	printf("exit_max_ms %.3f\n", ex[n - 1] / 1e6);
	free(st);
	free(ex);
}

/*
 * n single-key round trips: 'a' in, its echo by readline back.  Every 50
 * keys the line is killed (^U) and a new prompt awaited, untimed, so the
 * line never wraps and every echo is exactly one byte.
 */
static void
mode_echo(int n)
{
	uint64_t	*v, t0, t;
	int		 i;

	if ((v = calloc(n, sizeof(*v))) == NULL)
		err(1, NULL);
	spawn();
	need_prompt("echo");
	sleep_ms(300);
	for (i = 0; i < n; i++) {
		if (i > 0 && i % 50 == 0) {
			put("\025\r");
			need_prompt("echo");
		}
		t0 = now_ns();
		put("a");
		if ((t = wait_marker("a", STEP_TIMEOUT)) == 0) {
			kill_child();
			errx(1, "echo %d: no echo", i);
		}
		v[i] = t - t0;
	}
	put("\025exit\r");
	(void)wait_exit(STEP_TIMEOUT);
	printf("echo_p50_us %.1f\n", pct(v, n, 50) / 1e3);
	printf("echo_p99_us %.1f\n", pct(v, n, 99) / 1e3);
	printf("echo_min_us %.1f\n", v[0] / 1e3);
	printf("echo_max_us %.1f\n", v[n - 1] / 1e3);
	free(v);
}

/* n times `cat FILE` in one session: bytes at the client per second. */
static void
mode_tput(int n, const char *file, const pid_t *extra, size_t nextra)
{
	char		 cmd[PATH_MAX + 64];
	double		*mbs, x, cpu;
	uint64_t	 t0, t, *v, *cv;
	long long	 c0, c1;
	long		 hz = sysconf(_SC_CLK_TCK);
	int		 i;

	if ((v = calloc(n, sizeof(*v))) == NULL ||
	    (cv = calloc(n, sizeof(*cv))) == NULL ||
	    (mbs = calloc(n, sizeof(*mbs))) == NULL)
		err(1, NULL);
	snprintf(cmd, sizeof(cmd), "cat %s; echo __BE''ND__\r", file);
	spawn();
	need_prompt("tput");
	sleep_ms(300);
	for (i = 0; i < n; i++) {
		nread = 0;
		c0 = tree_ticks(&child, 1, extra, nextra);
		t0 = now_ns();
		put(cmd);
		if ((t = wait_marker(END_MARK, TPUT_TIMEOUT)) == 0) {
			kill_child();
			errx(1, "tput %d: no end marker", i);
		}
		c1 = tree_ticks(&child, 1, extra, nextra);
		x = nread / ((t - t0) / 1e9) / 1e6;
		mbs[i] = x;
		/* MB/s scaled to an integer so pct() can sort it */
		v[i] = (uint64_t)(x * 1000);
		/* CPU ms of the whole path (the harness aside) per MB */
		cpu = (c1 - c0) * 1000.0 / hz / (nread / 1e6);
		cv[i] = (uint64_t)(cpu * 1000);
		fprintf(stderr, "cat %d: %llu bytes in %.3f s: %.1f MB/s, "
		    "%.2f CPU ms/MB\n", i, (unsigned long long)nread,
		    (t - t0) / 1e9, x, cpu);
		need_prompt("tput");
	}
	put("exit\r");
	(void)wait_exit(STEP_TIMEOUT);
	printf("tput_p50_mbs %.1f\n", pct(v, n, 50) / 1000.0);
	printf("tput_min_mbs %.1f\n", v[0] / 1000.0);
	printf("tput_max_mbs %.1f\n", v[n - 1] / 1000.0);
	printf("tput_cpu_ms_per_mb %.2f\n", pct(cv, n, 50) / 1000.0);
	free(v);
	free(cv);
	free(mbs);
}

static pid_t
wait_control(pid_t hostd, const char *dir, long *conns)
{
	char		 state[32];
	pid_t		 ctl;
	uint64_t	 end = now_ns() + 10000000000ULL;

	while (now_ns() < end) {
		session_state(dir, state, sizeof(state), conns);
		if (strcmp(state, "connected") == 0 && (ctl = find_desc(hostd,
		    "capsem-hostd-control", hostd)) != -1)
			return (ctl);
		sleep_ms(5);
	}
	return (-1);
}

/*
 * capsem only: n times, SIGKILL hostd's control child (the guest's
 * connections are dropped with it) and time until the shell answers an
 * echo typed once hostd has noticed the drop (it keeps the input while the
 * guest reconnects).
 */
static void
mode_reconnect(int n)
{
	char		 dir[PATH_MAX], state[32];
	uint64_t	*v, t0, t, end;
	pid_t		 hostd, ctl;
	long		 conns, c;
	int		 i;

	if ((v = calloc(n, sizeof(*v))) == NULL)
		err(1, NULL);
	spawn();
	need_prompt("reconnect");
	if ((hostd = find_desc(child, "capsem-hostd ", -1)) == -1) {
		kill_child();
		errx(1, "no capsem-hostd under %s", cmdv[0]);
	}
	hostd_dir(hostd, dir, sizeof(dir));
	for (i = 0; i < n; i++) {
		sleep_ms(200);
		if ((ctl = wait_control(hostd, dir, &conns)) == -1) {
			kill_child();
			errx(1, "reconnect %d: no connected control child", i);
		}
		t0 = now_ns();
		kill(ctl, SIGKILL);
		end = t0 + 10000000000ULL;
		for (;;) {
			session_state(dir, state, sizeof(state), &c);
			if (strcmp(state, "connected") != 0 || c > conns)
				break;
			if (now_ns() > end) {
				kill_child();
				errx(1, "reconnect %d: no drop seen", i);
			}
			usleep(100);
		}
		put("echo __RE''CON__\r");
		if ((t = wait_marker(RECON_MARK, STEP_TIMEOUT)) == 0) {
			kill_child();
			errx(1, "reconnect %d: no answer", i);
		}
		v[i] = t - t0;
		fprintf(stderr, "reconnect %d: %.3f ms\n", i, v[i] / 1e6);
		need_prompt("reconnect");
	}
	put("exit\r");
	(void)wait_exit(STEP_TIMEOUT);
	printf("reconnect_p50_ms %.3f\n", pct(v, n, 50) / 1e6);
	printf("reconnect_max_ms %.3f\n", v[n - 1] / 1e6);
	free(v);
}

/*
 * One idle session: resident memory and context switches (each one a
 * wakeup) over secs seconds of every process of the client's tree and of
 * the extra roots' trees (an sshd listener: its own process is not counted,
 * only the session it forked), the shell itself excluded.
 */
static void
mode_idle(int secs, const pid_t *extra, size_t nextra)
{
	pid_t			 roots[8], pids[MAX_PIDS];
	struct proc_sample	 a[MAX_PIDS], b;
	size_t			 n, i, j, na = 0;
	long			 rss = 0, wk = 0, wmax = 0, w;

	spawn();
	need_prompt("idle");
	sleep_ms(2000);
	roots[0] = child;
	for (i = 0; i < nextra && i < 7; i++)
		roots[i + 1] = extra[i];
	n = descendants(roots, 1 + i, pids, MAX_PIDS);
	for (i = 0; i < n; i++) {
		for (j = 0; j < nextra; j++)
			if (pids[i] == extra[j])
				break;
		if (j < nextra)
			continue;
		if (sample_proc(pids[i], &a[na]) == -1 ||
		    strcmp(a[na].comm, "bash") == 0)
			continue;
		na++;
	}
	sleep_ms(secs * 1000);
	for (i = 0; i < na; i++) {
		if (sample_proc(a[i].pid, &b) == -1)
			continue;
		w = b.ctxt - a[i].ctxt;
		rss += b.rss_kib;
		wk += w;
		if (w > wmax)
			wmax = w;
		fprintf(stderr, "idle: %d %s rss %ld KiB, %.2f wakeups/s\n",
		    (int)b.pid, b.comm, b.rss_kib, (double)w / secs);
	}
	put("exit\r");
	(void)wait_exit(STEP_TIMEOUT);
	printf("idle_procs %zu\n", na);
	printf("rss_idle_kib %ld\n", rss);
	printf("wakeups_idle_per_s %.2f\n", (double)wk / secs);
	printf("wakeups_idle_max_per_proc %.2f\n", (double)wmax / secs);
}

/*
 * n sessions at once, idle: the proportional set size (smaps_rollup, so
 * shared pages count once in all) of every process of theirs, the shells
 * aside, per session, split into the guest side (capsem-agent and its
 * children, or sshd's session processes) and the host side (the client,
 * capsem-hostd and its children, or ssh).
 */
static void
mode_footprint(int n, const pid_t *extra, size_t nextra)
{
	struct msess	*ms;
	pid_t		 roots[MSESS_MAX + 8], pids[MAX_PIDS];
	char		 comm[32];
	size_t		 np, i, nr = 0, nproc = 0;
	long		 pss, guest = 0, host = 0;

	ms = ms_start(n);
	sleep_ms(2000);
	for (i = 0; i < (size_t)n; i++)
		roots[nr++] = ms[i].child;
	for (i = 0; i < nextra && i < 8; i++)
		roots[nr++] = extra[i];
	np = descendants(roots, nr, pids, MAX_PIDS);
	for (i = 0; i < np; i++) {
		if (is_extra(pids[i], extra, nextra))
			continue;
		if (proc_read(pids[i], "comm", comm, sizeof(comm)) == -1)
			continue;
		comm[strcspn(comm, "\n")] = '\0';
		if (strcmp(comm, "bash") == 0 || (pss = pss_kib(pids[i])) < 0)
			continue;
		nproc++;
		if (strncmp(comm, "capsem-agent", 12) == 0 ||
		    strcmp(comm, "sshd") == 0)
			guest += pss;
		else
			host += pss;
		fprintf(stderr, "footprint: %d %s pss %ld KiB\n",
		    (int)pids[i], comm, pss);
	}
	ms_end(ms, n);
	printf("pss_sessions %d\n", n);
	printf("pss_procs_per_session %.1f\n", (double)nproc / n);
	printf("pss_guest_kib %.0f\n", (double)guest / n);
	printf("pss_host_kib %.0f\n", (double)host / n);
	printf("pss_kib %.0f\n", (double)(guest + host) / n);
}

/*
 * n idle sessions at once, then keys keystrokes, each into one of them
 * in a scattered order: the time to its echo.  As in echo mode every 50
 * keys of a session the line is killed and a new prompt awaited, untimed.
 */
static void
mode_density(int n, int keys)
{
	struct msess	*ms;
	uint64_t	*v, t0, t;
	uint32_t	 seed = 12345;
	int		 i, k;

	if ((v = calloc(keys, sizeof(*v))) == NULL)
		err(1, NULL);
	ms = ms_start(n);
	sleep_ms(1000);
	for (k = 0; k < keys; k++) {
		seed = seed * 1103515245 + 12345;
		i = (int)((seed >> 8) % (uint32_t)n);
		ms_use(&ms[i]);
		if (ms[i].keys == 50) {
			put("\025\r");
			need_prompt("density");
			ms[i].keys = 0;
		}
		t0 = now_ns();
		put("a");
		if ((t = wait_marker("a", STEP_TIMEOUT)) == 0) {
			kill_child();
			errx(1, "density %d (session %d): no echo", k, i);
		}
		v[k] = t - t0;
		ms[i].keys++;
		ms_keep(&ms[i]);
	}
	ms_end(ms, n);
	printf("density_sessions %d\n", n);
	printf("density_p50_us %.1f\n", pct(v, keys, 50) / 1e3);
	printf("density_p99_us %.1f\n", pct(v, keys, 99) / 1e3);
	printf("density_max_us %.1f\n", v[keys - 1] / 1e3);
	free(v);
}

/* A TCP port on 127.0.0.1 that was free a moment ago. */
static void
mode_freeport(void)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	int			 s;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((s = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    bind(s, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    getsockname(s, (struct sockaddr *)&sin, &len) == -1)
		err(1, "socket");
	printf("%d\n", ntohs(sin.sin_port));
	close(s);
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: ptybench [-l log] [-n count] [-p prompt] "
	    "[-r pid] [-f file] [-s settle-ms]\n"
	    "                [-k keys] start|echo|tput|reconnect|idle|"
	    "footprint|density --\n"
	    "                command [arg ...]\n"
	    "       ptybench freeport\n");
	exit(1);
}

int
main(int argc, char *argv[])
{
	const char	*file = NULL, *mode;
	pid_t		 extra[4];
	size_t		 nextra = 0;
	int		 ch, n = 5, settle = 100, keys = 1000;

	while ((ch = getopt(argc, argv, "f:k:l:n:p:r:s:")) != -1) {
		switch (ch) {
		case 'k':
			keys = atoi(optarg);
			break;
		case 'f':
			file = optarg;
			break;
		case 'l':
			if ((outlog = fopen(optarg, "w")) == NULL)
				err(1, "%s", optarg);
			break;
		case 'n':
			n = atoi(optarg);
			break;
		case 'p':
			prompt = optarg;
			break;
		case 'r':
			if (nextra < 4)
				extra[nextra++] = (pid_t)atoi(optarg);
			break;
		case 's':
			settle = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 || n < 1 || keys < 1)
		usage();
	mode = argv[0];
	if (strcmp(mode, "freeport") == 0) {
		mode_freeport();
		return (0);
	}
	if (argc < 2)
		usage();
	cmdv = argv + 1;
	if (strcmp(cmdv[0], "--") == 0)
		cmdv++;
	if (cmdv[0] == NULL || strlen(prompt) >= MARKER_MAX)
		usage();
	signal(SIGPIPE, SIG_IGN);
	if (strcmp(mode, "start") == 0)
		mode_start(n, settle);
	else if (strcmp(mode, "echo") == 0)
		mode_echo(n);
	else if (strcmp(mode, "tput") == 0 && file != NULL)
		mode_tput(n, file, extra, nextra);
	else if (strcmp(mode, "footprint") == 0)
		mode_footprint(n, extra, nextra);
	else if (strcmp(mode, "density") == 0)
		mode_density(n, keys);
	else if (strcmp(mode, "reconnect") == 0)
		mode_reconnect(n);
	else if (strcmp(mode, "idle") == 0)
		mode_idle(n, extra, nextra);
	else
		usage();
	if (outlog != NULL)
		fclose(outlog);
	return (0);
}
