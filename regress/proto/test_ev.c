/*
 * The event loop (proto/ev.c): callbacks for ready descriptors, events
 * matched against the live registry (an entry deleted or a descriptor
 * number reused within a round never gets the old event), waiting for
 * nothing means not polled, timers in order, signals through the loop.
 */
#include <sys/types.h>

#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ev.h"

static int	 calls_a, calls_b, calls_new;
static int	 pa[2], pb[2];
static struct ev *ea, *eb;
static int	 order[4], norder;

static void	 cb_timer(void *);

static void
cb_count(int fd, short revents, void *arg)
{
	(*(int *)arg)++;
}

static void
test_ready_fd_called(void **state)
{
	int	 p[2], n = 0;

	ev_init();
	assert_int_equal(pipe(p), 0);
	(void)ev_add(p[0], POLLIN, cb_count, &n);
	assert_int_equal(write(p[1], "x", 1), 1);
	ev_dispatch();
	assert_int_equal(n, 1);
	close(p[0]);
	close(p[1]);
}

/*
 * B runs first and closes A's pipe, then makes a new pipe that gets A's
 * descriptor number and registers it: A's pending event must reach
 * neither A (deleted) nor the new entry (not polled in this round).
 */
static void
cb_b_reuses(int fd, short revents, void *arg)
{
	int	 np[2];

	calls_b++;
	ev_del(ea);
	close(pa[0]);
	close(pa[1]);
	assert_int_equal(pipe(np), 0);
	assert_int_equal(np[0], pa[0]);
	(void)ev_add(np[0], POLLIN, cb_count, &calls_new);
	pa[0] = np[0];
	pa[1] = np[1];
}

static void
test_reused_fd_gets_no_stale_event(void **state)
{
	ev_init();
	calls_a = calls_b = calls_new = 0;
	assert_int_equal(pipe(pb), 0);
	assert_int_equal(pipe(pa), 0);
	eb = ev_add(pb[0], POLLIN, cb_b_reuses, NULL);
	ea = ev_add(pa[0], POLLIN, cb_count, &calls_a);
	assert_int_equal(write(pb[1], "x", 1), 1);
	assert_int_equal(write(pa[1], "x", 1), 1);
	ev_dispatch();
	assert_int_equal(calls_b, 1);
	assert_int_equal(calls_a, 0);
	assert_int_equal(calls_new, 0);
	ev_del(eb);
	close(pb[0]);
	close(pb[1]);
	close(pa[0]);
	close(pa[1]);
}

static void
test_no_events_not_polled(void **state)
{
	struct ev_timer	 t;
	struct ev	*e;
	int		 p[2], n = 0;

	ev_init();
	norder = 0;
	assert_int_equal(pipe(p), 0);
	e = ev_add(p[0], POLLIN, cb_count, &n);
	close(p[1]);		/* POLLHUP would be reported if polled */
	ev_set(e, 0);
	ev_timer_init(&t, cb_timer, (void *)1);
	ev_timer_in(&t, 10);
	while (ev_timer_armed(&t))
		ev_dispatch();
	assert_int_equal(n, 0);
	ev_set(e, POLLIN);
	ev_dispatch();
	assert_int_equal(n, 1);
	close(p[0]);
}

static void
cb_timer(void *arg)
{
	order[norder++] = (int)(intptr_t)arg;
}

static void
test_timers_in_order(void **state)
{
	struct ev_timer	 t1, t2, t3;
	int64_t		 start = now_ms();

	ev_init();
	norder = 0;
	ev_timer_init(&t1, cb_timer, (void *)1);
	ev_timer_init(&t2, cb_timer, (void *)2);
	ev_timer_init(&t3, cb_timer, (void *)3);
	ev_timer_in(&t2, 20);
	ev_timer_in(&t1, 10);
	ev_timer_in(&t3, 30);
	ev_timer_stop(&t3);
	assert_false(ev_timer_armed(&t3));
	while (ev_timer_armed(&t1) || ev_timer_armed(&t2))
		ev_dispatch();
	assert_int_equal(norder, 2);
	assert_int_equal(order[0], 1);
	assert_int_equal(order[1], 2);
	assert_true(now_ms() - start >= 20);
}

static struct ev_timer	 rearm;
static int		 rearms;

static void
cb_rearm(void *arg)
{
	rearms++;
	ev_timer_in(&rearm, 0);
}

/* A timer re-arming itself for "now" fires once per round, not forever. */
static void
test_rearm_once_per_round(void **state)
{
	ev_init();
	rearms = 0;
	ev_timer_init(&rearm, cb_rearm, NULL);
	ev_timer_in(&rearm, 0);
	ev_dispatch();
	assert_int_equal(rearms, 1);
	ev_dispatch();
	assert_int_equal(rearms, 2);
	ev_timer_stop(&rearm);
}

static int	 got_signal;

static void
cb_signal(int signo, void *arg)
{
	got_signal = signo;
}

static void
test_signal_through_loop(void **state)
{
	static const int sigs[] = { SIGUSR1 };
	sigset_t	 empty;

	ev_init();
	got_signal = 0;
	assert_int_equal(ev_signals(sigs, 1, cb_signal, NULL), 0);
	assert_int_equal(kill(getpid(), SIGUSR1), 0);
	while (got_signal == 0)
		ev_dispatch();
	assert_int_equal(got_signal, SIGUSR1);
	sigemptyset(&empty);
	sigprocmask(SIG_SETMASK, &empty, NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ready_fd_called),
		cmocka_unit_test(test_reused_fd_gets_no_stale_event),
		cmocka_unit_test(test_no_events_not_polled),
		cmocka_unit_test(test_timers_in_order),
		cmocka_unit_test(test_rearm_once_per_round),
		cmocka_unit_test(test_signal_through_loop),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
