/*
 * The message table behind wire.c and wirejson.c: for every message of
 * capsem-protocol(7) its tag, direction, ackability and fields in wire order, each
 * field given by its type and its offset in struct msg (or struct
 * audit_record, or struct boot_stage).  Internal to proto/: programs use
 * wire.h and wirejson.h.
 */
#ifndef CAPSEM_WIRETAB_H
#define CAPSEM_WIRETAB_H

#include <stddef.h>

#include "wire.h"

enum wire_ftype {
	WF_U16,
	WF_U32,
	WF_U64,
	WF_I32,
	WF_STR,		/* required str */
	WF_OSTR,	/* str or nil, always encoded (nil when s == NULL) */
	WF_ESTR,	/* str that may be absent: nil or no key reads as
			   s == NULL, which is sent as "", never nil (a
			   String to upstream, which rejects nil) */
	WF_BYTES,	/* array of 0..255; bin accepted on input */
	WF_OI32,	/* i32 or nil; int flag at aux */
	WF_OU32,	/* u32 or nil; int flag at aux */
	WF_XI64,	/* i64 sent only when the int flag at aux is set (no
			   key otherwise); nil or no key reads as flag 0 */
	WF_STAGES,	/* array of {name, duration_ms}; count at aux */
	WF_CAPS,	/* array of str, only encoded when the flag at aux2 is
			   set; count at aux */
	WF_BIN,		/* bytes sent as bin; an array accepted on input */
	WF_STRS,	/* array of str, always encoded; count at aux */
};

struct wire_field {
	const char	*name;
	enum wire_ftype	 type;
	size_t		 off;
	size_t		 aux;
	size_t		 aux2;
};

struct wire_desc {
	enum msg_type		 type;
	const char		*name;
	enum wire_dir		 dir;
	int			 ackable;
	const struct wire_field	*fields;
	size_t			 nfields;
};

/* NULL for MSG_NONE or an out-of-range type. */
const struct wire_desc	*wire_desc(enum msg_type);
const struct wire_desc	*wire_audit_desc(void);
const struct wire_desc	*wire_stage_desc(void);
/* Frees the owned members of the struct at base; leaves it zeroed. */
void			 wire_fields_free(void *, const struct wire_desc *);

#define WF_PTR(base, off, type) \
	((type *)(void *)((char *)(base) + (off)))
#define WF_CPTR(base, off, type) \
	((type const *)(const void *)((const char *)(base) + (off)))

/* The path of a field ("bootconfig.caps[2]") for error messages. */
void	wire_mkpath(char *, size_t, const char *, ...)
	    __attribute__((__format__(printf, 3, 4)));

#endif
