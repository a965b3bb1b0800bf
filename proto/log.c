/*
 * Logging for every capsem process.  log_init(debug, facility): with debug
 * set, lines go to stderr; otherwise to syslog.  log_procinit() names the
 * role so that each line says which process wrote it.  Verbosity 0 logs
 * warnings and info, 1 adds debug.
 *
 * A sandboxed child never writes a line itself: its filter refuses the
 * socket()/connect() with which syslog(3) reconnects, so it installs a hook
 * (log_sethook) that hands each line to its parent, and the parent writes
 * it with log_relay under the child's name and pid.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LOG_LINE_MAX	(LOG_MSG_MAX + 176)	/* with name[pid]: */
#define LOG_BURST	20	/* warnings of one reason a second ... */
#define LOG_REASONS	16	/* ... counted for this many reasons */

/*
 * A peer that sends bad input again and again must not fill the disk
 * with the same warning: each reason (the format of the warning) may log
 * LOG_BURST lines a second; past that its lines are counted, and the next
 * line of that reason in a later second says how many were left out.
 */
struct log_reason {
	const char	*fmt;
	int64_t		 second;
	int		 lines;		/* logged in that second */
	int		 dropped;	/* not logged since the last line */
	uint64_t	 used;		/* for replacing the least recent */
};

static int	 log_debug_mode = 1;
static int	 log_verbose;
static const char *log_procname;
static void	(*log_hook)(int, const char *);
static int64_t	 log_seconds(void);
static int	 log_allowed(const char *, int *);
static void	 vlog_reason(int, const char *, const char *, va_list)
		    __attribute__((__format__(printf, 3, 0)));
static void	 log_emit(int, const char *);
static void	 log_with(int, const char *, const char *, ...)
		    __attribute__((__format__(printf, 3, 4)));
static struct log_reason log_reasons[LOG_REASONS];
static uint64_t	 log_uses;
static int64_t	(*log_clock)(void) = log_seconds;

void
log_init(int n_debug, int facility)
{
	log_debug_mode = n_debug;
	if (log_procname == NULL)
		log_procname = getprogname();
	if (!log_debug_mode)
		openlog(log_procname, LOG_PID | LOG_NDELAY, facility);
	tzset();
}

void
log_procinit(const char *procname)
{
	if (procname != NULL)
		log_procname = procname;
}

/* Every line from now on goes to hook, and nowhere else. */
void
log_sethook(void (*hook)(int, const char *))
{
	log_hook = hook;
}

void
log_setverbose(int v)
{
	log_verbose = v;
}

int
log_getverbose(void)
{
	return (log_verbose);
}

void
logit(int pri, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(pri, fmt, ap);
	va_end(ap);
}

void
vlog(int pri, const char *fmt, va_list ap)
{
	vlog_reason(pri, fmt, fmt, ap);
}

static int64_t
log_seconds(void)
{
	struct timespec	 ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec);
}

/* For the tests: the clock the rate limit counts seconds on. */
void
log_setclock(int64_t (*clock)(void))
{
	log_clock = clock != NULL ? clock : log_seconds;
	memset(log_reasons, 0, sizeof(log_reasons));
}

/*
 * May a warning of this reason be logged now?  0: no (counted); else 1,
 * and *dropped says how many of its lines were left out before it.
 */
static int
log_allowed(const char *reason, int *dropped)
{
	struct log_reason	*r, *lru = &log_reasons[0];
	int64_t			 now = log_clock();
	size_t			 i;

	*dropped = 0;
	for (i = 0; i < LOG_REASONS; i++) {
		r = &log_reasons[i];
		if (r->fmt == reason)
			break;
		if (r->used < lru->used)
			lru = r;
	}
	if (i == LOG_REASONS) {
		r = lru;
		memset(r, 0, sizeof(*r));
		r->fmt = reason;
		r->second = now;
	}
	r->used = ++log_uses;
	if (r->second != now) {
		r->second = now;
		r->lines = 0;
	}
	if (r->lines >= LOG_BURST) {
		r->dropped++;
		return (0);
	}
	r->lines++;
	*dropped = r->dropped;
	r->dropped = 0;
	return (1);
}

static void
vlog_reason(int pri, const char *reason, const char *fmt, va_list ap)
{
	char	buf[LOG_MSG_MAX], note[96];
	int	saved_errno = errno, dropped = 0;

	if (pri == LOG_DEBUG && log_verbose < 1)
		return;
	if (pri == LOG_ERR && !log_allowed(reason, &dropped)) {
		errno = saved_errno;
		return;
	}
	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (dropped > 0) {
		snprintf(note, sizeof(note), "(%d more lines like the next "
		    "were not logged)", dropped);
		log_emit(pri, note);
	}
	log_emit(pri, buf);
	errno = saved_errno;
}

static void
log_emit(int pri, const char *buf)
{
	if (log_hook != NULL)
		log_hook(pri, buf);
	else
		log_relay(pri, log_procname ? log_procname : getprogname(),
		    (int)getpid(), buf);
}

/*
 * Write one line of process name[pid]: ours, or a child's that it sent us
 * (its pid from our own table, never from the child).
 */
void
log_relay(int pri, const char *name, int pid, const char *msg)
{
	char	line[LOG_LINE_MAX];
	int	n;

	if (log_debug_mode) {
		/*
		 * One write(2) per line, so lines of several processes
		 * interleave whole, and nothing but write: stdio would ask a
		 * terminal or /dev/null for its mode (ioctl), which no
		 * sandboxed child may do.
		 */
		n = snprintf(line, sizeof(line), "%s[%d]: %s\n", name, pid,
		    msg);
		if (n >= (int)sizeof(line)) {
			n = sizeof(line);
			line[n - 1] = '\n';
		}
		if (n > 0)
			(void)write(STDERR_FILENO, line, n);
	} else if (pid == (int)getpid())
		syslog(pri, "%s", msg);
	else
		syslog(pri, "%s[%d]: %s", name, pid, msg);
}

static void
vlog_errno(int pri, const char *fmt, va_list ap)
{
	char	 buf[LOG_MSG_MAX];
	int	 saved_errno = errno;

	if (fmt == NULL) {
		logit(pri, "%s", strerror(saved_errno));
	} else {
		vsnprintf(buf, sizeof(buf), fmt, ap);
		/* The reason is the caller's format, not ours. */
		log_with(pri, fmt, "%s: %s", buf, strerror(saved_errno));
	}
	errno = saved_errno;
}

static void
log_with(int pri, const char *reason, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog_reason(pri, reason, fmt, ap);
	va_end(ap);
}

void
log_warn(const char *emsg, ...)
{
	va_list	ap;

	va_start(ap, emsg);
	vlog_errno(LOG_ERR, emsg, ap);
	va_end(ap);
}

void
log_warnx(const char *emsg, ...)
{
	va_list	ap;

	va_start(ap, emsg);
	vlog(LOG_ERR, emsg, ap);
	va_end(ap);
}

void
log_info(const char *emsg, ...)
{
	va_list	ap;

	va_start(ap, emsg);
	vlog(LOG_INFO, emsg, ap);
	va_end(ap);
}

void
log_debug(const char *emsg, ...)
{
	va_list	ap;

	if (log_verbose < 1)
		return;
	va_start(ap, emsg);
	vlog(LOG_DEBUG, emsg, ap);
	va_end(ap);
}

void
fatal(const char *emsg, ...)
{
	va_list	ap;

	va_start(ap, emsg);
	vlog_errno(LOG_CRIT, emsg, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *emsg, ...)
{
	va_list	ap;

	va_start(ap, emsg);
	vlog(LOG_CRIT, emsg, ap);
	va_end(ap);
	exit(1);
}
