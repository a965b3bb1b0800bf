/*
 * libFuzzer target: termmodes_parse, the modes of a termmodes message
 * (capsem-protocol(7) "termmodes") as agent-control and the agent parent
 * check them, and termmodes_from_text, capsem-hostd's --term-modes.  What
 * parses must encode back to the same bytes, go through the text form
 * unchanged and apply to a termios; a refusal always says why.  Touches
 * only memory.
 */
#include <stdint.h>
#include <string.h>
#include <termios.h>

#include "termmodes.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct termmodes tm, tm2;
	struct termios	 t;
	uint8_t		 buf[TERMMODES_MAX];
	char		 why[128], text[TERMMODES_TEXT_MAX];
	size_t		 n;

	why[0] = '\0';
	if (termmodes_parse(data, size, &tm, why, sizeof(why)) == -1) {
		FUZZ_CHECK(why[0] != '\0');
	} else {
		FUZZ_CHECK(tm.n <= TERMMODES_NMAX);
		n = termmodes_encode(&tm, buf);
		FUZZ_CHECK(n == size && memcmp(buf, data, n) == 0);
		FUZZ_CHECK(termmodes_to_text(&tm, text, sizeof(text)) == 0);
		FUZZ_CHECK(termmodes_from_text(text, &tm2, why,
		    sizeof(why)) == 0);
		FUZZ_CHECK(termmodes_encode(&tm2, buf) == n &&
		    memcmp(buf, data, n) == 0);
		memset(&t, 0, sizeof(t));
		termmodes_apply(&tm, &t);
	}
	/* The same bytes as text (NUL-terminated, bounded). */
	n = size < sizeof(text) - 1 ? size : sizeof(text) - 1;
	memcpy(text, data, n);
	text[n] = '\0';
	why[0] = '\0';
	if (termmodes_from_text(text, &tm, why, sizeof(why)) == -1)
		FUZZ_CHECK(why[0] != '\0');
	else
		FUZZ_CHECK(termmodes_encode(&tm, buf) <= TERMMODES_MAX);
	return (0);
}
