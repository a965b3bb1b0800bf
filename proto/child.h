/*
 * What every sandboxed child process shares: start-up (flags, logging, the
 * sandbox, the imsg channel to its parent on fd 3, that channel in the event
 * loop), the reading of its peer's frames and the reports it sends its
 * parent.  The parent side of the same contract is proc.c.
 */
#ifndef CAPSEM_CHILD_H
#define CAPSEM_CHILD_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "ev.h"
#include "frame.h"
#include "imsg.h"
#include "sandbox.h"

struct child {
	const char	*role;		/* "term", "control", ... */
	const char	*peer;		/* "host" or "guest": who we read */
	struct imsgbuf	 ibuf;		/* to the parent, fd 3 */
	struct ev	*ev;		/* ibuf's fd in the event loop */
	void		(*dispatch)(void);	/* what the parent sent */
	int		 debug;
};

/* Called with each whole frame; nonzero stops the feed after it. */
typedef int	(*child_frame_cb)(const uint8_t *, size_t, void *);

void	child_init(struct child *, int, char **, const char *,
	    enum sandbox_profile);
void	child_done(struct child *, int, int, const char *, ...)
	    __attribute__((__format__(printf, 4, 5)));
void	child_ev_init(struct child *, void (*)(void));
int	child_common_imsg(struct child *, struct imsg *);
int	child_next_imsg(struct child *, struct imsg *);
int	child_send(struct child *, uint32_t, int, const void *, size_t);
__attribute__((__noreturn__)) void child_lost(struct child *, int, int,
	    const char *);
ssize_t	child_sock_read(struct child *, int, void *, size_t);
size_t	child_frames(struct child *, struct frame_reader *, const uint8_t *,
	    size_t, child_frame_cb, void *);
void	child_frames_eof(struct child *, struct frame_reader *);
void	child_frames_read(struct child *, int, struct frame_reader *,
	    child_frame_cb, void *, const char *);

#endif
