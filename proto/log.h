/*
 * Logging shared by every capsem process: one line per event, prefixed with
 * the process role ("capsem-agent: term"), to stderr in the foreground (-d)
 * or to syslog(3) otherwise.
 */
#ifndef CAPSEM_LOG_H
#define CAPSEM_LOG_H

#include <stdarg.h>
#include <stdint.h>

#define LOG_MSG_MAX	1024	/* one message, NUL included; longer is cut */

#ifndef __dead
#define __dead __attribute__((__noreturn__))
#endif

void	log_init(int, int);
void	log_procinit(const char *);
void	log_sethook(void (*)(int, const char *));
void	log_relay(int, const char *, int, const char *);
void	log_setverbose(int);
void	log_setclock(int64_t (*)(void));
int	log_getverbose(void);
void	log_warn(const char *, ...) __attribute__((__format__(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((__format__(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((__format__(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((__format__(printf, 1, 2)));
void	logit(int, const char *, ...) __attribute__((__format__(printf, 2, 3)));
void	vlog(int, const char *, va_list) __attribute__((__format__(printf, 2, 0)));
__dead void fatal(const char *, ...) __attribute__((__format__(printf, 1, 2)));
__dead void fatalx(const char *, ...) __attribute__((__format__(printf, 1, 2)));

#endif
