/*
 * Strict MessagePack reader for untrusted input (see mpack.h).  It reads
 * only from the buffer it is given, never allocates and never trusts a
 * declared length: each one is compared with the bytes actually left before
 * anything else is done with it.  Touches nothing but its arguments.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
/* The OpenBSD strvisx(), not NetBSD's. */
#define LIBBSD_OPENBSD_VIS
#include <vis.h>

#include "mpack.h"

static const struct {
	const char	*name;
	uint64_t	 umax;
	int64_t		 smin;
	int64_t		 smax;
} itypes[] = {
	[MPACK_U8] =	{ "u8", UINT8_MAX, 0, 0 },
	[MPACK_U16] =	{ "u16", UINT16_MAX, 0, 0 },
	[MPACK_U32] =	{ "u32", UINT32_MAX, 0, 0 },
	[MPACK_U64] =	{ "u64", UINT64_MAX, 0, 0 },
	[MPACK_I32] =	{ "i32", INT32_MAX, INT32_MIN, INT32_MAX },
	[MPACK_I64] =	{ "i64", INT64_MAX, INT64_MIN, INT64_MAX },
};

void
mpack_reader_init(struct mpack_reader *r, const uint8_t *buf, size_t len,
    struct wire_err *err)
{
	r->buf = buf;
	r->len = len;
	r->off = 0;
	r->err = err;
	err->code = WERR_OK;
	err->offset = 0;
	err->msg[0] = '\0';
}

size_t
mpack_left(const struct mpack_reader *r)
{
	return (r->len - r->off);
}

int
mpack_error(struct mpack_reader *r, enum wire_errcode code, size_t off,
    const char *fmt, ...)
{
	va_list	ap;

	if (r->err->code != WERR_OK)
		return (-1);	/* keep the first, most precise error */
	r->err->code = code;
	r->err->offset = off;
	va_start(ap, fmt);
	vsnprintf(r->err->msg, sizeof(r->err->msg), fmt, ap);
	va_end(ap);
	return (-1);
}

/* Appends to dst[*n..len): a bounded, always terminated concatenation. */
static void
path_put(char *dst, size_t len, size_t *n, const char *s)
{
	size_t	 l;

	if (*n >= len)
		return;
	l = strlcpy(dst + *n, s, len - *n);
	*n = l >= len - *n ? len : *n + l;
}

static void
path_fmt(const struct wpath *p, char *dst, size_t len, size_t *n)
{
	char	 tmp[32 * 4 + 8];

	if (p == NULL)
		return;
	path_fmt(p->up, dst, len, n);
	if (p->name == NULL && p->raw == NULL) {
		(void)snprintf(tmp, sizeof(tmp), "[%zu]", p->idx);
		path_put(dst, len, n, tmp);
		return;
	}
	if (*n > 0 && *n < len && (p->name == NULL || *p->name != '\0'))
		path_put(dst, len, n, ".");
	if (p->name != NULL) {
		path_put(dst, len, n, p->name);
		return;
	}
	/* A key from the peer: at most 32 bytes of it, made safe. */
	(void)strvisx(tmp, (const char *)p->raw, p->len > 32 ? 32 : p->len,
	    VIS_SAFE | VIS_CSTYLE | VIS_OCTAL | VIS_NL | VIS_TAB);
	path_put(dst, len, n, tmp);
	if (p->len > 32)
		path_put(dst, len, n, "...");
}

void
wpath_fmt(const struct wpath *p, char *dst, size_t len)
{
	size_t	 n = 0;

	if (len == 0)
		return;
	dst[0] = '\0';
	path_fmt(p, dst, len, &n);
}

/*
 * An error about the value at path: "PATH: MESSAGE".  The path is
 * formatted here, only when there is an error to tell.
 */
int
mpack_perror(struct mpack_reader *r, enum wire_errcode code, size_t off,
    const struct wpath *path, const char *fmt, ...)
{
	char	 where[128], msg[sizeof(r->err->msg)];
	va_list	 ap;

	if (r->err->code != WERR_OK)
		return (-1);	/* keep the first, most precise error */
	wpath_fmt(path, where, sizeof(where));
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return (mpack_error(r, code, off, "%s: %s", where, msg));
}

/* A name for the type byte b, for "expected X, got Y" messages. */
static const char *
type_name(uint8_t b)
{
	if (b <= 0x7f || b >= 0xe0 || (b >= 0xcc && b <= 0xd3))
		return ("integer");
	if (b <= 0x8f || b == 0xde || b == 0xdf)
		return ("map");
	if (b <= 0x9f || b == 0xdc || b == 0xdd)
		return ("array");
	if (b <= 0xbf || (b >= 0xd9 && b <= 0xdb))
		return ("str");
	switch (b) {
	case 0xc0:
		return ("nil");
	case 0xc2:
	case 0xc3:
		return ("bool");
	case 0xc4:
	case 0xc5:
	case 0xc6:
		return ("bin");
	case 0xca:
	case 0xcb:
		return ("float");
	case 0xc1:
		return ("reserved byte 0xc1");
	default:
		return ("ext");
	}
}

static uint64_t
load_be(const uint8_t *p, size_t n)
{
	uint64_t	v = 0;

	while (n-- > 0)
		v = (v << 8) | *p++;
	return (v);
}

/* Takes the type byte; fails on end of input. */
static int
next_byte(struct mpack_reader *r, const struct wpath *what, uint8_t *b)
{
	*b = 0;
	if (r->off >= r->len)
		return (mpack_perror(r, WERR_TRUNCATED, r->off, what,
		    "input ends where a value was expected"));
	*b = r->buf[r->off++];
	return (0);
}

/* Reads an n-byte big-endian length or number following a type byte. */
static int
read_be(struct mpack_reader *r, const struct wpath *what, size_t n, uint64_t *v)
{
	if (mpack_left(r) < n)
		return (mpack_perror(r, WERR_TRUNCATED, r->off, what,
		    "input ends inside a value"));
	*v = load_be(r->buf + r->off, n);
	r->off += n;
	return (0);
}

static int
wrong_type(struct mpack_reader *r, const struct wpath *what, size_t start,
    const char *expected, uint8_t b)
{
	return (mpack_perror(r, WERR_TYPE, start, what, "expected %s, got %s",
	    expected, type_name(b)));
}

int
mpack_try_nil(struct mpack_reader *r)
{
	if (r->off < r->len && r->buf[r->off] == 0xc0) {
		r->off++;
		return (1);
	}
	return (0);
}

int
mpack_read_nil(struct mpack_reader *r, const struct wpath *what)
{
	size_t	start = r->off;
	uint8_t	b;

	if (next_byte(r, what, &b) == -1)
		return (-1);
	if (b != 0xc0)
		return (wrong_type(r, what, start, "nil", b));
	return (0);
}

int
mpack_read_bool(struct mpack_reader *r, const struct wpath *what, int *v)
{
	size_t	start = r->off;
	uint8_t	b;

	if (next_byte(r, what, &b) == -1)
		return (-1);
	if (b != 0xc2 && b != 0xc3)
		return (wrong_type(r, what, start, "bool", b));
	*v = b == 0xc3;
	return (0);
}

/*
 * Reads any integer form.  A negative value comes back in *s with *neg set,
 * a non-negative one in *u.
 */
static int
read_integer(struct mpack_reader *r, const struct wpath *what, int *neg,
    uint64_t *u, int64_t *s)
{
	size_t		start = r->off;
	uint64_t	v;
	uint8_t		b;
	size_t		n;

	if (next_byte(r, what, &b) == -1)
		return (-1);
	*neg = 0;
	if (b <= 0x7f) {
		*u = b;
		return (0);
	}
	if (b >= 0xe0) {
		*neg = 1;
		*s = (int8_t)b;
		return (0);
	}
	if (b >= 0xcc && b <= 0xcf) {
		n = (size_t)1 << (b - 0xcc);
		return (read_be(r, what, n, u));
	}
	if (b < 0xd0 || b > 0xd3)
		return (wrong_type(r, what, start, "integer", b));
	n = (size_t)1 << (b - 0xd0);
	if (read_be(r, what, n, &v) == -1)
		return (-1);
	/* Sign-extend the n-byte two's complement value. */
	if (n < 8 && (v & ((uint64_t)1 << (n * 8 - 1))))
		v |= ~(uint64_t)0 << (n * 8);
	if (v & ((uint64_t)1 << 63)) {
		*neg = 1;
		*s = (int64_t)v;
	} else
		*u = v;
	return (0);
}

int
mpack_read_uint(struct mpack_reader *r, const struct wpath *what,
    enum mpack_itype t, uint64_t *v)
{
	size_t	start = r->off;
	int64_t	s;
	int	neg;

	if (read_integer(r, what, &neg, v, &s) == -1)
		return (-1);
	if (neg)
		return (mpack_perror(r, WERR_RANGE, start, what,
		    "integer %" PRId64 " out of range for %s", s,
		    itypes[t].name));
	if (*v > itypes[t].umax)
		return (mpack_perror(r, WERR_RANGE, start, what,
		    "integer %" PRIu64 " out of range for %s", *v,
		    itypes[t].name));
	return (0);
}

int
mpack_read_int(struct mpack_reader *r, const struct wpath *what,
    enum mpack_itype t, int64_t *v)
{
	size_t		start = r->off;
	uint64_t	u;
	int		neg;

	if (read_integer(r, what, &neg, &u, v) == -1)
		return (-1);
	if (!neg) {
		if (u > (uint64_t)itypes[t].smax)
			return (mpack_perror(r, WERR_RANGE, start, what,
			    "integer %" PRIu64 " out of range for %s",
			    u, itypes[t].name));
		*v = (int64_t)u;
	} else if (*v < itypes[t].smin)
		return (mpack_perror(r, WERR_RANGE, start, what,
		    "integer %" PRId64 " out of range for %s", *v,
		    itypes[t].name));
	return (0);
}

/* Checks a declared byte length against what is left, then takes it. */
static int
take_bytes(struct mpack_reader *r, const struct wpath *what, size_t start,
    const char *kind, uint64_t n, const uint8_t **p)
{
	if (n > mpack_left(r))
		return (mpack_perror(r, WERR_LENGTH, start, what,
		    "declared %s length %" PRIu64 " exceeds the %zu bytes "
		    "left", kind, n, mpack_left(r)));
	*p = r->buf + r->off;
	r->off += n;
	return (0);
}

/* Reads a str header and body without the UTF-8 check. */
static int
str_raw(struct mpack_reader *r, const struct wpath *what, const uint8_t **p,
    size_t *len)
{
	size_t		start = r->off;
	uint64_t	n;
	uint8_t		b;

	if (next_byte(r, what, &b) == -1)
		return (-1);
	if (b >= 0xa0 && b <= 0xbf)
		n = b & 0x1f;
	else if (b >= 0xd9 && b <= 0xdb) {
		if (read_be(r, what, (size_t)1 << (b - 0xd9), &n) == -1)
			return (-1);
	} else
		return (wrong_type(r, what, start, "str", b));
	if (take_bytes(r, what, start, "str", n, p) == -1)
		return (-1);
	*len = n;
	return (0);
}

int
mpack_read_str(struct mpack_reader *r, const struct wpath *what,
    const uint8_t **p, size_t *len)
{
	size_t	start = r->off;

	if (str_raw(r, what, p, len) == -1)
		return (-1);
	if (!mpack_utf8_valid(*p, *len))
		return (mpack_perror(r, WERR_UTF8, start, what,
		    "str is not valid UTF-8"));
	return (0);
}

int
mpack_peek_bin(const struct mpack_reader *r)
{
	return (r->off < r->len && r->buf[r->off] >= 0xc4 &&
	    r->buf[r->off] <= 0xc6);
}

int
mpack_read_bin(struct mpack_reader *r, const struct wpath *what,
    const uint8_t **p, size_t *len)
{
	size_t		start = r->off;
	uint64_t	n;
	uint8_t		b;

	if (next_byte(r, what, &b) == -1)
		return (-1);
	if (b < 0xc4 || b > 0xc6)
		return (wrong_type(r, what, start, "bin", b));
	if (read_be(r, what, (size_t)1 << (b - 0xc4), &n) == -1 ||
	    take_bytes(r, what, start, "bin", n, p) == -1)
		return (-1);
	*len = n;
	return (0);
}

/*
 * Array and map headers: every element takes at least one byte, so a count
 * larger than the bytes left (twice that for a map) cannot be honest.
 */
static int
read_container(struct mpack_reader *r, const struct wpath *what, size_t *count,
    int map)
{
	const uint8_t	fix = map ? 0x80 : 0x90;
	const uint8_t	b16 = map ? 0xde : 0xdc;
	const char	*kind = map ? "map" : "array";
	size_t		start = r->off;
	uint64_t	n;
	uint8_t		b;

	if (next_byte(r, what, &b) == -1)
		return (-1);
	if (b >= fix && b <= fix + 0x0f)
		n = b & 0x0f;
	else if (b == b16 || b == b16 + 1) {
		if (read_be(r, what, b == b16 ? 2 : 4, &n) == -1)
			return (-1);
	} else
		return (wrong_type(r, what, start, kind, b));
	if (n > mpack_left(r) / (map ? 2 : 1))
		return (mpack_perror(r, WERR_LENGTH, start, what,
		    "declared %s of %" PRIu64 " %s exceeds the %zu bytes "
		    "left", kind, n, map ? "entries" : "elements",
		    mpack_left(r)));
	*count = n;
	return (0);
}

int
mpack_read_array(struct mpack_reader *r, const struct wpath *what,
    size_t *count)
{
	return (read_container(r, what, count, 0));
}

int
mpack_read_map(struct mpack_reader *r, const struct wpath *what,
    size_t *count)
{
	return (read_container(r, what, count, 1));
}

static int
skip_value(struct mpack_reader *r, const struct wpath *what, int depth,
    int maxdepth)
{
	const uint8_t	*p;
	size_t		 start = r->off, n, i, len;
	uint64_t	 v;
	int64_t		 sv;
	int		 neg;
	uint8_t		 b;

	if (r->off >= r->len)
		return (next_byte(r, what, &b));
	b = r->buf[r->off];
	if ((b >= 0xa0 && b <= 0xbf) || (b >= 0xd9 && b <= 0xdb))
		return (mpack_read_str(r, what, &p, &len));
	if (b >= 0xc4 && b <= 0xc6)
		return (mpack_read_bin(r, what, &p, &len));
	if (b <= 0x7f || b >= 0xe0 || (b >= 0xcc && b <= 0xd3)) {
		return (read_integer(r, what, &neg, &v, &sv));
	}
	if ((b >= 0x80 && b <= 0x9f) || (b >= 0xdc && b <= 0xdf)) {
		if (depth >= maxdepth)
			return (mpack_perror(r, WERR_DEPTH, start, what,
			    "nested deeper than %d levels", maxdepth));
		if (b <= 0x8f || b >= 0xde) {
			if (mpack_read_map(r, what, &n) == -1)
				return (-1);
			n *= 2;
		} else if (mpack_read_array(r, what, &n) == -1)
			return (-1);
		for (i = 0; i < n; i++)
			if (skip_value(r, what, depth + 1, maxdepth) == -1)
				return (-1);
		return (0);
	}
	r->off++;
	switch (b) {
	case 0xc0:
	case 0xc2:
	case 0xc3:
		return (0);
	case 0xca:
		return (take_bytes(r, what, start, "float", 4, &p));
	case 0xcb:
		return (take_bytes(r, what, start, "float", 8, &p));
	case 0xd4:
	case 0xd5:
	case 0xd6:
	case 0xd7:
	case 0xd8:
		return (take_bytes(r, what, start, "ext",
		    1 + ((size_t)1 << (b - 0xd4)), &p));
	case 0xc7:
	case 0xc8:
	case 0xc9:
		if (read_be(r, what, (size_t)1 << (b - 0xc7), &v) == -1)
			return (-1);
		if (v == UINT64_MAX)
			v--;
		return (take_bytes(r, what, start, "ext", v + 1, &p));
	default:
		return (mpack_perror(r, WERR_TYPE, start, what,
		    "invalid type byte 0x%02x", b));
	}
}

int
mpack_skip(struct mpack_reader *r, const struct wpath *what)
{
	return (skip_value(r, what, 0, MPACK_MAXDEPTH));
}

int
mpack_skip_depth(struct mpack_reader *r, const struct wpath *what, int maxdepth)
{
	return (skip_value(r, what, 0, maxdepth));
}

/*
 * UTF-8 as RFC 3629 defines it: the second byte's range excludes overlong
 * forms (E0, F0), UTF-16 surrogates (ED) and code points past U+10FFFF (F4).
 */
int
mpack_utf8_valid(const uint8_t *p, size_t len)
{
	size_t	i = 0, n, k;
	uint8_t	b, lo, hi;

	while (i < len) {
		b = p[i];
		if (b < 0x80) {
			i++;
			continue;
		}
		lo = 0x80;
		hi = 0xbf;
		if (b >= 0xc2 && b <= 0xdf)
			n = 1;
		else if (b >= 0xe0 && b <= 0xef) {
			n = 2;
			if (b == 0xe0)
				lo = 0xa0;
			else if (b == 0xed)
				hi = 0x9f;
		} else if (b >= 0xf0 && b <= 0xf4) {
			n = 3;
			if (b == 0xf0)
				lo = 0x90;
			else if (b == 0xf4)
				hi = 0x8f;
		} else
			return (0);
		if (len - i - 1 < n)
			return (0);
		if (p[i + 1] < lo || p[i + 1] > hi)
			return (0);
		for (k = 2; k <= n; k++)
			if (p[i + k] < 0x80 || p[i + k] > 0xbf)
				return (0);
		i += n + 1;
	}
	return (1);
}
