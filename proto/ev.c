/*
 * The event loop (ev.h).  One poll(2) over the registered descriptors, the
 * nearest timer as its timeout.  The registry is a list of entries owned by
 * the loop; an entry deleted while a round is being dispatched is only
 * marked, and freed once the round is over, so no callback ever runs for
 * a descriptor its owner has given up.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/signalfd.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ev.h"
#include "log.h"

#define PREPARE_MAX	8

struct ev {
	TAILQ_ENTRY(ev)	 entry;
	int		 fd;
	short		 events;
	ev_cb		 cb;
	void		*arg;
	int		 dead;
	int		 slot;		/* index in pfds this round, or -1 */
};

struct prepare {
	void		(*fn)(void *);
	void		*arg;
};

static TAILQ_HEAD(, ev)		 evs = TAILQ_HEAD_INITIALIZER(evs);
static TAILQ_HEAD(, ev_timer)	 timers = TAILQ_HEAD_INITIALIZER(timers);
static struct pollfd		*pfds;
static struct ev		**pevs;
static size_t			 npfds_cap;
static size_t			 nevs;
static int			 ndead;
static struct prepare		 prepares[PREPARE_MAX];
static size_t			 nprepares;
static uint64_t			 timer_pass;
static int			 sigfd = -1;
static void			(*sig_cb)(int, void *);
static void			*sig_arg;

static void	 ev_reap(void);
static void	 ev_timers_fire(void);
static int	 ev_timeout(void);
static void	 ev_signal_read(int, short, void *);

void
ev_init(void)
{
	struct ev	*e;

	while ((e = TAILQ_FIRST(&evs)) != NULL) {
		TAILQ_REMOVE(&evs, e, entry);
		free(e);
	}
	TAILQ_INIT(&timers);
	nevs = 0;
	ndead = 0;
	nprepares = 0;
}

struct ev *
ev_add(int fd, short events, ev_cb cb, void *arg)
{
	struct ev	*e;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		fatal("ev_add");
	e->fd = fd;
	e->events = events;
	e->cb = cb;
	e->arg = arg;
	e->slot = -1;
	TAILQ_INSERT_TAIL(&evs, e, entry);
	nevs++;
	return (e);
}

void
ev_set(struct ev *e, short events)
{
	if (e != NULL)
		e->events = events;
}

short
ev_events(const struct ev *e)
{
	return (e == NULL ? 0 : e->events);
}

/* The entry gets no further callback; it is freed after this round. */
void
ev_del(struct ev *e)
{
	if (e == NULL || e->dead)
		return;
	e->dead = 1;
	e->events = 0;
	ndead++;
}

/* fn runs before every poll, to set what each entry waits for. */
void
ev_prepare(void (*fn)(void *), void *arg)
{
	if (nprepares == PREPARE_MAX)
		fatalx("ev_prepare: more than %d hooks", PREPARE_MAX);
	prepares[nprepares].fn = fn;
	prepares[nprepares].arg = arg;
	nprepares++;
}

/* One round: prepare, poll, callbacks for what is ready, due timers. */
void
ev_dispatch(void)
{
	struct ev	*e;
	size_t		 i, n = 0;
	int		 r;

	for (i = 0; i < nprepares; i++)
		prepares[i].fn(prepares[i].arg);
	ev_reap();
	if (nevs > npfds_cap) {
		if ((pfds = reallocarray(pfds, nevs, sizeof(*pfds))) == NULL ||
		    (pevs = reallocarray(pevs, nevs, sizeof(*pevs))) == NULL)
			fatal("ev_dispatch");
		npfds_cap = nevs;
	}
	TAILQ_FOREACH(e, &evs, entry) {
		e->slot = -1;
		if (e->events == 0 || e->fd == -1)
			continue;
		pfds[n].fd = e->fd;
		pfds[n].events = e->events;
		pfds[n].revents = 0;
		pevs[n] = e;
		e->slot = (int)n;
		n++;
	}
	if ((r = poll(pfds, n, ev_timeout())) == -1) {
		if (errno != EINTR)
			fatal("poll");
		n = 0;
	}
	for (i = 0; r > 0 && i < n; i++) {
		e = pevs[i];
		/* Matched against the live entry, not the list polled. */
		if (pfds[i].revents == 0 || e->dead || e->slot != (int)i)
			continue;
		e->cb(e->fd, pfds[i].revents, e->arg);
	}
	ev_timers_fire();
	ev_reap();
}

__attribute__((__noreturn__)) void
ev_run(void)
{
	for (;;)
		ev_dispatch();
}

static void
ev_reap(void)
{
	struct ev	*e, *t;

	if (ndead == 0)
		return;
	TAILQ_FOREACH_SAFE(e, &evs, entry, t) {
		if (!e->dead)
			continue;
		TAILQ_REMOVE(&evs, e, entry);
		nevs--;
		free(e);
	}
	ndead = 0;
}

void
ev_timer_init(struct ev_timer *t, void (*cb)(void *), void *arg)
{
	memset(t, 0, sizeof(*t));
	t->cb = cb;
	t->arg = arg;
}

/* Arm (or re-arm) the timer for the monotonic time when, in ms. */
void
ev_timer_at(struct ev_timer *t, int64_t when)
{
	struct ev_timer	*o;

	ev_timer_stop(t);
	t->when = when;
	t->armed = 1;
	t->pass = timer_pass;
	TAILQ_FOREACH(o, &timers, entry)
		if (o->when > when)
			break;
	if (o == NULL)
		TAILQ_INSERT_TAIL(&timers, t, entry);
	else
		TAILQ_INSERT_BEFORE(o, t, entry);
}

void
ev_timer_in(struct ev_timer *t, int64_t ms)
{
	ev_timer_at(t, now_ms() + ms);
}

void
ev_timer_stop(struct ev_timer *t)
{
	if (!t->armed)
		return;
	TAILQ_REMOVE(&timers, t, entry);
	t->armed = 0;
}

int
ev_timer_armed(const struct ev_timer *t)
{
	return (t->armed);
}

/*
 * Due timers, earliest first; a callback may arm or stop any timer.  One
 * armed by a callback of this pass waits for the next round, so a timer
 * that re-arms itself for "now" cannot keep the loop from polling.
 */
static void
ev_timers_fire(void)
{
	struct ev_timer	*t;
	int64_t		 now;

	if (TAILQ_EMPTY(&timers))
		return;
	now = now_ms();
	timer_pass++;
	while ((t = TAILQ_FIRST(&timers)) != NULL && t->when <= now &&
	    t->pass != timer_pass) {
		ev_timer_stop(t);
		t->cb(t->arg);
	}
}

static int
ev_timeout(void)
{
	struct ev_timer	*t;
	int64_t		 now;

	if ((t = TAILQ_FIRST(&timers)) == NULL)
		return (-1);
	now = now_ms();
	if (t->when <= now)
		return (0);
	if (t->when - now > 24 * 3600 * 1000)
		return (24 * 3600 * 1000);
	return ((int)(t->when - now));
}

/*
 * Block these signals and receive them through one signalfd in the loop:
 * cb(signo, arg) once for each delivery, never from a handler.
 */
int
ev_signals(const int *sigs, size_t nsigs, void (*cb)(int, void *), void *arg)
{
	sigset_t	 mask;
	size_t		 i;

	sigemptyset(&mask);
	for (i = 0; i < nsigs; i++)
		sigaddset(&mask, sigs[i]);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) == -1)
		return (-1);
	if ((sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) == -1)
		return (-1);
	sig_cb = cb;
	sig_arg = arg;
	(void)ev_add(sigfd, POLLIN, ev_signal_read, NULL);
	return (0);
}

static void
ev_signal_read(int fd, short revents, void *arg)
{
	struct signalfd_siginfo	 si;

	while (read(fd, &si, sizeof(si)) == sizeof(si))
		sig_cb((int)si.ssi_signo, sig_arg);
}

int64_t
now_ms(void)
{
	struct timespec	 ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

int64_t
now_us_real(void)
{
	struct timespec	 ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
}
