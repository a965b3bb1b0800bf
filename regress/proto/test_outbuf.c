/*
 * proto/outbuf.c: the bounded output queue of the control children.  The
 * bound holds (ENOBUFS, nothing appended), a socket that stops taking
 * bytes leaves the rest queued in order, and what was sent is reused.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "outbuf.h"

static void
add(struct outbuf *o, uint8_t byte, size_t len)
{
	uint8_t	*p;

	p = outbuf_reserve(o, len);
	assert_non_null(p);
	memset(p, byte, len);
	outbuf_commit(o, len);
}

static void
test_bound(void **state)
{
	struct outbuf	 o;

	outbuf_init(&o, 1000);
	add(&o, 'a', 600);
	add(&o, 'b', 400);
	assert_int_equal(outbuf_pending(&o), 1000);
	errno = 0;
	assert_null(outbuf_reserve(&o, 1));
	assert_int_equal(errno, ENOBUFS);
	assert_int_equal(outbuf_pending(&o), 1000);
	wbuf_free(&o.b);
}

static void
test_flush_in_order(void **state)
{
	struct outbuf	 o;
	uint8_t		 got[300000];
	size_t		 have = 0, i;
	ssize_t		 n;
	int		 sp[2], r, snd = 4096;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	assert_int_equal(setsockopt(sp[0], SOL_SOCKET, SO_SNDBUF, &snd,
	    sizeof(snd)), 0);
	assert_int_equal(fcntl(sp[0], F_SETFL, O_NONBLOCK), 0);
	outbuf_init(&o, sizeof(got));
	for (i = 0; i < 300; i++)
		add(&o, (uint8_t)i, 1000);
	/* The socket fills: bytes stay queued, then go out in order. */
	r = outbuf_flush(&o, sp[0]);
	assert_int_equal(r, 1);
	assert_true(outbuf_pending(&o) > 0);
	while (have < sizeof(got)) {
		n = read(sp[1], got + have, sizeof(got) - have);
		assert_true(n > 0);
		have += n;
		if (outbuf_pending(&o) > 0) {
			r = outbuf_flush(&o, sp[0]);
			assert_true(r == 0 || r == 1);
		}
	}
	assert_int_equal(outbuf_pending(&o), 0);
	for (i = 0; i < sizeof(got); i++)
		if (got[i] != (uint8_t)(i / 1000))
			fail_msg("byte %zu is %u, want %u", i, got[i],
			    (unsigned)(uint8_t)(i / 1000));
	/* A closed peer is an error, not a silent loss. */
	add(&o, 'z', 10);
	close(sp[1]);
	signal(SIGPIPE, SIG_IGN);
	assert_int_equal(outbuf_flush(&o, sp[0]), -1);
	assert_int_equal(errno, EPIPE);
	close(sp[0]);
	wbuf_free(&o.b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bound),
		cmocka_unit_test(test_flush_in_order),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
