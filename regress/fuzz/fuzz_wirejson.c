/*
 * libFuzzer target: the JSON forms of messages and audit records
 * (proto/wirejson.c), used by the test tools on hand-written JSON.  The
 * input is JSON text, tried as a message of each direction and as an audit
 * record.  Whatever is accepted must convert back to JSON, encode on the
 * wire and decode again.  Touches only memory.
 */
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "wire.h"
#include "wirejson.h"
#include "fuzz.h"

static void
try_msg(enum wire_dir dir, json_t *j)
{
	struct msg	 m, m2;
	struct wire_err	 err;
	struct wbuf	 wb;
	json_t		*back;
	char		 ebuf[256];

	ebuf[0] = '\0';
	if (msg_from_json(dir, j, &m, ebuf, sizeof(ebuf)) == -1) {
		FUZZ_CHECK(memchr(ebuf, '\0', sizeof(ebuf)) != NULL);
		return;
	}
	back = msg_to_json(&m);
	json_decref(back);
	wbuf_init(&wb);
	if (msg_encode(&m, &wb, &err) == 0) {
		FUZZ_CHECK(msg_decode(dir, wb.data + FRAME_HDRLEN,
		    wb.len - FRAME_HDRLEN, &m2, &err) == 0);
		FUZZ_CHECK(m2.type == m.type);
		msg_free(&m2);
	}
	wbuf_free(&wb);
	msg_free(&m);
}

static void
try_record(json_t *j)
{
	struct audit_record	 ar, ar2;
	struct wire_err		 err;
	struct wbuf		 wb;
	json_t			*back;
	char			 ebuf[256];

	if (audit_record_from_json(j, &ar, ebuf, sizeof(ebuf)) == -1)
		return;
	back = audit_record_to_json(&ar);
	json_decref(back);
	wbuf_init(&wb);
	if (audit_record_encode(&ar, &wb, &err) == 0) {
		FUZZ_CHECK(audit_record_decode(wb.data + FRAME_HDRLEN,
		    wb.len - FRAME_HDRLEN, &ar2, &err) == 0);
		audit_record_free(&ar2);
	}
	wbuf_free(&wb);
	audit_record_free(&ar);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t	 jerr;
	json_t		*j;

	if ((j = json_loadb((const char *)data, size, JSON_DECODE_ANY,
	    &jerr)) == NULL)
		return (0);
	try_msg(WIRE_H2G, j);
	try_msg(WIRE_G2H, j);
	try_record(j);
	json_decref(j);
	return (0);
}
