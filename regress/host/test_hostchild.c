/*
 * capsem-hostd's decoder children, the real built programs: each case
 * starts capsem-hostd-control or capsem-hostd-stream from
 * $CAPSEM_LIBEXECDIR with proc_start(), waits for IMSG_CHILD_READY, hands
 * it one end of a socketpair as the guest connection (IMSG_HOST_SOCKET +
 * port), writes guest frames on the other end and checks the imsgs this
 * test receives as the parent and the frames the child writes back.
 *
 * control: ready/bootready/pong/ack forwarded; ackable messages answered
 * with ackreply on the guest side before their imsg reaches the parent;
 * boottiming/filecontent/error/fileopdone/snapshotready forwarded; an
 * undecodable frame dropped; IMSG_HOST_SEND written verbatim; a length
 * over 2 MiB ends with CHILD_PROTO, EOF with CHILD_EOF, IMSG_CHILD_STOP
 * with CHILD_STOPPED.  stream: exec (200000 bytes in order after
 * execstarted, CHILD_EOF), exec without execstarted (CHILD_PROTO), audit
 * (the line in audit.jsonl is audit_record_to_json of a vector record; a
 * bad record is dropped), lifecycle shutdownrequest.
 *
 * Skipped when $CAPSEM_LIBEXECDIR is unset (regress/run.sh sets it).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "capsem_imsg.h"
#include "frame.h"
#include "imsg.h"
#include "log.h"
#include "proc.h"
#include "testutil.h"
#include "wire.h"
#include "wirejson.h"

#define TIMEOUT_MS	10000
#define EXEC_BYTES	200000

struct harness {
	struct proc	 p;
	int		 guest;	/* our end of the guest connection */
	struct frame_reader rd;
};

static uint32_t	 next_imsg(struct harness *, struct imsg *);

static void
start_child(struct harness *h, const char *prog)
{
	struct imsg	 imsg;

	if (getenv("CAPSEM_LIBEXECDIR") == NULL) {
		print_message("CAPSEM_LIBEXECDIR is not set (the build's "
		    "libexec dir); skipped\n");
		skip();
	}
	memset(h, 0, sizeof(*h));
	h->guest = -1;
	h->p.role = prog;
	h->p.prog = prog;
	frame_reader_init(&h->rd, FRAME_MAX);
	assert_int_equal(proc_start(&h->p, 1, 0), 0);
	assert_int_equal(next_imsg(h, &imsg), IMSG_CHILD_READY);
	imsg_free(&imsg);
}

static void
send_imsg(struct harness *h, uint32_t type, int fd, const void *data,
    size_t len)
{
	assert_int_not_equal(imsg_compose(&h->p.ibuf, type, 0, 0, fd, data,
	    len), -1);
	assert_int_equal(imsgbuf_flush(&h->p.ibuf), 0);
}

/* A socketpair as the guest connection: one end to the child. */
static void
connect_guest(struct harness *h, uint32_t port)
{
	int	 sp[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sp), 0);
	h->guest = sp[0];
	send_imsg(h, IMSG_HOST_SOCKET, sp[1], &port, sizeof(port));
}

static void
start_on(struct harness *h, const char *prog, uint32_t port)
{
	start_child(h, prog);
	connect_guest(h, port);
}

/*
 * The next imsg from the child, or fail after TIMEOUT_MS.  Its log lines
 * (IMSG_CHILD_LOG, which proc_read writes for a real parent) are skipped.
 */
static uint32_t
next_imsg(struct harness *h, struct imsg *imsg)
{
	struct pollfd	 pfd;
	ssize_t		 n;

	for (;;) {
		n = imsg_get(&h->p.ibuf, imsg);
		assert_int_not_equal(n, -1);
		if (n > 0 && imsg_get_type(imsg) == IMSG_CHILD_LOG) {
			imsg_free(imsg);
			continue;
		}
		if (n > 0)
			return (imsg_get_type(imsg));
		pfd.fd = h->p.ibuf.fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, TIMEOUT_MS) != 1)
			fail_msg("timed out waiting for an imsg");
		if (imsgbuf_read(&h->p.ibuf) != 1)
			fail_msg("child closed its imsg channel");
	}
}

/* Expect an imsg of this type and exactly len bytes, copied to data. */
static void
expect_imsg(struct harness *h, uint32_t type, void *data, size_t len)
{
	struct imsg	 imsg;
	uint32_t	 t;

	t = next_imsg(h, &imsg);
	if (t != type)
		fail_msg("imsg %u, expected %u", t, type);
	assert_int_equal(imsg_get_len(&imsg), len);
	if (len > 0)
		assert_int_equal(imsg_get_data(&imsg, data, len), 0);
	imsg_free(&imsg);
}

static void
expect_done(struct harness *h, int reason)
{
	struct imsg_child_done	 d;

	expect_imsg(h, IMSG_CHILD_DONE, &d, sizeof(d));
	if (d.reason != reason)
		fail_msg("CHILD_DONE reason %d (%s), expected %d", d.reason,
		    d.detail, reason);
}

static void
write_all(int fd, const void *buf, size_t len)
{
	const uint8_t	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		assert_true(n > 0);
		p += n;
		len -= n;
	}
}

static void
guest_send(struct harness *h, const struct msg *m)
{
	struct wbuf	 wb;
	struct wire_err	 err;

	wbuf_init(&wb);
	assert_int_equal(msg_encode(m, &wb, &err), 0);
	write_all(h->guest, wb.data, wb.len);
	wbuf_free(&wb);
}

/* A guest message of this type with every field zero. */
static void
guest_send_type(struct harness *h, enum msg_type type)
{
	struct msg	 m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	guest_send(h, &m);
}

/* The guest hangs up: the child says CHILD_EOF. */
static void
guest_close(struct harness *h)
{
	close(h->guest);
	h->guest = -1;
	expect_done(h, CHILD_EOF);
}

/* Read one frame the child wrote to the guest, decoded host-to-guest. */
static void
guest_recv(struct harness *h, int timeout_ms, struct msg *m)
{
	struct pollfd	 pfd;
	struct wire_err	 err;
	const uint8_t	*body;
	uint8_t		 c;
	size_t		 used, blen;
	int		 r;

	for (;;) {
		pfd.fd = h->guest;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, timeout_ms) != 1)
			fail_msg("no frame from the child on the guest side");
		/* One byte at a time: never read past this frame. */
		assert_int_equal(read(h->guest, &c, 1), 1);
		r = frame_reader_feed(&h->rd, &c, 1, &used);
		assert_true(r == FRAME_MORE || r == FRAME_READY);
		if (r == FRAME_READY)
			break;
	}
	body = frame_reader_body(&h->rd, &blen);
	if (msg_decode(WIRE_H2G, body, blen, m, &err) == -1)
		fail_msg("child wrote a bad frame: %s", err.msg);
}

/*
 * Send the ackable m: its imsg (type, exactly len bytes copied to data)
 * reaches the parent only after the child wrote the ackreply for id, so
 * that must be on the guest side already, without waiting.
 */
static void
guest_send_acked(struct harness *h, const struct msg *m, uint64_t id,
    uint32_t type, void *data, size_t len)
{
	struct msg	 r;

	guest_send(h, m);
	expect_imsg(h, type, data, len);
	guest_recv(h, 0, &r);
	if (r.type != MSG_ACKREPLY)
		fail_msg("after imsg %u: %s, expected ackreply", type,
		    msg_type_name(r.type));
	if (r.u.ackreply.id != id)
		fail_msg("after imsg %u: ackreply %llu, expected %llu", type,
		    (unsigned long long)r.u.ackreply.id,
		    (unsigned long long)id);
	msg_free(&r);
}

/*
 * Close the channel and check the child exited 0.  Polls waitpid itself:
 * proc_reap waits on a pidfd, which valgrind does not know (and then kills
 * at once).
 */
static void
stop_child(struct harness *h)
{
	struct timespec	 ts = { 0, 10 * 1000 * 1000 };
	int		 i, status;
	pid_t		 pid = h->p.pid, r = 0;

	if (h->guest != -1)
		close(h->guest);
	proc_close(&h->p);
	frame_reader_free(&h->rd);
	for (i = 0; i < TIMEOUT_MS / 10 && r == 0; i++) {
		if ((r = waitpid(pid, &status, WNOHANG)) == 0)
			nanosleep(&ts, NULL);
	}
	if (r != pid)
		assert_int_equal(proc_reap(pid, 0, &status), 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("child ended with status 0x%x", status);
}

static void
test_control_forward(void **state)
{
	struct harness	 h;
	struct msg	 m;
	char		 version[] = "0.1.0", buf[64];
	uint64_t	 id;

	start_on(&h, "capsem-hostd-control", PORT_CONTROL);

	memset(&m, 0, sizeof(m));
	m.type = MSG_READY;
	m.u.ready.version.s = version;
	m.u.ready.version.len = strlen(version);
	guest_send(&h, &m);
	expect_imsg(&h, IMSG_HOST_GUESTREADY, buf, sizeof(version));
	assert_string_equal(buf, "0.1.0");

	guest_send_type(&h, MSG_BOOTREADY);
	expect_imsg(&h, IMSG_HOST_BOOTREADY, NULL, 0);
	guest_send_type(&h, MSG_PONG);
	expect_imsg(&h, IMSG_HOST_PONG, NULL, 0);

	memset(&m, 0, sizeof(m));
	m.type = MSG_ACK;
	m.u.ack.id = 77;
	guest_send(&h, &m);
	expect_imsg(&h, IMSG_HOST_ACK, &id, sizeof(id));
	assert_int_equal(id, 77);

	guest_close(&h);
	stop_child(&h);
}

static void
test_control_execdone_acked_first(void **state)
{
	struct harness			 h;
	struct msg			 m;
	struct imsg_host_execdone	 ed;

	start_on(&h, "capsem-hostd-control", PORT_CONTROL);
	memset(&m, 0, sizeof(m));
	m.type = MSG_EXECDONE;
	m.u.execdone.id = 9;
	m.u.execdone.exit_code = -2;
	guest_send_acked(&h, &m, 9, IMSG_HOST_EXECDONE, &ed, sizeof(ed));
	assert_int_equal(ed.id, 9);
	assert_int_equal(ed.exit_code, -2);
	stop_child(&h);
}

/* Shell exits as the guest reports them; the imsg must say the same. */
static const struct {
	int32_t		 exit_code;
	int32_t		 signal;
	int		 has_signal;
} shell_exits[] = {
	{ 3, 0, 0 },
	{ 137, 9, 1 },
};

static void
test_control_shellexited(void **state)
{
	struct harness			 h;
	struct msg			 m;
	struct imsg_host_shellexited	 se;
	size_t				 i;

	start_on(&h, "capsem-hostd-control", PORT_CONTROL);
	for (i = 0; i < nitems(shell_exits); i++) {
		memset(&m, 0, sizeof(m));
		m.type = MSG_SHELLEXITED;
		m.u.shellexited.exit_code = shell_exits[i].exit_code;
		m.u.shellexited.signal = shell_exits[i].signal;
		m.u.shellexited.has_signal = shell_exits[i].has_signal;
		guest_send_acked(&h, &m, 0, IMSG_HOST_SHELLEXITED, &se,
		    sizeof(se));
		if (se.exit_code != shell_exits[i].exit_code ||
		    se.signal != shell_exits[i].signal)
			fail_msg("shellexited %d/%d: imsg says %d/%d",
			    shell_exits[i].exit_code, shell_exits[i].signal,
			    se.exit_code, se.signal);
	}
	stop_child(&h);
}

static void
test_control_other_messages(void **state)
{
	struct harness		 h;
	struct msg		 m;
	struct boot_stage	 stages[2];
	struct imsg_file	 f;
	struct imsg_host_error	 e;
	char			 n1[] = "kernel", n2[] = "agent";
	char			 path[] = "/a/b";
	char			 msgtext[] = "no such file";
	uint8_t			 data[3] = { 0, 1, 255 }, buf[256];
	uint64_t		 id;

	start_on(&h, "capsem-hostd-control", PORT_CONTROL);

	memset(&m, 0, sizeof(m));
	m.type = MSG_BOOTTIMING;
	stages[0].name.s = n1;
	stages[0].name.len = strlen(n1);
	stages[0].duration_ms = 120;
	stages[1].name.s = n2;
	stages[1].name.len = strlen(n2);
	stages[1].duration_ms = 7;
	m.u.boottiming.stages = stages;
	m.u.boottiming.nstages = 2;
	guest_send(&h, &m);
	expect_imsg(&h, IMSG_HOST_BOOTTIMING, buf,
	    sizeof("kernel=120 agent=7"));
	assert_string_equal((char *)buf, "kernel=120 agent=7");

	/* Dropped: the next imsg is the filecontent's. */
	memset(&m, 0, sizeof(m));
	m.type = MSG_FILEDELETED;
	m.u.filedeleted.path.s = path;
	m.u.filedeleted.path.len = strlen(path);
	guest_send(&h, &m);

	memset(&m, 0, sizeof(m));
	m.type = MSG_FILECONTENT;
	m.u.filecontent.id = 5;
	m.u.filecontent.path.s = path;
	m.u.filecontent.path.len = strlen(path);
	m.u.filecontent.data.p = data;
	m.u.filecontent.data.len = sizeof(data);
	guest_send_acked(&h, &m, 5, IMSG_HOST_FILECONTENT, buf,
	    sizeof(f) + 4 + 3);
	memcpy(&f, buf, sizeof(f));
	assert_int_equal(f.id, 5);
	assert_int_equal(f.mode, 0);
	assert_int_equal(f.pathlen, 4);
	assert_memory_equal(buf + sizeof(f), "/a/b", 4);
	assert_memory_equal(buf + sizeof(f) + 4, data, 3);

	memset(&m, 0, sizeof(m));
	m.type = MSG_ERROR;
	m.u.error.id = 6;
	m.u.error.message.s = msgtext;
	m.u.error.message.len = strlen(msgtext);
	guest_send_acked(&h, &m, 6, IMSG_HOST_ERROR, buf,
	    sizeof(e) + sizeof(msgtext));
	memcpy(&e, buf, sizeof(e));
	assert_int_equal(e.id, 6);
	assert_string_equal((char *)buf + sizeof(e), msgtext);

	memset(&m, 0, sizeof(m));
	m.type = MSG_FILEOPDONE;
	m.u.fileopdone.id = 8;
	guest_send_acked(&h, &m, 8, IMSG_HOST_FILEOPDONE, &id, sizeof(id));
	assert_int_equal(id, 8);

	/* Only valid on port 5005: dropped. */
	memset(&m, 0, sizeof(m));
	m.type = MSG_EXECSTARTED;
	m.u.execstarted.id = 1;
	guest_send(&h, &m);
	m.type = MSG_SNAPSHOTREADY;
	guest_send(&h, &m);
	expect_imsg(&h, IMSG_HOST_SNAPSHOTREADY, NULL, 0);
	stop_child(&h);
}

static void
test_control_bad_frame(void **state)
{
	struct harness	 h;
	/* A 3-byte body of msgpack's never-used byte: does not decode. */
	const uint8_t	 bad[] = { 0, 0, 0, 3, 0xc1, 0xc1, 0xc1 };

	start_on(&h, "capsem-hostd-control", PORT_CONTROL);
	write_all(h.guest, bad, sizeof(bad));
	guest_send_type(&h, MSG_PONG);
	expect_imsg(&h, IMSG_HOST_PONG, NULL, 0);
	stop_child(&h);
}

static void
test_control_send(void **state)
{
	struct harness	 h;
	struct msg	 m;
	struct wbuf	 wb;
	struct wire_err	 err;
	uint8_t		 buf[64];
	size_t		 got = 0;
	ssize_t		 n;

	start_on(&h, "capsem-hostd-control", PORT_CONTROL);
	memset(&m, 0, sizeof(m));
	m.type = MSG_PING;
	m.u.ping.epoch_secs = 1713100000;
	wbuf_init(&wb);
	assert_int_equal(msg_encode(&m, &wb, &err), 0);
	/* Twice, so the two frames must arrive back to back. */
	send_imsg(&h, IMSG_HOST_SEND, -1, wb.data, wb.len);
	send_imsg(&h, IMSG_HOST_SEND, -1, wb.data, wb.len);
	assert_true(2 * wb.len <= sizeof(buf));
	while (got < 2 * wb.len) {
		struct pollfd pfd = { h.guest, POLLIN, 0 };

		if (poll(&pfd, 1, TIMEOUT_MS) != 1)
			fail_msg("IMSG_HOST_SEND bytes did not arrive");
		n = read(h.guest, buf + got, 2 * wb.len - got);
		assert_true(n > 0);
		got += n;
	}
	assert_memory_equal(buf, wb.data, wb.len);
	assert_memory_equal(buf + wb.len, wb.data, wb.len);
	wbuf_free(&wb);

	send_imsg(&h, IMSG_CHILD_STOP, -1, NULL, 0);
	expect_done(&h, CHILD_STOPPED);
	stop_child(&h);
}

static void
test_control_oversize(void **state)
{
	struct harness	 h;
	uint8_t		 hdr[FRAME_HDRLEN];

	start_on(&h, "capsem-hostd-control", PORT_CONTROL);
	frame_write_header(hdr, FRAME_MAX + 1);
	write_all(h.guest, hdr, sizeof(hdr));
	expect_done(&h, CHILD_PROTO);
	stop_child(&h);
}

/*
 * Write execstarted{42} and EXEC_BYTES raw bytes while collecting what the
 * child forwards (both at once: the child blocks on a parent that does not
 * read), then close: every byte in order, then CHILD_EOF.
 */
static void
test_stream_exec(void **state)
{
	struct harness	 h;
	struct msg	 m;
	struct wbuf	 wb;
	struct wire_err	 err;
	struct imsg	 imsg;
	struct pollfd	 pfd[2];
	uint8_t		*src, *dst;
	size_t		 i, off = 0, got = 0, len;
	ssize_t		 n;
	uint64_t	 id;
	struct imsg_child_done d;
	int		 started = 0, done = 0;
	int32_t		 mode = 0;
	uint32_t	 t;

	start_on(&h, "capsem-hostd-stream", PORT_EXEC);
	assert_int_equal(fcntl(h.guest, F_SETFL, O_NONBLOCK), 0);
	memset(&m, 0, sizeof(m));
	m.type = MSG_EXECSTARTED;
	m.u.execstarted.id = 42;
	wbuf_init(&wb);
	assert_int_equal(msg_encode(&m, &wb, &err), 0);
	len = wb.len + EXEC_BYTES;
	assert_non_null(src = malloc(len));
	assert_non_null(dst = malloc(EXEC_BYTES));
	memcpy(src, wb.data, wb.len);
	for (i = 0; i < EXEC_BYTES; i++)
		src[wb.len + i] = (uint8_t)(i * 7 + i / 251);

	for (;;) {
		while ((n = imsg_get(&h.p.ibuf, &imsg)) > 0) {
			t = imsg_get_type(&imsg);
			if (t == IMSG_CHILD_LOG)
				;	/* its log lines: not under test */
			else if (!started) {
				assert_int_equal(t, IMSG_HOST_EXECSTARTED);
				assert_int_equal(imsg_get_data(&imsg, &id,
				    sizeof(id)), 0);
				assert_int_equal(id, 42);
				started = 1;
				/* A plain exec: raw output follows. */
				send_imsg(&h, IMSG_HOST_EXECFRAMED, -1, &mode,
				    sizeof(mode));
			} else if (t == IMSG_HOST_EXECOUTPUT) {
				n = imsg_get_len(&imsg);
				assert_true(n > 0 && n <= 65536);
				assert_true(got + n <= EXEC_BYTES);
				assert_int_equal(imsg_get_data(&imsg,
				    dst + got, n), 0);
				got += n;
			} else if (t == IMSG_CHILD_DONE) {
				assert_int_equal(imsg_get_data(&imsg, &d,
				    sizeof(d)), 0);
				assert_int_equal(d.reason, CHILD_EOF);
				done = 1;
			} else {
				imsg_free(&imsg);
				fail_msg("unexpected imsg %u", t);
			}
			imsg_free(&imsg);
		}
		assert_int_not_equal(n, -1);
		if (done)
			break;
		pfd[0].fd = h.p.ibuf.fd;
		pfd[0].events = POLLIN;
		pfd[1].fd = off < len ? h.guest : -1;
		pfd[1].events = POLLOUT;
		if (poll(pfd, 2, TIMEOUT_MS) < 1)
			fail_msg("exec stalled: %zu of %zu written, %zu of %d "
			    "forwarded", off, len, got, EXEC_BYTES);
		if (pfd[0].revents & (POLLIN | POLLHUP))
			assert_int_equal(imsgbuf_read(&h.p.ibuf), 1);
		if (pfd[1].revents & POLLOUT) {
			n = write(h.guest, src + off, len - off);
			assert_true(n > 0);
			off += n;
			if (off == len) {
				close(h.guest);
				h.guest = -1;
			}
		}
	}
	assert_true(started);
	assert_int_equal(off, len);
	assert_int_equal(got, EXEC_BYTES);
	assert_memory_equal(dst, src + wb.len, EXEC_BYTES);
	free(src);
	free(dst);
	wbuf_free(&wb);
	stop_child(&h);
}

/*
 * An execio connection (capsem-protocol(7) "execio"): after execstarted the
 * child waits for the mode; framed, it passes execoutput on as stdout or
 * stderr and execinwindow as a grant, writes what the parent encoded to
 * the guest, keeps reading after the guest stopped reading (a write that
 * fails is not the end), and a frame not of the exec port costs the
 * connection.
 */
static void
test_stream_execio(void **state)
{
	static const uint8_t	 out[] = "to stdout", err2[] = "to stderr";
	struct harness		 h;
	struct msg		 m, r;
	struct wbuf		 wb;
	struct wire_err		 err;
	uint8_t			 buf[64];
	uint64_t		 id;
	uint32_t		 win;
	int32_t			 mode = 1;

	start_on(&h, "capsem-hostd-stream", PORT_EXEC);
	memset(&m, 0, sizeof(m));
	m.type = MSG_EXECSTARTED;
	m.u.execstarted.id = 7;
	guest_send(&h, &m);
	/* Sent before the mode is known: held, then read as frames. */
	m.type = MSG_EXECOUTPUT;
	m.u.execoutput.stream = EXECIO_STDOUT;
	m.u.execoutput.data.p = (uint8_t *)(uintptr_t)out;
	m.u.execoutput.data.len = sizeof(out);
	guest_send(&h, &m);
	expect_imsg(&h, IMSG_HOST_EXECSTARTED, &id, sizeof(id));
	assert_int_equal(id, 7);
	send_imsg(&h, IMSG_HOST_EXECFRAMED, -1, &mode, sizeof(mode));
	expect_imsg(&h, IMSG_HOST_EXECOUTPUT, buf, sizeof(out));
	assert_memory_equal(buf, out, sizeof(out));
	m.u.execoutput.stream = EXECIO_STDERR;
	m.u.execoutput.data.p = (uint8_t *)(uintptr_t)err2;
	m.u.execoutput.data.len = sizeof(err2);
	guest_send(&h, &m);
	expect_imsg(&h, IMSG_HOST_EXECSTDERR, buf, sizeof(err2));
	assert_memory_equal(buf, err2, sizeof(err2));
	memset(&m, 0, sizeof(m));
	m.type = MSG_EXECINWINDOW;
	m.u.execwindow.bytes = 4096;
	guest_send(&h, &m);
	expect_imsg(&h, IMSG_HOST_EXECINWINDOW, &win, sizeof(win));
	assert_int_equal(win, 4096);

	/* The parent's frame reaches the guest as it is. */
	memset(&m, 0, sizeof(m));
	m.type = MSG_EXECSIGNAL;
	m.u.execsignal.signal = 2;
	wbuf_init(&wb);
	assert_int_equal(msg_encode(&m, &wb, &err), 0);
	send_imsg(&h, IMSG_HOST_EXECSEND, -1, wb.data, wb.len);
	guest_recv(&h, TIMEOUT_MS, &r);
	assert_int_equal(r.type, MSG_EXECSIGNAL);
	assert_int_equal(r.u.execsignal.signal, 2);
	msg_free(&r);

	/* The guest stops reading: frames for it are dropped, not fatal. */
	assert_int_equal(shutdown(h.guest, SHUT_RD), 0);
	send_imsg(&h, IMSG_HOST_EXECSEND, -1, wb.data, wb.len);
	send_imsg(&h, IMSG_HOST_EXECSEND, -1, wb.data, wb.len);
	wbuf_free(&wb);
	memset(&m, 0, sizeof(m));
	m.type = MSG_EXECOUTPUT;
	m.u.execoutput.stream = EXECIO_STDOUT;
	m.u.execoutput.data.p = (uint8_t *)(uintptr_t)out;
	m.u.execoutput.data.len = sizeof(out);
	guest_send(&h, &m);
	expect_imsg(&h, IMSG_HOST_EXECOUTPUT, buf, sizeof(out));

	/* Not an exec port message: the connection goes. */
	guest_send_type(&h, MSG_PONG);
	expect_done(&h, CHILD_PROTO);
	stop_child(&h);
}

static void
test_stream_exec_no_execstarted(void **state)
{
	struct harness	 h;

	start_on(&h, "capsem-hostd-stream", PORT_EXEC);
	guest_send_type(&h, MSG_PONG);
	expect_done(&h, CHILD_PROTO);
	stop_child(&h);
}

/* The first record of the audit vectors. */
static void
vector_record(struct audit_record *rec)
{
	char		 line[4096], errbuf[256];
	json_t		*j;
	json_error_t	 jerr;
	FILE		*fp;

	if ((fp = vector_open("audit-basic.jsonl")) == NULL)
		fail_msg("no audit vectors");
	assert_non_null(fgets(line, sizeof(line), fp));
	fclose(fp);
	assert_non_null(j = json_loads(line, 0, &jerr));
	if (audit_record_from_json(j, rec, errbuf, sizeof(errbuf)) == -1)
		fail_msg("vector record: %s", errbuf);
	json_decref(j);
}

static void
test_stream_audit(void **state)
{
	struct harness		 h;
	struct audit_record	 rec;
	struct wbuf		 wb;
	struct wire_err		 err;
	json_t			*j;
	char			 tmpl[] = "/tmp/capsem-audit.XXXXXX";
	char			*s, expect[8192], got[8192];
	uint64_t		 count = 0;
	/* An empty map: no required field, dropped. */
	const uint8_t		 bad[] = { 0, 0, 0, 1, 0x80 };
	int			 fd, wfd;
	ssize_t			 n;

	start_child(&h, "capsem-hostd-stream");
	vector_record(&rec);
	assert_non_null(j = audit_record_to_json(&rec));
	assert_non_null(s = json_dumps(j, JSON_COMPACT |
	    JSON_PRESERVE_ORDER));
	json_decref(j);
	snprintf(expect, sizeof(expect), "%s\n%s\n", s, s);
	free(s);
	wbuf_init(&wb);
	assert_int_equal(audit_record_encode(&rec, &wb, &err), 0);
	audit_record_free(&rec);

	assert_true((fd = mkstemp(tmpl)) != -1);
	assert_true((wfd = open(tmpl, O_WRONLY | O_APPEND | O_CLOEXEC)) != -1);
	unlink(tmpl);
	send_imsg(&h, IMSG_HOST_AUDITLOG, wfd, NULL, 0);
	connect_guest(&h, PORT_AUDIT);

	write_all(h.guest, wb.data, wb.len);
	write_all(h.guest, bad, sizeof(bad));
	write_all(h.guest, wb.data, wb.len);
	wbuf_free(&wb);
	while (count < 2)
		expect_imsg(&h, IMSG_HOST_AUDITED, &count, sizeof(count));
	assert_int_equal(count, 2);
	guest_close(&h);

	n = pread(fd, got, sizeof(got) - 1, 0);
	assert_true(n >= 0);
	got[n] = '\0';
	close(fd);
	assert_string_equal(got, expect);
	stop_child(&h);
}

static void
test_stream_lifecycle(void **state)
{
	struct harness	 h;
	int32_t		 type;

	start_on(&h, "capsem-hostd-stream", PORT_LIFECYCLE);
	guest_send_type(&h, MSG_SHUTDOWNREQUEST);
	expect_imsg(&h, IMSG_HOST_LIFECYCLE, &type, sizeof(type));
	assert_int_equal(type, MSG_SHUTDOWNREQUEST);
	guest_close(&h);
	stop_child(&h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_control_forward),
		cmocka_unit_test(test_control_execdone_acked_first),
		cmocka_unit_test(test_control_shellexited),
		cmocka_unit_test(test_control_other_messages),
		cmocka_unit_test(test_control_bad_frame),
		cmocka_unit_test(test_control_send),
		cmocka_unit_test(test_control_oversize),
		cmocka_unit_test(test_stream_exec),
		cmocka_unit_test(test_stream_exec_no_execstarted),
		cmocka_unit_test(test_stream_execio),
		cmocka_unit_test(test_stream_audit),
		cmocka_unit_test(test_stream_lifecycle),
	};

	signal(SIGPIPE, SIG_IGN);
	log_init(1, LOG_DAEMON);
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
