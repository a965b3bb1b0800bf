/*
 * Boot validation rules (capsem-protocol(7); see validate.h).  Input comes from the
 * host during boot: each rule bounds what the guest will put into the
 * shell's environment or onto its disk.  Pure functions, no side effects.
 */
#include <string.h>

#include "validate.h"

/*
 * What the blocklist guarantees: no variable set by the host at boot makes
 * the dynamic loader, bash (or sh in POSIX mode), or the perl, python,
 * ruby, node and java runtimes load or run code of the host's choosing
 * behind the user's back: when a program starts (preloads, module paths,
 * option variables that take -M/-r/--require/-javaagent, python's
 * interactive start-up file), when a shell starts (BASH_ENV, ENV,
 * exported functions) or around every command (PS0, PROMPT_COMMAND, PS4
 * under xtrace).
 *
 * What it does not: the environment is not made harmless.  PATH, HOME and
 * the variables of other programs (editors, pagers, git, ...) stay the
 * host's to set, and the host can write files at boot anyway, so this is
 * no boundary against a hostile host.  It stops the side doors a host's
 * configuration (or a user's local environment passed through) could open
 * by accident in every process of the guest.  PS1-PS3 stay allowed: the
 * prompt is what users legitimately set, even though a prompt may hold a
 * command substitution too.  A user can still export any of these inside
 * the session; only the boot channel is refused.
 *
 * The first 18 names and both prefixes are upstream capsem's list
 * (PROTOCOL.md); PS0 and the rest after PS4 are this agent's additions.
 */
const char *const env_blocklist[] = {
	"LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "LD_BIND_NOT",
	"LD_DEBUG", "LD_DYNAMIC_WEAK", "LD_PROFILE", "LD_SHOW_AUXV",
	"LD_USE_LOAD_BIAS", "IFS", "BASH_ENV", "ENV", "CDPATH", "GLOBIGNORE",
	"SHELLOPTS", "BASHOPTS", "PROMPT_COMMAND", "PS4",
	"PS0",				/* bash: expanded before each command */
	"GCONV_PATH",			/* glibc: iconv modules are loaded */
	"PERL5OPT", "PERL5LIB", "PERLLIB",
	"PYTHONSTARTUP", "PYTHONPATH", "PYTHONHOME",
	"RUBYOPT", "RUBYLIB",
	"NODE_OPTIONS", "NODE_PATH",
	"JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS",
	NULL
};

/* Prefixes under which every name is blocked (case-sensitive). */
static const char *const env_blockprefix[] = {
	"LD_", "BASH_FUNC_",
	NULL
};

static int
reject(const char **why, const char *reason)
{
	if (why != NULL)
		*why = reason;
	return (-1);
}

int
valid_env_key(const char *key, size_t len, const char **why)
{
	size_t	i, n;

	if (len == 0)
		return (reject(why, "empty key"));
	if (len > ENV_KEY_MAX)
		return (reject(why, "key longer than 256 bytes"));
	if (memchr(key, '\0', len) != NULL)
		return (reject(why, "key contains NUL"));
	if (memchr(key, '=', len) != NULL)
		return (reject(why, "key contains '='"));
	for (i = 0; env_blocklist[i] != NULL; i++)
		if (strlen(env_blocklist[i]) == len &&
		    memcmp(env_blocklist[i], key, len) == 0)
			return (reject(why, "key is blocked"));
	for (i = 0; env_blockprefix[i] != NULL; i++) {
		n = strlen(env_blockprefix[i]);
		if (len >= n && memcmp(env_blockprefix[i], key, n) == 0)
			return (reject(why, "key has a blocked prefix"));
	}
	return (0);
}

int
valid_env_value(const char *value, size_t len, const char **why)
{
	if (len > ENV_VALUE_MAX)
		return (reject(why, "value longer than 131072 bytes"));
	if (memchr(value, '\0', len) != NULL)
		return (reject(why, "value contains NUL"));
	return (0);
}

int
valid_env_count(size_t n, const char **why)
{
	if (n > ENV_VARS_MAX)
		return (reject(why, "more than 128 variables"));
	return (0);
}

int
valid_boot_path(const char *path, size_t len, const char **why)
{
	if (len == 0)
		return (reject(why, "empty path"));
	if (memchr(path, '\0', len) != NULL)
		return (reject(why, "path contains NUL"));
	if (memmem(path, len, "..", 2) != NULL)
		return (reject(why, "path contains '..'"));
	return (0);
}

int
valid_boot_files(size_t nfiles, uint64_t total, const char **why)
{
	if (nfiles > BOOT_FILES_MAX)
		return (reject(why, "more than 64 boot files"));
	if (total > BOOT_BYTES_MAX)
		return (reject(why, "boot files larger than 10 MiB in total"));
	return (0);
}
