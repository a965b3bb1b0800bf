/*
 * The helpers of testutil.h, shared by every cmocka unit test.  They run
 * inside a cmocka test (or its setup) and fail it through cmocka; input
 * they build is fed to the production decoders as a peer would.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <msgpack.h>

#include "testutil.h"
#include "wire.h"

msgpack_sbuffer	pk_sb;
msgpack_packer	pk;

int
count_fds(void)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return (-1);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return (n - 1);	/* the directory's own descriptor */
}

FILE *
vector_open(const char *name)
{
	const char	*dir, *top;
	char		 path[PATH_MAX];
	FILE		*fp;
	int		 n;

	if ((dir = getenv("CAPSEM_VECTORS")) != NULL)
		n = snprintf(path, sizeof(path), "%s/%s", dir, name);
	else {
		/* Run by hand from the tree's top, next to shared/. */
		if ((top = getenv("CAPSEM_TOP")) == NULL)
			top = ".";
		n = snprintf(path, sizeof(path), "%s/../shared/vectors/%s",
		    top, name);
	}
	if (n < 0 || (size_t)n >= sizeof(path)) {
		print_error("vector %s: path too long\n", name);
		return (NULL);
	}
	if ((fp = fopen(path, "r")) == NULL)
		print_error("cannot open %s: %s (set CAPSEM_VECTORS)\n", path,
		    strerror(errno));
	return (fp);
}

uint8_t *
hex_bytes(const char *hex, size_t *len)
{
	uint8_t		*p;
	unsigned int	 b;
	size_t		 n;

	if (strlen(hex) % 2 != 0)
		fail_msg("odd hex string \"%s\"", hex);
	assert_non_null(p = malloc(strlen(hex) / 2 + 1));
	for (n = 0; hex[2 * n] != '\0'; n++) {
		if (sscanf(hex + 2 * n, "%2x", &b) != 1)
			fail_msg("bad hex string \"%s\"", hex);
		p[n] = b;
	}
	*len = n;
	return (p);
}

int
pk_setup(void **state)
{
	msgpack_sbuffer_init(&pk_sb);
	msgpack_packer_init(&pk, &pk_sb, msgpack_sbuffer_write);
	return (0);
}

int
pk_teardown(void **state)
{
	msgpack_sbuffer_destroy(&pk_sb);
	return (0);
}

void
pk_str(const char *s)
{
	msgpack_pack_str_with_body(&pk, s, strlen(s));
}

void
pk_hex(const char *hex)
{
	uint8_t	*p;
	size_t	 len;

	p = hex_bytes(hex, &len);
	msgpack_sbuffer_write(&pk_sb, (const char *)p, len);
	free(p);
}

void
pk_env(const char *tag, size_t n)
{
	msgpack_sbuffer_clear(&pk_sb);
	msgpack_pack_map(&pk, 2);
	pk_str("t");
	pk_str(tag);
	pk_str("d");
	msgpack_pack_map(&pk, n);
}

/* The number after a token's first character. */
static long long
token_num(const char *tok, long long min, long long max)
{
	const char	*errstr;
	long long	 v;

	v = strtonum(tok + 1, min, max, &errstr);
	if (errstr != NULL)
		fail_msg("token \"%s\": number %s", tok, errstr);
	return (v);
}

void
pk_msg(const char *tag, size_t n, const char *const *tok)
{
	if (tag != NULL)
		pk_env(tag, n);
	else
		msgpack_sbuffer_clear(&pk_sb);
	for (; *tok != NULL; tok++) {
		switch ((*tok)[0]) {
		case '{':
			msgpack_pack_map(&pk, token_num(*tok, 0, UINT32_MAX));
			break;
		case '[':
			msgpack_pack_array(&pk, token_num(*tok, 0,
			    UINT32_MAX));
			break;
		case '#':
			msgpack_pack_int64(&pk, token_num(*tok, LLONG_MIN,
			    LLONG_MAX));
			break;
		case '=':
			pk_hex(*tok + 1);
			break;
		case '~':
			msgpack_pack_nil(&pk);
			break;
		default:
			pk_str(*tok);
			break;
		}
	}
}

void
pk_decode_ok(const char *name, enum wire_dir dir, struct msg *m)
{
	struct wire_err	err;

	if (msg_decode(dir, (const uint8_t *)pk_sb.data, pk_sb.size, m,
	    &err) == -1)
		fail_msg("%s: decode: %s", name, err.msg);
}

void
pk_decode_fails(const char *name, enum wire_dir dir, enum wire_errcode code,
    const char *needle)
{
	struct msg	m;
	struct wire_err	err;

	memset(&m, 0xa5, sizeof(m));
	if (msg_decode(dir, (const uint8_t *)pk_sb.data, pk_sb.size, &m,
	    &err) != -1) {
		msg_free(&m);
		fail_msg("%s: decoded, expected %s", name, wire_errstr(code));
	}
	if (err.code != code)
		fail_msg("%s: got %s (%s), expected %s", name,
		    wire_errstr(err.code), err.msg, wire_errstr(code));
	if (err.msg[0] == '\0')
		fail_msg("%s: %s without a message", name, wire_errstr(code));
	if (needle != NULL && strstr(err.msg, needle) == NULL)
		fail_msg("%s: message \"%s\" lacks \"%s\"", name, err.msg,
		    needle);
	if (m.type != MSG_NONE)
		fail_msg("%s: refused, but the message says type %d", name,
		    m.type);
}
