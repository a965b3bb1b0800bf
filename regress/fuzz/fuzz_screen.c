/*
 * libFuzzer target: the screen model of capsem-hostd-screen
 * (hostd-screen/model.c), fed what a guest may print.  Input: a piece-size
 * byte, a size byte (rows, columns), then the terminal stream; between
 * pieces the stream's own bytes decide whether the model is also resized,
 * reset or asked for a snapshot.  Every snapshot must be made only of the
 * sequences the model writes (so never a query a new client's terminal
 * would answer), and, written to a fresh model of the same size, must
 * draw the same screen: the same characters and attributes in every cell,
 * the alternate screen, the cursor in the same place; drawn once more it
 * must draw itself byte for byte (the pen and the modes came too).  A
 * second model is fed every byte (model_set_skip() off): its snapshot
 * must be the same, byte for byte, so text the model leaves unread
 * changes nothing.  Touches only memory.
 */
#include <stdint.h>
#include <string.h>

#include <vterm.h>

#include "model.h"
#include "fuzz.h"

/* Only what model_snapshot() writes: no query, no other control. */
static void
check_sequences(const uint8_t *p, size_t len)
{
	size_t	 i = 0;

	while (i < len) {
		if (p[i] != 0x1b) {
			FUZZ_CHECK(p[i] >= 0x20 && p[i] != 0x7f);
			i++;
			continue;
		}
		FUZZ_CHECK(++i < len);
		switch (p[i++]) {
		case '[':
			if (i < len && p[i] == '?')
				i++;
			while (i < len && ((p[i] >= '0' && p[i] <= '9') ||
			    p[i] == ';' || p[i] == ':'))
				i++;
			FUZZ_CHECK(i < len);
			if (p[i] == ' ') {
				FUZZ_CHECK(++i < len && p[i] == 'q');
			} else
				FUZZ_CHECK(strchr("mHJrhl", p[i]) != NULL);
			i++;
			break;
		case ']':
			FUZZ_CHECK(i + 1 < len && p[i] == '2' &&
			    p[i + 1] == ';');
			for (i += 2; i < len && p[i] != 0x07; i++)
				FUZZ_CHECK(p[i] >= 0x20 && p[i] != 0x7f);
			FUZZ_CHECK(i < len);
			i++;
			break;
		case '(':
			FUZZ_CHECK(i < len && p[i] == 'B');
			i++;
			break;
		case '=':
		case '>':
			break;
		default:
			FUZZ_CHECK(0);
		}
	}
}

static int
same_color(const VTermColor *a, const VTermColor *b)
{
	if ((a->type & VTERM_COLOR_DEFAULT_MASK) !=
	    (b->type & VTERM_COLOR_DEFAULT_MASK))
		return (0);
	if (a->type & VTERM_COLOR_DEFAULT_MASK)
		return (1);
	if (VTERM_COLOR_IS_INDEXED(a) != VTERM_COLOR_IS_INDEXED(b))
		return (0);
	if (VTERM_COLOR_IS_INDEXED(a))
		return (a->indexed.idx == b->indexed.idx);
	return (a->rgb.red == b->rgb.red && a->rgb.green == b->rgb.green &&
	    a->rgb.blue == b->rgb.blue);
}

/*
 * A cell's character as a terminal shows it: empty, a blank and what
 * cannot be drawn are a blank.  Combining characters are not compared:
 * libvterm drops one that follows a character written in the last column
 * in the same write, so a redraw can lose an accent there.
 */
static uint32_t
shown(const VTermScreenCell *c)
{
	return (c->chars[0] != 0 && model_drawable(c->chars[0]) ?
	    c->chars[0] : ' ');
}

static int
same_cell(const VTermScreenCell *a, const VTermScreenCell *b)
{
	return (shown(a) == shown(b) && a->attrs.bold == b->attrs.bold &&
	    a->attrs.underline == b->attrs.underline &&
	    a->attrs.italic == b->attrs.italic &&
	    a->attrs.blink == b->attrs.blink &&
	    a->attrs.reverse == b->attrs.reverse &&
	    a->attrs.strike == b->attrs.strike &&
	    a->attrs.font == b->attrs.font &&
	    same_color(&a->fg, &b->fg) && same_color(&a->bg, &b->bg));
}

/* Whether a line of the screen can be compared cell by cell. */
static int
plain_line(const VTermScreenCell *c)
{
	return (!c->attrs.dwl && !c->attrs.dhl);
}

static void
check_snapshot(struct model *m, struct model *all)
{
	struct mbuf	 b, b2, b3;
	struct model	*m2, *m3;
	VTermScreenCell	 c1, c2;
	int		 rows, cols, r, col, wide;

	memset(&b, 0, sizeof(b));
	FUZZ_CHECK(model_snapshot(m, &b) == 0);
	check_sequences(b.data, b.len);
	/* The model that skipped text draws what the one fed all draws. */
	memset(&b2, 0, sizeof(b2));
	FUZZ_CHECK(model_snapshot(all, &b2) == 0);
	FUZZ_CHECK(b2.len == b.len && memcmp(b2.data, b.data, b.len) == 0);
	mbuf_free(&b2);
	model_size(m, &rows, &cols);
	FUZZ_CHECK((m2 = model_new(rows, cols)) != NULL);
	model_feed(m2, b.data, b.len);
	FUZZ_CHECK(model_alt(m2) == model_alt(m));
	for (r = 0; r < rows; r++) {
		FUZZ_CHECK(model_cell(m, r, 0, &c1));
		if (!plain_line(&c1))
			continue;
		for (col = 0, wide = 0; col < cols; col++) {
			FUZZ_CHECK(model_cell(m, r, col, &c1));
			FUZZ_CHECK(model_cell(m2, r, col, &c2));
			/* As a terminal shows it (half a wide one: blank). */
			if (!model_cell_shown(m, &c1, col, cols, &wide))
				continue;
			FUZZ_CHECK(same_cell(&c1, &c2));
		}
	}
	FUZZ_CHECK(model_cursor(m) == model_cursor(m2));
	/*
	 * Drawn again, it draws itself: the pen and the modes came too (the
	 * first copy may differ where a cell could not be drawn).
	 */
	memset(&b2, 0, sizeof(b2));
	memset(&b3, 0, sizeof(b3));
	FUZZ_CHECK(model_snapshot(m2, &b2) == 0);
	FUZZ_CHECK((m3 = model_new(rows, cols)) != NULL);
	model_feed(m3, b2.data, b2.len);
	FUZZ_CHECK(model_snapshot(m3, &b3) == 0);
	FUZZ_CHECK(model_alt(m) ||
	    (b3.len == b2.len && memcmp(b3.data, b2.data, b2.len) == 0));
	mbuf_free(&b3);
	mbuf_free(&b2);
	model_free(m3);
	model_free(m2);
	mbuf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_chunker	 ch;
	struct model		*m, *all;
	size_t			 off, n;
	uint8_t			 op;
	int			 rows, cols;

	if (size < 2)
		return (0);
	fuzz_chunker_init(&ch, data[0]);
	rows = 1 + data[1] % 16;
	cols = 1 + data[1] / 16 * 6;
	if ((m = model_new(rows, cols)) == NULL)
		return (0);
	if ((all = model_new(rows, cols)) == NULL) {
		model_free(m);
		return (0);
	}
	model_set_skip(all, 0);
	for (off = 2; off < size; off += n) {
		n = fuzz_chunk(&ch, size - off);
		model_feed(m, data + off, n);
		model_feed(all, data + off, n);
		op = data[off + n - 1];
		if (op == 0x05) {
			model_resize(m, 1 + data[off] % 20, 1 + data[off] % 90);
			model_resize(all, 1 + data[off] % 20,
			    1 + data[off] % 90);
		} else if (op == 0x06)
			check_snapshot(m, all);
		else if (op == 0x0f) {
			model_reset(m);
			model_reset(all);
		}
	}
	check_snapshot(m, all);
	model_free(all);
	model_free(m);
	return (0);
}
