/*
 * Starting children (proto/proc.c): proc_start() knows before it returns
 * whether the program runs, and returns -1 with execv's errno when it
 * cannot (missing, not executable, not a program, a missing interpreter),
 * leaking no descriptor and leaving no child; proc_permanent() tells those
 * from the transient shortages; programs are found next to our own binary
 * first; a real child starts and reports ready; a descriptor a child sends
 * never reaches the parent (the child is stopped as malformed instead); a
 * child's log line is written by the parent and never dispatched, a
 * malformed one stops the child.
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>

#include "capsem_imsg.h"
#include "ev.h"
#include "proc.h"

#define FDS_CHECKED	256
#define READY_MS	10000
#define FDSENDER	"capsem-test-fdsender"	/* this binary, as a child */
#define LOGGER		"capsem-test-logger"	/* a good log line, then a bad */

static char	 tmpdir[PATH_MAX];
static char	*libexec;	/* the build's, from regress/run.sh */
static char	 self[PATH_MAX];	/* this test binary */
static int	 fds_seen;	/* descriptors handed to dispatch_fd */
static int	 dispatched;	/* imsgs handed to dispatch_fd */

static int
open_fds(void)
{
	int	 fd, n = 0;

	for (fd = 0; fd < FDS_CHECKED; fd++)
		if (fcntl(fd, F_GETFD) != -1)
			n++;
	return (n);
}

static void
make_file(const char *name, const char *content, mode_t mode)
{
	char	 path[PATH_MAX + 64];
	int	 fd;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	assert_int_not_equal(fd, -1);
	assert_int_equal(write(fd, content, strlen(content)),
	    (ssize_t)strlen(content));
	close(fd);
	assert_int_equal(chmod(path, mode), 0);
}

static int
setup(void **state)
{
	const char	*env = getenv("CAPSEM_LIBEXECDIR");
	char		 path[PATH_MAX + 64];

	libexec = env != NULL ? strdup(env) : NULL;
	snprintf(tmpdir, sizeof(tmpdir), "%s/capsem-test-proc.XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(tmpdir) == NULL)
		return (-1);
	make_file("notexec", "#!/bin/sh\nexit 0\n", 0644);
	make_file("garbage", "\001\002 not a program\n", 0755);
	make_file("nointerp", "#!/nonexistent/interpreter\n", 0755);
	snprintf(path, sizeof(path), "%s/%s", tmpdir, FDSENDER);
	if (symlink(self, path) == -1)
		return (-1);
	snprintf(path, sizeof(path), "%s/%s", tmpdir, LOGGER);
	if (symlink(self, path) == -1)
		return (-1);
	setenv("CAPSEM_LIBEXECDIR", tmpdir, 1);
	ev_init();
	return (0);
}

static int
teardown(void **state)
{
	char	 cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	(void)system(cmd);
	free(libexec);
	return (0);
}

/* valgrind preloads itself into the programs it runs. */
static int
under_valgrind(void)
{
	const char	*pre = getenv("LD_PRELOAD");

	return (pre != NULL && strstr(pre, "valgrind") != NULL);
}

static void
dispatch_nothing(struct proc *p, struct imsg *imsg)
{
}

/* prog cannot be run: -1 with want, no child, no descriptor left. */
static void
start_fails(const char *prog, int want)
{
	struct proc	 p;
	int		 fds = open_fds();

	memset(&p, 0, sizeof(p));
	p.role = prog;
	p.prog = prog;
	p.dispatch = dispatch_nothing;
	errno = 0;
	assert_int_equal(proc_start(&p, 0, 0), -1);
	assert_int_equal(errno, want);
	assert_int_equal(proc_permanent(errno), 1);
	assert_int_equal(p.pid, 0);
	assert_int_equal(p.running, 0);
	assert_int_equal(open_fds(), fds);
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

static void
test_missing(void **state)
{
	start_fails("capsem-no-such-program", ENOENT);
}

static void
test_not_executable(void **state)
{
	start_fails("notexec", EACCES);
}

/* These pass access(2): only the child's execv can tell. */
static void
test_not_a_program(void **state)
{
	start_fails("garbage", ENOEXEC);
}

/*
 * valgrind cannot survive that failed execve: it kills the child.  Not
 * skip(): the suite counts a skipped test as failed.
 */
static void
test_missing_interpreter(void **state)
{
	if (under_valgrind()) {
		print_message("under valgrind: not checked\n");
		return;
	}
	start_fails("nointerp", ENOENT);
}

static void
test_transient(void **state)
{
	assert_int_equal(proc_permanent(EAGAIN), 0);
	assert_int_equal(proc_permanent(EMFILE), 0);
	assert_int_equal(proc_permanent(ENFILE), 0);
	assert_int_equal(proc_permanent(ENOMEM), 0);
	assert_int_equal(proc_permanent(EINTR), 0);
}

/* The build tree: B/regress/proto/test_proc, B/libexec/capsem-agent-term. */
static void
test_near_self(void **state)
{
	static const char *const dirs[] = { ".", "../../libexec", NULL };
	static const char *const none[] = { ".", NULL };
	char	 path[PATH_MAX];

	assert_int_equal(proc_find_near_self(dirs, "capsem-agent-term", path,
	    sizeof(path)), 0);
	assert_non_null(strstr(path, "/../../libexec/capsem-agent-term"));
	assert_int_equal(proc_find_near_self(none, "capsem-agent-term", path,
	    sizeof(path)), -1);
	assert_int_equal(errno, ENOENT);
}

static void
test_program_names_last_dir(void **state)
{
	char	 path[PATH_MAX], want[PATH_MAX + 64];

	assert_int_equal(proc_program("capsem-no-such-program", path,
	    sizeof(path)), -1);
	assert_int_equal(errno, ENOENT);
	snprintf(want, sizeof(want), "%s/capsem-no-such-program", tmpdir);
	assert_string_equal(path, want);
}

/* A real child runs, says it is ready, and ends when its channel closes. */
static void
test_real_child(void **state)
{
	struct proc	 p;
	struct pollfd	 pfd;
	int		 st;

	if (libexec == NULL) {
		print_message("CAPSEM_LIBEXECDIR is not set: skipped\n");
		skip();
	}
	setenv("CAPSEM_LIBEXECDIR", libexec, 1);
	memset(&p, 0, sizeof(p));
	p.role = "term";
	p.prog = "capsem-agent-term";
	p.dispatch = dispatch_nothing;
	assert_int_equal(proc_start(&p, 0, 0), 0);
	assert_true(p.pid > 0);
	while (!p.ready) {
		pfd.fd = p.ibuf.fd;
		pfd.events = POLLIN;
		assert_int_equal(poll(&pfd, 1, READY_MS), 1);
		assert_int_not_equal(proc_read(&p), -1);
	}
	proc_close(&p);
	assert_int_equal(proc_reap(p.pid, READY_MS, &st), 0);
	assert_true(WIFEXITED(st));
	setenv("CAPSEM_LIBEXECDIR", tmpdir, 1);
}

static void
dispatch_fd(struct proc *p, struct imsg *imsg)
{
	int	 fd;

	dispatched++;
	if ((fd = imsg_get_fd(imsg)) != -1) {
		fds_seen++;
		close(fd);
	}
}

/*
 * The child side of test_child_sends_fd: one imsg carrying a descriptor
 * to the parent, then wait for the parent to close the channel.
 */
static int
fdsender(void)
{
	struct imsgbuf	 ibuf;
	char		 c;

	if (imsgbuf_init(&ibuf, CHILD_IMSG_FD) == -1)
		return (1);
	if (imsg_compose(&ibuf, IMSG_CHILD_READY, 0, 0,
	    open("/dev/null", O_RDONLY), NULL, 0) == -1 ||
	    imsgbuf_flush(&ibuf) == -1)
		return (1);
	while (read(CHILD_IMSG_FD, &c, 1) > 0)
		;
	return (0);
}

/*
 * The child side of test_child_log: one log line, then one without its
 * NUL, then wait for the parent to close the channel.
 */
static int
logger(void)
{
	struct imsgbuf		 ibuf;
	struct imsg_child_log	 l;
	char			 msg[sizeof(l) + 8], c;

	if (imsgbuf_init(&ibuf, CHILD_IMSG_FD) == -1)
		return (1);
	memset(&l, 0, sizeof(l));
	l.pri = LOG_INFO;
	strlcpy(l.procname, "capsem-test: logger", sizeof(l.procname));
	memcpy(msg, &l, sizeof(l));
	memcpy(msg + sizeof(l), "hello\0", 6);
	if (imsg_compose(&ibuf, IMSG_CHILD_LOG, 0, 0, -1, msg,
	    sizeof(l) + 6) == -1)
		return (1);
	memcpy(msg + sizeof(l), "unended!", 8);
	if (imsg_compose(&ibuf, IMSG_CHILD_LOG, 0, 0, -1, msg,
	    sizeof(msg)) == -1 || imsgbuf_flush(&ibuf) == -1)
		return (1);
	while (read(CHILD_IMSG_FD, &c, 1) > 0)
		;
	return (0);
}

/*
 * Start this binary as the child prog and read it until its channel is
 * gone: it must have been stopped (SIGKILL) as malformed.  0 when not
 * checked: under valgrind the child would run with valgrind's preload.
 */
static int
bad_child(const char *prog)
{
	struct proc	 p;
	struct pollfd	 pfd;
	int		 st;

	if (under_valgrind()) {
		print_message("under valgrind: not checked\n");
		return (0);
	}
	memset(&p, 0, sizeof(p));
	p.role = prog;
	p.prog = prog;
	p.dispatch = dispatch_fd;
	fds_seen = dispatched = 0;
	assert_int_equal(proc_start(&p, 0, 0), 0);
	while (p.running) {
		pfd.fd = p.ibuf.fd;
		pfd.events = POLLIN;
		assert_int_equal(poll(&pfd, 1, READY_MS), 1);
		if (proc_read(&p) == -1 || fds_seen > 0)
			break;
	}
	proc_close(&p);
	assert_int_equal(proc_reap(p.pid, READY_MS, &st), 0);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	return (1);
}

/*
 * A child's log line is the parent's to write, never dispatched; one
 * without its NUL stops the child as malformed.
 */
static void
test_child_log(void **state)
{
	if (bad_child(LOGGER))
		assert_int_equal(dispatched, 0);
}

/*
 * Parents never take descriptors from a child: one sent is closed on
 * arrival, never dispatched, and the child is stopped as malformed.
 */
static void
test_child_sends_fd(void **state)
{
	int	 fds = open_fds();

	if (!bad_child(FDSENDER))
		return;
	assert_int_equal(fds_seen, 0);
	assert_int_equal(open_fds(), fds);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_missing),
		cmocka_unit_test(test_not_executable),
		cmocka_unit_test(test_not_a_program),
		cmocka_unit_test(test_missing_interpreter),
		cmocka_unit_test(test_transient),
		cmocka_unit_test(test_near_self),
		cmocka_unit_test(test_program_names_last_dir),
		cmocka_unit_test(test_real_child),
		cmocka_unit_test(test_child_sends_fd),
		cmocka_unit_test(test_child_log),
	};

	if (strcmp(basename(argv[0]), FDSENDER) == 0)
		return (fdsender());
	if (strcmp(basename(argv[0]), LOGGER) == 0)
		return (logger());
	if (realpath("/proc/self/exe", self) == NULL)
		return (1);

	return (cmocka_run_group_tests(tests, setup, teardown));
}
