/*
 * Helpers shared by the cmocka unit tests (regress/<area>/test_*.c; every
 * one of them is linked with testutil.o, see regress/module.mk): the open
 * descriptor count for leak checks, the golden vector files, hex strings,
 * and a MessagePack message under construction for the codec tests with
 * the decoder's two outcomes.  A failed check fails the running cmocka test
 * and names the case it was given.  Nothing here touches more than memory,
 * /proc/self/fd and the vector file it is asked for.
 */
#ifndef CAPSEM_TESTUTIL_H
#define CAPSEM_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <msgpack.h>

#include "wire.h"

#ifndef nitems
#define nitems(a)	(sizeof(a) / sizeof((a)[0]))	/* as OpenBSD's */
#endif

/* Descriptors open in this process (the count's own one not included). */
int		 count_fds(void);

/*
 * vector_open(name): $CAPSEM_VECTORS/name (else under
 * $CAPSEM_TOP/../shared/vectors) open for reading, or NULL after a note on
 * stderr.
 */
FILE		*vector_open(const char *);

/* hex_bytes(hex, len): the bytes hex spells, malloc'd, their count in *len. */
uint8_t		*hex_bytes(const char *, size_t *);

/*
 * The message under construction: pk packs into pk_sb, which
 * pk_setup/pk_teardown (a cmocka test's setup and teardown) create and
 * free.  pk_env() and pk_msg() start a fresh message.
 */
extern msgpack_sbuffer	pk_sb;
extern msgpack_packer	pk;

int		 pk_setup(void **);
int		 pk_teardown(void **);
void		 pk_str(const char *);
void		 pk_hex(const char *);
/* pk_env(tag, n) starts {"t": tag, "d": {<n entries follow>}}. */
void		 pk_env(const char *, size_t);
/*
 * pk_msg(tag, n, tok): pk_env(tag, n) (a fresh empty message when tag is
 * NULL), then one value a token up to a NULL one: "{N" a map of N
 * entries, "[N" an array of N, "#N" the decimal integer N in its smallest
 * form, "=HEX" raw bytes, "~" nil, anything else a str.
 */
void		 pk_msg(const char *, size_t, const char *const *);

/*
 * pk_decode_ok(name, dir, m): the message decodes in direction dir into *m
 * (for the caller to msg_free()).  pk_decode_fails(name, dir, code,
 * needle): it is refused with code and a message holding needle (NULL:
 * any), and leaves no message type.  Otherwise the case called name fails.
 */
void		 pk_decode_ok(const char *, enum wire_dir, struct msg *);
void		 pk_decode_fails(const char *, enum wire_dir, enum wire_errcode,
		    const char *);

#endif /* CAPSEM_TESTUTIL_H */
