/*
 * libFuzzer target: the audit child's log parser (agent-audit/auditlog.c).
 * The input, after its first byte (the piece-size seed), is audit log text,
 * which any user of the guest partly controls.  It is parsed twice, once
 * in one piece and once in pieces of random size: both must emit the same
 * records and count the same statistics.  Every record must have strings
 * without NUL bytes and must encode and decode back to itself; every line
 * also goes through auditlog_parse_line alone.  Touches only memory.
 */
#include <stdint.h>
#include <string.h>

#include "auditlog.h"
#include "wire.h"
#include "fuzz.h"

struct sink {
	uint64_t	 count;
	uint64_t	 hash;	/* FNV-1a of the encoded records */
};

static void
check_str(const struct wire_str *ws, int required)
{
	if (ws->s == NULL) {
		FUZZ_CHECK(!required);
		return;
	}
	FUZZ_CHECK(ws->s[ws->len] == '\0');
	FUZZ_CHECK(memchr(ws->s, '\0', ws->len) == NULL);
}

static void
emit(const struct audit_record *ar, void *arg)
{
	struct sink		*sk = arg;
	struct audit_record	 back;
	struct wire_err		 err;
	struct wbuf		 wb;
	size_t			 i;

	check_str(&ar->exe, 1);
	check_str(&ar->argv, 1);
	check_str(&ar->audit_id, 1);
	check_str(&ar->comm, 0);
	check_str(&ar->cwd, 0);
	check_str(&ar->tty, 0);
	check_str(&ar->parent_exe, 0);
	FUZZ_CHECK(ar->audit_id.len < AUDITLOG_ID_MAX);
	/* The host must accept what the guest sends: strict decode. */
	wbuf_init(&wb);
	FUZZ_CHECK(audit_record_encode(ar, &wb, &err) == 0);
	FUZZ_CHECK(audit_record_decode(wb.data + FRAME_HDRLEN,
	    wb.len - FRAME_HDRLEN, &back, &err) == 0);
	FUZZ_CHECK(back.argv.len == ar->argv.len &&
	    memcmp(back.argv.s, ar->argv.s, ar->argv.len) == 0);
	audit_record_free(&back);
	for (i = 0; i < wb.len; i++) {
		sk->hash ^= wb.data[i];
		sk->hash *= 1099511628211ULL;
	}
	sk->count++;
	wbuf_free(&wb);
}

static void
check_lines(const char *p, size_t len)
{
	struct audit_line	 al;
	const char		*nl;
	size_t			 n;

	while (len > 0) {
		nl = memchr(p, '\n', len);
		n = nl != NULL ? (size_t)(nl - p) : len;
		if (auditlog_parse_line(p, n, &al) == 0) {
			FUZZ_CHECK(al.idlen < AUDITLOG_ID_MAX);
			FUZZ_CHECK(al.id >= p && al.id + al.idlen <= p + n);
			FUZZ_CHECK(al.fieldslen == 0 || (al.fields >= p &&
			    al.fields + al.fieldslen <= p + n));
		}
		if (nl == NULL)
			break;
		p += n + 1;
		len -= n + 1;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_chunker		 ck;
	struct auditlog			*whole, *cut;
	struct sink			 s1, s2;
	const struct auditlog_stats	*st1, *st2;
	const char			*p;
	size_t				 left, n;

	if (size < 1)
		return (0);
	fuzz_chunker_init(&ck, data[0]);
	p = (const char *)data + 1;
	left = size - 1;
	check_lines(p, left);

	memset(&s1, 0, sizeof(s1));
	memset(&s2, 0, sizeof(s2));
	FUZZ_CHECK((whole = auditlog_new()) != NULL);
	FUZZ_CHECK((cut = auditlog_new()) != NULL);
	FUZZ_CHECK(auditlog_feed(whole, p, left, emit, &s1) == 0);
	while (left > 0) {
		n = fuzz_chunk(&ck, left);
		FUZZ_CHECK(auditlog_feed(cut, p, n, emit, &s2) == 0);
		p += n;
		left -= n;
	}
	auditlog_flush(whole, emit, &s1);
	auditlog_flush(cut, emit, &s2);
	/* Where read(2) happened to cut the log must not matter. */
	FUZZ_CHECK(s1.count == s2.count && s1.hash == s2.hash);
	st1 = auditlog_stats(whole);
	st2 = auditlog_stats(cut);
	FUZZ_CHECK(st1->records == s1.count);
	FUZZ_CHECK(st1->records == st2->records &&
	    st1->dropped_incomplete == st2->dropped_incomplete &&
	    st1->dropped_oversize == st2->dropped_oversize &&
	    st1->bad_lines == st2->bad_lines &&
	    st1->truncated == st2->truncated &&
	    st1->open_events == 0 && st2->open_events == 0);
	auditlog_free(whole);
	auditlog_free(cut);
	return (0);
}
