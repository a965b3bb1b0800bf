/*
 * screenbench: the screen model's figure of `make bench`.  It feeds a file
 * through the model of capsem-hostd-screen (hostd-screen/model.c,
 * libvterm) in the chunks the relay hands it (64 KiB) and prints how fast
 * the model reads: when the relay runs faster than that, the model falls
 * behind during a burst and starts over, which the relay never waits for.
 * Then it times one snapshot of the screen left.  It touches nothing but
 * the file it reads, memory and stdout.
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

int
main(int argc, char *argv[])
{
	static uint8_t	 buf[CHUNK];
	struct model	*m;
	struct mbuf	 b;
	double		 t0, t1, t2;
	size_t		 total = 0;
	ssize_t		 n;
	int		 fd;

	if (argc != 2) {
		fprintf(stderr, "usage: screenbench file\n");
		return (1);
	}
	if ((fd = open(argv[1], O_RDONLY)) == -1)
		err(1, "%s", argv[1]);
	if ((m = model_new(24, 80)) == NULL)
		errx(1, "model_new");
	t0 = now_s();
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		model_feed(m, buf, n);
		total += n;
	}
	if (n == -1)
		err(1, "%s", argv[1]);
	t1 = now_s();
	memset(&b, 0, sizeof(b));
	if (model_snapshot(m, &b) == -1)
		errx(1, "model_snapshot");
	t2 = now_s();
	printf("screen_parse_mbs %.1f\n", total / (t1 - t0) / 1e6);
	printf("screen_snapshot_us %.0f\n", (t2 - t1) * 1e6);
	printf("screen_snapshot_bytes %zu\n", b.len);
	mbuf_free(&b);
	model_free(m);
	close(fd);
	return (0);
}
