/*
 * Finding processes to signal: the members of a session, the descendants
 * of a process.  The kernel has no call for either, so both come from
 * /proc/PID/stat (field 4 the parent, field 6 the session).  A zombie is
 * skipped: it is gone already, and only its reaper can clear it.
 *
 * Used by the parent (the shell's session) and by exec runners (everything
 * their command started).  Reads /proc only; signals only what it found.
 */
#include <sys/types.h>
#include <sys/prctl.h>

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"

struct pstat {
	pid_t	 pid;
	pid_t	 ppid;
	pid_t	 sid;
};

static int	 pstat_read(pid_t, struct pstat *);
static size_t	 pstat_all(struct pstat **);

/* 0 and the fields of a live process, -1 if gone or a zombie. */
static int
pstat_read(pid_t pid, struct pstat *ps)
{
	char		 path[64], buf[512], *p, state;
	int		 fd, ppid, sid;
	ssize_t		 len;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (-1);
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return (-1);
	buf[len] = '\0';
	/* comm may hold spaces and parens: fields start after the last ')'. */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 1, " %c %d %*d %d", &state, &ppid, &sid) != 3 ||
	    state == 'Z')
		return (-1);
	ps->pid = pid;
	ps->ppid = ppid;
	ps->sid = sid;
	return (0);
}

/* Every live process; the caller frees the table. */
static size_t
pstat_all(struct pstat **tab)
{
	DIR		*d;
	struct dirent	*de;
	struct pstat	*t = NULL, *nt, ps;
	const char	*errstr;
	size_t		 n = 0, cap = 0;
	pid_t		 pid;

	*tab = NULL;
	if ((d = opendir("/proc")) == NULL)
		return (0);
	while ((de = readdir(d)) != NULL) {
		pid = strtonum(de->d_name, 1, INT_MAX, &errstr);
		if (errstr != NULL || pstat_read(pid, &ps) == -1)
			continue;
		if (n == cap) {
			if ((nt = reallocarray(t, cap ? cap * 2 : 256,
			    sizeof(*t))) == NULL)
				break;
			t = nt;
			cap = cap ? cap * 2 : 256;
		}
		t[n++] = ps;
	}
	closedir(d);
	*tab = t;
	return (n);
}

/*
 * Signal every process of session sid (its background jobs run in process
 * groups of their own, so kill(-pgrp) would miss them).  Returns how many
 * were signalled; sig 0 counts them.
 */
int
ptree_signal_session(pid_t sid, int sig)
{
	struct pstat	*t;
	size_t		 i, n;
	int		 hit = 0;

	if ((n = pstat_all(&t)) == 0) {
		free(t);
		return (kill(-sid, sig) == 0);
	}
	for (i = 0; i < n; i++)
		if (t[i].sid == sid && kill(t[i].pid, sig) == 0)
			hit++;
	free(t);
	return (hit);
}

/*
 * Signal every descendant of root, whatever session or group it moved to.
 * Returns how many were signalled.
 */
int
ptree_signal_descendants(pid_t root, int sig)
{
	struct pstat	*t;
	size_t		 i, j, n;
	char		*mine;
	int		 hit = 0, grew;

	if ((n = pstat_all(&t)) == 0 || (mine = calloc(n, 1)) == NULL) {
		free(t);
		return (0);
	}
	/* Parents may come after their children in /proc: until stable. */
	do {
		grew = 0;
		for (i = 0; i < n; i++) {
			if (mine[i])
				continue;
			if (t[i].ppid == root)
				mine[i] = grew = 1;
			for (j = 0; !mine[i] && j < n; j++)
				if (mine[j] && t[j].pid == t[i].ppid)
					mine[i] = grew = 1;
		}
	} while (grew);
	for (i = 0; i < n; i++)
		if (mine[i] && kill(t[i].pid, sig) == 0)
			hit++;
	free(mine);
	free(t);
	return (hit);
}

/*
 * 1 if we may have a live child that known() does not account for, 0 if
 * not: the one file /proc/self/task/PID/children (our only thread's
 * children), not a walk of /proc.  A member of the shell's session is a
 * descendant of the shell, so with the shell reaped it lives below a
 * child of ours (we reap orphans): no such child, no member, no need to
 * scan the system for them.  Unreadable (a kernel without
 * CONFIG_PROC_CHILDREN), full or odd: 1, and the caller scans.
 */
int
ptree_other_children(int (*known)(pid_t))
{
	char		 path[64], buf[4096], *p, *end;
	struct pstat	 ps;
	ssize_t		 len;
	long		 v;
	int		 fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/children",
	    (int)getpid());
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (1);
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len < 0 || len == sizeof(buf) - 1)
		return (1);
	buf[len] = '\0';
	for (p = buf; *p != '\0'; p = end) {
		while (*p == ' ' || *p == '\n')
			p++;
		if (*p == '\0')
			break;
		v = strtol(p, &end, 10);
		if (end == p || v <= 0 || v > INT_MAX)
			return (1);
		/* A zombie is no member of anything any more. */
		if (known((pid_t)v) || pstat_read((pid_t)v, &ps) == -1)
			continue;
		return (1);
	}
	return (0);
}

/*
 * Become the reaper of every orphan among our descendants: whatever they
 * start stays in our tree, however often it forks or detaches.
 */
int
ptree_subreaper(void)
{
	return (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0));
}
