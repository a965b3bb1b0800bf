/*
 * screenbench: the screen model's figure of `make bench`.  It feeds a file
 * through the model of capsem-hostd-screen (hostd-screen/model.c,
 * libvterm) as a terminal gets it from cat (each LF after a CR, as the
 * PTY's ONLCR writes it), in the chunks the relay hands it (64 KiB), and
 * prints how fast the model reads: when the relay runs faster than that,
 * the model falls behind during a burst and starts over, which the relay
 * never waits for.  Twice: as the model runs (text that scrolls off
 * unseen is not fed to libvterm) and with every byte fed
 * (screen_parse_all).  Then it times one snapshot of the screen left.
 * It touches nothing but the file it reads, memory and stdout.
 *
 * usage: screenbench FILE
 */
#include <sys/types.h>

#include <err.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "model.h"

#define CHUNK		65536

static double
now_s(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec + ts.tv_nsec / 1e9);
}

/* MB/s of the model over the file's bytes; m is left as it ends. */
static double
parse(int fd, struct model *m)
{
	static uint8_t	 in[CHUNK / 2], out[CHUNK];
	double		 t0;
	size_t		 total = 0, i, k;
	ssize_t		 n;

	if (lseek(fd, 0, SEEK_SET) == -1)
		err(1, "lseek");
	t0 = now_s();
	while ((n = read(fd, in, sizeof(in))) > 0) {
		for (i = k = 0; i < (size_t)n; i++) {
			if (in[i] == '\n')
				out[k++] = '\r';
			out[k++] = in[i];
		}
		model_feed(m, out, k);
		total += k;
	}
	if (n == -1)
		err(1, "read");
	return (total / (now_s() - t0) / 1e6);
}

int
main(int argc, char *argv[])
{
	struct model	*m;
	struct mbuf	 b;
	double		 t1, t2, mbs, all;
	int		 fd;

	if (argc != 2) {
		fprintf(stderr, "usage: screenbench file\n");
		return (1);
	}
	if ((fd = open(argv[1], O_RDONLY)) == -1)
		err(1, "%s", argv[1]);
	if ((m = model_new(24, 80)) == NULL)
		errx(1, "model_new");
	model_set_skip(m, 0);
	all = parse(fd, m);
	model_free(m);
	if ((m = model_new(24, 80)) == NULL)
		errx(1, "model_new");
	mbs = parse(fd, m);
	t1 = now_s();
	memset(&b, 0, sizeof(b));
	if (model_snapshot(m, &b) == -1)
		errx(1, "model_snapshot");
	t2 = now_s();
	printf("screen_parse_mbs %.1f\n", mbs);
	printf("screen_parse_all_mbs %.1f\n", all);
	printf("screen_snapshot_us %.0f\n", (t2 - t1) * 1e6);
	printf("screen_snapshot_bytes %zu\n", b.len);
	mbuf_free(&b);
	model_free(m);
	close(fd);
	return (0);
}
