/*
 * capsem-hostd-screen: keeps the model of the session's screen (model.c,
 * libvterm) from a copy of the terminal output capsem-hostd relays, and
 * answers a snapshot request with the bytes that draw that screen on a
 * new client's terminal.  It has nothing open but its channel to the
 * parent: it reads the guest's output (untrusted) and writes only to the
 * parent, which decides what a client gets.
 *
 * The parent never waits for it: output it cannot take at once is queued
 * in the parent, bounded, and dropped when this child falls behind, which
 * then starts over (IMSG_SCREEN_RESET).  Resizes and snapshot requests
 * carry the offset in the output stream at which they happened and are
 * applied when the model has read that far, so a snapshot is the screen
 * exactly as the client's first live output byte finds it.
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/uio.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capsem_imsg.h"
#include "child.h"
#include "ev.h"
#include "log.h"
#include "model.h"

#define EVENTS_MAX		64	/* resizes and snapshots not yet due */
#define OUTPUT_MAX		(2 * SCREEN_CHUNK)	/* read, not fed yet */

struct event {
	uint32_t	 type;		/* IMSG_SCREEN_RESIZE or _SNAPSHOT */
	uint64_t	 offset;
	uint32_t	 id;
	uint16_t	 cols, rows;
};

static struct child	 scr;
static struct model	*model;
static uint64_t		 consumed;	/* output bytes read by the model */
static struct event	 events[EVENTS_MAX];
static size_t		 nevents;
static uint8_t		*out;		/* output of several imsgs, one feed */
static size_t		 outlen;

static void	 screen_imsgs(void);
static void	 screen_output(struct imsg *);
static void	 screen_feed(void);
static void	 screen_event(uint32_t, uint64_t, uint32_t, uint16_t,
		    uint16_t);
static void	 screen_reset(uint64_t);
static void	 events_due(void);
static void	 event_apply(const struct event *);
static void	 snapshot_send(uint32_t);
static void	 screen_send(uint32_t, const void *, size_t, const void *,
		    size_t);

int
main(int argc, char *argv[])
{
	/*
	 * The lowest priority: the relay's processes come first, and a model
	 * that falls behind starts over (the parent's rule), which costs less
	 * than the relay waiting for a CPU.
	 */
	(void)setpriority(PRIO_PROCESS, 0, 19);
	child_init(&scr, argc, argv, "screen", SANDBOX_SCREEN);
	if ((model = model_new(24, 80)) == NULL ||
	    (out = malloc(OUTPUT_MAX)) == NULL)
		fatalx("screen: no memory for the model");
	child_ev_init(&scr, screen_imsgs);
	ev_run();
}

static void
screen_imsgs(void)
{
	struct imsg			 imsg;
	struct imsg_screen_resize	 rs;
	struct imsg_screen_snapshot	 sn;
	uint64_t			 off;

	while (child_next_imsg(&scr, &imsg)) {
		/* Output read together is fed together, in order. */
		if (imsg_get_type(&imsg) != IMSG_SCREEN_OUTPUT)
			screen_feed();
		switch (imsg_get_type(&imsg)) {
		case IMSG_SCREEN_OUTPUT:
			screen_output(&imsg);
			break;
		case IMSG_SCREEN_RESIZE:
			if (imsg_get_data(&imsg, &rs, sizeof(rs)) == -1)
				fatalx("screen: IMSG_SCREEN_RESIZE of a bad "
				    "size");
			screen_event(IMSG_SCREEN_RESIZE, rs.offset, 0,
			    rs.cols, rs.rows);
			break;
		case IMSG_SCREEN_SNAPSHOT:
			if (imsg_get_data(&imsg, &sn, sizeof(sn)) == -1)
				fatalx("screen: IMSG_SCREEN_SNAPSHOT of a bad "
				    "size");
			screen_event(IMSG_SCREEN_SNAPSHOT, sn.offset, sn.id,
			    0, 0);
			break;
		case IMSG_SCREEN_RESET:
			if (imsg_get_data(&imsg, &off, sizeof(off)) == -1)
				fatalx("screen: IMSG_SCREEN_RESET of a bad "
				    "size");
			screen_reset(off);
			break;
		case IMSG_CHILD_STOP:
			imsg_free(&imsg);
			child_done(&scr, CHILD_STOPPED, 0, "stopped");
			exit(0);
		default:
			log_warnx("screen: unexpected imsg %u",
			    imsg_get_type(&imsg));
			break;
		}
		imsg_free(&imsg);
	}
	screen_feed();
}

/*
 * Input from the guest (through the parent): untrusted.  Kept with the
 * output of the imsgs read with it: the model skips text that scrolls off
 * within one feed, so a burst read in small pieces is fed as one.
 */
static void
screen_output(struct imsg *imsg)
{
	size_t	 len = imsg_get_len(imsg);

	if (len == 0 || len > SCREEN_CHUNK)
		fatalx("screen: IMSG_SCREEN_OUTPUT of %zu bytes", len);
	if (outlen + len > OUTPUT_MAX)
		screen_feed();
	(void)imsg_get_data(imsg, out + outlen, len);
	outlen += len;
}

/* The output kept: fed up to the next due event, the event applied, on. */
static void
screen_feed(void)
{
	size_t	 off = 0, n;

	while (off < outlen) {
		events_due();
		n = outlen - off;
		if (nevents > 0 && events[0].offset - consumed < n)
			n = events[0].offset - consumed;
		model_feed(model, out + off, n);
		consumed += n;
		off += n;
	}
	outlen = 0;
	events_due();
}

static void
screen_event(uint32_t type, uint64_t offset, uint32_t id, uint16_t cols,
    uint16_t rows)
{
	struct event	*e;

	/* A resize after a resize not yet due: only the newer size counts. */
	if (type == IMSG_SCREEN_RESIZE && nevents > 0 &&
	    events[nevents - 1].type == IMSG_SCREEN_RESIZE)
		e = &events[nevents - 1];
	else {
		if (nevents == EVENTS_MAX)
			fatalx("screen: more than %d requests pending",
			    EVENTS_MAX);
		e = &events[nevents++];
	}
	e->type = type;
	e->offset = offset;
	e->id = id;
	e->cols = cols;
	e->rows = rows;
	events_due();
}

/* Output up to offset was dropped: a blank screen, reading from offset. */
static void
screen_reset(uint64_t offset)
{
	size_t	 i;

	log_debug("screen: reset at output byte %llu (read %llu)",
	    (unsigned long long)offset, (unsigned long long)consumed);
	model_reset(model);
	/* What was due before the dropped output is due now. */
	for (i = 0; i < nevents; i++)
		if (events[i].offset > consumed && events[i].offset < offset)
			events[i].offset = offset;
	consumed = offset;
	events_due();
}

/* Apply, in order, every event the model has read far enough for. */
static void
events_due(void)
{
	struct event	 e;

	while (nevents > 0 && events[0].offset <= consumed) {
		e = events[0];
		memmove(events, events + 1, (nevents - 1) * sizeof(events[0]));
		nevents--;
		event_apply(&e);
	}
}

static void
event_apply(const struct event *e)
{
	if (e->type == IMSG_SCREEN_RESIZE) {
		log_debug("screen: %ux%u", e->cols, e->rows);
		model_resize(model, e->rows, e->cols);
	} else
		snapshot_send(e->id);
}

static void
snapshot_send(uint32_t id)
{
	struct mbuf	 b;
	size_t		 off, n;

	memset(&b, 0, sizeof(b));
	if (model_snapshot(model, &b) == -1) {
		log_warnx("screen: no memory for a snapshot: sent empty");
		b.len = 0;
	}
	for (off = 0; off < b.len; off += n) {
		n = b.len - off > SCREEN_CHUNK ? SCREEN_CHUNK : b.len - off;
		screen_send(IMSG_SCREEN_SNAPDATA, &id, sizeof(id),
		    b.data + off, n);
	}
	screen_send(IMSG_SCREEN_SNAPDONE, &id, sizeof(id), NULL, 0);
	log_debug("screen: snapshot %u: %zu bytes", id, b.len);
	mbuf_free(&b);
}

/* A header and bytes in one imsg, flushed; a parent that is gone ends us. */
static void
screen_send(uint32_t type, const void *hdr, size_t hlen, const void *data,
    size_t len)
{
	struct iovec	 iov[2];

	iov[0].iov_base = (void *)(uintptr_t)hdr;
	iov[0].iov_len = hlen;
	iov[1].iov_base = (void *)(uintptr_t)data;
	iov[1].iov_len = len;
	if (imsg_composev(&scr.ibuf, type, 0, 0, -1, iov, len > 0 ? 2 : 1) ==
	    -1)
		fatal("screen: imsg_composev");
	if (imsgbuf_flush(&scr.ibuf) == -1)
		exit(0);
}
