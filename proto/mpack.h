/*
 * A strict, cursor-based MessagePack reader for untrusted input.  It never
 * allocates: strings and bin come back as pointers into the input.  Every
 * declared length or count is checked against the bytes left before it is
 * used, strings are checked for UTF-8, integers for the caller's range.
 *
 * On error a reader function returns -1 and fills the wire_err given to
 * mpack_reader_init() with the code, the byte offset of the offending value
 * and a message naming the field path (the `what` argument, e.g. "d.cols").
 * The first error wins; after it the reader should be abandoned.
 *
 * Encoding is done with msgpack-c's packer (see wire.c), which already emits
 * the smallest forms capsem-protocol(7) requires.
 */
#ifndef CAPSEM_MPACK_H
#define CAPSEM_MPACK_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define MPACK_MAXDEPTH	32	/* deepest nesting mpack_skip() takes */

/*
 * The path of a field ("d.stages[2].name"), built on the stack as the
 * decoder and the encoder descend and formatted only for an error message
 * (wpath_fmt): a name under up (joined with "."), a name from the peer
 * (raw, len: shown safely), or element idx of up (name and raw NULL).  A
 * top with name "" prints nothing, so its fields print bare.
 */
struct wpath {
	const struct wpath	*up;
	const char		*name;
	const uint8_t		*raw;
	size_t			 len;
	size_t			 idx;
};
#define WPATH(s)	(&(const struct wpath){ NULL, (s), NULL, 0, 0 })

void	wpath_fmt(const struct wpath *, char *, size_t);

struct mpack_reader {
	const uint8_t	*buf;
	size_t		 len;
	size_t		 off;		/* next byte to read */
	struct wire_err	*err;
};

/* Integer targets for mpack_read_int()/mpack_read_uint(). */
enum mpack_itype {
	MPACK_U8,
	MPACK_U16,
	MPACK_U32,
	MPACK_U64,
	MPACK_I32,
	MPACK_I64,
};

void	mpack_reader_init(struct mpack_reader *, const uint8_t *, size_t,
	    struct wire_err *);
size_t	mpack_left(const struct mpack_reader *);
int	mpack_error(struct mpack_reader *, enum wire_errcode, size_t,
	    const char *, ...) __attribute__((__format__(printf, 4, 5)));
int	mpack_perror(struct mpack_reader *, enum wire_errcode, size_t,
	    const struct wpath *, const char *, ...)
	    __attribute__((__format__(printf, 5, 6)));

/* 1 and consumes it when the next value is nil, 0 otherwise (or at end). */
int	mpack_try_nil(struct mpack_reader *);
int	mpack_read_nil(struct mpack_reader *, const struct wpath *);
int	mpack_read_bool(struct mpack_reader *, const struct wpath *, int *);
int	mpack_read_uint(struct mpack_reader *, const struct wpath *,
	    enum mpack_itype, uint64_t *);
int	mpack_read_int(struct mpack_reader *, const struct wpath *,
	    enum mpack_itype, int64_t *);
int	mpack_read_str(struct mpack_reader *, const struct wpath *,
	    const uint8_t **, size_t *);
int	mpack_read_bin(struct mpack_reader *, const struct wpath *,
	    const uint8_t **, size_t *);
/* 1 if the next value is a bin (so byte fields can take array or bin). */
int	mpack_peek_bin(const struct mpack_reader *);
int	mpack_read_array(struct mpack_reader *, const struct wpath *,
	    size_t *);
int	mpack_read_map(struct mpack_reader *, const struct wpath *, size_t *);
/* Skips one whole value of any type, nested at most MPACK_MAXDEPTH deep. */
int	mpack_skip(struct mpack_reader *, const struct wpath *);
int	mpack_skip_depth(struct mpack_reader *, const struct wpath *, int);

/* 1 if the bytes are valid UTF-8 (no overlongs, surrogates or > U+10FFFF). */
int	mpack_utf8_valid(const uint8_t *, size_t);

#endif
