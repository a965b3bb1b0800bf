/*
 * The one event loop every capsem process runs: descriptors with a
 * callback each, timers, signals through a signalfd, and the clocks.
 *
 *	ev_init();
 *	e = ev_add(fd, POLLIN, on_read, arg);	  fd + events + callback
 *	ev_set(e, POLLIN | POLLOUT);		  change what it waits for
 *	ev_del(e);				  before fd is closed
 *	ev_timer_init(&t, on_timeout, arg);
 *	ev_timer_in(&t, 2000);			  one shot, in ms
 *	ev_signals(sigs, nsigs, on_signal, arg);
 *	ev_prepare(recompute, arg);		  run before every poll
 *	for (;;) ev_dispatch();			  or ev_run()
 *
 * Events are matched against the live registry, never against a list built
 * before poll(): an entry removed during a round gets no callback for that
 * round, and one added during a round is first polled in the next, so a
 * descriptor number closed and reused within a round can never deliver the
 * old descriptor's event to the new owner.  An entry that waits for nothing
 * (events 0) is not polled at all.
 */
#ifndef CAPSEM_EV_H
#define CAPSEM_EV_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

struct ev;
typedef void	(*ev_cb)(int, short, void *);

struct ev_timer {
	TAILQ_ENTRY(ev_timer)	 entry;
	int64_t			 when;		/* ms, monotonic */
	void			(*cb)(void *);
	void			*arg;
	int			 armed;
	uint64_t		 pass;		/* ev.c: when it was armed */
};

void		 ev_init(void);
struct ev	*ev_add(int, short, ev_cb, void *);
void		 ev_set(struct ev *, short);
short		 ev_events(const struct ev *);
void		 ev_del(struct ev *);
void		 ev_prepare(void (*)(void *), void *);
void		 ev_dispatch(void);
__attribute__((__noreturn__)) void ev_run(void);

void		 ev_timer_init(struct ev_timer *, void (*)(void *), void *);
void		 ev_timer_at(struct ev_timer *, int64_t);
void		 ev_timer_in(struct ev_timer *, int64_t);
void		 ev_timer_stop(struct ev_timer *);
int		 ev_timer_armed(const struct ev_timer *);

int		 ev_signals(const int *, size_t, void (*)(int, void *), void *);

/* The clocks: monotonic milliseconds, and wall-clock microseconds. */
int64_t		 now_ms(void);
int64_t		 now_us_real(void);

#endif
