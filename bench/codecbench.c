/*
 * codecbench: the codec figure of `make bench`.  It encodes and decodes a
 * message N times through libcapsem's codec (proto/wire.h) so that
 * callgrind, told to collect only inside one of the enc_* or dec_*
 * functions below (--toggle-collect), counts the instructions of exactly
 * that work; the count divided by N is the cost of one frame.  The first
 * round trip grows the output buffer; over N rounds that is noise.  It touches nothing but memory and stdout.
 *
 * usage: codecbench pong|filewrite|audit N
 */
#include <err.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

static struct wbuf	 wb;
static struct wire_err	 werr;
static uint8_t		 payload[4096];

void	enc_pong(const struct msg *);
void	dec_pong(void);
void	enc_filewrite(const struct msg *);
void	dec_filewrite(void);
void	enc_audit(const struct audit_record *);
void	dec_audit(void);

static void
set_str(struct wire_str *ws, const char *s)
{
	ws->s = (char *)(uintptr_t)s;
	ws->len = strlen(s);
}

__attribute__((noinline)) void
enc_pong(const struct msg *m)
{
	wbuf_reset(&wb);
	if (msg_encode(m, &wb, &werr) == -1)
		errx(1, "encode pong: %s", werr.msg);
}

__attribute__((noinline)) void
dec_pong(void)
{
	struct msg	 m;

	if (msg_decode(WIRE_G2H, wb.data + FRAME_HDRLEN,
	    wb.len - FRAME_HDRLEN, &m, &werr) == -1)
		errx(1, "decode pong: %s", werr.msg);
	msg_free(&m);
}

__attribute__((noinline)) void
enc_filewrite(const struct msg *m)
{
	wbuf_reset(&wb);
	if (msg_encode(m, &wb, &werr) == -1)
		errx(1, "encode filewrite: %s", werr.msg);
}

__attribute__((noinline)) void
dec_filewrite(void)
{
	struct msg	 m;

	if (msg_decode(WIRE_H2G, wb.data + FRAME_HDRLEN,
	    wb.len - FRAME_HDRLEN, &m, &werr) == -1)
		errx(1, "decode filewrite: %s", werr.msg);
	msg_free(&m);
}

__attribute__((noinline)) void
enc_audit(const struct audit_record *r)
{
	wbuf_reset(&wb);
	if (audit_record_encode(r, &wb, &werr) == -1)
		errx(1, "encode audit: %s", werr.msg);
}

__attribute__((noinline)) void
dec_audit(void)
{
	struct audit_record	 r;

	if (audit_record_decode(wb.data + FRAME_HDRLEN,
	    wb.len - FRAME_HDRLEN, &r, &werr) == -1)
		errx(1, "decode audit: %s", werr.msg);
	audit_record_free(&r);
}

int
main(int argc, char *argv[])
{
	struct msg		 m;
	struct audit_record	 r;
	const char		*errstr;
	long long		 i, n;

	if (argc != 3)
		errx(1, "usage: codecbench pong|filewrite|audit N");
	n = strtonum(argv[2], 1, 100000000, &errstr);
	if (errstr != NULL)
		errx(1, "N is %s", errstr);
	wbuf_init(&wb);
	memset(&m, 0, sizeof(m));
	memset(&r, 0, sizeof(r));
	memset(payload, 'x', sizeof(payload));
	if (strcmp(argv[1], "pong") == 0) {
		m.type = MSG_PONG;
		for (i = 0; i < n; i++) {
			enc_pong(&m);
			dec_pong();
		}
	} else if (strcmp(argv[1], "filewrite") == 0) {
		m.type = MSG_FILEWRITE;
		m.u.filewrite.id = 4242;
		set_str(&m.u.filewrite.path, "src/bench/data.bin");
		m.u.filewrite.data.p = payload;
		m.u.filewrite.data.len = sizeof(payload);
		m.u.filewrite.mode = 0644;
		for (i = 0; i < n; i++) {
			enc_filewrite(&m);
			dec_filewrite();
		}
	} else if (strcmp(argv[1], "audit") == 0) {
		/* the second record of shared/vectors/audit-basic.jsonl */
		r.timestamp_us = 1713100001250000ULL;
		r.pid = 4243;
		r.ppid = 4242;
		r.uid = 1000;
		set_str(&r.exe, "/usr/bin/python3.11");
		set_str(&r.comm, "python3");
		set_str(&r.argv, "python3 -c print(\"hi\")");
		set_str(&r.cwd, "/tmp");
		r.session_id = 3;
		r.has_session_id = 1;
		set_str(&r.parent_exe, "/usr/bin/bash");
		set_str(&r.audit_id, "1713100001.250:43");
		for (i = 0; i < n; i++) {
			enc_audit(&r);
			dec_audit();
		}
	} else
		errx(1, "unknown message %s", argv[1]);
	printf("%s frame: %zu bytes\n", argv[1], wb.len);
	wbuf_free(&wb);
	return (0);
}
