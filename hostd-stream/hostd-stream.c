/*
 * capsem-hostd-stream: owns one guest connection that is not the control
 * connection, its logical port given by the parent with the socket:
 *
 *  5005 exec: the first frame must be execstarted{id}; after it the
 *       connection carries raw command output, passed on in chunks of at
 *       most 64 KiB.  Each chunk is flushed to the parent before the next
 *       read, so a slow parent slows the guest instead of filling memory.
 *  5006 audit: every frame is one audit record, appended as one JSON line
 *       to audit.jsonl through the fd the parent opened for us.
 *  5004 lifecycle: shutdownrequest or suspendrequest, told to the parent.
 *
 * It opens nothing: its sockets and the audit log arrive over imsg after
 * the sandbox is in place.  Input from the guest: untrusted.  A bad audit
 * record costs that record; a bad first exec frame or a length that breaks
 * the framing costs the connection.  The child always ends with
 * IMSG_CHILD_DONE saying why.
 */
#include <sys/types.h>
#include <sys/random.h>

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
#include "frame.h"
#include "log.h"
#include "wire.h"
#include "wirejson.h"

#define CHUNK_MAX		65536	/* largest IMSG_HOST_EXECOUTPUT */

/* Takes one frame body; returns 1 to stop feeding the rest of the read. */
typedef int	(*frame_fn)(const uint8_t *, size_t);

static struct child		 st;
static int			 sock = -1;
static int			 auditfd = -1;
static uint32_t			 port;
static struct frame_reader	 rd;
static int			 exec_started;
static uint64_t			 frames_in;
static uint64_t			 audited;	/* records written */

static void	 stream_dispatch_imsg(void);
static void	 stream_socket(struct imsg *);
static void	 stream_read(void);
static size_t	 stream_frames(const uint8_t *, size_t, frame_fn);
static int	 stream_execstarted(const uint8_t *, size_t);
static int	 stream_audit(const uint8_t *, size_t);
static int	 stream_lifecycle(const uint8_t *, size_t);
static void	 stream_send(uint32_t, const void *, size_t);
static __dead void stream_lost(int, int, const char *);

int
main(int argc, char *argv[])
{
	struct pollfd	 pfd[2];
	size_t		 seed = 0;

	child_init(&st, argc, argv, "stream", SANDBOX_HOST_DECODER);
	/*
	 * jansson seeds its hash function from /dev/urandom on first use,
	 * which the sandbox forbids (openat): seed it now through getrandom.
	 */
	if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed) || seed == 0)
		seed = 1;
	json_object_seed(seed);
	frame_reader_init(&rd, FRAME_MAX);

	for (;;) {
		memset(pfd, 0, sizeof(pfd));
		pfd[0].fd = st.ibuf.fd;
		pfd[0].events = POLLIN;
		if (imsgbuf_queuelen(&st.ibuf) > 0)
			pfd[0].events |= POLLOUT;
		pfd[1].fd = sock;
		if (sock != -1)
			pfd[1].events = POLLIN;
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			fatal("stream: poll");
		}
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR))
			stream_dispatch_imsg();
		if ((pfd[0].revents & POLLOUT) &&
		    imsgbuf_write(&st.ibuf) == -1)
			exit(0);
		if (sock != -1 && (pfd[1].revents & (POLLIN | POLLHUP |
		    POLLERR)))
			stream_read();
	}
}

static void
stream_dispatch_imsg(void)
{
	struct imsg	 imsg;
	int		 fd;

	child_read(&st);
	while (child_next_imsg(&st, &imsg)) {
		switch (imsg_get_type(&imsg)) {
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
			child_done(&st, CHILD_STOPPED, 0, "stopped");
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
	    port != PORT_LIFECYCLE)) {
		close(fd);
		stream_lost(CHILD_PROTO, 0, "connection for no stream port");
	}
	if (port == PORT_AUDIT && auditfd == -1)
		log_warnx("stream: audit connection without audit.jsonl; "
		    "records will be dropped");
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1)
		fatal("stream: fcntl");
	sock = fd;
	log_debug("stream: connection on port %u", port);
}

static void
stream_read(void)
{
	uint8_t		 buf[CHUNK_MAX];
	uint64_t	 before = audited;
	size_t		 off;
	ssize_t		 n;
	char		 cut[96];

	n = read(sock, buf, sizeof(buf));
	if (n == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		stream_lost(CHILD_IOERR, errno, "read");
	}
	if (n == 0) {
		if (port == PORT_EXEC && !exec_started)
			stream_lost(CHILD_PROTO, 0,
			    "exec connection closed before execstarted");
		if ((port != PORT_EXEC || !exec_started) &&
		    frame_reader_cut(&rd, cut, sizeof(cut)))
			stream_lost(CHILD_PROTO, 0, cut);
		stream_lost(CHILD_EOF, 0, "guest closed the connection");
	}
	switch (port) {
	case PORT_EXEC:
		off = 0;
		if (!exec_started)
			off = stream_frames(buf, n, stream_execstarted);
		/* What follows execstarted in the same read is output. */
		if (exec_started && off < (size_t)n)
			stream_send(IMSG_HOST_EXECOUTPUT, buf + off, n - off);
		break;
	case PORT_AUDIT:
		(void)stream_frames(buf, n, stream_audit);
		if (audited != before)
			stream_send(IMSG_HOST_AUDITED, &audited,
			    sizeof(audited));
		break;
	default:
		(void)stream_frames(buf, n, stream_lifecycle);
		break;
	}
}

/* Feed len bytes to the frame reader; returns how many were used. */
static size_t
stream_frames(const uint8_t *buf, size_t len, frame_fn fn)
{
	const uint8_t	*body;
	size_t		 off, used, blen;
	int		 r;

	for (off = 0; off < len; off += used) {
		r = frame_reader_feed(&rd, buf + off, len - off, &used);
		if (r == FRAME_TOOBIG) {
			log_warnx("stream: guest frame of %zu bytes",
			    frame_reader_declared(&rd));
			stream_lost(CHILD_PROTO, 0, "frame length over 2 MiB, "
			    "framing lost");
		}
		if (r != FRAME_READY && r != FRAME_MORE)
			stream_lost(CHILD_PROTO, 0, "frame reader failed");
		if (r == FRAME_READY) {
			frames_in++;
			body = frame_reader_body(&rd, &blen);
			if (fn(body, blen)) {
				off += used;
				break;
			}
		}
	}
	return (off);
}

/* Input from the guest: untrusted.  The exec connection's first frame. */
static int
stream_execstarted(const uint8_t *body, size_t len)
{
	struct msg	 m;
	struct wire_err	 err;
	uint64_t	 id;

	if (msg_decode(WIRE_G2H, body, len, &m, &err) == -1) {
		log_warnx("exec: first frame dropped: %s at byte %zu: %s",
		    wire_errstr(err.code), err.offset, err.msg);
		stream_lost(CHILD_PROTO, 0, "exec: first frame does not "
		    "decode");
	}
	if (m.type != MSG_EXECSTARTED) {
		log_warnx("exec: first frame is %s, not execstarted",
		    msg_type_name(m.type));
		msg_free(&m);
		stream_lost(CHILD_PROTO, 0, "exec: first frame is not "
		    "execstarted");
	}
	id = m.u.execstarted.id;
	msg_free(&m);
	log_debug("exec: execstarted %llu", (unsigned long long)id);
	exec_started = 1;
	stream_send(IMSG_HOST_EXECSTARTED, &id, sizeof(id));
	return (1);
}

/* Input from the guest: untrusted.  One record, one line, one write. */
static int
stream_audit(const uint8_t *body, size_t len)
{
	struct audit_record	 rec;
	struct wire_err		 err;
	json_t			*j;
	char			*s, *line;
	size_t			 slen;
	ssize_t			 n;

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
stream_lifecycle(const uint8_t *body, size_t len)
{
	struct msg	 m;
	struct wire_err	 err;
	int32_t		 type;

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
	if (child_send(&st, type, -1, data, len) == -1)
		exit(0);
}

static __dead void
stream_lost(int reason, int error, const char *what)
{
	if (reason == CHILD_EOF)
		log_info("stream: %s", what);
	else if (error != 0)
		log_warnx("stream: %s: %s", what, strerror(error));
	else
		log_warnx("stream: %s", what);
	child_done(&st, reason, error, "%s", what);
	exit(0);
}
