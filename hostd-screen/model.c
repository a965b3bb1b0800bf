/*
 * The screen model: libvterm keeps the screen (cells, pen, cursor, modes,
 * the alternate screen); this file feeds it and writes a snapshot, the
 * bytes that draw the screen as it is now on a fresh terminal of the same
 * size.  The snapshot is made from the model only, never from the bytes
 * the guest sent, so no query an application sent earlier (a cursor
 * position report, a device attributes request) is ever in it.
 *
 * libvterm has no getter for the primary screen while the alternate one
 * is shown, so the primary screen is copied just before the switch: a
 * small scanner finds the final byte of a DECSET naming an alternate
 * screen (47, 1047, 1049) and the input is fed in two parts around it.  A
 * switch the scanner missed leaves the primary screen blank in the
 * snapshot, never wrong.  The same scanner keeps from libvterm the input
 * that libvterm 0.1.4 mishandles (enum scan_act).  Input modes that
 * libvterm keeps but does not
 * expose (bracketed paste, cursor keys, keypad, mouse encoding, focus
 * reports) are read back by asking libvterm what it would send for a key,
 * a paste, a click or a focus change.
 *
 * Input from the guest: untrusted.  Every size is bounded (MODEL_*_MAX)
 * and nothing the guest sent is copied into a snapshot but the text of
 * the cells (code points, checked) and the window title (printable only).
 */
#include <sys/types.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vterm.h>

#include "model.h"

#define TITLE_MAX		256
#define PROBE_MAX		64
#define PEND_MAX		64	/* an escape cut by the input's end */

enum scan_state {
	SC_GROUND = 0,
	SC_ESC,
	SC_CSI,
	SC_CSI_DROP,	/* a CSI with too many parameters: dropped */
	SC_STR,		/* DCS, OSC, APC, PM, SOS: dropped, up to ST or BEL */
	SC_STR_ESC
};

struct model {
	VTerm		*vt;
	VTerm		*wvt;		/* scratch: how wide a character is */
	VTermScreen	*vs;
	VTermState	*st;
	int		 rows, cols;
	int		 resetting;	/* props during a reset are defaults */
	int		 alt;
	int		 cursor_visible;
	int		 cursor_blink;
	int		 cursor_shape;	/* 0: never set by the guest */
	int		 mouse;		/* VTERM_PROP_MOUSE_* */
	int		 reverse;
	char		 title[TITLE_MAX];	/* empty: never set */

	/* The primary screen as it was when the alternate one came. */
	VTermScreenCell	*primary;
	int		 prows, pcols;
	VTermPos	 pcursor;
	int		 primary_ok;
	int		 captured;	/* a copy was made before this part */

	/* The scanner: screen switches, what libvterm must not see. */
	enum scan_state	 sc;
	unsigned int	 sc_param;
	int		 sc_priv, sc_inter, sc_alt, sc_seps;
	int		 sc_colon, sc_lrmm;	/* a ':'; 69 among the params */
	unsigned int	 sc_nparam, sc_p1, sc_p2;	/* the first two */
	int		 esc_hash;	/* ESC # so far */
	int		 esc_inter;	/* an intermediate byte so far */
	int		 u8need;	/* ground: continuation bytes to come */
	uint32_t	 u8cp;		/* its code point so far */
	int		 u8len;		/* and its length */
	uint32_t	 last_cp;	/* the last character fed, for REP */
	int		 last_ok;	/* 0: not known what libvterm took */
	int		 u8dirty;	/* libvterm may be inside a bad sequence */
	ssize_t		 u8at;		/* its lead in this input, or -1 */
	uint8_t		 u8held[4];	/* an unfinished one at an input's end */
	size_t		 u8heldlen;
	int		 str_osc;	/* the string is an OSC: kept here */
	char		 str[TITLE_MAX + 8];
	size_t		 strlen;
	ssize_t		 esc_at;	/* where in this input, -1: pend */
	uint8_t		 pend[PEND_MAX];	/* an escape not fed yet */
	size_t		 pendlen;

	/*
	 * Plain text that scrolls off before the screen is looked at is not
	 * fed (text_skip()); only with the whole screen as scrolling region.
	 */
	int		 skip;		/* 0: feed everything (tests) */
	uint64_t	 skipped;	/* bytes not fed */
	int		 stbm;		/* a scrolling region may be set */
	int		 lrmm;		/* left and right margins may be set */

	/* What libvterm answers to a probe; the guest's queries go nowhere. */
	char		 probe[PROBE_MAX];
	size_t		 probelen;
	int		 probing;
};

typedef int	(*cell_fn)(struct model *, int, int, VTermScreenCell *);

static int	 model_prop(VTermProp, VTermValue *, void *);
static void	 model_output(const char *, size_t, void *);
static void	 model_defaults(struct model *);
static int	 scan_byte(struct model *, uint8_t);
static int	 scan_esc(struct model *, uint8_t);
static int	 str_start(struct model *, uint8_t);
static void	 esc_enter(struct model *);
static void	 margins(struct model *, uint8_t);
static void	 last_char(struct model *, uint32_t, int);
static int	 rep_ok(struct model *);
static void	 str_end(struct model *);
static void	 pend_flush(struct model *);
static void	 pend_add(struct model *, const uint8_t *, size_t);
static void	 feed_part(struct model *, const uint8_t *, size_t);
static size_t	 text_skip(struct model *, const uint8_t *, size_t, size_t,
		    size_t *);
static void	 capture_primary(struct model *);
static void	 cursor_pos(const struct model *, VTermPos *);
static int	 cell_screen(struct model *, int, int, VTermScreenCell *);
static int	 cell_primary(struct model *, int, int, VTermScreenCell *);
static void	 draw(struct model *, struct mbuf *, cell_fn, int, int,
		    const VTermPos *);
static int	 cell_blank(const VTermScreenCell *);
static int	 model_width(struct model *, uint32_t);
static int	 wvt_col(struct model *, const char *, uint32_t);
static void	 sgr(char *, size_t, const VTermScreenCellAttrs *,
		    const VTermColor *, const VTermColor *);
static void	 sgr_color(char *, size_t, const VTermColor *, int);
static void	 put_char(struct mbuf *, uint32_t);
static void	 put_modes(struct model *, struct mbuf *);
static void	 put_pen(struct model *, struct mbuf *);
static const char *probe(struct model *, int);
static void	 mbuf_add(struct mbuf *, const void *, size_t);
static void	 mbuf_printf(struct mbuf *, const char *, ...)
		    __attribute__((__format__(printf, 2, 3)));

static const VTermScreenCallbacks model_callbacks = {
	.settermprop = model_prop
};

static int
clamp(int v, int min, int max)
{
	return (v < min ? min : v > max ? max : v);
}

struct model *
model_new(int rows, int cols)
{
	struct model	*m;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return (NULL);
	m->rows = clamp(rows, 1, MODEL_ROWS_MAX);
	m->cols = clamp(cols, MODEL_COLS_MIN, MODEL_COLS_MAX);
	m->skip = 1;
	if ((m->vt = vterm_new(m->rows, m->cols)) == NULL) {
		free(m);
		return (NULL);
	}
	if ((m->wvt = vterm_new(1, 8)) == NULL) {
		vterm_free(m->vt);
		free(m);
		return (NULL);
	}
	vterm_set_utf8(m->wvt, 1);
	vterm_state_reset(vterm_obtain_state(m->wvt), 1);
	vterm_set_utf8(m->vt, 1);
	vterm_output_set_callback(m->vt, model_output, m);
	m->vs = vterm_obtain_screen(m->vt);
	m->st = vterm_obtain_state(m->vt);
	vterm_screen_enable_altscreen(m->vs, 1);
	vterm_screen_set_callbacks(m->vs, &model_callbacks, m);
	model_reset(m);
	/*
	 * libvterm 0.1.4 loops forever on REP (CSI b) before any character
	 * was printed (found by fuzz_screen): a blank printed and taken back
	 * first, which a reset does not forget.
	 */
	(void)vterm_input_write(m->vt, " \r", 2);
	m->last_cp = ' ';
	m->last_ok = 1;
	return (m);
}

void
model_free(struct model *m)
{
	if (m == NULL)
		return;
	vterm_free(m->vt);
	vterm_free(m->wvt);
	free(m->primary);
	free(m);
}

/* Start over: a blank screen, the modes of a terminal just switched on. */
void
model_reset(struct model *m)
{
	model_defaults(m);
	m->resetting = 1;
	vterm_screen_reset(m->vs, 1);
	m->resetting = 0;
}

static void
model_defaults(struct model *m)
{
	m->u8need = 0;
	m->u8heldlen = 0;
	m->alt = 0;
	m->cursor_visible = 1;
	m->cursor_blink = 0;
	m->cursor_shape = 0;
	m->mouse = VTERM_PROP_MOUSE_NONE;
	m->reverse = 0;
	m->title[0] = '\0';
	m->primary_ok = 0;
	m->captured = 0;
	m->sc = SC_GROUND;
	m->pendlen = 0;
	m->esc_at = -1;
	m->stbm = 0;
	m->lrmm = 0;
}

/* For the tests: 0 feeds libvterm every byte (no text_skip()). */
void
model_set_skip(struct model *m, int on)
{
	m->skip = on;
}

/* Output bytes not fed to libvterm because they scrolled off unseen. */
uint64_t
model_skipped(const struct model *m)
{
	return (m->skipped);
}

void
model_resize(struct model *m, int rows, int cols)
{
	VTermPos	 pos;
	char		 b[32];
	int		 n;

	rows = clamp(rows, 1, MODEL_ROWS_MAX);
	cols = clamp(cols, MODEL_COLS_MIN, MODEL_COLS_MAX);
	if (rows == m->rows && cols == m->cols)
		return;
	m->rows = rows;
	m->cols = cols;
	vterm_set_size(m->vt, rows, cols);
	/*
	 * libvterm 0.1.4 writes through a NULL pointer when a screen
	 * scrolled down (ESC M at the top) is made shorter and a line is
	 * then erased (found by fuzz_screen): the scrolling region is reset
	 * to the whole screen, as xterm does on a resize, and the cursor put
	 * back where it was (within the new size; DECSTBM homes it).
	 */
	vterm_state_get_cursorpos(m->st, &pos);
	n = snprintf(b, sizeof(b), "\033[r\033[%d;%dH",
	    pos.row >= rows ? rows : pos.row + 1,
	    pos.col >= cols ? cols : pos.col + 1);
	if (n > 0 && (size_t)n < sizeof(b))
		(void)vterm_input_write(m->vt, b, n);
	m->stbm = 0;
}

void
model_size(const struct model *m, int *rows, int *cols)
{
	*rows = m->rows;
	*cols = m->cols;
}

/*
 * What the scanner makes of a byte: fed as it is, or a screen switch (the
 * primary screen is copied first), or part of a string (DCS, OSC, APC,
 * PM, SOS), which libvterm never sees: the only one it keeps, the window
 * title (OSC 0 and 2), is read here, and libvterm 0.1.4 crashes on some
 * strings (an unknown DECRQSS, an ESC and a control inside an OSC; found
 * by fuzz_screen).
 */
enum scan_act {
	ACT_KEEP = 0,
	ACT_ALT,	/* copy the primary screen, then feed from here */
	ACT_DROP,	/* a byte of a string or of a dropped CSI */
	ACT_ESC_DROP,	/* this escape is dropped, from its ESC on */
	ACT_STR_ESC,	/* ESC then this byte ended a string: feed an ESC, then it */
	ACT_RESTORE	/* DECRC: feed up to here, then put the cursor on the screen */
};

/*
 * libvterm 0.1.4 writes past its argument array for a CSI of more than
 * 16 parameters (';' or ':' separated; found by fuzz_screen).
 */
#define CSI_SEPS_MAX		15

/*
 * DECRC puts back a cursor saved before the screen was made smaller, off
 * the screen, where libvterm 0.1.4 writes past a line (inserting, found
 * by test_text_skip).  Every CSI it runs ends by putting the cursor back
 * on the screen (or in the scrolling region, in origin mode); a DSR of 0
 * (a report, ignored) does only that.
 */
#define CURSOR_CLAMP		"\033[n"

/*
 * A C1 control written in UTF-8 (C2 80..9F): libvterm 0.1.4 runs it (a
 * CSI, an OSC, a DCS the scanner would not see) and crashes on an ST
 * before a CSI (found by fuzz_screen); a terminal draws nothing for it.
 * Not fed.
 */
#define C1_UTF8(a, b)		((a) == 0xc2 && (b) >= 0x80 && (b) <= 0x9f)

/* Instead of text that scrolls off unseen (text_skip()). */
#define TEXT_SKIPPED		"\033[H\033[2J"

/* Input from the guest: untrusted. */
void
model_feed(struct model *m, const uint8_t *p, size_t len)
{
	size_t	 i, b, start = 0, scanned = 0;

	if (len == 0)
		return;
	m->u8at = -1;
	if (m->u8heldlen > 0) {
		/* The rest of it, or not: only a whole one is fed. */
		if ((p[0] & 0xc0) != 0x80)
			m->u8need = 0;
		else if (!C1_UTF8(m->u8held[0], p[0]))
			feed_part(m, m->u8held, m->u8heldlen);
		m->u8heldlen = 0;
	}
	for (i = 0; i < len; i++) {
		if (i >= scanned && m->sc == SC_GROUND && m->u8need == 0 &&
		    !m->u8dirty && m->pendlen == 0 && m->skip && !m->stbm &&
		    !m->lrmm &&
		    (b = text_skip(m, p, i, len, &scanned)) > i) {
			feed_part(m, p + start, i - start);
			feed_part(m, (const uint8_t *)TEXT_SKIPPED,
			    sizeof(TEXT_SKIPPED) - 1);
			m->skipped += b - i;
			start = b;
			i = b - 1;
			continue;
		}
		/*
		 * A UTF-8 sequence cut by another byte (a control, ESC) is
		 * not fed: libvterm 0.1.4 runs the control and then takes
		 * later continuation bytes for the rest of it, drawing a
		 * character no terminal would (found by fuzz_screen).
		 */
		if (m->sc == SC_GROUND) {
			if (m->u8need > 0 && (p[i] & 0xc0) == 0x80) {
				if (m->u8len == 2 && m->u8cp == 0x2 &&
				    C1_UTF8(0xc2, p[i])) {
					/* Not fed: from its lead, if here. */
					if (m->u8at >= (ssize_t)start)
						feed_part(m, p + start,
						    m->u8at - start);
					start = i + 1;
					m->u8need = 0;
				} else {
					m->u8cp = m->u8cp << 6 | (p[i] & 0x3f);
					if (--m->u8need == 0)
						last_char(m, m->u8cp,
						    m->u8len);
				}
			} else {
				if (m->u8need > 0 && m->u8at >= (ssize_t)start) {
					feed_part(m, p + start, m->u8at - start);
					start = i;
				}
				m->u8need = 0;
				if (p[i] >= 0xc2 && p[i] <= 0xf4) {
					m->u8need = p[i] < 0xe0 ? 1 :
					    p[i] < 0xf0 ? 2 : 3;
					m->u8cp = p[i] & (0x3f >> m->u8need);
					m->u8len = m->u8need + 1;
					m->u8at = i;
				} else if (p[i] >= 0x20 && p[i] < 0x7f)
					last_char(m, p[i], 1);
				else if (p[i] >= 0x80) {
					m->last_ok = 0;
					m->u8dirty = 1;
				}
			}
		}
		if (p[i] == 0x1b && m->sc != SC_STR && m->sc != SC_STR_ESC) {
			/* An escape starts (or restarts): no pend any more. */
			pend_flush(m);
			m->esc_at = i;
		}
		switch (scan_byte(m, p[i])) {
		case ACT_KEEP:
			if (m->sc != SC_ESC && m->sc != SC_CSI)
				pend_flush(m);
			break;
		case ACT_ALT:
			pend_flush(m);
			feed_part(m, p + start, i - start);
			start = i;
			if (!m->alt)
				capture_primary(m);
			break;
		case ACT_ESC_DROP:
			/* From the ESC it began with: here, or held. */
			if (m->esc_at >= (ssize_t)start)
				feed_part(m, p + start, m->esc_at - start);
			m->pendlen = 0;
			start = i + 1;
			break;
		case ACT_DROP:
			start = i + 1;
			break;
		case ACT_STR_ESC:
			feed_part(m, (const uint8_t *)"\033", 1);
			start = i;
			if (p[i] == '8' && m->sc == SC_GROUND) {
				feed_part(m, p + i, 1);
				feed_part(m, (const uint8_t *)CURSOR_CLAMP,
				    sizeof(CURSOR_CLAMP) - 1);
				start = i + 1;
			}
			break;
		case ACT_RESTORE:
			pend_flush(m);
			feed_part(m, p + start, i + 1 - start);
			feed_part(m, (const uint8_t *)CURSOR_CLAMP,
			    sizeof(CURSOR_CLAMP) - 1);
			start = i + 1;
			break;
		}
	}
	if ((m->sc == SC_ESC || m->sc == SC_CSI) &&
	    m->esc_at >= (ssize_t)start) {
		/* Held until the next input shows what it is. */
		feed_part(m, p + start, m->esc_at - start);
		pend_add(m, p + m->esc_at, len - m->esc_at);
	} else if (m->sc == SC_ESC || m->sc == SC_CSI)
		pend_add(m, p + start, len - start);
	else if (m->sc == SC_GROUND && m->u8need > 0 &&
	    m->u8at >= (ssize_t)start && len - m->u8at < sizeof(m->u8held)) {
		/* Unfinished at the end: held until the next input says. */
		feed_part(m, p + start, m->u8at - start);
		m->u8heldlen = len - m->u8at;
		memcpy(m->u8held, p + m->u8at, m->u8heldlen);
	} else
		feed_part(m, p + start, len - start);
	m->esc_at = -1;
}

/* The escape held from the last input: it starts no DCS, so it is fed. */
static void
pend_flush(struct model *m)
{
	size_t	 n = m->pendlen;

	m->pendlen = 0;
	feed_part(m, m->pend, n);
}

/*
 * An escape longer than PEND_MAX across inputs is no escape a program
 * writes: it is dropped, and libvterm never sees it.
 */
static void
pend_add(struct model *m, const uint8_t *p, size_t len)
{
	if (m->pendlen + len > sizeof(m->pend)) {
		m->pendlen = 0;
		m->sc = m->sc == SC_CSI ? SC_CSI_DROP : SC_GROUND;
		return;
	}
	memcpy(m->pend + m->pendlen, p, len);
	m->pendlen += len;
}

/* A copy of the primary screen counts for the next part fed only. */
static void
feed_part(struct model *m, const uint8_t *p, size_t len)
{
	if (len == 0)
		return;
	(void)vterm_input_write(m->vt, (const char *)p, len);
	m->captured = 0;
}

/*
 * Plain text: ASCII that only prints and moves the cursor within the
 * screen, the pen and the modes as they are (not BS, for reverse wrap,
 * not DEL, no other control), and well-formed UTF-8 but C1 controls
 * (C2 80..9F): libvterm's decoder holds no broken sequence after it.
 */
static const uint8_t text_ascii[128] = {
	['\t'] = 1, ['\n'] = 1, ['\r'] = 1, [0x20 ... 0x7e] = 1,
};

/* The length of the plain character at p[0], or 0. */
static size_t
text_char(const uint8_t *p, size_t left)
{
	size_t	 n, k;

	if (p[0] < 0x80)
		return (text_ascii[p[0]]);
	n = p[0] >= 0xc2 && p[0] <= 0xdf ? 2 : p[0] >= 0xe0 && p[0] <= 0xef ?
	    3 : p[0] >= 0xf0 && p[0] <= 0xf4 ? 4 : 0;
	if (n == 0 || n > left)
		return (0);
	for (k = 1; k < n; k++)
		if ((p[k] & 0xc0) != 0x80)
			return (0);
	if ((p[0] == 0xc2 && p[1] <= 0x9f) || (p[0] == 0xe0 && p[1] < 0xa0) ||
	    (p[0] == 0xed && p[1] > 0x9f) || (p[0] == 0xf0 && p[1] < 0x90) ||
	    (p[0] == 0xf4 && p[1] > 0x8f))
		return (0);
	return (n);
}

/*
 * Where to go on feeding from p[i], in ground state at a character's
 * start: past the plain text that scrolls off the screen before the end
 * of this run of it, unread, or i.  Rows LFs take the cursor to the last
 * row from wherever it was and leave that row blank, scrolled in; rows -
 * 1 more, each a scroll there, push everything on the screen before them
 * off it.  So, with the whole screen as scrolling region and no left and
 * right margins, if the run has rows LFs before a line that starts after
 * a CR LF and rows - 1 after it, the screen at the run's end holds that
 * line and what follows only, on lines scrolled in blank (with the pen's
 * background): the same screen, cursor and pen as when the text before
 * the line is left out, the screen cleared and the cursor sent home (the
 * line then fills the screen from the top).  Every LF after it must
 * follow a CR: libvterm keeps a pending wrap across an LF that scrolls
 * but not across one that moves the cursor down.  A printed character after
 * it makes libvterm's last character (REP, combining) the same too; the
 * line does not start with a combining one.  *scanned: the run's end
 * (each byte looked at once).
 */
static size_t
text_skip(struct model *m, const uint8_t *p, size_t i, size_t len,
    size_t *scanned)
{
	size_t		 e, j, n, rows = (size_t)m->rows, lf = 0, total = 0;
	int		 printed = 0;

	for (e = i; e < len; e += n) {
		if ((n = text_char(p + e, len - e)) == 0)
			break;
		total += p[e] == '\n';
	}
	*scanned = e;
	/* libvterm's screen of one row does not follow this (fuzz_screen). */
	if (rows < 2 || total < 2 * rows - 1)
		return (i);
	for (j = e; j > i + 2 && total - lf >= rows; j--) {
		if (p[j - 1] >= 0x20 && p[j - 1] < 0x7f)
			printed = 1;
		if (p[j - 1] != '\n')
			continue;
		if (p[j - 2] != '\r')
			break;
		/* Before this LF, total - lf; after it, lf. */
		if (lf++ >= rows - 1 && printed && j < e && p[j] < 0x80)
			return (j);
	}
	return (i);
}

/*
 * The scanner follows ECMA-48's shape of escape and control sequences as
 * libvterm parses them.  ACT_ALT: b is the final byte of CSI ? ... h
 * naming 47, 1047 or 1049, the screen switch libvterm makes on that byte;
 * a sequence it misreads costs the copy of the primary screen, nothing
 * else.
 */
static int
scan_byte(struct model *m, uint8_t b)
{
	enum scan_state	 from = m->sc;
	int		 hit;

	if (b == 0x18 || b == 0x1a) {
		m->sc = SC_GROUND;
		return (from == SC_STR || from == SC_STR_ESC ||
		    from == SC_CSI_DROP ? ACT_DROP : ACT_KEEP);
	}
	switch (m->sc) {
	case SC_GROUND:
		if (b == 0x1b)
			esc_enter(m);
		return (ACT_KEEP);
	case SC_STR:
		if (b == 0x1b)
			m->sc = SC_STR_ESC;
		else if (b == 0x07) {
			str_end(m);
			m->sc = SC_GROUND;
		} else if (m->str_osc && m->strlen < sizeof(m->str))
			m->str[m->strlen++] = b;
		return (ACT_DROP);
	case SC_STR_ESC:
		if (b == '\\') {
			str_end(m);
			m->sc = SC_GROUND;
			return (ACT_DROP);
		}
		if (str_start(m, b))
			return (ACT_DROP);
		/* Anything that could still be part of it stays dropped. */
		if (b == 0x1b || b < 0x30 || b > 0x7e) {
			m->sc = b == 0x1b ? SC_STR_ESC : SC_STR;
			return (ACT_DROP);
		}
		(void)scan_esc(m, b);
		return (ACT_STR_ESC);
	case SC_ESC:
		if (str_start(m, b))
			return (ACT_ESC_DROP);
		/*
		 * Intermediates, controls and bytes past ASCII: still the
		 * same escape, as libvterm reads it.
		 */
		if ((b >= 0x20 && b <= 0x2f) || (b < 0x20 && b != 0x1b) ||
		    b > 0x7e) {
			if (b == '#')
				m->esc_hash = 1;
			if (b >= 0x20 && b <= 0x2f)
				m->esc_inter = 1;
			return (ACT_KEEP);
		}
		/*
		 * Single shifts (SS2, SS3: the next character from G2 or
		 * G3): libvterm draws a character under them that the model
		 * then cannot draw back the same (found by fuzz_screen); no
		 * program writes them to a UTF-8 terminal.  Not modelled.
		 */
		if (!m->esc_inter && (b == 'N' || b == 'O')) {
			m->sc = SC_GROUND;
			return (ACT_ESC_DROP);
		}
		if (!m->esc_inter && !m->esc_hash && b == '8') {
			m->sc = SC_GROUND;
			return (ACT_RESTORE);
		}
		/*
		 * Double-width and double-height lines (DECDWL, DECDHL):
		 * libvterm 0.1.4 writes past a line made narrower than the
		 * cursor's column (found by fuzz_screen); not modelled.
		 */
		if (m->esc_hash && b >= '3' && b <= '6') {
			m->sc = SC_GROUND;
			return (ACT_ESC_DROP);
		}
		return (scan_esc(m, b));
	case SC_CSI_DROP:
		if (b == 0x1b) {
			esc_enter(m);
			return (ACT_KEEP);
		}
		if (b >= 0x40 && b <= 0x7e)
			m->sc = SC_GROUND;
		return (ACT_DROP);
	case SC_CSI:
		break;
	}
	if (b == 0x1b) {
		esc_enter(m);
		return (ACT_KEEP);
	}
	if (b >= '0' && b <= '9') {
		if (m->sc_param < 100000)
			m->sc_param = m->sc_param * 10 + (b - '0');
		return (ACT_KEEP);
	}
	if ((b == ';' || b == ':') && ++m->sc_seps > CSI_SEPS_MAX) {
		m->sc = SC_CSI_DROP;
		return (ACT_ESC_DROP);
	}
	if (b == ';' || b == ':' || (b >= 0x40 && b <= 0x7e)) {
		if (m->sc_param == 47 || m->sc_param == 1047 ||
		    m->sc_param == 1049)
			m->sc_alt = 1;
		if (m->sc_param == 69)
			m->sc_lrmm = 1;
		if (b == ':')
			m->sc_colon = 1;
		if (m->sc_nparam == 0)
			m->sc_p1 = m->sc_param;
		else if (m->sc_nparam == 1)
			m->sc_p2 = m->sc_param;
		m->sc_nparam++;
		m->sc_param = 0;
	}
	if (b == '?')
		m->sc_priv = 1;
	else if (b >= 0x20 && b <= 0x2f)
		m->sc_inter = 1;
	else if (b >= 0x40 && b <= 0x7e) {
		hit = b == 'h' && m->sc_priv && !m->sc_inter && m->sc_alt;
		margins(m, b);
		m->sc = SC_GROUND;
		if (b == 'b' && !m->sc_priv && !m->sc_inter && !rep_ok(m))
			return (ACT_ESC_DROP);
		return (hit ? ACT_ALT : ACT_KEEP);
	}
	return (ACT_KEEP);
}

/*
 * A CSI's final byte b: whether a scrolling region (DECSTBM) or left and
 * right margins (DECLRMM) may now be set; when unsure, they may.
 */
static void
margins(struct model *m, uint8_t b)
{
	if (b == 'r' && !m->sc_priv && !m->sc_inter)
		m->stbm = m->sc_colon || m->sc_nparam > 2 || m->sc_p1 > 1 ||
		    (m->sc_nparam == 2 && m->sc_p2 != 0 &&
		    m->sc_p2 < (unsigned int)m->rows);
	else if (b == 'h' && m->sc_priv && m->sc_lrmm)
		m->lrmm = 1;
	else if (b == 'l' && m->sc_priv && m->sc_lrmm && !m->sc_inter &&
	    m->sc_nparam == 1)
		m->lrmm = 0;
}

/*
 * The last character fed, whole (the scanner decodes it as libvterm does;
 * an overlong or out of range form is not known).  A byte past ASCII that
 * starts no sequence the scanner knows may start one libvterm knows
 * (F5..FF): until the next whole character its decoder may hold it, and
 * no text is skipped (the character after the skip would come out as the
 * rest of it).
 */
static void
last_char(struct model *m, uint32_t cp, int len)
{
	/* A whole one: libvterm's decoder is out of any bad sequence. */
	m->u8dirty = 0;
	m->last_cp = cp;
	m->last_ok = len >= 1 && len <= 4 &&
	    !(len == 3 && cp < 0x800) && !(len == 4 && cp < 0x10000) &&
	    !(cp >= 0xd800 && cp <= 0xdfff) && cp <= 0x10ffff;
}

/*
 * REP (CSI b) repeats libvterm's last character until the cursor got far
 * enough, by that character's width: libvterm 0.1.4 loops forever when it
 * is 0 (a combining or zero-width character it took alone) and writes
 * past the line for a wide one that does not fit (both found by
 * test_text_skip).  Fed only after a character known to be one column
 * wide (as libvterm measures it, on the scratch terminal); otherwise
 * dropped.
 */
static int
rep_ok(struct model *m)
{
	if (!m->last_ok)
		return (0);
	if (m->last_cp >= 0x20 && m->last_cp < 0x7f)
		return (1);
	return (wvt_col(m, "\r", m->last_cp) == 1);
}

/* The byte after an ESC, not a string's: a CSI or a short escape. */
static int
scan_esc(struct model *m, uint8_t b)
{
	if (b == '[') {
		m->sc = SC_CSI;
		m->sc_param = 0;
		m->sc_priv = m->sc_inter = m->sc_alt = m->sc_seps = 0;
		m->sc_colon = m->sc_lrmm = 0;
		m->sc_nparam = m->sc_p1 = m->sc_p2 = 0;
	} else if (b == 0x1b)
		esc_enter(m);
	else {
		if (b == 'c' && !m->esc_inter)
			m->stbm = m->lrmm = 0;	/* RIS */
		m->sc = SC_GROUND;
	}
	return (ACT_KEEP);
}

static void
esc_enter(struct model *m)
{
	m->sc = SC_ESC;
	m->esc_hash = 0;
	m->esc_inter = 0;
}

/* ESC then b: 1 if that starts a string (DCS, OSC, APC, PM, SOS). */
static int
str_start(struct model *m, uint8_t b)
{
	if (b != 'P' && b != ']' && b != '_' && b != '^' && b != 'X')
		return (0);
	m->sc = SC_STR;
	m->str_osc = b == ']';
	m->strlen = 0;
	return (1);
}

/*
 * The end of a string: an OSC 0 or 2 sets the title, of well-formed UTF-8
 * for drawable characters only (it goes into an OSC of the snapshot: no
 * control, no C1 byte a terminal could take for one).
 */
static void
str_end(struct model *m)
{
	const uint8_t	*t = (const uint8_t *)m->str;
	size_t		 i, k, len, n = 0;
	uint32_t	 cp;

	if (!m->str_osc || m->strlen < 2 || (t[0] != '0' && t[0] != '2') ||
	    t[1] != ';')
		return;
	for (i = 2; i < m->strlen; i += len) {
		len = t[i] < 0x80 ? 1 : t[i] >= 0xc2 && t[i] <= 0xdf ? 2 :
		    t[i] >= 0xe0 && t[i] <= 0xef ? 3 :
		    t[i] >= 0xf0 && t[i] <= 0xf4 ? 4 : 0;
		if (len == 0 || i + len > m->strlen) {
			len = 1;
			continue;
		}
		cp = len == 1 ? t[i] : t[i] & (0x7f >> len);
		for (k = 1; k < len && (t[i + k] & 0xc0) == 0x80; k++)
			cp = cp << 6 | (t[i + k] & 0x3f);
		if (k < len) {
			len = k;
			continue;
		}
		if (!model_drawable(cp) || n + len >= sizeof(m->title) ||
		    (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000))
			continue;
		memcpy(m->title + n, t + i, len);
		n += len;
	}
	m->title[n] = '\0';
}

/* The primary screen, right before the alternate one replaces it. */
static void
capture_primary(struct model *m)
{
	VTermScreenCell	*p;
	VTermPos	 pos;
	size_t		 n = (size_t)m->rows * m->cols;

	if ((p = reallocarray(m->primary, n, sizeof(*p))) == NULL) {
		m->primary_ok = 0;
		return;
	}
	m->primary = p;
	m->prows = m->rows;
	m->pcols = m->cols;
	for (pos.row = 0; pos.row < m->rows; pos.row++)
		for (pos.col = 0; pos.col < m->cols; pos.col++)
			(void)cell_screen(m, pos.row, pos.col,
			    &p[(size_t)pos.row * m->cols + pos.col]);
	cursor_pos(m, &m->pcursor);
	m->captured = 1;
}

static int
model_prop(VTermProp prop, VTermValue *val, void *arg)
{
	struct model	*m = arg;
	size_t		 i, n = 0;
	unsigned char	 ch;

	switch (prop) {
	case VTERM_PROP_CURSORVISIBLE:
		m->cursor_visible = val->boolean;
		break;
	case VTERM_PROP_CURSORBLINK:
		if (!m->resetting)
			m->cursor_blink = val->boolean;
		break;
	case VTERM_PROP_CURSORSHAPE:
		if (!m->resetting)
			m->cursor_shape = val->number;
		break;
	case VTERM_PROP_ALTSCREEN:
		if (val->boolean && !m->alt)
			m->primary_ok = m->captured;
		m->alt = val->boolean;
		break;
	case VTERM_PROP_MOUSE:
		m->mouse = val->number;
		break;
	case VTERM_PROP_REVERSE:
		m->reverse = val->boolean;
		break;
	case VTERM_PROP_TITLE:
		/* Printable only: it goes into an OSC of the snapshot. */
		for (i = 0; val->string != NULL && val->string[i] != '\0' &&
		    n < sizeof(m->title) - 1; i++) {
			ch = val->string[i];
			if (ch >= 0x20 && ch != 0x7f && (ch < 0x80 ||
			    ch >= 0xa0))
				m->title[n++] = ch;
		}
		m->title[n] = '\0';
		break;
	default:
		break;
	}
	return (1);
}

/* What libvterm sends: answers to the guest's queries (dropped) or probes. */
static void
model_output(const char *s, size_t len, void *arg)
{
	struct model	*m = arg;

	if (!m->probing)
		return;
	if (len > sizeof(m->probe) - 1 - m->probelen)
		len = sizeof(m->probe) - 1 - m->probelen;
	memcpy(m->probe + m->probelen, s, len);
	m->probelen += len;
	m->probe[m->probelen] = '\0';
}

enum probe_what {
	PROBE_PASTE,
	PROBE_CURSORKEYS,
	PROBE_KEYPAD,
	PROBE_MOUSE,
	PROBE_FOCUS
};

/* What libvterm would send for an input event: the mode it is in. */
static const char *
probe(struct model *m, int what)
{
	m->probelen = 0;
	m->probe[0] = '\0';
	m->probing = 1;
	switch (what) {
	case PROBE_PASTE:
		vterm_keyboard_start_paste(m->vt);
		break;
	case PROBE_CURSORKEYS:
		vterm_keyboard_key(m->vt, VTERM_KEY_UP, VTERM_MOD_NONE);
		break;
	case PROBE_KEYPAD:
		vterm_keyboard_key(m->vt, VTERM_KEY_KP_0, VTERM_MOD_NONE);
		break;
	case PROBE_MOUSE:
		/* Column 200: UTF-8 coordinates (1005) are two bytes there. */
		vterm_mouse_move(m->vt, 0, 200, VTERM_MOD_NONE);
		vterm_mouse_button(m->vt, 1, 1, VTERM_MOD_NONE);
		break;
	case PROBE_FOCUS:
		vterm_state_focus_in(m->st);
		break;
	}
	m->probing = 0;
	if (what == PROBE_PASTE)
		vterm_keyboard_end_paste(m->vt);
	else if (what == PROBE_MOUSE)
		vterm_mouse_button(m->vt, 1, 0, VTERM_MOD_NONE);
	return (m->probe);
}

/*
 * A cell as the guest wrote it: libvterm shows the reverse screen mode
 * (DECSCNM) in every cell's reverse attribute, which the snapshot sets as
 * a mode of its own.
 */
static int
cell_screen(struct model *m, int row, int col, VTermScreenCell *cell)
{
	VTermPos	 pos;

	pos.row = row;
	pos.col = col;
	if (!vterm_screen_get_cell(m->vs, pos, cell))
		return (0);
	if (m->reverse)
		cell->attrs.reverse = !cell->attrs.reverse;
	return (1);
}

static int
cell_primary(struct model *m, int row, int col, VTermScreenCell *cell)
{
	if (row >= m->prows || col >= m->pcols)
		return (0);
	*cell = m->primary[(size_t)row * m->pcols + col];
	return (1);
}

/*
 * The snapshot: on a fresh terminal of the model's size, these bytes draw
 * the screen as the model has it.  0, or -1 if memory ran out.
 */
int
model_snapshot(struct model *m, struct mbuf *out)
{
	VTermPos	 cur;

	/* A known start: pen, scroll region, charset, blank screen. */
	mbuf_printf(out, "\033[0m\033[?25l\033[r\033(B\033[H\033[2J");
	if (m->alt) {
		if (m->primary_ok) {
			draw(m, out, cell_primary, m->prows, m->pcols,
			    &m->pcursor);
			mbuf_printf(out, "\033[%d;%dH", m->pcursor.row + 1,
			    m->pcursor.col + 1);
		} else
			mbuf_printf(out, "\033[H");
		mbuf_printf(out, "\033[?1049h\033[0m\033[H\033[2J");
	}
	cursor_pos(m, &cur);
	draw(m, out, cell_screen, m->rows, m->cols, &cur);
	put_pen(m, out);
	mbuf_printf(out, "\033[%d;%dH", cur.row + 1, cur.col + 1);
	put_modes(m, out);
	return (out->failed ? -1 : 0);
}

/*
 * Every row up to its last cell that a blank screen does not have, and
 * the cursor's row up to the cursor (a prompt keeps its trailing blank).
 */
static void
draw(struct model *m, struct mbuf *out, cell_fn get, int rows, int cols,
    const VTermPos *cursor)
{
	VTermScreenCell	 cell;
	char		 pen[128], cur[128];
	int		 row, col, last, i, covered;

	if (rows > m->rows)
		rows = m->rows;
	if (cols > m->cols)
		cols = m->cols;
	strlcpy(cur, "\033[0m", sizeof(cur));
	for (row = 0; row < rows; row++) {
		last = -1;
		for (col = 0; col < cols; col++)
			if (get(m, row, col, &cell) && !cell_blank(&cell))
				last = col;
		if (row == cursor->row && cursor->col - 1 > last)
			last = cursor->col - 1 < cols ? cursor->col - 1 :
			    cols - 1;
		if (last == -1)
			continue;
		mbuf_printf(out, "\033[%d;1H", row + 1);
		for (col = 0, covered = 0; col <= last; col++) {
			if (!get(m, row, col, &cell))
				break;
			if (!model_cell_shown(m, &cell, col, cols, &covered))
				continue;
			sgr(pen, sizeof(pen), &cell.attrs, &cell.fg, &cell.bg);
			if (strcmp(pen, cur) != 0) {
				mbuf_add(out, pen, strlen(pen));
				strlcpy(cur, pen, sizeof(cur));
			}
			put_char(out, cell.chars[0] == 0 ||
			    !model_drawable(cell.chars[0]) ? ' ' : cell.chars[0]);
			/*
			 * libvterm fills chars only up to the first 0.  In
			 * the last column a combining character would start
			 * the next line of a terminal that wraps early
			 * (libvterm does): it is left out there.
			 */
			for (i = 1; cell.chars[0] != 0 && col + 1 < m->cols &&
			    i < VTERM_MAX_CHARS_PER_CELL && cell.chars[i] != 0;
			    i++)
				if (model_drawable(cell.chars[i]))
					put_char(out, cell.chars[i]);
		}
	}
	mbuf_printf(out, "\033[0m");
}

/*
 * A cell as a terminal can draw it, in place: 0 for the right half of a
 * wide character drawn just before (*covered), else 1 with what cannot be
 * drawn made a blank: a right half alone, a wide character cut by the
 * right margin, one whose right half was written over (a terminal erases
 * the left half then; libvterm keeps it, and calls a narrow character
 * written over a left half wide), a combining character with nothing to
 * combine with (libvterm keeps it as a cell of its own).
 */
int
model_cell_shown(struct model *m, VTermScreenCell *cell, int col, int cols,
    int *covered)
{
	int	 was = *covered, w;

	*covered = 0;
	if (cell->chars[0] == (uint32_t)-1 && was)
		return (0);
	w = cell->chars[0] == (uint32_t)-1 ? 1 : model_width(m,
	    cell->chars[0]);
	/* A narrow one written over the left half of a wide one. */
	if (cell->width == 2 && w != 2)
		cell->width = 1;
	if (cell->chars[0] == (uint32_t)-1 || w == 0 ||
	    (cell->width == 2 && col + 1 >= cols) ||
	    (cell->width == 1 && w == 2)) {
		cell->chars[0] = ' ';
		cell->chars[1] = 0;
	} else if (cell->width == 2)
		*covered = 1;
	return (1);
}

/* How many columns libvterm moves on for a code point: 0, 1 or 2. */
static int
model_width(struct model *m, uint32_t cp)
{
	int	 col;

	if (cp < 0x300 || !model_drawable(cp))
		return (1);
	/*
	 * A combining character: after a base character the cursor stays
	 * (alone, libvterm may give it a cell of its own, which a terminal
	 * does not draw the same).
	 */
	if ((col = wvt_col(m, "\rA", cp)) == 1)
		return (0);
	if (col == -1 || (col = wvt_col(m, "\r", cp)) == -1)
		return (1);
	return (col > 2 ? 2 : col);
}

/* The scratch terminal's cursor column after prefix and cp; -1 if none. */
static int
wvt_col(struct model *m, const char *prefix, uint32_t cp)
{
	struct mbuf	 b;
	VTermPos	 pos;

	memset(&b, 0, sizeof(b));
	mbuf_add(&b, prefix, strlen(prefix));
	put_char(&b, cp);
	if (b.failed) {
		mbuf_free(&b);
		return (-1);
	}
	(void)vterm_input_write(m->wvt, (const char *)b.data, b.len);
	mbuf_free(&b);
	vterm_state_get_cursorpos(vterm_obtain_state(m->wvt), &pos);
	return (pos.col);
}

static int
cell_blank(const VTermScreenCell *c)
{
	const VTermScreenCellAttrs	*a = &c->attrs;

	return ((c->chars[0] == 0 || c->chars[0] == ' ') && !a->bold &&
	    !a->underline && !a->italic && !a->blink && !a->reverse &&
	    !a->strike && !a->font && VTERM_COLOR_IS_DEFAULT_FG(&c->fg) &&
	    VTERM_COLOR_IS_DEFAULT_BG(&c->bg));
}

/* SGR that sets exactly this pen from any other. */
static void
sgr(char *buf, size_t len, const VTermScreenCellAttrs *a,
    const VTermColor *fg, const VTermColor *bg)
{
	char	 c[40];

	strlcpy(buf, "\033[0", len);
	if (a->bold)
		strlcat(buf, ";1", len);
	if (a->italic)
		strlcat(buf, ";3", len);
	if (a->underline == VTERM_UNDERLINE_SINGLE)
		strlcat(buf, ";4", len);
	else if (a->underline == VTERM_UNDERLINE_DOUBLE)
		strlcat(buf, ";21", len);
	else if (a->underline == VTERM_UNDERLINE_CURLY)
		strlcat(buf, ";4:3", len);
	if (a->blink)
		strlcat(buf, ";5", len);
	if (a->reverse)
		strlcat(buf, ";7", len);
	if (a->strike)
		strlcat(buf, ";9", len);
	if (a->font > 0 && a->font <= 9) {
		snprintf(c, sizeof(c), ";%u", 10 + a->font);
		strlcat(buf, c, len);
	}
	if (!VTERM_COLOR_IS_DEFAULT_FG(fg)) {
		sgr_color(c, sizeof(c), fg, 30);
		strlcat(buf, c, len);
	}
	if (!VTERM_COLOR_IS_DEFAULT_BG(bg)) {
		sgr_color(c, sizeof(c), bg, 40);
		strlcat(buf, c, len);
	}
	strlcat(buf, "m", len);
}

/* base 30: foreground, 40: background. */
static void
sgr_color(char *buf, size_t len, const VTermColor *col, int base)
{
	if (VTERM_COLOR_IS_INDEXED(col)) {
		if (col->indexed.idx < 8)
			snprintf(buf, len, ";%d", base + col->indexed.idx);
		else if (col->indexed.idx < 16)
			snprintf(buf, len, ";%d", base + 60 +
			    col->indexed.idx - 8);
		else
			snprintf(buf, len, ";%d;5;%u", base + 8,
			    col->indexed.idx);
	} else
		snprintf(buf, len, ";%d;2;%u;%u;%u", base + 8, col->rgb.red,
		    col->rgb.green, col->rgb.blue);
}

/* A code point a terminal shows (libvterm keeps what it decoded). */
int
model_drawable(uint32_t cp)
{
	return (cp >= 0x20 && !(cp >= 0x7f && cp < 0xa0) && cp <= 0x10ffff &&
	    !(cp >= 0xd800 && cp <= 0xdfff));
}

/* One drawable code point as UTF-8. */
static void
put_char(struct mbuf *out, uint32_t cp)
{
	uint8_t	 b[4];
	size_t	 n;

	if (cp < 0x80) {
		b[0] = cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = 0xc0 | (cp >> 6);
		b[1] = 0x80 | (cp & 0x3f);
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = 0xe0 | (cp >> 12);
		b[1] = 0x80 | ((cp >> 6) & 0x3f);
		b[2] = 0x80 | (cp & 0x3f);
		n = 3;
	} else {
		b[0] = 0xf0 | (cp >> 18);
		b[1] = 0x80 | ((cp >> 12) & 0x3f);
		b[2] = 0x80 | ((cp >> 6) & 0x3f);
		b[3] = 0x80 | (cp & 0x3f);
		n = 4;
	}
	mbuf_add(out, b, n);
}

/* The pen the guest's next text is written with. */
static void
put_pen(struct model *m, struct mbuf *out)
{
	VTermScreenCellAttrs	 a;
	VTermValue		 v;
	VTermColor		 fg, bg;
	char			 pen[128];

	memset(&a, 0, sizeof(a));
#define PEN(attr, field) do {						\
	if (vterm_state_get_penattr(m->st, (attr), &v))			\
		a.field = v.number;					\
} while (0)
	PEN(VTERM_ATTR_BOLD, bold);
	PEN(VTERM_ATTR_UNDERLINE, underline);
	PEN(VTERM_ATTR_ITALIC, italic);
	PEN(VTERM_ATTR_BLINK, blink);
	PEN(VTERM_ATTR_REVERSE, reverse);
	PEN(VTERM_ATTR_STRIKE, strike);
	PEN(VTERM_ATTR_FONT, font);
#undef PEN
	(void)vterm_state_get_penattr(m->st, VTERM_ATTR_FOREGROUND, &v);
	fg = v.color;
	(void)vterm_state_get_penattr(m->st, VTERM_ATTR_BACKGROUND, &v);
	bg = v.color;
	sgr(pen, sizeof(pen), &a, &fg, &bg);
	mbuf_add(out, pen, strlen(pen));
}

/* The modes that matter to input and to how the screen looks. */
static void
put_modes(struct model *m, struct mbuf *out)
{
	const char	*p;
	int		 track;

	mbuf_printf(out, "\033[?2004%c", strstr(probe(m, PROBE_PASTE),
	    "\033[200~") != NULL ? 'h' : 'l');
	mbuf_printf(out, "\033[?1%c", strcmp(probe(m, PROBE_CURSORKEYS),
	    "\033OA") == 0 ? 'h' : 'l');
	mbuf_printf(out, "%s", strcmp(probe(m, PROBE_KEYPAD), "\033Op") == 0 ?
	    "\033=" : "\033>");
	mbuf_printf(out, "\033[?1004%c", strcmp(probe(m, PROBE_FOCUS),
	    "\033[I") == 0 ? 'h' : 'l');
	mbuf_printf(out, "\033[?1006l\033[?1015l\033[?1005l"
	    "\033[?1003l\033[?1002l\033[?1000l");
	track = m->mouse == VTERM_PROP_MOUSE_CLICK ? 1000 :
	    m->mouse == VTERM_PROP_MOUSE_DRAG ? 1002 :
	    m->mouse == VTERM_PROP_MOUSE_MOVE ? 1003 : 0;
	if (track != 0) {
		mbuf_printf(out, "\033[?%dh", track);
		p = probe(m, PROBE_MOUSE);
		if (strncmp(p, "\033[<", 3) == 0)
			mbuf_printf(out, "\033[?1006h");
		else if (strncmp(p, "\033[M", 3) == 0 && strlen(p) == 7)
			mbuf_printf(out, "\033[?1005h");
		else if (strncmp(p, "\033[", 2) == 0 && p[2] >= '0' &&
		    p[2] <= '9')
			mbuf_printf(out, "\033[?1015h");
	}
	mbuf_printf(out, "\033[?5%c", m->reverse ? 'h' : 'l');
	if (m->cursor_shape >= VTERM_PROP_CURSORSHAPE_BLOCK &&
	    m->cursor_shape <= VTERM_PROP_CURSORSHAPE_BAR_LEFT)
		mbuf_printf(out, "\033[%d q", (m->cursor_shape - 1) * 2 +
		    (m->cursor_blink ? 1 : 2));
	if (m->title[0] != '\0')
		mbuf_printf(out, "\033]2;%s\007", m->title);
	if (m->cursor_visible)
		mbuf_printf(out, "\033[?25h");
}

static void
mbuf_add(struct mbuf *b, const void *data, size_t len)
{
	uint8_t	*p;
	size_t	 cap;

	if (b->failed)
		return;
	if (b->len + len > b->cap) {
		cap = b->cap == 0 ? 65536 : b->cap;
		while (cap < b->len + len)
			cap *= 2;
		if ((p = realloc(b->data, cap)) == NULL) {
			b->failed = 1;
			return;
		}
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
}

static void
mbuf_printf(struct mbuf *b, const char *fmt, ...)
{
	char	 buf[512];
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf))
		b->failed = 1;
	else
		mbuf_add(b, buf, n);
}

int
model_alt(const struct model *m)
{
	return (m->alt);
}

int
model_cell(const struct model *m, int row, int col, VTermScreenCell *cell)
{
	VTermPos	 pos;

	pos.row = row;
	pos.col = col;
	return (vterm_screen_get_cell(m->vs, pos, cell));
}

/*
 * The cursor, on the screen: libvterm 0.1.4 can leave it above the first
 * row after a resize to one row (found by fuzz_screen).
 */
static void
cursor_pos(const struct model *m, VTermPos *pos)
{
	vterm_state_get_cursorpos(m->st, pos);
	pos->row = clamp(pos->row + 1, 1, m->rows) - 1;
	pos->col = clamp(pos->col + 1, 1, m->cols) - 1;
}

/* The cursor as row * MODEL_COLS_MAX + column. */
int
model_cursor(const struct model *m)
{
	VTermPos	 pos;

	cursor_pos(m, &pos);
	return (pos.row * MODEL_COLS_MAX + pos.col);
}

void
mbuf_free(struct mbuf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}
