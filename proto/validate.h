/*
 * The boot validation rules of capsem-protocol(7) ("Boot sequence"), applied by the
 * guest to what the host sends during boot.  Each check returns 0 when the
 * input is acceptable, or -1 with *why set to a static reason string (why may
 * be NULL).  Strings are given with their length, since a wire str may hold
 * NUL bytes.
 */
#ifndef CAPSEM_VALIDATE_H
#define CAPSEM_VALIDATE_H

#include <stddef.h>
#include <stdint.h>

#define ENV_KEY_MAX		256		/* bytes */
#define ENV_VALUE_MAX		131072		/* bytes */
#define ENV_VARS_MAX		128
#define BOOT_FILES_MAX		64
#define BOOT_BYTES_MAX		(10 * 1024 * 1024)

/* NULL-terminated list of the exact names that are blocked. */
extern const char *const env_blocklist[];

int	valid_env_key(const char *, size_t, const char **);
int	valid_env_value(const char *, size_t, const char **);
/* n is the number of variables, counting the one about to be added. */
int	valid_env_count(size_t, const char **);
int	valid_boot_path(const char *, size_t, const char **);
/* nfiles and total bytes, counting the file about to be written. */
int	valid_boot_files(size_t, uint64_t, const char **);

#endif
