/*
 * Finding child programs (proto/proc.c): next to our own binary first,
 * then in $CAPSEM_LIBEXECDIR, whose path names the program when it is
 * nowhere.
 */
#include <sys/types.h>

#include <errno.h>
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

#include "proc.h"

static char	 tmpdir[PATH_MAX];

static int
setup(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "%s/capsem-test-proc.XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(tmpdir) == NULL)
		return (-1);
	setenv("CAPSEM_LIBEXECDIR", tmpdir, 1);
	return (0);
}

static int
teardown(void **state)
{
	char	 cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	(void)system(cmd);
	return (0);
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_near_self),
		cmocka_unit_test(test_program_names_last_dir),
	};

	return (cmocka_run_group_tests(tests, setup, teardown));
}
