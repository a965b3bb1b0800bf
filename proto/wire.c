/*
 * The MessagePack codec of every capsem wire message (capsem-protocol(7)), driven
 * by one table: each message is its tag, direction and field list, and one
 * generic encoder and decoder walk it.  Decoding runs on untrusted input
 * through the strict reader of mpack.c; encoding uses msgpack-c's packer
 * writing into a wbuf, refusing any body over FRAME_MAX.  Touches only its
 * arguments and the heap.
 */
#include <sys/stat.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define LIBBSD_OPENBSD_VIS
#include <vis.h>

#include <msgpack.h>

#include "mpack.h"
#include "wire.h"
#include "wiretab.h"

/* A field path for messages; truncation is harmless there. */
void
wire_mkpath(char *dst, size_t len, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(dst, len, fmt, ap);
	va_end(ap);
}

#define F(name, type, member) \
	{ name, type, offsetof(struct msg, u.member), 0, 0 }
#define FA(name, type, member, aux) \
	{ name, type, offsetof(struct msg, u.member), \
	    offsetof(struct msg, u.aux), 0 }
#define FAR(name, type, member) \
	{ name, type, offsetof(struct audit_record, member), 0, 0 }

static const struct wire_field f_bootconfig[] = {
	F("epoch_secs", WF_U64, bootconfig.epoch_secs),
	F("traceparent", WF_ESTR, bootconfig.traceparent),
	{ "caps", WF_CAPS, offsetof(struct msg, u.bootconfig.caps),
	    offsetof(struct msg, u.bootconfig.ncaps),
	    offsetof(struct msg, u.bootconfig.has_caps) },
};
static const struct wire_field f_setenv[] = {
	F("key", WF_STR, setenv.key),
	F("value", WF_STR, setenv.value),
};
static const struct wire_field f_resize[] = {
	F("cols", WF_U16, resize.cols),
	F("rows", WF_U16, resize.rows),
};
static const struct wire_field f_exec[] = {
	F("id", WF_U64, exec.id),
	F("command", WF_STR, exec.command),
};
static const struct wire_field f_ping[] = {
	F("epoch_secs", WF_U64, ping.epoch_secs),
};
/* ackreply, ack, execstarted and fileopdone share one layout. */
static const struct wire_field f_id[] = {
	F("id", WF_U64, ack.id),
};
static const struct wire_field f_filewrite[] = {
	F("id", WF_U64, filewrite.id),
	F("path", WF_STR, filewrite.path),
	F("data", WF_BYTES, filewrite.data),
	F("mode", WF_U32, filewrite.mode),
};
/* fileread and filedelete share one layout. */
static const struct wire_field f_idpath[] = {
	F("id", WF_U64, fileread.id),
	F("path", WF_STR, fileread.path),
};
static const struct wire_field f_ready[] = {
	F("version", WF_STR, ready.version),
};
static const struct wire_field f_boottiming[] = {
	FA("stages", WF_STAGES, boottiming.stages, boottiming.nstages),
};
static const struct wire_field f_execdone[] = {
	F("id", WF_U64, execdone.id),
	F("exit_code", WF_I32, execdone.exit_code),
};
/* filecreated and filemodified share one layout. */
static const struct wire_field f_filestat[] = {
	F("path", WF_STR, filecreated.path),
	F("size", WF_U64, filecreated.size),
};
static const struct wire_field f_filedeleted[] = {
	F("path", WF_STR, filedeleted.path),
};
static const struct wire_field f_filecontent[] = {
	F("id", WF_U64, filecontent.id),
	F("path", WF_STR, filecontent.path),
	F("data", WF_BYTES, filecontent.data),
};
static const struct wire_field f_error[] = {
	F("id", WF_U64, error.id),
	F("message", WF_STR, error.message),
};
static const struct wire_field f_shellexited[] = {
	F("exit_code", WF_I32, shellexited.exit_code),
	FA("signal", WF_OI32, shellexited.signal, shellexited.has_signal),
};
static const struct wire_field f_agentcaps[] = {
	{ "caps", WF_CAPS, offsetof(struct msg, u.agentcaps.caps),
	    offsetof(struct msg, u.agentcaps.ncaps),
	    offsetof(struct msg, u.agentcaps.has_caps) },
};
static const struct wire_field f_termmodes[] = {
	F("modes", WF_BYTES, termmodes.modes),
};
static const struct wire_field f_copyin[] = {
	F("id", WF_U64, copyin.id),
	F("path", WF_STR, copyin.path),
	F("size", WF_U64, copyin.size),
	F("mode", WF_U32, copyin.mode),
	FA("mtime_ns", WF_XI64, copyin.mtime_ns, copyin.has_mtime),
};
static const struct wire_field f_copystarted[] = {
	F("id", WF_U64, copystarted.id),
	F("size", WF_U64, copystarted.size),
	F("mode", WF_U32, copystarted.mode),
	FA("mtime_ns", WF_XI64, copystarted.mtime_ns, copystarted.has_mtime),
};
static const struct wire_field f_execio[] = {
	F("id", WF_U64, execio.id),
	F("command", WF_STR, execio.command),
	FA("env", WF_STRS, execio.env, execio.nenv),
	F("cwd", WF_STR, execio.cwd),
	F("cols", WF_U16, execio.cols),
	F("rows", WF_U16, execio.rows),
	F("timeout", WF_U32, execio.timeout),
};
static const struct wire_field f_execinput[] = {
	F("data", WF_BIN, execinput.data),
};
static const struct wire_field f_execsignal[] = {
	F("signal", WF_I32, execsignal.signal),
};
/* execoutwindow and execinwindow share one layout. */
static const struct wire_field f_execwindow[] = {
	F("bytes", WF_U32, execwindow.bytes),
};
static const struct wire_field f_execoutput[] = {
	F("stream", WF_U16, execoutput.stream),
	F("data", WF_BIN, execoutput.data),
};
static const struct wire_field f_audit[] = {
	FAR("timestamp_us", WF_U64, timestamp_us),
	FAR("pid", WF_U32, pid),
	FAR("ppid", WF_U32, ppid),
	FAR("uid", WF_U32, uid),
	FAR("exe", WF_STR, exe),
	FAR("comm", WF_OSTR, comm),
	FAR("argv", WF_STR, argv),
	FAR("cwd", WF_OSTR, cwd),
	FAR("tty", WF_OSTR, tty),
	{ "session_id", WF_OU32, offsetof(struct audit_record, session_id),
	    offsetof(struct audit_record, has_session_id), 0 },
	FAR("parent_exe", WF_OSTR, parent_exe),
	FAR("audit_id", WF_STR, audit_id),
};
static const struct wire_field f_stage[] = {
	{ "name", WF_STR, offsetof(struct boot_stage, name), 0, 0 },
	{ "duration_ms", WF_U64, offsetof(struct boot_stage, duration_ms),
	    0, 0 },
};

#define M(type, name, dir, ack, f) \
	[type] = { type, name, dir, ack, f, sizeof(f) / sizeof(f[0]) }
#define M0(type, name, dir) \
	[type] = { type, name, dir, 0, NULL, 0 }

static const struct wire_desc msgs[MSG_NTYPES] = {
	M(MSG_BOOTCONFIG, "bootconfig", WIRE_H2G, 0, f_bootconfig),
	M(MSG_SETENV, "setenv", WIRE_H2G, 0, f_setenv),
	M0(MSG_BOOTCONFIGDONE, "bootconfigdone", WIRE_H2G),
	M(MSG_RESIZE, "resize", WIRE_H2G, 0, f_resize),
	M(MSG_EXEC, "exec", WIRE_H2G, 1, f_exec),
	M(MSG_PING, "ping", WIRE_H2G, 0, f_ping),
	M(MSG_ACKREPLY, "ackreply", WIRE_H2G, 0, f_id),
	M(MSG_FILEWRITE, "filewrite", WIRE_H2G, 1, f_filewrite),
	M(MSG_FILEREAD, "fileread", WIRE_H2G, 1, f_idpath),
	M(MSG_FILEDELETE, "filedelete", WIRE_H2G, 1, f_idpath),
	M0(MSG_SHUTDOWN, "shutdown", WIRE_H2G),
	M0(MSG_PREPARESNAPSHOT, "preparesnapshot", WIRE_H2G),
	M0(MSG_UNFREEZE, "unfreeze", WIRE_H2G),
	M(MSG_READY, "ready", WIRE_G2H, 0, f_ready),
	M0(MSG_BOOTREADY, "bootready", WIRE_G2H),
	M(MSG_BOOTTIMING, "boottiming", WIRE_G2H, 0, f_boottiming),
	M(MSG_EXECSTARTED, "execstarted", WIRE_G2H, 0, f_id),
	M(MSG_EXECDONE, "execdone", WIRE_G2H, 1, f_execdone),
	M0(MSG_PONG, "pong", WIRE_G2H),
	M(MSG_ACK, "ack", WIRE_G2H, 0, f_id),
	M(MSG_FILECREATED, "filecreated", WIRE_G2H, 0, f_filestat),
	M(MSG_FILEMODIFIED, "filemodified", WIRE_G2H, 0, f_filestat),
	M(MSG_FILEDELETED, "filedeleted", WIRE_G2H, 0, f_filedeleted),
	M(MSG_FILECONTENT, "filecontent", WIRE_G2H, 1, f_filecontent),
	M(MSG_FILEOPDONE, "fileopdone", WIRE_G2H, 1, f_id),
	M(MSG_ERROR, "error", WIRE_G2H, 1, f_error),
	M0(MSG_SHUTDOWNREQUEST, "shutdownrequest", WIRE_G2H),
	M0(MSG_SUSPENDREQUEST, "suspendrequest", WIRE_G2H),
	M0(MSG_SNAPSHOTREADY, "snapshotready", WIRE_G2H),
	M(MSG_SHELLEXITED, "shellexited", WIRE_G2H, 1, f_shellexited),
	M(MSG_AGENTCAPS, "agentcaps", WIRE_G2H, 0, f_agentcaps),
	M(MSG_TERMMODES, "termmodes", WIRE_H2G, 0, f_termmodes),
	M(MSG_COPYIN, "copyin", WIRE_H2G, 0, f_copyin),
	M(MSG_COPYOUT, "copyout", WIRE_H2G, 0, f_idpath),
	M(MSG_COPYSTARTED, "copystarted", WIRE_G2H, 0, f_copystarted),
	M(MSG_EXECIO, "execio", WIRE_H2G, 1, f_execio),
	M(MSG_EXECINPUT, "execinput", WIRE_H2G, 0, f_execinput),
	M0(MSG_EXECINPUTEND, "execinputend", WIRE_H2G),
	M(MSG_EXECSIGNAL, "execsignal", WIRE_H2G, 0, f_execsignal),
	M(MSG_EXECRESIZE, "execresize", WIRE_H2G, 0, f_resize),
	M(MSG_EXECOUTWINDOW, "execoutwindow", WIRE_H2G, 0, f_execwindow),
	M(MSG_EXECOUTPUT, "execoutput", WIRE_G2H, 0, f_execoutput),
	M(MSG_EXECINWINDOW, "execinwindow", WIRE_G2H, 0, f_execwindow),
};

/* Every capability name this code knows, by bit (not const: cap_names
 * hands out the names as wire_str, whose s is not const). */
static struct {
	char		 name[24];
	uint32_t	 bit;
} captab[] = {
	{ CAP_SHELLEXITED, CAPB_SHELLEXITED },
	{ CAP_AGENTCAPS, CAPB_AGENTCAPS },
	{ CAP_EXECIO, CAPB_EXECIO },
	{ CAP_COPY, CAPB_COPY },
	{ CAP_COPYTIMES, CAPB_COPYTIMES },
	{ CAP_TERMMODES, CAPB_TERMMODES },
};

uint32_t
cap_mask(const struct wire_str *caps, size_t n)
{
	uint32_t	 mask = 0;
	size_t		 i, k;

	for (i = 0; i < n; i++)
		for (k = 0; k < sizeof(captab) / sizeof(captab[0]); k++)
			/* The length too: a str may hold a NUL, and
			 * "agentcaps\0x" is not "agentcaps". */
			if (caps[i].s != NULL &&
			    caps[i].len == strlen(captab[k].name) &&
			    memcmp(caps[i].s, captab[k].name,
			    caps[i].len) == 0)
				mask |= captab[k].bit;
	return (mask);
}

size_t
cap_names(uint32_t mask, struct wire_str *out)
{
	size_t	 k, n = 0;

	for (k = 0; k < sizeof(captab) / sizeof(captab[0]) &&
	    n < CAPB_NAMES_MAX; k++) {
		if ((mask & captab[k].bit) == 0)
			continue;
		out[n].s = captab[k].name;
		out[n].len = strlen(captab[k].name);
		n++;
	}
	return (n);
}

const char *
cap_string(uint32_t mask)
{
	static char	 buf[512];
	size_t		 k;

	buf[0] = '\0';
	for (k = 0; k < sizeof(captab) / sizeof(captab[0]); k++) {
		if ((mask & captab[k].bit) == 0)
			continue;
		if (buf[0] != '\0')
			strlcat(buf, " ", sizeof(buf));
		strlcat(buf, captab[k].name, sizeof(buf));
	}
	return (buf[0] != '\0' ? buf : "none");
}

static const struct wire_desc audit_desc =
	{ MSG_NONE, "audit", WIRE_AUDIT, 0, f_audit,
	    sizeof(f_audit) / sizeof(f_audit[0]) };
static const struct wire_desc stage_desc =
	{ MSG_NONE, "stage", WIRE_G2H, 0, f_stage,
	    sizeof(f_stage) / sizeof(f_stage[0]) };

static const char *errstrs[WERR_NCODES] = {
	[WERR_OK] = "no error",
	[WERR_TRUNCATED] = "truncated input",
	[WERR_LENGTH] = "declared length exceeds input",
	[WERR_TYPE] = "wrong type",
	[WERR_RANGE] = "integer out of range",
	[WERR_UTF8] = "invalid UTF-8",
	[WERR_MISSING] = "required field missing",
	[WERR_UNKNOWN_TAG] = "unknown message tag",
	[WERR_TRAILING] = "trailing bytes after message",
	[WERR_TOOBIG] = "frame too big",
	[WERR_DEPTH] = "nesting too deep",
	[WERR_DUPLICATE] = "duplicate key",
	[WERR_NOMEM] = "out of memory",
};

static const char *dirnames[] = {
	[WIRE_H2G] = "host-to-guest",
	[WIRE_G2H] = "guest-to-host",
	[WIRE_AUDIT] = "audit",
};

const struct wire_desc *
wire_desc(enum msg_type t)
{
	if (t <= MSG_NONE || t >= MSG_NTYPES)
		return (NULL);
	return (&msgs[t]);
}

const struct wire_desc *
wire_audit_desc(void)
{
	return (&audit_desc);
}

const struct wire_desc *
wire_stage_desc(void)
{
	return (&stage_desc);
}

const char *
wire_errstr(enum wire_errcode c)
{
	if ((int)c < 0 || c >= WERR_NCODES)
		return ("unknown error");
	return (errstrs[c]);
}

const char *
msg_type_name(enum msg_type t)
{
	const struct wire_desc	*d = wire_desc(t);

	return (d == NULL ? "none" : d->name);
}

enum msg_type
msg_type_from_name(enum wire_dir dir, const char *name, size_t len)
{
	int	t;

	for (t = MSG_NONE + 1; t < MSG_NTYPES; t++)
		if (msgs[t].dir == dir && strlen(msgs[t].name) == len &&
		    memcmp(msgs[t].name, name, len) == 0)
			return ((enum msg_type)t);
	return (MSG_NONE);
}

enum wire_dir
msg_type_dir(enum msg_type t)
{
	const struct wire_desc	*d = wire_desc(t);

	return (d == NULL ? WIRE_AUDIT : d->dir);
}

int
msg_is_ackable(enum msg_type t)
{
	const struct wire_desc	*d = wire_desc(t);

	return (d != NULL && d->ackable);
}

/*
 * The id an ack or ackreply for this ackable message carries (capsem-protocol(7)
 * "Reliability"); shellexited has none and is answered with id 0.
 */
uint64_t
msg_ack_id(const struct msg *m)
{
	switch (m->type) {
	case MSG_EXEC:
		return (m->u.exec.id);
	case MSG_EXECIO:
		return (m->u.execio.id);
	case MSG_FILEWRITE:
		return (m->u.filewrite.id);
	case MSG_FILEREAD:
		return (m->u.fileread.id);
	case MSG_FILEDELETE:
		return (m->u.filedelete.id);
	case MSG_EXECDONE:
		return (m->u.execdone.id);
	case MSG_FILECONTENT:
		return (m->u.filecontent.id);
	case MSG_FILEOPDONE:
		return (m->u.fileopdone.id);
	case MSG_ERROR:
		return (m->u.error.id);
	default:
		return (0);
	}
}

void
wbuf_init(struct wbuf *wb)
{
	wb->data = NULL;
	wb->len = wb->cap = 0;
}

void
wbuf_reset(struct wbuf *wb)
{
	wb->len = 0;
}

void
wbuf_free(struct wbuf *wb)
{
	free(wb->data);
	wbuf_init(wb);
}

static int
wbuf_reserve(struct wbuf *wb, size_t n)
{
	uint8_t	*p;
	size_t	 cap;

	if (wb->cap - wb->len >= n)
		return (0);
	cap = wb->cap < 256 ? 256 : wb->cap;
	while (cap - wb->len < n)
		cap *= 2;
	if ((p = realloc(wb->data, cap)) == NULL)
		return (-1);
	wb->data = p;
	wb->cap = cap;
	return (0);
}

static void
wstr_free(struct wire_str *ws)
{
	free(ws->s);
	ws->s = NULL;
	ws->len = 0;
}

void
wire_fields_free(void *base, const struct wire_desc *d)
{
	const struct wire_field	*f;
	struct boot_stage	*st;
	struct wire_str		*caps;
	struct wire_bytes	*wb;
	size_t			 i, k, n;

	for (i = 0; i < d->nfields; i++) {
		f = &d->fields[i];
		switch (f->type) {
		case WF_STR:
		case WF_OSTR:
		case WF_ESTR:
			wstr_free(WF_PTR(base, f->off, struct wire_str));
			break;
		case WF_BYTES:
		case WF_BIN:
			wb = WF_PTR(base, f->off, struct wire_bytes);
			free(wb->p);
			wb->p = NULL;
			wb->len = 0;
			break;
		case WF_STAGES:
			st = *WF_PTR(base, f->off, struct boot_stage *);
			n = *WF_PTR(base, f->aux, size_t);
			for (k = 0; k < n; k++)
				wstr_free(&st[k].name);
			free(st);
			*WF_PTR(base, f->off, struct boot_stage *) = NULL;
			*WF_PTR(base, f->aux, size_t) = 0;
			break;
		case WF_CAPS:
		case WF_STRS:
			caps = *WF_PTR(base, f->off, struct wire_str *);
			n = *WF_PTR(base, f->aux, size_t);
			for (k = 0; k < n; k++)
				wstr_free(&caps[k]);
			free(caps);
			*WF_PTR(base, f->off, struct wire_str *) = NULL;
			*WF_PTR(base, f->aux, size_t) = 0;
			if (f->type == WF_CAPS)
				*WF_PTR(base, f->aux2, int) = 0;
			break;
		default:
			break;
		}
	}
}

void
msg_free(struct msg *m)
{
	const struct wire_desc	*d;

	if (m == NULL)
		return;
	if ((d = wire_desc(m->type)) != NULL)
		wire_fields_free(m, d);
	memset(m, 0, sizeof(*m));
}

void
audit_record_free(struct audit_record *ar)
{
	if (ar == NULL)
		return;
	wire_fields_free(ar, &audit_desc);
	memset(ar, 0, sizeof(*ar));
}

/*
 * Encoding.  The packer's write callback appends to the wbuf after the
 * 4-byte header slot and refuses to let the body pass FRAME_MAX.
 */
struct enc {
	msgpack_packer	 pk;
	struct wbuf	*wb;
	size_t		 body;		/* body offset in wb */
	int		 toobig;
	int		 nomem;
	struct wire_err	*err;
};

static int
enc_write(void *arg, const char *buf, size_t len)
{
	struct enc	*e = arg;

	if (e->wb->len - e->body + len > FRAME_MAX) {
		e->toobig = 1;
		return (-1);
	}
	if (wbuf_reserve(e->wb, len) == -1) {
		e->nomem = 1;
		return (-1);
	}
	memcpy(e->wb->data + e->wb->len, buf, len);
	e->wb->len += len;
	return (0);
}

static int	enc_error(struct enc *, enum wire_errcode, const char *, ...)
		    __attribute__((__format__(printf, 3, 4)));
static int	enc_perror(struct enc *, enum wire_errcode,
		    const struct wpath *, const char *, ...)
		    __attribute__((__format__(printf, 4, 5)));

static int
enc_error(struct enc *e, enum wire_errcode code, const char *fmt, ...)
{
	va_list	ap;

	if (e->err->code != WERR_OK)
		return (-1);
	e->err->code = code;
	e->err->offset = e->wb->len - e->body;
	va_start(ap, fmt);
	vsnprintf(e->err->msg, sizeof(e->err->msg), fmt, ap);
	va_end(ap);
	return (-1);
}

/* An error about the field at path (formatted only now). */
static int
enc_perror(struct enc *e, enum wire_errcode code, const struct wpath *path,
    const char *fmt, ...)
{
	char	 where[128], msg[sizeof(e->err->msg)];
	va_list	 ap;

	if (e->err->code != WERR_OK)
		return (-1);
	wpath_fmt(path, where, sizeof(where));
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return (enc_error(e, code, "%s: %s", where, msg));
}

static int
enc_cstr(struct enc *e, const char *s)
{
	size_t	len = strlen(s);

	return (msgpack_pack_str(&e->pk, len) ||
	    msgpack_pack_str_body(&e->pk, s, len) ? -1 : 0);
}

static int
enc_str(struct enc *e, const struct wpath *path, const struct wire_str *ws,
    int opt)
{
	if (ws->s == NULL) {
		if (opt)
			return (msgpack_pack_nil(&e->pk) ? -1 : 0);
		return (enc_perror(e, WERR_MISSING, path,
		    "required str is NULL"));
	}
	if (!mpack_utf8_valid((const uint8_t *)ws->s, ws->len))
		return (enc_perror(e, WERR_UTF8, path,
		    "str is not valid UTF-8"));
	return (msgpack_pack_str(&e->pk, ws->len) ||
	    msgpack_pack_str_body(&e->pk, ws->s, ws->len) ? -1 : 0);
}

static int	enc_fields(struct enc *, const struct wpath *, const void *,
		    const struct wire_desc *);

/*
 * A byte array as the array of integers PROTOCOL.md asks for, written
 * directly: a byte below 0x80 as itself (positive fixint), any other as
 * 0xcc and the byte (uint 8), which is what msgpack_pack_uint8() makes,
 * without a call and a copy per byte.  Eight bytes below 0x80 at a time.
 */
static int
enc_bytes(struct enc *e, const struct wpath *path,
    const struct wire_bytes *wb)
{
	const uint8_t	*src = wb->p, *end;
	uint8_t		*dst;
	uint64_t	 w;

	if (wb->p == NULL && wb->len != 0)
		return (enc_perror(e, WERR_MISSING, path,
		    "NULL data of length %zu", wb->len));
	if (wb->len > FRAME_MAX)
		return (enc_perror(e, WERR_TOOBIG, path,
		    "%zu bytes cannot fit a frame", wb->len));
	if (msgpack_pack_array(&e->pk, wb->len))
		return (-1);
	if (wb->len == 0)
		return (0);
	if (wbuf_reserve(e->wb, 2 * wb->len) == -1) {
		e->nomem = 1;
		return (-1);
	}
	dst = e->wb->data + e->wb->len;
	end = src + wb->len;
	while (src < end) {
		if (end - src >= 8) {
			memcpy(&w, src, 8);
			if ((w & 0x8080808080808080ULL) == 0) {
				memcpy(dst, src, 8);
				dst += 8;
				src += 8;
				continue;
			}
		}
		if (*src < 0x80)
			*dst++ = *src++;
		else {
			*dst++ = 0xcc;
			*dst++ = *src++;
		}
	}
	if ((size_t)(dst - (e->wb->data + e->body)) > FRAME_MAX) {
		e->toobig = 1;
		return (-1);
	}
	e->wb->len = dst - e->wb->data;
	return (0);
}

static int
enc_field(struct enc *e, const struct wpath *path, const void *base,
    const struct wire_field *f)
{
	const struct wire_bytes	*wb;
	const struct boot_stage	*st;
	const struct wire_str	*caps;
	struct wpath		 sub = { path, NULL, NULL, 0, 0 };
	size_t			 i, n;

	switch (f->type) {
	case WF_U16:
		return (msgpack_pack_uint16(&e->pk,
		    *WF_CPTR(base, f->off, uint16_t)) ? -1 : 0);
	case WF_U32:
		return (msgpack_pack_uint32(&e->pk,
		    *WF_CPTR(base, f->off, uint32_t)) ? -1 : 0);
	case WF_U64:
		return (msgpack_pack_uint64(&e->pk,
		    *WF_CPTR(base, f->off, uint64_t)) ? -1 : 0);
	case WF_I32:
		return (msgpack_pack_int32(&e->pk,
		    *WF_CPTR(base, f->off, int32_t)) ? -1 : 0);
	case WF_OI32:
		if (!*WF_CPTR(base, f->aux, int))
			return (msgpack_pack_nil(&e->pk) ? -1 : 0);
		return (msgpack_pack_int32(&e->pk,
		    *WF_CPTR(base, f->off, int32_t)) ? -1 : 0);
	case WF_OU32:
		if (!*WF_CPTR(base, f->aux, int))
			return (msgpack_pack_nil(&e->pk) ? -1 : 0);
		return (msgpack_pack_uint32(&e->pk,
		    *WF_CPTR(base, f->off, uint32_t)) ? -1 : 0);
	case WF_XI64:
		return (msgpack_pack_int64(&e->pk,
		    *WF_CPTR(base, f->off, int64_t)) ? -1 : 0);
	case WF_ESTR:
		if (WF_CPTR(base, f->off, struct wire_str)->s == NULL)
			return (msgpack_pack_str(&e->pk, 0) ? -1 : 0);
		/* FALLTHROUGH */
	case WF_STR:
	case WF_OSTR:
		return (enc_str(e, path, WF_CPTR(base, f->off,
		    struct wire_str), f->type == WF_OSTR));
	case WF_BYTES:
		return (enc_bytes(e, path, WF_CPTR(base, f->off,
		    struct wire_bytes)));
	case WF_BIN:
		wb = WF_CPTR(base, f->off, struct wire_bytes);
		if (wb->p == NULL && wb->len != 0)
			return (enc_perror(e, WERR_MISSING, path,
			    "NULL data of length %zu", wb->len));
		if (wb->len > FRAME_MAX)
			return (enc_perror(e, WERR_TOOBIG, path,
			    "%zu bytes cannot fit a frame", wb->len));
		if (msgpack_pack_bin(&e->pk, wb->len) ||
		    msgpack_pack_bin_body(&e->pk, wb->p, wb->len))
			return (-1);
		return (0);
	case WF_STAGES:
		st = *WF_CPTR(base, f->off, struct boot_stage *);
		n = *WF_CPTR(base, f->aux, size_t);
		if (msgpack_pack_array(&e->pk, n))
			return (-1);
		for (i = 0; i < n; i++) {
			sub.idx = i;
			if (enc_fields(e, &sub, &st[i], &stage_desc) == -1)
				return (-1);
		}
		return (0);
	case WF_CAPS:
	case WF_STRS:
		caps = *WF_CPTR(base, f->off, struct wire_str *);
		n = *WF_CPTR(base, f->aux, size_t);
		if (msgpack_pack_array(&e->pk, n))
			return (-1);
		for (i = 0; i < n; i++) {
			sub.idx = i;
			if (enc_str(e, &sub, &caps[i], 0) == -1)
				return (-1);
		}
		return (0);
	}
	return (enc_perror(e, WERR_TYPE, path, "unknown field type"));
}

/* Whether field f is on the wire at all (absent caps and WF_XI64 are not). */
static int
enc_present(const void *base, const struct wire_field *f)
{
	if (f->type == WF_CAPS)
		return (*WF_CPTR(base, f->aux2, int));
	if (f->type == WF_XI64)
		return (*WF_CPTR(base, f->aux, int));
	return (1);
}

/* A map of the fields in table order; absent ones are left out. */
static int
enc_fields(struct enc *e, const struct wpath *prefix, const void *base,
    const struct wire_desc *d)
{
	const struct wire_field	*f;
	struct wpath		 path = { prefix, NULL, NULL, 0, 0 };
	size_t			 i, n = 0;

	for (i = 0; i < d->nfields; i++) {
		f = &d->fields[i];
		if (enc_present(base, f))
			n++;
	}
	if (msgpack_pack_map(&e->pk, n))
		return (-1);
	for (i = 0; i < d->nfields; i++) {
		f = &d->fields[i];
		if (!enc_present(base, f))
			continue;
		path.name = f->name;
		if (enc_cstr(e, f->name) == -1 ||
		    enc_field(e, &path, base, f) == -1)
			return (-1);
	}
	return (0);
}

static void
enc_start(struct enc *e, struct wbuf *wb, struct wire_err *err)
{
	e->wb = wb;
	e->err = err;
	e->toobig = e->nomem = 0;
	err->code = WERR_OK;
	err->offset = 0;
	err->msg[0] = '\0';
	msgpack_packer_init(&e->pk, e, enc_write);
}

/* Reserves the header slot: the body starts 4 bytes after the old end. */
static int
enc_header(struct enc *e)
{
	if (wbuf_reserve(e->wb, FRAME_HDRLEN) == -1)
		return (enc_error(e, WERR_NOMEM, "out of memory"));
	e->wb->len += FRAME_HDRLEN;
	e->body = e->wb->len;
	return (0);
}

static int
enc_finish(struct enc *e, size_t oldlen, int rc, const char *what)
{
	size_t	 n;
	uint8_t	*h;

	if (rc == -1) {
		if (e->toobig)
			enc_error(e, WERR_TOOBIG, "%s: body exceeds %d bytes",
			    what, FRAME_MAX);
		else if (e->nomem)
			enc_error(e, WERR_NOMEM, "%s: out of memory", what);
		else
			enc_error(e, WERR_TYPE, "%s: cannot encode", what);
		e->wb->len = oldlen;
		return (-1);
	}
	n = e->wb->len - e->body;
	h = e->wb->data + oldlen;
	h[0] = n >> 24;
	h[1] = n >> 16;
	h[2] = n >> 8;
	h[3] = n;
	return (0);
}

int
msg_encode(const struct msg *m, struct wbuf *wb, struct wire_err *err)
{
	const struct wire_desc	*d;
	struct enc		 e;
	size_t			 oldlen = wb->len;
	int			 rc = -1;

	enc_start(&e, wb, err);
	if ((d = wire_desc(m->type)) == NULL) {
		e.body = wb->len;
		enc_error(&e, WERR_UNKNOWN_TAG, "message type %d unknown",
		    (int)m->type);
		return (-1);
	}
	if (enc_header(&e) == -1)
		return (-1);
	if (msgpack_pack_map(&e.pk, d->nfields ? 2 : 1) == 0 &&
	    enc_cstr(&e, "t") == 0 && enc_cstr(&e, d->name) == 0) {
		if (d->nfields == 0)
			rc = 0;
		else if (enc_cstr(&e, "d") == 0)
			rc = enc_fields(&e, WPATH("d"), m, d);
	}
	return (enc_finish(&e, oldlen, rc, d->name));
}

int
audit_record_encode(const struct audit_record *ar, struct wbuf *wb,
    struct wire_err *err)
{
	struct enc	e;
	size_t		oldlen = wb->len;

	enc_start(&e, wb, err);
	if (enc_header(&e) == -1)
		return (-1);
	return (enc_finish(&e, oldlen, enc_fields(&e, WPATH(""), ar,
	    &audit_desc), "audit record"));
}

/*
 * Decoding: input from the peer, untrusted.  Each decoded str or byte array
 * is copied; an allocation is never larger than the bytes it copies, and
 * arrays of structs grow as their elements actually decode.
 */
static void *
dec_copy(struct mpack_reader *r, const uint8_t *p, size_t len)
{
	uint8_t	*s;

	if ((s = malloc(len + 1)) == NULL) {
		mpack_error(r, WERR_NOMEM, r->off, "out of memory");
		return (NULL);
	}
	memcpy(s, p, len);
	s[len] = '\0';
	return (s);
}

static int
dec_str(struct mpack_reader *r, const struct wpath *path, struct wire_str *ws)
{
	const uint8_t	*p;
	size_t		 len;

	if (mpack_read_str(r, path, &p, &len) == -1 ||
	    (ws->s = dec_copy(r, p, len)) == NULL)
		return (-1);
	ws->len = len;
	return (0);
}

static int
dec_bytes(struct mpack_reader *r, const struct wpath *path,
    struct wire_bytes *wb)
{
	const uint8_t	*p, *end;
	uint64_t	 v, w;
	size_t		 n, i;

	if (mpack_peek_bin(r)) {
		if (mpack_read_bin(r, path, &p, &n) == -1 ||
		    (wb->p = dec_copy(r, p, n)) == NULL)
			return (-1);
		wb->len = n;
		return (0);
	}
	/* The header check bounds n by the bytes left. */
	if (mpack_read_array(r, path, &n) == -1)
		return (-1);
	if ((wb->p = malloc(n + 1)) == NULL)
		return (mpack_error(r, WERR_NOMEM, r->off, "out of memory"));
	p = r->buf + r->off;
	end = r->buf + r->len;
	for (i = 0; i < n;) {
		/*
		 * The two forms an encoder uses for a byte (positive fixint,
		 * uint 8) directly, eight fixints at a time where they run;
		 * any other form through the generic reader, which accepts
		 * what fits and names what does not.
		 */
		if (n - i >= 8 && end - p >= 8) {
			memcpy(&w, p, 8);
			if ((w & 0x8080808080808080ULL) == 0) {
				memcpy(wb->p + i, p, 8);
				p += 8;
				i += 8;
				continue;
			}
		}
		if (p < end && *p <= 0x7f) {
			wb->p[i++] = *p++;
			continue;
		}
		if (end - p >= 2 && *p == 0xcc) {
			wb->p[i++] = p[1];
			p += 2;
			continue;
		}
		r->off = p - r->buf;
		if (mpack_read_uint(r, path, MPACK_U8, &v) == -1)
			return (-1);
		wb->p[i++] = v;
		p = r->buf + r->off;
	}
	r->off = p - r->buf;
	wb->len = n;
	return (0);
}

/* Makes room for element i of an array growing geometrically. */
static int
dec_grow(struct mpack_reader *r, void **arr, size_t *cap, size_t i,
    size_t size)
{
	void	*p;
	size_t	 ncap;

	if (i < *cap)
		return (0);
	ncap = *cap == 0 ? 4 : *cap * 2;
	if ((p = recallocarray(*arr, *cap, ncap, size)) == NULL)
		return (mpack_error(r, WERR_NOMEM, r->off, "out of memory"));
	*arr = p;
	*cap = ncap;
	return (0);
}

static int	dec_fields(struct mpack_reader *, const struct wpath *,
		    void *, const struct wire_desc *);

/* Arrays of stages or caps: the count is stored as elements complete. */
static int
dec_array(struct mpack_reader *r, const struct wpath *path, void *base,
    const struct wire_field *f)
{
	void		**arr = WF_PTR(base, f->off, void *);
	size_t		 *count = WF_PTR(base, f->aux, size_t);
	struct wpath	  sub = { path, NULL, NULL, 0, 0 };
	size_t		  n, i, cap = 0, size;

	size = f->type == WF_STAGES ? sizeof(struct boot_stage) :
	    sizeof(struct wire_str);
	if (mpack_read_array(r, path, &n) == -1)
		return (-1);
	for (i = 0; i < n; i++) {
		if (dec_grow(r, arr, &cap, i, size) == -1)
			return (-1);
		sub.idx = i;
		if (f->type == WF_STAGES) {
			if (dec_fields(r, &sub, (char *)*arr + i * size,
			    &stage_desc) == -1) {
				/* Count it so its partial name is freed. */
				*count = i + 1;
				return (-1);
			}
		} else if (dec_str(r, &sub,
		    (struct wire_str *)*arr + i) == -1)
			return (-1);
		*count = i + 1;
	}
	return (0);
}

static int
dec_field(struct mpack_reader *r, const struct wpath *path, void *base,
    const struct wire_field *f)
{
	uint64_t	u;
	int64_t		s;

	switch (f->type) {
	case WF_U16:
		if (mpack_read_uint(r, path, MPACK_U16, &u) == -1)
			return (-1);
		*WF_PTR(base, f->off, uint16_t) = u;
		return (0);
	case WF_OU32:
		if (mpack_try_nil(r))
			return (0);
		*WF_PTR(base, f->aux, int) = 1;
		/* FALLTHROUGH */
	case WF_U32:
		if (mpack_read_uint(r, path, MPACK_U32, &u) == -1)
			return (-1);
		*WF_PTR(base, f->off, uint32_t) = u;
		return (0);
	case WF_U64:
		return (mpack_read_uint(r, path, MPACK_U64,
		    WF_PTR(base, f->off, uint64_t)));
	case WF_XI64:
		if (mpack_try_nil(r))
			return (0);
		if (mpack_read_int(r, path, MPACK_I64, &s) == -1)
			return (-1);
		*WF_PTR(base, f->off, int64_t) = s;
		*WF_PTR(base, f->aux, int) = 1;
		return (0);
	case WF_OI32:
		if (mpack_try_nil(r))
			return (0);
		*WF_PTR(base, f->aux, int) = 1;
		/* FALLTHROUGH */
	case WF_I32:
		if (mpack_read_int(r, path, MPACK_I32, &s) == -1)
			return (-1);
		*WF_PTR(base, f->off, int32_t) = s;
		return (0);
	case WF_OSTR:
	case WF_ESTR:
		if (mpack_try_nil(r))
			return (0);
		/* FALLTHROUGH */
	case WF_STR:
		return (dec_str(r, path, WF_PTR(base, f->off,
		    struct wire_str)));
	case WF_BYTES:
	case WF_BIN:
		return (dec_bytes(r, path, WF_PTR(base, f->off,
		    struct wire_bytes)));
	case WF_STRS:
		return (dec_array(r, path, base, f));
	case WF_CAPS:
		if (mpack_try_nil(r))
			return (0);
		*WF_PTR(base, f->aux2, int) = 1;
		/* FALLTHROUGH */
	case WF_STAGES:
		return (dec_array(r, path, base, f));
	}
	return (mpack_perror(r, WERR_TYPE, r->off, path, "unknown field type"));
}

/* Prints at most 32 bytes of peer-supplied text safely into dst. */
static void
safe_name(char *dst, size_t dstlen, const uint8_t *p, size_t len)
{
	char	tmp[32 * 4 + 1];

	strvisx(tmp, (const char *)p, len > 32 ? 32 : len,
	    VIS_SAFE | VIS_CSTYLE | VIS_OCTAL | VIS_NL | VIS_TAB);
	wire_mkpath(dst, dstlen, "%s%s", tmp, len > 32 ? "..." : "");
}

static int
key_is(const struct wire_field *f, const uint8_t *key, size_t klen)
{
	return (strlen(f->name) == klen && memcmp(f->name, key, klen) == 0);
}

/* A map of named fields, in any order; unknown keys are skipped. */
static int
dec_fields(struct mpack_reader *r, const struct wpath *prefix, void *base,
    const struct wire_desc *d)
{
	const struct wire_field	*f;
	const uint8_t		*key;
	struct wpath		 path = { prefix, NULL, NULL, 0, 0 };
	size_t			 n, i, k, klen, start, next = 0;
	uint32_t		 seen = 0;

	if (mpack_read_map(r, prefix->up == NULL && *prefix->name == '\0' ?
	    WPATH("record") : prefix, &n) == -1)
		return (-1);
	for (i = 0; i < n; i++) {
		start = r->off;
		path.name = "key";
		path.raw = NULL;
		if (mpack_read_str(r, &path, &key, &klen) == -1)
			return (-1);
		/* Encoders write the fields in table order: try the next. */
		k = next < d->nfields && key_is(&d->fields[next], key, klen) ?
		    next : 0;
		for (; k < d->nfields; k++)
			if (key_is(&d->fields[k], key, klen))
				break;
		next = k + 1;
		if (k == d->nfields) {
			path.name = NULL;
			path.raw = key;
			path.len = klen;
			if (mpack_skip(r, &path) == -1)
				return (-1);
			continue;
		}
		f = &d->fields[k];
		path.name = f->name;
		if (seen & (1U << k))
			return (mpack_perror(r, WERR_DUPLICATE, start, &path,
			    "key given twice"));
		seen |= 1U << k;
		if (dec_field(r, &path, base, f) == -1)
			return (-1);
	}
	for (k = 0; k < d->nfields; k++) {
		f = &d->fields[k];
		if ((seen & (1U << k)) || f->type == WF_OSTR ||
		    f->type == WF_ESTR || f->type == WF_OI32 ||
		    f->type == WF_OU32 || f->type == WF_CAPS ||
		    f->type == WF_XI64)
			continue;
		path.name = f->name;
		path.raw = NULL;
		return (mpack_perror(r, WERR_MISSING, r->off, &path,
		    "required field missing"));
	}
	return (0);
}

static int
dec_trailing(struct mpack_reader *r, const char *what)
{
	if (mpack_left(r) != 0)
		return (mpack_error(r, WERR_TRAILING, r->off,
		    "%s: %zu trailing bytes", what, mpack_left(r)));
	return (0);
}

/*
 * The envelope {"t": NAME, "d": {...}}, keys in any order.  Normally `t`
 * comes first and `d` is decoded where it stands.  When `d` comes first it
 * is skipped (which checks it, with room for the depth its fields may
 * legitimately reach) to find `t`, then decoded in place.
 */
#define ENVELOPE_SKIPDEPTH	(MPACK_MAXDEPTH + 4)

static int
dec_tag(struct mpack_reader *r, enum wire_dir dir, struct msg *m)
{
	const uint8_t	*key;
	char		 name[160];
	size_t		 klen, start = r->off;

	if (mpack_read_str(r, WPATH("t"), &key, &klen) == -1)
		return (-1);
	m->type = msg_type_from_name(dir, (const char *)key, klen);
	if (m->type != MSG_NONE)
		return (0);
	safe_name(name, sizeof(name), key, klen);
	return (mpack_error(r, WERR_UNKNOWN_TAG, start,
	    "t: unknown %s message \"%s\"",
	    (unsigned)dir < 3 ? dirnames[dir] : "?", name));
}

static int
dec_body(struct mpack_reader *r, struct msg *m)
{
	const struct wire_desc	*d = &msgs[m->type];

	if (d->nfields == 0)
		return (mpack_skip(r, WPATH("d")));
	return (dec_fields(r, WPATH("d"), m, d));
}

static int
dec_envelope(struct mpack_reader *r, enum wire_dir dir, struct msg *m)
{
	const uint8_t	*key;
	size_t		 n, i, klen, start, doff = 0;
	int		 havet = 0, haved = 0, deferred = 0;

	if (mpack_read_map(r, WPATH("message"), &n) == -1)
		return (-1);
	for (i = 0; i < n; i++) {
		start = r->off;
		if (mpack_read_str(r, WPATH("message key"), &key, &klen) == -1)
			return (-1);
		if (klen != 1 || (key[0] != 't' && key[0] != 'd')) {
			if (mpack_skip(r, WPATH("message")) == -1)
				return (-1);
			continue;
		}
		if (key[0] == 't' ? havet : haved)
			return (mpack_error(r, WERR_DUPLICATE, start,
			    "%c: key given twice", key[0]));
		if (key[0] == 't') {
			havet = 1;
			if (dec_tag(r, dir, m) == -1)
				return (-1);
		} else {
			haved = 1;
			deferred = !havet;
			doff = r->off;
			if ((havet ? dec_body(r, m) : mpack_skip_depth(r,
			    WPATH("d"), ENVELOPE_SKIPDEPTH)) == -1)
				return (-1);
		}
	}
	if (dec_trailing(r, "message") == -1)
		return (-1);
	if (!havet)
		return (mpack_error(r, WERR_MISSING, 0,
		    "t: required field missing"));
	if (!haved) {
		if (msgs[m->type].nfields == 0)
			return (0);
		return (mpack_error(r, WERR_MISSING, r->off,
		    "d: required field missing for %s", msgs[m->type].name));
	}
	if (deferred) {
		/* d came before t: decode it now, then back to the end. */
		n = r->off;
		r->off = doff;
		if (dec_body(r, m) == -1)
			return (-1);
		r->off = n;
	}
	return (0);
}

int
msg_decode(enum wire_dir dir, const uint8_t *buf, size_t len, struct msg *m,
    struct wire_err *err)
{
	struct mpack_reader	r;

	memset(m, 0, sizeof(*m));
	mpack_reader_init(&r, buf, len, err);
	if (len > FRAME_MAX) {
		mpack_error(&r, WERR_TOOBIG, 0, "message: %zu bytes exceeds "
		    "%d", len, FRAME_MAX);
		return (-1);
	}
	if (dec_envelope(&r, dir, m) == -1) {
		msg_free(m);
		return (-1);
	}
	return (0);
}

int
audit_record_decode(const uint8_t *buf, size_t len, struct audit_record *ar,
    struct wire_err *err)
{
	struct mpack_reader	r;

	memset(ar, 0, sizeof(*ar));
	mpack_reader_init(&r, buf, len, err);
	if (len > FRAME_MAX) {
		mpack_error(&r, WERR_TOOBIG, 0, "record: %zu bytes exceeds "
		    "%d", len, FRAME_MAX);
		return (-1);
	}
	if (dec_fields(&r, WPATH(""), ar, &audit_desc) == -1 ||
	    dec_trailing(&r, "record") == -1) {
		audit_record_free(ar);
		return (-1);
	}
	return (0);
}

/* A file time as copytimes sends it: nanoseconds, saturated. */
int64_t
timespec_ns(const struct timespec *ts)
{
	if (ts->tv_sec > INT64_MAX / 1000000000 - 1)
		return (INT64_MAX);
	if (ts->tv_sec < INT64_MIN / 1000000000 + 1)
		return (INT64_MIN);
	return ((int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec);
}

/* And back: seconds rounded down, so that tv_nsec is in 0..999999999. */
struct timespec
ns_timespec(int64_t ns)
{
	struct timespec	 ts;

	ts.tv_sec = ns / 1000000000;
	ts.tv_nsec = ns % 1000000000;
	if (ts.tv_nsec < 0) {
		ts.tv_sec--;
		ts.tv_nsec += 1000000000;
	}
	return (ts);
}

/* What futimens() and utimensat() take to set mtime, the atime left as is. */
void
mtime_only(struct timespec ts[2], struct timespec mtime)
{
	ts[0].tv_sec = 0;
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1] = mtime;
}
