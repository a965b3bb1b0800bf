/*
 * Byte arrays (`data` of filewrite and filecontent) are encoded and
 * decoded by a direct loop, eight bytes below 0x80 at a time (proto/wire.c
 * enc_bytes, dec_bytes).  Pinned down here against msgpack-c itself:
 *   - for lengths 0 to 40 and every start alignment, with runs of bytes
 *     below 0x80 broken by bytes above at every position, the encoding is
 *     byte for byte what msgpack_pack_array + msgpack_pack_uint8 make;
 *   - all 256 byte values round-trip, in both directions (filewrite h2g,
 *     filecontent g2h);
 *   - the decoder takes every other integer form of a byte (uint 16,
 *     int 8 of a positive value) in the middle of a fast run, and refuses
 *     a negative one and 256 naming the field.
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

#include "testutil.h"
#include "wire.h"

/* The body msgpack-c makes for filewrite {id, path, data, mode}. */
static void
reference(const uint8_t *p, size_t len, msgpack_sbuffer *sb)
{
	msgpack_packer	pkr;
	size_t		i;

	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pkr, sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pkr, 2);
	msgpack_pack_str(&pkr, 1);
	msgpack_pack_str_body(&pkr, "t", 1);
	msgpack_pack_str(&pkr, 9);
	msgpack_pack_str_body(&pkr, "filewrite", 9);
	msgpack_pack_str(&pkr, 1);
	msgpack_pack_str_body(&pkr, "d", 1);
	msgpack_pack_map(&pkr, 4);
	msgpack_pack_str(&pkr, 2);
	msgpack_pack_str_body(&pkr, "id", 2);
	msgpack_pack_uint64(&pkr, 7);
	msgpack_pack_str(&pkr, 4);
	msgpack_pack_str_body(&pkr, "path", 4);
	msgpack_pack_str(&pkr, 2);
	msgpack_pack_str_body(&pkr, "/x", 2);
	msgpack_pack_str(&pkr, 4);
	msgpack_pack_str_body(&pkr, "data", 4);
	msgpack_pack_array(&pkr, len);
	for (i = 0; i < len; i++)
		msgpack_pack_uint8(&pkr, p[i]);
	msgpack_pack_str(&pkr, 4);
	msgpack_pack_str_body(&pkr, "mode", 4);
	msgpack_pack_uint32(&pkr, 0644);
}

static char	 path[] = "/x";

static void
filewrite(struct msg *m, uint8_t *p, size_t len)
{
	memset(m, 0, sizeof(*m));
	m->type = MSG_FILEWRITE;
	m->u.filewrite.id = 7;
	m->u.filewrite.path.s = path;
	m->u.filewrite.path.len = 2;
	m->u.filewrite.data.p = p;
	m->u.filewrite.data.len = len;
	m->u.filewrite.mode = 0644;
}

static void
test_encoding_is_msgpack_c(void **state)
{
	uint8_t		 buf[64 + 8], *p;
	struct msg	 m, back;
	struct wbuf	 wb;
	struct wire_err	 err;
	msgpack_sbuffer	 sb;
	size_t		 len, al, hi, i;

	for (len = 0; len <= 40; len++)
		for (al = 0; al < 8; al++)
			for (hi = 0; hi <= len; hi++) {
				p = buf + al;
				for (i = 0; i < len; i++)
					p[i] = (uint8_t)('a' + i % 26);
				if (hi < len)
					p[hi] = (uint8_t)(0x80 + hi);
				filewrite(&m, p, len);
				wbuf_init(&wb);
				assert_int_equal(msg_encode(&m, &wb, &err), 0);
				reference(p, len, &sb);
				assert_int_equal(wb.len - 4, sb.size);
				assert_memory_equal(wb.data + 4, sb.data,
				    sb.size);
				assert_int_equal(msg_decode(WIRE_H2G,
				    wb.data + 4, wb.len - 4, &back, &err), 0);
				assert_int_equal(back.u.filewrite.data.len,
				    len);
				if (len > 0)
					assert_memory_equal(
					    back.u.filewrite.data.p, p, len);
				msg_free(&back);
				msgpack_sbuffer_destroy(&sb);
				wbuf_free(&wb);
			}
}

static void
test_all_values(void **state)
{
	uint8_t		 v[256 * 3];
	struct msg	 m, back;
	struct wbuf	 wb;
	struct wire_err	 err;
	size_t		 i;

	for (i = 0; i < sizeof(v); i++)
		v[i] = (uint8_t)(i < 256 ? i : i < 512 ? 511 - i : i * 7);
	filewrite(&m, v, sizeof(v));
	wbuf_init(&wb);
	assert_int_equal(msg_encode(&m, &wb, &err), 0);
	assert_int_equal(msg_decode(WIRE_H2G, wb.data + 4, wb.len - 4,
	    &back, &err), 0);
	assert_int_equal(back.u.filewrite.data.len, sizeof(v));
	assert_memory_equal(back.u.filewrite.data.p, v, sizeof(v));
	msg_free(&back);

	memset(&m, 0, sizeof(m));
	m.type = MSG_FILECONTENT;
	m.u.filecontent.id = 3;
	m.u.filecontent.path.s = path;
	m.u.filecontent.path.len = 2;
	m.u.filecontent.data.p = v;
	m.u.filecontent.data.len = sizeof(v);
	wbuf_reset(&wb);
	assert_int_equal(msg_encode(&m, &wb, &err), 0);
	assert_int_equal(msg_decode(WIRE_G2H, wb.data + 4, wb.len - 4,
	    &back, &err), 0);
	assert_int_equal(back.u.filecontent.data.len, sizeof(v));
	assert_memory_equal(back.u.filecontent.data.p, v, sizeof(v));
	msg_free(&back);
	wbuf_free(&wb);
}

/*
 * A filewrite body whose data is 9 fixints, then the value odd, then 9
 * fixints: an array 16 of 19 elements where the reference has a fixarray
 * of 9 (0x99, a byte found nowhere else in that body).
 */
static int
decode_odd(const uint8_t *odd, size_t oddlen, struct msg *m,
    struct wire_err *err)
{
	uint8_t		 body[256], run[9];
	msgpack_sbuffer	 sb;
	size_t		 n, at, k;
	int		 rc;

	memset(run, 'r', sizeof(run));
	reference(run, sizeof(run), &sb);
	n = sb.size;
	at = (size_t)((const char *)memchr(sb.data, 0x99, n) - sb.data);
	memcpy(body, sb.data, at);
	k = at;
	body[k++] = 0xdc;
	body[k++] = 0;
	body[k++] = 19;
	memcpy(body + k, run, 9);
	k += 9;
	memcpy(body + k, odd, oddlen);
	k += oddlen;
	memcpy(body + k, run, 9);
	k += 9;
	memcpy(body + k, sb.data + at + 10, n - at - 10);
	k += n - at - 10;
	rc = msg_decode(WIRE_H2G, body, k, m, err);
	msgpack_sbuffer_destroy(&sb);
	return (rc);
}

static void
test_other_forms(void **state)
{
	static const uint8_t	 u16[] = { 0xcd, 0x00, 0xfe };
	static const uint8_t	 i8[] = { 0xd0, 0x41 };
	static const uint8_t	 neg[] = { 0xff };
	static const uint8_t	 big[] = { 0xcd, 0x01, 0x00 };
	struct msg		 m;
	struct wire_err		 err;

	assert_int_equal(decode_odd(u16, sizeof(u16), &m, &err), 0);
	assert_int_equal(m.u.filewrite.data.len, 19);
	assert_int_equal(m.u.filewrite.data.p[9], 0xfe);
	assert_int_equal(m.u.filewrite.data.p[18], 'r');
	msg_free(&m);
	assert_int_equal(decode_odd(i8, sizeof(i8), &m, &err), 0);
	assert_int_equal(m.u.filewrite.data.p[9], 0x41);
	msg_free(&m);
	assert_int_equal(decode_odd(neg, sizeof(neg), &m, &err), -1);
	assert_int_equal(err.code, WERR_RANGE);
	assert_non_null(strstr(err.msg, "d.data: "));
	assert_int_equal(decode_odd(big, sizeof(big), &m, &err), -1);
	assert_int_equal(err.code, WERR_RANGE);
	assert_non_null(strstr(err.msg, "d.data: integer 256"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encoding_is_msgpack_c),
		cmocka_unit_test(test_all_values),
		cmocka_unit_test(test_other_forms),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
