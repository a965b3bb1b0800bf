/*
 * capsem-hostd-control: the only host process that parses what the guest
 * sends on the control connection (port 5000).  It owns that connection
 * (received over imsg after the sandbox is in place), decodes each guest
 * frame strictly and turns it into one typed imsg for capsem-hostd.  It acts
 * on one thing itself: it answers `ackreply` to every ackable guest message
 * before forwarding it, so the guest's retransmit timer never depends on
 * the parent.  Everything the host says is encoded by the parent and
 * written here verbatim (IMSG_HOST_SEND).  It opens nothing and may touch
 * nothing but its two sockets.
 *
 * Input from the guest: untrusted.  A frame that does not decode costs that
 * frame (logged with its number, offset and reason); a length that breaks
 * the framing costs the connection, which the parent then reports.
 */
#include <sys/types.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capsem_imsg.h"
#include "child.h"
#include "ev.h"
#include "frame.h"
#include "log.h"
#include "outbuf.h"
#include "wire.h"

#define OUTBUF_MAX		(8 * 1024 * 1024)
#define TEXT_MAX		4096	/* boottiming text, error message */
/* Stop reading the guest while this many imsgs wait for the parent. */
#define IMSG_QUEUE_MAX		64

static struct child		 ctl;
static int			 sock = -1;
static struct ev		*sock_ev;
static struct frame_reader	 rd;
static struct outbuf		 out;	/* frames for the guest */
static uint64_t			 frames_in;
/*
 * The parent learns of a pong only when it can matter: its ping check
 * wants the first pong after a ping (a frame of its), and the guest's
 * unsolicited pong every 3 s would otherwise wake it every 3 s.
 */
static int			 pong_wanted = 1;

static void	 hctl_imsgs(void);
static void	 hctl_socket(struct imsg *);
static void	 hctl_send(struct imsg *);
static void	 hctl_events(void *);
static void	 hctl_sock_ready(int, short, void *);
static int	 hctl_frame(const uint8_t *, size_t, void *);
static void	 hctl_ackreply(const struct msg *);
static void	 hctl_forward(const struct msg *);
static void	 hctl_forward_text(uint32_t, const struct wire_str *);
static void	 hctl_forward_boottiming(const struct msg *);
static void	 hctl_forward_filecontent(const struct msg *);
static void	 hctl_forward_error(const struct msg *);
static void	 hctl_flush(void);

int
main(int argc, char *argv[])
{
	child_init(&ctl, argc, argv, "control", SANDBOX_HOST_DECODER);
	frame_reader_init(&rd, FRAME_MAX);
	outbuf_init(&out, OUTBUF_MAX);
	child_ev_init(&ctl, hctl_imsgs);
	ev_prepare(hctl_events, NULL);
	ev_run();
}

static void
hctl_imsgs(void)
{
	struct imsg	 imsg;

	while (child_next_imsg(&ctl, &imsg)) {
		switch (imsg_get_type(&imsg)) {
		case IMSG_HOST_SOCKET:
			hctl_socket(&imsg);
			break;
		case IMSG_HOST_SEND:
			hctl_send(&imsg);
			break;
		case IMSG_CHILD_STOP:
			imsg_free(&imsg);
			if (sock != -1)
				hctl_flush();
			child_done(&ctl, CHILD_STOPPED, 0, "stopped");
			exit(0);
		default:
			log_warnx("control: unexpected imsg %u",
			    imsg_get_type(&imsg));
			break;
		}
		imsg_free(&imsg);
	}
	if (sock != -1 && outbuf_pending(&out) > 0)
		hctl_flush();
}

static void
hctl_socket(struct imsg *imsg)
{
	uint32_t	 port = 0;
	int		 fd;

	if ((fd = imsg_get_fd(imsg)) == -1)
		fatalx("control: IMSG_HOST_SOCKET without an fd");
	if (sock != -1) {
		log_warnx("control: second connection refused");
		close(fd);
		return;
	}
	if (imsg_get_data(imsg, &port, sizeof(port)) == -1 ||
	    port != PORT_CONTROL)
		log_warnx("control: connection for port %u", port);
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1)
		fatal("control: fcntl");
	sock = fd;
	sock_ev = ev_add(sock, 0, hctl_sock_ready, NULL);
}

/* One whole frame, encoded by the parent: appended verbatim. */
static void
hctl_send(struct imsg *imsg)
{
	size_t	 len;
	void	*p;

	len = imsg_get_len(imsg);
	if (len < FRAME_HDRLEN || len > FRAME_HDRLEN + FRAME_MAX)
		fatalx("control: IMSG_HOST_SEND of %zu bytes", len);
	if ((p = outbuf_reserve(&out, len)) == NULL) {
		imsg_free(imsg);
		child_lost(&ctl, CHILD_IOERR, errno,
		    "guest is not reading (output buffer full)");
	}
	if (imsg_get_data(imsg, p, len) == -1)
		fatal("control: imsg_get_data");
	outbuf_commit(&out, len);
	pong_wanted = 1;
}

/*
 * Before every poll: the guest is not read while the parent is behind (so
 * a fast guest cannot queue imsgs without bound), and written to while
 * frames wait.
 */
static void
hctl_events(void *arg)
{
	short	 events = 0;

	if (imsgbuf_queuelen(&ctl.ibuf) < IMSG_QUEUE_MAX)
		events |= POLLIN;
	if (outbuf_pending(&out) > 0)
		events |= POLLOUT;
	ev_set(sock_ev, events);
}

static void
hctl_sock_ready(int fd, short revents, void *arg)
{
	if (revents & (POLLIN | POLLHUP | POLLERR))
		child_frames_read(&ctl, sock, &rd, hctl_frame, NULL,
		    "guest closed the control connection");
	if (revents & POLLOUT)
		hctl_flush();
}

/* Input from the guest: untrusted.  One frame, decoded, acked, forwarded. */
static int
hctl_frame(const uint8_t *body, size_t len, void *arg)
{
	struct msg	 m;
	struct wire_err	 err;

	frames_in++;
	if (msg_decode(WIRE_G2H, body, len, &m, &err) == -1) {
		log_warnx("control: guest frame %llu dropped: %s at byte %zu: "
		    "%s", (unsigned long long)frames_in,
		    wire_errstr(err.code), err.offset, err.msg);
		return (0);
	}
	log_debug("control: guest sent %s", msg_type_name(m.type));
	if (msg_is_ackable(m.type))
		hctl_ackreply(&m);
	hctl_forward(&m);
	msg_free(&m);
	return (0);
}

/* The ackreply goes out (or is queued ahead of anything else) first. */
static void
hctl_ackreply(const struct msg *m)
{
	struct msg	 reply;
	struct wire_err	 err;

	memset(&reply, 0, sizeof(reply));
	reply.type = MSG_ACKREPLY;
	reply.u.ackreply.id = msg_ack_id(m);
	if (outbuf_pending(&out) > OUTBUF_MAX)
		child_lost(&ctl, CHILD_IOERR, 0,
		    "guest is not reading (output buffer full)");
	if (msg_encode(&reply, outbuf_wbuf(&out), &err) == -1) {
		log_warnx("control: cannot encode ackreply: %s", err.msg);
		return;
	}
	if (sock != -1)
		hctl_flush();
}

static void
hctl_forward(const struct msg *m)
{
	struct imsg_host_execdone	 ed;
	struct imsg_host_shellexited	 se;
	uint32_t			 caps;

	switch (m->type) {
	case MSG_READY:
		hctl_forward_text(IMSG_HOST_GUESTREADY, &m->u.ready.version);
		break;
	case MSG_BOOTREADY:
		imsg_compose(&ctl.ibuf, IMSG_HOST_BOOTREADY, 0, 0, -1, NULL, 0);
		break;
	case MSG_BOOTTIMING:
		hctl_forward_boottiming(m);
		break;
	case MSG_PONG:
		if (pong_wanted)
			imsg_compose(&ctl.ibuf, IMSG_HOST_PONG, 0, 0, -1,
			    NULL, 0);
		pong_wanted = 0;
		break;
	case MSG_ACK:
		imsg_compose(&ctl.ibuf, IMSG_HOST_ACK, 0, 0, -1,
		    &m->u.ack.id, sizeof(m->u.ack.id));
		break;
	case MSG_EXECDONE:
		memset(&ed, 0, sizeof(ed));
		ed.id = m->u.execdone.id;
		ed.exit_code = m->u.execdone.exit_code;
		imsg_compose(&ctl.ibuf, IMSG_HOST_EXECDONE, 0, 0, -1, &ed,
		    sizeof(ed));
		break;
	case MSG_FILECONTENT:
		hctl_forward_filecontent(m);
		break;
	case MSG_FILEOPDONE:
		imsg_compose(&ctl.ibuf, IMSG_HOST_FILEOPDONE, 0, 0, -1,
		    &m->u.fileopdone.id, sizeof(m->u.fileopdone.id));
		break;
	case MSG_ERROR:
		hctl_forward_error(m);
		break;
	case MSG_SNAPSHOTREADY:
		imsg_compose(&ctl.ibuf, IMSG_HOST_SNAPSHOTREADY, 0, 0, -1,
		    NULL, 0);
		break;
	case MSG_SHELLEXITED:
		se.exit_code = m->u.shellexited.exit_code;
		se.signal = m->u.shellexited.has_signal ?
		    m->u.shellexited.signal : 0;
		imsg_compose(&ctl.ibuf, IMSG_HOST_SHELLEXITED, 0, 0, -1, &se,
		    sizeof(se));
		break;
	case MSG_AGENTCAPS:
		caps = cap_mask(m->u.agentcaps.caps, m->u.agentcaps.ncaps);
		imsg_compose(&ctl.ibuf, IMSG_HOST_AGENTCAPS, 0, 0, -1, &caps,
		    sizeof(caps));
		break;
	case MSG_FILECREATED:
	case MSG_FILEMODIFIED:
	case MSG_FILEDELETED:
		log_debug("control: %s dropped", msg_type_name(m->type));
		break;
	case MSG_EXECSTARTED:
	case MSG_EXECOUTPUT:
	case MSG_EXECINWINDOW:
		log_warnx("control: %s is only valid on port %d; dropped",
		    msg_type_name(m->type), PORT_EXEC);
		break;
	case MSG_COPYSTARTED:
		log_warnx("control: copystarted is only valid on port %d; "
		    "dropped", PORT_COPY);
		break;
	case MSG_SHUTDOWNREQUEST:
	case MSG_SUSPENDREQUEST:
		log_warnx("control: %s is only valid on port %d; dropped",
		    msg_type_name(m->type), PORT_LIFECYCLE);
		break;
	default:
		log_warnx("control: guest sent %s; dropped",
		    msg_type_name(m->type));
		break;
	}
}

/*
 * A string for the parent, cut at its first NUL (the wire allows NUL in a
 * str; the parent wants a C string) and at TEXT_MAX bytes.
 */
static void
hctl_forward_text(uint32_t type, const struct wire_str *s)
{
	char	 text[TEXT_MAX];

	strlcpy(text, s->s != NULL ? s->s : "", sizeof(text));
	imsg_compose(&ctl.ibuf, type, 0, 0, -1, text, strlen(text) + 1);
}

/* "name=ms name=ms ...", whole entries only, at most TEXT_MAX bytes. */
static void
hctl_forward_boottiming(const struct msg *m)
{
	char		 text[TEXT_MAX];
	size_t		 i, len = 0;
	int		 n;

	text[0] = '\0';
	for (i = 0; i < m->u.boottiming.nstages; i++) {
		n = snprintf(text + len, sizeof(text) - len, "%s%s=%llu",
		    len > 0 ? " " : "", m->u.boottiming.stages[i].name.s,
		    (unsigned long long)m->u.boottiming.stages[i].duration_ms);
		if (n < 0 || (size_t)n >= sizeof(text) - len) {
			text[len] = '\0';
			log_warnx("control: boottiming cut after %zu of %zu "
			    "stages", i, m->u.boottiming.nstages);
			break;
		}
		len += n;
	}
	imsg_compose(&ctl.ibuf, IMSG_HOST_BOOTTIMING, 0, 0, -1, text,
	    len + 1);
}

static void
hctl_forward_filecontent(const struct msg *m)
{
	struct imsg_file	 f;
	struct iovec		 iov[3];

	memset(&f, 0, sizeof(f));
	f.id = m->u.filecontent.id;
	f.pathlen = m->u.filecontent.path.len;
	iov[0].iov_base = &f;
	iov[0].iov_len = sizeof(f);
	iov[1].iov_base = m->u.filecontent.path.s;
	iov[1].iov_len = m->u.filecontent.path.len;
	iov[2].iov_base = m->u.filecontent.data.p;
	iov[2].iov_len = m->u.filecontent.data.len;
	if (imsg_composev(&ctl.ibuf, IMSG_HOST_FILECONTENT, 0, 0, -1, iov,
	    3) == -1)
		log_warn("control: filecontent %llu not forwarded",
		    (unsigned long long)f.id);
}

static void
hctl_forward_error(const struct msg *m)
{
	struct imsg_host_error	 e;
	struct iovec		 iov[2];
	char			 text[TEXT_MAX];

	e.id = m->u.error.id;
	strlcpy(text, m->u.error.message.s != NULL ? m->u.error.message.s :
	    "", sizeof(text));
	iov[0].iov_base = &e;
	iov[0].iov_len = sizeof(e);
	iov[1].iov_base = text;
	iov[1].iov_len = strlen(text) + 1;
	imsg_composev(&ctl.ibuf, IMSG_HOST_ERROR, 0, 0, -1, iov, 2);
}

static void
hctl_flush(void)
{
	if (outbuf_flush(&out, sock) == -1)
		child_lost(&ctl, CHILD_IOERR, errno, "write");
}
