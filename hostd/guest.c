/*
 * Everything about the guest that is not the terminal's bytes or one
 * decoder child: the listeners, pairing, the boot sequence, pings, what
 * the control child reports, and how the guest's side of the session
 * ends.  The guest is the untrusted party: this process never parses what
 * it sends (children.c hands every framed connection to a decoder child);
 * host messages are encoded here (encoding is not parsing) and written by
 * the control child.
 *
 * Pairing: the guest connects the terminal, then control, on boot and on
 * every reconnect.  The newest control child to say `ready` is the current
 * one; an older one is closed, and a terminal waiting for it takes over
 * (term.c).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <linux/vm_sockets.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "capsem_imsg.h"
#include "hostd.h"
#include "log.h"

#define NPORTS			6

static const uint32_t	 ports[NPORTS] = {
	PORT_CONTROL, PORT_TERMINAL, PORT_LIFECYCLE, PORT_EXEC, PORT_AUDIT,
	PORT_COPY
};
static int		 lfds[NPORTS] = { -1, -1, -1, -1, -1, -1 };
static struct ev	*levs[NPORTS];

static struct hchild	*ctl;		/* the current control child */
static int		 booted;	/* bootready on ctl */
static uint16_t		 win_cols, win_rows;
static int		 shutdown_wanted;
static struct ev_timer	 ping_timer;
static struct ev_timer	 boot_timer;	/* the first boot's deadline */
static int		 awaiting_pong;
static int		 missed;
static int		 tm_announced;	/* "termmodes" in this bootconfig */

static void	 listener_event(int, short, void *);
static void	 ping_due(void *);
static void	 boot_due(void *);
static void	 guest_ready(struct hchild *, const char *);
static void	 guest_booted(void);
static void	 guest_lost(const char *);
static void	 guest_error(struct hchild *, struct imsg *);
static void	 guest_shellexited(struct hchild *, struct imsg *);
static int	 guest_peer_ok(uint32_t, const struct sockaddr_storage *,
		    socklen_t);
static void	 guest_filecontent(struct hchild *, struct imsg *);
static int	 send_msg(const struct msg *);
static void	 guest_termmodes(uint32_t);

void
guest_init(void)
{
	char	 desc[160];
	int	 i;

	for (i = 0; i < NPORTS; i++) {
		if ((lfds[i] = transport_listen(&conf.transport, ports[i])) ==
		    -1)
			fatal("listen on %s", transport_describe(
			    &conf.transport, ports[i], desc, sizeof(desc)));
		levs[i] = ev_add(lfds[i], POLLIN, listener_event,
		    (void *)(uintptr_t)i);
	}
	log_info("listening on %s (and the other ports)",
	    transport_describe(&conf.transport, PORT_CONTROL, desc,
	    sizeof(desc)));
	ev_timer_init(&ping_timer, ping_due, NULL);
	ev_timer_init(&boot_timer, boot_due, NULL);
	if (conf.boot_secs > 0)
		ev_timer_in(&boot_timer, (int64_t)conf.boot_secs * 1000);
}

/*
 * Waiting for the guest has a deadline: to boot the first time, and for a
 * temporary session to come back after a drop.  A temporary session whose
 * guest is not there by then ends; a persistent one says so in
 * session.json and waits on (its guest may come back to a later hostd).
 */
static void
boot_due(void *arg)
{
	char	 why[96];

	if (sess.exited || (booted && ctl != NULL))
		return;
	snprintf(why, sizeof(why), sess.connections == 0 ?
	    "the guest did not connect within %d s" :
	    "the guest did not come back within %d s", conf.boot_secs);
	if (conf.temp) {
		hostd_fault("%s", why);
		return;
	}
	log_warnx("%s: waiting on", why);
	strlcpy(sess.warning, why, sizeof(sess.warning));
	session_changed();
}

/* 1 once the guest has completed a boot sequence. */
int
guest_booted_once(void)
{
	return (sess.connections > 0);
}

/* No new connection: a socket file left behind would look like a session. */
void
guest_close_listeners(void)
{
	int	 i;

	for (i = 0; i < NPORTS; i++) {
		if (lfds[i] == -1)
			continue;
		ev_del(levs[i]);
		levs[i] = NULL;
		close(lfds[i]);
		lfds[i] = -1;
		transport_unlink(&conf.transport, ports[i]);
	}
}

static void
listener_event(int fd, short revents, void *arg)
{
	int		 i = (int)(uintptr_t)arg, cfd;
	uint32_t	 port = ports[i];

	struct sockaddr_storage	 ss;
	socklen_t		 sslen = sizeof(ss);

	if ((cfd = accept4(fd, (struct sockaddr *)&ss, &sslen,
	    SOCK_CLOEXEC)) == -1) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			log_warn("accept on port %u", port);
		return;
	}
	if (!guest_peer_ok(port, &ss, sslen)) {
		close(cfd);
		return;
	}
	if (sess.exited) {
		log_info("port %u: connection refused, the shell has exited",
		    port);
		close(cfd);
		return;
	}
	if (port == PORT_TERMINAL)
		term_accept(cfd);
	else if (port == PORT_COPY)
		copy_accept(cfd);
	else
		child_start(cfd, port);
}

/*
 * A vsock peer other than the guest's CID is refused before a byte is
 * read: it gets no child, no state change, one (rate-limited) log line.
 */
static int
guest_peer_ok(uint32_t port, const struct sockaddr_storage *ss,
    socklen_t len)
{
	const struct sockaddr_vm	*svm;

	if (conf.transport.kind != TRANSPORT_VSOCK || conf.guest_cid_any)
		return (1);
	svm = (const struct sockaddr_vm *)ss;
	if (ss->ss_family != AF_VSOCK || len < sizeof(*svm)) {
		log_warnx("port %u: connection of address family %d refused",
		    port, ss->ss_family);
		return (0);
	}
	if (svm->svm_cid == conf.guest_cid)
		return (1);
	log_warnx("port %u: connection from vsock cid %u port %u refused: "
	    "the guest is cid %u", port, svm->svm_cid, svm->svm_port,
	    conf.guest_cid);
	return (0);
}

static void
ping_due(void *arg)
{
	struct msg	 m;

	if (ctl == NULL || !booted || sess.exited)
		return;
	if (awaiting_pong && ++missed >= conf.max_missed) {
		log_warnx("guest missed %d pings in a row: declared dead, "
		    "dropping its connections", missed);
		guest_lost("guest not answering");
		return;
	}
	memset(&m, 0, sizeof(m));
	m.type = MSG_PING;
	m.u.ping.epoch_secs = conf.no_clock ? 0 : (uint64_t)time(NULL);
	(void)send_msg(&m);
	awaiting_pong = 1;
	ev_timer_in(&ping_timer, (int64_t)conf.ping_secs * 1000);
}

void
guest_resize(uint16_t cols, uint16_t rows)
{
	struct msg	 m;

	if (cols != win_cols || rows != win_rows)
		ptylog_resize(cols, rows);
	win_cols = cols;
	win_rows = rows;
	if (ctl == NULL || !booted || sess.exited)
		return;
	memset(&m, 0, sizeof(m));
	m.type = MSG_RESIZE;
	m.u.resize.cols = cols;
	m.u.resize.rows = rows;
	(void)send_msg(&m);
}

/*
 * Ask the guest to hang up the shell's session (SIGHUP, then SIGKILL);
 * its exit then ends the session.  -1 if no guest is booted to ask: the
 * request is kept for the next boot.
 */
int
guest_shutdown(void)
{
	struct msg	 m;

	if (sess.exited)
		return (0);
	shutdown_wanted = 1;
	if (ctl == NULL || !booted)
		return (-1);
	memset(&m, 0, sizeof(m));
	m.type = MSG_SHUTDOWN;
	return (send_msg(&m) == -1 ? -1 : 0);
}

/* 1 while a guest is booted on the current control connection. */
int
guest_is_booted(void)
{
	return (ctl != NULL && booted);
}

/* A frame encoded elsewhere (exec.c), for a booted guest only. */
int
guest_send_frame(const void *data, size_t len)
{
	if (ctl == NULL || !booted)
		return (-1);
	return (proc_compose(&ctl->p, IMSG_HOST_SEND, -1, data, len));
}

/* What the control child reports; only the current one is listened to. */
void
guest_ctl_imsg(struct hchild *c, struct imsg *imsg)
{
	struct imsg_host_execdone	 ed;
	uint64_t			 id;
	uint32_t			 caps;
	char				*s;

	if (imsg_get_type(imsg) == IMSG_HOST_GUESTREADY) {
		if ((s = proc_imsg_string(&c->p, imsg, 256)) == NULL)
			return;
		guest_ready(c, s);
		free(s);
		return;
	}
	if (c != ctl) {
		log_debug("message from a replaced control child dropped");
		return;
	}
	switch (imsg_get_type(imsg)) {
	case IMSG_HOST_BOOTREADY:
		guest_booted();
		break;
	case IMSG_HOST_BOOTTIMING:
		if ((s = proc_imsg_string(&c->p, imsg, 4096)) != NULL) {
			log_info("guest boot timing: %s", s);
			free(s);
		}
		break;
	case IMSG_HOST_PONG:
		awaiting_pong = 0;
		missed = 0;
		break;
	case IMSG_HOST_ACK:
		if (proc_imsg_exact(&c->p, imsg, &id, sizeof(id)) == 0)
			exec_acked(id);
		break;
	case IMSG_HOST_EXECDONE:
		if (proc_imsg_exact(&c->p, imsg, &ed, sizeof(ed)) == 0)
			exec_done(ed.id, ed.exit_code);
		break;
	case IMSG_HOST_ERROR:
		guest_error(c, imsg);
		break;
	case IMSG_HOST_FILECONTENT:
		guest_filecontent(c, imsg);
		break;
	case IMSG_HOST_FILEOPDONE:
		if (proc_imsg_exact(&c->p, imsg, &id, sizeof(id)) == 0 &&
		    !copy_done(id))
			log_debug("file operation reply with no requester "
			    "dropped");
		break;
	case IMSG_HOST_SNAPSHOTREADY:
		log_info("guest filesystems frozen for a snapshot");
		break;
	case IMSG_HOST_SHELLEXITED:
		guest_shellexited(c, imsg);
		break;
	case IMSG_HOST_AGENTCAPS:
		if (proc_imsg_exact(&c->p, imsg, &caps, sizeof(caps)) == -1)
			break;
		if (booted || sess.agent_caps_known) {
			log_warnx("guest sent agentcaps %s; dropped",
			    booted ? "after bootready" : "twice");
			break;
		}
		sess.agent_caps = caps;
		sess.agent_caps_known = 1;
		log_info("guest agent supports: %s", cap_string(caps));
		session_changed();
		guest_termmodes(caps);
		break;
	default:
		proc_malformed(&c->p, imsg, "unexpected from control");
		break;
	}
}

/* error{id, message}: a header and a NUL-terminated message. */
static void
guest_error(struct hchild *c, struct imsg *imsg)
{
	struct imsg_host_error	 he;
	size_t			 len = imsg_get_len(imsg);
	char			*s;

	if (len < sizeof(he) + 1 || len > sizeof(he) + 4097) {
		proc_malformed(&c->p, imsg, "error of a bad length");
		return;
	}
	if ((s = calloc(1, len)) == NULL)
		fatal("calloc");
	(void)imsg_get_data(imsg, s, len);
	memcpy(&he, s, sizeof(he));
	s[len - 1] = '\0';
	log_warnx("guest error for request %llu: %s",
	    (unsigned long long)he.id, s + sizeof(he));
	if (!copy_failed(he.id, s + sizeof(he)))
		exec_failed(he.id, s + sizeof(he));
	free(s);
}

/* filecontent: struct imsg_file + path + data, for an upstream copy. */
static void
guest_filecontent(struct hchild *c, struct imsg *imsg)
{
	struct imsg_file f;
	size_t		 len = imsg_get_len(imsg);
	uint8_t		*buf;

	if (len < sizeof(f) || (buf = malloc(len)) == NULL) {
		proc_malformed(&c->p, imsg, "filecontent of a bad length");
		return;
	}
	(void)imsg_get_data(imsg, buf, len);
	memcpy(&f, buf, sizeof(f));
	if (f.pathlen > len - sizeof(f))
		proc_malformed(&c->p, imsg, "filecontent of a bad length");
	else if (!copy_content(f.id, buf + sizeof(f) + f.pathlen,
	    len - sizeof(f) - f.pathlen))
		log_debug("file content with no requester dropped");
	free(buf);
}

static void
guest_shellexited(struct hchild *c, struct imsg *imsg)
{
	struct imsg_host_shellexited	 se;

	if (proc_imsg_exact(&c->p, imsg, &se, sizeof(se)) == -1)
		return;
	if (sess.exited) {
		log_debug("second shellexited ignored");
		return;
	}
	if (se.signal)
		log_info("shell killed by signal %d (exit %d)", se.signal,
		    se.exit_code);
	else
		log_info("shell exited %d", se.exit_code);
	guest_exited(se.exit_code, se.signal);
}

/*
 * The guest's shell is gone (shellexited, or shutdownrequest from an agent
 * that did not see our caps): the one way a session ends from the guest's
 * side.  No new connection is taken; the terminal is read to its end, then
 * the session ends with this status.
 */
void
guest_exited(int code, int sig)
{
	if (sess.exited)
		return;
	sess.exited = 1;
	sess.over = 1;
	sess.exit_code = code;
	sess.exit_signal = sig;
	hostd_state_soon(HS_DRAINING);
	/* A drained terminal ends the session here, EXIT first. */
	term_exited();
	guest_close_listeners();
}

/* The terminal has ended (or the drain gave up): the session is over. */
void
guest_drain_done(const char *why)
{
	if (sess.state != HS_DRAINING)
		return;
	if (why != NULL)
		log_warnx("%s", why);
	term_close_all();
	hostd_end(NULL);
}

/* The control child's channel is gone. */
void
guest_ctl_gone(struct hchild *c)
{
	if (c != ctl)
		return;
	ctl = NULL;
	if (!sess.exited)
		guest_lost(c->reported ? c->why : "control child died");
}

static void
guest_ready(struct hchild *c, const char *version)
{
	struct msg	 m;
	struct wire_str	 caps[CAPB_NAMES_MAX];
	size_t		 i;
	char		*eq;

	if (sess.exited) {
		proc_close(&c->p);
		return;
	}
	if (ctl != NULL && ctl != c) {
		log_info("guest reconnected: replacing the old control "
		    "connection");
		proc_close(&ctl->p);
		copies_lost();
	}
	ctl = c;
	booted = 0;
	term_pair();
	strlcpy(sess.agent_version, version, sizeof(sess.agent_version));
	sess.agent_caps = 0;	/* until this connection's agentcaps */
	sess.agent_caps_known = 0;
	log_info("guest ready (agent %s), booting connection %llu", version,
	    (unsigned long long)sess.connections + 1);

	memset(&m, 0, sizeof(m));
	m.type = MSG_BOOTCONFIG;
	m.u.bootconfig.epoch_secs = conf.no_clock ? 0 :
	    (uint64_t)time(NULL);
	/* termmodes: the first boot of the shell only, when we have them. */
	tm_announced = conf.termmodes_len > 0 && sess.connections == 0;
	m.u.bootconfig.caps = caps;
	m.u.bootconfig.ncaps = cap_names(HOSTD_CAPS |
	    (tm_announced ? CAPB_TERMMODES : 0), caps);
	m.u.bootconfig.has_caps = 1;
	(void)send_msg(&m);
	for (i = 0; i < conf.nenv; i++) {
		eq = strchr(conf.env[i], '=');
		memset(&m, 0, sizeof(m));
		m.type = MSG_SETENV;
		m.u.setenv.key.s = conf.env[i];
		m.u.setenv.key.len = eq - conf.env[i];
		m.u.setenv.value.s = eq + 1;
		m.u.setenv.value.len = strlen(eq + 1);
		(void)send_msg(&m);
	}
	memset(&m, 0, sizeof(m));
	m.type = MSG_BOOTCONFIGDONE;
	(void)send_msg(&m);
}

static void
guest_booted(void)
{
	struct msg	 m;

	if (booted)
		return;
	booted = 1;
	ev_timer_stop(&boot_timer);
	sess.warning[0] = '\0';
	if (sess.connections++ == 0)
		clients_connected();
	awaiting_pong = 0;
	missed = 0;
	ev_timer_in(&ping_timer, (int64_t)conf.ping_secs * 1000);
	log_info("guest booted: connection %llu",
	    (unsigned long long)sess.connections);
	exec_replay();
	if (win_cols != 0)
		guest_resize(win_cols, win_rows);
	if (shutdown_wanted) {
		memset(&m, 0, sizeof(m));
		m.type = MSG_SHUTDOWN;
		(void)send_msg(&m);
	}
	session_changed();
	if (sess.state < HS_DRAINING)
		hostd_state(HS_CONNECTED);
}

/* The guest's connections are gone (or we gave up on them). */
static void
guest_lost(const char *why)
{
	if (ctl != NULL) {
		proc_close(&ctl->p);
		ctl = NULL;
	}
	booted = 0;
	ev_timer_stop(&ping_timer);
	copies_lost();
	if (conf.temp && conf.boot_secs > 0 && !sess.exited)
		ev_timer_in(&boot_timer, (int64_t)conf.boot_secs * 1000);
	term_unpaired();
	if (sess.state < HS_DRAINING) {
		log_warnx("guest disconnected (%s): waiting for it to "
		    "reconnect", why);
		hostd_state(HS_DISCONNECTED);
	}
}

/* The session is over: every child, exec and connection goes. */
void
guest_stop_all(void)
{
	ctl = NULL;
	ev_timer_stop(&ping_timer);
	ev_timer_stop(&boot_timer);
	children_stop_all();
	execs_free();
	copies_free();
	term_close_all();
}

/*
 * The guest's agentcaps: a guest that supports termmodes gets the client's
 * modes if this connection's bootconfig announced them (capsem-protocol(7)
 * "termmodes"), once.
 */
static void
guest_termmodes(uint32_t caps)
{
	struct msg	 m;

	if (!tm_announced)
		return;
	tm_announced = 0;
	if ((caps & CAPB_TERMMODES) == 0) {
		log_info("guest agent does not take termmodes: the shell "
		    "keeps its default terminal modes");
		return;
	}
	memset(&m, 0, sizeof(m));
	m.type = MSG_TERMMODES;
	m.u.termmodes.modes.p = conf.termmodes;
	m.u.termmodes.modes.len = conf.termmodes_len;
	if (send_msg(&m) == 0)
		log_info("sent the client's terminal modes (%zu bytes)",
		    conf.termmodes_len);
}

/* Encode one host message and hand it to the control child. */
static int
send_msg(const struct msg *m)
{
	struct wbuf	 b;
	struct wire_err	 err;
	int		 rc;

	if (ctl == NULL)
		return (-1);
	wbuf_init(&b);
	if (msg_encode(m, &b, &err) == -1) {
		log_warnx("cannot encode %s: %s", msg_type_name(m->type),
		    err.msg);
		wbuf_free(&b);
		return (-1);
	}
	rc = proc_compose(&ctl->p, IMSG_HOST_SEND, -1, b.data, b.len);
	wbuf_free(&b);
	return (rc);
}
