/*
 * Terminal modes (termmodes.h): one table maps each RFC 4254 opcode to its
 * name and to where it lives in a struct termios.  Everything that takes
 * modes from outside goes through termmodes_parse or termmodes_from_text,
 * which accept only the opcodes of this table, each once, with an
 * argument in range.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "termmodes.h"

#define TTY_OP_END	0
#define VDISABLED	255	/* RFC 4254: the character is disabled */

enum tm_kind { TM_CC, TM_IFLAG, TM_LFLAG, TM_OFLAG };

static const struct {
	uint8_t		 op;
	const char	*name;
	enum tm_kind	 kind;
	tcflag_t	 v;		/* c_cc index or flag bit */
} modes[] = {
	{ 1, "VINTR", TM_CC, VINTR },
	{ 2, "VQUIT", TM_CC, VQUIT },
	{ 3, "VERASE", TM_CC, VERASE },
	{ 4, "VKILL", TM_CC, VKILL },
	{ 5, "VEOF", TM_CC, VEOF },
	{ 6, "VEOL", TM_CC, VEOL },
	{ 7, "VEOL2", TM_CC, VEOL2 },
	{ 8, "VSTART", TM_CC, VSTART },
	{ 9, "VSTOP", TM_CC, VSTOP },
	{ 10, "VSUSP", TM_CC, VSUSP },
	{ 12, "VREPRINT", TM_CC, VREPRINT },
	{ 13, "VWERASE", TM_CC, VWERASE },
	{ 14, "VLNEXT", TM_CC, VLNEXT },
	{ 18, "VDISCARD", TM_CC, VDISCARD },
	{ 30, "IGNPAR", TM_IFLAG, IGNPAR },
	{ 31, "PARMRK", TM_IFLAG, PARMRK },
	{ 32, "INPCK", TM_IFLAG, INPCK },
	{ 33, "ISTRIP", TM_IFLAG, ISTRIP },
	{ 34, "INLCR", TM_IFLAG, INLCR },
	{ 35, "IGNCR", TM_IFLAG, IGNCR },
	{ 36, "ICRNL", TM_IFLAG, ICRNL },
	{ 37, "IUCLC", TM_IFLAG, IUCLC },
	{ 38, "IXON", TM_IFLAG, IXON },
	{ 39, "IXANY", TM_IFLAG, IXANY },
	{ 40, "IXOFF", TM_IFLAG, IXOFF },
	{ 41, "IMAXBEL", TM_IFLAG, IMAXBEL },
	{ 42, "IUTF8", TM_IFLAG, IUTF8 },
	{ 50, "ISIG", TM_LFLAG, ISIG },
	{ 51, "ICANON", TM_LFLAG, ICANON },
	{ 52, "XCASE", TM_LFLAG, XCASE },
	{ 53, "ECHO", TM_LFLAG, ECHO },
	{ 54, "ECHOE", TM_LFLAG, ECHOE },
	{ 55, "ECHOK", TM_LFLAG, ECHOK },
	{ 56, "ECHONL", TM_LFLAG, ECHONL },
	{ 57, "NOFLSH", TM_LFLAG, NOFLSH },
	{ 58, "TOSTOP", TM_LFLAG, TOSTOP },
	{ 59, "IEXTEN", TM_LFLAG, IEXTEN },
	{ 60, "ECHOCTL", TM_LFLAG, ECHOCTL },
	{ 61, "ECHOKE", TM_LFLAG, ECHOKE },
	{ 62, "PENDIN", TM_LFLAG, PENDIN },
	{ 70, "OPOST", TM_OFLAG, OPOST },
	{ 71, "OLCUC", TM_OFLAG, OLCUC },
	{ 72, "ONLCR", TM_OFLAG, ONLCR },
	{ 73, "OCRNL", TM_OFLAG, OCRNL },
	{ 74, "ONOCR", TM_OFLAG, ONOCR },
	{ 75, "ONLRET", TM_OFLAG, ONLRET },
};
#define NMODES	(sizeof(modes) / sizeof(modes[0]))

static int	 errf(char *, size_t, const char *, ...)
		    __attribute__((__format__(printf, 3, 4)));

static int
errf(char *err, size_t len, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	(void)vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return (-1);
}

static int
mode_index(uint8_t op)
{
	size_t	 k;

	for (k = 0; k < NMODES; k++)
		if (modes[k].op == op)
			return ((int)k);
	return (-1);
}

/* Add one mode to tm: known, not there yet, argument in range. */
static int
mode_add(struct termmodes *tm, uint8_t op, uint32_t arg, char *err,
    size_t errlen)
{
	size_t	 i;
	int	 k;

	if ((k = mode_index(op)) == -1)
		return (errf(err, errlen, "unknown opcode %u", op));
	for (i = 0; i < tm->n; i++)
		if (tm->m[i].op == op)
			return (errf(err, errlen, "%s given twice",
			    modes[k].name));
	if (modes[k].kind == TM_CC ? arg > 255 : arg > 1)
		return (errf(err, errlen, "%s %u out of range (0 to %u)",
		    modes[k].name, arg, modes[k].kind == TM_CC ? 255 : 1));
	if (tm->n >= TERMMODES_NMAX)
		return (errf(err, errlen, "more than %d modes",
		    TERMMODES_NMAX));
	tm->m[tm->n].op = op;
	tm->m[tm->n].arg = arg;
	tm->n++;
	return (0);
}

int
termmodes_parse(const uint8_t *p, size_t len, struct termmodes *tm,
    char *err, size_t errlen)
{
	size_t		 off = 0;
	uint32_t	 arg;

	memset(tm, 0, sizeof(*tm));
	if (len > TERMMODES_MAX)
		return (errf(err, errlen, "%zu bytes, more than %d", len,
		    TERMMODES_MAX));
	for (;;) {
		if (off >= len)
			return (errf(err, errlen, "no TTY_OP_END"));
		if (p[off] == TTY_OP_END)
			break;
		if (len - off < 5)
			return (errf(err, errlen, "opcode %u at byte %zu cut "
			    "short", p[off], off));
		arg = (uint32_t)p[off + 1] << 24 | (uint32_t)p[off + 2] << 16 |
		    (uint32_t)p[off + 3] << 8 | p[off + 4];
		if (mode_add(tm, p[off], arg, err, errlen) == -1) {
			size_t	 l = strlen(err);

			(void)snprintf(err + l, errlen - l, " at byte %zu",
			    off);
			return (-1);
		}
		off += 5;
	}
	if (off + 1 != len)
		return (errf(err, errlen, "%zu bytes after TTY_OP_END",
		    len - off - 1));
	return (0);
}

size_t
termmodes_encode(const struct termmodes *tm, uint8_t *p)
{
	size_t	 i, off = 0;

	for (i = 0; i < tm->n && off + 6 <= TERMMODES_MAX; i++) {
		p[off++] = tm->m[i].op;
		p[off++] = tm->m[i].arg >> 24;
		p[off++] = tm->m[i].arg >> 16;
		p[off++] = tm->m[i].arg >> 8;
		p[off++] = tm->m[i].arg;
	}
	p[off++] = TTY_OP_END;
	return (off);
}

static tcflag_t *
mode_flags(struct termios *t, enum tm_kind kind)
{
	switch (kind) {
	case TM_IFLAG:
		return (&t->c_iflag);
	case TM_LFLAG:
		return (&t->c_lflag);
	case TM_OFLAG:
		return (&t->c_oflag);
	default:
		return (NULL);
	}
}

void
termmodes_from_termios(const struct termios *t, struct termmodes *tm)
{
	struct termios	 c = *t;
	size_t		 k;
	cc_t		 ch;

	memset(tm, 0, sizeof(*tm));
	for (k = 0; k < NMODES && tm->n < TERMMODES_NMAX; k++) {
		tm->m[tm->n].op = modes[k].op;
		if (modes[k].kind == TM_CC) {
			ch = c.c_cc[modes[k].v];
			tm->m[tm->n].arg = ch == _POSIX_VDISABLE ? VDISABLED :
			    ch;
		} else
			tm->m[tm->n].arg =
			    (*mode_flags(&c, modes[k].kind) & modes[k].v) != 0;
		tm->n++;
	}
}

void
termmodes_apply(const struct termmodes *tm, struct termios *t)
{
	tcflag_t	*f;
	size_t		 i;
	int		 k;

	for (i = 0; i < tm->n; i++) {
		if ((k = mode_index(tm->m[i].op)) == -1)
			continue;
		if (modes[k].kind == TM_CC) {
			t->c_cc[modes[k].v] = tm->m[i].arg == VDISABLED ?
			    _POSIX_VDISABLE : (cc_t)tm->m[i].arg;
			continue;
		}
		f = mode_flags(t, modes[k].kind);
		if (tm->m[i].arg)
			*f |= modes[k].v;
		else
			*f &= ~modes[k].v;
	}
}

int
termmodes_from_text(const char *text, struct termmodes *tm, char *err,
    size_t errlen)
{
	char		 buf[TERMMODES_TEXT_MAX], *p, *item, *eq, *end;
	unsigned long	 v;
	size_t		 k;

	memset(tm, 0, sizeof(*tm));
	if (strlcpy(buf, text, sizeof(buf)) >= sizeof(buf))
		return (errf(err, errlen, "longer than %d bytes",
		    TERMMODES_TEXT_MAX - 1));
	for (p = buf; (item = strsep(&p, ",")) != NULL;) {
		if (*item == '\0')
			continue;
		if ((eq = strchr(item, '=')) == NULL)
			return (errf(err, errlen, "%s: not NAME=VALUE", item));
		*eq++ = '\0';
		for (k = 0; k < NMODES; k++)
			if (strcmp(item, modes[k].name) == 0)
				break;
		if (k == NMODES)
			return (errf(err, errlen, "%s: unknown mode", item));
		errno = 0;
		v = strtoul(eq, &end, 10);
		if (*eq < '0' || *eq > '9' || *end != '\0' || errno != 0 ||
		    v > UINT32_MAX)
			return (errf(err, errlen, "%s=%s: not a number", item,
			    eq));
		if (mode_add(tm, modes[k].op, (uint32_t)v, err, errlen) == -1)
			return (-1);
	}
	return (0);
}

int
termmodes_to_text(const struct termmodes *tm, char *out, size_t len)
{
	size_t	 i, off = 0;
	int	 k, n;

	if (len == 0)
		return (-1);
	out[0] = '\0';
	for (i = 0; i < tm->n; i++) {
		if ((k = mode_index(tm->m[i].op)) == -1)
			return (-1);
		n = snprintf(out + off, len - off, "%s%s=%u", i ? "," : "",
		    modes[k].name, tm->m[i].arg);
		if (n < 0 || (size_t)n >= len - off)
			return (-1);
		off += n;
	}
	return (0);
}

long long
termmodes_get(const struct termmodes *tm, const char *name)
{
	size_t	 i;
	int	 k;

	for (i = 0; i < tm->n; i++)
		if ((k = mode_index(tm->m[i].op)) != -1 &&
		    strcmp(modes[k].name, name) == 0)
			return (tm->m[i].arg);
	return (-1);
}
