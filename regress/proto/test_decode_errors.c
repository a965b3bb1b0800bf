/*
 * Checks that the decoders reject each class of bad input with its own
 * error code and a message naming the field: wrong type, integer out of
 * range, invalid UTF-8, missing field, unknown tag, trailing bytes, declared
 * lengths past the input, nesting too deep, duplicate keys, oversize
 * frames.  Also checks what must be accepted (every integer form that fits,
 * keys in any order, unknown keys, bin for byte fields, nil for optional
 * fields), the ackable sets, and that nothing leaks on any error path
 * (run under valgrind).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <msgpack.h>

#include "mpack.h"
#include "wire.h"

/* A message under construction with msgpack-c, plus raw bytes. */
static msgpack_sbuffer	sb;
static msgpack_packer	pk;

static int
setup(void **state)
{
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	return (0);
}

static int
teardown(void **state)
{
	msgpack_sbuffer_destroy(&sb);
	return (0);
}

static void
S(const char *s)
{
	msgpack_pack_str_with_body(&pk, s, strlen(s));
}

static void
raw(const char *hex)
{
	unsigned int	b;

	for (; hex[0] != '\0'; hex += 2) {
		assert_int_equal(sscanf(hex, "%2x", &b), 1);
		msgpack_sbuffer_write(&sb, (const char *)&(uint8_t){ b }, 1);
	}
}

/* Starts {"t": tag, "d": {<n entries follow>}}. */
static void
env(const char *tag, size_t n)
{
	msgpack_pack_map(&pk, 2);
	S("t");
	S(tag);
	S("d");
	msgpack_pack_map(&pk, n);
}

static void
expect(enum wire_dir dir, enum wire_errcode code, const char *needle)
{
	struct msg	m;
	struct wire_err	err;

	memset(&m, 0xa5, sizeof(m));
	assert_int_equal(msg_decode(dir, (const uint8_t *)sb.data, sb.size,
	    &m, &err), -1);
	if (err.code != code)
		fail_msg("got %s (%s), expected %s", wire_errstr(err.code),
		    err.msg, wire_errstr(code));
	assert_true(err.msg[0] != '\0');
	if (needle != NULL && strstr(err.msg, needle) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err.msg, needle);
	assert_int_equal(m.type, MSG_NONE);
}

static void
expect_ok(enum wire_dir dir, struct msg *m)
{
	struct wire_err	err;

	if (msg_decode(dir, (const uint8_t *)sb.data, sb.size, m, &err) == -1)
		fail_msg("decode: %s", err.msg);
}

static void
test_wrong_type(void **state)
{
	env("resize", 2);
	S("cols");
	S("80");
	S("rows");
	msgpack_pack_uint8(&pk, 24);
	expect(WIRE_H2G, WERR_TYPE, "d.cols: expected integer, got str");
}

static void
test_wrong_type_envelope(void **state)
{
	msgpack_pack_array(&pk, 1);
	S("t");
	expect(WIRE_G2H, WERR_TYPE, "message");
}

static void
test_range(void **state)
{
	env("resize", 2);
	S("cols");
	msgpack_pack_uint32(&pk, 70000);
	S("rows");
	msgpack_pack_uint8(&pk, 24);
	expect(WIRE_H2G, WERR_RANGE,
	    "d.cols: integer 70000 out of range for u16");
}

static void
test_range_negative_unsigned(void **state)
{
	env("ack", 1);
	S("id");
	msgpack_pack_int8(&pk, -1);
	expect(WIRE_G2H, WERR_RANGE, "d.id: integer -1 out of range for u64");
}

static void
test_range_i32(void **state)
{
	env("execdone", 2);
	S("id");
	msgpack_pack_uint8(&pk, 1);
	S("exit_code");
	msgpack_pack_uint32(&pk, 2147483648U);
	expect(WIRE_G2H, WERR_RANGE, "d.exit_code");
}

static void
test_range_i32_low(void **state)
{
	env("execdone", 2);
	S("id");
	msgpack_pack_uint8(&pk, 1);
	S("exit_code");
	msgpack_pack_int64(&pk, (int64_t)INT32_MIN - 1);
	expect(WIRE_G2H, WERR_RANGE, "d.exit_code");
}

static void
test_range_byte(void **state)
{
	env("filecontent", 3);
	S("id");
	msgpack_pack_uint8(&pk, 1);
	S("path");
	S("/root/a");
	S("data");
	msgpack_pack_array(&pk, 2);
	msgpack_pack_uint8(&pk, 1);
	msgpack_pack_uint16(&pk, 256);
	expect(WIRE_G2H, WERR_RANGE, "d.data");
}

/* Every integer form whose value fits is accepted. */
static void
test_int_forms(void **state)
{
	static const char *cols[] = {	/* all 80 */
		"50", "cc50", "cd0050", "ce00000050", "cf0000000000000050",
		"d050", "d10050", "d200000050", "d30000000000000050",
	};
	struct msg	m;
	size_t		i;

	for (i = 0; i < sizeof(cols) / sizeof(cols[0]); i++) {
		msgpack_sbuffer_clear(&sb);
		env("resize", 2);
		S("cols");
		raw(cols[i]);
		S("rows");
		/* -1 is out of range: proves the cols form was read. */
		raw("d1ffff");
		expect(WIRE_H2G, WERR_RANGE, "d.rows: integer -1");
		msgpack_sbuffer_clear(&sb);
		env("resize", 2);
		S("cols");
		raw(cols[i]);
		S("rows");
		raw("cdffff");
		expect_ok(WIRE_H2G, &m);
		assert_int_equal(m.u.resize.cols, 80);
		assert_int_equal(m.u.resize.rows, 65535);
		msg_free(&m);
	}
	msgpack_sbuffer_clear(&sb);
	env("execdone", 2);
	S("id");
	raw("cfffffffffffffffff");
	S("exit_code");
	raw("d280000000");
	expect_ok(WIRE_G2H, &m);
	assert_true(m.u.execdone.id == UINT64_MAX);
	assert_int_equal(m.u.execdone.exit_code, INT32_MIN);
	msg_free(&m);
}

static void
utf8_case(const char *hex, int ok)
{
	struct msg	m;

	msgpack_sbuffer_clear(&sb);
	env("ready", 1);
	S("version");
	msgpack_pack_str(&pk, strlen(hex) / 2);
	raw(hex);
	if (ok) {
		expect_ok(WIRE_G2H, &m);
		msg_free(&m);
	} else
		expect(WIRE_G2H, WERR_UTF8, "d.version");
}

static void
test_utf8(void **state)
{
	utf8_case("c080", 0);		/* overlong NUL */
	utf8_case("e08080", 0);		/* overlong 3-byte */
	utf8_case("f0808080", 0);	/* overlong 4-byte */
	utf8_case("eda080", 0);		/* surrogate D800 */
	utf8_case("edbfbf", 0);		/* surrogate DFFF */
	utf8_case("f4908080", 0);	/* U+110000 */
	utf8_case("f5808080", 0);
	utf8_case("ff", 0);
	utf8_case("80", 0);		/* lone continuation */
	utf8_case("e282", 0);		/* truncated sequence */
	utf8_case("c3", 0);
	utf8_case("61c328", 0);		/* bad continuation */
	utf8_case("c3a9", 1);		/* é */
	utf8_case("e282ac", 1);		/* € */
	utf8_case("ed9fbf", 1);		/* U+D7FF */
	utf8_case("f09f9880", 1);	/* U+1F600 */
	utf8_case("f48fbfbf", 1);	/* U+10FFFF */
	utf8_case("00", 1);		/* NUL is valid UTF-8 */
}

static void
test_missing_field(void **state)
{
	env("resize", 1);
	S("cols");
	msgpack_pack_uint8(&pk, 80);
	expect(WIRE_H2G, WERR_MISSING, "d.rows: required field missing");
}

static void
test_missing_t(void **state)
{
	msgpack_pack_map(&pk, 1);
	S("d");
	msgpack_pack_map(&pk, 0);
	expect(WIRE_H2G, WERR_MISSING, "t:");
}

static void
test_missing_d(void **state)
{
	msgpack_pack_map(&pk, 1);
	S("t");
	S("resize");
	expect(WIRE_H2G, WERR_MISSING, "d:");
}

static void
test_unknown_tag(void **state)
{
	msgpack_pack_map(&pk, 1);
	S("t");
	S("bogus\n");
	expect(WIRE_H2G, WERR_UNKNOWN_TAG, "bogus\\n");
}

/* A tag of the other direction is unknown too. */
static void
test_unknown_tag_direction(void **state)
{
	msgpack_pack_map(&pk, 1);
	S("t");
	S("pong");
	expect(WIRE_H2G, WERR_UNKNOWN_TAG, "pong");
	expect(WIRE_AUDIT, WERR_UNKNOWN_TAG, "pong");
}

static void
test_trailing(void **state)
{
	msgpack_pack_map(&pk, 1);
	S("t");
	S("pong");
	raw("c0");
	expect(WIRE_G2H, WERR_TRAILING, "trailing");
}

static void
test_truncated(void **state)
{
	env("resize", 2);
	S("cols");
	raw("cd00");
	expect(WIRE_H2G, WERR_TRUNCATED, "d.cols");
}

static void
test_length_str(void **state)
{
	env("ready", 1);
	S("version");
	raw("d9c8616263");	/* str8 of 200, 3 bytes follow */
	expect(WIRE_G2H, WERR_LENGTH, "d.version: declared str length 200");
}

static void
test_length_str32(void **state)
{
	env("ready", 1);
	S("version");
	raw("dbffffffff61");
	expect(WIRE_G2H, WERR_LENGTH, "d.version");
}

static void
test_length_array(void **state)
{
	env("filecontent", 3);
	S("id");
	msgpack_pack_uint8(&pk, 1);
	S("path");
	S("/x");
	S("data");
	raw("ddffffffff0102");
	expect(WIRE_G2H, WERR_LENGTH, "d.data: declared array");
}

static void
test_length_bin(void **state)
{
	env("filecontent", 3);
	S("id");
	msgpack_pack_uint8(&pk, 1);
	S("path");
	S("/x");
	S("data");
	raw("c6ffffffff0102");
	expect(WIRE_G2H, WERR_LENGTH, "d.data: declared bin length");
}

static void
test_length_map(void **state)
{
	raw("df7fffffff");
	S("t");
	S("pong");
	expect(WIRE_G2H, WERR_LENGTH, "message: declared map");
}

/* Within d, an unknown key's value declares a huge map. */
static void
test_length_skipped(void **state)
{
	env("ack", 2);
	S("id");
	msgpack_pack_uint8(&pk, 1);
	S("extra");
	raw("de7fff");
	expect(WIRE_G2H, WERR_LENGTH, "d.extra");
}

static void
nest(int depth)
{
	int	i;

	msgpack_sbuffer_clear(&sb);
	env("ack", 2);
	S("id");
	msgpack_pack_uint8(&pk, 1);
	S("extra");
	for (i = 0; i < depth; i++)
		msgpack_pack_array(&pk, 1);
	msgpack_pack_nil(&pk);
}

static void
test_depth(void **state)
{
	struct msg	m;

	nest(MPACK_MAXDEPTH);
	expect_ok(WIRE_G2H, &m);
	assert_int_equal(m.u.ack.id, 1);
	msg_free(&m);
	nest(MPACK_MAXDEPTH + 1);
	expect(WIRE_G2H, WERR_DEPTH, "d.extra: nested deeper");
	nest(100000);
	expect(WIRE_G2H, WERR_DEPTH, "d.extra");
}

static void
test_duplicate(void **state)
{
	env("resize", 3);
	S("cols");
	msgpack_pack_uint8(&pk, 80);
	S("rows");
	msgpack_pack_uint8(&pk, 24);
	S("cols");
	msgpack_pack_uint8(&pk, 81);
	expect(WIRE_H2G, WERR_DUPLICATE, "d.cols: key given twice");
}

static void
test_duplicate_t(void **state)
{
	msgpack_pack_map(&pk, 2);
	S("t");
	S("pong");
	S("t");
	S("pong");
	expect(WIRE_G2H, WERR_DUPLICATE, "t:");
}

/* Errors after strings and arrays were allocated leave nothing behind. */
static void
test_error_after_alloc(void **state)
{
	env("filewrite", 4);
	S("id");
	msgpack_pack_uint8(&pk, 1);
	S("path");
	S("/root/a");
	S("data");
	msgpack_pack_bin_with_body(&pk, "abc", 3);
	S("mode");
	msgpack_pack_int8(&pk, -5);
	expect(WIRE_H2G, WERR_RANGE, "d.mode");

	msgpack_sbuffer_clear(&sb);
	env("boottiming", 1);
	S("stages");
	msgpack_pack_array(&pk, 2);
	msgpack_pack_map(&pk, 2);
	S("name");
	S("a");
	S("duration_ms");
	msgpack_pack_uint8(&pk, 1);
	msgpack_pack_map(&pk, 2);
	S("name");
	S("b");
	S("duration_ms");
	S("x");
	expect(WIRE_G2H, WERR_TYPE, "d.stages[1].duration_ms");

	msgpack_sbuffer_clear(&sb);
	env("bootconfig", 2);
	S("caps");
	msgpack_pack_array(&pk, 2);
	S("shellexited");
	msgpack_pack_uint8(&pk, 1);
	S("epoch_secs");
	msgpack_pack_uint8(&pk, 0);
	expect(WIRE_H2G, WERR_TYPE, "d.caps[1]");
}

static void
test_oversize_decode(void **state)
{
	struct msg	m;
	struct wire_err	err;
	uint8_t		*big;

	big = calloc(1, FRAME_MAX + 1);
	assert_non_null(big);
	assert_int_equal(msg_decode(WIRE_G2H, big, FRAME_MAX + 1, &m, &err),
	    -1);
	assert_int_equal(err.code, WERR_TOOBIG);
	assert_true(err.msg[0] != '\0');
	free(big);
}

/* A body of exactly FRAME_MAX encodes; one more byte is refused. */
static void
test_oversize_encode(void **state)
{
	struct msg	m;
	struct wbuf	wb;
	struct wire_err	err;
	size_t		overhead, oldlen;

	wbuf_init(&wb);
	memset(&m, 0, sizeof(m));
	m.type = MSG_FILEWRITE;
	m.u.filewrite.path.s = "/root/big";
	m.u.filewrite.path.len = 9;
	assert_int_equal(msg_encode(&m, &wb, &err), 0);
	/* The empty array header (1 byte) becomes an array32 (5 bytes). */
	overhead = wb.len - FRAME_HDRLEN - 1 + 5;
	m.u.filewrite.data.len = FRAME_MAX - overhead;
	m.u.filewrite.data.p = calloc(1, FRAME_MAX);
	assert_non_null(m.u.filewrite.data.p);
	wbuf_reset(&wb);
	assert_int_equal(msg_encode(&m, &wb, &err), 0);
	assert_int_equal(wb.len, FRAME_HDRLEN + FRAME_MAX);
	assert_int_equal(wb.data[1], 0x20);	/* 0x00200000 */
	oldlen = wb.len;
	m.u.filewrite.data.len++;
	assert_int_equal(msg_encode(&m, &wb, &err), -1);
	assert_int_equal(err.code, WERR_TOOBIG);
	assert_true(err.msg[0] != '\0');
	assert_int_equal(wb.len, oldlen);
	free(m.u.filewrite.data.p);
	wbuf_free(&wb);
}

static void
test_encode_bad_argument(void **state)
{
	struct msg	m;
	struct wbuf	wb;
	struct wire_err	err;

	wbuf_init(&wb);
	memset(&m, 0, sizeof(m));
	m.type = MSG_READY;
	assert_int_equal(msg_encode(&m, &wb, &err), -1);
	assert_int_equal(err.code, WERR_MISSING);
	assert_int_equal(wb.len, 0);
	m.u.ready.version.s = "\xc0\x80";
	m.u.ready.version.len = 2;
	assert_int_equal(msg_encode(&m, &wb, &err), -1);
	assert_int_equal(err.code, WERR_UTF8);
	m.type = MSG_NTYPES;
	assert_int_equal(msg_encode(&m, &wb, &err), -1);
	assert_int_equal(wb.len, 0);
	wbuf_free(&wb);
}

/* d before t, unknown keys, bin data, nil optionals. */
static void
test_accept_lenient(void **state)
{
	struct msg	m;

	msgpack_pack_map(&pk, 3);
	S("d");
	msgpack_pack_map(&pk, 5);
	S("unknown");
	msgpack_pack_map(&pk, 1);
	S("x");
	msgpack_pack_array(&pk, 2);
	msgpack_pack_double(&pk, 1.5);
	raw("d7010000000000000000");	/* fixext8 */
	S("data");
	msgpack_pack_bin_with_body(&pk, "hi", 2);
	S("mode");
	msgpack_pack_uint16(&pk, 0644);
	S("path");
	S("/root/a");
	S("id");
	msgpack_pack_uint8(&pk, 3);
	S("x-outer");
	msgpack_pack_true(&pk);
	S("t");
	S("filewrite");
	expect_ok(WIRE_H2G, &m);
	assert_int_equal(m.type, MSG_FILEWRITE);
	assert_int_equal(m.u.filewrite.id, 3);
	assert_string_equal(m.u.filewrite.path.s, "/root/a");
	assert_int_equal(m.u.filewrite.data.len, 2);
	assert_memory_equal(m.u.filewrite.data.p, "hi", 2);
	assert_int_equal(m.u.filewrite.mode, 0644);
	msg_free(&m);

	msgpack_sbuffer_clear(&sb);
	env("bootconfig", 3);
	S("epoch_secs");
	msgpack_pack_uint8(&pk, 5);
	S("traceparent");
	msgpack_pack_nil(&pk);
	S("caps");
	msgpack_pack_array(&pk, 2);
	S("shellexited");
	S("other");
	expect_ok(WIRE_H2G, &m);
	assert_null(m.u.bootconfig.traceparent.s);
	assert_int_equal(m.u.bootconfig.has_caps, 1);
	assert_int_equal(m.u.bootconfig.ncaps, 2);
	assert_string_equal(m.u.bootconfig.caps[0].s, CAP_SHELLEXITED);
	msg_free(&m);

	msgpack_sbuffer_clear(&sb);
	env("shellexited", 2);
	S("signal");
	msgpack_pack_uint8(&pk, 9);
	S("exit_code");
	msgpack_pack_uint8(&pk, 137);
	expect_ok(WIRE_G2H, &m);
	assert_int_equal(m.u.shellexited.has_signal, 1);
	assert_int_equal(m.u.shellexited.signal, 9);
	assert_int_equal(m.u.shellexited.exit_code, 137);
	msg_free(&m);

	/* A field-less message with an empty d. */
	msgpack_sbuffer_clear(&sb);
	env("pong", 0);
	expect_ok(WIRE_G2H, &m);
	assert_int_equal(m.type, MSG_PONG);
	msg_free(&m);
}

/*
 * caps only when has_caps, traceparent "" (never nil: a String upstream)
 * when NULL, signal as given.
 */
static void
test_encode_optional(void **state)
{
	static const uint8_t	bc[] = {
		0x82, 0xa1, 't', 0xaa, 'b', 'o', 'o', 't', 'c', 'o', 'n', 'f',
		'i', 'g', 0xa1, 'd', 0x83, 0xaa, 'e', 'p', 'o', 'c', 'h', '_',
		's', 'e', 'c', 's', 0x00, 0xab, 't', 'r', 'a', 'c', 'e', 'p',
		'a', 'r', 'e', 'n', 't', 0xa0, 0xa4, 'c', 'a', 'p', 's', 0x91,
		0xab, 's', 'h', 'e', 'l', 'l', 'e', 'x', 'i', 't', 'e', 'd',
	};
	struct wire_str	cap = { CAP_SHELLEXITED, 11 };
	struct msg	m, d;
	struct wbuf	wb;
	struct wire_err	err;

	wbuf_init(&wb);
	memset(&m, 0, sizeof(m));
	m.type = MSG_BOOTCONFIG;
	m.u.bootconfig.caps = &cap;
	m.u.bootconfig.ncaps = 1;
	m.u.bootconfig.has_caps = 1;
	assert_int_equal(msg_encode(&m, &wb, &err), 0);
	assert_int_equal(wb.len, 4 + sizeof(bc));
	assert_memory_equal(wb.data + 4, bc, sizeof(bc));
	assert_int_equal(msg_decode(WIRE_H2G, wb.data + 4, wb.len - 4, &d,
	    &err), 0);
	assert_int_equal(d.u.bootconfig.ncaps, 1);
	assert_non_null(d.u.bootconfig.traceparent.s);
	assert_int_equal(d.u.bootconfig.traceparent.len, 0);
	msg_free(&d);

	memset(&m, 0, sizeof(m));
	m.type = MSG_SHELLEXITED;
	m.u.shellexited.exit_code = 130;
	m.u.shellexited.signal = 2;
	m.u.shellexited.has_signal = 1;
	wbuf_reset(&wb);
	assert_int_equal(msg_encode(&m, &wb, &err), 0);
	assert_int_equal(wb.data[wb.len - 1], 2);
	assert_int_equal(msg_decode(WIRE_G2H, wb.data + 4, wb.len - 4, &d,
	    &err), 0);
	assert_int_equal(d.u.shellexited.exit_code, 130);
	assert_int_equal(d.u.shellexited.has_signal, 1);
	msg_free(&d);
	wbuf_free(&wb);
}

static void
test_audit_errors(void **state)
{
	struct audit_record	ar;
	struct wire_err		err;

	msgpack_pack_map(&pk, 1);
	S("pid");
	msgpack_pack_uint8(&pk, 1);
	assert_int_equal(audit_record_decode((const uint8_t *)sb.data,
	    sb.size, &ar, &err), -1);
	assert_int_equal(err.code, WERR_MISSING);
	assert_non_null(strstr(err.msg, "timestamp_us"));

	msgpack_sbuffer_clear(&sb);
	msgpack_pack_map(&pk, 2);
	S("exe");
	S("/bin/sh");
	S("uid");
	msgpack_pack_int64(&pk, 1LL << 32);
	assert_int_equal(audit_record_decode((const uint8_t *)sb.data,
	    sb.size, &ar, &err), -1);
	assert_int_equal(err.code, WERR_RANGE);
	assert_string_equal(err.msg,
	    "uid: integer 4294967296 out of range for u32");
}

static void
test_ackable(void **state)
{
	static const enum msg_type	ackable[] = {
		MSG_EXEC, MSG_FILEWRITE, MSG_FILEREAD, MSG_FILEDELETE,
		MSG_EXECDONE, MSG_FILECONTENT, MSG_FILEOPDONE, MSG_ERROR,
		MSG_SHELLEXITED,
	};
	size_t	i, n = 0;
	int	t;

	for (i = 0; i < sizeof(ackable) / sizeof(ackable[0]); i++)
		assert_true(msg_is_ackable(ackable[i]));
	for (t = MSG_NONE; t <= MSG_NTYPES; t++)
		n += msg_is_ackable(t);
	assert_int_equal(n, sizeof(ackable) / sizeof(ackable[0]));
	assert_int_equal(msg_type_dir(MSG_SHELLEXITED), WIRE_G2H);
	assert_int_equal(msg_type_dir(MSG_EXEC), WIRE_H2G);
	assert_int_equal(msg_type_from_name(WIRE_G2H, "ack", 3), MSG_ACK);
	assert_int_equal(msg_type_from_name(WIRE_H2G, "ack", 3), MSG_NONE);
	assert_string_equal(msg_type_name(MSG_ACKREPLY), "ackreply");
	for (t = WERR_OK; t < WERR_NCODES; t++)
		assert_true(wire_errstr(t)[0] != '\0');
}

#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_wrong_type),
		T(test_wrong_type_envelope),
		T(test_range),
		T(test_range_negative_unsigned),
		T(test_range_i32),
		T(test_range_i32_low),
		T(test_range_byte),
		T(test_int_forms),
		T(test_utf8),
		T(test_missing_field),
		T(test_missing_t),
		T(test_missing_d),
		T(test_unknown_tag),
		T(test_unknown_tag_direction),
		T(test_trailing),
		T(test_truncated),
		T(test_length_str),
		T(test_length_str32),
		T(test_length_array),
		T(test_length_bin),
		T(test_length_map),
		T(test_length_skipped),
		T(test_depth),
		T(test_duplicate),
		T(test_duplicate_t),
		T(test_error_after_alloc),
		T(test_oversize_decode),
		T(test_oversize_encode),
		T(test_encode_bad_argument),
		T(test_accept_lenient),
		T(test_encode_optional),
		T(test_audit_errors),
		T(test_ackable),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
