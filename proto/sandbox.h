/*
 * The sandbox every child enters before it reads untrusted input, behind two
 * calls as in OpenSSH's ssh-sandbox.h.  Everything platform specific (chroot,
 * credentials, no_new_privs, seccomp) is in sandbox.c; callers have no #ifdef.
 *
 *	sandbox_init("term");		first thing in the child
 *	...receive nothing untrusted yet...
 *	sandbox_apply(SANDBOX_TERM);	then only the loop
 *
 * A forbidden system call kills the process with SIGSYS, after one line on
 * stderr naming the role and the system call number.
 */
#ifndef CAPSEM_SANDBOX_H
#define CAPSEM_SANDBOX_H

#include <stddef.h>

/* Each profile allows only what that child's poll loop uses. */
enum sandbox_profile {
	SANDBOX_TERM = 1,	/* PTY master <-> terminal socket */
	SANDBOX_CONTROL,	/* control frames <-> imsg; timers, randomness */
	SANDBOX_AUDIT,		/* control plus fstat/pread/lseek on its log fd */
	SANDBOX_HOST_DECODER,	/* host side decoders: as control */
	SANDBOX_SCREEN		/* the screen model: imsg and memory only */
};

struct stat;

void	sandbox_init(const char *);
void	sandbox_apply(enum sandbox_profile);
void	sandbox_report_fd(int);
/* fstat(2) that a filter allows: glibc's fstat() is refused, see sandbox.c. */
int	sandbox_fstat(int, struct stat *);
const char *sandbox_syscall_name(int, char *, size_t);

/*
 * Debug hook for the reliability tests (IMSG_CHILD_SELFTEST): attempt a
 * forbidden call, "open", "connect", "execve", "fcntl_setown" (F_SETOWN),
 * "fcntl_async" (F_SETFL with O_ASYNC) or "stat_path" (newfstatat of a
 * path with AT_EMPTY_PATH).  Returns only if the call was not stopped,
 * which is a failure the caller must report.
 */
void	sandbox_selftest(const char *);

/* For the parent: why a child ended, e.g. "killed by SIGSYS (seccomp)". */
const char *sandbox_describe_exit(int, char *, size_t);

#endif
