/*
 * proto/log.c's rate limit (issue 13 item 9): a warning of one reason
 * (its format) is logged at most LOG_BURST (20) times a second; the rest
 * are counted, and the next line of that reason in a later second says
 * how many were left out.  Other reasons and info lines are not limited.
 */
#include <sys/types.h>

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"

static int64_t	 fake_now;

static int64_t
fake_clock(void)
{
	return (fake_now);
}

/* Run fn with stderr going to a file; what it wrote, NUL-terminated. */
static char *
captured(void (*fn)(void))
{
	char	 tmpl[] = "/tmp/capsem-test-log.XXXXXX", *buf;
	int	 fd, saved;
	off_t	 len;

	assert_true((fd = mkstemp(tmpl)) != -1);
	unlink(tmpl);
	saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	fn();
	dup2(saved, STDERR_FILENO);
	close(saved);
	len = lseek(fd, 0, SEEK_END);
	assert_non_null(buf = calloc(1, len + 1));
	assert_int_equal(pread(fd, buf, len, 0), len);
	close(fd);
	return (buf);
}

static int
count(const char *s, const char *what)
{
	int	 n = 0;

	while ((s = strstr(s, what)) != NULL) {
		n++;
		s += strlen(what);
	}
	return (n);
}

static void
storm(void)
{
	int	 i;

	for (i = 0; i < 50; i++)
		log_warnx("bad frame %d from the peer", i);
	for (i = 0; i < 3; i++)
		log_warnx("another reason %d", i);
	for (i = 0; i < 30; i++)
		log_info("info line %d", i);
	fake_now++;
	log_warnx("bad frame %d from the peer", 99);
}

static void
test_rate_limit(void **state)
{
	char	*out;

	log_init(1, LOG_DAEMON);
	log_procinit("test_log");
	log_setclock(fake_clock);
	out = captured(storm);
	assert_int_equal(count(out, "bad frame "), 21);
	assert_non_null(strstr(out, "bad frame 19 from"));
	assert_null(strstr(out, "bad frame 20 from"));
	assert_non_null(strstr(out, "(30 more lines like the next were not "
	    "logged)\ntest_log["));
	assert_non_null(strstr(out, "bad frame 99 from"));
	assert_int_equal(count(out, "another reason"), 3);
	assert_int_equal(count(out, "info line"), 30);
	free(out);
	log_setclock(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rate_limit),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
