/*
 * Checks the boot validation rules at their boundaries: each limit passes
 * exactly at the limit and fails one over, every blocklisted name and both
 * blocked prefixes are refused (case-sensitively), the interpreter hooks
 * added to upstream capsem's list among them, while the prompts a user
 * sets (PS1-PS3) pass, and every failure comes with a reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "validate.h"

static void
ok(int rc, const char *why)
{
	assert_int_equal(rc, 0);
}

static void
bad(int rc, const char *why)
{
	assert_int_equal(rc, -1);
	assert_non_null(why);
	assert_true(why[0] != '\0');
}

/* The call must run before why is read. */
#define OK(call)	do {						\
	int rc_;							\
	why = NULL;							\
	rc_ = (call);							\
	ok(rc_, why);							\
} while (0)
#define BAD(call)	do {						\
	int rc_;							\
	why = NULL;							\
	rc_ = (call);							\
	bad(rc_, why);							\
} while (0)

static void
test_env_key(void **state)
{
	const char	*why;
	char		 key[ENV_KEY_MAX + 2];

	memset(key, 'A', sizeof(key));
	OK(valid_env_key(key, ENV_KEY_MAX, &why));
	BAD(valid_env_key(key, ENV_KEY_MAX + 1, &why));
	BAD(valid_env_key("", 0, &why));
	BAD(valid_env_key("A=B", 3, &why));
	BAD(valid_env_key("=", 1, &why));
	BAD(valid_env_key("A\0B", 3, &why));
	OK(valid_env_key("TZ", 2, &why));
	OK(valid_env_key("PATH", 4, &why));
	OK(valid_env_key("_", 1, &why));
	assert_int_equal(valid_env_key("=", 1, NULL), -1);
}

static void
test_env_blocklist(void **state)
{
	static const char *const extra[] = {
		"LD_", "LD_ANYTHING", "LD_PRELOAD_X", "BASH_FUNC_",
		"BASH_FUNC_f%%",
	};
	/* Beyond upstream capsem's list: hooks of bash and interpreters. */
	static const char *const hooks[] = {
		"PS0", "GCONV_PATH", "PERL5OPT", "PERL5LIB", "PERLLIB",
		"PYTHONSTARTUP", "PYTHONPATH", "PYTHONHOME", "RUBYOPT",
		"RUBYLIB", "NODE_OPTIONS", "NODE_PATH", "JAVA_TOOL_OPTIONS",
		"_JAVA_OPTIONS", "JDK_JAVA_OPTIONS",
	};
	static const char *const allowed[] = {
		"ld_preload", "Ld_PRELOAD", "LD", "XLD_PRELOAD", "BASH_FUNC",
		"bash_func_f%%", "IFS2", "ifs", "PS1", "PS2", "PS3", "ENV2",
		"BASH", "BASHOPTS_", "CDPATHX", "PS00", "node_options",
		"PYTHONPATH2", "PERL5", "TZ", "PATH", "LANG",
	};
	const char	*why;
	size_t		 i, n = 0;

	for (i = 0; env_blocklist[i] != NULL; i++, n++)
		BAD(valid_env_key(env_blocklist[i],
		    strlen(env_blocklist[i]), &why));
	for (i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++)
		BAD(valid_env_key(hooks[i], strlen(hooks[i]), &why));
	assert_int_equal(n, 18 + sizeof(hooks) / sizeof(hooks[0]));
	for (i = 0; i < sizeof(extra) / sizeof(extra[0]); i++)
		BAD(valid_env_key(extra[i], strlen(extra[i]), &why));
	for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		OK(valid_env_key(allowed[i], strlen(allowed[i]), &why));
}

static void
test_env_value(void **state)
{
	const char	*why;
	char		*v;

	v = malloc(ENV_VALUE_MAX + 1);
	assert_non_null(v);
	memset(v, 'v', ENV_VALUE_MAX + 1);
	OK(valid_env_value(v, ENV_VALUE_MAX, &why));
	BAD(valid_env_value(v, ENV_VALUE_MAX + 1, &why));
	OK(valid_env_value("", 0, &why));
	OK(valid_env_value("a=b", 3, &why));
	BAD(valid_env_value("a\0b", 3, &why));
	free(v);
}

static void
test_env_count(void **state)
{
	const char	*why;

	OK(valid_env_count(0, &why));
	OK(valid_env_count(ENV_VARS_MAX, &why));
	BAD(valid_env_count(ENV_VARS_MAX + 1, &why));
	assert_int_equal(ENV_VARS_MAX, 128);
}

static void
test_boot_path(void **state)
{
	const char	*why;

	OK(valid_boot_path("/root/a.txt", 11, &why));
	OK(valid_boot_path("/root/.bashrc", 13, &why));
	OK(valid_boot_path("a", 1, &why));
	BAD(valid_boot_path("", 0, &why));
	BAD(valid_boot_path("/root/a\0b", 9, &why));
	BAD(valid_boot_path("/root/../etc/passwd", 19, &why));
	BAD(valid_boot_path("..", 2, &why));
	BAD(valid_boot_path("/root/a..b", 10, &why));
	BAD(valid_boot_path("/root/..", 8, &why));
	OK(valid_boot_path("/root/a.b.c", 11, &why));
}

static void
test_boot_files(void **state)
{
	const char	*why;

	assert_int_equal(BOOT_BYTES_MAX, 10485760);
	OK(valid_boot_files(0, 0, &why));
	OK(valid_boot_files(BOOT_FILES_MAX, BOOT_BYTES_MAX, &why));
	BAD(valid_boot_files(BOOT_FILES_MAX + 1, 0, &why));
	BAD(valid_boot_files(1, BOOT_BYTES_MAX + 1ULL, &why));
	BAD(valid_boot_files(1, UINT64_MAX, &why));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_env_key),
		cmocka_unit_test(test_env_blocklist),
		cmocka_unit_test(test_env_value),
		cmocka_unit_test(test_env_count),
		cmocka_unit_test(test_boot_path),
		cmocka_unit_test(test_boot_files),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
