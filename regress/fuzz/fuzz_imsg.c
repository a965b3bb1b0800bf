/*
 * libFuzzer target: the imsg reader (proto/imsg.c), which a parent uses on
 * what a sandboxed (maybe compromised) child writes.  The input's first
 * byte picks the maximum message size and whether descriptor passing is
 * allowed; the rest is written into one end of a socketpair and read with
 * imsgbuf_read/imsg_get on the other until end of file or an error.  Every
 * message is checked against its header and freed; nothing may leak.
 * Touches only the two sockets it creates and memory.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imsg.h"
#include "fuzz.h"

static const uint32_t maxsizes[] = {
	IMSG_HEADER_SIZE, 256, MAX_IMSGSIZE, 100000
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imsgbuf	 ib;
	struct imsg	 imsg;
	uint8_t		*payload;
	uint32_t	 max;
	ssize_t		 n, w;
	size_t		 len, off;
	int		 sp[2], rc, spins = 0;

	if (size < 1)
		return (0);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == -1)
		return (0);
	max = maxsizes[data[0] & 3];
	/* Whatever does not fit in the socket buffer is simply not sent. */
	for (off = 1; off < size; off += (size_t)w)
		if ((w = send(sp[0], data + off, size - off,
		    MSG_DONTWAIT | MSG_NOSIGNAL)) <= 0)
			break;
	shutdown(sp[0], SHUT_WR);

	FUZZ_CHECK(imsgbuf_init(&ib, sp[1]) == 0);
	FUZZ_CHECK(imsgbuf_set_maxsize(&ib, max) == 0);
	if (data[0] & 4)
		imsgbuf_allow_fdpass(&ib);
	for (;;) {
		if ((rc = imsgbuf_read(&ib)) != 1)
			break;
		while ((n = imsg_get(&ib, &imsg)) > 0) {
			spins = 0;
			FUZZ_CHECK((size_t)n >= IMSG_HEADER_SIZE &&
			    (size_t)n <= max);
			len = imsg_get_len(&imsg);
			FUZZ_CHECK(len == (size_t)n - IMSG_HEADER_SIZE);
			FUZZ_CHECK(imsg_get_fd(&imsg) == -1);
			(void)imsg_get_type(&imsg);
			(void)imsg_get_id(&imsg);
			(void)imsg_get_pid(&imsg);
			if (len > 0) {
				FUZZ_CHECK((payload = malloc(len)) != NULL);
				FUZZ_CHECK(imsg_get_data(&imsg, payload,
				    len) == 0);
				FUZZ_CHECK(imsg_get_data(&imsg, payload,
				    len - 1) == -1 || len == 1);
				free(payload);
			}
			imsg_free(&imsg);
		}
		if (n == -1) {
			FUZZ_CHECK(errno == EBADMSG || errno == ERANGE);
			break;
		}
		/* read said "go on" but nothing can come: a livelock. */
		FUZZ_CHECK(++spins < 1000);
	}
	if (rc == -1)
		FUZZ_CHECK(errno == EBADMSG || errno == ERANGE);
	imsgbuf_clear(&ib);
	close(sp[0]);
	close(sp[1]);
	return (0);
}
