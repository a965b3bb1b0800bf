/*
 * The screen model: libvterm keeps the screen (cells, pen, cursor, modes,
 * the alternate screen); this file feeds it and writes a snapshot, the
 * bytes that draw the screen as it is now on a fresh terminal of the same
 * size.  The snapshot is made from the model only, never from the bytes
 * the guest sent, so no query an application sent earlier (a cursor
 * position report, a device attributes request) is ever in it.
 *
 * libvterm has no getter for the primary screen while the alternate one
 * is shown, so the primary screen is copied just before the switch.
 * libvterm never sees the guest's bytes: the parser (parse()) feeds it a
 * canonical form of them only, which keeps from it what libvterm 0.1.4
 * mishandles.  Input modes that libvterm keeps but does not expose
 * (bracketed paste, cursor keys, keypad, mouse encoding, focus reports)
 * are read back by asking libvterm what it would send for a key, a
 * paste, a click or a focus change.
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
#define OUT_MAX			(64 * 1024)	/* fed to libvterm at once */
#define CSI_PARAMS_MAX		16	/* libvterm 0.1.4's own bound */
#define CSI_PARAM_MAX		65535

/*
 * DECRC puts back a cursor saved before the screen was made smaller, off
 * the screen, where libvterm 0.1.4 writes past a line (inserting, found
 * by test_text_skip).  Every CSI it runs ends by putting the cursor back
 * on the screen (or in the scrolling region, in origin mode); a DSR of 0
 * (a report, ignored) does only that.
 */
#define CURSOR_CLAMP		"\033[n"

/* Instead of text that scrolls off unseen (text_skip()). */
#define TEXT_SKIPPED		"\033[H\033[2J"

#define REPLACEMENT		"\xef\xbf\xbd"	/* U+FFFD */

/* Where the parser is in what the guest wrote (parse()). */
enum parse_state {
	P_GROUND = 0,
	P_ESC,
	P_CSI,
	P_STR,		/* DCS, OSC, APC, PM, SOS: not fed, up to ST or BEL */
	P_STR_ESC
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

	/*
	 * The parser: libvterm is fed only a canonical form of what the
	 * guest wrote (parse()), from out, a whole sequence or character at
	 * a time.
	 */
	enum parse_state ps;
	uint8_t		 u8[4];		/* a UTF-8 character so far */
	int		 u8len, u8need;	/* its bytes so far, and to come */
	uint8_t		 esc_inter;	/* the escape's intermediate, or 0 */
	int		 esc_bad;	/* more than one: not fed */
	uint8_t		 csi_lead, csi_inter;	/* private marker, intermediate */
	int		 csi_bad;	/* no CSI libvterm may see */
	int		 csi_n;		/* parameters begun */
	int		 csi_p[CSI_PARAMS_MAX];		/* -1: left out */
	uint8_t		 csi_colon[CSI_PARAMS_MAX];	/* ':' after it */
	uint32_t	 last_cp;	/* the last character fed, for REP */
	int		 str_osc;	/* the string is an OSC: kept here */
	char		 str[TITLE_MAX + 8];
	size_t		 strlen;
	uint8_t		*out;		/* OUT_MAX + sizeof(TEXT_SKIPPED) */
	size_t		 outlen;
	size_t		 run;		/* plain text at out's end from, or */
#define RUN_NONE	 SIZE_MAX	/* none */

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
static void	 parse(struct model *, uint8_t);
static void	 ground(struct model *, uint8_t);
static int	 u8_next(struct model *, uint8_t);
static void	 u8_put(struct model *);
static void	 u8_bad(struct model *);
static void	 control(struct model *, uint8_t);
static void	 esc_enter(struct model *);
static void	 esc_byte(struct model *, uint8_t);
static void	 esc_run(struct model *, uint8_t);
static void	 csi_enter(struct model *);
static void	 csi_byte(struct model *, uint8_t);
static void	 csi_run(struct model *, uint8_t);
static void	 margins(struct model *, uint8_t, int);
static int	 rep_ok(struct model *);
static void	 str_end(struct model *);
static void	 out_add(struct model *, const void *, size_t, int);
static void	 out_flush(struct model *);
static void	 run_end(struct model *);
static void	 feed_part(struct model *, const uint8_t *, size_t);
static size_t	 text_skip(struct model *, const uint8_t *, size_t);
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
	m->run = RUN_NONE;
	if ((m->out = malloc(OUT_MAX + sizeof(TEXT_SKIPPED))) == NULL) {
		free(m);
		return (NULL);
	}
	if ((m->vt = vterm_new(m->rows, m->cols)) == NULL) {
		free(m->out);
		free(m);
		return (NULL);
	}
	if ((m->wvt = vterm_new(1, 8)) == NULL) {
		vterm_free(m->vt);
		free(m->out);
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
	free(m->out);
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
	m->ps = P_GROUND;
	m->u8need = 0;
	m->alt = 0;
	m->cursor_visible = 1;
	m->cursor_blink = 0;
	m->cursor_shape = 0;
	m->mouse = VTERM_PROP_MOUSE_NONE;
	m->reverse = 0;
	m->title[0] = '\0';
	m->primary_ok = 0;
	m->captured = 0;
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
	/*
	 * libvterm 0.1.4 leaves the cursor above the screen when it made
	 * the screen shorter with the cursor near the top (found by a
	 * review): row 1 then, as a terminal puts it.
	 */
	n = snprintf(b, sizeof(b), "\033[r\033[%d;%dH",
	    pos.row < 0 ? 1 : pos.row >= rows ? rows : pos.row + 1,
	    pos.col < 0 ? 1 : pos.col >= cols ? cols : pos.col + 1);
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
 * Canonical input for libvterm, a whole character or sequence at a time
 * (text: part of a run of plain text, which text_skip() may shorten).
 */
static void
out_add(struct model *m, const void *p, size_t len, int text)
{
	if (!text)
		run_end(m);
	if (m->outlen + len > OUT_MAX)
		out_flush(m);
	if (text && m->run == RUN_NONE)
		m->run = m->outlen;
	memcpy(m->out + m->outlen, p, len);
	m->outlen += len;
}

/* Everything so far to libvterm. */
static void
out_flush(struct model *m)
{
	run_end(m);
	feed_part(m, m->out, m->outlen);
	m->outlen = 0;
}

/*
 * The run of plain text at out's end is over: what of it scrolls off
 * unseen is left out (only with the whole screen as scrolling region).
 */
static void
run_end(struct model *m)
{
	size_t	 run = m->run, b;

	m->run = RUN_NONE;
	if (run == RUN_NONE || !m->skip || m->stbm || m->lrmm ||
	    (b = text_skip(m, m->out + run, m->outlen - run)) == 0)
		return;
	/* out has room for TEXT_SKIPPED past OUT_MAX. */
	memmove(m->out + run + sizeof(TEXT_SKIPPED) - 1, m->out + run + b,
	    m->outlen - run - b);
	memcpy(m->out + run, TEXT_SKIPPED, sizeof(TEXT_SKIPPED) - 1);
	m->outlen = m->outlen - b + sizeof(TEXT_SKIPPED) - 1;
	m->skipped += b;
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

/* Plain text (parse() writes no other control into a run). */
static const uint8_t text_ascii[256] = {
	['\t'] = 1, ['\n'] = 1, ['\r'] = 1, [0x20 ... 0x7e] = 1,
};

/*
 * How much of the run of plain text p[0..len) (well-formed, as parse()
 * writes it) need not be fed, from its start: the part that scrolls off
 * the screen before the end of the run, or 0.  Rows LFs take the cursor
 * to the last row from wherever it was and leave that row blank,
 * scrolled in; rows - 1 more, each a scroll there, push everything on
 * the screen before them off it.  So, with the whole screen as scrolling
 * region and no left and right margins, if the run has rows LFs before a
 * line that starts after a CR LF and rows - 1 after it, the screen at the
 * run's end holds that line and what follows only, on lines scrolled in
 * blank (with the pen's background): the same screen, cursor and pen as
 * when the text before the line is left out, the screen cleared and the
 * cursor sent home (the line then fills the screen from the top).  Every
 * LF after it must follow a CR: libvterm keeps a pending wrap across an
 * LF that scrolls but not across one that moves the cursor down.  A
 * printed character after it makes libvterm's last character (REP,
 * combining) the same too; the line does not start with a combining one.
 */
static size_t
text_skip(struct model *m, const uint8_t *p, size_t len)
{
	size_t		 j, rows = (size_t)m->rows, lf = 0, total = 0;
	int		 printed = 0;

	for (j = 0; j < len; j++)
		total += p[j] == '\n';
	/* libvterm's screen of one row does not follow this (fuzz_screen). */
	if (rows < 2 || total < 2 * rows - 1)
		return (0);
	for (j = len; j > 2 && total - lf >= rows; j--) {
		if (p[j - 1] >= 0x20 && p[j - 1] < 0x7f)
			printed = 1;
		if (p[j - 1] != '\n')
			continue;
		if (p[j - 2] != '\r')
			break;
		/* Before this LF, total - lf; after it, lf. */
		if (lf++ >= rows - 1 && printed && j < len && p[j] < 0x80)
			return (j);
	}
	return (0);
}

/*
 * The parser.  libvterm 0.1.4 is fragile on input no program writes (a
 * fuzzer finds something new in it every hour: an unknown DECRQSS, an
 * escape inside an OSC, more than 16 CSI parameters, REP before any
 * character, double-width lines, a C1 control in UTF-8, UTF-8 decoder
 * state carried across an escape), so it never sees the guest's bytes:
 * parse() reads them the way ECMA-48 and xterm do and writes to out, for
 * libvterm, only
 *
 *	text: printable ASCII, HT, CR, LF, and well-formed UTF-8 (an
 *	ill-formed sequence becomes one U+FFFD, as a terminal shows it;
 *	a C1 control written in UTF-8 is left out; a character cut by
 *	the input's end waits for the rest in u8);
 *	BS, VT and FF; no other control (NUL, BEL, SO, SI, ... draw
 *	nothing, or switch to a character set the model does not keep);
 *	the escapes in esc_run() and the CSIs in csi_run(), re-encoded with
 *	at most 16 parameters of at most 65535 each;
 *	nothing of a string (DCS, OSC, APC, PM, SOS): the only one libvterm
 *	keeps, the window title (OSC 0 and 2), is read here.
 *
 * A control inside an escape or a CSI is run there, as terminals do; ESC
 * starts a new escape and CAN or SUB cancels one; a sequence with a byte
 * that has no place in it is left out whole.  The parser holds at most
 * one unfinished sequence across inputs, in its few fields: no escape
 * cut by an input's end is ever fed in two parts.
 *
 * Two of those escapes take more: DECSET of an alternate screen (47,
 * 1047, 1049) has libvterm fed up to there, so the primary screen can be
 * copied (capture_primary()); DECRC is followed by CURSOR_CLAMP.
 */

/* Input from the guest: untrusted. */
void
model_feed(struct model *m, const uint8_t *p, size_t len)
{
	size_t	 i, j, last;

	for (i = 0; i < len; i = j) {
		/* Plain ASCII text, the bulk of it, in one piece. */
		if (m->ps == P_GROUND && m->u8need == 0) {
			for (j = i, last = len; j < len && j - i < OUT_MAX &&
			    text_ascii[p[j]]; j++)
				if (p[j] >= 0x20)
					last = j;
			if (j > i) {
				if (last < len)
					m->last_cp = p[last];
				out_add(m, p + i, j - i, 1);
				continue;
			}
		}
		parse(m, p[i]);
		j = i + 1;
	}
	out_flush(m);
}

/* One byte of what the guest wrote, the parser in any state. */
static void
parse(struct model *m, uint8_t b)
{
	if (b == 0x18 || b == 0x1a) {
		/* CAN, SUB: whatever was under way is not fed. */
		if (m->ps == P_GROUND && m->u8need > 0)
			u8_bad(m);
		m->ps = P_GROUND;
		return;
	}
	switch (m->ps) {
	case P_GROUND:
		ground(m, b);
		break;
	case P_ESC:
		esc_byte(m, b);
		break;
	case P_CSI:
		csi_byte(m, b);
		break;
	case P_STR:
		if (b == 0x1b)
			m->ps = P_STR_ESC;
		else if (b == 0x07) {
			str_end(m);
			m->ps = P_GROUND;
		} else if (m->str_osc && m->strlen < sizeof(m->str))
			m->str[m->strlen++] = b;
		break;
	case P_STR_ESC:
		if (b == '\\') {
			str_end(m);
			m->ps = P_GROUND;
			break;
		}
		/* Cut by another escape: the string is not taken. */
		esc_enter(m);
		esc_byte(m, b);
		break;
	}
}

static void
ground(struct model *m, uint8_t b)
{
	if (m->u8need > 0) {
		if (u8_next(m, b)) {
			m->u8[m->u8len++] = b;
			if (--m->u8need == 0)
				u8_put(m);
			return;
		}
		u8_bad(m);
	}
	if (b < 0x20)
		control(m, b);
	else if (b < 0x7f) {
		m->last_cp = b;
		out_add(m, &b, 1, 1);
	} else if (b >= 0xc2 && b <= 0xf4) {
		m->u8[0] = b;
		m->u8len = 1;
		m->u8need = b < 0xe0 ? 1 : b < 0xf0 ? 2 : 3;
	} else if (b != 0x7f)
		u8_bad(m);	/* a byte no character starts with */
}

/* Whether b goes on the UTF-8 character begun (no overlong, surrogate). */
static int
u8_next(struct model *m, uint8_t b)
{
	if ((b & 0xc0) != 0x80)
		return (0);
	if (m->u8len > 1)
		return (1);
	switch (m->u8[0]) {
	case 0xe0:
		return (b >= 0xa0);
	case 0xed:
		return (b <= 0x9f);
	case 0xf0:
		return (b >= 0x90);
	case 0xf4:
		return (b <= 0x8f);
	}
	return (1);
}

/* A whole character: fed, but a C1 control (C2 80..9F), which is run. */
static void
u8_put(struct model *m)
{
	uint32_t	 cp;
	int		 i;

	cp = m->u8[0] & (0x7f >> m->u8len);
	for (i = 1; i < m->u8len; i++)
		cp = cp << 6 | (m->u8[i] & 0x3f);
	if (cp < 0xa0)
		return;
	if (cp == 0xfffe || cp == 0xffff) {
		u8_bad(m);
		return;
	}
	m->last_cp = cp;
	out_add(m, m->u8, m->u8len, 1);
}

/* An ill-formed UTF-8 sequence: one U+FFFD, as a terminal draws it. */
static void
u8_bad(struct model *m)
{
	m->u8need = 0;
	m->last_cp = 0xfffd;
	out_add(m, REPLACEMENT, sizeof(REPLACEMENT) - 1, 1);
}

/* A C0 control, in ground or inside a sequence. */
static void
control(struct model *m, uint8_t b)
{
	switch (b) {
	case 0x1b:
		esc_enter(m);
		break;
	case '\t':
	case '\n':
	case '\r':
		out_add(m, &b, 1, 1);
		break;
	case '\b':
	case 0x0b:
	case 0x0c:
		out_add(m, &b, 1, 0);
		break;
	default:
		break;
	}
}

static void
esc_enter(struct model *m)
{
	m->ps = P_ESC;
	m->esc_inter = 0;
	m->esc_bad = 0;
}

/* A byte after ESC: an intermediate, the final byte, or no escape's. */
static void
esc_byte(struct model *m, uint8_t b)
{
	if (b < 0x20) {
		control(m, b);	/* ESC again starts over */
		return;
	}
	if (b <= 0x2f) {
		if (m->esc_inter != 0)
			m->esc_bad = 1;
		m->esc_inter = b;
		return;
	}
	if (b == 0x7f)
		return;
	m->ps = P_GROUND;
	if (b > 0x7f) {
		ground(m, b);	/* no escape: the text goes on */
		return;
	}
	if (!m->esc_bad)
		esc_run(m, b);
}

/*
 * The escapes libvterm is fed: DECSC, DECRC, DECKPAM, DECKPNM, RIS, IND,
 * NEL, HTS, RI, G0 as ASCII, British or DEC graphics, DECALN.  Not fed:
 * SS2 and SS3 (libvterm draws a character under them that the model then
 * cannot draw back the same; found by fuzz_screen), DECDHL and DECDWL
 * (libvterm 0.1.4 writes past a line made narrower than the cursor's
 * column; found by fuzz_screen), the other character sets and shifts, and
 * the queries.
 */
static void
esc_run(struct model *m, uint8_t b)
{
	uint8_t	 e[3] = { 0x1b, m->esc_inter, b };

	switch (m->esc_inter) {
	case 0:
		break;
	case '(':
		if (b == 'B' || b == '0' || b == 'A')
			out_add(m, e, 3, 0);
		return;
	case '#':
		if (b == '8')
			out_add(m, e, 3, 0);
		return;
	default:
		return;
	}
	switch (b) {
	case '[':
		csi_enter(m);
		break;
	case 'P':
	case ']':
	case '_':
	case '^':
	case 'X':
		m->ps = P_STR;
		m->str_osc = b == ']';
		m->strlen = 0;
		break;
	case '8':
		out_add(m, "\0338" CURSOR_CLAMP, 2 + sizeof(CURSOR_CLAMP) - 1,
		    0);
		break;
	case 'c':
		out_add(m, "\033c", 2, 0);
		m->stbm = m->lrmm = 0;
		break;
	case '7':
	case '=':
	case '>':
	case 'D':
	case 'E':
	case 'H':
	case 'M':
		e[1] = b;
		out_add(m, e, 2, 0);
		break;
	default:
		break;
	}
}

static void
csi_enter(struct model *m)
{
	m->ps = P_CSI;
	m->csi_lead = m->csi_inter = 0;
	m->csi_bad = 0;
	m->csi_n = 0;
}

/* A byte of a CSI: ECMA-48's private marker, parameters, intermediate. */
static void
csi_byte(struct model *m, uint8_t b)
{
	int	*v;

	if (b < 0x20) {
		control(m, b);	/* ESC cancels it */
		return;
	}
	if (b >= 0x40 && b <= 0x7e) {
		m->ps = P_GROUND;
		if (!m->csi_bad)
			csi_run(m, b);
		return;
	}
	if (b >= 0x3c && b <= 0x3f) {
		if (m->csi_n > 0 || m->csi_lead != 0 || m->csi_inter != 0)
			m->csi_bad = 1;
		m->csi_lead = b;
	} else if (b >= 0x20 && b <= 0x2f) {
		if (m->csi_inter != 0)
			m->csi_bad = 1;
		m->csi_inter = b;
	} else if (b >= '0' && b <= ';') {
		if (m->csi_inter != 0 || m->csi_bad) {
			m->csi_bad = 1;
			return;
		}
		if (m->csi_n == 0) {
			m->csi_n = 1;
			m->csi_p[0] = -1;
			m->csi_colon[0] = 0;
		}
		if (b <= '9') {
			v = &m->csi_p[m->csi_n - 1];
			*v = *v < 0 ? b - '0' : *v * 10 + (b - '0');
			if (*v > CSI_PARAM_MAX)
				*v = CSI_PARAM_MAX;
		} else if (m->csi_n == CSI_PARAMS_MAX)
			m->csi_bad = 1;	/* libvterm writes past its array */
		else {
			m->csi_colon[m->csi_n - 1] = b == ':';
			m->csi_p[m->csi_n] = -1;
			m->csi_colon[m->csi_n] = 0;
			m->csi_n++;
		}
	} else if (b != 0x7f)
		m->csi_bad = 1;	/* past ASCII: in no CSI */
}

/*
 * The CSIs libvterm is fed: without marker or intermediate, the cursor
 * moves, erases, inserts and deletes, scrolls, tabs, SGR, SM and RM,
 * DECSTBM and DECSLRM, and REP (after a character known to be one column
 * wide only: libvterm 0.1.4 loops forever after a zero-width one and
 * writes past the line for a wide one that does not fit, found by
 * test_text_skip); DECSET and DECRST; DECSCUSR; DECSTR.  Not fed: the
 * queries and reports (DA, DSR, DECRQM, window operations), which libvterm
 * would answer, and what it does not keep.
 */
static void
csi_run(struct model *m, uint8_t f)
{
	static const char	 plain[] = "@ABCDEFGHIJKLMPSTXZ`abdefghlmrs";
	char			 b[8 + CSI_PARAMS_MAX * 6];
	size_t			 n = 0;
	int			 i, alt = 0, lrmm = 0;

	if (m->csi_lead == 0 && m->csi_inter == 0) {
		if (strchr(plain, f) == NULL || (f == 'b' && !rep_ok(m)))
			return;
	} else if (m->csi_lead == '?' && m->csi_inter == 0) {
		if (f != 'h' && f != 'l')
			return;
	} else if (m->csi_lead != 0 ||
	    !((m->csi_inter == ' ' && f == 'q') ||
	    (m->csi_inter == '!' && f == 'p')))
		return;
	b[n++] = 0x1b;
	b[n++] = '[';
	if (m->csi_lead != 0)
		b[n++] = m->csi_lead;
	for (i = 0; i < m->csi_n; i++) {
		if (m->csi_p[i] >= 0)
			n += snprintf(b + n, sizeof(b) - n, "%d", m->csi_p[i]);
		if (i + 1 < m->csi_n)
			b[n++] = m->csi_colon[i] ? ':' : ';';
		alt |= m->csi_p[i] == 47 || m->csi_p[i] == 1047 ||
		    m->csi_p[i] == 1049;
		lrmm |= m->csi_p[i] == 69;
	}
	if (m->csi_inter != 0)
		b[n++] = m->csi_inter;
	b[n++] = f;
	if (m->csi_lead == '?' && f == 'h' && alt) {
		/*
		 * libvterm switches on this CSI: the primary screen first,
		 * once libvterm has read what came before (m->alt is only
		 * known then: a switch back may wait in out).
		 */
		out_flush(m);
		if (!m->alt)
			capture_primary(m);
	}
	out_add(m, b, n, 0);
	margins(m, f, lrmm);
}

/*
 * A CSI's final byte f, fed: whether a scrolling region (DECSTBM) or left
 * and right margins (DECLRMM) may now be set; when unsure, they may.
 */
static void
margins(struct model *m, uint8_t f, int lrmm)
{
	int	 i, colon = 0, p1, p2, np = m->csi_n > 0 ? m->csi_n : 1;

	for (i = 0; i < m->csi_n; i++)
		colon |= m->csi_colon[i];
	p1 = m->csi_n > 0 && m->csi_p[0] > 0 ? m->csi_p[0] : 0;
	p2 = m->csi_n > 1 && m->csi_p[1] > 0 ? m->csi_p[1] : 0;
	if (f == 'r' && m->csi_lead == 0 && m->csi_inter == 0)
		m->stbm = colon || np > 2 || p1 > 1 ||
		    (np == 2 && p2 != 0 && p2 < m->rows);
	else if (f == 'h' && m->csi_lead == '?' && lrmm)
		m->lrmm = 1;
	else if (f == 'l' && m->csi_lead == '?' && lrmm && np == 1)
		m->lrmm = 0;
}

/*
 * REP (CSI b) repeats libvterm's last character until the cursor got far
 * enough, by that character's width: fed only when that is 1 (as libvterm
 * measures it, on the scratch terminal).
 */
static int
rep_ok(struct model *m)
{
	if (m->last_cp >= 0x20 && m->last_cp < 0x7f)
		return (1);
	return (wvt_col(m, "\r", m->last_cp) == 1);
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
	char		 c[40], colors[80];
	const char	*p;
	int		 n;

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
	colors[0] = '\0';
	if (!VTERM_COLOR_IS_DEFAULT_FG(fg)) {
		sgr_color(c, sizeof(c), fg, 30);
		strlcat(colors, c, sizeof(colors));
	}
	if (!VTERM_COLOR_IS_DEFAULT_BG(bg)) {
		sgr_color(c, sizeof(c), bg, 40);
		strlcat(colors, c, sizeof(colors));
	}
	/*
	 * At most 16 parameters in one CSI (CSI_PARAMS_MAX: the model itself
	 * and libvterm take no more): every attribute with two truecolour
	 * colours is 19, so the colours then come in a CSI of their own.
	 */
	for (p = buf, n = 0; *p != '\0'; p++)
		n += *p == ';' || *p == ':';
	for (p = colors; *p != '\0'; p++)
		n += *p == ';' || *p == ':';
	if (n + 1 > CSI_PARAMS_MAX && colors[0] != '\0') {
		strlcat(buf, "m\033[", len);
		strlcat(buf, colors + 1, len);
	} else
		strlcat(buf, colors, len);
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
