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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LOG_LINE_MAX	(LOG_MSG_MAX + 176)	/* with name[pid]: */

static int	 log_debug_mode = 1;
static int	 log_verbose;
static const char *log_procname;
static void	(*log_hook)(int, const char *);

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
	char	buf[LOG_MSG_MAX];
	int	saved_errno = errno;

	if (pri == LOG_DEBUG && log_verbose < 1)
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (log_hook != NULL)
		log_hook(pri, buf);
	else
		log_relay(pri, log_procname ? log_procname : getprogname(),
		    (int)getpid(), buf);
	errno = saved_errno;
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
		logit(pri, "%s: %s", buf, strerror(saved_errno));
	}
	errno = saved_errno;
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
