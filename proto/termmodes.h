/*
 * Terminal modes in the encoding of RFC 4254 section 8 (an opcode byte and
 * a uint32 argument, network order, ended by TTY_OP_END), as the termmodes
 * extension carries them (capsem-protocol(7) "termmodes"), and in the text
 * form capsem-shell passes to capsem-hostd ("VERASE=8,IUTF8=1,...").
 * Only the opcodes of the table in termmodes.c are accepted.
 */
#ifndef CAPSEM_TERMMODES_H
#define CAPSEM_TERMMODES_H

#include <stddef.h>
#include <stdint.h>
#include <termios.h>

#define TERMMODES_MAX		512	/* encoded bytes, TTY_OP_END included */
#define TERMMODES_NMAX		64	/* modes in one set */
#define TERMMODES_TEXT_MAX	1024	/* the text form, NUL included */

struct termmodes {
	size_t		 n;
	struct {
		uint8_t		 op;
		uint32_t	 arg;
	}		 m[TERMMODES_NMAX];
};

/* Strict parse of an encoding; -1 with a reason in err if any rule fails. */
int	 termmodes_parse(const uint8_t *, size_t, struct termmodes *, char *,
	    size_t);
/* Encode; returns the length (always <= TERMMODES_MAX). */
size_t	 termmodes_encode(const struct termmodes *, uint8_t *);
/* Every known mode of t. */
void	 termmodes_from_termios(const struct termios *, struct termmodes *);
/* Set the modes of tm in t (the others stay). */
void	 termmodes_apply(const struct termmodes *, struct termios *);
/* "VERASE=8,IUTF8=1" <-> a set; -1 with a reason in err. */
int	 termmodes_from_text(const char *, struct termmodes *, char *, size_t);
int	 termmodes_to_text(const struct termmodes *, char *, size_t);
/* The value of one mode in tm by name, or -1 (for log lines and tests). */
long long termmodes_get(const struct termmodes *, const char *);

#endif
