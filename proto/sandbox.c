/*
 * All sandboxing of capsem children, behind sandbox_init/sandbox_apply (the
 * shape of OpenSSH's sandbox-seccomp-filter.c).  sandbox_apply, when run as
 * root, chroots to an empty directory that no longer exists and drops to the
 * _capsem user (else nobody) for good; then, always, sets no_new_privs and
 * loads a seccomp allow-list for the child's profile.  It touches nothing but
 * its own process credentials, root directory and one directory it creates
 * and removes at once.
 *
 * Why SCMP_ACT_TRAP and not SCMP_ACT_KILL_PROCESS as the default action: a
 * kill gives the parent only "SIGSYS", and the first question is always
 * "which call".  With TRAP the kernel still never runs the call; a SIGSYS
 * handler (installed SA_RESETHAND, so it runs once and the default action is
 * back) writes the role and the system call number to stderr with write(2)
 * and then makes a call no profile allows, which, with the default
 * disposition, kills the whole process with SIGSYS.  A child that managed to
 * replace the handler gains nothing: the forbidden call still fails.  A
 * foreign architecture (i386/x32 system call entry) is killed outright.
 */
#include <sys/types.h>
#include <sys/ioctl.h>
#include <linux/sockios.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define SANDBOX_HAVE_VALGRIND_H 1
#endif
#endif

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define __SANITIZE_ADDRESS__ 1
#endif
#endif
#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/lsan_interface.h>
#endif

#include "capsem_imsg.h"
#include "imsg.h"
#include "log.h"
#include "sandbox.h"

#define SANDBOX_USER		"_capsem"
#define SANDBOX_USER_FALLBACK	"nobody"

/*
 * What every child's loop needs: imsg and its own sockets (read/write,
 * sendmsg/recvmsg for fd passing), poll, time, malloc, exit, glibc's locks,
 * lseek, and fstat as the system call (sandbox_fstat: no path).  mmap
 * (never PROT_EXEC) and fcntl (a few commands) are added with their
 * conditions in sandbox_filter.
 */
static const int sandbox_common[] = {
	SCMP_SYS(read),			SCMP_SYS(write),
	SCMP_SYS(readv),		SCMP_SYS(writev),
	SCMP_SYS(recvmsg),		SCMP_SYS(sendmsg),
	SCMP_SYS(recvfrom),		SCMP_SYS(sendto),
	SCMP_SYS(close),		SCMP_SYS(shutdown),
	SCMP_SYS(poll),			SCMP_SYS(ppoll),
	SCMP_SYS(clock_gettime),	SCMP_SYS(gettimeofday),
	SCMP_SYS(nanosleep),		SCMP_SYS(clock_nanosleep),
	SCMP_SYS(exit),			SCMP_SYS(exit_group),
	SCMP_SYS(brk),			SCMP_SYS(munmap),
	SCMP_SYS(mremap),		SCMP_SYS(madvise),
	SCMP_SYS(rt_sigreturn),		SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(restart_syscall),	SCMP_SYS(getpid),
	SCMP_SYS(sched_yield),		SCMP_SYS(futex),
	SCMP_SYS(lseek),		SCMP_SYS(fstat),
};

/* control and the host decoders: deadlines and message ids. */
static const int sandbox_control[] = {
	SCMP_SYS(timerfd_create),	SCMP_SYS(timerfd_settime),
	SCMP_SYS(timerfd_gettime),	SCMP_SYS(getrandom),
};

/* audit: rotation detection and reads on the log fd it was given. */
static const int sandbox_audit[] = {
	SCMP_SYS(pread64),
};

#ifdef __SANITIZE_ADDRESS__
/*
 * What the ASan/UBSan runtime calls on its own in a running process (plus
 * mprotect, never PROT_EXEC, in sandbox_filter).
 */
static const int sandbox_sanitizer[] = {
	SCMP_SYS(sigaltstack),		SCMP_SYS(prctl),
	SCMP_SYS(getrlimit),		SCMP_SYS(prlimit64),
	SCMP_SYS(sched_getaffinity),	SCMP_SYS(rt_sigaction),
	SCMP_SYS(gettid),		SCMP_SYS(tgkill),
	SCMP_SYS(readlink),		SCMP_SYS(mincore),
};
#endif

static char	sandbox_role[32] = "child";

static int	sandbox_under_valgrind(void);
static void	sandbox_sigsys(int, siginfo_t *, void *);

static int	sandbox_reportfd = -1;
static void	sandbox_chroot(void);
static void	sandbox_drop(void);
static void	sandbox_add(scmp_filter_ctx, const int *, size_t);
static void	sandbox_add_cond(scmp_filter_ctx, int, unsigned int,
		    const struct scmp_arg_cmp *);
static void	sandbox_add_fcntl(scmp_filter_ctx);
static void	sandbox_filter(enum sandbox_profile);

void
sandbox_init(const char *role)
{
	strlcpy(sandbox_role, role, sizeof(sandbox_role));
}

void
sandbox_apply(enum sandbox_profile profile)
{
	struct sigaction	sa;

#ifdef __SANITIZE_ADDRESS__
	/*
	 * LeakSanitizer's exit-time check stops the world with clone and
	 * ptrace and reads /proc, which neither the chroot nor any profile
	 * allows.  Check now instead: that also turns the exit check off.
	 */
	__lsan_do_leak_check();
#endif
	if (geteuid() == 0)
		sandbox_drop();
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("%s: sandbox: PR_SET_NO_NEW_PRIVS", sandbox_role);

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sandbox_sigsys;
	sa.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) == -1)
		fatal("%s: sandbox: sigaction SIGSYS", sandbox_role);
	sandbox_filter(profile);
}

/*
 * Valgrind runs every system call of its guest itself, so a filter would
 * kill valgrind's own calls: under valgrind the filter is built (and so
 * checked) but not loaded.  Only whoever starts the root process can set
 * the environment the fallback looks at.
 */
static int
sandbox_under_valgrind(void)
{
#ifdef SANDBOX_HAVE_VALGRIND_H
	return (RUNNING_ON_VALGRIND != 0);
#else
	const char	*p = getenv("LD_PRELOAD");

	return (p != NULL && strstr(p, "vgpreload") != NULL);
#endif
}

/*
 * Async-signal-safe: a fixed buffer, write(2), then a call no profile allows
 * (getppid) which, the handler being reset, kills with SIGSYS.
 */
static void
sandbox_sigsys(int sig, siginfo_t *si, void *ctx)
{
	struct {
		struct imsg_hdr	hdr;
		int32_t		nr;
	} __attribute__((__packed__)) rep;
	char		 msg[160], num[16];
	size_t		 len, n;
	unsigned int	 nr;

	nr = (unsigned int)si->si_syscall;
	n = sizeof(num);
	do {
		num[--n] = '0' + nr % 10;
		nr /= 10;
	} while (nr != 0 && n > 0);
	len = strlcpy(msg, "capsem-sandbox: ", sizeof(msg));
	len = strlcat(msg, sandbox_role, sizeof(msg));
	len = strlcat(msg, ": forbidden system call ", sizeof(msg));
	if (len + (sizeof(num) - n) + 1 < sizeof(msg)) {
		memcpy(msg + len, num + n, sizeof(num) - n);
		len += sizeof(num) - n;
		msg[len++] = '\n';
		(void)!write(STDERR_FILENO, msg, len);
	}
	if (sandbox_reportfd != -1) {
		/* One whole imsg, so the parent can name the call. */
		rep.hdr.type = IMSG_CHILD_SECCOMP;
		rep.hdr.len = sizeof(rep);
		rep.hdr.peerid = 0;
		rep.hdr.pid = 0;
		rep.nr = si->si_syscall;
		(void)!write(sandbox_reportfd, &rep, sizeof(rep));
	}
	syscall(SYS_getppid);
	_exit(128 + SIGSYS);
}

/*
 * chroot into a directory made for this process and removed before the
 * chroot: the new root is a dead directory, empty forever, in which even root
 * cannot create anything.
 */
static void
sandbox_chroot(void)
{
	static const char	*bases[] = { "/run", "/tmp" };
	char			 dir[64];
	struct stat		 st;
	size_t			 i;

	for (i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		snprintf(dir, sizeof(dir), "%s/capsem-empty.XXXXXX", bases[i]);
		if (mkdtemp(dir) != NULL)
			break;
	}
	if (i == sizeof(bases) / sizeof(bases[0]))
		fatal("%s: sandbox: mkdtemp in /run and /tmp", sandbox_role);
	if (chdir(dir) == -1)
		fatal("%s: sandbox: chdir %s", sandbox_role, dir);
	if (rmdir(dir) == -1)
		fatal("%s: sandbox: rmdir %s", sandbox_role, dir);
	if (chroot(".") == -1)
		fatal("%s: sandbox: chroot %s", sandbox_role, dir);
	if (chdir("/") == -1)
		fatal("%s: sandbox: chdir /", sandbox_role);
	if (stat("/", &st) == -1)
		fatal("%s: sandbox: stat /", sandbox_role);
	if (st.st_nlink != 0 || st.st_uid != 0 || (st.st_mode & 077) != 0)
		fatalx("%s: sandbox: new root is not an empty dead directory",
		    sandbox_role);
}

static void
sandbox_drop(void)
{
	struct passwd	*pw;
	uid_t		 uid, ruid, euid, suid;
	gid_t		 gid, rgid, egid, sgid, groups[2];

	/* Name service lookups need the real root: before the chroot. */
	if ((pw = getpwnam(SANDBOX_USER)) == NULL &&
	    (pw = getpwnam(SANDBOX_USER_FALLBACK)) == NULL)
		fatalx("%s: sandbox: no user %s or %s", sandbox_role,
		    SANDBOX_USER, SANDBOX_USER_FALLBACK);
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	if (uid == 0 || gid == 0)
		fatalx("%s: sandbox: user %s is privileged", sandbox_role,
		    pw->pw_name);
	endpwent();

	sandbox_chroot();
	if (setgroups(1, &gid) == -1)
		fatal("%s: sandbox: setgroups", sandbox_role);
	if (setresgid(gid, gid, gid) == -1)
		fatal("%s: sandbox: setresgid", sandbox_role);
	if (setresuid(uid, uid, uid) == -1)
		fatal("%s: sandbox: setresuid", sandbox_role);

	/* The drop must be complete and permanent. */
	if (getresuid(&ruid, &euid, &suid) == -1 ||
	    getresgid(&rgid, &egid, &sgid) == -1 ||
	    ruid != uid || euid != uid || suid != uid ||
	    rgid != gid || egid != gid || sgid != gid ||
	    getgroups(2, groups) != 1 || groups[0] != gid)
		fatalx("%s: sandbox: credentials not dropped", sandbox_role);
	if (setresuid(0, 0, 0) != -1 || setresgid(0, 0, 0) != -1 ||
	    setgroups(0, NULL) != -1)
		fatalx("%s: sandbox: could regain privileges", sandbox_role);
}

static void
sandbox_add(scmp_filter_ctx ctx, const int *nrs, size_t n)
{
	size_t	i;
	int	r;

	for (i = 0; i < n; i++) {
		/* Negative: a pseudo number, no such call on this arch. */
		if (nrs[i] < 0)
			continue;
		if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nrs[i], 0)) < 0)
			fatalx("%s: sandbox: seccomp rule for %d: %s",
			    sandbox_role, nrs[i], strerror(-r));
	}
}

/* Allow nr when all n comparisons hold. */
static void
sandbox_add_cond(scmp_filter_ctx ctx, int nr, unsigned int n,
    const struct scmp_arg_cmp *cmp)
{
	int	r;

	if (nr >= 0 && (r = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, n,
	    cmp)) < 0)
		fatalx("%s: sandbox: seccomp rule for %d: %s", sandbox_role,
		    nr, strerror(-r));
}

#define SANDBOX_ADD(ctx, t)	sandbox_add((ctx), (t), sizeof(t) / sizeof((t)[0]))
#define SANDBOX_ADD_COND(ctx, nr, ...)	do {				\
	const struct scmp_arg_cmp c_[] = { __VA_ARGS__ };		\
									\
	sandbox_add_cond((ctx), (nr), sizeof(c_) / sizeof(c_[0]), c_);	\
} while (0)

/*
 * fcntl, only the commands the loops use: F_GETFL and F_SETFL to make a
 * received socket non-blocking, and F_DUPFD_CLOEXEC, imsg's probe for room
 * in the descriptor table before a recvmsg.  Never O_ASYNC: with F_SETOWN
 * and F_SETSIG (refused too) a child could have the kernel send any signal
 * to any process of its uid.  The command is compared on all 64 bits, so
 * junk in the upper half of the register (which the kernel ignores) only
 * gets the call refused.  fcntl64 is the name on 32-bit ABIs.
 */
static void
sandbox_add_fcntl(scmp_filter_ctx ctx)
{
	const int	nrs[] = { SCMP_SYS(fcntl), SCMP_SYS(fcntl64) };
	size_t		i;

	for (i = 0; i < sizeof(nrs) / sizeof(nrs[0]); i++) {
		SANDBOX_ADD_COND(ctx, nrs[i], SCMP_A1(SCMP_CMP_EQ, F_GETFL));
		SANDBOX_ADD_COND(ctx, nrs[i], SCMP_A1(SCMP_CMP_EQ, F_SETFL),
		    SCMP_A2(SCMP_CMP_MASKED_EQ, O_ASYNC, 0));
		SANDBOX_ADD_COND(ctx, nrs[i],
		    SCMP_A1(SCMP_CMP_EQ, F_DUPFD_CLOEXEC));
	}
}

static void
sandbox_filter(enum sandbox_profile profile)
{
	scmp_filter_ctx	ctx;
	int		r, valgrind = sandbox_under_valgrind();

	if ((ctx = seccomp_init(SCMP_ACT_TRAP)) == NULL)
		fatalx("%s: sandbox: seccomp_init failed", sandbox_role);
	/* libseccomp's probe of the kernel for this fails under valgrind. */
	if (!valgrind && (r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
	    SCMP_ACT_KILL_PROCESS)) < 0)
		fatalx("%s: sandbox: seccomp bad arch action: %s",
		    sandbox_role, strerror(-r));
	SANDBOX_ADD(ctx, sandbox_common);
	SANDBOX_ADD_COND(ctx, SCMP_SYS(mmap),
	    SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	sandbox_add_fcntl(ctx);
#ifdef __SANITIZE_ADDRESS__
	SANDBOX_ADD(ctx, sandbox_sanitizer);
	SANDBOX_ADD_COND(ctx, SCMP_SYS(mprotect),
	    SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
#endif
	switch (profile) {
	case SANDBOX_TERM:
		break;
	case SANDBOX_AUDIT:
		SANDBOX_ADD(ctx, sandbox_audit);
		/* How much of what it wrote the host has not read yet. */
		SANDBOX_ADD_COND(ctx, SCMP_SYS(ioctl),
		    SCMP_A1(SCMP_CMP_EQ, SIOCOUTQ));
		/* FALLTHROUGH */
	case SANDBOX_CONTROL:
	case SANDBOX_HOST_DECODER:
		SANDBOX_ADD(ctx, sandbox_control);
		break;
	default:
		fatalx("%s: sandbox: unknown profile %d", sandbox_role,
		    profile);
	}
	if (valgrind) {
		log_warnx("%s: sandbox: running under valgrind, seccomp "
		    "filter not loaded", sandbox_role);
		seccomp_release(ctx);
		return;
	}
	if ((r = seccomp_load(ctx)) < 0)
		fatalx("%s: sandbox: seccomp_load: %s", sandbox_role,
		    strerror(-r));
	seccomp_release(ctx);
}

/*
 * The fcntl and stat attempts use stderr, the one fd every child has; one
 * that was not stopped is undone (the flags and owner are those of the
 * open file the parent shares) before the failure is reported.
 */
void
sandbox_selftest(const char *what)
{
	struct sockaddr_un	 sun;
	struct stat		 st;
	char			*argv[] = { "true", NULL }, *envp[] = { NULL };
	int			 fd, fl;

	log_info("%s: sandbox selftest: %s", sandbox_role, what);
	if (strcmp(what, "fcntl_setown") == 0) {
		if (fcntl(STDERR_FILENO, F_SETOWN, getpid()) != -1)
			(void)fcntl(STDERR_FILENO, F_SETOWN, 0);
	} else if (strcmp(what, "fcntl_async") == 0) {
		if ((fl = fcntl(STDERR_FILENO, F_GETFL)) != -1 &&
		    fcntl(STDERR_FILENO, F_SETFL, fl | O_ASYNC) != -1)
			(void)fcntl(STDERR_FILENO, F_SETFL, fl);
	} else if (strcmp(what, "stat_path") == 0) {
		/* The call an fd-only rule on newfstatat would still let by. */
		(void)syscall(SYS_newfstatat, STDERR_FILENO, "/etc/passwd",
		    &st, AT_EMPTY_PATH);
	} else if (strcmp(what, "open") == 0) {
		if ((fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC)) != -1)
			close(fd);
	} else if (strcmp(what, "connect") == 0) {
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC,
		    0)) != -1) {
			memset(&sun, 0, sizeof(sun));
			sun.sun_family = AF_UNIX;
			strlcpy(sun.sun_path, "/dev/log",
			    sizeof(sun.sun_path));
			(void)connect(fd, (struct sockaddr *)&sun,
			    sizeof(sun));
			close(fd);
		}
	} else if (strcmp(what, "execve") == 0)
		execve("/bin/true", argv, envp);
	else {
		log_warnx("%s: sandbox selftest: unknown test \"%s\"",
		    sandbox_role, what);
		return;
	}
	log_warnx("%s: sandbox selftest: %s was not stopped", sandbox_role,
	    what);
}

const char *
sandbox_describe_exit(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exited with status %d",
		    WEXITSTATUS(status));
	else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS)
		snprintf(buf, len, "killed by SIGSYS (seccomp: forbidden "
		    "system call)");
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)%s",
		    WTERMSIG(status), strsignal(WTERMSIG(status)),
		    WCOREDUMP(status) ? ", core dumped" : "");
	else if (WIFSTOPPED(status))
		snprintf(buf, len, "stopped by signal %d", WSTOPSIG(status));
	else
		snprintf(buf, len, "unknown wait status 0x%x", status);
	return (buf);
}

/*
 * fstat(2) for a sandboxed child: the fstat system call, which takes no
 * path.  glibc 2.36 (Debian 12) implements fstat() as newfstatat(fd, "",
 * sb, AT_EMPTY_PATH) on x86_64 and aarch64, and no filter can allow that
 * call without allowing a stat of any path: seccomp sees the address of
 * the path, not its bytes, and an absolute path makes the kernel ignore
 * the fd, so a rule on AT_EMPTY_PATH and fd != AT_FDCWD still lets
 * newfstatat(fd, "/etc/shadow", sb, AT_EMPTY_PATH) by.  The filters
 * therefore refuse newfstatat altogether.  Guaranteed: a child can stat no
 * path, chrooted or not.  Not guaranteed: that a libc call which stats
 * behind the caller's back works; glibc's own fstat() kills the child.  On
 * these 64-bit ABIs the kernel's struct stat of this call is glibc's.
 */
_Static_assert(sizeof(long) == 8, "sandbox_fstat: the kernel's struct stat "
    "is glibc's only on 64-bit ABIs");

int
sandbox_fstat(int fd, struct stat *sb)
{
	return ((int)syscall(SYS_fstat, fd, sb));
}

/* Where the SIGSYS handler reports the refused call (the imsg socket). */
void
sandbox_report_fd(int fd)
{
	sandbox_reportfd = fd;
}

/* "openat" for a system call number of this architecture. */
const char *
sandbox_syscall_name(int nr, char *buf, size_t len)
{
	char	*name;

	if ((name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE,
	    nr)) == NULL) {
		snprintf(buf, len, "#%d", nr);
		return (buf);
	}
	snprintf(buf, len, "%s (%d)", name, nr);
	free(name);
	return (buf);
}
