/*
 * libFuzzer target: audit_record_decode, what the host reads from port
 * 5006 (the input is one frame body, without the length prefix).  A
 * record that decodes must encode, and its encoding must decode to the
 * same record and encode to the same bytes.  Touches only memory.
 */
#include <stdint.h>
#include <string.h>

#include "wire.h"
#include "fuzz.h"

static int
str_eq(const struct wire_str *a, const struct wire_str *b)
{
	if (a->s == NULL || b->s == NULL)
		return (a->s == b->s);
	return (a->len == b->len && memcmp(a->s, b->s, a->len) == 0 &&
	    a->s[a->len] == '\0' && b->s[b->len] == '\0');
}

static int
record_eq(const struct audit_record *a, const struct audit_record *b)
{
	return (a->timestamp_us == b->timestamp_us && a->pid == b->pid &&
	    a->ppid == b->ppid && a->uid == b->uid &&
	    str_eq(&a->exe, &b->exe) && str_eq(&a->comm, &b->comm) &&
	    str_eq(&a->argv, &b->argv) && str_eq(&a->cwd, &b->cwd) &&
	    str_eq(&a->tty, &b->tty) &&
	    a->has_session_id == b->has_session_id &&
	    (!a->has_session_id || a->session_id == b->session_id) &&
	    str_eq(&a->parent_exe, &b->parent_exe) &&
	    str_eq(&a->audit_id, &b->audit_id));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct audit_record	 ar, ar2;
	struct wire_err		 err;
	struct wbuf		 w1, w2;

	if (audit_record_decode(data, size, &ar, &err) == -1) {
		FUZZ_CHECK(err.code > WERR_OK && err.code < WERR_NCODES);
		FUZZ_CHECK(memchr(err.msg, '\0', sizeof(err.msg)) != NULL);
		return (0);
	}
	wbuf_init(&w1);
	wbuf_init(&w2);
	FUZZ_CHECK(audit_record_encode(&ar, &w1, &err) == 0);
	FUZZ_CHECK(w1.len >= FRAME_HDRLEN);
	FUZZ_CHECK(audit_record_decode(w1.data + FRAME_HDRLEN,
	    w1.len - FRAME_HDRLEN, &ar2, &err) == 0);
	FUZZ_CHECK(record_eq(&ar, &ar2));
	FUZZ_CHECK(audit_record_encode(&ar2, &w2, &err) == 0);
	FUZZ_CHECK(w1.len == w2.len && memcmp(w1.data, w2.data, w1.len) == 0);
	audit_record_free(&ar);
	audit_record_free(&ar2);
	wbuf_free(&w1);
	wbuf_free(&w2);
	return (0);
}
