/*
 * capsem-shell log: a session's recording as asciicast v2, the format
 * asciinema(1) plays.  It reads pty.log (pty.log.1 first, if the log was
 * rotated) and pty.winsize from a session directory, also after the
 * session has ended, or a pty.log named directly, and writes to stdout one
 * header line, then one event line per record: [seconds, "o", text] for
 * output, "i" for input (with -i), and [seconds, "r", "COLSxROWS"] for
 * each window size change.
 *
 * The recording is the guest's output: untrusted.  Records are length
 * checked (a torn last record ends the log), and since asciicast strings
 * are UTF-8, each direction's bytes go through one decoder that keeps a
 * sequence split across records for the next one and turns invalid bytes
 * into U+FFFD.  It touches only the files it reads and stdout.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "session.h"

#define REC_HDR		13		/* dir, u64 us, u32 len */
#define REC_MAX		(16 * 1024 * 1024)	/* a record longer is torn */
#define WS_REC		12		/* u64 us, u16 cols, u16 rows */
#define WS_MAX		4096		/* window size changes kept */

struct winsize_rec {
	uint64_t	 us;
	uint16_t	 cols, rows;
};

/* One direction's bytes on their way to UTF-8 text. */
struct utf8_out {
	uint8_t		 carry[4];	/* the start of a split sequence */
	size_t		 ncarry;
};

struct recording {
	struct winsize_rec ws[WS_MAX];
	size_t		 nws, wsnext;
	uint64_t	 t0;
	int		 input;
	struct utf8_out	 out[2];
	char		*text;		/* scratch for one event's text */
	size_t		 textcap;
};

static int	 read_winsize(struct recording *, const char *);
static int	 play_file(struct recording *, const char *, int);
static void	 emit_resizes(struct recording *, uint64_t);
static void	 emit(struct recording *, uint64_t, const char *, const char *,
		    size_t);
static void	 emit_bytes(struct recording *, uint64_t, int, const uint8_t *,
		    size_t);
static size_t	 utf8_len(const uint8_t *, size_t);

/*
 * Write the recording of what (a session directory or a pty.log) to
 * stdout.  0, or -1 after a message naming the file.
 */
int
session_log(const char *what, int input)
{
	struct recording *r;
	struct stat	 st;
	json_t		*j, *env;
	char		 dir[PATH_MAX], path[PATH_MAX + 16], *slash;
	const char	*term = NULL;
	int		 rc = -1, found = 0;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return (-1);
	r->input = input;
	if (stat(what, &st) == -1) {
		fprintf(stderr, "capsem-shell: %s: %s\n", what,
		    strerror(errno));
		goto out;
	}
	if (S_ISDIR(st.st_mode))
		(void)strlcpy(dir, what, sizeof(dir));
	else {
		(void)strlcpy(dir, what, sizeof(dir));
		if ((slash = strrchr(dir, '/')) != NULL)
			*slash = '\0';
		else
			(void)strlcpy(dir, ".", sizeof(dir));
	}
	(void)snprintf(path, sizeof(path), "%s/pty.winsize.1", dir);
	(void)read_winsize(r, path);
	(void)snprintf(path, sizeof(path), "%s/pty.winsize", dir);
	(void)read_winsize(r, path);
	(void)snprintf(path, sizeof(path), "%s/session.json", dir);
	if ((j = json_load_file(path, 0, NULL)) != NULL)
		term = json_string_value(json_object_get(j, "term"));

	/* The header: the first window size known, 80x24 without one. */
	env = json_object();
	json_object_set_new(env, "TERM", json_string(term != NULL ? term :
	    "xterm-256color"));
	r->t0 = 0;
	(void)snprintf(path, sizeof(path), "%s/pty.log.1", dir);
	found += play_file(r, path, 1) == 0;
	(void)snprintf(path, sizeof(path), "%s/pty.log", dir);
	if (!S_ISDIR(st.st_mode))
		(void)strlcpy(path, what, sizeof(path));
	found += play_file(r, path, 1) == 0;
	if (!found) {
		fprintf(stderr, "capsem-shell: %s: no pty.log\n", what);
		json_decref(env);
		json_decref(j);
		goto out;
	}
	{
		json_t	*h = json_object();
		char	*line;

		json_object_set_new(h, "version", json_integer(2));
		json_object_set_new(h, "width", json_integer(r->nws > 0 ?
		    r->ws[0].cols : 80));
		json_object_set_new(h, "height", json_integer(r->nws > 0 ?
		    r->ws[0].rows : 24));
		json_object_set_new(h, "timestamp",
		    json_integer((json_int_t)(r->t0 / 1000000)));
		json_object_set_new(h, "env", env);
		if ((line = json_dumps(h, JSON_COMPACT |
		    JSON_PRESERVE_ORDER)) != NULL)
			printf("%s\n", line);
		free(line);
		json_decref(h);
	}
	json_decref(j);
	/* The first size is the header's; the changes after it are events. */
	r->wsnext = r->nws > 0 ? 1 : 0;
	(void)snprintf(path, sizeof(path), "%s/pty.log.1", dir);
	(void)play_file(r, path, 0);
	(void)snprintf(path, sizeof(path), "%s/pty.log", dir);
	if (!S_ISDIR(st.st_mode))
		(void)strlcpy(path, what, sizeof(path));
	(void)play_file(r, path, 0);
	emit_resizes(r, UINT64_MAX);
	rc = fflush(stdout) == EOF || ferror(stdout) ? -1 : 0;
	if (rc == -1)
		fprintf(stderr, "capsem-shell: stdout: %s\n", strerror(errno));
 out:
	free(r->text);
	free(r);
	return (rc);
}

static int
read_winsize(struct recording *r, const char *path)
{
	uint8_t		 rec[WS_REC];
	uint16_t	 v;
	FILE		*fp;

	if ((fp = fopen(path, "re")) == NULL)
		return (-1);
	while (r->nws < WS_MAX && fread(rec, 1, sizeof(rec), fp) ==
	    sizeof(rec)) {
		memcpy(&r->ws[r->nws].us, rec, 8);
		r->ws[r->nws].us = le64toh(r->ws[r->nws].us);
		memcpy(&v, rec + 8, 2);
		r->ws[r->nws].cols = le16toh(v);
		memcpy(&v, rec + 10, 2);
		r->ws[r->nws].rows = le16toh(v);
		if (r->ws[r->nws].cols != 0 && r->ws[r->nws].rows != 0)
			r->nws++;
	}
	fclose(fp);
	return (0);
}

/*
 * One pty.log file.  scan: only learn the first record's time (t0);
 * otherwise emit its events.  -1 if it cannot be opened.
 */
static int
play_file(struct recording *r, const char *path, int scan)
{
	uint8_t		 hdr[REC_HDR], *buf = NULL;
	uint64_t	 us;
	uint32_t	 len;
	FILE		*fp;

	if ((fp = fopen(path, "re")) == NULL)
		return (-1);
	while (fread(hdr, 1, sizeof(hdr), fp) == sizeof(hdr)) {
		memcpy(&us, hdr + 1, 8);
		us = le64toh(us);
		memcpy(&len, hdr + 9, 4);
		len = le32toh(len);
		if (hdr[0] > 1 || len > REC_MAX)
			break;		/* not a record: the log ends here */
		if (r->t0 == 0)
			r->t0 = us;
		if (scan) {
			if (fseek(fp, len, SEEK_CUR) == -1)
				break;
			continue;
		}
		if ((buf = realloc(buf, len ? len : 1)) == NULL ||
		    fread(buf, 1, len, fp) != len)
			break;		/* a torn last record */
		emit_resizes(r, us);
		if (hdr[0] == 0 || r->input)
			emit_bytes(r, us, hdr[0], buf, len);
	}
	free(buf);
	fclose(fp);
	return (0);
}

/* The window size changes up to time us, as "r" events. */
static void
emit_resizes(struct recording *r, uint64_t us)
{
	char	 sz[32];

	while (r->wsnext < r->nws && r->ws[r->wsnext].us <= us) {
		(void)snprintf(sz, sizeof(sz), "%ux%u",
		    r->ws[r->wsnext].cols, r->ws[r->wsnext].rows);
		emit(r, r->ws[r->wsnext].us, "r", sz, strlen(sz));
		r->wsnext++;
	}
}

static void
emit(struct recording *r, uint64_t us, const char *kind, const char *text,
    size_t len)
{
	json_t	*ev;
	char	*line;
	double	 t = us > r->t0 ? (double)(us - r->t0) / 1e6 : 0.0;

	ev = json_array();
	json_array_append_new(ev, json_real(t));
	json_array_append_new(ev, json_string(kind));
	json_array_append_new(ev, json_stringn(text, len));
	if ((line = json_dumps(ev, JSON_COMPACT | JSON_REAL_PRECISION(9))) !=
	    NULL)
		printf("%s\n", line);
	free(line);
	json_decref(ev);
}

/*
 * Bytes of one direction as UTF-8 text: a sequence cut at the end waits
 * for the next record, an invalid byte becomes U+FFFD.
 */
static void
emit_bytes(struct recording *r, uint64_t us, int dir, const uint8_t *p,
    size_t len)
{
	struct utf8_out	*u = &r->out[dir];
	uint8_t		*all;
	size_t		 n, i, k, o = 0, need;

	if ((all = malloc(u->ncarry + len)) == NULL)
		return;
	memcpy(all, u->carry, u->ncarry);
	memcpy(all + u->ncarry, p, len);
	n = u->ncarry + len;
	u->ncarry = 0;
	need = 3 * n + 1;
	if (need > r->textcap) {
		free(r->text);
		if ((r->text = malloc(need)) == NULL) {
			r->textcap = 0;
			free(all);
			return;
		}
		r->textcap = need;
	}
	for (i = 0; i < n; i += k) {
		k = utf8_len(all + i, n - i);
		if (k == 0) {		/* a sequence cut short at the end */
			memcpy(u->carry, all + i, n - i);
			u->ncarry = n - i;
			break;
		}
		if (k == (size_t)-1) {
			memcpy(r->text + o, "\xef\xbf\xbd", 3);
			o += 3;
			k = 1;
		} else {
			memcpy(r->text + o, all + i, k);
			o += k;
		}
	}
	free(all);
	if (o > 0)
		emit(r, us, dir == 0 ? "o" : "i", r->text, o);
}

/*
 * The length of the UTF-8 sequence at p: 1 to 4, 0 if it is cut short by
 * the end of the buffer, (size_t)-1 if it is invalid (overlong forms,
 * surrogates and values past U+10FFFF included).
 */
static size_t
utf8_len(const uint8_t *p, size_t avail)
{
	size_t	 n, i;
	uint32_t c;

	if (p[0] < 0x80)
		return (1);
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4;
	else
		return ((size_t)-1);
	for (i = 1; i < n; i++) {
		if (i >= avail)
			return (0);
		if ((p[i] & 0xc0) != 0x80)
			return ((size_t)-1);
	}
	c = n == 2 ? (uint32_t)(p[0] & 0x1f) << 6 | (p[1] & 0x3f) :
	    n == 3 ? (uint32_t)(p[0] & 0x0f) << 12 | (uint32_t)(p[1] & 0x3f) <<
	    6 | (p[2] & 0x3f) : (uint32_t)(p[0] & 0x07) << 18 |
	    (uint32_t)(p[1] & 0x3f) << 12 | (uint32_t)(p[2] & 0x3f) << 6 |
	    (p[3] & 0x3f);
	if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000) ||
	    (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
		return ((size_t)-1);
	return (n);
}
