/*
 * The pending table: ackable responses the host has not confirmed yet
 * (execdone, filecontent, fileopdone, error, shellexited).  Each stays here,
 * encoded, until its ackreply, and the whole table is sent again in id order
 * on every new control connection.  The table is bounded: when full, the
 * oldest response is dropped with a log line rather than growing memory.
 */
#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "log.h"

struct pending {
	uint64_t	 id;
	enum msg_type	 type;
	uint64_t	 seq;		/* insertion order, for eviction */
	struct wbuf	 frame;
};

static struct pending	 table[PENDING_MAX];
static size_t		 npending;
static uint64_t		 seq;

static void	 pending_remove(size_t);
static int	 pending_cmp(const void *, const void *);

int
pending_add(enum msg_type type, uint64_t id, const struct wbuf *frame)
{
	struct pending	*p;
	size_t		 i, oldest = 0;

	for (i = 0; i < npending; i++) {
		if (table[i].id == id && table[i].type == type) {
			log_debug("pending: %s %llu already queued",
			    msg_type_name(type), (unsigned long long)id);
			return (0);
		}
	}
	if (npending == PENDING_MAX) {
		for (i = 1; i < npending; i++)
			if (table[i].seq < table[oldest].seq)
				oldest = i;
		log_warnx("pending table full (%d): dropping unacknowledged "
		    "%s %llu", PENDING_MAX, msg_type_name(table[oldest].type),
		    (unsigned long long)table[oldest].id);
		pending_remove(oldest);
	}
	p = &table[npending];
	memset(p, 0, sizeof(*p));
	p->id = id;
	p->type = type;
	p->seq = seq++;
	wbuf_init(&p->frame);
	if ((p->frame.data = malloc(frame->len)) == NULL)
		return (-1);
	memcpy(p->frame.data, frame->data, frame->len);
	p->frame.len = p->frame.cap = frame->len;
	npending++;
	return (0);
}

/* ackreply{id}: every response with that id is confirmed. */
void
pending_ack(uint64_t id)
{
	size_t	 i;

	for (i = 0; i < npending; ) {
		if (table[i].id == id)
			pending_remove(i);
		else
			i++;
	}
}

static void
pending_remove(size_t i)
{
	wbuf_free(&table[i].frame);
	table[i] = table[npending - 1];
	npending--;
}

static int
pending_cmp(const void *a, const void *b)
{
	const struct pending	*pa = a, *pb = b;

	if (pa->id != pb->id)
		return (pa->id < pb->id ? -1 : 1);
	return (pa->seq < pb->seq ? -1 : pa->seq > pb->seq);
}

/* Send the whole table again, in id order.  Returns how many were sent. */
int
pending_replay(void)
{
	size_t		 i;
	int		 n = 0;

	qsort(table, npending, sizeof(table[0]), pending_cmp);
	for (i = 0; i < npending; i++) {
		/* Told again after the drain, never ahead of the terminal. */
		if (table[i].type == MSG_SHELLEXITED)
			continue;
		if (agent_send_frame(&table[i].frame) == 0)
			n++;
	}
	if (n > 0)
		log_info("replayed %d unacknowledged response%s", n,
		    n == 1 ? "" : "s");
	return (n);
}

size_t
pending_count(void)
{
	return (npending);
}
