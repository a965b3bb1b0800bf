/*
 * File operations of the guest parent, see fileops.h.  Runs in the
 * privileged parent (root), so everything it touches for the host is
 * reached through openat2(2) beneath the workspace fd: a path from the host
 * (untrusted) can neither climb out with `..` nor escape through a symlink
 * planted by the shell user, final or intermediate, at any moment between
 * our checks (no lstat-then-open races: the kernel resolves and refuses).
 *
 * Opens are O_NONBLOCK so that a FIFO at the path cannot block the parent;
 * the file type is checked on the opened fd.  Never follows a symlink at
 * the final component, never writes the workspace root itself, never
 * writes a file with another hard link (it may be anyone's file, linked
 * into the workspace by the shell user) and never sets setuid or setgid.
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <linux/openat2.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileops.h"
#include "wire.h"

#define WS_RESOLVE	(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | \
			 RESOLVE_NO_MAGICLINKS)
#define WS_RETRIES	8	/* openat2 EAGAIN: a racing rename/mount */

/* The names an operation uses in its error messages. */
struct ws_op {
	const char	*tag;		/* "FileWrite" */
	const char	*verb;		/* "write" */
};

/* Who new files and directories in the workspace belong to; -1: as made. */
static uid_t	 ws_uid = (uid_t)-1;
static gid_t	 ws_gid = (gid_t)-1;

static const struct ws_op op_write = { "FileWrite", "write" };
static const struct ws_op op_read = { "FileRead", "read" };
static const struct ws_op op_delete = { "FileDelete", "delete" };

/* A host path made relative to the workspace: "a/b/c", no empty, "." or
 * ".." component; name is the last component, rel[0..namoff) the parent. */
struct ws_path {
	char		 rel[PATH_MAX];
	const char	*name;
	size_t		 namoff;
	size_t		 ncomp;
};

static void	 utf8_trim(char *);
static void	 errf(char *, size_t, const char *, ...)
		    __attribute__((__format__(__printf__, 3, 4)));
static int	 ws_reject(const struct ws_op *, char *, size_t, const char *);
static int	 ws_fail(const struct ws_op *, char *, size_t, const char *,
		    int);
static int	 has_dotdot(const char *);
static const char *ws_normalize(const char *, const char *,
		    struct ws_path *);
static int	 ws_walk(int, const char *, int, mode_t);
static int	 ws_openat2(int, const char *, uint64_t, uint64_t);
static int	 ws_parent(int, const struct ws_path *, int);
static int	 write_all(int, const void *, size_t);
static int	 read_bounded(int, size_t, size_t, uint8_t **, size_t *);
static int	 boot_parent(const char *, const char **);
static mode_t	 host_mode(uint32_t);
static int	 ws_give(int);
static int	 ws_create(int, const char *, mode_t, int *);

/*
 * The message travels as a msgpack str, which must stay valid UTF-8: a
 * truncation must not cut a multi-byte sequence of the host's path.
 */
static void
utf8_trim(char *s)
{
	size_t		 len, i, need;
	unsigned char	 c;

	len = strlen(s);
	for (i = len; i > 0 && len - i < 4; i--)
		if (((unsigned char)s[i - 1] & 0xc0) != 0x80)
			break;
	if (i == 0)
		return;
	c = (unsigned char)s[i - 1];
	if (c < 0x80)
		return;
	need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
	if (len - (i - 1) < need)
		s[i - 1] = '\0';
}

static void
errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	if (n < 0)
		err[0] = '\0';
	else if ((size_t)n >= errlen)
		utf8_trim(err);
}

static int
ws_reject(const struct ws_op *op, char *err, size_t errlen,
    const char *reason)
{
	errf(err, errlen, "%s rejected: %s", op->tag, reason);
	return (-1);
}

/* errno of a failed resolution or I/O: the resolver's refusals are
 * rejections, everything else an I/O failure naming the host's path. */
static int
ws_fail(const struct ws_op *op, char *err, size_t errlen, const char *path,
    int e)
{
	if (e == ELOOP)
		return (ws_reject(op, err, errlen, "path is a symlink"));
	if (e == EXDEV)
		return (ws_reject(op, err, errlen,
		    "path escapes the workspace"));
	errf(err, errlen, "failed to %s %s: %s", op->verb, path, strerror(e));
	return (-1);
}

static int
has_dotdot(const char *path)
{
	const char	*p, *end;

	for (p = path; *p != '\0'; p = end) {
		while (*p == '/')
			p++;
		end = p + strcspn(p, "/");
		if (end - p == 2 && p[0] == '.' && p[1] == '.')
			return (1);
	}
	return (0);
}

/*
 * Make the host's path relative to the workspace root.  Purely lexical:
 * the kernel does the real confinement, this only gives the clear messages
 * and strips the root prefix.  Returns NULL or the rejection reason.
 */
static const char *
ws_normalize(const char *root, const char *path, struct ws_path *wp)
{
	const char	*p, *end;
	size_t		 n, rootlen, clen, o;

	n = strnlen(path, PATH_MAX);
	if (n == 0)
		return ("empty path");
	if (n >= PATH_MAX)
		return ("path too long");
	if (has_dotdot(path))
		return ("path contains '..'");
	p = path;
	if (path[0] == '/') {
		rootlen = strlen(root);
		while (rootlen > 0 && root[rootlen - 1] == '/')
			rootlen--;
		if (strncmp(path, root, rootlen) != 0 ||
		    (path[rootlen] != '/' && path[rootlen] != '\0'))
			return ("path escapes the workspace");
		p = path + rootlen;
	}

	o = 0;
	wp->ncomp = 0;
	wp->namoff = 0;
	for (; *p != '\0'; p = end) {
		while (*p == '/')
			p++;
		end = p + strcspn(p, "/");
		clen = end - p;
		if (clen == 0 || (clen == 1 && p[0] == '.'))
			continue;
		if (++wp->ncomp > WS_MAXCOMPONENTS)
			return ("too many path components");
		if (o > 0)
			wp->rel[o++] = '/';
		wp->namoff = o;
		memcpy(wp->rel + o, p, clen);
		o += clen;
	}
	wp->rel[o] = '\0';
	wp->name = wp->rel + wp->namoff;
	if (wp->ncomp == 0)
		return ("path is the workspace root");
	if (path[n - 1] == '/' ||
	    (n >= 2 && path[n - 1] == '.' && path[n - 2] == '/'))
		return ("path names a directory");
	return (NULL);
}

/*
 * Without openat2 (a kernel before 5.6, or valgrind, which does not know
 * the system call) walk rel one component at a time with O_NOFOLLOW.
 * Equivalent because a normalized path has no `..`: every directory fd is
 * checked to be a directory and not a symlink, so nothing is followed and
 * nothing above dfd is reached.  A symlink anywhere is ELOOP, like
 * RESOLVE_NO_SYMLINKS.
 */
static int
ws_walk(int dfd, const char *rel, int flags, mode_t mode)
{
	char		 comp[PATH_MAX];
	const char	*p, *end;
	struct stat	 st;
	size_t		 clen;
	int		 cur, fd, e;

	cur = dfd;
	for (p = rel;; p = end + 1) {
		end = p + strcspn(p, "/");
		clen = end - p;
		memcpy(comp, p, clen);
		comp[clen] = '\0';
		if (*end == '\0' && (flags & O_PATH) == 0) {
			fd = openat(cur, comp, flags | O_NOFOLLOW | O_CLOEXEC,
			    mode);
			e = errno;
			break;
		}
		/* O_PATH | O_NOFOLLOW opens a symlink itself: look at it. */
		if ((fd = openat(cur, comp, O_PATH | O_NOFOLLOW |
		    O_CLOEXEC)) == -1) {
			e = errno;
			break;
		}
		if (fstat(fd, &st) == -1)
			e = errno;
		else if (S_ISLNK(st.st_mode))
			e = ELOOP;
		else if (!S_ISDIR(st.st_mode) &&
		    (*end != '\0' || (flags & O_DIRECTORY)))
			e = ENOTDIR;
		else
			e = 0;
		if (e != 0) {
			close(fd);
			fd = -1;
		}
		if (fd == -1 || *end == '\0')
			break;
		if (cur != dfd)
			close(cur);
		cur = fd;
	}
	if (cur != dfd)
		close(cur);
	errno = e;
	return (fd);
}

static int
ws_openat2(int dfd, const char *rel, uint64_t flags, uint64_t mode)
{
	static int	 have_openat2 = 1;
	struct open_how	 how;
	int		 fd, tries;

	if (!have_openat2)
		return (ws_walk(dfd, rel, flags, mode));
	memset(&how, 0, sizeof(how));
	how.flags = flags | O_CLOEXEC;
	how.mode = mode;
	how.resolve = WS_RESOLVE;
	tries = 0;
	do {
		fd = syscall(SYS_openat2, dfd, rel, &how, sizeof(how));
	} while (fd == -1 && (errno == EINTR ||
	    (errno == EAGAIN && ++tries < WS_RETRIES)));
	if (fd == -1 && errno == ENOSYS) {
		have_openat2 = 0;
		return (ws_walk(dfd, rel, flags, mode));
	}
	return (fd);
}

/*
 * One step down a path being created: the directory comp beneath dfd, made
 * if missing and opened right after mkdirat (confined: with the workspace
 * rules of ws_openat2, so a symlink swapped in between is refused, and
 * given to the workspace's owner).  dfd is closed if closeit.  An O_PATH
 * fd, or -1 with errno.
 */
static int
dir_step(int dfd, int closeit, const char *comp, int confined)
{
	int	 nfd, e, made = -1;

	nfd = confined ? ws_openat2(dfd, comp, O_PATH | O_DIRECTORY, 0) :
	    openat(dfd, comp, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (nfd == -1 && errno == ENOENT) {
		if ((made = mkdirat(dfd, comp, FILEOPS_DIRMODE)) == -1 &&
		    errno != EEXIST)
			nfd = -1;
		else
			nfd = confined ? ws_openat2(dfd, comp,
			    O_PATH | O_DIRECTORY, 0) : openat(dfd, comp,
			    O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (nfd != -1 && made == 0 && confined && ws_give(nfd) == -1) {
			e = errno;
			close(nfd);
			errno = e;
			nfd = -1;
		}
	}
	e = errno;
	if (closeit)
		close(dfd);
	errno = e;
	return (nfd);
}

/*
 * The directory holding the last component, as an O_PATH fd (-1, errno).
 * With create, missing directories are made one component at a time and
 * each is opened beneath its parent right after mkdirat, so a symlink
 * swapped in between is refused (ELOOP), never followed.
 */
static int
ws_parent(int wsfd, const struct ws_path *wp, int create)
{
	char		 comp[PATH_MAX];
	const char	*p, *end;
	size_t		 clen;
	int		 dfd;

	if (wp->ncomp == 1)
		return (fcntl(wsfd, F_DUPFD_CLOEXEC, 0));
	if (!create) {
		memcpy(comp, wp->rel, wp->namoff - 1);
		comp[wp->namoff - 1] = '\0';
		return (ws_openat2(wsfd, comp, O_PATH | O_DIRECTORY, 0));
	}

	dfd = wsfd;
	for (p = wp->rel; p < wp->name; p = end + 1) {
		end = strchr(p, '/');
		clen = end - p;
		memcpy(comp, p, clen);
		comp[clen] = '\0';
		if ((dfd = dir_step(dfd, dfd != wsfd, comp, 1)) == -1)
			return (-1);
	}
	return (dfd);
}

static int
write_all(int fd, const void *data, size_t len)
{
	const uint8_t	*p = data;
	ssize_t		 n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		p += n;
		len -= n;
	}
	return (0);
}

/*
 * Read to EOF, at most maxlen bytes.  The buffer starts at the size fstat
 * gave and grows only if the file grows under us, never past maxlen + 1.
 * Returns 0, -1 (errno) or 1 when the file holds more than maxlen bytes.
 */
static int
read_bounded(int fd, size_t size, size_t maxlen, uint8_t **data,
    size_t *lenp)
{
	uint8_t	*buf, *nbuf;
	size_t	 cap, len;
	ssize_t	 n;
	int	 e;

	if (maxlen > SIZE_MAX / 4)
		maxlen = SIZE_MAX / 4;	/* cap arithmetic cannot wrap */
	cap = size < maxlen ? size + 1 : maxlen + 1;
	if ((buf = malloc(cap)) == NULL)
		return (-1);
	len = 0;
	for (;;) {
		if (len == cap) {
			cap = cap > maxlen / 2 ? maxlen + 1 : cap * 2;
			if ((nbuf = realloc(buf, cap)) == NULL)
				goto fail;
			buf = nbuf;
		}
		n = read(fd, buf + len, cap - len);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		if (n == 0)
			break;
		len += n;
		if (len > maxlen) {
			free(buf);
			return (1);
		}
	}
	*data = buf;
	*lenp = len;
	return (0);
 fail:
	e = errno;
	free(buf);
	errno = e;
	return (-1);
}

int
ws_open(const char *root)
{
	return (open(root, O_PATH | O_DIRECTORY | O_CLOEXEC));
}

/* The owner of what ws_write creates: the shell's user under -u. */
void
ws_set_owner(uid_t uid, gid_t gid)
{
	ws_uid = uid;
	ws_gid = gid;
}

/* A file or directory just made (fd, O_PATH will do) goes to the owner. */
static int
ws_give(int fd)
{
	if (ws_uid == (uid_t)-1 && ws_gid == (gid_t)-1)
		return (0);
	return (fchownat(fd, "", ws_uid, ws_gid, AT_EMPTY_PATH));
}

/* Input from the host: untrusted.  Permission bits only, never setid. */
static mode_t
host_mode(uint32_t mode)
{
	mode &= FILEOPS_MODEMASK;
	return (mode == 0 ? FILEOPS_DEFMODE : mode);
}

/*
 * Open name beneath dfd for writing, made if missing (*created set), never
 * truncated here: whether it may be written is known only once it is open.
 */
static int
ws_create(int dfd, const char *name, mode_t mode, int *created)
{
	int	 fd;

	fd = ws_openat2(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NONBLOCK |
	    O_NOFOLLOW, mode);
	*created = fd != -1;
	if (fd == -1 && errno == EEXIST)
		fd = ws_openat2(dfd, name, O_WRONLY | O_NONBLOCK | O_NOFOLLOW,
		    0);
	return (fd);
}

int
ws_write(int wsfd, const char *root, const char *path, const void *data,
    size_t len, uint32_t hostmode, char *err, size_t errlen)
{
	const struct ws_op	*op = &op_write;
	struct ws_path		 wp;
	struct stat		 st;
	const char		*why;
	mode_t			 mode = host_mode(hostmode);
	int			 dfd, fd, e, created;

	if ((why = ws_normalize(root, path, &wp)) != NULL)
		return (ws_reject(op, err, errlen, why));
	if ((dfd = ws_parent(wsfd, &wp, 1)) == -1)
		return (ws_fail(op, err, errlen, path, errno));
	fd = ws_create(dfd, wp.name, mode, &created);
	e = errno;
	close(dfd);
	if (fd == -1)
		return (ws_fail(op, err, errlen, path, e));

	if (fstat(fd, &st) == -1)
		goto fail;
	why = !S_ISREG(st.st_mode) ? "not a regular file" :
	    st.st_nlink > 1 ? "the file has other hard links" : NULL;
	if (why != NULL) {
		close(fd);
		return (ws_reject(op, err, errlen, why));
	}
	if (created && ws_give(fd) == -1)
		goto fail;
	/* The create mode went through the umask and an existing file kept
	 * its own: set it exactly. */
	if (ftruncate(fd, 0) == -1 || fchmod(fd, mode) == -1 ||
	    write_all(fd, data, len) == -1)
		goto fail;
	if (close(fd) == -1)
		return (ws_fail(op, err, errlen, path, errno));
	return (0);
 fail:
	e = errno;
	close(fd);
	return (ws_fail(op, err, errlen, path, e));
}

int
ws_read(int wsfd, const char *root, const char *path, size_t maxlen,
    uint8_t **data, size_t *len, char *err, size_t errlen)
{
	const struct ws_op	*op = &op_read;
	struct ws_path		 wp;
	struct stat		 st;
	const char		*why;
	char			 reason[96];
	int			 fd, e, r;

	*data = NULL;
	*len = 0;
	if ((why = ws_normalize(root, path, &wp)) != NULL)
		return (ws_reject(op, err, errlen, why));
	fd = ws_openat2(wsfd, wp.rel, O_RDONLY | O_NONBLOCK | O_NOFOLLOW, 0);
	if (fd == -1)
		return (ws_fail(op, err, errlen, path, errno));
	if (fstat(fd, &st) == -1) {
		e = errno;
		close(fd);
		return (ws_fail(op, err, errlen, path, e));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return (ws_reject(op, err, errlen, "not a regular file"));
	}
	if ((uintmax_t)st.st_size > maxlen)
		r = 1;
	else
		r = read_bounded(fd, st.st_size, maxlen, data, len);
	e = errno;
	close(fd);
	if (r == -1)
		return (ws_fail(op, err, errlen, path, e));
	if (r == 1) {
		snprintf(reason, sizeof(reason),
		    "file too large (more than %zu bytes)", maxlen);
		return (ws_reject(op, err, errlen, reason));
	}
	return (0);
}

int
ws_delete(int wsfd, const char *root, const char *path, char *err,
    size_t errlen)
{
	const struct ws_op	*op = &op_delete;
	struct ws_path		 wp;
	const char		*why;
	int			 dfd, e;

	if ((why = ws_normalize(root, path, &wp)) != NULL)
		return (ws_reject(op, err, errlen, why));
	if ((dfd = ws_parent(wsfd, &wp, 0)) == -1) {
		if (errno == ENOENT)
			return (0);
		return (ws_fail(op, err, errlen, path, errno));
	}
	if (unlinkat(dfd, wp.name, 0) == -1) {
		e = errno;
		close(dfd);
		if (e == ENOENT)
			return (0);
		if (e == EISDIR)
			return (ws_reject(op, err, errlen,
			    "path is a directory"));
		return (ws_fail(op, err, errlen, path, e));
	}
	close(dfd);
	return (0);
}

/*
 * Open (creating as needed) the directory of an absolute boot file path;
 * *namep is set to the last component.  Returns an O_PATH fd or -1 (errno).
 */
static int
boot_parent(const char *path, const char **namep)
{
	char		 comp[PATH_MAX];
	const char	*p, *end, *name;
	size_t		 clen;
	int		 dfd;

	name = strrchr(path, '/') + 1;
	*namep = name;
	if ((dfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1)
		return (-1);
	for (p = path; p < name; p = end) {
		while (*p == '/')
			p++;
		end = p + strcspn(p, "/");
		clen = end - p;
		if (clen == 0 || p >= name)
			break;
		memcpy(comp, p, clen);
		comp[clen] = '\0';
		if ((dfd = dir_step(dfd, 1, comp, 0)) == -1)
			return (-1);
	}
	return (dfd);
}

int
bootfile_write(const char *path, const void *data, size_t len,
    uint32_t mode, char *err, size_t errlen)
{
	char		 tmp[32];
	struct stat	 st;
	const char	*name;
	int		 dfd, fd, e, tries;

	if (path[0] != '/' || strnlen(path, PATH_MAX) >= PATH_MAX ||
	    has_dotdot(path)) {
		errf(err, errlen, "failed to write boot file %s: %s", path,
		    "path must be absolute, without '..'");
		return (-1);
	}
	if ((dfd = boot_parent(path, &name)) == -1)
		goto fail;
	if (*name == '\0' || strcmp(name, ".") == 0) {
		close(dfd);
		errf(err, errlen, "failed to write boot file %s: %s", path,
		    "path names a directory");
		return (-1);
	}
	/* rename(2) would replace a symlink rather than follow it; refuse
	 * it anyway so that the host learns its path is not what it thinks. */
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    (S_ISLNK(st.st_mode) || S_ISDIR(st.st_mode))) {
		close(dfd);
		errf(err, errlen, "failed to write boot file %s: %s", path,
		    S_ISLNK(st.st_mode) ? "path is a symlink" :
		    "path is a directory");
		return (-1);
	}

	fd = -1;
	for (tries = 0; fd == -1 && tries < 16; tries++) {
		snprintf(tmp, sizeof(tmp), ".capsem-boot.%08x", arc4random());
		fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd == -1 && errno != EEXIST)
			break;
	}
	if (fd == -1) {
		e = errno;
		close(dfd);
		errno = e;
		goto fail;
	}
	if (fchmod(fd, host_mode(mode)) == -1 ||
	    write_all(fd, data, len) == -1) {
		e = errno;
		close(fd);
	} else
		e = close(fd) == -1 ? errno : 0;
	if (e != 0 || renameat(dfd, tmp, dfd, name) == -1) {
		if (e == 0)
			e = errno;
		(void)unlinkat(dfd, tmp, 0);
		close(dfd);
		errno = e;
		goto fail;
	}
	close(dfd);
	return (0);
 fail:
	errf(err, errlen, "failed to write boot file %s: %s", path,
	    strerror(errno));
	return (-1);
}

/*
 * Extension "copy" (capsem-protocol(7)): the destination of a copyin.  The
 * parent directory is opened (created as for ws_write) and the new content
 * goes to an unnamed file in it (O_TMPFILE), or where the file system has
 * none to a named temporary file, given to the workspace's owner and set
 * to its mode; ws_commit later links it under a temporary name and renames
 * it over the path, so the path holds the old file or the whole new one.
 */
int
ws_copy_target(int wsfd, const char *root, const char *path,
    uint32_t hostmode, struct ws_target *t, char *err, size_t errlen)
{
	const struct ws_op	*op = &op_write;
	struct ws_path		 wp;
	struct stat		 st;
	const char		*why;
	int			 e, tries;

	memset(t, 0, sizeof(*t));
	t->dfd = t->fd = -1;
	if ((why = ws_normalize(root, path, &wp)) != NULL)
		return (ws_reject(op, err, errlen, why));
	if (strlen(wp.name) >= sizeof(t->name))
		return (ws_reject(op, err, errlen, "file name too long"));
	strlcpy(t->name, wp.name, sizeof(t->name));
	if ((t->dfd = ws_parent(wsfd, &wp, 1)) == -1)
		return (ws_fail(op, err, errlen, path, errno));
	if (fstatat(t->dfd, t->name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISDIR(st.st_mode)) {
		ws_target_close(t);
		return (ws_reject(op, err, errlen, "path is a directory"));
	}
	t->fd = openat(t->dfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	/* No O_TMPFILE here (EOPNOTSUPP; EISDIR before Linux 3.11). */
	for (tries = 0; t->fd == -1 && (errno == EOPNOTSUPP ||
	    errno == EISDIR || errno == EEXIST) && tries < 16; tries++) {
		snprintf(t->tmpname, sizeof(t->tmpname), ".%.200s.capsem-%08x",
		    t->name, arc4random());
		t->fd = openat(t->dfd, t->tmpname, O_WRONLY | O_CREAT |
		    O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	}
	if (t->fd == -1) {
		e = errno;
		t->tmpname[0] = '\0';
		ws_target_close(t);
		return (ws_fail(op, err, errlen, path, e));
	}
	if (ws_give(t->fd) == -1 || fchmod(t->fd, host_mode(hostmode)) == -1) {
		e = errno;
		ws_target_discard(t);
		return (ws_fail(op, err, errlen, path, e));
	}
	return (0);
}

/* All of it is written: put it in place (the fd stays open). */
int
ws_commit(struct ws_target *t, const char *path, char *err, size_t errlen)
{
	char	 proc[64];
	int	 e, tries;

	if (t->tmpname[0] == '\0') {
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", t->fd);
		for (tries = 0; tries < 16; tries++) {
			snprintf(t->tmpname, sizeof(t->tmpname),
			    ".%.200s.capsem-%08x", t->name, arc4random());
			if (linkat(AT_FDCWD, proc, t->dfd, t->tmpname,
			    AT_SYMLINK_FOLLOW) == 0)
				break;
			if (errno != EEXIST) {
				e = errno;
				t->tmpname[0] = '\0';
				return (ws_fail(&op_write, err, errlen, path,
				    e));
			}
		}
	}
	if (renameat(t->dfd, t->tmpname, t->dfd, t->name) == -1) {
		e = errno;
		(void)unlinkat(t->dfd, t->tmpname, 0);
		t->tmpname[0] = '\0';
		if (e == EISDIR)
			return (ws_reject(&op_write, err, errlen,
			    "path is a directory"));
		return (ws_fail(&op_write, err, errlen, path, e));
	}
	t->tmpname[0] = '\0';
	return (0);
}

/* The copy failed: nothing of it stays. */
void
ws_target_discard(struct ws_target *t)
{
	if (t->tmpname[0] != '\0' && t->dfd != -1)
		(void)unlinkat(t->dfd, t->tmpname, 0);
	t->tmpname[0] = '\0';
	ws_target_close(t);
}

void
ws_target_close(struct ws_target *t)
{
	if (t->fd != -1)
		close(t->fd);
	if (t->dfd != -1)
		close(t->dfd);
	t->fd = t->dfd = -1;
}

/* copyin of a directory: made with its parents; one already there is fine. */
int
ws_mkdir(int wsfd, const char *root, const char *path, uint32_t hostmode,
    char *err, size_t errlen)
{
	const struct ws_op	*op = &op_write;
	struct ws_path		 wp;
	struct stat		 st;
	const char		*why;
	mode_t			 mode;
	int			 dfd, fd, e;

	mode = hostmode & FILEOPS_MODEMASK;
	if (mode == 0)
		mode = FILEOPS_DIRMODE;
	if ((why = ws_normalize(root, path, &wp)) != NULL)
		return (ws_reject(op, err, errlen, why));
	if ((dfd = ws_parent(wsfd, &wp, 1)) == -1)
		return (ws_fail(op, err, errlen, path, errno));
	if (mkdirat(dfd, wp.name, mode) == 0) {
		if ((fd = ws_openat2(dfd, wp.name, O_PATH | O_DIRECTORY,
		    0)) == -1 || ws_give(fd) == -1 ||
		    fchmodat(dfd, wp.name, mode, 0) == -1) {
			e = errno;
			if (fd != -1)
				close(fd);
			close(dfd);
			return (ws_fail(op, err, errlen, path, e));
		}
		close(fd);
	} else if (errno != EEXIST ||
	    fstatat(dfd, wp.name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
	    !S_ISDIR(st.st_mode)) {
		e = errno == EEXIST ? ENOTDIR : errno;
		close(dfd);
		return (ws_fail(op, err, errlen, path, e));
	}
	close(dfd);
	return (0);
}

/*
 * copytimes: the modification time of the directory path (made by
 * ws_mkdir), its access time left alone; never through a symbolic link
 * (one put there since sets its own time).
 */
int
ws_dirtime(int wsfd, const char *root, const char *path,
    const struct timespec *mtime, char *err, size_t errlen)
{
	const struct ws_op	*op = &op_write;
	struct ws_path		 wp;
	struct timespec		 ts[2];
	const char		*why;
	int			 dfd, e;

	if ((why = ws_normalize(root, path, &wp)) != NULL)
		return (ws_reject(op, err, errlen, why));
	if ((dfd = ws_parent(wsfd, &wp, 0)) == -1)
		return (ws_fail(op, err, errlen, path, errno));
	mtime_only(ts, *mtime);
	if (utimensat(dfd, wp.name, ts, AT_SYMLINK_NOFOLLOW) == -1) {
		e = errno;
		close(dfd);
		snprintf(err, errlen, "failed to set the modification time of "
		    "%s: %s", path, strerror(e));
		return (-1);
	}
	close(dfd);
	return (0);
}

/* copyout: a regular file or a directory, opened for reading; *st set. */
int
ws_open_source(int wsfd, const char *root, const char *path, int *fdp,
    struct stat *st, char *err, size_t errlen)
{
	const struct ws_op	*op = &op_read;
	struct ws_path		 wp;
	const char		*why;
	int			 fd, e;

	*fdp = -1;
	if ((why = ws_normalize(root, path, &wp)) != NULL &&
	    strcmp(why, "path names a directory") != 0 &&
	    strcmp(why, "path is the workspace root") != 0)
		return (ws_reject(op, err, errlen, why));
	if (why != NULL && wp.ncomp == 0)
		fd = openat(wsfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	else
		fd = ws_openat2(wsfd, wp.rel, O_RDONLY | O_NONBLOCK |
		    O_NOFOLLOW, 0);
	if (fd == -1)
		return (ws_fail(op, err, errlen, path, errno));
	if (fstat(fd, st) == -1) {
		e = errno;
		close(fd);
		return (ws_fail(op, err, errlen, path, e));
	}
	if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode)) {
		close(fd);
		return (ws_reject(op, err, errlen, "not a regular file"));
	}
	if (why != NULL && !S_ISDIR(st->st_mode)) {
		close(fd);
		return (ws_reject(op, err, errlen, why));
	}
	/* Blocking from here on: the runner waits on the disk, not a FIFO. */
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	*fdp = fd;
	return (0);
}
