/*
 * The auditd log parser (auditlog.h): splits the fed bytes into lines,
 * groups the lines of one event by their audit(...) id, and turns each
 * completed execve event (SYSCALL + EXECVE, CWD when present) into a
 * struct audit_record.  It only computes: no I/O, no logging, no globals.
 *
 * Input from the audit log: untrusted (any guest user chooses the
 * arguments, paths and names that end up in it).  Every buffer is bounded:
 * a line (AUDITLOG_LINE_MAX), an event (AUDITLOG_EVENT_MAX, of which argv
 * at most AUDITLOG_ARGV_MAX), the pending events (AUDITLOG_PENDING_MAX) and
 * the pid -> exe table (AUDITLOG_PIDS_MAX, least recently used evicted).
 *
 * The lines of concurrent syscalls interleave in the log (the kernel
 * queues each record on its own), so a line of another event never ends
 * an event: only its EOE does, or AUDITLOG_STALE_LINES lines without one
 * of its own, or the pending bound, or the flush.  The same lines fed
 * from a point where no event is open therefore always complete the same
 * events in the same order, which is what the audit child's restart
 * relies on.
 */
#include <sys/types.h>
#include <sys/queue.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auditlog.h"
#include "wire.h"

#define AUDIT_GS	0x1d	/* enriched format: raw fields end here */
#define UTF8_REPL	"\xef\xbf\xbd"

/* The SYSCALL fields seen; the first four are required. */
#define S_PID		0x01
#define S_PPID		0x02
#define S_UID		0x04
#define S_EXE		0x08
#define S_REQUIRED	0x0f
#define S_COMM		0x10
#define S_TTY		0x20
#define S_SES		0x40

struct buf {
	char		*p;	/* NUL-terminated once allocated */
	size_t		 len;
	size_t		 cap;
};

struct field {
	const char	*key;
	size_t		 keylen;
	const char	*val;
	size_t		 vallen;
	int		 quoted;
};

enum event_end {
	END_CLEAN,	/* EOE, or AUDITLOG_STALE_LINES lines without a line
			   of its own: all the log will say about it */
	END_FORCED,	/* pending table full, or end of input */
};

enum arg_kind {
	ARG_WHOLE,	/* aN=value */
	ARG_LEN,	/* aN_len=L: aN[0], aN[1], ... follow */
	ARG_CHUNK,	/* aN[K]=value */
};

struct event {
	TAILQ_ENTRY(event) entry;
	char		 id[AUDITLOG_ID_MAX];
	size_t		 idlen;
	uint64_t	 timestamp_us;
	uint64_t	 last_line;	/* al->nlines at its latest line */
	size_t		 size;		/* bytes kept */
	int		 has_syscall;
	int		 has_execve;
	int		 has_argc;
	int		 has_cwd;
	int		 has_comm;
	int		 has_tty;
	int		 has_ses;
	int		 failed;	/* success=no: not an exec */
	int		 broken;	/* inconsistent lines or no memory */
	int		 oversize;
	int		 truncated;	/* argv cut at ARGV_MAX */
	uint32_t	 pid;
	uint32_t	 ppid;
	uint32_t	 uid;
	uint32_t	 ses;
	struct buf	 exe;
	struct buf	 comm;
	struct buf	 tty;
	struct buf	 cwd;
	struct buf	 argv;		/* raw until emitted */
	uint32_t	 argc;
	uint32_t	 nargs;		/* arguments started */
	int64_t		 curarg;	/* argument built from chunks */
	uint32_t	 nextchunk;
};
TAILQ_HEAD(eventq, event);

struct pident {
	LIST_ENTRY(pident) bucket;
	TAILQ_ENTRY(pident) lru;
	uint32_t	 pid;
	struct buf	 exe;
};
LIST_HEAD(pidbucket, pident);
TAILQ_HEAD(pidlru, pident);

struct auditlog {
	struct buf	 line;		/* a partial line */
	int		 discarding;	/* inside an over-long line */
	int		 nomem;
	uint64_t	 nlines;	/* lines processed */
	struct eventq	 events;	/* least recently active first */
	size_t		 nevents;
	struct pidbucket pids[AUDITLOG_PIDS_MAX];	/* hashed by pid */
	struct pidlru	 pidlru;	/* least recently used first */
	size_t		 npids;
	struct auditlog_stats stats;
};

/* Room for n more bytes and the NUL; the caller then adds to len. */
static char *
buf_reserve(struct buf *b, size_t n)
{
	size_t	 ncap;
	char	*np;

	if (n > SIZE_MAX / 4 - b->len)
		return (NULL);
	if (b->len + n + 1 > b->cap) {
		ncap = b->cap ? b->cap : 64;
		while (ncap < b->len + n + 1)
			ncap *= 2;
		if ((np = realloc(b->p, ncap)) == NULL)
			return (NULL);
		b->p = np;
		b->cap = ncap;
	}
	return (b->p + b->len);
}

/* Appending 0 bytes still allocates: an empty string is not nil. */
static int
buf_append(struct buf *b, const void *p, size_t n)
{
	char	*dst;

	if ((dst = buf_reserve(b, n)) == NULL)
		return (-1);
	if (n > 0)
		memcpy(dst, p, n);
	b->len += n;
	b->p[b->len] = '\0';
	return (0);
}

static void
buf_free(struct buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static struct wire_str
buf_str(const struct buf *b)
{
	struct wire_str	 s;

	s.s = b->p;
	s.len = b->len;
	return (s);
}

/*
 * Length of the well-formed UTF-8 sequence at p, or 0 with *bad set to the
 * length of its maximal ill-formed subpart, which becomes one U+FFFD (the
 * Unicode "best practice", chapter 3.9).  NUL counts as ill-formed: the
 * strings go out as C strings too.
 */
static size_t
utf8_seq(const unsigned char *p, size_t n, size_t *bad)
{
	unsigned char	 c = p[0], lo = 0x80, hi = 0xbf;
	size_t		 need, i;

	if (c >= 0x01 && c < 0x80)
		return (1);
	if (c >= 0xc2 && c <= 0xdf)
		need = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		need = 3;
		if (c == 0xe0)
			lo = 0xa0;	/* overlong */
		else if (c == 0xed)
			hi = 0x9f;	/* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 4;
		if (c == 0xf0)
			lo = 0x90;	/* overlong */
		else if (c == 0xf4)
			hi = 0x8f;	/* above U+10FFFF */
	} else {
		*bad = 1;
		return (0);
	}
	for (i = 1; i < need; i++) {
		if (i >= n || p[i] < lo || p[i] > hi) {
			*bad = i;
			return (0);
		}
		lo = 0x80;
		hi = 0xbf;
	}
	return (need);
}

/* Make b valid UTF-8 without NUL, in place when it already is. */
static int
utf8_sanitize(struct buf *b)
{
	const unsigned char	*p = (const unsigned char *)b->p;
	struct buf		 out;
	size_t			 i, n, bad;

	for (i = 0; i < b->len; i += n)
		if ((n = utf8_seq(p + i, b->len - i, &bad)) == 0)
			break;
	if (i == b->len)
		return (0);
	memset(&out, 0, sizeof(out));
	if (buf_append(&out, b->p, i) == -1)
		goto fail;
	while (i < b->len) {
		if ((n = utf8_seq(p + i, b->len - i, &bad)) > 0) {
			if (buf_append(&out, p + i, n) == -1)
				goto fail;
			i += n;
		} else {
			if (buf_append(&out, UTF8_REPL, 3) == -1)
				goto fail;
			i += bad;
		}
	}
	free(b->p);
	*b = out;
	return (0);
fail:
	buf_free(&out);
	return (-1);
}

/*
 * At most max decimal digits (at least one) into *v; returns the end, or
 * NULL.  max <= 19 never overflows; 20 is checked.
 */
static const char *
parse_digits(const char *p, const char *end, size_t max, uint64_t *v)
{
	const char	*start = p;
	unsigned	 d;

	*v = 0;
	while (p < end && *p >= '0' && *p <= '9') {
		d = *p - '0';
		if ((size_t)(p - start) == max || *v > (UINT64_MAX - d) / 10)
			return (NULL);
		*v = *v * 10 + d;
		p++;
	}
	return (p == start ? NULL : p);
}

static int
has_prefix(const char *p, const char *end, const char *prefix)
{
	size_t	 n = strlen(prefix);

	return ((size_t)(end - p) >= n && memcmp(p, prefix, n) == 0);
}

static const char *
skip_spaces(const char *p, const char *end)
{
	while (p < end && *p == ' ')
		p++;
	return (p);
}

/*
 * Next `key=value` of a field list: value is "quoted" (auditd has no
 * escapes) or runs to the next space.  Returns 1 with f filled, 0 at the
 * end, -1 when malformed.
 */
static int
field_next(const char **pp, const char *end, struct field *f)
{
	const char	*p, *q;

	p = skip_spaces(*pp, end);
	if (p == end) {
		*pp = p;
		return (0);
	}
	f->key = p;
	while (p < end && *p != '=' && *p != ' ')
		p++;
	if (p == end || *p != '=' || p == f->key)
		return (-1);
	f->keylen = p - f->key;
	p++;
	if (p < end && *p == '"') {
		p++;
		if ((q = memchr(p, '"', end - p)) == NULL)
			return (-1);
		f->val = p;
		f->vallen = q - p;
		f->quoted = 1;
		p = q + 1;
		if (p < end && *p != ' ')
			return (-1);
	} else {
		f->val = p;
		while (p < end && *p != ' ')
			p++;
		f->vallen = p - f->val;
		f->quoted = 0;
	}
	*pp = p;
	return (1);
}

static int
field_is(const struct field *f, const char *key)
{
	return (f->keylen == strlen(key) &&
	    memcmp(f->key, key, f->keylen) == 0);
}

static int
field_u32(const struct field *f, uint32_t *v)
{
	uint64_t	 n;

	if (f->quoted || parse_digits(f->val, f->val + f->vallen, 10, &n) !=
	    f->val + f->vallen || n > UINT32_MAX)
		return (-1);
	*v = n;
	return (0);
}

/* auditd's hex form: unquoted, even length, uppercase hex digits. */
static int
field_is_hex(const struct field *f)
{
	size_t	 i;
	char	 c;

	if (f->quoted || f->vallen == 0 || f->vallen % 2 != 0)
		return (0);
	for (i = 0; i < f->vallen; i++) {
		c = f->val[i];
		if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F')))
			return (0);
	}
	return (1);
}

static size_t
field_decoded_len(const struct field *f)
{
	return (field_is_hex(f) ? f->vallen / 2 : f->vallen);
}

static unsigned
hexval(char c)
{
	return (c <= '9' ? c - '0' : c - 'A' + 10);
}

/* Append the first n decoded bytes of f's value to b. */
static int
field_decode(const struct field *f, struct buf *b, size_t n)
{
	char	*dst;
	size_t	 i;

	if (!field_is_hex(f))
		return (buf_append(b, f->val, n));
	if ((dst = buf_reserve(b, n)) == NULL)
		return (-1);
	for (i = 0; i < n; i++)
		dst[i] = hexval(f->val[2 * i]) << 4 | hexval(f->val[2 * i + 1]);
	b->len += n;
	b->p[b->len] = '\0';
	return (0);
}

/* "aN", "aN_len" or "aN[K]" (EXECVE argument keys); -1 for any other. */
static int
arg_key(const struct field *f, uint32_t *n, enum arg_kind *kind, uint32_t *k)
{
	const char	*p = f->key, *end = f->key + f->keylen;
	uint64_t	 v;

	if (p == end || *p != 'a' ||
	    (p = parse_digits(p + 1, end, 9, &v)) == NULL)
		return (-1);
	*n = v;
	if (p == end) {
		*kind = ARG_WHOLE;
		return (0);
	}
	if (end - p == 4 && memcmp(p, "_len", 4) == 0) {
		*kind = ARG_LEN;
		return (0);
	}
	if (*p != '[' || (p = parse_digits(p + 1, end, 9, &v)) == NULL ||
	    end - p != 1 || *p != ']')
		return (-1);
	*k = v;
	*kind = ARG_CHUNK;
	return (0);
}

static enum audit_line_type
line_type(const char *type, size_t len)
{
	static const struct {
		const char		*name;
		enum audit_line_type	 type;
	} types[] = {
		{ "SYSCALL",	AUDIT_LINE_SYSCALL },
		{ "EXECVE",	AUDIT_LINE_EXECVE },
		{ "CWD",	AUDIT_LINE_CWD },
		{ "EOE",	AUDIT_LINE_EOE },
	};
	size_t	 i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strlen(types[i].name) == len &&
		    memcmp(types[i].name, type, len) == 0)
			return (types[i].type);
	return (AUDIT_LINE_OTHER);
}

/*
 * `[node=NAME ]type=TYPE msg=audit(SECONDS.MILLIS:SERIAL): FIELDS`, with
 * everything from a GS byte on (the enriched format's interpretations)
 * ignored.  Fields are checked only for the types used here: other types
 * (USER_* with their single-quoted msg='...') are passed over unparsed.
 */
int
auditlog_parse_line(const char *line, size_t len, struct audit_line *out)
{
	const char	*p = line, *end, *type, *q;
	uint64_t	 sec, ms, serial;
	struct field	 f;
	int		 r;

	memset(out, 0, sizeof(*out));
	if ((q = memchr(line, AUDIT_GS, len)) != NULL)
		len = q - line;
	end = line + len;
	if (has_prefix(p, end, "node=")) {
		if ((p = memchr(p, ' ', end - p)) == NULL)
			return (-1);
		p = skip_spaces(p, end);
	}
	if (!has_prefix(p, end, "type="))
		return (-1);
	type = p += 5;
	while (p < end && *p != ' ')
		p++;
	if (p == type)
		return (-1);
	out->type = line_type(type, p - type);
	p = skip_spaces(p, end);
	if (!has_prefix(p, end, "msg=audit("))
		return (-1);
	out->id = p += 10;
	if ((p = parse_digits(p, end, 20, &sec)) == NULL || p == end ||
	    *p != '.')
		return (-1);
	q = p + 1;
	if ((p = parse_digits(q, end, 3, &ms)) == NULL || p - q != 3 ||
	    p == end || *p != ':')
		return (-1);
	if ((p = parse_digits(p + 1, end, 20, &serial)) == NULL ||
	    end - p < 2 || p[0] != ')' || p[1] != ':')
		return (-1);
	if (sec > (UINT64_MAX - ms * 1000) / 1000000)
		return (-1);
	out->timestamp_us = sec * 1000000 + ms * 1000;
	out->idlen = p - out->id;
	out->fields = p + 2;
	out->fieldslen = end - out->fields;
	if (out->type == AUDIT_LINE_OTHER || out->type == AUDIT_LINE_EOE)
		return (0);
	q = out->fields;
	while ((r = field_next(&q, end, &f)) == 1)
		;
	return (r);
}

/* Fibonacci hashing: consecutive pids spread over the buckets. */
static struct pidbucket *
pid_bucket(struct auditlog *al, uint32_t pid)
{
	return (&al->pids[(uint32_t)(pid * 2654435769U) %
	    AUDITLOG_PIDS_MAX]);
}

static struct pident *
pid_find(struct auditlog *al, uint32_t pid)
{
	struct pident	*pe;

	LIST_FOREACH(pe, pid_bucket(al, pid), bucket)
		if (pe->pid == pid) {
			TAILQ_REMOVE(&al->pidlru, pe, lru);
			TAILQ_INSERT_TAIL(&al->pidlru, pe, lru);
			return (pe);
		}
	return (NULL);
}

static void
pid_forget(struct auditlog *al, struct pident *pe)
{
	LIST_REMOVE(pe, bucket);
	TAILQ_REMOVE(&al->pidlru, pe, lru);
	al->npids--;
	buf_free(&pe->exe);
	free(pe);
}

/* pid has just exec'd exe: takes exe's buffer. */
static void
pid_remember(struct auditlog *al, uint32_t pid, struct buf *exe)
{
	struct pident	*pe;

	if ((pe = pid_find(al, pid)) == NULL) {
		if (al->npids >= AUDITLOG_PIDS_MAX)
			pid_forget(al, TAILQ_FIRST(&al->pidlru));
		if ((pe = calloc(1, sizeof(*pe))) == NULL) {
			al->nomem = 1;
			return;
		}
		pe->pid = pid;
		LIST_INSERT_HEAD(pid_bucket(al, pid), pe, bucket);
		TAILQ_INSERT_TAIL(&al->pidlru, pe, lru);
		al->npids++;
	}
	buf_free(&pe->exe);
	pe->exe = *exe;
	memset(exe, 0, sizeof(*exe));
}

static void
event_free(struct event *ev)
{
	buf_free(&ev->exe);
	buf_free(&ev->comm);
	buf_free(&ev->tty);
	buf_free(&ev->cwd);
	buf_free(&ev->argv);
	free(ev);
}

static int
event_ready(const struct event *ev)
{
	return (ev->has_syscall && ev->has_execve && ev->has_argc &&
	    ev->nargs == ev->argc && !ev->failed && !ev->broken &&
	    !ev->oversize);
}

static void
event_emit(struct auditlog *al, struct event *ev, auditlog_emit_cb cb,
    void *arg)
{
	struct audit_record	 r;
	struct pident		*parent;

	if (buf_append(&ev->argv, "", 0) == -1 ||
	    utf8_sanitize(&ev->argv) == -1) {
		al->nomem = 1;
		al->stats.dropped_incomplete++;
		return;
	}
	memset(&r, 0, sizeof(r));
	r.timestamp_us = ev->timestamp_us;
	r.pid = ev->pid;
	r.ppid = ev->ppid;
	r.uid = ev->uid;
	r.exe = buf_str(&ev->exe);
	if (ev->has_comm)
		r.comm = buf_str(&ev->comm);
	r.argv = buf_str(&ev->argv);
	if (ev->has_cwd)
		r.cwd = buf_str(&ev->cwd);
	if (ev->has_tty)
		r.tty = buf_str(&ev->tty);
	r.session_id = ev->ses;
	r.has_session_id = ev->has_ses;
	/* The table is not touched until cb returns: parent stays valid. */
	if ((parent = pid_find(al, ev->ppid)) != NULL)
		r.parent_exe = buf_str(&parent->exe);
	r.audit_id.s = ev->id;
	r.audit_id.len = ev->idlen;
	al->stats.records++;
	if (ev->truncated)
		al->stats.truncated++;
	cb(&r, arg);
	pid_remember(al, ev->pid, &ev->exe);
}

/*
 * Retire an event.  An event that ends cleanly without EXECVE is some
 * other syscall (or an execve that failed before its arguments were
 * logged): not an exec, not counted.  success=no is never an exec.
 */
static void
event_end(struct auditlog *al, struct event *ev, enum event_end how,
    auditlog_emit_cb cb, void *arg)
{
	TAILQ_REMOVE(&al->events, ev, entry);
	al->nevents--;
	if (event_ready(ev))
		event_emit(al, ev, cb, arg);
	else if (ev->failed || (how == END_CLEAN && !ev->has_execve))
		;
	else if (ev->oversize)
		al->stats.dropped_oversize++;
	else
		al->stats.dropped_incomplete++;
	event_free(ev);
}

static struct event *
event_find(struct auditlog *al, const struct audit_line *l)
{
	struct event	*ev;

	TAILQ_FOREACH(ev, &al->events, entry)
		if (ev->idlen == l->idlen &&
		    memcmp(ev->id, l->id, l->idlen) == 0)
			return (ev);
	return (NULL);
}

/* A line of ev: it moves to the end of the queue (most recently active). */
static void
event_touch(struct auditlog *al, struct event *ev)
{
	TAILQ_REMOVE(&al->events, ev, entry);
	TAILQ_INSERT_TAIL(&al->events, ev, entry);
	ev->last_line = al->nlines;
}

/*
 * End the events that have had no line for AUDITLOG_STALE_LINES lines: an
 * auditd without EOE, or an EOE that never came.  The queue is in order of
 * activity, so only its head needs looking at.
 */
static void
events_expire(struct auditlog *al, auditlog_emit_cb cb, void *arg)
{
	struct event	*ev;

	while ((ev = TAILQ_FIRST(&al->events)) != NULL &&
	    al->nlines - ev->last_line >= AUDITLOG_STALE_LINES)
		event_end(al, ev, END_CLEAN, cb, arg);
}

/* A new event; when the table is full the least recently active ends. */
static struct event *
event_new(struct auditlog *al, const struct audit_line *l,
    auditlog_emit_cb cb, void *arg)
{
	struct event	*ev;

	if (l->idlen >= sizeof(ev->id))
		return (NULL);
	if (al->nevents >= AUDITLOG_PENDING_MAX)
		event_end(al, TAILQ_FIRST(&al->events), END_FORCED, cb, arg);
	if ((ev = calloc(1, sizeof(*ev))) == NULL) {
		al->nomem = 1;
		return (NULL);
	}
	memcpy(ev->id, l->id, l->idlen);
	ev->id[l->idlen] = '\0';
	ev->idlen = l->idlen;
	ev->timestamp_us = l->timestamp_us;
	ev->last_line = al->nlines;
	ev->curarg = -1;
	TAILQ_INSERT_TAIL(&al->events, ev, entry);
	al->nevents++;
	return (ev);
}

/* Keep the decoded value of f as a whole string of the event. */
static void
event_keep_str(struct auditlog *al, struct event *ev, struct buf *b,
    const struct field *f)
{
	size_t	 n = field_decoded_len(f);

	if (n > AUDITLOG_EVENT_MAX - ev->size) {
		ev->oversize = 1;
		return;
	}
	ev->size += n;
	b->len = 0;
	if (field_decode(f, b, n) == -1 || utf8_sanitize(b) == -1) {
		al->nomem = 1;
		ev->broken = 1;
	}
}

static void
event_syscall(struct auditlog *al, struct event *ev,
    const struct audit_line *l)
{
	const char	*p = l->fields, *end = l->fields + l->fieldslen;
	struct field	 f, exe, comm, tty;
	uint32_t	 pid = 0, ppid = 0, uid = 0, ses = 0;
	int		 seen = 0, failed = 0, bad = 0;

	memset(&exe, 0, sizeof(exe));
	memset(&comm, 0, sizeof(comm));
	memset(&tty, 0, sizeof(tty));
	while (field_next(&p, end, &f) == 1) {
		if (field_is(&f, "pid")) {
			bad |= field_u32(&f, &pid);
			seen |= S_PID;
		} else if (field_is(&f, "ppid")) {
			bad |= field_u32(&f, &ppid);
			seen |= S_PPID;
		} else if (field_is(&f, "uid")) {
			bad |= field_u32(&f, &uid);
			seen |= S_UID;
		} else if (field_is(&f, "ses")) {
			bad |= field_u32(&f, &ses);
			seen |= S_SES;
		} else if (field_is(&f, "exe")) {
			exe = f;
			seen |= S_EXE;
		} else if (field_is(&f, "comm")) {
			comm = f;
			seen |= S_COMM;
		} else if (field_is(&f, "tty")) {
			tty = f;
			seen |= S_TTY;
		} else if (field_is(&f, "success"))
			failed = f.vallen == 2 && memcmp(f.val, "no", 2) == 0;
	}
	if (bad || (seen & S_REQUIRED) != S_REQUIRED || ev->has_syscall) {
		al->stats.bad_lines++;
		return;
	}
	ev->has_syscall = 1;
	ev->failed = failed;
	ev->pid = pid;
	ev->ppid = ppid;
	ev->uid = uid;
	/* auditd's "unset" session is (u32)-1. */
	if ((seen & S_SES) && ses != UINT32_MAX) {
		ev->has_ses = 1;
		ev->ses = ses;
	}
	event_keep_str(al, ev, &ev->exe, &exe);
	if (seen & S_COMM) {
		ev->has_comm = 1;
		event_keep_str(al, ev, &ev->comm, &comm);
	}
	if ((seen & S_TTY) && !(tty.vallen == 6 &&
	    memcmp(tty.val, "(none)", 6) == 0)) {
		/* The kernel prints tty names as they are, never hex. */
		tty.quoted = 1;
		ev->has_tty = 1;
		event_keep_str(al, ev, &ev->tty, &tty);
	}
}

static void
event_cwd(struct auditlog *al, struct event *ev, const struct audit_line *l)
{
	const char	*p = l->fields, *end = l->fields + l->fieldslen;
	struct field	 f;

	while (field_next(&p, end, &f) == 1) {
		if (!field_is(&f, "cwd"))
			continue;
		if (ev->has_cwd) {
			al->stats.bad_lines++;
			return;
		}
		ev->has_cwd = 1;
		event_keep_str(al, ev, &ev->cwd, &f);
		return;
	}
	al->stats.bad_lines++;
}

/* Append up to what the argv and event bounds leave; the rest is cut. */
static void
argv_append(struct auditlog *al, struct event *ev, const struct field *f,
    const char *sep)
{
	size_t	 n, room;

	n = sep != NULL ? 1 : field_decoded_len(f);
	room = AUDITLOG_ARGV_MAX - ev->argv.len;
	if (AUDITLOG_EVENT_MAX - ev->size < room)
		room = AUDITLOG_EVENT_MAX - ev->size;
	if (n > room) {
		ev->truncated = 1;
		n = room;
	}
	if (n == 0)
		return;
	ev->size += n;
	if ((sep != NULL ? buf_append(&ev->argv, sep, n) :
	    field_decode(f, &ev->argv, n)) == -1) {
		al->nomem = 1;
		ev->broken = 1;
	}
}

static void
argv_start(struct auditlog *al, struct event *ev, int64_t chunked)
{
	if (ev->nargs > 0)
		argv_append(al, ev, NULL, " ");
	ev->nargs++;
	ev->curarg = chunked;
	ev->nextchunk = 0;
}

/*
 * One EXECVE line: `argc=N a0=.. a1=..`, long arguments as `aN_len=L
 * aN[0]=.. aN[1]=..`, each chunk quoted or hex on its own, and a long list
 * continued on further EXECVE lines of the same event.  Arguments must come
 * in order; anything else breaks the event.
 */
static void
event_execve(struct auditlog *al, struct event *ev,
    const struct audit_line *l)
{
	const char	*p = l->fields, *end = l->fields + l->fieldslen;
	struct field	 f;
	enum arg_kind	 kind;
	uint32_t	 n, k;

	ev->has_execve = 1;
	while (!ev->broken && field_next(&p, end, &f) == 1) {
		if (field_is(&f, "argc")) {
			if (ev->has_argc || field_u32(&f, &ev->argc) == -1)
				ev->broken = 1;
			ev->has_argc = 1;
			continue;
		}
		if (arg_key(&f, &n, &kind, &k) == -1)
			continue;
		if (!ev->has_argc || n >= ev->argc) {
			ev->broken = 1;
			break;
		}
		switch (kind) {
		case ARG_WHOLE:
			if (n != ev->nargs) {
				ev->broken = 1;
				break;
			}
			argv_start(al, ev, -1);
			argv_append(al, ev, &f, NULL);
			break;
		case ARG_LEN:
			if (n != ev->nargs)
				ev->broken = 1;
			else
				argv_start(al, ev, n);
			break;
		case ARG_CHUNK:
			if (n == ev->nargs && k == 0)
				argv_start(al, ev, n);
			else if (ev->curarg != n || ev->nextchunk != k) {
				ev->broken = 1;
				break;
			}
			argv_append(al, ev, &f, NULL);
			ev->nextchunk++;
			break;
		}
	}
	if (ev->broken)
		al->stats.bad_lines++;
}

/*
 * Every line counts towards the staleness of the events it is not part
 * of, a bad one too; a line of an open event (PATH, PROCTITLE included)
 * keeps that event fresh.
 */
static void
line_process(struct auditlog *al, const char *s, size_t len,
    auditlog_emit_cb cb, void *arg)
{
	struct audit_line	 l;
	struct event		*ev;

	al->nlines++;
	if (auditlog_parse_line(s, len, &l) == -1) {
		al->stats.bad_lines++;
		events_expire(al, cb, arg);
		return;
	}
	if ((ev = event_find(al, &l)) != NULL)
		event_touch(al, ev);
	events_expire(al, cb, arg);
	switch (l.type) {
	case AUDIT_LINE_OTHER:
		return;
	case AUDIT_LINE_EOE:
		if (ev != NULL)
			event_end(al, ev, END_CLEAN, cb, arg);
		return;
	default:
		break;
	}
	if (ev == NULL && (ev = event_new(al, &l, cb, arg)) == NULL) {
		al->stats.dropped_incomplete++;
		return;
	}
	switch (l.type) {
	case AUDIT_LINE_SYSCALL:
		event_syscall(al, ev, &l);
		break;
	case AUDIT_LINE_EXECVE:
		event_execve(al, ev, &l);
		break;
	case AUDIT_LINE_CWD:
		event_cwd(al, ev, &l);
		break;
	default:
		break;
	}
}

struct auditlog *
auditlog_new(void)
{
	struct auditlog	*al;
	size_t		 i;

	if ((al = calloc(1, sizeof(*al))) == NULL)
		return (NULL);
	TAILQ_INIT(&al->events);
	for (i = 0; i < AUDITLOG_PIDS_MAX; i++)
		LIST_INIT(&al->pids[i]);
	TAILQ_INIT(&al->pidlru);
	return (al);
}

void
auditlog_free(struct auditlog *al)
{
	struct event	*ev;
	struct pident	*pe;

	if (al == NULL)
		return;
	while ((ev = TAILQ_FIRST(&al->events)) != NULL) {
		TAILQ_REMOVE(&al->events, ev, entry);
		event_free(ev);
	}
	while ((pe = TAILQ_FIRST(&al->pidlru)) != NULL)
		pid_forget(al, pe);
	buf_free(&al->line);
	free(al);
}

/*
 * A complete line is parsed straight from the caller's buffer; only a
 * partial one is copied, and never beyond AUDITLOG_LINE_MAX: the rest of
 * a longer line is skipped up to its newline.
 */
int
auditlog_feed(struct auditlog *al, const char *buf, size_t len,
    auditlog_emit_cb cb, void *arg)
{
	const char	*nl;
	size_t		 n;

	while (len > 0) {
		nl = memchr(buf, '\n', len);
		n = nl != NULL ? (size_t)(nl - buf) : len;
		if (al->discarding)
			;
		else if (n > AUDITLOG_LINE_MAX - al->line.len) {
			al->stats.dropped_oversize++;
			al->line.len = 0;
			al->discarding = 1;
		} else if (nl != NULL && al->line.len == 0)
			line_process(al, buf, n, cb, arg);
		else if (buf_append(&al->line, buf, n) == -1) {
			al->nomem = 1;
			al->stats.bad_lines++;
			al->line.len = 0;
			al->discarding = 1;
		} else if (nl != NULL) {
			line_process(al, al->line.p, al->line.len, cb, arg);
			al->line.len = 0;
		}
		if (nl == NULL)
			break;
		al->discarding = 0;
		buf = nl + 1;
		len -= n + 1;
	}
	if (al->nomem) {
		al->nomem = 0;
		return (-1);
	}
	return (0);
}

void
auditlog_flush(struct auditlog *al, auditlog_emit_cb cb, void *arg)
{
	struct event	*ev;

	if (al->line.len > 0)
		al->stats.bad_lines++;
	al->line.len = 0;
	al->discarding = 0;
	while ((ev = TAILQ_FIRST(&al->events)) != NULL)
		event_end(al, ev, END_FORCED, cb, arg);
	al->nomem = 0;
}

const struct auditlog_stats *
auditlog_stats(struct auditlog *al)
{
	al->stats.open_events = al->nevents;
	return (&al->stats);
}
