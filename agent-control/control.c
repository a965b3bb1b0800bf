/*
 * capsem-agent-control: the only guest process that parses what the host
 * sends on the control channel.  It owns the control socket (received over
 * imsg after the sandbox is in place), decodes each host frame strictly and
 * turns it into one typed imsg for the parent.  It acts on nothing itself
 * but two things that need no privilege: it answers `ack` to an ackable
 * message before forwarding it (but exec and execio, which the parent acks
 * once it holds them, so that a connection lost in between does not lose
 * the request), and answers `ping` with `pong` (plus an unsolicited pong
 * every 3 s).  Everything else the guest says is encoded by
 * the parent and written here verbatim (IMSG_CTL_SEND).
 *
 * Input from the host: untrusted.  A frame that does not decode costs that
 * frame (logged with its offset and reason); a length that breaks the
 * framing costs the connection, which the parent then re-establishes.  A
 * connection that ends inside a frame is reported as a frame cut short.
 */
#include <sys/types.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capsem_imsg.h"
#include "child.h"
#include "ev.h"
#include "frame.h"
#include "log.h"
#include "outbuf.h"
#include "termmodes.h"
#include "wire.h"

#define PONG_INTERVAL_MS	3000
#define OUTBUF_MAX		(8 * 1024 * 1024)

static struct child		 ctl;
static int			 sock = -1;
static struct ev		*sock_ev;
static struct frame_reader	 rd;
static struct outbuf		 out;		/* frames for the host */
static int			 sent_pending;	/* report IMSG_CTL_SENT */
static int			 boot_done;	/* bootconfigdone seen */
static struct ev_timer		 pong_timer;
static uint64_t			 frames_in;

static void	 ctl_imsgs(void);
static void	 ctl_socket(struct imsg *);
static void	 ctl_events(void *);
static void	 ctl_sock_ready(int, short, void *);
static void	 ctl_pong(void *);
static void	 ctl_flush(void);
static int	 ctl_frame(const uint8_t *, size_t, void *);
static void	 ctl_forward(const struct msg *);
static void	 ctl_forward_copy(const struct msg *);
static void	 ctl_forward_file(uint32_t, const struct msg *);
static void	 ctl_forward_termmodes(const struct msg *);
static void	 ctl_forward_execio(const struct msg *);
static void	 ctl_queue(const struct msg *);

int
main(int argc, char *argv[])
{
	child_init(&ctl, argc, argv, "control", SANDBOX_CONTROL);
	frame_reader_init(&rd, FRAME_MAX);
	outbuf_init(&out, OUTBUF_MAX);
	child_ev_init(&ctl, ctl_imsgs);
	ev_timer_init(&pong_timer, ctl_pong, NULL);
	ev_prepare(ctl_events, NULL);
	ev_run();
}

static void
ctl_imsgs(void)
{
	struct imsg	 imsg;
	size_t		 len;
	void		*p;

	while (child_next_imsg(&ctl, &imsg)) {
		switch (imsg_get_type(&imsg)) {
		case IMSG_CTL_SOCKET:
			ctl_socket(&imsg);
			break;
		case IMSG_CTL_SEND:
			/* One whole frame, encoded by the parent. */
			len = imsg_get_len(&imsg);
			if (len < FRAME_HDRLEN ||
			    len > FRAME_HDRLEN + FRAME_MAX)
				fatalx("control: IMSG_CTL_SEND of %zu bytes",
				    len);
			if ((p = outbuf_reserve(&out, len)) == NULL) {
				imsg_free(&imsg);
				child_lost(&ctl, CHILD_IOERR, errno, "host is "
				    "not reading (output buffer full)");
			}
			if (imsg_get_data(&imsg, p, len) == -1)
				fatal("control: imsg_get_data");
			outbuf_commit(&out, len);
			sent_pending = 1;
			break;
		case IMSG_CHILD_STOP:
			imsg_free(&imsg);
			if (sock != -1)
				ctl_flush();
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
		ctl_flush();
}

/* The control socket: from now on a pong every PONG_INTERVAL_MS. */
static void
ctl_socket(struct imsg *imsg)
{
	if ((sock = imsg_get_fd(imsg)) == -1)
		fatalx("control: IMSG_CTL_SOCKET without an fd");
	if (fcntl(sock, F_SETFL, fcntl(sock, F_GETFL) | O_NONBLOCK) == -1)
		fatal("control: fcntl");
	ev_del(sock_ev);
	sock_ev = ev_add(sock, POLLIN, ctl_sock_ready, NULL);
	ev_timer_in(&pong_timer, PONG_INTERVAL_MS);
}

/* Before every poll: the socket is written to while frames wait. */
static void
ctl_events(void *arg)
{
	ev_set(sock_ev, POLLIN | (outbuf_pending(&out) > 0 ? POLLOUT : 0));
}

static void
ctl_sock_ready(int fd, short revents, void *arg)
{
	if (revents & (POLLIN | POLLHUP | POLLERR))
		child_frames_read(&ctl, sock, &rd, ctl_frame, NULL,
		    "peer closed the control connection");
	if (revents & POLLOUT)
		ctl_flush();
}

/* Unsolicited, while the socket is there: the host sees we are alive. */
static void
ctl_pong(void *arg)
{
	struct msg	 pong = { .type = MSG_PONG };

	ev_timer_in(&pong_timer, PONG_INTERVAL_MS);
	ctl_queue(&pong);
}

/* Input from the host: untrusted.  One frame, decoded, acked, forwarded. */
static int
ctl_frame(const uint8_t *body, size_t len, void *arg)
{
	struct msg	 m, reply;
	struct wire_err	 err;

	frames_in++;
	if (msg_decode(WIRE_H2G, body, len, &m, &err) == -1) {
		log_warnx("control: host frame %llu dropped: %s at byte %zu: "
		    "%s", (unsigned long long)frames_in,
		    wire_errstr(err.code), err.offset, err.msg);
		return (0);
	}
	log_debug("control: host sent %s", msg_type_name(m.type));
	if (msg_is_ackable(m.type) && m.type != MSG_EXEC &&
	    m.type != MSG_EXECIO &&
	    !(m.type == MSG_FILEWRITE && m.u.filewrite.id == 0 && !boot_done)) {
		memset(&reply, 0, sizeof(reply));
		reply.type = MSG_ACK;
		reply.u.ack.id = msg_ack_id(&m);
		ctl_queue(&reply);
	}
	if (m.type == MSG_PING) {
		memset(&reply, 0, sizeof(reply));
		reply.type = MSG_PONG;
		ctl_queue(&reply);
		/* That was this period's pong: the next is due 3 s on. */
		ev_timer_in(&pong_timer, PONG_INTERVAL_MS);
	}
	ctl_forward(&m);
	msg_free(&m);
	return (0);
}

static void
ctl_forward(const struct msg *m)
{
	struct imsg_bootconfig	 bc;
	struct imsg_resize	 rs;
	struct imsg_exec	 ex;
	struct iovec		 iov[4];
	uint8_t			 nul = 0;

	switch (m->type) {
	case MSG_BOOTCONFIG:
		memset(&bc, 0, sizeof(bc));
		bc.epoch_secs = m->u.bootconfig.epoch_secs;
		bc.caps = cap_mask(m->u.bootconfig.caps,
		    m->u.bootconfig.ncaps);
		boot_done = 0;
		imsg_compose(&ctl.ibuf, IMSG_CTL_BOOTCONFIG, 0, 0, -1, &bc,
		    sizeof(bc));
		break;
	case MSG_SETENV:
		if (memchr(m->u.setenv.key.s, '\0', m->u.setenv.key.len) ||
		    memchr(m->u.setenv.value.s, '\0', m->u.setenv.value.len)) {
			log_warnx("control: setenv with a NUL byte dropped");
			break;
		}
		iov[0].iov_base = m->u.setenv.key.s;
		iov[0].iov_len = m->u.setenv.key.len;
		iov[1].iov_base = &nul;
		iov[1].iov_len = 1;
		iov[2].iov_base = m->u.setenv.value.s;
		iov[2].iov_len = m->u.setenv.value.len;
		iov[3].iov_base = &nul;
		iov[3].iov_len = 1;
		imsg_composev(&ctl.ibuf, IMSG_CTL_SETENV, 0, 0, -1, iov, 4);
		break;
	case MSG_BOOTCONFIGDONE:
		boot_done = 1;
		imsg_compose(&ctl.ibuf, IMSG_CTL_BOOTDONE, 0, 0, -1, NULL, 0);
		break;
	case MSG_RESIZE:
		rs.cols = m->u.resize.cols;
		rs.rows = m->u.resize.rows;
		imsg_compose(&ctl.ibuf, IMSG_CTL_RESIZE, 0, 0, -1, &rs,
		    sizeof(rs));
		break;
	case MSG_EXEC:
		ex.id = m->u.exec.id;
		iov[0].iov_base = &ex;
		iov[0].iov_len = sizeof(ex);
		iov[1].iov_base = m->u.exec.command.s;
		iov[1].iov_len = m->u.exec.command.len;
		imsg_composev(&ctl.ibuf, IMSG_CTL_EXEC, 0, 0, -1, iov, 2);
		break;
	case MSG_EXECIO:
		ctl_forward_execio(m);
		break;
	case MSG_EXECINPUT:
	case MSG_EXECINPUTEND:
	case MSG_EXECSIGNAL:
	case MSG_EXECRESIZE:
	case MSG_EXECOUTWINDOW:
		log_warnx("control: %s is only valid on port %d; dropped",
		    msg_type_name(m->type), PORT_EXEC);
		break;
	case MSG_PING:
		/* No clock in it (-C on the host): nothing for the parent. */
		if (m->u.ping.epoch_secs > 0)
			imsg_compose(&ctl.ibuf, IMSG_CTL_PING, 0, 0, -1,
			    &m->u.ping.epoch_secs,
			    sizeof(m->u.ping.epoch_secs));
		break;
	case MSG_ACKREPLY:
		imsg_compose(&ctl.ibuf, IMSG_CTL_ACKREPLY, 0, 0, -1,
		    &m->u.ackreply.id, sizeof(m->u.ackreply.id));
		break;
	case MSG_FILEWRITE:
		ctl_forward_file(m->u.filewrite.id == 0 && !boot_done ?
		    IMSG_CTL_BOOTFILE : IMSG_CTL_FILEWRITE, m);
		break;
	case MSG_FILEREAD:
		ctl_forward_file(IMSG_CTL_FILEREAD, m);
		break;
	case MSG_FILEDELETE:
		ctl_forward_file(IMSG_CTL_FILEDELETE, m);
		break;
	case MSG_COPYIN:
	case MSG_COPYOUT:
		ctl_forward_copy(m);
		break;
	case MSG_SHUTDOWN:
		imsg_compose(&ctl.ibuf, IMSG_CTL_SHUTDOWN, 0, 0, -1, NULL, 0);
		break;
	case MSG_PREPARESNAPSHOT:
		imsg_compose(&ctl.ibuf, IMSG_CTL_SNAPSHOT, 0, 0, -1, NULL, 0);
		break;
	case MSG_UNFREEZE:
		imsg_compose(&ctl.ibuf, IMSG_CTL_UNFREEZE, 0, 0, -1, NULL, 0);
		break;
	case MSG_TERMMODES:
		ctl_forward_termmodes(m);
		break;
	default:
		log_warnx("control: host sent %s, which only a guest sends; "
		    "dropped", msg_type_name(m->type));
		break;
	}
}

/* termmodes (capsem-protocol(7)): only what termmodes_parse accepts. */
static void
ctl_forward_termmodes(const struct msg *m)
{
	struct termmodes	 tm;
	char			 why[128];

	if (termmodes_parse(m->u.termmodes.modes.p, m->u.termmodes.modes.len,
	    &tm, why, sizeof(why)) == -1) {
		log_warnx("control: termmodes dropped: %s", why);
		return;
	}
	imsg_compose(&ctl.ibuf, IMSG_CTL_TERMMODES, 0, 0, -1,
	    m->u.termmodes.modes.p, m->u.termmodes.modes.len);
}

static void
ctl_forward_file(uint32_t type, const struct msg *m)
{
	struct imsg_file	 f;
	struct iovec		 iov[3];
	const struct wire_str	*path;
	int			 iovcnt = 2;

	memset(&f, 0, sizeof(f));
	if (type == IMSG_CTL_FILEREAD) {
		f.id = m->u.fileread.id;
		path = &m->u.fileread.path;
	} else if (type == IMSG_CTL_FILEDELETE) {
		f.id = m->u.filedelete.id;
		path = &m->u.filedelete.path;
	} else {
		f.id = m->u.filewrite.id;
		f.mode = m->u.filewrite.mode;
		path = &m->u.filewrite.path;
		iov[2].iov_base = m->u.filewrite.data.p;
		iov[2].iov_len = m->u.filewrite.data.len;
		iovcnt = 3;
	}
	f.pathlen = path->len;
	iov[0].iov_base = &f;
	iov[0].iov_len = sizeof(f);
	iov[1].iov_base = path->s;
	iov[1].iov_len = path->len;
	if (imsg_composev(&ctl.ibuf, type, 0, 0, -1, iov, iovcnt) == -1)
		log_warn("control: file request %llu not forwarded",
		    (unsigned long long)f.id);
}

/* Extension "copy": the request, its path after the fixed part. */
static void
ctl_forward_copy(const struct msg *m)
{
	struct imsg_copy	 c;
	struct iovec		 iov[2];
	const struct wire_str	*path;

	memset(&c, 0, sizeof(c));
	if (m->type == MSG_COPYIN) {
		c.id = m->u.copyin.id;
		c.size = m->u.copyin.size;
		c.mode = m->u.copyin.mode;
		if (m->u.copyin.has_mtime) {
			c.flags = COPY_MTIME;
			c.mtime_ns = m->u.copyin.mtime_ns;
		}
		path = &m->u.copyin.path;
	} else {
		c.id = m->u.copyout.id;
		path = &m->u.copyout.path;
	}
	c.pathlen = path->len;
	iov[0].iov_base = &c;
	iov[0].iov_len = sizeof(c);
	iov[1].iov_base = path->s;
	iov[1].iov_len = path->len;
	if (imsg_composev(&ctl.ibuf, m->type == MSG_COPYIN ? IMSG_CTL_COPYIN :
	    IMSG_CTL_COPYOUT, 0, 0, -1, iov, 2) == -1)
		log_warn("control: copy request %llu not forwarded",
		    (unsigned long long)c.id);
}

/* execio: the fixed part, command, cwd, then each env entry's length and
 * bytes (the parent checks them). */
static void
ctl_forward_execio(const struct msg *m)
{
	struct imsg_execio	 x;
	struct ibuf		*b;
	uint32_t		 len;
	size_t			 i, total;

	memset(&x, 0, sizeof(x));
	x.id = m->u.execio.id;
	x.timeout = m->u.execio.timeout;
	x.cols = m->u.execio.cols;
	x.rows = m->u.execio.rows;
	x.cmdlen = m->u.execio.command.len;
	x.cwdlen = m->u.execio.cwd.len;
	x.nenv = m->u.execio.nenv;
	if (m->u.execio.nenv > EXECIO_ENV_MAX) {
		log_warnx("control: execio %llu with %zu env entries (at most "
		    "%d) dropped", (unsigned long long)x.id, m->u.execio.nenv,
		    EXECIO_ENV_MAX);
		return;
	}
	total = sizeof(x) + x.cmdlen + x.cwdlen;
	for (i = 0; i < m->u.execio.nenv; i++)
		total += sizeof(len) + m->u.execio.env[i].len;
	if ((b = imsg_create(&ctl.ibuf, IMSG_CTL_EXECIO, 0, 0, total)) ==
	    NULL) {
		log_warn("control: execio %llu not forwarded",
		    (unsigned long long)x.id);
		return;
	}
	/* imsg_add frees b when it fails. */
	if (imsg_add(b, &x, sizeof(x)) == -1 ||
	    imsg_add(b, m->u.execio.command.s, x.cmdlen) == -1 ||
	    imsg_add(b, m->u.execio.cwd.s, x.cwdlen) == -1)
		goto fail;
	for (i = 0; i < m->u.execio.nenv; i++) {
		len = m->u.execio.env[i].len;
		if (imsg_add(b, &len, sizeof(len)) == -1 ||
		    imsg_add(b, m->u.execio.env[i].s, len) == -1)
			goto fail;
	}
	imsg_close(&ctl.ibuf, b);
	return;
 fail:
	log_warn("control: execio %llu not forwarded",
	    (unsigned long long)x.id);
}

/* Encode a message this child sends on its own (ack, pong). */
static void
ctl_queue(const struct msg *m)
{
	struct wire_err	 err;

	if (msg_encode(m, outbuf_wbuf(&out), &err) == -1) {
		log_warnx("control: cannot encode %s: %s",
		    msg_type_name(m->type), err.msg);
		return;
	}
	if (sock != -1)
		ctl_flush();
}

static void
ctl_flush(void)
{
	switch (outbuf_flush(&out, sock)) {
	case -1:
		child_lost(&ctl, CHILD_IOERR, errno, "write");
	case 1:
		return;
	}
	if (sent_pending) {
		sent_pending = 0;
		imsg_compose(&ctl.ibuf, IMSG_CTL_SENT, 0, 0, -1, NULL, 0);
	}
}
