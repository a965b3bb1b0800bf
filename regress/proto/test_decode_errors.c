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
#include "testutil.h"
#include "wire.h"

/*
 * A message the decoder of dir must refuse, as tokens (pk_msg() in
 * testutil.h) after {"t": tag, "d": {n entries}} or, with tag NULL, the
 * whole message; then the error code and a piece of the error message
 * naming the field.
 */
struct refusal {
	const char		*name;
	enum wire_dir		 dir;
	const char		*tag;
	size_t			 n;
	const char		*tok[16];
	enum wire_errcode	 code;
	const char		*needle;
};

static const struct refusal refusals[] = {
	{ "wrong_type", WIRE_H2G, "resize", 2,
	    { "cols", "80", "rows", "#24" },
	    WERR_TYPE, "d.cols: expected integer, got str" },
	{ "wrong_type_envelope", WIRE_G2H, NULL, 0, { "[1", "t" },
	    WERR_TYPE, "message" },
	{ "range", WIRE_H2G, "resize", 2,
	    { "cols", "#70000", "rows", "#24" },
	    WERR_RANGE, "d.cols: integer 70000 out of range for u16" },
	{ "range_negative_unsigned", WIRE_G2H, "ack", 1, { "id", "#-1" },
	    WERR_RANGE, "d.id: integer -1 out of range for u64" },
	{ "range_i32", WIRE_G2H, "execdone", 2,
	    { "id", "#1", "exit_code", "#2147483648" },
	    WERR_RANGE, "d.exit_code" },
	{ "range_i32_low", WIRE_G2H, "execdone", 2,
	    { "id", "#1", "exit_code", "#-2147483649" },
	    WERR_RANGE, "d.exit_code" },
	{ "range_byte", WIRE_G2H, "filecontent", 3,
	    { "id", "#1", "path", "/root/a", "data", "[2", "#1", "#256" },
	    WERR_RANGE, "d.data" },
	{ "missing_field", WIRE_H2G, "resize", 1, { "cols", "#80" },
	    WERR_MISSING, "d.rows: required field missing" },
	{ "missing_t", WIRE_H2G, NULL, 0, { "{1", "d", "{0" },
	    WERR_MISSING, "t:" },
	{ "missing_d", WIRE_H2G, NULL, 0, { "{1", "t", "resize" },
	    WERR_MISSING, "d:" },
	{ "unknown_tag", WIRE_H2G, NULL, 0, { "{1", "t", "bogus\n" },
	    WERR_UNKNOWN_TAG, "bogus\\n" },
	/* A tag of the other direction is unknown too. */
	{ "unknown_tag_direction", WIRE_H2G, NULL, 0, { "{1", "t", "pong" },
	    WERR_UNKNOWN_TAG, "pong" },
	{ "unknown_tag_direction_audit", WIRE_AUDIT, NULL, 0,
	    { "{1", "t", "pong" },
	    WERR_UNKNOWN_TAG, "pong" },
	{ "trailing", WIRE_G2H, NULL, 0, { "{1", "t", "pong", "=c0" },
	    WERR_TRAILING, "trailing" },
	{ "truncated", WIRE_H2G, "resize", 2, { "cols", "=cd00" },
	    WERR_TRUNCATED, "d.cols" },
	/* str8 of 200, 3 bytes follow. */
	{ "length_str", WIRE_G2H, "ready", 1, { "version", "=d9c8616263" },
	    WERR_LENGTH, "d.version: declared str length 200" },
	{ "length_str32", WIRE_G2H, "ready", 1, { "version", "=dbffffffff61" },
	    WERR_LENGTH, "d.version" },
	{ "length_array", WIRE_G2H, "filecontent", 3,
	    { "id", "#1", "path", "/x", "data", "=ddffffffff0102" },
	    WERR_LENGTH, "d.data: declared array" },
	{ "length_bin", WIRE_G2H, "filecontent", 3,
	    { "id", "#1", "path", "/x", "data", "=c6ffffffff0102" },
	    WERR_LENGTH, "d.data: declared bin length" },
	{ "length_map", WIRE_G2H, NULL, 0, { "=df7fffffff", "t", "pong" },
	    WERR_LENGTH, "message: declared map" },
	/* Within d, an unknown key's value declares a huge map. */
	{ "length_skipped", WIRE_G2H, "ack", 2,
	    { "id", "#1", "extra", "=de7fff" },
	    WERR_LENGTH, "d.extra" },
	{ "duplicate", WIRE_H2G, "resize", 3,
	    { "cols", "#80", "rows", "#24", "cols", "#81" },
	    WERR_DUPLICATE, "d.cols: key given twice" },
	{ "duplicate_t", WIRE_G2H, NULL, 0, { "{2", "t", "pong", "t", "pong" },
	    WERR_DUPLICATE, "t:" },
	/* Errors after strings and arrays were allocated leave nothing. */
	{ "error_after_alloc_filewrite", WIRE_H2G, "filewrite", 4,
	    { "id", "#1", "path", "/root/a", "data", "=c403616263",
	    "mode", "#-5" },
	    WERR_RANGE, "d.mode" },
	{ "error_after_alloc_boottiming", WIRE_G2H, "boottiming", 1,
	    { "stages", "[2", "{2", "name", "a", "duration_ms", "#1",
	    "{2", "name", "b", "duration_ms", "x" },
	    WERR_TYPE, "d.stages[1].duration_ms" },
	{ "error_after_alloc_bootconfig", WIRE_H2G, "bootconfig", 2,
	    { "caps", "[2", "shellexited", "#1", "epoch_secs", "#0" },
	    WERR_TYPE, "d.caps[1]" },
};

/* One row of refusals[], a test of its own (named after the row). */
static void
test_refused(void **state)
{
	const struct refusal	*r = *state;

	pk_msg(r->tag, r->n, r->tok);
	pk_decode_fails(r->name, r->dir, r->code, r->needle);
}

/* Every integer form whose value fits is accepted. */
static void
test_int_forms(void **state)
{
	static const char *cols[] = {	/* all 80 */
		"=50", "=cc50", "=cd0050", "=ce00000050", "=cf0000000000000050",
		"=d050", "=d10050", "=d200000050", "=d30000000000000050",
	};
	struct msg	m;
	size_t		i;

	for (i = 0; i < nitems(cols); i++) {
		/* -1 is out of range: proves the cols form was read. */
		pk_msg("resize", 2, (const char *[]){ "cols", cols[i],
		    "rows", "=d1ffff", NULL });
		pk_decode_fails(cols[i], WIRE_H2G, WERR_RANGE,
		    "d.rows: integer -1");
		pk_msg("resize", 2, (const char *[]){ "cols", cols[i],
		    "rows", "=cdffff", NULL });
		pk_decode_ok(cols[i], WIRE_H2G, &m);
		if (m.u.resize.cols != 80 || m.u.resize.rows != 65535)
			fail_msg("%s: cols %u rows %u, expected 80 65535",
			    cols[i], m.u.resize.cols, m.u.resize.rows);
		msg_free(&m);
	}
	pk_msg("execdone", 2, (const char *[]){ "id", "=cfffffffffffffffff",
	    "exit_code", "=d280000000", NULL });
	pk_decode_ok("execdone u64 and i32 extremes", WIRE_G2H, &m);
	assert_true(m.u.execdone.id == UINT64_MAX);
	assert_int_equal(m.u.execdone.exit_code, INT32_MIN);
	msg_free(&m);
}

/* The bytes after a str header of their length, and whether they are UTF-8. */
static const struct {
	const char	*hex;
	int		 ok;
} utf8_cases[] = {
	{ "c080", 0 },		/* overlong NUL */
	{ "e08080", 0 },	/* overlong 3-byte */
	{ "f0808080", 0 },	/* overlong 4-byte */
	{ "eda080", 0 },	/* surrogate D800 */
	{ "edbfbf", 0 },	/* surrogate DFFF */
	{ "f4908080", 0 },	/* U+110000 */
	{ "f5808080", 0 },
	{ "ff", 0 },
	{ "80", 0 },		/* lone continuation */
	{ "e282", 0 },		/* truncated sequence */
	{ "c3", 0 },
	{ "61c328", 0 },	/* bad continuation */
	{ "c3a9", 1 },		/* é */
	{ "e282ac", 1 },	/* € */
	{ "ed9fbf", 1 },	/* U+D7FF */
	{ "f09f9880", 1 },	/* U+1F600 */
	{ "f48fbfbf", 1 },	/* U+10FFFF */
	{ "00", 1 },		/* NUL is valid UTF-8 */
};

static void
test_utf8(void **state)
{
	struct msg	m;
	size_t		i;

	for (i = 0; i < nitems(utf8_cases); i++) {
		pk_env("ready", 1);
		pk_str("version");
		msgpack_pack_str(&pk, strlen(utf8_cases[i].hex) / 2);
		pk_hex(utf8_cases[i].hex);
		if (utf8_cases[i].ok) {
			pk_decode_ok(utf8_cases[i].hex, WIRE_G2H, &m);
			msg_free(&m);
		} else
			pk_decode_fails(utf8_cases[i].hex, WIRE_G2H, WERR_UTF8,
			    "d.version");
	}
}

static void
nest(int depth)
{
	int	i;

	pk_msg("ack", 2, (const char *[]){ "id", "#1", "extra", NULL });
	for (i = 0; i < depth; i++)
		msgpack_pack_array(&pk, 1);
	msgpack_pack_nil(&pk);
}

static void
test_depth(void **state)
{
	struct msg	m;

	nest(MPACK_MAXDEPTH);
	pk_decode_ok("MPACK_MAXDEPTH", WIRE_G2H, &m);
	assert_int_equal(m.u.ack.id, 1);
	msg_free(&m);
	nest(MPACK_MAXDEPTH + 1);
	pk_decode_fails("MPACK_MAXDEPTH + 1", WIRE_G2H, WERR_DEPTH,
	    "d.extra: nested deeper");
	nest(100000);
	pk_decode_fails("100000", WIRE_G2H, WERR_DEPTH, "d.extra");
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
	pk_str("d");
	msgpack_pack_map(&pk, 5);
	pk_str("unknown");
	msgpack_pack_map(&pk, 1);
	pk_str("x");
	msgpack_pack_array(&pk, 2);
	msgpack_pack_double(&pk, 1.5);
	pk_hex("d7010000000000000000");	/* fixext8 */
	pk_str("data");
	msgpack_pack_bin_with_body(&pk, "hi", 2);
	pk_str("mode");
	msgpack_pack_uint16(&pk, 0644);
	pk_str("path");
	pk_str("/root/a");
	pk_str("id");
	msgpack_pack_uint8(&pk, 3);
	pk_str("x-outer");
	msgpack_pack_true(&pk);
	pk_str("t");
	pk_str("filewrite");
	pk_decode_ok("filewrite, d first", WIRE_H2G, &m);
	assert_int_equal(m.type, MSG_FILEWRITE);
	assert_int_equal(m.u.filewrite.id, 3);
	assert_string_equal(m.u.filewrite.path.s, "/root/a");
	assert_int_equal(m.u.filewrite.data.len, 2);
	assert_memory_equal(m.u.filewrite.data.p, "hi", 2);
	assert_int_equal(m.u.filewrite.mode, 0644);
	msg_free(&m);

	pk_msg("bootconfig", 3, (const char *[]){ "epoch_secs", "#5",
	    "traceparent", "~", "caps", "[2", "shellexited", "other", NULL });
	pk_decode_ok("bootconfig", WIRE_H2G, &m);
	assert_null(m.u.bootconfig.traceparent.s);
	assert_int_equal(m.u.bootconfig.has_caps, 1);
	assert_int_equal(m.u.bootconfig.ncaps, 2);
	assert_string_equal(m.u.bootconfig.caps[0].s, CAP_SHELLEXITED);
	msg_free(&m);

	pk_msg("shellexited", 2,
	    (const char *[]){ "signal", "#9", "exit_code", "#137", NULL });
	pk_decode_ok("shellexited", WIRE_G2H, &m);
	assert_int_equal(m.u.shellexited.has_signal, 1);
	assert_int_equal(m.u.shellexited.signal, 9);
	assert_int_equal(m.u.shellexited.exit_code, 137);
	msg_free(&m);

	/* A field-less message with an empty d. */
	pk_env("pong", 0);
	pk_decode_ok("pong", WIRE_G2H, &m);
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

	pk_msg(NULL, 0, (const char *[]){ "{1", "pid", "#1", NULL });
	assert_int_equal(audit_record_decode((const uint8_t *)pk_sb.data,
	    pk_sb.size, &ar, &err), -1);
	assert_int_equal(err.code, WERR_MISSING);
	assert_non_null(strstr(err.msg, "timestamp_us"));

	pk_msg(NULL, 0, (const char *[]){ "{2", "exe", "/bin/sh",
	    "uid", "#4294967296", NULL });
	assert_int_equal(audit_record_decode((const uint8_t *)pk_sb.data,
	    pk_sb.size, &ar, &err), -1);
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
		MSG_SHELLEXITED, MSG_EXECIO,
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

#define T(f)	cmocka_unit_test_setup_teardown(f, pk_setup, pk_teardown)

int
main(void)
{
	static const struct CMUnitTest fixed[] = {
		T(test_int_forms),
		T(test_utf8),
		T(test_depth),
		T(test_oversize_decode),
		T(test_oversize_encode),
		T(test_encode_bad_argument),
		T(test_accept_lenient),
		T(test_encode_optional),
		T(test_audit_errors),
		T(test_ackable),
	};
	struct CMUnitTest	 tests[nitems(refusals) + nitems(fixed)];
	size_t			 i, n = 0;

	/* Each refusal is reported, and can fail, on its own. */
	for (i = 0; i < nitems(refusals); i++) {
		memset(&tests[n], 0, sizeof(tests[n]));
		tests[n].name = refusals[i].name;
		tests[n].test_func = test_refused;
		tests[n].setup_func = pk_setup;
		tests[n].teardown_func = pk_teardown;
		tests[n].initial_state = (void *)(uintptr_t)&refusals[i];
		n++;
	}
	for (i = 0; i < nitems(fixed); i++)
		tests[n++] = fixed[i];
	return (_cmocka_run_group_tests("test_decode_errors", tests, n,
	    NULL, NULL));
}
