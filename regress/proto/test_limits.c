/*
 * Boundary values of the limits in capsem-protocol(7) that the other proto
 * tests do not already pin down (test_frame.c has the frame reader at
 * FRAME_MAX and one over, test_validate.c every boot validation limit,
 * test_decode_errors.c the encoder at FRAME_MAX and one over for filewrite
 * and the far side of most integer ranges): exactly at the limit passes,
 * one over fails, on both codec directions.
 *   - u16 (resize): 65535 decodes and round-trips, 65536 is refused;
 *   - u32 (filewrite mode, audit pid): 4294967295 passes, 2^32 fails;
 *   - i32 (execdone exit_code, shellexited signal): INT32_MIN and
 *     INT32_MAX pass, one beyond either fails;
 *   - u64 (exec id, ack id): UINT64_MAX round-trips both ways;
 *   - a byte of `data`: 255 passes (256 is in test_decode_errors.c);
 *   - a body of exactly FRAME_MAX from the encoder decodes in both
 *     directions (filewrite h2g, filecontent g2h); filecontent and an
 *     audit record one byte over are refused by their encoders.
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

#include "wire.h"

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

/* Starts {"t": tag, "d": {<n entries follow>}} in a fresh buffer. */
static void
env(const char *tag, size_t n)
{
	msgpack_sbuffer_clear(&sb);
	msgpack_pack_map(&pk, 2);
	S("t");
	S(tag);
	S("d");
	msgpack_pack_map(&pk, n);
}

static void
decode_ok(enum wire_dir dir, struct msg *m)
{
	struct wire_err	err;

	if (msg_decode(dir, (const uint8_t *)sb.data, sb.size, m, &err) == -1)
		fail_msg("decode: %s", err.msg);
}

static void
decode_range(enum wire_dir dir, const char *needle)
{
	struct msg	m;
	struct wire_err	err;

	assert_int_equal(msg_decode(dir, (const uint8_t *)sb.data, sb.size,
	    &m, &err), -1);
	if (err.code != WERR_RANGE)
		fail_msg("got %s (%s), expected a range error",
		    wire_errstr(err.code), err.msg);
	if (strstr(err.msg, needle) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err.msg, needle);
}

/* Encode m, decode the body back into out. */
static void
roundtrip(const struct msg *m, struct msg *out)
{
	struct wbuf	wb;
	struct wire_err	err;

	wbuf_init(&wb);
	if (msg_encode(m, &wb, &err) == -1)
		fail_msg("encode: %s", err.msg);
	if (msg_decode(msg_type_dir(m->type), wb.data + FRAME_HDRLEN,
	    wb.len - FRAME_HDRLEN, out, &err) == -1)
		fail_msg("decode: %s", err.msg);
	wbuf_free(&wb);
}

static void
test_u16(void **state)
{
	struct msg	m, r;

	env("resize", 2);
	S("cols");
	msgpack_pack_uint16(&pk, 65535);
	S("rows");
	msgpack_pack_uint16(&pk, 65535);
	decode_ok(WIRE_H2G, &m);
	assert_int_equal(m.u.resize.cols, 65535);
	assert_int_equal(m.u.resize.rows, 65535);
	roundtrip(&m, &r);
	assert_int_equal(r.u.resize.cols, 65535);
	assert_int_equal(r.u.resize.rows, 65535);
	msg_free(&m);
	msg_free(&r);

	env("resize", 2);
	S("cols");
	msgpack_pack_uint16(&pk, 80);
	S("rows");
	msgpack_pack_uint32(&pk, 65536);
	decode_range(WIRE_H2G, "d.rows: integer 65536 out of range for u16");
}

static void
filewrite_mode(uint64_t mode)
{
	env("filewrite", 4);
	S("id");
	msgpack_pack_uint8(&pk, 1);
	S("path");
	S("/root/f");
	S("data");
	msgpack_pack_array(&pk, 1);
	msgpack_pack_uint8(&pk, 255);
	S("mode");
	msgpack_pack_uint64(&pk, mode);
}

static void
test_u32(void **state)
{
	struct msg		 m, r;
	struct audit_record	 ar;
	struct wire_err		 err;
	struct wbuf		 wb;

	filewrite_mode(UINT32_MAX);
	decode_ok(WIRE_H2G, &m);
	assert_true(m.u.filewrite.mode == UINT32_MAX);
	assert_int_equal(m.u.filewrite.data.len, 1);
	assert_int_equal(m.u.filewrite.data.p[0], 255);
	roundtrip(&m, &r);
	assert_true(r.u.filewrite.mode == UINT32_MAX);
	assert_int_equal(r.u.filewrite.data.p[0], 255);
	msg_free(&m);
	msg_free(&r);
	filewrite_mode((uint64_t)UINT32_MAX + 1);
	decode_range(WIRE_H2G, "d.mode: integer 4294967296 out of range");

	/* Audit records: every u32 at its maximum, there and back. */
	memset(&ar, 0, sizeof(ar));
	ar.timestamp_us = UINT64_MAX;
	ar.pid = ar.ppid = ar.uid = ar.session_id = UINT32_MAX;
	ar.has_session_id = 1;
	ar.exe.s = "/bin/x";
	ar.exe.len = 6;
	ar.argv.s = "x";
	ar.argv.len = 1;
	ar.audit_id.s = "1.000:1";
	ar.audit_id.len = 7;
	wbuf_init(&wb);
	assert_int_equal(audit_record_encode(&ar, &wb, &err), 0);
	memset(&ar, 0, sizeof(ar));
	if (audit_record_decode(wb.data + FRAME_HDRLEN, wb.len - FRAME_HDRLEN,
	    &ar, &err) == -1)
		fail_msg("audit decode: %s", err.msg);
	assert_true(ar.timestamp_us == UINT64_MAX);
	assert_true(ar.pid == UINT32_MAX && ar.ppid == UINT32_MAX);
	assert_true(ar.uid == UINT32_MAX && ar.session_id == UINT32_MAX);
	audit_record_free(&ar);
	wbuf_free(&wb);
}

static void
shellexited_signal(int64_t sig)
{
	env("shellexited", 2);
	S("exit_code");
	msgpack_pack_int32(&pk, INT32_MAX);
	S("signal");
	msgpack_pack_int64(&pk, sig);
}

static void
test_i32(void **state)
{
	struct msg	m, r;

	shellexited_signal(INT32_MIN);
	decode_ok(WIRE_G2H, &m);
	assert_int_equal(m.u.shellexited.exit_code, INT32_MAX);
	assert_int_equal(m.u.shellexited.signal, INT32_MIN);
	assert_int_equal(m.u.shellexited.has_signal, 1);
	roundtrip(&m, &r);
	assert_int_equal(r.u.shellexited.exit_code, INT32_MAX);
	assert_int_equal(r.u.shellexited.signal, INT32_MIN);
	msg_free(&m);
	msg_free(&r);
	shellexited_signal(INT32_MAX);
	decode_ok(WIRE_G2H, &m);
	assert_int_equal(m.u.shellexited.signal, INT32_MAX);
	msg_free(&m);
	shellexited_signal((int64_t)INT32_MAX + 1);
	decode_range(WIRE_G2H, "d.signal");
	shellexited_signal((int64_t)INT32_MIN - 1);
	decode_range(WIRE_G2H, "d.signal");

	env("execdone", 2);
	S("id");
	msgpack_pack_uint8(&pk, 1);
	S("exit_code");
	msgpack_pack_int32(&pk, INT32_MAX);
	decode_ok(WIRE_G2H, &m);
	assert_int_equal(m.u.execdone.exit_code, INT32_MAX);
	msg_free(&m);
}

static void
test_u64(void **state)
{
	struct msg	m, r;

	memset(&m, 0, sizeof(m));
	m.type = MSG_EXEC;
	m.u.exec.id = UINT64_MAX;
	m.u.exec.command.s = "true";
	m.u.exec.command.len = 4;
	roundtrip(&m, &r);
	assert_true(r.u.exec.id == UINT64_MAX);
	msg_free(&r);
	memset(&m, 0, sizeof(m));
	m.type = MSG_ACK;
	m.u.ack.id = UINT64_MAX;
	roundtrip(&m, &r);
	assert_true(r.u.ack.id == UINT64_MAX);
	msg_free(&r);
}

/*
 * Grow data until the body is exactly FRAME_MAX (the array header turns
 * into an array32 once past 65535 entries, so measure at a large size).
 */
static size_t
data_for_max(struct msg *m, struct wire_bytes *data)
{
	struct wbuf	wb;
	struct wire_err	err;
	size_t		body;

	wbuf_init(&wb);
	data->len = 100000;
	assert_int_equal(msg_encode(m, &wb, &err), 0);
	body = wb.len - FRAME_HDRLEN;
	wbuf_free(&wb);
	return (data->len + (FRAME_MAX - body));
}

static void
max_body(struct msg *m, struct wire_bytes *data)
{
	struct msg	r;
	struct wbuf	wb;
	struct wire_err	err;

	data->p = calloc(1, FRAME_MAX);
	assert_non_null(data->p);
	memset(data->p, 0x7f, FRAME_MAX);
	data->len = data_for_max(m, data);
	wbuf_init(&wb);
	assert_int_equal(msg_encode(m, &wb, &err), 0);
	assert_int_equal(wb.len, FRAME_HDRLEN + FRAME_MAX);
	if (msg_decode(msg_type_dir(m->type), wb.data + FRAME_HDRLEN,
	    FRAME_MAX, &r, &err) == -1)
		fail_msg("decode of a FRAME_MAX body: %s", err.msg);
	assert_int_equal(r.type, m->type);
	msg_free(&r);
	wbuf_reset(&wb);
	data->len++;
	assert_int_equal(msg_encode(m, &wb, &err), -1);
	assert_int_equal(err.code, WERR_TOOBIG);
	assert_int_equal(wb.len, 0);
	wbuf_free(&wb);
	free(data->p);
}

static void
test_frame_max_both_ways(void **state)
{
	struct msg	m;

	memset(&m, 0, sizeof(m));
	m.type = MSG_FILEWRITE;
	m.u.filewrite.id = 1;
	m.u.filewrite.path.s = "/root/big";
	m.u.filewrite.path.len = 9;
	m.u.filewrite.mode = 0644;
	max_body(&m, &m.u.filewrite.data);

	memset(&m, 0, sizeof(m));
	m.type = MSG_FILECONTENT;
	m.u.filecontent.id = 2;
	m.u.filecontent.path.s = "/root/big";
	m.u.filecontent.path.len = 9;
	max_body(&m, &m.u.filecontent.data);
}

static void
test_audit_too_big(void **state)
{
	struct audit_record	 ar;
	struct wire_err		 err;
	struct wbuf		 wb;
	char			*big;

	big = malloc(FRAME_MAX);
	assert_non_null(big);
	memset(big, 'a', FRAME_MAX);
	memset(&ar, 0, sizeof(ar));
	ar.exe.s = "/bin/x";
	ar.exe.len = 6;
	ar.argv.s = big;
	ar.argv.len = FRAME_MAX;
	ar.audit_id.s = "1.000:1";
	ar.audit_id.len = 7;
	wbuf_init(&wb);
	assert_int_equal(audit_record_encode(&ar, &wb, &err), -1);
	assert_int_equal(err.code, WERR_TOOBIG);
	assert_int_equal(wb.len, 0);
	wbuf_free(&wb);
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_u16),
		T(test_u32),
		T(test_i32),
		T(test_u64),
		T(test_frame_max_both_ways),
		T(test_audit_too_big),
#undef T
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
