/*
 * Unit tests of proto/imsg.c and proto/imsg-buffer.c over socketpairs:
 * message boundaries (many per read, one split across byte-sized reads),
 * sizes 0, 1 and exactly maxsize (maxsize + 1 refused), descriptor passing
 * (usable on the far side, closed when unclaimed or refused, never lost when
 * the descriptor table is full), peer close, EPIPE without SIGPIPE, a full
 * non-blocking socket drained by another process, and corrupt headers.
 * Descriptor leaks are checked by counting /proc/self/fd.
 */

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "imsg.h"
#include "testutil.h"

#define BIG_PAYLOAD	16000
#define BIG_COUNT	64

static void
make_pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sv), 0);
}

/*
 * A writer and a reader imsgbuf on the two ends of a socketpair, and a
 * pipe whose write end a test sends.
 */
struct chan {
	struct imsgbuf	 w, r;
	int		 sv[2];		/* sv[0] -1 once the test closed it */
	int		 p[2];		/* p[0] -1 until made */
	int		 nfds;		/* descriptors open before */
};

static void
chan_open(struct chan *c)
{
	c->nfds = count_fds();
	c->p[0] = c->p[1] = -1;
	make_pair(c->sv);
	assert_int_equal(imsgbuf_init(&c->w, c->sv[0]), 0);
	assert_int_equal(imsgbuf_init(&c->r, c->sv[1]), 0);
}

/* Clear and close both ends: nothing opened since chan_open() is left. */
static void
chan_close(struct chan *c)
{
	imsgbuf_clear(&c->w);
	imsgbuf_clear(&c->r);
	if (c->sv[0] != -1)
		close(c->sv[0]);
	close(c->sv[1]);
	if (c->p[0] != -1)
		close(c->p[0]);
	assert_int_equal(count_fds(), c->nfds);
}

/* One read brings the next message in whole. */
static void
read_one(struct imsgbuf *r, struct imsg *imsg)
{
	assert_int_equal(imsgbuf_read(r), 1);
	assert_true(imsg_get(r, imsg) > 0);
}

static void
set_nonblock(int fd)
{
	int	 fl;

	fl = fcntl(fd, F_GETFL);
	assert_int_not_equal(fl, -1);
	assert_int_not_equal(fcntl(fd, F_SETFL, fl | O_NONBLOCK), -1);
}

static void
fill_pattern(unsigned char *p, size_t len, unsigned int seed)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		p[i] = (unsigned char)(seed * 31 + i);
}

static int
check_pattern(const unsigned char *p, size_t len, unsigned int seed)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		if (p[i] != (unsigned char)(seed * 31 + i))
			return (0);
	return (1);
}

/* Both ends non-blocking: write and read in turn until one message is in. */
static ssize_t
pump_one(struct imsgbuf *w, struct imsgbuf *r, struct imsg *imsg)
{
	ssize_t	 n;
	int	 i;

	for (i = 0; i < 100000; i++) {
		if ((n = imsg_get(r, imsg)) != 0)
			return (n);
		assert_int_equal(imsgbuf_write(w), 0);
		assert_int_equal(imsgbuf_read(r), 1);
	}
	fail_msg("message never arrived");
	return (-1);
}

static void
test_many_in_one_read(void **state)
{
	struct chan	 c;
	struct imsg	 imsg;
	unsigned char	 buf[200];
	int		 i;

	chan_open(&c);
	for (i = 0; i < 100; i++) {
		fill_pattern(buf, i, i);
		assert_int_equal(imsg_compose(&c.w, 1000 + i, i * 2, 0, -1,
		    buf, i), 1);
	}
	assert_int_equal(imsgbuf_queuelen(&c.w), 100);
	assert_int_equal(imsgbuf_flush(&c.w), 0);
	assert_int_equal(imsgbuf_queuelen(&c.w), 0);

	assert_int_equal(imsgbuf_read(&c.r), 1);
	for (i = 0; i < 100; i++) {
		assert_int_equal(imsg_get(&c.r, &imsg),
		    (ssize_t)IMSG_HEADER_SIZE + i);
		assert_int_equal(imsg_get_type(&imsg), 1000 + i);
		assert_int_equal(imsg_get_id(&imsg), i * 2);
		assert_int_equal(imsg_get_pid(&imsg), getpid());
		assert_int_equal(imsg_get_len(&imsg), i);
		assert_int_equal(imsg_get_fd(&imsg), -1);
		if (i > 0) {
			assert_int_equal(imsg_get_data(&imsg, buf, i), 0);
			assert_true(check_pattern(buf, i, i));
		} else
			assert_null(imsg.data);
		imsg_free(&imsg);
	}
	assert_int_equal(imsg_get(&c.r, &imsg), 0);
	chan_close(&c);
}

/* Two messages fed one byte per read: nothing comes out early. */
static void
test_split_bytewise(void **state)
{
	struct imsgbuf	 w, r;
	struct imsg	 imsg;
	unsigned char	 wire[2 * (IMSG_HEADER_SIZE + 100)], data[100];
	size_t		 total = sizeof(wire), i, got = 0;
	ssize_t		 n;
	int		 a[2], b[2];

	make_pair(a);
	make_pair(b);
	assert_int_equal(imsgbuf_init(&w, a[0]), 0);
	assert_int_equal(imsgbuf_init(&r, b[1]), 0);
	fill_pattern(data, sizeof(data), 1);
	assert_int_equal(imsg_compose(&w, 7, 1, 0, -1, data, 100), 1);
	fill_pattern(data, sizeof(data), 2);
	assert_int_equal(imsg_compose(&w, 8, 2, 0, -1, data, 100), 1);
	assert_int_equal(imsgbuf_flush(&w), 0);
	while (got < total) {
		n = read(a[1], wire + got, total - got);
		assert_true(n > 0);
		got += n;
	}

	got = 0;
	for (i = 0; i < total; i++) {
		assert_int_equal(write(b[0], wire + i, 1), 1);
		assert_int_equal(imsgbuf_read(&r), 1);
		n = imsg_get(&r, &imsg);
		if (i + 1 == total / 2 || i + 1 == total) {
			assert_int_equal(n, IMSG_HEADER_SIZE + 100);
			got++;
			assert_int_equal(imsg_get_type(&imsg), 6 + got);
			assert_int_equal(imsg_get_data(&imsg, data, 100), 0);
			assert_true(check_pattern(data, 100, got));
			imsg_free(&imsg);
		} else
			assert_int_equal(n, 0);
	}
	assert_int_equal(got, 2);
	imsgbuf_clear(&w);
	imsgbuf_clear(&r);
	close(a[0]);
	close(a[1]);
	close(b[0]);
	close(b[1]);
}

static void
sizes_at(uint32_t maxsize)
{
	struct chan	 c;
	struct imsg	 imsg;
	struct ibuf	*msg;
	unsigned char	*data, *out;
	size_t		 sizes[3], i, max = maxsize - IMSG_HEADER_SIZE;

	sizes[0] = 0;
	sizes[1] = 1;
	sizes[2] = max;
	chan_open(&c);
	set_nonblock(c.sv[0]);
	set_nonblock(c.sv[1]);
	assert_int_equal(imsgbuf_set_maxsize(&c.w, maxsize), 0);
	assert_int_equal(imsgbuf_set_maxsize(&c.r, maxsize), 0);
	assert_non_null(data = malloc(max + 1));
	assert_non_null(out = malloc(max + 1));

	for (i = 0; i < 3; i++) {
		if (sizes[i] > max)	/* maxsize == header: only 0 fits */
			continue;
		fill_pattern(data, sizes[i], i);
		assert_int_equal(imsg_compose(&c.w, 1, 0, 0, -1, data,
		    sizes[i]), 1);
		assert_int_equal(pump_one(&c.w, &c.r, &imsg),
		    IMSG_HEADER_SIZE + sizes[i]);
		assert_int_equal(imsg_get_len(&imsg), sizes[i]);
		if (sizes[i] > 0) {
			assert_int_equal(imsg_get_data(&imsg, out,
			    sizes[i]), 0);
			assert_true(check_pattern(out, sizes[i], i));
		}
		imsg_free(&imsg);
	}

	/* One byte too many: refused by every way of composing. */
	errno = 0;
	assert_int_equal(imsg_compose(&c.w, 1, 0, 0, -1, data, max + 1), -1);
	assert_int_equal(errno, ERANGE);
	assert_null(imsg_create(&c.w, 1, 0, 0, max + 1));
	assert_non_null(msg = imsg_create(&c.w, 1, 0, 0, 0));
	assert_int_equal(imsg_add(msg, data, max), (int)max);
	errno = 0;
	assert_int_equal(imsg_add(msg, data, 1), -1);	/* frees msg */
	assert_int_equal(errno, ERANGE);
	assert_int_equal(imsgbuf_queuelen(&c.w), 0);

	free(data);
	free(out);
	chan_close(&c);
}

static void
test_sizes(void **state)
{
	sizes_at(MAX_IMSGSIZE);
	sizes_at(IMSG_HEADER_SIZE);
	sizes_at(1024 * 1024);	/* bigger than the default read buffer */
}

static void
test_set_maxsize(void **state)
{
	struct imsgbuf	 ib;

	assert_int_equal(imsgbuf_init(&ib, -1), 0);
	assert_int_equal(ib.maxsize, MAX_IMSGSIZE);
	errno = 0;
	assert_int_equal(imsgbuf_set_maxsize(&ib, IMSG_HEADER_SIZE - 1), -1);
	assert_int_equal(errno, ERANGE);
	errno = 0;
	assert_int_equal(imsgbuf_set_maxsize(&ib, IMSG_MAXSIZE_LIMIT + 1), -1);
	assert_int_equal(errno, ERANGE);
	assert_int_equal(imsgbuf_set_maxsize(&ib, IMSG_MAXSIZE_LIMIT), 0);
	assert_int_equal(imsgbuf_set_maxsize(&ib, IMSG_HEADER_SIZE), 0);
	imsgbuf_clear(&ib);
}

static void
test_composev_create(void **state)
{
	struct chan	 c;
	struct imsg	 imsg;
	struct iovec	 iov[3];
	struct ibuf	*msg;
	char		 out[16];
	int		 fd;

	chan_open(&c);
	assert_int_equal(pipe2(c.p, O_CLOEXEC), 0);
	imsgbuf_allow_fdpass(&c.r);
	iov[0].iov_base = "abc";
	iov[0].iov_len = 3;
	iov[1].iov_base = "";
	iov[1].iov_len = 0;
	iov[2].iov_base = "defg";
	iov[2].iov_len = 4;
	assert_int_equal(imsg_composev(&c.w, 3, 4, 1234, -1, iov, 3), 1);
	assert_non_null(msg = imsg_create(&c.w, 5, 6, 0, 2));
	assert_int_equal(imsg_add(msg, "xy", 2), 2);
	assert_int_equal(imsg_add(msg, "z", 1), 1);
	ibuf_fd_set(msg, c.p[1]);
	imsg_close(&c.w, msg);
	assert_int_equal(imsgbuf_flush(&c.w), 0);

	while (imsg_get(&c.r, &imsg) == 0)
		assert_int_equal(imsgbuf_read(&c.r), 1);
	assert_int_equal(imsg_get_type(&imsg), 3);
	assert_int_equal(imsg_get_id(&imsg), 4);
	assert_int_equal(imsg_get_pid(&imsg), 1234);
	assert_int_equal(imsg_get_data(&imsg, out, 7), 0);
	assert_memory_equal(out, "abcdefg", 7);
	imsg_free(&imsg);
	while (imsg_get(&c.r, &imsg) == 0)
		assert_int_equal(imsgbuf_read(&c.r), 1);
	assert_int_equal(imsg_get_type(&imsg), 5);
	assert_int_equal(imsg_get_data(&imsg, out, 3), 0);
	assert_memory_equal(out, "xyz", 3);
	assert_true((fd = imsg_get_fd(&imsg)) >= 0);
	imsg_free(&imsg);
	assert_int_equal(write(fd, "q", 1), 1);
	close(fd);
	assert_int_equal(read(c.p[0], out, sizeof(out)), 1);
	assert_int_equal(out[0], 'q');
	chan_close(&c);
}

static void
test_get_data_len(void **state)
{
	struct chan	 c;
	struct imsg	 imsg;
	uint64_t	 v = 0x1122334455667788ULL, got = 0;
	uint32_t	 small;

	chan_open(&c);
	assert_int_equal(imsg_compose(&c.w, 1, 0, 0, -1, &v, sizeof(v)), 1);
	assert_int_equal(imsgbuf_flush(&c.w), 0);
	read_one(&c.r, &imsg);
	errno = 0;
	assert_int_equal(imsg_get_data(&imsg, &small, sizeof(small)), -1);
	assert_int_equal(errno, EBADMSG);
	errno = 0;
	assert_int_equal(imsg_get_data(&imsg, &got, 0), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(imsg_get_data(&imsg, &got, sizeof(got)), 0);
	assert_true(got == v);
	imsg_free(&imsg);
	chan_close(&c);
}

/* Send the write end of a fresh pipe c->p; return after it is on its way. */
static void
send_pipe_end(struct chan *c)
{
	assert_int_equal(pipe2(c->p, O_CLOEXEC), 0);
	assert_int_equal(imsg_compose(&c->w, 42, 0, 0, c->p[1], "fd", 2), 1);
	assert_int_equal(imsgbuf_flush(&c->w), 0);
}

static void
test_fdpass(void **state)
{
	struct chan	 c;
	struct imsg	 imsg;
	char		 buf[16];
	int		 fd;

	chan_open(&c);
	imsgbuf_allow_fdpass(&c.r);
	send_pipe_end(&c);
	/* Sent: our copy of the write end is closed, the socket holds it. */
	assert_int_equal(count_fds(), c.nfds + 3);

	read_one(&c.r, &imsg);
	assert_int_equal(imsg_get_type(&imsg), 42);
	assert_int_equal(imsg_get_data(&imsg, buf, 2), 0);
	assert_true((fd = imsg_get_fd(&imsg)) >= 0);
	assert_int_equal(imsg_get_fd(&imsg), -1);	/* handed out once */
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	imsg_free(&imsg);	/* must not close the claimed fd */
	assert_int_equal(write(fd, "hello", 5), 5);
	close(fd);
	assert_int_equal(read(c.p[0], buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(read(c.p[0], buf, sizeof(buf)), 0);
	chan_close(&c);
}

static void
test_fd_unclaimed(void **state)
{
	struct chan	 c;
	struct imsg	 imsg;
	char		 buf[4];

	chan_open(&c);
	imsgbuf_allow_fdpass(&c.r);
	send_pipe_end(&c);
	read_one(&c.r, &imsg);
	assert_int_equal(count_fds(), c.nfds + 4);
	imsg_free(&imsg);
	assert_int_equal(count_fds(), c.nfds + 3);
	/* Every write end is gone: EOF. */
	assert_int_equal(read(c.p[0], buf, sizeof(buf)), 0);
	chan_close(&c);
}

static void
test_fdpass_refused(void **state)
{
	struct chan	 c;
	char		 buf[4];

	chan_open(&c);
	send_pipe_end(&c);
	errno = 0;
	assert_int_equal(imsgbuf_read(&c.r), -1);
	assert_int_equal(errno, EBADMSG);
	assert_int_equal(read(c.p[0], buf, sizeof(buf)), 0);
	assert_int_equal(count_fds(), c.nfds + 3);
	chan_close(&c);
}

/* Queued descriptors are closed by imsgbuf_clear, never sent or leaked. */
static void
test_clear_closes_queued(void **state)
{
	struct imsgbuf	 w;
	char		 buf[4];
	int		 sv[2], p[2], before;

	before = count_fds();
	make_pair(sv);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(imsgbuf_init(&w, sv[0]), 0);
	assert_int_equal(imsg_compose(&w, 1, 0, 0, p[1], NULL, 0), 1);
	assert_int_equal(imsgbuf_queuelen(&w), 1);
	imsgbuf_clear(&w);
	assert_int_equal(read(p[0], buf, sizeof(buf)), 0);
	close(p[0]);
	close(sv[0]);
	close(sv[1]);
	assert_int_equal(count_fds(), before);
}

/*
 * With the descriptor table full, a read must leave the descriptor in the
 * socket (EMFILE) rather than let the kernel drop it; it arrives once there
 * is room again.
 */
static void
test_fd_table_full(void **state)
{
	struct chan	 c;
	struct imsg	 imsg;
	struct rlimit	 old, rl;
	char		 buf[4];
	int		 fillers[128], nfill = 0, fd;

	chan_open(&c);
	imsgbuf_allow_fdpass(&c.r);
	send_pipe_end(&c);

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	rl = old;
	rl.rlim_cur = count_fds() + 64;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	while (nfill < 128 &&
	    (fd = fcntl(c.sv[1], F_DUPFD_CLOEXEC, 0)) != -1)
		fillers[nfill++] = fd;
	assert_true(nfill > 0 && nfill < 128);

	errno = 0;
	assert_int_equal(imsgbuf_read(&c.r), -1);
	assert_int_equal(errno, EMFILE);
	assert_int_equal(imsg_get(&c.r, &imsg), 0);	/* nothing consumed */

	close(fillers[--nfill]);
	read_one(&c.r, &imsg);
	assert_true((fd = imsg_get_fd(&imsg)) >= 0);
	imsg_free(&imsg);
	while (nfill > 0)
		close(fillers[--nfill]);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);

	assert_int_equal(write(fd, "ok", 2), 2);
	close(fd);
	assert_int_equal(read(c.p[0], buf, sizeof(buf)), 2);
	chan_close(&c);
}

static void
test_peer_close(void **state)
{
	struct chan	 c;
	struct imsg	 imsg;

	chan_open(&c);
	assert_int_equal(imsg_compose(&c.w, 9, 0, 0, -1, "x", 1), 1);
	assert_int_equal(imsgbuf_flush(&c.w), 0);
	close(c.sv[0]);
	c.sv[0] = -1;
	read_one(&c.r, &imsg);
	imsg_free(&imsg);
	assert_int_equal(imsgbuf_read(&c.r), 0);
	assert_int_equal(imsg_get(&c.r, &imsg), 0);

	/* Writing to a gone peer: EPIPE, and no SIGPIPE kills us. */
	assert_int_equal(imsg_compose(&c.r, 9, 0, 0, -1, "x", 1), 1);
	errno = 0;
	assert_int_equal(imsgbuf_write(&c.r), -1);
	assert_int_equal(errno, EPIPE);
	assert_int_equal(imsgbuf_flush(&c.r), -1);
	chan_close(&c);
}

static void
test_corrupt_header(void **state)
{
	struct chan	 c;
	struct imsg	 imsg;
	struct imsg_hdr	 hdr;
	uint32_t	 lens[3];
	int		 errs[3], i;

	lens[0] = IMSG_HEADER_SIZE - 1;
	errs[0] = EBADMSG;
	lens[1] = MAX_IMSGSIZE + 1;
	errs[1] = ERANGE;
	lens[2] = IMSG_HEADER_SIZE | IMSG_FD_MARK;	/* fd never sent */
	errs[2] = EBADMSG;
	for (i = 0; i < 3; i++) {
		chan_open(&c);
		imsgbuf_allow_fdpass(&c.r);
		memset(&hdr, 0, sizeof(hdr));
		hdr.type = 1;
		hdr.len = lens[i];
		assert_int_equal(write(c.sv[0], &hdr, sizeof(hdr)),
		    sizeof(hdr));
		assert_int_equal(imsgbuf_read(&c.r), 1);
		errno = 0;
		assert_int_equal(imsg_get(&c.r, &imsg), -1);
		assert_int_equal(errno, errs[i]);
		if (i < 2) {
			/* The reader refuses to buffer past a bad header. */
			assert_int_equal(imsgbuf_read(&c.r), -1);
			assert_int_equal(imsg_get(&c.r, &imsg), -1);
		}
		chan_close(&c);
	}
}

/* Child: read BIG_COUNT messages in order, exit 0 if all are intact. */
static void __attribute__((noreturn))
drain_child(int sock, int go)
{
	struct imsgbuf	 r;
	struct imsg	 imsg;
	ssize_t		 n;
	char		 c;
	int		 seen = 0, rv = 0;

	if (read(go, &c, 1) != 1 || imsgbuf_init(&r, sock) == -1)
		_exit(10);
	while (seen < BIG_COUNT) {
		if ((n = imsg_get(&r, &imsg)) == -1) {
			rv = 11;
			break;
		}
		if (n == 0) {
			if (imsgbuf_read(&r) != 1) {
				rv = 12;
				break;
			}
			continue;
		}
		if (imsg_get_type(&imsg) != (uint32_t)seen ||
		    imsg_get_len(&imsg) != BIG_PAYLOAD ||
		    !check_pattern(imsg.data, BIG_PAYLOAD, seen))
			rv = 13;
		imsg_free(&imsg);
		if (rv != 0)
			break;
		seen++;
	}
	imsgbuf_clear(&r);
	_exit(rv);
}

static void
test_nonblocking_full(void **state)
{
	struct imsgbuf	 w;
	unsigned char	*data;
	uint32_t	 q;
	pid_t		 pid;
	int		 sv[2], go[2], i, status;

	make_pair(sv);
	assert_int_equal(pipe2(go, O_CLOEXEC), 0);
	if ((pid = fork()) == 0) {
		close(sv[0]);
		close(go[1]);
		drain_child(sv[1], go[0]);
	}
	assert_true(pid > 0);
	close(sv[1]);
	close(go[0]);
	set_nonblock(sv[0]);
	assert_int_equal(imsgbuf_init(&w, sv[0]), 0);
	assert_non_null(data = malloc(BIG_PAYLOAD));
	for (i = 0; i < BIG_COUNT; i++) {
		fill_pattern(data, BIG_PAYLOAD, i);
		assert_int_equal(imsg_compose(&w, i, 0, 0, -1, data,
		    BIG_PAYLOAD), 1);
	}
	free(data);

	/* The reader is not reading yet: the socket fills, data stays. */
	assert_int_equal(imsgbuf_write(&w), 0);
	assert_int_equal(imsgbuf_write(&w), 0);
	q = imsgbuf_queuelen(&w);
	assert_true(q > 0 && q < BIG_COUNT);
	assert_int_equal(imsgbuf_write(&w), 0);
	assert_int_equal(imsgbuf_queuelen(&w), q);

	assert_int_equal(write(go[1], "g", 1), 1);
	assert_int_equal(imsgbuf_flush(&w), 0);
	assert_int_equal(imsgbuf_queuelen(&w), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	imsgbuf_clear(&w);
	close(sv[0]);
	close(go[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_many_in_one_read),
		cmocka_unit_test(test_split_bytewise),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_set_maxsize),
		cmocka_unit_test(test_composev_create),
		cmocka_unit_test(test_get_data_len),
		cmocka_unit_test(test_fdpass),
		cmocka_unit_test(test_fd_unclaimed),
		cmocka_unit_test(test_fdpass_refused),
		cmocka_unit_test(test_clear_closes_queued),
		cmocka_unit_test(test_fd_table_full),
		cmocka_unit_test(test_peer_close),
		cmocka_unit_test(test_corrupt_header),
		cmocka_unit_test(test_nonblocking_full),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
