/*
 * capsem-hostd-stream: owns one guest connection that is not the control
 * connection, its logical port given by the parent with the socket:
 *
 *  5005 exec: the first frame must be execstarted{id}; the parent then
 *       says whether the exec is an execio (capsem-protocol(7)).  For a
 *       plain exec the connection carries raw command output, passed on in
 *       chunks of at most 64 KiB.  Each chunk is flushed to the parent
 *       before the next read, so a slow parent slows the guest instead of
 *       filling memory.  For an execio it carries frames both ways:
 *       execoutput and execinwindow from the guest, passed on typed, and
 *       the frames the parent encoded (IMSG_HOST_EXECSEND), written here
 *       from a bounded queue; the grants of the protocol bound both.
 *  5006 audit: every frame is one audit record, appended as one JSON line
 *       to audit.jsonl through the fd the parent opened for us.
 *  5004 lifecycle: shutdownrequest or suspendrequest, told to the parent.
 *  5008 copy (extension "copy"): the first frame must be copystarted; it
 *       is read to its last byte and not one byte further (the file's
 *       bytes that follow are not ours: the parent kept a duplicate of the
 *       connection and hands it to the copy's client), told to the parent,
 *       and the child ends.
 *
 * It opens nothing: its sockets and the audit log arrive over imsg after
 * the sandbox is in place.  Input from the guest: untrusted.  A bad audit
 * record costs that record; a bad first exec frame or a length that breaks
 * the framing costs the connection.  The child always ends with
 * IMSG_CHILD_DONE saying why.
 */
#include <sys/types.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "capsem_imsg.h"
#include "child.h"
#include "ev.h"
#include "frame.h"
#include "log.h"
#include "outbuf.h"
#include "transport.h"
#include "wire.h"
#include "wirejson.h"

#define CHUNK_MAX		65536	/* largest IMSG_HOST_EXECOUTPUT */
#define COPYSTARTED_MAX		256	/* body of a copystarted frame */
#define EXEC_OUTBUF_MAX		(4 * 1024 * 1024) /* frames for the guest */
#define EXEC_END_MS		2000	/* for the parent to close, at the end */

static struct child		 stream;
static int			 sock = -1;
static struct ev		*sock_ev;
static int			 auditfd = -1;
static uint32_t			 port;
static struct frame_reader	 rd;
static int			 exec_started;
static int			 exec_mode = -1; /* -1 until the parent says,
						    then 1 framed, 0 raw */
static uint8_t			 held[CHUNK_MAX]; /* read after execstarted */
static size_t			 nheld;
static struct outbuf		 out;		/* execio frames for the guest */
static int			 wdead;		/* the guest stopped reading */
static uint64_t			 frames_in;
static uint64_t			 audited;	/* records written */
static uint8_t			 copy_frame[FRAME_HDRLEN + COPYSTARTED_MAX];
static size_t			 copy_got;

static void	 stream_imsgs(void);
static void	 stream_socket(struct imsg *);
static void	 stream_sock_ready(int, short, void *);
static void	 stream_read(void);
static int	 stream_execstarted(const uint8_t *, size_t, void *);
static int	 stream_audit(const uint8_t *, size_t, void *);
static int	 stream_lifecycle(const uint8_t *, size_t, void *);
static int	 stream_execio(const uint8_t *, size_t, void *);
static void	 stream_exec_bytes(const uint8_t *, size_t);
static void	 stream_prepare(void *);
static void	 stream_flush(void);
static __dead void stream_exec_end(void);
static void	 stream_send(uint32_t, const void *, size_t);
static void	 stream_copy_read(void);
static void	 stream_copystarted(const uint8_t *, size_t);

int
main(int argc, char *argv[])
{
	size_t		 seed = 0;

	child_init(&stream, argc, argv, "stream", SANDBOX_HOST_DECODER);
	/*
	 * jansson seeds its hash function from /dev/urandom on first use,
	 * which the sandbox forbids (openat): seed it now through getrandom.
	 */
	if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed) || seed == 0)
		seed = 1;
	json_object_seed(seed);
	frame_reader_init(&rd, FRAME_MAX);
	outbuf_init(&out, EXEC_OUTBUF_MAX);
	child_ev_init(&stream, stream_imsgs);
	ev_prepare(stream_prepare, NULL);
	ev_run();
}

static void
stream_imsgs(void)
{
	struct imsg	 imsg;
	int32_t		 mode;
	size_t		 len;
	void		*p;
	int		 fd;

	while (child_next_imsg(&stream, &imsg)) {
		switch (imsg_get_type(&imsg)) {
		case IMSG_HOST_EXECFRAMED:
			if (port != PORT_EXEC || !exec_started ||
			    exec_mode != -1 || imsg_get_data(&imsg, &mode,
			    sizeof(mode)) == -1)
				fatalx("stream: unexpected IMSG_HOST_EXECFRAMED");
			exec_mode = mode != 0;
			/* What came with execstarted, in its mode. */
			if (nheld > 0) {
				len = nheld;
				nheld = 0;
				stream_exec_bytes(held, len);
			}
			break;
		case IMSG_HOST_EXECSEND:
			/* One whole frame, encoded by the parent. */
			len = imsg_get_len(&imsg);
			if (exec_mode != 1 || len < FRAME_HDRLEN ||
			    len > FRAME_HDRLEN + FRAME_MAX)
				fatalx("stream: IMSG_HOST_EXECSEND of %zu bytes",
				    len);
			if ((p = outbuf_reserve(&out, len)) == NULL) {
				imsg_free(&imsg);
				child_lost(&stream, CHILD_IOERR, errno, "exec: "
				    "guest is not reading (output buffer "
				    "full)");
			}
			if (imsg_get_data(&imsg, p, len) == -1)
				fatal("stream: imsg_get_data");
			outbuf_commit(&out, len);
			stream_flush();
			break;
		case IMSG_HOST_AUDITLOG:
			if ((fd = imsg_get_fd(&imsg)) == -1)
				fatalx("stream: IMSG_HOST_AUDITLOG without "
				    "an fd");
			if (auditfd != -1)
				close(auditfd);
			auditfd = fd;
			break;
		case IMSG_HOST_SOCKET:
			stream_socket(&imsg);
			break;
		case IMSG_CHILD_STOP:
			imsg_free(&imsg);
			child_done(&stream, CHILD_STOPPED, 0, "stopped");
			exit(0);
		default:
			log_warnx("stream: unexpected imsg %u",
			    imsg_get_type(&imsg));
			break;
		}
		imsg_free(&imsg);
	}
}

static void
stream_socket(struct imsg *imsg)
{
	int	 fd;

	if ((fd = imsg_get_fd(imsg)) == -1)
		fatalx("stream: IMSG_HOST_SOCKET without an fd");
	if (sock != -1) {
		log_warnx("stream: second connection refused");
		close(fd);
		return;
	}
	if (imsg_get_data(imsg, &port, sizeof(port)) == -1 ||
	    (port != PORT_EXEC && port != PORT_AUDIT &&
	    port != PORT_LIFECYCLE && port != PORT_COPY)) {
		close(fd);
		child_lost(&stream, CHILD_PROTO, 0,
		    "connection for no stream port");
	}
	if (port == PORT_AUDIT && auditfd == -1)
		log_warnx("stream: audit connection without audit.jsonl; "
		    "records will be dropped");
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1)
		fatal("stream: fcntl");
	sock = fd;
	sock_ev = ev_add(sock, POLLIN, stream_sock_ready, NULL);
	log_debug("stream: connection on port %u", port);
}

/*
 * Before every poll.  Raw streams need no backpressure of their own: every
 * read is passed on before the next.  An exec is not read between its
 * execstarted and the parent saying what follows.
 */
static void
stream_prepare(void *arg)
{
	if (sock_ev == NULL)
		return;
	if (port == PORT_EXEC && exec_started && exec_mode == -1)
		ev_set(sock_ev, 0);
	else
		ev_set(sock_ev, POLLIN |
		    (outbuf_pending(&out) > 0 ? POLLOUT : 0));
}

static void
stream_sock_ready(int fd, short revents, void *arg)
{
	if (revents & POLLOUT)
		stream_flush();
	if (!(revents & (POLLIN | POLLHUP | POLLERR)))
		return;
	if (port == PORT_COPY)
		stream_copy_read();
	else
		stream_read();
}

/*
 * Input from the guest: untrusted.  Exactly the bytes of the first frame:
 * the length, then the body it announces, at most COPYSTARTED_MAX.
 */
static void
stream_copy_read(void)
{
	size_t		 want, blen;
	ssize_t		 n;

	want = FRAME_HDRLEN;
	if (copy_got >= FRAME_HDRLEN) {
		blen = (size_t)copy_frame[0] << 24 | copy_frame[1] << 16 |
		    copy_frame[2] << 8 | copy_frame[3];
		if (blen > COPYSTARTED_MAX)
			child_lost(&stream, CHILD_PROTO, 0, "copy: first frame "
			    "too long for copystarted");
		want = FRAME_HDRLEN + blen;
	}
	if ((n = child_sock_read(&stream, sock, copy_frame + copy_got,
	    want - copy_got)) == -1)
		return;
	if (n == 0)
		child_lost(&stream, CHILD_PROTO, 0, "copy connection closed "
		    "before copystarted");
	copy_got += n;
	if (copy_got == want && want > FRAME_HDRLEN)
		stream_copystarted(copy_frame + FRAME_HDRLEN,
		    want - FRAME_HDRLEN);
}

static void
stream_copystarted(const uint8_t *body, size_t len)
{
	struct imsg_copy c;
	struct msg	 m;
	struct wire_err	 err;

	if (msg_decode(WIRE_G2H, body, len, &m, &err) == -1) {
		log_warnx("copy: first frame dropped: %s at byte %zu: %s",
		    wire_errstr(err.code), err.offset, err.msg);
		child_lost(&stream, CHILD_PROTO, 0, "copy: first frame does "
		    "not decode");
	}
	if (m.type != MSG_COPYSTARTED) {
		log_warnx("copy: first frame is %s, not copystarted",
		    msg_type_name(m.type));
		msg_free(&m);
		child_lost(&stream, CHILD_PROTO, 0, "copy: first frame is "
		    "not copystarted");
	}
	memset(&c, 0, sizeof(c));
	c.id = m.u.copystarted.id;
	c.size = m.u.copystarted.size;
	c.mode = m.u.copystarted.mode;
	if (m.u.copystarted.has_mtime) {
		c.flags = COPY_MTIME;
		c.mtime_ns = m.u.copystarted.mtime_ns;
	}
	msg_free(&m);
	log_debug("copy: copystarted %llu (%llu bytes, mode %o)",
	    (unsigned long long)c.id, (unsigned long long)c.size, c.mode);
	stream_send(IMSG_HOST_COPYSTARTED, &c, sizeof(c));
	child_done(&stream, CHILD_EOF, 0, "copy connection handed over");
	exit(0);
}

/*
 * Frames for the guest.  A guest that has ended the exec shuts its side
 * down once its output is sent: a write then fails, and what it sent is
 * still read to its end.
 */
static void
stream_flush(void)
{
	struct wbuf	*wb;

	if (sock == -1 || outbuf_pending(&out) == 0)
		return;
	if (!wdead && outbuf_flush(&out, sock) != -1)
		return;
	if (!wdead)
		log_debug("exec: the guest reads no more: %s",
		    strerror(errno));
	wdead = 1;
	wb = outbuf_wbuf(&out);
	wbuf_reset(wb);
}

/*
 * The end of an execio's connection.  The parent may have grants on their
 * way to us: exiting with them unread would reset the channel and could
 * cost the parent the last output we sent.  So say we are done, stop
 * writing, and read (dropping it) what the parent sends until it closes
 * its end, EXEC_END_MS at most.
 */
static __dead void
stream_exec_end(void)
{
	log_info("stream: guest closed the connection");
	child_done(&stream, CHILD_EOF, 0, "guest closed the connection");
	transport_linger(stream.ibuf.fd, EXEC_END_MS);
	exit(0);
}

static void
stream_read(void)
{
	uint8_t		 buf[CHUNK_MAX];
	uint64_t	 before = audited;
	size_t		 off;
	ssize_t		 n;

	if ((n = child_sock_read(&stream, sock, buf, sizeof(buf))) == -1)
		return;
	if (n == 0) {
		if (port == PORT_EXEC && !exec_started)
			child_lost(&stream, CHILD_PROTO, 0,
			    "exec connection closed before execstarted");
		/* After execstarted a plain exec is not framed. */
		if (port != PORT_EXEC || exec_mode == 1)
			child_frames_eof(&stream, &rd);
		if (port == PORT_EXEC && exec_mode == 1)
			stream_exec_end();
		child_lost(&stream, CHILD_EOF, 0,
		    "guest closed the connection");
	}
	switch (port) {
	case PORT_EXEC:
		off = 0;
		if (!exec_started)
			off = child_frames(&stream, &rd, buf, n,
			    stream_execstarted, NULL);
		if (!exec_started || off >= (size_t)n)
			break;
		/* What follows execstarted waits for the mode. */
		if (exec_mode == -1) {
			memcpy(held, buf + off, n - off);
			nheld = n - off;
		} else
			stream_exec_bytes(buf + off, n - off);
		break;
	case PORT_AUDIT:
		(void)child_frames(&stream, &rd, buf, n, stream_audit, NULL);
		if (audited != before)
			stream_send(IMSG_HOST_AUDITED, &audited,
			    sizeof(audited));
		break;
	default:
		(void)child_frames(&stream, &rd, buf, n, stream_lifecycle,
		    NULL);
		break;
	}
}

/* Input from the guest: untrusted.  The exec connection's first frame. */
static int
stream_execstarted(const uint8_t *body, size_t len, void *arg)
{
	struct msg	 m;
	struct wire_err	 err;
	uint64_t	 id;

	frames_in++;
	if (msg_decode(WIRE_G2H, body, len, &m, &err) == -1) {
		log_warnx("exec: first frame dropped: %s at byte %zu: %s",
		    wire_errstr(err.code), err.offset, err.msg);
		child_lost(&stream, CHILD_PROTO, 0, "exec: first frame does "
		    "not decode");
	}
	if (m.type != MSG_EXECSTARTED) {
		log_warnx("exec: first frame is %s, not execstarted",
		    msg_type_name(m.type));
		msg_free(&m);
		child_lost(&stream, CHILD_PROTO, 0, "exec: first frame is "
		    "not execstarted");
	}
	id = m.u.execstarted.id;
	msg_free(&m);
	log_debug("exec: execstarted %llu", (unsigned long long)id);
	exec_started = 1;
	stream_send(IMSG_HOST_EXECSTARTED, &id, sizeof(id));
	return (1);
}

/* Exec connection bytes after execstarted, in the exec's mode. */
static void
stream_exec_bytes(const uint8_t *buf, size_t n)
{
	if (exec_mode == 1)
		(void)child_frames(&stream, &rd, buf, n, stream_execio, NULL);
	else
		stream_send(IMSG_HOST_EXECOUTPUT, buf, n);
}

/*
 * Input from the guest: untrusted.  An execio frame: output of a stream,
 * or a grant for input.  Anything else costs the connection (and so the
 * command), as capsem-protocol(7) says.
 */
static int
stream_execio(const uint8_t *body, size_t len, void *arg)
{
	struct msg	 m;
	struct wire_err	 err;
	uint32_t	 bytes;

	frames_in++;
	if (msg_decode(WIRE_G2H, body, len, &m, &err) == -1) {
		log_warnx("exec: guest frame %llu: %s at byte %zu: %s",
		    (unsigned long long)frames_in, wire_errstr(err.code),
		    err.offset, err.msg);
		child_lost(&stream, CHILD_PROTO, 0, "exec: a frame does not "
		    "decode");
	}
	switch (m.type) {
	case MSG_EXECOUTPUT:
		if (m.u.execoutput.data.len == 0 ||
		    m.u.execoutput.data.len > EXECIO_DATA_MAX ||
		    (m.u.execoutput.stream != EXECIO_STDOUT &&
		    m.u.execoutput.stream != EXECIO_STDERR)) {
			log_warnx("exec: guest frame %llu: execoutput of %zu "
			    "bytes on stream %u", (unsigned long long)frames_in,
			    m.u.execoutput.data.len, m.u.execoutput.stream);
			msg_free(&m);
			child_lost(&stream, CHILD_PROTO, 0, "exec: bad "
			    "execoutput");
		}
		stream_send(m.u.execoutput.stream == EXECIO_STDOUT ?
		    IMSG_HOST_EXECOUTPUT : IMSG_HOST_EXECSTDERR,
		    m.u.execoutput.data.p, m.u.execoutput.data.len);
		break;
	case MSG_EXECINWINDOW:
		bytes = m.u.execwindow.bytes;
		stream_send(IMSG_HOST_EXECINWINDOW, &bytes, sizeof(bytes));
		break;
	default:
		log_warnx("exec: guest frame %llu: %s is not valid on an exec "
		    "connection", (unsigned long long)frames_in,
		    msg_type_name(m.type));
		msg_free(&m);
		child_lost(&stream, CHILD_PROTO, 0, "exec: unexpected "
		    "message");
	}
	msg_free(&m);
	return (0);
}

/* Input from the guest: untrusted.  One record, one line, one write. */
static int
stream_audit(const uint8_t *body, size_t len, void *arg)
{
	struct audit_record	 rec;
	struct wire_err		 err;
	json_t			*j;
	char			*s, *line;
	size_t			 slen;
	ssize_t			 n;

	frames_in++;
	if (audit_record_decode(body, len, &rec, &err) == -1) {
		log_warnx("audit: record %llu dropped: %s at byte %zu: %s",
		    (unsigned long long)frames_in, wire_errstr(err.code),
		    err.offset, err.msg);
		return (0);
	}
	j = audit_record_to_json(&rec);
	audit_record_free(&rec);
	s = j != NULL ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) :
	    NULL;
	json_decref(j);
	if (s == NULL) {
		log_warnx("audit: record %llu dropped: not representable "
		    "as JSON", (unsigned long long)frames_in);
		return (0);
	}
	slen = strlen(s);
	if ((line = malloc(slen + 1)) == NULL)
		fatal("audit: malloc");
	memcpy(line, s, slen);
	line[slen] = '\n';
	free(s);
	if (auditfd == -1)
		log_warnx("audit: record %llu dropped: no audit.jsonl",
		    (unsigned long long)frames_in);
	else if ((n = write(auditfd, line, slen + 1)) == -1)
		log_warn("audit: record %llu dropped: write",
		    (unsigned long long)frames_in);
	else if ((size_t)n != slen + 1)
		log_warnx("audit: record %llu: short write (%zd of %zu)",
		    (unsigned long long)frames_in, n, slen + 1);
	else
		audited++;
	free(line);
	return (0);
}

/* Input from the guest: untrusted. */
static int
stream_lifecycle(const uint8_t *body, size_t len, void *arg)
{
	struct msg	 m;
	struct wire_err	 err;
	int32_t		 type;

	frames_in++;
	if (msg_decode(WIRE_G2H, body, len, &m, &err) == -1) {
		log_warnx("lifecycle: guest frame %llu dropped: %s at byte "
		    "%zu: %s", (unsigned long long)frames_in,
		    wire_errstr(err.code), err.offset, err.msg);
		return (0);
	}
	if (m.type == MSG_SHUTDOWNREQUEST || m.type == MSG_SUSPENDREQUEST) {
		log_info("lifecycle: guest sent %s", msg_type_name(m.type));
		type = m.type;
		stream_send(IMSG_HOST_LIFECYCLE, &type, sizeof(type));
	} else
		log_warnx("lifecycle: %s is not valid on port %d; dropped",
		    msg_type_name(m.type), PORT_LIFECYCLE);
	msg_free(&m);
	return (0);
}

/* Flushed at once: a slow parent holds up the next read from the guest. */
static void
stream_send(uint32_t type, const void *data, size_t len)
{
	if (child_send(&stream, type, -1, data, len) == -1)
		exit(0);
}
