/*
 * fuzzseed: write the seed corpora of the libFuzzer targets from the golden
 * vectors (shared/vectors: frames.jsonl and audit-basic.log), and those of
 * the screen model from terminal streams written here.
 *
 *	fuzzseed VECTORS_DIR CORPUS_DIR
 *
 * Creates CORPUS_DIR/<target>/seed-NNN for every target of fuzz.mk and
 * overwrites its own seeds each time, leaving the inputs the fuzzer added
 * alone.  Reads only the two vector files, writes only under CORPUS_DIR.
 * A C program rather than a script: CI machines may lack python, and the
 * hex and JSON are easier to get right with jansson.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "imsg.h"

#define FRAME_HDRLEN	4

struct blob {
	uint8_t	*p;
	size_t	 len;
	size_t	 cap;
};

static const char *outdir;

static void
blob_add(struct blob *b, const void *p, size_t len)
{
	size_t	 ncap;

	if (b->cap - b->len < len) {
		ncap = b->cap == 0 ? 256 : b->cap;
		while (ncap - b->len < len)
			ncap *= 2;
		if ((b->p = realloc(b->p, ncap)) == NULL)
			err(1, NULL);
		b->cap = ncap;
	}
	if (len > 0)
		memcpy(b->p + b->len, p, len);
	b->len += len;
}

static void
blob_byte(struct blob *b, uint8_t c)
{
	blob_add(b, &c, 1);
}

static void
seed_write(const char *target, int *n, const void *p, size_t len)
{
	char	 path[1024];
	FILE	*fp;

	snprintf(path, sizeof(path), "%s/%s", outdir, target);
	if (mkdir(path, 0755) == -1 && errno != EEXIST)
		err(1, "mkdir %s", path);
	snprintf(path, sizeof(path), "%s/%s/seed-%03d", outdir, target, (*n)++);
	if ((fp = fopen(path, "w")) == NULL)
		err(1, "%s", path);
	if (len > 0 && fwrite(p, len, 1, fp) != 1)
		err(1, "%s", path);
	if (fclose(fp) == EOF)
		err(1, "%s", path);
}

/* A piece-size seed byte, then the stream. */
static void
seed_stream(const char *target, int *n, uint8_t seed, const struct blob *b)
{
	struct blob	 s = { NULL, 0, 0 };

	blob_byte(&s, seed);
	blob_add(&s, b->p, b->len);
	seed_write(target, n, s.p, s.len);
	free(s.p);
}

static int
unhex(const char *h, struct blob *b)
{
	unsigned int	 c;

	b->len = 0;
	for (; h[0] != '\0' && h[1] != '\0'; h += 2) {
		if (sscanf(h, "%2x", &c) != 1)
			return (-1);
		blob_byte(b, (uint8_t)c);
	}
	return (h[0] == '\0' ? 0 : -1);
}

static void
imsg_add_msg(struct blob *b, uint32_t type, int fdmark, const void *p,
    size_t len)
{
	struct imsg_hdr	 hdr;

	hdr.type = type;
	hdr.len = (uint32_t)(IMSG_HEADER_SIZE + len) |
	    (fdmark ? IMSG_FD_MARK : 0);
	hdr.peerid = 7;
	hdr.pid = 4242;
	blob_add(b, &hdr, sizeof(hdr));
	blob_add(b, p, len);
}

static void
do_frames(const char *vectors)
{
	char		 path[1024], *line = NULL, *js;
	const char	*dir, *hex;
	struct blob	 f = { NULL, 0, 0 }, h2g = { NULL, 0, 0 },
			 g2h = { NULL, 0, 0 }, im = { NULL, 0, 0 };
	json_error_t	 jerr;
	json_t		*o;
	size_t		 sz = 0;
	FILE		*fp;
	int		 nh = 0, ng = 0, na = 0, nj = 0, ni = 0, ntype = 0;

	snprintf(path, sizeof(path), "%s/frames.jsonl", vectors);
	if ((fp = fopen(path, "r")) == NULL)
		err(1, "%s", path);
	while (getline(&line, &sz, fp) != -1) {
		if ((o = json_loads(line, 0, &jerr)) == NULL)
			errx(1, "%s: %s", path, jerr.text);
		dir = json_string_value(json_object_get(o, "dir"));
		hex = json_string_value(json_object_get(o, "hex"));
		if (dir == NULL || hex == NULL || unhex(hex, &f) == -1 ||
		    f.len < FRAME_HDRLEN)
			errx(1, "%s: bad line", path);
		if (strcmp(dir, "h2g") == 0) {
			seed_stream("fuzz_frame_h2g", &nh, 0, &f);
			blob_add(&h2g, f.p, f.len);
		} else if (strcmp(dir, "g2h") == 0) {
			seed_stream("fuzz_frame_g2h", &ng, 0, &f);
			blob_add(&g2h, f.p, f.len);
		} else if (strcmp(dir, "audit") == 0)
			seed_write("fuzz_audit_record", &na,
			    f.p + FRAME_HDRLEN, f.len - FRAME_HDRLEN);
		/* The body as an imsg payload, as the children pass them. */
		imsg_add_msg(&im, ++ntype, 0, f.p + FRAME_HDRLEN,
		    f.len - FRAME_HDRLEN);
		seed_write("fuzz_wirejson", &nj, line, strlen(line));
		if ((js = json_dumps(json_object_get(o, "json"),
		    JSON_COMPACT)) != NULL) {
			seed_write("fuzz_wirejson", &nj, js, strlen(js));
			free(js);
		}
		json_decref(o);
	}
	if (ferror(fp))
		err(1, "%s", path);
	fclose(fp);
	free(line);

	/* Whole streams, in one piece and cut small. */
	seed_stream("fuzz_frame_h2g", &nh, 0, &h2g);
	seed_stream("fuzz_frame_h2g", &nh, 0x2a, &h2g);
	seed_stream("fuzz_frame_g2h", &ng, 0, &g2h);
	seed_stream("fuzz_frame_g2h", &ng, 0x2a, &g2h);

	/* imsg: first byte 2 = default maxsize, 6 = also fd passing. */
	seed_stream("fuzz_imsg", &ni, 2, &im);
	seed_stream("fuzz_imsg", &ni, 3, &im);
	im.len = 0;
	imsg_add_msg(&im, 1, 0, NULL, 0);
	imsg_add_msg(&im, 2, 1, "x", 1);
	seed_stream("fuzz_imsg", &ni, 6, &im);
	seed_stream("fuzz_imsg", &ni, 2, &im);
	free(f.p);
	free(h2g.p);
	free(g2h.p);
	free(im.p);
}

static void
do_auditlog(const char *vectors)
{
	char		 path[1024], buf[8192];
	struct blob	 b = { NULL, 0, 0 };
	size_t		 n, i, lines;
	FILE		*fp;
	int		 na = 0;

	snprintf(path, sizeof(path), "%s/audit-basic.log", vectors);
	if ((fp = fopen(path, "r")) == NULL)
		err(1, "%s", path);
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
		blob_add(&b, buf, n);
	if (ferror(fp))
		err(1, "%s", path);
	fclose(fp);
	seed_stream("fuzz_auditlog", &na, 0, &b);
	seed_stream("fuzz_auditlog", &na, 0x13, &b);
	/* The first event alone, then without its EOE line. */
	for (i = 0, lines = 0; i < b.len && lines < 6; i++)
		if (b.p[i] == '\n')
			lines++;
	b.len = i;
	seed_stream("fuzz_auditlog", &na, 0, &b);
	while (b.len > 1 && b.p[b.len - 2] != '\n')
		b.len--;
	b.len--;
	seed_stream("fuzz_auditlog", &na, 0x07, &b);
	free(b.p);
}

/*
 * fuzz_screen: terminal streams a shell and full-screen programs print
 * (a piece-size byte and a size byte first): colours and attributes,
 * queries, the alternate screen, input modes, a title, wide and combining
 * characters, scrolling, resets.
 */
static void
do_screen(void)
{
	static const char *streams[] = {
	    "capsem$ ls\r\n\033[0m\033[01;34mdir\033[0m  file\r\ncapsem$ ",
	    "\033[1;31mred\033[0m \033[38;5;208mc208\033[48;2;1;2;3mrgb"
	    "\033[0m \033[3;4;7;9mall\033[0m\r\n\033[21mdouble\033[4:3mcurly",
	    "\033[6n\033[>c\033[c\033]10;?\007\033P$qm\033\\\033[18t",
	    "before\r\n\033[?1049h\033[22;0;0t\033[1;24r\033[?12h\033[?12l"
	    "\033[27m\033[23m\033[29m\033[m\033[H\033[2J\033[?25l\033[24;1H"
	    "\"f.txt\" 2L, 30B\033[1;1Hfirst\r\n~\r\n~\033[1;1H\033[?25h"
	    "\033[?1049l\033[23;0;0tafter",
	    "\033[?1h\033=\033[?2004h\033[?1002h\033[?1006h\033[?1004h"
	    "\033[?5h\033[5 q\033]2;a title\007",
	    "\033[?1000h\033[?1005h\033[?1015h\033[?1003h\033[?47h\033[?1047h"
	    "x\033[?47l",
	    "\xe4\xb8\xad\xe6\x96\x87" "e\xcc\x81\xf0\x9f\x98\x80\xe4\xb8\xad"
	    "\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad",
	    "1\r\n2\r\n3\r\n4\r\n5\033[2;3r\033[3;1H\n\n\n\033[r\033M\033M"
	    "\033[5L\033[3M\033[2@\033[4P\033[K\033[1J",
	    "\033#8\033#6wide line\033c\033[!p\033(0lqqk\033(B",
	};
	struct blob	 b = { NULL, 0, 0 };
	size_t		 i;
	int		 n = 0;

	for (i = 0; i < sizeof(streams) / sizeof(streams[0]); i++) {
		b.len = 0;
		blob_byte(&b, 0x51);	/* 2 rows a step, 30 columns */
		blob_add(&b, streams[i], strlen(streams[i]));
		seed_stream("fuzz_screen", &n, 0, &b);
		seed_stream("fuzz_screen", &n, 0x2a, &b);
	}
	free(b.p);
}

int
main(int argc, char *argv[])
{
	if (argc != 3) {
		fprintf(stderr, "usage: fuzzseed vectors_dir corpus_dir\n");
		return (2);
	}
	outdir = argv[2];
	do_frames(argv[1]);
	do_auditlog(argv[1]);
	do_screen();
	return (0);
}
