/*
 * Checks the incremental frame reader: every vector frame fed split at
 * every byte offset and one byte at a time, several frames in one buffer,
 * a zero-length frame, a length over the maximum refused as soon as the
 * header is known and before any allocation, exactly FRAME_MAX accepted
 * with the buffer growing only as bytes arrive.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "frame.h"
#include "testutil.h"
#include "wire.h"

struct vec {
	uint8_t	*p;
	size_t	 len;
};

static struct vec	vecs[256];
static size_t		nvecs;

static int
load_vectors(void **state)
{
	const char	*hex;
	char		*buf = NULL;
	size_t		 cap = 0;
	json_t		*line;
	FILE		*fp;

	if ((fp = vector_open("frames.jsonl")) == NULL)
		return (-1);
	while (getline(&buf, &cap, fp) != -1 && nvecs < 256) {
		if ((line = json_loads(buf, 0, NULL)) == NULL)
			continue;
		if ((hex = json_string_value(json_object_get(line, "hex")))
		    != NULL) {
			vecs[nvecs].p = hex_bytes(hex, &vecs[nvecs].len);
			nvecs++;
		}
		json_decref(line);
	}
	free(buf);
	fclose(fp);
	return (nvecs > 0 ? 0 : -1);
}

static int
free_vectors(void **state)
{
	while (nvecs > 0)
		free(vecs[--nvecs].p);
	return (0);
}

/* Feeds the chunk fully; returns the number of frames seen, checks each. */
static int
feed_all(struct frame_reader *fr, const uint8_t *p, size_t len,
    const struct vec *expect)
{
	const uint8_t	*body;
	size_t		 used, blen;
	int		 rc, frames = 0;

	while (len > 0) {
		rc = frame_reader_feed(fr, p, len, &used);
		assert_true(used <= len);
		p += used;
		len -= used;
		if (rc == FRAME_READY) {
			body = frame_reader_body(fr, &blen);
			assert_int_equal(blen, expect->len - FRAME_HDRLEN);
			assert_memory_equal(body, expect->p + FRAME_HDRLEN,
			    blen);
			frames++;
		} else {
			assert_int_equal(rc, FRAME_MORE);
			assert_int_equal(len, 0);
		}
	}
	return (frames);
}

static void
test_split_everywhere(void **state)
{
	struct frame_reader	fr;
	size_t			v, cut;

	for (v = 0; v < nvecs; v++) {
		for (cut = 0; cut <= vecs[v].len; cut++) {
			frame_reader_init(&fr, FRAME_MAX);
			assert_int_equal(feed_all(&fr, vecs[v].p, cut,
			    &vecs[v]) + feed_all(&fr, vecs[v].p + cut,
			    vecs[v].len - cut, &vecs[v]), 1);
			frame_reader_free(&fr);
		}
	}
}

static void
test_one_byte_at_a_time(void **state)
{
	struct frame_reader	fr;
	size_t			v, i;
	int			frames = 0;

	frame_reader_init(&fr, 0);
	for (v = 0; v < nvecs; v++) {
		for (i = 0; i < vecs[v].len; i++)
			frames += feed_all(&fr, vecs[v].p + i, 1, &vecs[v]);
		assert_int_equal(frames, v + 1);
	}
	frame_reader_free(&fr);
}

static void
test_many_in_one_buffer(void **state)
{
	struct frame_reader	fr;
	const uint8_t		*body;
	uint8_t			*all;
	size_t			 total = 0, off = 0, v = 0, used, blen;
	int			 rc;

	for (v = 0; v < nvecs; v++)
		total += vecs[v].len;
	all = malloc(total + 4);
	assert_non_null(all);
	for (v = 0; v < nvecs; v++) {
		memcpy(all + off, vecs[v].p, vecs[v].len);
		off += vecs[v].len;
	}
	frame_write_header(all + off, 0);	/* an empty frame at the end */
	total += 4;
	frame_reader_init(&fr, FRAME_MAX);
	for (off = 0, v = 0; off < total; v++) {
		rc = frame_reader_feed(&fr, all + off, total - off, &used);
		assert_int_equal(rc, FRAME_READY);
		off += used;
		body = frame_reader_body(&fr, &blen);
		assert_non_null(body);
		if (v < nvecs) {
			assert_int_equal(used, vecs[v].len);
			assert_memory_equal(body, vecs[v].p + 4, blen);
		} else
			assert_int_equal(blen, 0);
	}
	assert_int_equal(v, nvecs + 1);
	frame_reader_free(&fr);
	free(all);
}

static void
test_oversize(void **state)
{
	struct frame_reader	fr;
	uint8_t			hdr[8] = { 0, 0, 0, 0, 'x', 'x', 'x' };
	size_t			used, blen;

	frame_reader_init(&fr, FRAME_MAX);
	frame_write_header(hdr, FRAME_MAX + 1);
	assert_int_equal(frame_reader_feed(&fr, hdr, 3, &used), FRAME_MORE);
	assert_int_equal(used, 3);
	assert_int_equal(frame_reader_feed(&fr, hdr + 3, 5, &used),
	    FRAME_TOOBIG);
	assert_int_equal(used, 1);
	assert_null(fr.buf);
	assert_int_equal(fr.cap, 0);
	assert_int_equal(frame_reader_declared(&fr), FRAME_MAX + 1);
	assert_null(frame_reader_body(&fr, &blen));
	/* Sticky until reset. */
	assert_int_equal(frame_reader_feed(&fr, hdr + 4, 4, &used),
	    FRAME_TOOBIG);
	assert_int_equal(used, 0);
	frame_reader_free(&fr);

	/* 0xffffffff, and a smaller configured maximum. */
	memset(hdr, 0xff, 4);
	frame_reader_init(&fr, FRAME_MAX);
	assert_int_equal(frame_reader_feed(&fr, hdr, 8, &used), FRAME_TOOBIG);
	assert_null(fr.buf);
	frame_reader_free(&fr);
	frame_reader_init(&fr, 100);
	frame_write_header(hdr, 101);
	assert_int_equal(frame_reader_feed(&fr, hdr, 8, &used), FRAME_TOOBIG);
	frame_reader_reset(&fr);
	frame_write_header(hdr, 100);
	assert_int_equal(frame_reader_feed(&fr, hdr, 8, &used), FRAME_MORE);
	assert_int_equal(used, 8);
	frame_reader_free(&fr);
}

static void
test_exactly_max(void **state)
{
	struct frame_reader	fr;
	const uint8_t		*body;
	uint8_t			 hdr[4], *chunk;
	size_t			 used, blen, got = 0, n;
	int			 rc = FRAME_MORE;

	chunk = malloc(65536);
	assert_non_null(chunk);
	frame_reader_init(&fr, FRAME_MAX);
	frame_write_header(hdr, FRAME_MAX);
	assert_int_equal(frame_reader_feed(&fr, hdr, 4, &used), FRAME_MORE);
	assert_int_equal(fr.cap, 0);
	while (got < FRAME_MAX) {
		n = FRAME_MAX - got < 65536 ? FRAME_MAX - got : 65536;
		memset(chunk, (int)(got / 65536), n);
		rc = frame_reader_feed(&fr, chunk, n, &used);
		assert_int_equal(used, n);
		got += n;
		/* Allocation never runs far ahead of the data. */
		assert_true(fr.cap <= 2 * got || fr.cap <= 4096);
		assert_true(fr.cap <= FRAME_MAX);
		if (got < FRAME_MAX)
			assert_int_equal(rc, FRAME_MORE);
	}
	assert_int_equal(rc, FRAME_READY);
	body = frame_reader_body(&fr, &blen);
	assert_int_equal(blen, FRAME_MAX);
	assert_int_equal(body[FRAME_MAX - 1], 31);
	assert_int_equal(fr.cap, FRAME_MAX);
	frame_reader_free(&fr);
	free(chunk);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_everywhere),
		cmocka_unit_test(test_one_byte_at_a_time),
		cmocka_unit_test(test_many_in_one_buffer),
		cmocka_unit_test(test_oversize),
		cmocka_unit_test(test_exactly_max),
	};

	return (cmocka_run_group_tests(tests, load_vectors, free_vectors));
}
