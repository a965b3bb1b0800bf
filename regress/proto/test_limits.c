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

#include "testutil.h"
#include "wire.h"

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

	pk_msg("resize", 2,
	    (const char *[]){ "cols", "#65535", "rows", "#65535", NULL });
	pk_decode_ok("resize of u16 maxima", WIRE_H2G, &m);
	assert_int_equal(m.u.resize.cols, 65535);
	assert_int_equal(m.u.resize.rows, 65535);
	roundtrip(&m, &r);
	assert_int_equal(r.u.resize.cols, 65535);
	assert_int_equal(r.u.resize.rows, 65535);
	msg_free(&m);
	msg_free(&r);

	pk_msg("resize", 2,
	    (const char *[]){ "cols", "#80", "rows", "#65536", NULL });
	pk_decode_fails("resize rows 65536", WIRE_H2G, WERR_RANGE,
	    "d.rows: integer 65536 out of range for u16");
}

/* mode: a pk_msg() token. */
static void
filewrite_mode(const char *mode)
{
	pk_msg("filewrite", 4, (const char *[]){ "id", "#1", "path", "/root/f",
	    "data", "[1", "#255", "mode", mode, NULL });
}

static void
test_u32(void **state)
{
	struct msg		 m, r;
	struct audit_record	 ar;
	struct wire_err		 err;
	struct wbuf		 wb;

	filewrite_mode("#4294967295");
	pk_decode_ok("filewrite mode UINT32_MAX", WIRE_H2G, &m);
	assert_true(m.u.filewrite.mode == UINT32_MAX);
	assert_int_equal(m.u.filewrite.data.len, 1);
	assert_int_equal(m.u.filewrite.data.p[0], 255);
	roundtrip(&m, &r);
	assert_true(r.u.filewrite.mode == UINT32_MAX);
	assert_int_equal(r.u.filewrite.data.p[0], 255);
	msg_free(&m);
	msg_free(&r);
	filewrite_mode("#4294967296");
	pk_decode_fails("filewrite mode 2^32", WIRE_H2G, WERR_RANGE,
	    "d.mode: integer 4294967296 out of range");

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

/* sig: a pk_msg() token. */
static void
shellexited_signal(const char *sig)
{
	pk_msg("shellexited", 2, (const char *[]){ "exit_code", "#2147483647",
	    "signal", sig, NULL });
}

static void
test_i32(void **state)
{
	struct msg	m, r;

	shellexited_signal("#-2147483648");
	pk_decode_ok("shellexited signal INT32_MIN", WIRE_G2H, &m);
	assert_int_equal(m.u.shellexited.exit_code, INT32_MAX);
	assert_int_equal(m.u.shellexited.signal, INT32_MIN);
	assert_int_equal(m.u.shellexited.has_signal, 1);
	roundtrip(&m, &r);
	assert_int_equal(r.u.shellexited.exit_code, INT32_MAX);
	assert_int_equal(r.u.shellexited.signal, INT32_MIN);
	msg_free(&m);
	msg_free(&r);
	shellexited_signal("#2147483647");
	pk_decode_ok("shellexited signal INT32_MAX", WIRE_G2H, &m);
	assert_int_equal(m.u.shellexited.signal, INT32_MAX);
	msg_free(&m);
	shellexited_signal("#2147483648");
	pk_decode_fails("shellexited signal INT32_MAX + 1", WIRE_G2H,
	    WERR_RANGE, "d.signal");
	shellexited_signal("#-2147483649");
	pk_decode_fails("shellexited signal INT32_MIN - 1", WIRE_G2H,
	    WERR_RANGE, "d.signal");

	pk_msg("execdone", 2,
	    (const char *[]){ "id", "#1", "exit_code", "#2147483647", NULL });
	pk_decode_ok("execdone exit_code INT32_MAX", WIRE_G2H, &m);
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
#define T(f)	cmocka_unit_test_setup_teardown(f, pk_setup, pk_teardown)
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
