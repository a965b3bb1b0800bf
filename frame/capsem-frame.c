/*
 * capsem-frame: convert between the JSON form of wire messages (the one of
 * shared/vectors/frames.jsonl) and wire frames, to build test traffic and
 * to read captured streams.  A filter: it touches only stdin, stdout and
 * stderr.  Its input is untrusted (a captured stream may come from a
 * hostile guest), so decoding goes through the same strict codec and
 * bounded frame reader as the daemons, and the first bad line or frame
 * stops the program with its position and the reason.
 */
#include <sys/types.h>

#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"
#include "version.h"
#include "wire.h"
#include "wirejson.h"

#ifndef __dead
#define __dead __attribute__((__noreturn__))
#endif

#define READ_CHUNK	65536

/* Where a decoded frame's problem is reported. */
struct framepos {
	size_t		 no;		/* 1-based frame number */
	size_t		 off;		/* stream offset of its length prefix */
};

static __dead void	usage(int);
static int		dir_from_name(const char *, enum wire_dir *);
static void		encode_stream(enum wire_dir);
static int		encode_json(enum wire_dir, json_t *, struct wbuf *,
			    char *, size_t);
static void		decode_stream(enum wire_dir);
static void		decode_body(enum wire_dir, const struct framepos *,
			    const uint8_t *, size_t);
static void		emit_json(json_t *);

static __dead void
usage(int status)
{
	fprintf(status == 0 ? stdout : stderr,
	    "usage: %s [-V] encode|decode -d h2g|g2h|audit\n",
	    getprogname());
	exit(status);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "dir",	required_argument,	NULL,	'd' },
		{ "help",	no_argument,		NULL,	'h' },
		{ "version",	no_argument,		NULL,	'V' },
		{ NULL,		0,			NULL,	0 }
	};
	const char	*dirname = NULL, *cmd;
	enum wire_dir	 dir;
	int		 ch;

	while ((ch = getopt_long(argc, argv, "d:hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			dirname = optarg;
			break;
		case 'V':
			printf("capsem-frame %s\n", CAPSEM_VERSION);
			return (0);
		case 'h':
			usage(0);
		default:
			usage(2);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1 || dirname == NULL)
		usage(2);
	cmd = argv[0];
	if (dir_from_name(dirname, &dir) == -1) {
		warnx("unknown direction: %s", dirname);
		usage(2);
	}

	if (strcmp(cmd, "encode") == 0)
		encode_stream(dir);
	else if (strcmp(cmd, "decode") == 0)
		decode_stream(dir);
	else {
		warnx("unknown command: %s", cmd);
		usage(2);
	}
	if (fflush(stdout) == EOF || ferror(stdout))
		err(1, "stdout");
	return (0);
}

static int
dir_from_name(const char *name, enum wire_dir *dir)
{
	if (strcmp(name, "h2g") == 0)
		*dir = WIRE_H2G;
	else if (strcmp(name, "g2h") == 0)
		*dir = WIRE_G2H;
	else if (strcmp(name, "audit") == 0)
		*dir = WIRE_AUDIT;
	else
		return (-1);
	return (0);
}

/*
 * One JSON object per line in, one frame per line out.  Blank lines are
 * skipped; anything else that is not a valid message of the direction stops
 * the program, so a typo in hand-written traffic never goes unnoticed.
 * Each frame is flushed at once, for use on a live pipe.
 */
static void
encode_stream(enum wire_dir dir)
{
	struct wbuf	 wb;
	json_error_t	 jerr;
	json_t		*j;
	char		*line = NULL;
	char		 emsg[256];
	size_t		 linesize = 0, lineno = 0;
	ssize_t		 linelen;

	wbuf_init(&wb);
	while ((linelen = getline(&line, &linesize, stdin)) != -1) {
		lineno++;
		if (strspn(line, " \t\r\n") == (size_t)linelen)
			continue;
		j = json_loadb(line, linelen, JSON_REJECT_DUPLICATES, &jerr);
		if (j == NULL)
			errx(1, "line %zu: invalid JSON at byte %d: %s",
			    lineno, jerr.position, jerr.text);
		if (encode_json(dir, j, &wb, emsg, sizeof(emsg)) == -1)
			errx(1, "line %zu: %s", lineno, emsg);
		json_decref(j);
		if (fwrite(wb.data, 1, wb.len, stdout) != wb.len ||
		    fflush(stdout) == EOF)
			err(1, "stdout");
		wbuf_reset(&wb);
	}
	if (ferror(stdin))
		err(1, "stdin");
	free(line);
	wbuf_free(&wb);
}

/* Append the frame of one JSON message to wb, or put the reason in emsg. */
static int
encode_json(enum wire_dir dir, json_t *j, struct wbuf *wb, char *emsg,
    size_t emsgsz)
{
	struct msg		 m;
	struct audit_record	 ar;
	struct wire_err		 werr;
	int			 rc;

	memset(&werr, 0, sizeof(werr));
	if (dir == WIRE_AUDIT) {
		if (audit_record_from_json(j, &ar, emsg, emsgsz) == -1)
			return (-1);
		rc = audit_record_encode(&ar, wb, &werr);
		audit_record_free(&ar);
	} else {
		if (msg_from_json(dir, j, &m, emsg, emsgsz) == -1)
			return (-1);
		rc = msg_encode(&m, wb, &werr);
		msg_free(&m);
	}
	if (rc == -1)
		snprintf(emsg, emsgsz, "%s", werr.msg[0] != '\0' ? werr.msg :
		    wire_errstr(werr.code));
	return (rc);
}

/*
 * Frames in, one JSON object per line out.  stdin is read with read(2) in
 * chunks, not stdio, so every frame that has arrived is printed at once on
 * a live pipe.  off counts the bytes consumed so far; pos.off is where the
 * current frame's length prefix starts.
 */
static void
decode_stream(enum wire_dir dir)
{
	struct frame_reader	 fr;
	struct framepos		 pos = { 1, 0 };
	uint8_t			*buf, *p;
	const uint8_t		*body;
	size_t			 off = 0, used, blen;
	ssize_t			 n;
	int			 rc;

	if ((buf = malloc(READ_CHUNK)) == NULL)
		err(1, NULL);
	frame_reader_init(&fr, FRAME_MAX);
	for (;;) {
		if ((n = read(STDIN_FILENO, buf, READ_CHUNK)) == -1) {
			if (errno == EINTR)
				continue;
			err(1, "stdin");
		}
		if (n == 0)
			break;
		for (p = buf; n > 0; p += used, n -= used, off += used) {
			rc = frame_reader_feed(&fr, p, n, &used);
			if (rc == FRAME_MORE)
				continue;
			if (rc == FRAME_TOOBIG)
				errx(1, "frame %zu at byte %zu: length %zu "
				    "exceeds the maximum %d", pos.no, pos.off,
				    frame_reader_declared(&fr), FRAME_MAX);
			if (rc != FRAME_READY)
				errx(1, "frame %zu at byte %zu: out of memory",
				    pos.no, pos.off);
			body = frame_reader_body(&fr, &blen);
			decode_body(dir, &pos, body, blen);
			pos.no++;
			pos.off = off + used;
		}
	}
	/* EOF: anything buffered is a frame cut short. */
	if (fr.state != FRAME_READY && fr.hdrlen > 0 &&
	    fr.hdrlen < FRAME_HDRLEN)
		errx(1, "frame %zu at byte %zu: truncated length prefix, "
		    "%zu of %d bytes missing", pos.no, pos.off,
		    FRAME_HDRLEN - fr.hdrlen, FRAME_HDRLEN);
	if (fr.state != FRAME_READY && fr.hdrlen == FRAME_HDRLEN)
		errx(1, "frame %zu at byte %zu: truncated body, %zu of %zu "
		    "bytes missing", pos.no, pos.off, fr.want - fr.len,
		    fr.want);
	frame_reader_free(&fr);
	free(buf);
}

static void
decode_body(enum wire_dir dir, const struct framepos *pos,
    const uint8_t *body, size_t len)
{
	struct msg		 m;
	struct audit_record	 ar;
	struct wire_err		 werr;
	json_t			*j;

	memset(&werr, 0, sizeof(werr));
	if (dir == WIRE_AUDIT) {
		if (audit_record_decode(body, len, &ar, &werr) == -1)
			goto bad;
		j = audit_record_to_json(&ar);
		audit_record_free(&ar);
	} else {
		if (msg_decode(dir, body, len, &m, &werr) == -1)
			goto bad;
		j = msg_to_json(&m);
		msg_free(&m);
	}
	if (j == NULL)
		errx(1, "frame %zu at byte %zu: cannot be shown as JSON "
		    "(out of memory or an integer over 2^63-1)", pos->no,
		    pos->off);
	emit_json(j);
	json_decref(j);
	return;
 bad:
	errx(1, "frame %zu at byte %zu: %s (body offset %zu)", pos->no,
	    pos->off, werr.msg[0] != '\0' ? werr.msg : wire_errstr(werr.code),
	    werr.offset);
}

/* Compact, keys in wire order, one object per line, flushed at once. */
static void
emit_json(json_t *j)
{
	if (json_dumpf(j, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER) == -1 ||
	    putchar('\n') == EOF || fflush(stdout) == EOF)
		err(1, "stdout");
}
