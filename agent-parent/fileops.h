/*
 * File operations of the guest parent (capsem-agent): the runtime
 * filewrite / fileread / filedelete confined to the workspace root, and the
 * boot files written before the shell starts.
 *
 * Input from the host: untrusted.  A runtime path is absolute inside the
 * workspace root (root "/root", path "/root/a/b.txt") or relative to it.
 * Every component is resolved with openat2(2) RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS relative to the workspace fd,
 * so no symlink (final or intermediate, pointing inside or outside) is ever
 * followed and nothing outside the root is reached; `..` components are
 * rejected before any system call.  Missing parents of a write are created
 * one component at a time (mode 0755, umask applies).
 *
 * The path must be a C string: the caller rejects a wire string holding a
 * NUL (strlen(s) != len) before calling.
 *
 * Every function returns 0 on success, -1 on failure with err (errlen
 * bytes, always NUL-terminated, truncated on a UTF-8 boundary) set to the
 * text the guest sends in error{id, message}:
 *   "FileWrite rejected: REASON" (FileRead, FileDelete alike) when the path
 *   is refused (`..`, outside the root, a symlink, not a regular file, the
 *   workspace root itself, too long, too large for the caller's limit), or
 *   "failed to write PATH: strerror" (read, delete alike) on an I/O error;
 *   PATH is the path as the host gave it.
 */
#ifndef FILEOPS_H
#define FILEOPS_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#define WS_MAXCOMPONENTS	256	/* path components in one path */
#define FILEOPS_DEFMODE		0644	/* a write with mode 0 */
#define FILEOPS_DIRMODE		0755	/* parents created on the way */
#define FILEOPS_MODEMASK	01777	/* a host's mode: never setuid/gid */

/* O_PATH | O_DIRECTORY | O_CLOEXEC fd of the workspace root, or -1 (errno
 * set).  The root itself may be reached through symlinks: it is ours. */
int	 ws_open(const char *root);

/* Who files and directories ws_write creates belong to ((uid_t)-1 and
 * (gid_t)-1, the default: whoever made them); existing ones keep theirs. */
void	 ws_set_owner(uid_t uid, gid_t gid);

/* Create or truncate the file, set its mode to exactly
 * mode & FILEOPS_MODEMASK (FILEOPS_DEFMODE if that is 0), write len bytes.
 * A file with more than one link is refused: it may be anyone's. */
int	 ws_write(int wsfd, const char *root, const char *path,
	    const void *data, size_t len, uint32_t mode, char *err,
	    size_t errlen);

/* Read a regular file of at most maxlen bytes into *data (malloc'ed, never
 * NULL on success, even when *len is 0; the caller frees it).  A larger
 * file is rejected ("file too large"). */
int	 ws_read(int wsfd, const char *root, const char *path, size_t maxlen,
	    uint8_t **data, size_t *len, char *err, size_t errlen);

/* Unlink a file (a symlink at the final component is removed itself, never
 * followed).  A missing file or a missing parent is success; a directory
 * is rejected. */
int	 ws_delete(int wsfd, const char *root, const char *path, char *err,
	    size_t errlen);

/* Boot files (filewrite id 0 before bootconfigdone): path is absolute,
 * already validated by the caller (proto/validate.h); `..` components are
 * refused again here.  Missing parents are created (0755); intermediate
 * symlinks are followed (boot files belong to the system image, e.g.
 * /var/run), a symlink or directory at the final component is refused.
 * Written to a temporary file in the same directory, mode exactly
 * mode & FILEOPS_MODEMASK (FILEOPS_DEFMODE if 0), then renamed over the
 * path (a hard link there is replaced, never written through), so a
 * reader sees the old or the new content, never a mix.  err is
 * "failed to write boot file PATH: ..." for the caller's log. */
int	 bootfile_write(const char *path, const void *data, size_t len,
	    uint32_t mode, char *err, size_t errlen);

/*
 * Extension "copy": the destination of a copyin, in its directory.  fd is
 * an unnamed file (O_TMPFILE, tmpname "") or the named temporary tmpname;
 * ws_commit puts it at name atomically, ws_target_discard removes it.
 */
struct ws_target {
	int		 dfd;		/* O_PATH, the destination's directory */
	int		 fd;		/* written by the copy */
	char		 name[256];
	char		 tmpname[256];
};

int	 ws_copy_target(int, const char *, const char *, uint32_t,
	    struct ws_target *, char *, size_t);
int	 ws_commit(struct ws_target *, const char *, char *, size_t);
void	 ws_target_discard(struct ws_target *);
void	 ws_target_close(struct ws_target *);
/* A directory with its parents (mode & 01777, 0: 0755). */
int	 ws_mkdir(int, const char *, const char *, uint32_t, char *, size_t);
/* Its modification time (copytimes). */
struct timespec;
int	 ws_dirtime(int, const char *, const char *, const struct timespec *,
	    char *, size_t);
/* A regular file or directory (the workspace root too) to copy out. */
struct stat;
int	 ws_open_source(int, const char *, const char *, int *, struct stat *,
	    char *, size_t);

#endif /* FILEOPS_H */
