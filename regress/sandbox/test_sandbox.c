/*
 * proto/sandbox.c: a forked child applies each profile, then either does the
 * work its loop needs (pipe I/O, poll, a big malloc, the fcntl commands the
 * loops use, and the extra calls of its profile) and exits 0, or attempts a
 * forbidden call through sandbox_selftest (among them F_SETOWN, O_ASYNC and
 * a stat by path) and must die by SIGSYS.  The parent checks, while the
 * child waits, that /proc shows seccomp mode 2 and no_new_privs, and, when
 * run as root, that the child's credentials are dropped and its root is an
 * empty, deleted directory.
 *
 * Under valgrind sandbox_apply builds the filter but does not load it
 * (valgrind executes its guest's system calls itself), so the Seccomp line
 * and the SIGSYS deaths are not checked there; everything else is.
 */
#include <sys/types.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/random.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define HAVE_VALGRIND_H 1
#endif
#endif

#include "log.h"
#include "sandbox.h"

enum action {
	ACT_WORK,
	ACT_OPEN,
	ACT_CONNECT,
	ACT_EXECVE,
	ACT_FCNTL_SETOWN,
	ACT_FCNTL_ASYNC,
	ACT_STAT_PATH,
	ACT_COUNT
};

/* Each forbidden action: its sandbox_selftest name, the call refused. */
static const struct {
	const char	*name;
	int		 nr;
} forbidden[ACT_COUNT] = {
	[ACT_OPEN] =		{ "open",		SYS_openat },
	[ACT_CONNECT] =		{ "connect",		SYS_socket },
	[ACT_EXECVE] =		{ "execve",		SYS_execve },
	[ACT_FCNTL_SETOWN] =	{ "fcntl_setown",	SYS_fcntl },
	[ACT_FCNTL_ASYNC] =	{ "fcntl_async",	SYS_fcntl },
	[ACT_STAT_PATH] =	{ "stat_path",		SYS_newfstatat },
};

struct child {
	pid_t	pid;
	int	to_child;	/* parent writes */
	int	from_child;	/* parent reads */
	int	err;		/* the child's stderr, or -1 */
};

static int
under_valgrind(void)
{
#ifdef HAVE_VALGRIND_H
	return (RUNNING_ON_VALGRIND != 0);
#else
	const char	*p = getenv("LD_PRELOAD");

	return (p != NULL && strstr(p, "vgpreload") != NULL);
#endif
}

/* The extra calls each profile allows, beyond what every profile does. */
static int
child_profile_work(enum sandbox_profile profile, int auditfd)
{
	struct stat	st;
	char		buf[4];
	int		fd;

	if (profile == SANDBOX_TERM)
		return (0);
	if ((fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC)) == -1)
		return (20);
	close(fd);
	if (getrandom(buf, sizeof(buf), 0) != sizeof(buf))
		return (21);
	if (profile != SANDBOX_AUDIT)
		return (0);
	if (sandbox_fstat(auditfd, &st) == -1 || st.st_size != 4)
		return (22);
	if (pread(auditfd, buf, 4, 0) != 4 || memcmp(buf, "abcd", 4) != 0)
		return (23);
	if (lseek(auditfd, 0, SEEK_END) != 4)
		return (24);
	return (0);
}

static int
child_work(enum sandbox_profile profile, int rfd, int wfd, int auditfd)
{
	struct pollfd	pfd;
	struct timespec	ts = { 0, 1000000 };
	char		*big, c;
	size_t		 i, sz = 32 * 1024 * 1024;
	int		 fl, fd;

	if ((big = malloc(sz)) == NULL)
		return (10);
	memset(big, 'x', sz);
	free(big);
	for (i = 0; i < 1000; i++)
		free(malloc(i * 17));
	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1 ||
	    nanosleep(&(struct timespec){ 0, 1000000 }, NULL) == -1)
		return (11);
	pfd.fd = rfd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 10000) != 1 || read(rfd, &c, 1) != 1 || c != 'x')
		return (12);
	if (write(wfd, "y", 1) != 1)
		return (13);
	/* A received socket made non-blocking; imsg's probe for fd room. */
	if ((fl = fcntl(wfd, F_GETFL)) == -1 ||
	    fcntl(wfd, F_SETFL, fl | O_NONBLOCK) == -1 ||
	    fcntl(wfd, F_SETFL, fl) == -1)
		return (14);
	if ((fd = fcntl(wfd, F_DUPFD_CLOEXEC, 0)) == -1)
		return (15);
	close(fd);
	if (write(wfd, "ok\n", 3) != 3)
		return (16);
	return (child_profile_work(profile, auditfd));
}

static __dead void
child_main(enum sandbox_profile profile, enum action act, int rfd, int wfd,
    int auditfd)
{
	char	c;

	sandbox_init("test");
	sandbox_apply(profile);
	if (write(wfd, "R", 1) != 1)
		_exit(2);
	/* Wait while the parent looks at /proc. */
	if (read(rfd, &c, 1) != 1 || c != 'G')
		_exit(3);
	if (act == ACT_WORK)
		_exit(child_work(profile, rfd, wfd, auditfd));
	sandbox_selftest(forbidden[act].name);
	_exit(4);	/* the forbidden call was not stopped */
}

/* With want_err, the child's stderr goes to ch->err for the parent. */
static void
child_start(struct child *ch, enum sandbox_profile profile, enum action act,
    int auditfd, int want_err)
{
	int	p2c[2], c2p[2], e[2] = { -1, -1 };

	assert_int_equal(pipe2(p2c, O_CLOEXEC), 0);
	assert_int_equal(pipe2(c2p, O_CLOEXEC), 0);
	if (want_err)
		assert_int_equal(pipe2(e, O_CLOEXEC), 0);
	ch->pid = fork();
	assert_int_not_equal(ch->pid, -1);
	if (ch->pid == 0) {
		close(p2c[1]);
		close(c2p[0]);
		if (want_err && dup2(e[1], STDERR_FILENO) == -1)
			_exit(5);
		child_main(profile, act, p2c[0], c2p[1], auditfd);
	}
	close(p2c[0]);
	close(c2p[1]);
	if (want_err)
		close(e[1]);
	ch->to_child = p2c[1];
	ch->from_child = c2p[0];
	ch->err = e[0];
}

/* The four ids of the "Uid:" or "Gid:" line, all nonzero. */
static int
status_ids_unprivileged(pid_t pid, const char *key)
{
	char		 path[64], *buf = NULL;
	size_t		 cap = 0;
	FILE		*f;
	unsigned int	 id[4];
	int		 ok = 0;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return (0);
	while (getline(&buf, &cap, f) != -1)
		if (strncmp(buf, key, strlen(key)) == 0 &&
		    sscanf(buf + strlen(key), "%u %u %u %u", &id[0], &id[1],
		    &id[2], &id[3]) == 4)
			ok = id[0] && id[1] && id[2] && id[3];
	free(buf);
	fclose(f);
	return (ok);
}

static int
status_has(pid_t pid, const char *line)
{
	char	 path[64], *buf = NULL;
	size_t	 cap = 0;
	FILE	*f;
	int	 found = 0;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return (0);
	while (getline(&buf, &cap, f) != -1)
		if (strcmp(buf, line) == 0)
			found = 1;
	free(buf);
	fclose(f);
	return (found);
}

/* Root only: the child's root is a deleted directory with nothing in it. */
static void
check_root_empty(pid_t pid)
{
	char		 path[64], link[256];
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	ssize_t		 n;

	snprintf(path, sizeof(path), "/proc/%d/root", (int)pid);
	n = readlink(path, link, sizeof(link) - 1);
	assert_true(n > 0);
	link[n] = '\0';
	assert_non_null(strstr(link, "capsem-empty."));
	assert_non_null(strstr(link, " (deleted)"));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_nlink, 0);
	assert_int_equal(st.st_uid, 0);
	/* A deleted directory cannot be listed (ENOENT) or lists only . and .. */
	if ((d = opendir(path)) != NULL) {
		errno = 0;
		while ((de = readdir(d)) != NULL)
			assert_true(strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0);
		closedir(d);
	}
}

static void
check_sandboxed(const struct child *ch)
{
	char	c;

	assert_int_equal(read(ch->from_child, &c, 1), 1);
	assert_int_equal(c, 'R');
	assert_true(status_has(ch->pid, "NoNewPrivs:\t1\n"));
	if (!under_valgrind())
		assert_true(status_has(ch->pid, "Seccomp:\t2\n"));
	if (geteuid() == 0) {
		assert_true(status_ids_unprivileged(ch->pid, "Uid:"));
		assert_true(status_ids_unprivileged(ch->pid, "Gid:"));
		check_root_empty(ch->pid);
	}
}

static int
child_wait(struct child *ch)
{
	int	status;

	close(ch->to_child);
	close(ch->from_child);
	while (waitpid(ch->pid, &status, 0) == -1)
		assert_int_equal(errno, EINTR);
	return (status);
}

static int
make_auditfd(void)
{
	char	path[] = "/tmp/test_sandbox.XXXXXX";
	int	fd;

	assert_true((fd = mkstemp(path)) != -1);
	unlink(path);
	assert_int_equal(write(fd, "abcd", 4), 4);
	return (fd);
}

static void
run_work(enum sandbox_profile profile)
{
	struct child	ch;
	char		buf[16], desc[128];
	ssize_t		n, got = 0;
	int		status, auditfd;

	auditfd = make_auditfd();
	child_start(&ch, profile, ACT_WORK, auditfd, 0);
	check_sandboxed(&ch);
	assert_int_equal(write(ch.to_child, "Gx", 2), 2);
	while ((n = read(ch.from_child, buf + got,
	    sizeof(buf) - 1 - got)) > 0)
		got += n;
	buf[got] = '\0';
	status = child_wait(&ch);
	close(auditfd);
	sandbox_describe_exit(status, desc, sizeof(desc));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("profile %d work: child %s", profile, desc);
	assert_string_equal(buf, "yok\n");
}

/* The child must die by SIGSYS after naming the call on its stderr. */
static void
run_forbidden(enum sandbox_profile profile, enum action act)
{
	struct child	ch;
	char		desc[128], err[512], want[64];
	ssize_t		n, got = 0;
	int		status;

	if (under_valgrind()) {
		print_message("under valgrind: seccomp not loaded, "
		    "SIGSYS check of profile %d action %d not run\n",
		    profile, act);
		return;
	}
	child_start(&ch, profile, act, -1, 1);
	check_sandboxed(&ch);
	assert_int_equal(write(ch.to_child, "G", 1), 1);
	while ((n = read(ch.err, err + got, sizeof(err) - 1 - got)) > 0)
		got += n;
	err[got] = '\0';
	close(ch.err);
	status = child_wait(&ch);
	snprintf(want, sizeof(want),
	    "capsem-sandbox: test: forbidden system call %d\n",
	    forbidden[act].nr);
	if (strstr(err, want) == NULL)
		fail_msg("profile %d %s: stderr \"%s\" lacks \"%s\"",
		    profile, forbidden[act].name, err, want);
	sandbox_describe_exit(status, desc, sizeof(desc));
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGSYS)
		fail_msg("profile %d %s: child %s", profile,
		    forbidden[act].name, desc);
	assert_string_equal(desc,
	    "killed by SIGSYS (seccomp: forbidden system call)");
}

/* The work of the profile passes; every forbidden action is killed. */
static void
run_profile(enum sandbox_profile profile)
{
	int	act;

	run_work(profile);
	for (act = ACT_OPEN; act < ACT_COUNT; act++)
		run_forbidden(profile, act);
}

static void
test_term(void **state)
{
	run_profile(SANDBOX_TERM);
}

static void
test_control(void **state)
{
	run_profile(SANDBOX_CONTROL);
}

static void
test_audit(void **state)
{
	run_profile(SANDBOX_AUDIT);
}

static void
test_host_decoder(void **state)
{
	run_profile(SANDBOX_HOST_DECODER);
}

static void
test_describe_exit(void **state)
{
	char	buf[128];

	assert_string_equal(sandbox_describe_exit(3 << 8, buf, sizeof(buf)),
	    "exited with status 3");
	assert_string_equal(sandbox_describe_exit(SIGSYS, buf, sizeof(buf)),
	    "killed by SIGSYS (seccomp: forbidden system call)");
	sandbox_describe_exit(SIGKILL, buf, sizeof(buf));
	assert_non_null(strstr(buf, "killed by signal 9"));
	sandbox_describe_exit(SIGSEGV | 0x80, buf, sizeof(buf));
	assert_non_null(strstr(buf, "core dumped"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_term),
		cmocka_unit_test(test_control),
		cmocka_unit_test(test_audit),
		cmocka_unit_test(test_host_decoder),
		cmocka_unit_test(test_describe_exit),
	};

	log_init(1, 0);
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
