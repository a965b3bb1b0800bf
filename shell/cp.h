/*
 * capsem-shell cp (cp.c), and what it borrows from shell.c.
 */
#ifndef CAPSEM_SHELL_CP_H
#define CAPSEM_SHELL_CP_H

/* argv[0] is "cp"; returns the exit status. */
int	cp_main(int, char **);

/* shell.c: ask the session to shut down and wait for it to end. */
int	control_shutdown(const char *);

#endif
