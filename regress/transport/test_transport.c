/*
 * proto/transport.c: spec parsing with its error messages, the physical port
 * and its overflow, the socket file names of unix and hybrid transports, a
 * unix and a hybrid listen/connect round trip in a temp dir (fd flags, 0600
 * socket files, stale and live socket files), the kernel command line port
 * offset, and, where the kernel has AF_VSOCK loopback, a vsock round trip.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <linux/vm_sockets.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"
#include "transport.h"

static char	tmpdir[64];

static int
setup_dir(void **state)
{
	strlcpy(tmpdir, "/tmp/test_transport.XXXXXX", sizeof(tmpdir));
	if (mkdtemp(tmpdir) == NULL)
		return (-1);
	return (0);
}

static int
teardown_dir(void **state)
{
	char	cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return (system(cmd) == 0 ? 0 : -1);
}

static void
parse_ok(const char *spec, struct transport *t)
{
	char	err[256];

	if (transport_parse(spec, t, err, sizeof(err)) != 0)
		fail_msg("%s: %s", spec, err);
}

static void
parse_bad(const char *spec, int want_errno, const char *want)
{
	struct transport	 t;
	char			 err[512];
	const char		*name = spec != NULL ? spec : "(NULL)";

	errno = 0;
	if (transport_parse(spec, &t, err, sizeof(err)) != -1)
		fail_msg("%s: parsed", name);
	if (errno != want_errno)
		fail_msg("%s: errno %d, expected %d", name, errno, want_errno);
	if (strstr(err, want) == NULL)
		fail_msg("%s: error \"%s\" lacks \"%s\"", name, err, want);
	if (transport_parse(spec, &t, NULL, 0) != -1)
		fail_msg("%s: parsed without an error buffer", name);
}

static void
test_parse_good(void **state)
{
	struct transport	t;

	parse_ok("vsock:2", &t);
	assert_int_equal(t.kind, TRANSPORT_VSOCK);
	assert_int_equal(t.cid, 2);
	assert_int_equal(t.offset, 0);
	parse_ok("vsock", &t);
	assert_int_equal(t.cid, VMADDR_CID_ANY);
	parse_ok("vsock:any", &t);
	assert_int_equal(t.cid, VMADDR_CID_ANY);
	parse_ok("vsock:4294967294", &t);
	assert_int_equal(t.cid, 4294967294U);
	parse_ok("unix:/tmp/dir", &t);
	assert_int_equal(t.kind, TRANSPORT_UNIX);
	assert_string_equal(t.path, "/tmp/dir");
	parse_ok("unix:rel", &t);
	assert_string_equal(t.path, "rel");
	parse_ok("hybrid:/run/vm.vsock", &t);
	assert_int_equal(t.kind, TRANSPORT_HYBRID);
	assert_string_equal(t.path, "/run/vm.vsock");
}

/* Specs refused with EINVAL, and a piece of the message. */
static const struct {
	const char	*spec;
	const char	*want;
} bad_specs[] = {
	{ "", "empty transport" },
	{ NULL, "empty transport" },
	{ "tcp:1", "tcp:1: unknown transport" },
	{ "vsocks:2", "unknown transport" },
	{ "vsock:", "CID must be a number" },
	{ "vsock:-1", "CID must be a number" },
	{ "vsock: 3", "CID must be a number" },
	{ "vsock:3x", "CID must be a number" },
	{ "vsock:4294967295", "CID is too large" },
	{ "vsock:99999999999999999999", "CID is too large" },
	{ "unix:", "unix:: missing path" },
	{ "hybrid:", "missing path" },
};

static void
test_parse_bad(void **state)
{
	char	spec[256];
	size_t	i;

	for (i = 0; i < nitems(bad_specs); i++)
		parse_bad(bad_specs[i].spec, EINVAL, bad_specs[i].want);

	snprintf(spec, sizeof(spec), "unix:/%0199d", 0);
	parse_bad(spec, ENAMETOOLONG, "path too long for a unix socket "
	    "(200 bytes, at most 91)");
}

static void
test_parse_lengths(void **state)
{
	struct transport	t;
	char			spec[256];

	/*
	 * 108 bytes of sun_path, less the NUL and "/4294967295.sock" (or
	 * "_4294967295"): the longest accepted paths still fit with the
	 * largest port, so no address is ever truncated.
	 */
	snprintf(spec, sizeof(spec), "unix:/%090d", 0);
	parse_ok(spec, &t);
	t.offset = 4294967294U;
	assert_int_equal(transport_connect(&t, 0), -1);
	assert_int_equal(errno, ENOENT);
	snprintf(spec, sizeof(spec), "unix:/%091d", 0);
	parse_bad(spec, ENAMETOOLONG, "(92 bytes, at most 91)");
	snprintf(spec, sizeof(spec), "hybrid:/%095d", 0);
	parse_ok(spec, &t);
	snprintf(spec, sizeof(spec), "hybrid:/%096d", 0);
	parse_bad(spec, ENAMETOOLONG, "(97 bytes, at most 96)");
}

static void
test_port_offset(void **state)
{
	struct transport	t;
	uint32_t		port;

	parse_ok("vsock:2", &t);
	assert_int_equal(transport_port(&t, 5000, &port), 0);
	assert_int_equal(port, 5000);
	t.offset = 1000;
	assert_int_equal(transport_port(&t, 5001, &port), 0);
	assert_int_equal(port, 6001);
	t.offset = UINT32_MAX - 5001;
	assert_int_equal(transport_port(&t, 5000, &port), 0);
	assert_int_equal(port, UINT32_MAX - 1);
	assert_int_equal(transport_port(&t, 5001, &port), -1);
	assert_int_equal(errno, EOVERFLOW);
	t.offset = UINT32_MAX;
	assert_int_equal(transport_port(&t, 0, &port), -1);
	assert_int_equal(errno, EOVERFLOW);
	t.offset = 10;
	assert_int_equal(transport_port(&t, UINT32_MAX - 10, &port), -1);
	assert_int_equal(transport_connect(&t, UINT32_MAX - 10), -1);
	assert_int_equal(errno, EOVERFLOW);
	assert_int_equal(transport_listen(&t, UINT32_MAX - 10), -1);
	assert_int_equal(errno, EOVERFLOW);
}

static void
test_describe(void **state)
{
	struct transport	t;
	char			buf[256];

	parse_ok("vsock:2", &t);
	assert_string_equal(transport_describe(&t, 5000, buf, sizeof(buf)),
	    "vsock cid 2 port 5000");
	parse_ok("vsock", &t);
	t.offset = 100;
	assert_string_equal(transport_describe(&t, 5001, buf, sizeof(buf)),
	    "vsock cid any port 5101");
	parse_ok("unix:/d", &t);
	assert_string_equal(transport_describe(&t, 5000, buf, sizeof(buf)),
	    "unix /d/5000.sock");
	parse_ok("hybrid:/run/vm.vsock", &t);
	assert_string_equal(transport_describe(&t, 5000, buf, sizeof(buf)),
	    "hybrid /run/vm.vsock_5000");
	t.offset = UINT32_MAX;
	transport_describe(&t, 5000, buf, sizeof(buf));
	assert_non_null(strstr(buf, "5000 ("));
}

/* accept, then one byte each way between the two ends. */
static void
round_trip(int lfd, int cfd)
{
	char	c;
	int	afd;

	assert_true((afd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) != -1);
	assert_int_equal(write(cfd, "a", 1), 1);
	assert_int_equal(read(afd, &c, 1), 1);
	assert_int_equal(c, 'a');
	assert_int_equal(write(afd, "b", 1), 1);
	assert_int_equal(read(cfd, &c, 1), 1);
	assert_int_equal(c, 'b');
	close(afd);
}

static void
check_fd_flags(int fd, int want_nonblock)
{
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(!!(fcntl(fd, F_GETFL) & O_NONBLOCK), want_nonblock);
}

static void
unix_like(const char *spec, const char *sockname)
{
	struct transport	t;
	struct stat		st;
	char			path[PATH_MAX];
	mode_t			before;
	int			lfd, lfd2, cfd;

	parse_ok(spec, &t);
	snprintf(path, sizeof(path), "%s/%s", tmpdir, sockname);

	before = umask(022);
	assert_true((lfd = transport_listen(&t, 5000)) != -1);
	assert_int_equal(umask(before), 022);
	check_fd_flags(lfd, 1);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);

	assert_true((cfd = transport_connect(&t, 5000)) != -1);
	check_fd_flags(cfd, 0);
	round_trip(lfd, cfd);
	close(cfd);

	/* Somebody listens there: not stale, left alone. */
	assert_int_equal(transport_listen(&t, 5000), -1);
	assert_int_equal(errno, EADDRINUSE);

	/* The listener is gone but its file stays: stale, replaced. */
	close(lfd);
	assert_int_equal(lstat(path, &st), 0);
	assert_true((lfd2 = transport_listen(&t, 5000)) != -1);
	assert_true((cfd = transport_connect(&t, 5000)) != -1);
	round_trip(lfd2, cfd);
	close(cfd);
	close(lfd2);
	unlink(path);

	/* Nobody there. */
	assert_int_equal(transport_connect(&t, 5000), -1);
	assert_int_equal(errno, ENOENT);

	/* Not a socket: a configuration error, never removed. */
	assert_true((cfd = open(path, O_CREAT | O_WRONLY, 0600)) != -1);
	close(cfd);
	assert_int_equal(transport_listen(&t, 5000), -1);
	assert_int_equal(errno, EEXIST);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	unlink(path);
}

static void
test_unix_round_trip(void **state)
{
	char	spec[PATH_MAX];

	snprintf(spec, sizeof(spec), "unix:%s", tmpdir);
	unix_like(spec, "5000.sock");
}

static void
test_hybrid_round_trip(void **state)
{
	struct transport	t;
	char			spec[PATH_MAX];

	snprintf(spec, sizeof(spec), "hybrid:%s/vm.vsock", tmpdir);
	unix_like(spec, "vm.vsock_5000");

	/* The offset applies to the file name too. */
	parse_ok(spec, &t);
	t.offset = 7;
	snprintf(spec, sizeof(spec), "hybrid %s/vm.vsock_5007", tmpdir);
	assert_string_equal(transport_describe(&t, 5000, (char[PATH_MAX]){ 0 },
	    PATH_MAX), spec);
}

static void
cmdline(const char *line, int want_rc, uint32_t want)
{
	uint32_t	off = 12345;
	int		rc;

	errno = 0;
	rc = transport_cmdline_offset(line, &off);
	if (rc != want_rc || (rc == 0 && off != want))
		fail_msg("\"%s\": rc %d offset %u, want rc %d offset %u", line,
		    rc, off, want_rc, want);
	if (rc == -1 && errno != EOVERFLOW)
		fail_msg("\"%s\": errno %d, expected EOVERFLOW", line, errno);
}

#define OFFSET_KEY	"capsem.vsock_port_offset="

/* A kernel command line, the result and the offset it must give. */
static const struct {
	const char	*line;
	int		 rc;
	uint32_t	 off;
} cmdlines[] = {
	{ "", 0, 0 },
	{ "quiet root=/dev/vda console=ttyS0\n", 0, 0 },
	{ "quiet " OFFSET_KEY "100 root=/dev/vda", 0, 100 },
	{ OFFSET_KEY "7\n", 0, 7 },
	{ "a\t" OFFSET_KEY "0 b", 0, 0 },
	{ OFFSET_KEY "\"42\"", 0, 42 },
	{ OFFSET_KEY "1 " OFFSET_KEY "2", 0, 2 },
	{ OFFSET_KEY "99999999999999 " OFFSET_KEY "3", 0, 3 },
	/* Unparsable means 0. */
	{ OFFSET_KEY, 0, 0 },
	{ OFFSET_KEY "abc", 0, 0 },
	{ OFFSET_KEY "12abc", 0, 0 },
	{ OFFSET_KEY "-5", 0, 0 },
	{ OFFSET_KEY "5 " OFFSET_KEY "x", 0, 0 },
	{ "x" OFFSET_KEY "5", 0, 0 },
	{ "capsem.vsock_port_offset", 0, 0 },
	/* Too large to be a port offset. */
	{ OFFSET_KEY "4294967294", 0, 4294967294U },
	{ OFFSET_KEY "4294967295", -1, 0 },
	{ OFFSET_KEY "18446744073709551616", -1, 0 },
	{ OFFSET_KEY "123456789012345678901234567890", -1, 0 },
};

static void
test_cmdline(void **state)
{
	size_t	i;

	for (i = 0; i < nitems(cmdlines); i++)
		cmdline(cmdlines[i].line, cmdlines[i].rc, cmdlines[i].off);
}

/* Only where the kernel offers vsock loopback (CID 1); otherwise a note. */
static void
test_vsock(void **state)
{
	struct transport	lt, ct;
	int			lfd, cfd;

	parse_ok("vsock:any", &lt);
	parse_ok("vsock:1", &ct);
	lt.offset = ct.offset = 40000 + (getpid() % 20000);
	if ((lfd = transport_listen(&lt, 5000)) == -1) {
		print_message("vsock listen: %s; vsock round trip not run\n",
		    strerror(errno));
		return;
	}
	check_fd_flags(lfd, 1);
	/* Without it a connect to CID 1 goes to the host and times out. */
	if (access("/sys/module/vsock_loopback", F_OK) == -1) {
		print_message("no vsock_loopback module; vsock round trip "
		    "not run\n");
		close(lfd);
		return;
	}
	if ((cfd = transport_connect(&ct, 5000)) == -1) {
		print_message("vsock connect to CID 1: %s; vsock round trip "
		    "not run\n", strerror(errno));
		close(lfd);
		return;
	}
	check_fd_flags(cfd, 0);
	round_trip(lfd, cfd);
	close(cfd);
	close(lfd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_parse_lengths),
		cmocka_unit_test(test_port_offset),
		cmocka_unit_test(test_describe),
		cmocka_unit_test(test_unix_round_trip),
		cmocka_unit_test(test_hybrid_round_trip),
		cmocka_unit_test(test_cmdline),
		cmocka_unit_test(test_vsock),
	};

	return (cmocka_run_group_tests(tests, setup_dir, teardown_dir));
}
