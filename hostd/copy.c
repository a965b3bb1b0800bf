/*
 * File copies for attach clients (capsem-shell cp), one at a time per
 * client.  With a guest that announced "copy" (capsem-protocol(7)), the
 * request goes out as copyin or copyout and the bytes never pass through
 * this process: the guest opens a copy connection, a stream child decodes
 * its copystarted (we keep a duplicate of the connection meanwhile, and the
 * child reads not one byte past that frame), and the duplicate is passed
 * to the client, which reads or writes the file's bytes on it directly.
 * The guest's fileopdone or error on control ends the copy.
 *
 * With an upstream agent (no "copy"), small files go through the upstream
 * filewrite and fileread, their bytes relayed in ATTACH_CHUNK pieces and
 * held here, at most ATTACH_COPY_SMALL per copy; larger ones and
 * directories are refused with "the guest agent does not support large
 * copies".
 *
 * A copy belongs to the control connection its request went out on: when
 * the guest's connections drop, every copy in flight fails at once (the
 * guest abandons its side too and its late answer is ignored), and a
 * client that goes takes its copy with it.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capsem_imsg.h"
#include "hostd.h"
#include "log.h"

#define COPIES_MAX		16
#define COPY_ID_BASE		(1ULL << 62)	/* apart from exec ids */
#define COPY_START_MS		30000	/* request to copy connection */

struct hcopy {
	TAILQ_ENTRY(hcopy)	 entry;
	uint64_t		 id;
	uint32_t		 client;
	uint32_t		 dir;		/* ATTACH_COPY_IN or _OUT */
	uint64_t		 size;
	uint32_t		 mode;
	int			 has_mtime;	/* copytimes: mtime_ns is sent */
	int64_t			 mtime_ns;
	int			 upstream;	/* filewrite/fileread */
	int			 sent;		/* the request is out */
	int			 streamed;	/* its connection passed on */
	int			 done_early;	/* fileopdone before the stream */
	char			*path;
	struct ev_timer		 start;		/* the guest must connect */
	uint8_t			*data;		/* upstream copy in: size */
	size_t			 datalen;
};

static TAILQ_HEAD(, hcopy) copies = TAILQ_HEAD_INITIALIZER(copies);
static size_t		 ncopies;
static uint64_t		 next_copy_id;

static struct hcopy	*copy_find(uint64_t);
static struct hcopy	*copy_of_client(uint32_t);
static int		 copy_send_request(struct hcopy *);
static void		 copy_end(struct hcopy *, const char *);
static void		 copy_gone(uint64_t);
static void		 copy_start_due(void *);

void
copies_init(void)
{
	next_copy_id = COPY_ID_BASE + (uint64_t)now_us_real();
}

static struct hcopy *
copy_find(uint64_t id)
{
	struct hcopy	*x;

	TAILQ_FOREACH(x, &copies, entry)
		if (x->id == id)
			return (x);
	return (NULL);
}

static struct hcopy *
copy_of_client(uint32_t client)
{
	struct hcopy	*x;

	TAILQ_FOREACH(x, &copies, entry)
		if (x->client == client)
			return (x);
	return (NULL);
}

/*
 * A client's COPY: -1 with why when it cannot even start.  path is the
 * client's (checked for length and NUL by the caller); the guest confines
 * it.
 */
int
copy_request(uint32_t client, const struct attach_copy *ac, const char *path,
    const char **why)
{
	struct attach_copystream cs;
	struct hcopy	*x;
	int		 ext = (sess.agent_caps & CAPB_COPY) != 0;

	if (sess.exited) {
		*why = "the session has ended";
		return (-1);
	}
	if (copy_of_client(client) != NULL) {
		*why = "a copy is already in progress";
		return (-1);
	}
	if (ncopies >= COPIES_MAX) {
		*why = "too many copies in progress";
		return (-1);
	}
	if (!guest_booted_once() || sess.state != HS_CONNECTED) {
		*why = "the guest is not connected";
		return (-1);
	}
	if (!ext && ((ac->mode & COPY_MODE_DIR) ||
	    (ac->dir == ATTACH_COPY_IN && ac->size > ATTACH_COPY_SMALL))) {
		*why = "the guest agent does not support large copies";
		return (-1);
	}
	if ((x = calloc(1, sizeof(*x))) == NULL ||
	    (x->path = strdup(path)) == NULL)
		fatal("calloc");
	x->id = ++next_copy_id;
	ev_timer_init(&x->start, copy_start_due, x);
	x->client = client;
	x->dir = ac->dir;
	x->size = ac->size;
	x->mode = ac->mode;
	/* A time for what is copied in, to a guest that keeps it. */
	x->has_mtime = (ac->flags & COPY_MTIME) && ac->dir == ATTACH_COPY_IN &&
	    (sess.agent_caps & CAPB_COPYTIMES) != 0;
	x->mtime_ns = ac->mtime_ns;
	x->upstream = !ext;
	if (x->upstream && x->dir == ATTACH_COPY_IN &&
	    (x->data = malloc(x->size > 0 ? x->size : 1)) == NULL)
		fatal("copy: malloc");
	TAILQ_INSERT_TAIL(&copies, x, entry);
	ncopies++;
	if (!x->upstream && !(x->dir == ATTACH_COPY_IN &&
	    (x->mode & COPY_MODE_DIR)))
		ev_timer_in(&x->start, COPY_START_MS);
	log_info("copy %llu for client %u: %s %s (%llu bytes)%s",
	    (unsigned long long)x->id, client, x->dir == ATTACH_COPY_IN ?
	    "in to" : "out of", path, (unsigned long long)x->size,
	    x->upstream ? ", upstream file operations" : "");
	/* An upstream copy in is sent once all of its bytes are here. */
	if (x->upstream && x->dir == ATTACH_COPY_IN) {
		memset(&cs, 0, sizeof(cs));
		cs.size = x->size;
		(void)client_copy_send(client, IMSG_ATTACH_COPYSTREAM, -1, &cs,
		    sizeof(cs));
		return (0);
	}
	if (copy_send_request(x) == -1) {
		*why = "the request cannot be sent (not UTF-8, or too long)";
		ev_timer_stop(&x->start);
		TAILQ_REMOVE(&copies, x, entry);
		ncopies--;
		free(x->data);
		free(x->path);
		free(x);
		return (-1);
	}
	return (0);
}

/* Encode the request (encoding is not parsing) for the control child. */
static int
copy_send_request(struct hcopy *x)
{
	struct msg	 m;
	struct wbuf	 b;
	struct wire_err	 err;
	int		 rc;

	memset(&m, 0, sizeof(m));
	if (x->upstream && x->dir == ATTACH_COPY_IN) {
		m.type = MSG_FILEWRITE;
		m.u.filewrite.id = x->id;
		m.u.filewrite.path.s = x->path;
		m.u.filewrite.path.len = strlen(x->path);
		m.u.filewrite.data.p = x->data;
		m.u.filewrite.data.len = x->datalen;
		m.u.filewrite.mode = x->mode & 01777;
	} else if (x->upstream) {
		m.type = MSG_FILEREAD;
		m.u.fileread.id = x->id;
		m.u.fileread.path.s = x->path;
		m.u.fileread.path.len = strlen(x->path);
	} else if (x->dir == ATTACH_COPY_IN) {
		m.type = MSG_COPYIN;
		m.u.copyin.id = x->id;
		m.u.copyin.path.s = x->path;
		m.u.copyin.path.len = strlen(x->path);
		m.u.copyin.size = x->size;
		m.u.copyin.mode = x->mode;
		m.u.copyin.has_mtime = x->has_mtime;
		m.u.copyin.mtime_ns = x->mtime_ns;
	} else {
		m.type = MSG_COPYOUT;
		m.u.copyout.id = x->id;
		m.u.copyout.path.s = x->path;
		m.u.copyout.path.len = strlen(x->path);
	}
	wbuf_init(&b);
	if (msg_encode(&m, &b, &err) == -1) {
		log_warnx("copy %llu: %s", (unsigned long long)x->id, err.msg);
		wbuf_free(&b);
		return (-1);
	}
	rc = guest_send_frame(b.data, b.len);
	wbuf_free(&b);
	x->sent = rc == 0;
	return (rc);
}

/* COPYDATA of an upstream copy in; -1: the client broke the protocol. */
int
copy_client_data(uint32_t client, const void *data, size_t len)
{
	struct hcopy	*x;

	if ((x = copy_of_client(client)) == NULL || !x->upstream ||
	    x->dir != ATTACH_COPY_IN || x->sent ||
	    len > x->size - x->datalen)
		return (-1);
	memcpy(x->data + x->datalen, data, len);
	x->datalen += len;
	return (0);
}

/* COPYEND: all of an upstream copy in is here; send the filewrite. */
int
copy_client_end(uint32_t client)
{
	struct hcopy	*x;

	if ((x = copy_of_client(client)) == NULL || !x->upstream ||
	    x->dir != ATTACH_COPY_IN || x->sent || x->datalen != x->size)
		return (-1);
	if (copy_send_request(x) == -1)
		copy_end(x, "the file cannot be sent to the guest");
	else {
		/* Sent: the control child holds its copy of the bytes. */
		free(x->data);
		x->data = NULL;
	}
	return (0);
}

/*
 * A connection on the copy port: a stream child decodes its copystarted;
 * we keep a duplicate to hand to the copy's client.
 */
void
copy_accept(int fd)
{
	struct hchild	*c;
	int		 dup;

	if ((dup = fcntl(fd, F_DUPFD_CLOEXEC, 0)) == -1) {
		log_warn("copy connection: dup");
		close(fd);
		return;
	}
	if ((c = child_start(fd, PORT_COPY)) == NULL) {
		close(dup);
		return;
	}
	c->copy_fd = dup;
}

/* The stream child decoded copystarted: the connection goes to the client. */
void
copy_stream_started(struct hchild *c, const struct imsg_copy *ic)
{
	struct attach_copystream cs;
	struct hcopy		*x;
	uint64_t		 id;
	int			 fd = c->copy_fd;

	c->copy_fd = -1;
	if ((x = copy_find(ic->id)) == NULL || x->upstream || x->streamed ||
	    fd == -1) {
		log_warnx("copy connection for unknown copy %llu: closed",
		    (unsigned long long)ic->id);
		if (fd != -1)
			close(fd);
		return;
	}
	if (x->dir == ATTACH_COPY_IN && ic->size != x->size) {
		close(fd);
		copy_end(x, "the guest announced another size for the copy");
		return;
	}
	x->streamed = 1;
	ev_timer_stop(&x->start);
	memset(&cs, 0, sizeof(cs));
	cs.size = ic->size;
	cs.mode = ic->mode;
	cs.stream = 1;
	/* In: the time the file gets; out: the guest file's. */
	cs.flags = ic->flags & COPY_MTIME;
	cs.mtime_ns = ic->mtime_ns;
	id = x->id;
	if (client_copy_send(x->client, IMSG_ATTACH_COPYSTREAM, fd, &cs,
	    sizeof(cs)) == -1)
		copy_gone(id);
	else if (x->done_early)
		copy_end(x, "");
}

/* filecontent: the answer to an upstream copy out. */
int
copy_content(uint64_t id, const void *data, size_t len)
{
	struct attach_copystream cs;
	struct hcopy		*x;
	const uint8_t		*p = data;
	size_t			 n;

	if ((x = copy_find(id)) == NULL || !x->upstream ||
	    x->dir != ATTACH_COPY_OUT)
		return (0);
	memset(&cs, 0, sizeof(cs));
	cs.size = len;
	cs.mode = 0644;
	if (client_copy_send(x->client, IMSG_ATTACH_COPYSTREAM, -1, &cs,
	    sizeof(cs)) == -1) {
		copy_gone(id);
		return (1);
	}
	for (; len > 0; p += n, len -= n) {
		n = len > ATTACH_CHUNK ? ATTACH_CHUNK : len;
		if (client_copy_send(x->client, IMSG_ATTACH_COPYDATA, -1, p,
		    n) == -1) {
			copy_gone(id);
			return (1);
		}
	}
	copy_end(x, "");
	return (1);
}

/* fileopdone{id}: 1 if it was a copy's. */
int
copy_done(uint64_t id)
{
	struct hcopy	*x;

	if ((x = copy_find(id)) == NULL)
		return (0);
	/*
	 * The control connection and the copy connection race: a copy of a
	 * file (not of a directory in) is complete once its stream is passed
	 * on too.
	 */
	if (!x->upstream && !x->streamed && !(x->dir == ATTACH_COPY_IN &&
	    (x->mode & COPY_MODE_DIR))) {
		x->done_early = 1;
		return (1);
	}
	copy_end(x, "");
	return (1);
}

/* error{id, message}: 1 if it was a copy's. */
int
copy_failed(uint64_t id, const char *why)
{
	struct hcopy	*x;

	char		 msg[4096];

	if ((x = copy_find(id)) == NULL)
		return (0);
	/* An upstream agent refuses a file past one frame in its own words. */
	if (x->upstream && strstr(why, "too large") != NULL) {
		snprintf(msg, sizeof(msg), "the guest agent does not support "
		    "large copies (it said: %s)", why);
		why = msg;
	}
	copy_end(x, why);
	return (1);
}

/* The guest's connections dropped: no copy of theirs can complete. */
void
copies_lost(void)
{
	struct hcopy	*x;

	while ((x = TAILQ_FIRST(&copies)) != NULL)
		copy_end(x, "copy interrupted: the guest's connection "
		    "dropped");
}

void
copy_client_gone(uint32_t client)
{
	struct hcopy	*x;

	if ((x = copy_of_client(client)) != NULL) {
		log_info("copy %llu: its client left", (unsigned long long)
		    x->id);
		x->client = 0;
		copy_end(x, NULL);
	}
}

/*
 * why NULL: nobody to tell; "": success; else the failure.  The copy leaves
 * the table before its client is told: telling it may find the client
 * gone, which ends that client's copy (this one) a second time otherwise.
 */
static void
copy_end(struct hcopy *x, const char *why)
{
	struct attach_copydone	 d;
	uint8_t			 b[sizeof(d) + 4097];
	size_t			 len;
	uint32_t		 client = x->client;

	ev_timer_stop(&x->start);
	TAILQ_REMOVE(&copies, x, entry);
	ncopies--;
	x->client = 0;
	if (why != NULL && client != 0) {
		memset(&d, 0, sizeof(d));
		d.ok = why[0] == '\0';
		memcpy(b, &d, sizeof(d));
		len = sizeof(d);
		if (!d.ok) {
			strlcpy((char *)b + len, why, sizeof(b) - len);
			len += strlen((char *)b + len) + 1;
		}
		log_info("copy %llu: %s", (unsigned long long)x->id,
		    d.ok ? "done" : why);
		(void)client_copy_send(client, IMSG_ATTACH_COPYDONE, -1,
		    b, len);
	}
	free(x->data);
	free(x->path);
	free(x);
}

/*
 * A send to the copy's client failed: the client may have been dropped,
 * which ended its copy already; end it here only if it is still there.
 */
static void
copy_gone(uint64_t id)
{
	struct hcopy	*x;

	if ((x = copy_find(id)) != NULL)
		copy_end(x, NULL);
}

/* Bounded: a guest that never opens the copy connection fails the copy. */
static void
copy_start_due(void *arg)
{
	struct hcopy	*x = arg;

	log_warnx("copy %llu: no copy connection within %d ms",
	    (unsigned long long)x->id, COPY_START_MS);
	copy_end(x, "the guest did not open the copy connection in time");
}

void
copies_free(void)
{
	struct hcopy	*x;

	while ((x = TAILQ_FIRST(&copies)) != NULL) {
		ev_timer_stop(&x->start);
		TAILQ_REMOVE(&copies, x, entry);
		free(x->data);
		free(x->path);
		free(x);
	}
	ncopies = 0;
}
