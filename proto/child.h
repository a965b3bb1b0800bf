/*
 * What every sandboxed child process shares: start-up (flags, logging, the
 * sandbox, the imsg channel to its parent on fd 3) and the reports it sends
 * its parent.  The parent side of the same contract is proc.c.
 */
#ifndef CAPSEM_CHILD_H
#define CAPSEM_CHILD_H

#include "imsg.h"
#include "sandbox.h"



struct child {
	const char	*role;		/* "term", "control", ... */
	struct imsgbuf	 ibuf;		/* to the parent, fd 3 */
	int		 debug;
};

void	child_init(struct child *, int, char **, const char *,
	    enum sandbox_profile);
void	child_done(struct child *, int, int, const char *, ...)
	    __attribute__((__format__(printf, 4, 5)));
int	child_common_imsg(struct child *, struct imsg *);
void	child_read(struct child *);
int	child_next_imsg(struct child *, struct imsg *);
int	child_send(struct child *, uint32_t, int, const void *, size_t);

#endif
