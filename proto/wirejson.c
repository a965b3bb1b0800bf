/*
 * JSON <-> struct conversion for wire messages and audit records (see
 * wirejson.h), walking the same message table as the MessagePack codec so
 * the two cannot disagree on names, order or optionality.  Touches only its
 * arguments and the heap.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"
#include "wirejson.h"
#include "wiretab.h"

struct jerr {
	char	*buf;
	size_t	 len;
};

static int	jfail(struct jerr *, const char *, ...)
		    __attribute__((__format__(printf, 2, 3)));

static int
jfail(struct jerr *e, const char *fmt, ...)
{
	va_list	ap;

	if (e->buf != NULL && e->len > 0) {
		va_start(ap, fmt);
		vsnprintf(e->buf, e->len, fmt, ap);
		va_end(ap);
	}
	return (-1);
}

static int
optional(enum wire_ftype t)
{
	return (t == WF_OSTR || t == WF_ESTR || t == WF_OI32 || t == WF_OU32 ||
	    t == WF_CAPS || t == WF_XI64);
}

static int
j_int(struct jerr *e, const char *path, json_t *v, json_int_t min,
    json_int_t max, json_int_t *out)
{
	if (!json_is_integer(v))
		return (jfail(e, "%s: expected an integer", path));
	*out = json_integer_value(v);
	if (*out < min || *out > max)
		return (jfail(e, "%s: integer %lld out of range", path,
		    (long long)*out));
	return (0);
}

static int
j_str(struct jerr *e, const char *path, json_t *v, struct wire_str *ws)
{
	size_t	len;

	if (!json_is_string(v))
		return (jfail(e, "%s: expected a string", path));
	len = json_string_length(v);
	if ((ws->s = malloc(len + 1)) == NULL)
		return (jfail(e, "%s: out of memory", path));
	memcpy(ws->s, json_string_value(v), len);
	ws->s[len] = '\0';
	ws->len = len;
	return (0);
}

static int
j_bytes(struct jerr *e, const char *path, json_t *v, struct wire_bytes *wb)
{
	json_int_t	b;
	size_t		i, n;

	if (!json_is_array(v))
		return (jfail(e, "%s: expected an array of bytes", path));
	n = json_array_size(v);
	if ((wb->p = malloc(n + 1)) == NULL)
		return (jfail(e, "%s: out of memory", path));
	for (i = 0; i < n; i++) {
		if (j_int(e, path, json_array_get(v, i), 0, 255, &b) == -1)
			return (-1);
		wb->p[i] = b;
	}
	wb->len = n;
	return (0);
}

static int	from_fields(struct jerr *, const char *, json_t *, void *,
		    const struct wire_desc *);

static int
j_array(struct jerr *e, const char *path, json_t *v, void *base,
    const struct wire_field *f)
{
	void	**arr = WF_PTR(base, f->off, void *);
	size_t	 *count = WF_PTR(base, f->aux, size_t);
	char	  sub[64];
	size_t	  i, n, size;

	size = f->type == WF_STAGES ? sizeof(struct boot_stage) :
	    sizeof(struct wire_str);
	if (!json_is_array(v))
		return (jfail(e, "%s: expected an array", path));
	n = json_array_size(v);
	if ((*arr = calloc(n + 1, size)) == NULL)
		return (jfail(e, "%s: out of memory", path));
	for (i = 0; i < n; i++) {
		wire_mkpath(sub, sizeof(sub), "%s[%zu]", path, i);
		*count = i + 1;
		if (f->type == WF_STAGES ?
		    from_fields(e, sub, json_array_get(v, i),
		    (char *)*arr + i * size, wire_stage_desc()) == -1 :
		    j_str(e, sub, json_array_get(v, i),
		    (struct wire_str *)*arr + i) == -1)
			return (-1);
	}
	return (0);
}

static int
from_field(struct jerr *e, const char *path, json_t *v, void *base,
    const struct wire_field *f)
{
	json_int_t	i;

	if (json_is_null(v) && optional(f->type))
		return (0);
	switch (f->type) {
	case WF_U16:
		if (j_int(e, path, v, 0, UINT16_MAX, &i) == -1)
			return (-1);
		*WF_PTR(base, f->off, uint16_t) = i;
		return (0);
	case WF_OU32:
		*WF_PTR(base, f->aux, int) = 1;
		/* FALLTHROUGH */
	case WF_U32:
		if (j_int(e, path, v, 0, UINT32_MAX, &i) == -1)
			return (-1);
		*WF_PTR(base, f->off, uint32_t) = i;
		return (0);
	case WF_U64:
		if (j_int(e, path, v, 0, INT64_MAX, &i) == -1)
			return (-1);
		*WF_PTR(base, f->off, uint64_t) = i;
		return (0);
	case WF_XI64:
		if (j_int(e, path, v, INT64_MIN, INT64_MAX, &i) == -1)
			return (-1);
		*WF_PTR(base, f->off, int64_t) = i;
		*WF_PTR(base, f->aux, int) = 1;
		return (0);
	case WF_OI32:
		*WF_PTR(base, f->aux, int) = 1;
		/* FALLTHROUGH */
	case WF_I32:
		if (j_int(e, path, v, INT32_MIN, INT32_MAX, &i) == -1)
			return (-1);
		*WF_PTR(base, f->off, int32_t) = i;
		return (0);
	case WF_STR:
	case WF_OSTR:
	case WF_ESTR:
		return (j_str(e, path, v, WF_PTR(base, f->off,
		    struct wire_str)));
	case WF_BYTES:
	case WF_BIN:
		return (j_bytes(e, path, v, WF_PTR(base, f->off,
		    struct wire_bytes)));
	case WF_STRS:
		return (j_array(e, path, v, base, f));
	case WF_CAPS:
		*WF_PTR(base, f->aux2, int) = 1;
		/* FALLTHROUGH */
	case WF_STAGES:
		return (j_array(e, path, v, base, f));
	}
	return (jfail(e, "%s: unknown field type", path));
}

static const struct wire_field *
find_field(const struct wire_desc *d, const char *name)
{
	size_t	i;

	for (i = 0; i < d->nfields; i++)
		if (strcmp(d->fields[i].name, name) == 0)
			return (&d->fields[i]);
	return (NULL);
}

static int
from_fields(struct jerr *e, const char *prefix, json_t *obj, void *base,
    const struct wire_desc *d)
{
	const struct wire_field	*f;
	const char		*key;
	json_t			*v;
	char			 path[64];
	size_t			 i;

	if (!json_is_object(obj))
		return (jfail(e, "%s: expected an object",
		    *prefix ? prefix : "record"));
	json_object_foreach(obj, key, v) {
		if (find_field(d, key) == NULL)
			return (jfail(e, "%s%s%s: unknown key", prefix,
			    *prefix ? "." : "", key));
	}
	for (i = 0; i < d->nfields; i++) {
		f = &d->fields[i];
		wire_mkpath(path, sizeof(path), "%s%s%s", prefix,
		    *prefix ? "." : "", f->name);
		if ((v = json_object_get(obj, f->name)) == NULL) {
			if (optional(f->type))
				continue;
			return (jfail(e, "%s: required field missing", path));
		}
		if (from_field(e, path, v, base, f) == -1)
			return (-1);
	}
	return (0);
}

int
msg_from_json(enum wire_dir dir, json_t *obj, struct msg *m, char *err,
    size_t errlen)
{
	const struct wire_desc	*d;
	const char		*key;
	json_t			*t, *v;
	struct jerr		 e = { err, errlen };

	memset(m, 0, sizeof(*m));
	if (!json_is_object(obj))
		return (jfail(&e, "message: expected an object"));
	json_object_foreach(obj, key, v) {
		if (strcmp(key, "t") != 0 && strcmp(key, "d") != 0)
			return (jfail(&e, "%s: unknown key", key));
	}
	if (!json_is_string(t = json_object_get(obj, "t")))
		return (jfail(&e, "t: expected a string"));
	m->type = msg_type_from_name(dir, json_string_value(t),
	    json_string_length(t));
	if ((d = wire_desc(m->type)) == NULL)
		return (jfail(&e, "t: unknown message \"%s\" for this "
		    "direction", json_string_value(t)));
	v = json_object_get(obj, "d");
	if (d->nfields == 0) {
		if (v != NULL && !json_is_null(v) &&
		    !(json_is_object(v) && json_object_size(v) == 0))
			return (jfail(&e, "d: %s has no fields", d->name));
		return (0);
	}
	if (v == NULL)
		return (jfail(&e, "d: required field missing"));
	if (from_fields(&e, "d", v, m, d) == -1) {
		msg_free(m);
		return (-1);
	}
	return (0);
}

int
audit_record_from_json(json_t *obj, struct audit_record *ar, char *err,
    size_t errlen)
{
	struct jerr	e = { err, errlen };

	memset(ar, 0, sizeof(*ar));
	if (from_fields(&e, "", obj, ar, wire_audit_desc()) == -1) {
		audit_record_free(ar);
		return (-1);
	}
	return (0);
}

static json_t *
jstr(const struct wire_str *ws)
{
	if (ws->s == NULL)
		return (json_null());
	return (json_stringn(ws->s, ws->len));
}

static json_t *
ju64(uint64_t v)
{
	if (v > INT64_MAX)
		return (NULL);
	return (json_integer((json_int_t)v));
}

static json_t	*to_fields(const void *, const struct wire_desc *);

static json_t *
to_field(const void *base, const struct wire_field *f)
{
	const struct wire_bytes	*wb;
	const struct boot_stage	*st;
	const struct wire_str	*caps;
	json_t			*a;
	size_t			 i, n;

	switch (f->type) {
	case WF_U16:
		return (json_integer(*WF_CPTR(base, f->off, uint16_t)));
	case WF_OU32:
		if (!*WF_CPTR(base, f->aux, int))
			return (json_null());
		/* FALLTHROUGH */
	case WF_U32:
		return (json_integer(*WF_CPTR(base, f->off, uint32_t)));
	case WF_U64:
		return (ju64(*WF_CPTR(base, f->off, uint64_t)));
	case WF_XI64:
		return (json_integer(*WF_CPTR(base, f->off, int64_t)));
	case WF_OI32:
		if (!*WF_CPTR(base, f->aux, int))
			return (json_null());
		/* FALLTHROUGH */
	case WF_I32:
		return (json_integer(*WF_CPTR(base, f->off, int32_t)));
	case WF_ESTR:
		/* As on the wire: none is "". */
		if (WF_CPTR(base, f->off, struct wire_str)->s == NULL)
			return (json_string(""));
		/* FALLTHROUGH */
	case WF_STR:
	case WF_OSTR:
		return (jstr(WF_CPTR(base, f->off, struct wire_str)));
	case WF_BYTES:
	case WF_BIN:
		wb = WF_CPTR(base, f->off, struct wire_bytes);
		if ((a = json_array()) == NULL)
			return (NULL);
		for (i = 0; i < wb->len; i++)
			if (json_array_append_new(a,
			    json_integer(wb->p[i])) == -1) {
				json_decref(a);
				return (NULL);
			}
		return (a);
	case WF_STAGES:
	case WF_CAPS:
	case WF_STRS:
		st = *WF_CPTR(base, f->off, struct boot_stage *);
		caps = *WF_CPTR(base, f->off, struct wire_str *);
		n = *WF_CPTR(base, f->aux, size_t);
		if ((a = json_array()) == NULL)
			return (NULL);
		for (i = 0; i < n; i++)
			if (json_array_append_new(a, f->type == WF_STAGES ?
			    to_fields(&st[i], wire_stage_desc()) :
			    jstr(&caps[i])) == -1) {
				json_decref(a);
				return (NULL);
			}
		return (a);
	}
	return (NULL);
}

static json_t *
to_fields(const void *base, const struct wire_desc *d)
{
	const struct wire_field	*f;
	json_t			*o;
	size_t			 i;

	if ((o = json_object()) == NULL)
		return (NULL);
	for (i = 0; i < d->nfields; i++) {
		f = &d->fields[i];
		if ((f->type == WF_CAPS && !*WF_CPTR(base, f->aux2, int)) ||
		    (f->type == WF_XI64 && !*WF_CPTR(base, f->aux, int)))
			continue;
		/* set_new takes the value's reference even on failure. */
		if (json_object_set_new(o, f->name, to_field(base, f)) == -1) {
			json_decref(o);
			return (NULL);
		}
	}
	return (o);
}

json_t *
msg_to_json(const struct msg *m)
{
	const struct wire_desc	*d;
	json_t			*o;

	if ((d = wire_desc(m->type)) == NULL)
		return (NULL);
	if ((o = json_object()) == NULL)
		return (NULL);
	if (json_object_set_new(o, "t", json_string(d->name)) == -1 ||
	    (d->nfields > 0 &&
	    json_object_set_new(o, "d", to_fields(m, d)) == -1)) {
		json_decref(o);
		return (NULL);
	}
	return (o);
}

json_t *
audit_record_to_json(const struct audit_record *ar)
{
	return (to_fields(ar, wire_audit_desc()));
}
