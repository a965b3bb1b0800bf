/*
 * Unit tests of agent-parent/fileops.c with a fresh temporary directory as
 * the workspace root (and a sibling directory standing for "outside"):
 * write/read/delete round trips, parents created, modes applied exactly,
 * `..` in any spelling, absolute paths outside the root, symlinks at the
 * final or an intermediate component (pointing inside or outside) never
 * followed, delete of a missing file or a directory, reads of non-regular
 * or too large files, message texts, and boot files (parents, atomic
 * replace, final symlink refused).  No write goes through a hard link or
 * keeps a setuid or setgid bit, and new files and directories belong to
 * the owner set with ws_set_owner.  The copy destinations (extension
 * "copy") appear only at ws_commit, atomically, and never write through a
 * hard link.  Descriptor leaks are checked by
 * counting /proc/self/fd around every test.
 */

#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <seccomp.h>

#include "fileops.h"
#include "testutil.h"

#define MAXLEN	(1024 * 1024)

struct fx {
	char	 top[64];		/* mkdtemp: holds ws/ and out/ */
	char	 root[128];		/* the workspace root */
	char	 out[128];		/* outside the workspace */
	int	 wsfd;
	int	 nfds;
	char	 err[512];
};

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	return (remove(p));
}

static int
setup(void **state)
{
	struct fx	*f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return (-1);
	strlcpy(f->top, "/tmp/capsem-fileops.XXXXXX", sizeof(f->top));
	if (mkdtemp(f->top) == NULL)
		return (-1);
	snprintf(f->root, sizeof(f->root), "%s/ws", f->top);
	snprintf(f->out, sizeof(f->out), "%s/out", f->top);
	if (mkdir(f->root, 0755) == -1 || mkdir(f->out, 0755) == -1)
		return (-1);
	f->nfds = count_fds();
	if ((f->wsfd = ws_open(f->root)) == -1)
		return (-1);
	*state = f;
	return (0);
}

static int
teardown(void **state)
{
	struct fx	*f = *state;
	int		 leaked;

	close(f->wsfd);
	leaked = count_fds() != f->nfds;
	nftw(f->top, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return (leaked ? -1 : 0);
}

static void
path_in(char *buf, size_t len, const char *dir, const char *name)
{
	assert_true((size_t)snprintf(buf, len, "%s/%s", dir, name) < len);
}

static void
put_file(const char *dir, const char *name, const char *text)
{
	char	 p[PATH_MAX];
	FILE	*fp;

	path_in(p, sizeof(p), dir, name);
	assert_non_null(fp = fopen(p, "w"));
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
}

/* The content of dir/name, or "<missing>". */
static const char *
get_file(const char *dir, const char *name)
{
	static char	 buf[256];
	char		 p[PATH_MAX];
	FILE		*fp;
	size_t		 n;

	path_in(p, sizeof(p), dir, name);
	if ((fp = fopen(p, "r")) == NULL)
		return ("<missing>");
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return (buf);
}

static int
exists(const char *dir, const char *name)
{
	char		 p[PATH_MAX];
	struct stat	 st;

	path_in(p, sizeof(p), dir, name);
	return (lstat(p, &st) == 0);
}

static void
mklink(const char *target, const char *dir, const char *name)
{
	char	 p[PATH_MAX];

	path_in(p, sizeof(p), dir, name);
	assert_int_equal(symlink(target, p), 0);
}

static int
wr(struct fx *f, const char *path, const char *text, uint32_t mode)
{
	f->err[0] = '\0';
	return (ws_write(f->wsfd, f->root, path, text, strlen(text), mode,
	    f->err, sizeof(f->err)));
}

static int
rd(struct fx *f, const char *path, size_t maxlen, char *out, size_t outlen)
{
	uint8_t	*data;
	size_t	 len;
	int	 r;

	f->err[0] = '\0';
	r = ws_read(f->wsfd, f->root, path, maxlen, &data, &len, f->err,
	    sizeof(f->err));
	if (r == 0) {
		assert_non_null(data);
		assert_true(len < outlen);
		memcpy(out, data, len);
		out[len] = '\0';
		free(data);
	} else {
		assert_null(data);
		assert_int_equal(len, 0);
	}
	return (r);
}

static int
del(struct fx *f, const char *path)
{
	f->err[0] = '\0';
	return (ws_delete(f->wsfd, f->root, path, f->err, sizeof(f->err)));
}

/*
 * path must be refused by a write (of "evil", default mode), a read or a
 * delete with exactly the message want (NULL: any message).
 */
static void
check_refused(struct fx *f, const char *op, const char *path, int rc,
    const char *want)
{
	if (rc != -1)
		fail_msg("%s %s: done, expected \"%s\"", op, path,
		    want != NULL ? want : "an error");
	if (want != NULL && strcmp(f->err, want) != 0)
		fail_msg("%s %s: \"%s\", expected \"%s\"", op, path, f->err,
		    want);
}

static void
wr_refused(struct fx *f, const char *path, const char *want)
{
	check_refused(f, "write", path, wr(f, path, "evil", 0), want);
}

static void
rd_refused(struct fx *f, const char *path, const char *want)
{
	char	buf[64];

	check_refused(f, "read", path, rd(f, path, MAXLEN, buf, sizeof(buf)),
	    want);
}

static void
del_refused(struct fx *f, const char *path, const char *want)
{
	check_refused(f, "delete", path, del(f, path), want);
}

static void
test_roundtrip(void **state)
{
	struct fx	*f = *state;
	char		 buf[256], abs[PATH_MAX];

	assert_int_equal(wr(f, "a.txt", "hello world", 0), 0);
	assert_string_equal(get_file(f->root, "a.txt"), "hello world");
	assert_int_equal(rd(f, "a.txt", MAXLEN, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "hello world");

	/* Truncated on rewrite; absolute and relative name the same file. */
	path_in(abs, sizeof(abs), f->root, "a.txt");
	assert_int_equal(wr(f, abs, "short", 0), 0);
	assert_int_equal(rd(f, "./a.txt", MAXLEN, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "short");

	/* Empty file: data non-NULL, length 0. */
	assert_int_equal(wr(f, "empty", "", 0), 0);
	assert_int_equal(rd(f, "empty", MAXLEN, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");

	assert_int_equal(del(f, abs), 0);
	assert_false(exists(f->root, "a.txt"));
	rd_refused(f, "a.txt",
	    "failed to read a.txt: No such file or directory");
}

static void
test_root_slash(void **state)
{
	struct fx	*f = *state;
	char		 root[PATH_MAX + 1], path[PATH_MAX];
	char		 buf[64];

	/* A root given with a trailing slash, a path with doubled ones. */
	snprintf(root, sizeof(root), "%s/", f->root);
	snprintf(path, sizeof(path), "%s//x//y.txt", f->root);
	assert_int_equal(ws_write(f->wsfd, root, path, "1", 1, 0, f->err,
	    sizeof(f->err)), 0);
	assert_int_equal(rd(f, "x/y.txt", MAXLEN, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "1");
}

static void
test_nested_parents(void **state)
{
	struct fx	*f = *state;
	char		 p[PATH_MAX];
	struct stat	 st;

	assert_int_equal(wr(f, "d1/d2/d3/f.txt", "deep", 0), 0);
	assert_string_equal(get_file(f->root, "d1/d2/d3/f.txt"), "deep");
	path_in(p, sizeof(p), f->root, "d1/d2");
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISDIR(st.st_mode));

	/* Some parents exist already. */
	assert_int_equal(wr(f, "d1/d2/e/f.txt", "more", 0), 0);
	assert_string_equal(get_file(f->root, "d1/d2/e/f.txt"), "more");

	/* A parent that is a file: an I/O failure naming the path. */
	wr_refused(f, "d1/d2/d3/f.txt/x",
	    "failed to write d1/d2/d3/f.txt/x: Not a directory");
}

static void
test_mode(void **state)
{
	struct fx	*f = *state;
	char		 p[PATH_MAX];
	struct stat	 st;

	path_in(p, sizeof(p), f->root, "m");
	assert_int_equal(wr(f, "m", "x", 0600), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);

	/* An existing file takes the new mode, umask does not apply. */
	assert_int_equal(wr(f, "m", "x", 0777), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0777);

	/* Type bits are dropped, 0 means the default. */
	assert_int_equal(wr(f, "m", "x", 0100640), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(wr(f, "m", "x", 0), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, FILEOPS_DEFMODE);

	/* A read-only mode still gets the data written. */
	assert_int_equal(wr(f, "ro", "data", 0400), 0);
	assert_string_equal(get_file(f->root, "ro"), "data");
}

/* setuid and setgid are never set, whatever the host asks (06000). */
static void
test_mode_setid(void **state)
{
	struct fx	*f = *state;
	char		 p[PATH_MAX], err[256];
	struct stat	 st;

	path_in(p, sizeof(p), f->root, "suid");
	assert_int_equal(wr(f, "suid", "x", 06755), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);

	/* An existing setuid file loses the bit too. */
	assert_int_equal(chmod(p, 04755), 0);
	assert_int_equal(wr(f, "suid", "y", 04711), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0711);

	path_in(p, sizeof(p), f->out, "bootsuid");
	assert_int_equal(bootfile_write(p, "z", 1, 06755, err,
	    sizeof(err)), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
}

/*
 * A file with another link (to a file outside the workspace, here) is
 * refused, and what it links to is left as it was: content and mode.
 */
static void
test_hardlink(void **state)
{
	struct fx	*f = *state;
	char		 p[PATH_MAX], q[PATH_MAX];
	struct stat	 st;

	put_file(f->out, "target", "outside");
	path_in(p, sizeof(p), f->out, "target");
	assert_int_equal(chmod(p, 0600), 0);
	path_in(q, sizeof(q), f->root, "hl");
	assert_int_equal(link(p, q), 0);
	wr_refused(f, "hl", "FileWrite rejected: the file has other hard "
	    "links");
	assert_string_equal(get_file(f->out, "target"), "outside");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
}

/* New files and directories belong to the owner set; existing ones keep
 * theirs.  Only root can give a file away. */
static void
test_owner(void **state)
{
	struct fx	*f = *state;
	char		 p[PATH_MAX];
	struct stat	 st;

	if (geteuid() != 0) {
		print_message("not root: not checked\n");
		return;
	}
	put_file(f->root, "old", "x");
	ws_set_owner(65534, 65534);
	assert_int_equal(wr(f, "new/file", "x", 0644), 0);
	assert_int_equal(wr(f, "old", "y", 0644), 0);
	ws_set_owner((uid_t)-1, (gid_t)-1);
	path_in(p, sizeof(p), f->root, "new/file");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_uid, 65534);
	assert_int_equal(st.st_gid, 65534);
	path_in(p, sizeof(p), f->root, "new");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_uid, 65534);
	path_in(p, sizeof(p), f->root, "old");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_uid, 0);
}

static void
test_dotdot(void **state)
{
	struct fx	*f = *state;
	const char	*bad[] = { "..", "../x", "a/../../x", "a/..", "a/../b",
	    "./../x", "a//..//x", NULL };
	char		 p[PATH_MAX];
	int		 i;

	put_file(f->out, "passwd", "outside");
	for (i = 0; bad[i] != NULL; i++) {
		wr_refused(f, bad[i], "FileWrite rejected: path contains '..'");
		rd_refused(f, bad[i], "FileRead rejected: path contains '..'");
		del_refused(f, bad[i],
		    "FileDelete rejected: path contains '..'");
	}
	/* "/ROOT/../out/passwd": inside the root lexically, then up. */
	snprintf(p, sizeof(p), "%s/../out/passwd", f->root);
	wr_refused(f, p, "FileWrite rejected: path contains '..'");
	del_refused(f, p, NULL);
	assert_string_equal(get_file(f->out, "passwd"), "outside");

	/* Dots that are not `..` are plain names. */
	assert_int_equal(wr(f, "...", "3", 0), 0);
	assert_int_equal(wr(f, "a..b/..c", "4", 0), 0);
	assert_string_equal(get_file(f->root, "a..b/..c"), "4");
}

static void
test_outside_absolute(void **state)
{
	struct fx	*f = *state;
	char		 p[PATH_MAX];

	path_in(p, sizeof(p), f->out, "x");
	wr_refused(f, p, "FileWrite rejected: path escapes the workspace");
	assert_false(exists(f->out, "x"));

	rd_refused(f, "/etc/passwd",
	    "FileRead rejected: path escapes the workspace");

	/* A sibling whose name starts with the root's. */
	snprintf(p, sizeof(p), "%sx/y", f->root);
	wr_refused(f, p, "FileWrite rejected: path escapes the workspace");
	del_refused(f, "/etc/hostname",
	    "FileDelete rejected: path escapes the workspace");
}

static void
test_root_itself(void **state)
{
	struct fx	*f = *state;
	char		 p[PATH_MAX];

	wr_refused(f, "", "FileWrite rejected: empty path");
	wr_refused(f, ".", "FileWrite rejected: path is the workspace root");
	wr_refused(f, f->root,
	    "FileWrite rejected: path is the workspace root");
	snprintf(p, sizeof(p), "%s/./", f->root);
	del_refused(f, p, "FileDelete rejected: path is the workspace root");
	wr_refused(f, "d/", "FileWrite rejected: path names a directory");
	assert_false(exists(f->root, "d"));
}

static void
test_symlink_final(void **state)
{
	struct fx	*f = *state;
	char		 target[PATH_MAX];

	put_file(f->out, "secret", "outside");
	path_in(target, sizeof(target), f->out, "secret");
	mklink(target, f->root, "lout");
	put_file(f->root, "real.txt", "inside");
	mklink("real.txt", f->root, "lin");
	mklink("nowhere", f->root, "dangling");

	wr_refused(f, "lout", "FileWrite rejected: path is a symlink");
	rd_refused(f, "lout", "FileRead rejected: path is a symlink");
	assert_string_equal(get_file(f->out, "secret"), "outside");

	wr_refused(f, "lin", "FileWrite rejected: path is a symlink");
	rd_refused(f, "lin", "FileRead rejected: path is a symlink");
	assert_string_equal(get_file(f->root, "real.txt"), "inside");

	wr_refused(f, "dangling", "FileWrite rejected: path is a symlink");
	assert_false(exists(f->root, "nowhere"));

	/* Delete removes the link itself, never its target. */
	assert_int_equal(del(f, "lout"), 0);
	assert_false(exists(f->root, "lout"));
	assert_string_equal(get_file(f->out, "secret"), "outside");
}

static void
test_symlink_intermediate(void **state)
{
	struct fx	*f = *state;

	mklink(f->out, f->root, "sd");
	put_file(f->out, "f", "outside");

	wr_refused(f, "sd/f", "FileWrite rejected: path is a symlink");
	assert_string_equal(get_file(f->out, "f"), "outside");
	rd_refused(f, "sd/f", "FileRead rejected: path is a symlink");
	del_refused(f, "sd/f", "FileDelete rejected: path is a symlink");
	assert_true(exists(f->out, "f"));

	/* The missing parent below the symlinked directory is not made. */
	wr_refused(f, "sd/new/f", "FileWrite rejected: path is a symlink");
	assert_false(exists(f->out, "new"));

	/* A symlink deeper down, pointing inside the workspace. */
	assert_int_equal(wr(f, "real/sub/keep", "k", 0), 0);
	mklink("../real", f->root, "real/sub/up");
	wr_refused(f, "real/sub/up/sub/x",
	    "FileWrite rejected: path is a symlink");
	rd_refused(f, "real/sub/up/sub/keep",
	    "FileRead rejected: path is a symlink");
	mklink("real", f->root, "rl");
	wr_refused(f, "rl/sub/x", NULL);
	assert_false(exists(f->root, "real/sub/x"));
}

static void
test_delete(void **state)
{
	struct fx	*f = *state;
	char		 p[PATH_MAX];

	assert_int_equal(del(f, "nope.txt"), 0);
	assert_int_equal(del(f, "nodir/deeper/nope.txt"), 0);

	path_in(p, sizeof(p), f->root, "dd");
	assert_int_equal(mkdir(p, 0755), 0);
	del_refused(f, "dd", "FileDelete rejected: path is a directory");
	assert_true(exists(f->root, "dd"));

	put_file(f->root, "file", "x");
	del_refused(f, "file/x", "failed to delete file/x: Not a directory");

	assert_int_equal(wr(f, "dd/in/f", "x", 0), 0);
	assert_int_equal(del(f, "dd/in/f"), 0);
	assert_false(exists(f->root, "dd/in/f"));
	assert_true(exists(f->root, "dd/in"));
}

static void
test_read_nonregular(void **state)
{
	struct fx	*f = *state;
	char		 p[PATH_MAX];

	path_in(p, sizeof(p), f->root, "dir");
	assert_int_equal(mkdir(p, 0755), 0);
	rd_refused(f, "dir", "FileRead rejected: not a regular file");
	wr_refused(f, "dir", "failed to write dir: Is a directory");

	/* A FIFO with no writer must not block the parent. */
	path_in(p, sizeof(p), f->root, "fifo");
	assert_int_equal(mkfifo(p, 0644), 0);
	rd_refused(f, "fifo", "FileRead rejected: not a regular file");
	wr_refused(f, "fifo",
	    "failed to write fifo: No such device or address");
}

static void
test_read_maxlen(void **state)
{
	struct fx	*f = *state;
	char		 data[101], buf[128];

	memset(data, 'z', 100);
	data[100] = '\0';
	assert_int_equal(wr(f, "big", data, 0), 0);
	assert_int_equal(rd(f, "big", 100, buf, sizeof(buf)), 0);
	assert_string_equal(buf, data);
	assert_int_equal(rd(f, "big", 99, buf, sizeof(buf)), -1);
	assert_string_equal(f->err,
	    "FileRead rejected: file too large (more than 99 bytes)");
	assert_int_equal(rd(f, "big", 0, buf, sizeof(buf)), -1);
	assert_int_equal(wr(f, "empty", "", 0), 0);
	assert_int_equal(rd(f, "empty", 0, buf, sizeof(buf)), 0);
}

static void
test_bounds(void **state)
{
	struct fx	*f = *state;
	char		*p;
	size_t		 i;

	assert_non_null(p = malloc(PATH_MAX + 16));
	memset(p, 'a', PATH_MAX + 15);
	p[PATH_MAX + 15] = '\0';
	wr_refused(f, p, "FileWrite rejected: path too long");

	for (i = 0; i < 2 * (WS_MAXCOMPONENTS + 1); i += 2) {
		p[i] = 'a';
		p[i + 1] = '/';
	}
	p[i - 1] = '\0';
	wr_refused(f, p, "FileWrite rejected: too many path components");
	p[i - 3] = '\0';
	assert_int_equal(wr(f, p, "x", 0), 0);

	/* A 300-byte component: the kernel's ENAMETOOLONG, reported. */
	memset(p, 'b', 300);
	p[300] = '\0';
	wr_refused(f, p, NULL);
	assert_true(strstr(f->err, "File name too long") != NULL);
	free(p);
}

static void
test_err_truncation(void **state)
{
	struct fx	*f = *state;
	char		 err[24], path[64];

	/* "é" (2 bytes) straddling the cut at byte 23. */
	snprintf(path, sizeof(path), "%s", "abcdefghijklm\xc3\xa9/x");
	put_file(f->root, "abcdefghijklm\xc3\xa9", "file");
	put_file(f->root, "ghijklm\xc3\xa9", "file");
	put_file(f->root, "hijklm\xc3\xa9", "file");
	memset(err, 'Q', sizeof(err));
	assert_int_equal(ws_write(f->wsfd, f->root, path, "x", 1, 0, err,
	    sizeof(err)), -1);
	/* "failed to write abcdefg" is 23 bytes: fits exactly. */
	assert_string_equal(err, "failed to write abcdefg");
	memset(err, 'Q', sizeof(err));
	assert_int_equal(ws_write(f->wsfd, f->root, path + 6, "x", 1, 0, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "failed to write ghijklm");
	memset(err, 'Q', sizeof(err));
	assert_int_equal(ws_write(f->wsfd, f->root, path + 7, "x", 1, 0, err,
	    sizeof(err)), -1);
	/* "failed to write hijklm" + 0xc3 would end mid-character. */
	assert_string_equal(err, "failed to write hijklm");
	assert_int_equal(ws_write(f->wsfd, f->root, "..", "x", 1, 0, NULL,
	    0), -1);
}

static void
test_ws_open(void **state)
{
	struct fx	*f = *state;
	char		 p[PATH_MAX];
	int		 fd;

	path_in(p, sizeof(p), f->root, "nope");
	assert_int_equal(ws_open(p), -1);
	put_file(f->root, "file", "x");
	path_in(p, sizeof(p), f->root, "file");
	assert_int_equal(ws_open(p), -1);
	assert_true((fd = ws_open(f->root)) >= 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
}

static void
test_bootfile(void **state)
{
	struct fx	*f = *state;
	char		 p[PATH_MAX], target[PATH_MAX], err[256];
	struct stat	 st, st2;
	DIR		*d;
	struct dirent	*de;
	int		 n;

	path_in(p, sizeof(p), f->out, "etc/sub/conf");
	assert_int_equal(bootfile_write(p, "one", 3, 0600, err,
	    sizeof(err)), 0);
	assert_string_equal(get_file(f->out, "etc/sub/conf"), "one");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);

	/* Replaced by rename: a new inode, the new mode, no temp left. */
	assert_int_equal(bootfile_write(p, "second", 6, 0, err,
	    sizeof(err)), 0);
	assert_string_equal(get_file(f->out, "etc/sub/conf"), "second");
	assert_int_equal(stat(p, &st2), 0);
	assert_true(st.st_ino != st2.st_ino);
	assert_int_equal(st2.st_mode & 07777, FILEOPS_DEFMODE);
	path_in(p, sizeof(p), f->out, "etc/sub");
	assert_non_null(d = opendir(p));
	n = 0;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' || strlen(de->d_name) > 2)
			n++;
	closedir(d);
	assert_int_equal(n, 1);

	/* A symlink at the final component is refused, target untouched. */
	put_file(f->root, "target", "keep");
	path_in(target, sizeof(target), f->root, "target");
	mklink(target, f->out, "link");
	path_in(p, sizeof(p), f->out, "link");
	assert_int_equal(bootfile_write(p, "evil", 4, 0, err,
	    sizeof(err)), -1);
	assert_true(strstr(err, "path is a symlink") != NULL);
	assert_string_equal(get_file(f->root, "target"), "keep");
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISLNK(st.st_mode));

	/* A directory there, a relative path, `..`. */
	assert_int_equal(bootfile_write(f->out, "x", 1, 0, err,
	    sizeof(err)), -1);
	assert_true(strstr(err, "path is a directory") != NULL);
	assert_int_equal(bootfile_write("etc/x", "x", 1, 0, err,
	    sizeof(err)), -1);
	snprintf(p, sizeof(p), "%s/../x", f->out);
	assert_int_equal(bootfile_write(p, "x", 1, 0, err, sizeof(err)), -1);
	assert_false(exists(f->top, "x"));

	/* A parent that is a file. */
	path_in(p, sizeof(p), f->out, "etc/sub/conf/x");
	assert_int_equal(bootfile_write(p, "x", 1, 0, err, sizeof(err)), -1);
	assert_true(strstr(err, "Not a directory") != NULL);
}

/*
 * The O_NOFOLLOW walk used without openat2 (old kernels, valgrind): a child
 * makes openat2 fail with ENOSYS through seccomp and repeats the essential
 * confinement checks.  Exit status: 0 or the failing line.
 */
#define CHILD_CHECK(c)	do { if (!(c)) _exit(__LINE__ & 0xff); } while (0)

static void
fallback_checks(struct fx *f)
{
	char	 buf[64];

	CHILD_CHECK(wr(f, "n1/n2/f", "deep", 0600) == 0);
	CHILD_CHECK(strcmp(get_file(f->root, "n1/n2/f"), "deep") == 0);
	CHILD_CHECK(rd(f, "n1/n2/f", MAXLEN, buf, sizeof(buf)) == 0);
	CHILD_CHECK(strcmp(buf, "deep") == 0);
	CHILD_CHECK(wr(f, "lout", "evil", 0) == -1);
	CHILD_CHECK(strcmp(f->err, "FileWrite rejected: path is a symlink")
	    == 0);
	CHILD_CHECK(rd(f, "lout", MAXLEN, buf, sizeof(buf)) == -1);
	CHILD_CHECK(strcmp(f->err, "FileRead rejected: path is a symlink")
	    == 0);
	CHILD_CHECK(wr(f, "sd/f", "evil", 0) == -1);
	CHILD_CHECK(strcmp(f->err, "FileWrite rejected: path is a symlink")
	    == 0);
	CHILD_CHECK(wr(f, "sd/new/f", "evil", 0) == -1);
	CHILD_CHECK(!exists(f->out, "new"));
	CHILD_CHECK(rd(f, "sd/secret", MAXLEN, buf, sizeof(buf)) == -1);
	CHILD_CHECK(del(f, "sd/secret") == -1);
	CHILD_CHECK(strcmp(f->err, "FileDelete rejected: path is a symlink")
	    == 0);
	CHILD_CHECK(strcmp(get_file(f->out, "secret"), "outside") == 0);
	CHILD_CHECK(rd(f, "n1", MAXLEN, buf, sizeof(buf)) == -1);
	CHILD_CHECK(strcmp(f->err, "FileRead rejected: not a regular file")
	    == 0);
	CHILD_CHECK(wr(f, "n1/n2/f/x", "x", 0) == -1);
	CHILD_CHECK(strcmp(f->err,
	    "failed to write n1/n2/f/x: Not a directory") == 0);
	CHILD_CHECK(del(f, "n1/missing/f") == 0);
	CHILD_CHECK(del(f, "n1/n2/f") == 0);
	CHILD_CHECK(!exists(f->root, "n1/n2/f"));
}

static void
test_fallback_walk(void **state)
{
	struct fx	*f = *state;
	char		 target[PATH_MAX];
	scmp_filter_ctx	 ctx;
	pid_t		 pid;
	int		 status;

	put_file(f->out, "secret", "outside");
	path_in(target, sizeof(target), f->out, "secret");
	mklink(target, f->root, "lout");
	mklink(f->out, f->root, "sd");

	assert_true((pid = fork()) != -1);
	if (pid == 0) {
		if ((ctx = seccomp_init(SCMP_ACT_ALLOW)) == NULL ||
		    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS),
		    SCMP_SYS(openat2), 0) != 0 || seccomp_load(ctx) != 0)
			_exit(254);
		seccomp_release(ctx);
		fallback_checks(f);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/*
 * Extension "copy": the destination of a copyin is invisible until
 * ws_commit (the old content stays readable meanwhile), then replaces the
 * path atomically, with the mode masked and the owner set; a discarded one
 * leaves nothing; the same refusals as ws_write (`..`, outside, symlinked
 * parents, a directory at the path).
 */
static void
test_copy_target(void **state)
{
	struct fx	*f = *state;
	struct ws_target t;
	struct stat	 st;
	char		 p[PATH_MAX];
	DIR		*d;
	struct dirent	*de;
	int		 n;

	put_file(f->root, "old", "old content");
	assert_int_equal(ws_copy_target(f->wsfd, f->root, "old", 04755, &t,
	    f->err, sizeof(f->err)), 0);
	assert_int_equal(write(t.fd, "new", 3), 3);
	assert_string_equal(get_file(f->root, "old"), "old content");
	assert_int_equal(ws_commit(&t, "old", f->err, sizeof(f->err)), 0);
	ws_target_close(&t);
	assert_string_equal(get_file(f->root, "old"), "new");
	path_in(p, sizeof(p), f->root, "old");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);

	/* Parents made; a discarded copy leaves no name behind. */
	assert_int_equal(ws_copy_target(f->wsfd, f->root, "a/b/gone", 0, &t,
	    f->err, sizeof(f->err)), 0);
	assert_int_equal(write(t.fd, "x", 1), 1);
	ws_target_discard(&t);
	path_in(p, sizeof(p), f->root, "a/b");
	assert_non_null(d = opendir(p));
	n = 0;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	assert_int_equal(n, 0);

	/* Refusals, with ws_write's messages. */
	assert_int_equal(ws_copy_target(f->wsfd, f->root, "../x", 0, &t,
	    f->err, sizeof(f->err)), -1);
	assert_string_equal(f->err, "FileWrite rejected: path contains '..'");
	assert_int_equal(ws_copy_target(f->wsfd, f->root, "/etc/x", 0, &t,
	    f->err, sizeof(f->err)), -1);
	assert_string_equal(f->err, "FileWrite rejected: path escapes the "
	    "workspace");
	assert_int_equal(ws_copy_target(f->wsfd, f->root, "a", 0, &t, f->err,
	    sizeof(f->err)), -1);
	assert_string_equal(f->err, "FileWrite rejected: path is a directory");
	path_in(p, sizeof(p), f->root, "link");
	assert_int_equal(symlink(f->out, p), 0);
	assert_int_equal(ws_copy_target(f->wsfd, f->root, "link/x", 0, &t,
	    f->err, sizeof(f->err)), -1);
	path_in(p, sizeof(p), f->out, "x");
	assert_int_equal(access(p, F_OK), -1);
}

/* A hard link at the path is replaced by the copy, never written through. */
static void
test_copy_hardlink(void **state)
{
	struct fx	*f = *state;
	struct ws_target t;
	char		 a[PATH_MAX], b[PATH_MAX];

	put_file(f->out, "theirs", "theirs");
	path_in(a, sizeof(a), f->out, "theirs");
	path_in(b, sizeof(b), f->root, "linked");
	assert_int_equal(link(a, b), 0);
	assert_int_equal(ws_copy_target(f->wsfd, f->root, "linked", 0644, &t,
	    f->err, sizeof(f->err)), 0);
	assert_int_equal(write(t.fd, "ours", 4), 4);
	assert_int_equal(ws_commit(&t, "linked", f->err, sizeof(f->err)), 0);
	ws_target_close(&t);
	assert_string_equal(get_file(f->out, "theirs"), "theirs");
	assert_string_equal(get_file(f->root, "linked"), "ours");
}

/* copytimes: a directory's time; a symbolic link is not followed. */
static void
test_copy_dirtime(void **state)
{
	struct fx	*f = *state;
	struct timespec	 ts = { 981173106, 789000000 };
	struct stat	 st, before;
	char		 p[PATH_MAX], link[PATH_MAX];

	assert_int_equal(ws_mkdir(f->wsfd, f->root, "dt/sub", 0, f->err,
	    sizeof(f->err)), 0);
	assert_int_equal(ws_dirtime(f->wsfd, f->root, "dt/sub", &ts, f->err,
	    sizeof(f->err)), 0);
	path_in(p, sizeof(p), f->root, "dt/sub");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mtim.tv_sec, ts.tv_sec);
	assert_int_equal(st.st_mtim.tv_nsec, ts.tv_nsec);
	/* A link to a directory outside: the link's own time, if any. */
	assert_int_equal(stat(f->out, &before), 0);
	path_in(link, sizeof(link), f->root, "dt/out");
	assert_int_equal(symlink(f->out, link), 0);
	(void)ws_dirtime(f->wsfd, f->root, "dt/out", &ts, f->err,
	    sizeof(f->err));
	assert_int_equal(stat(f->out, &st), 0);
	assert_int_equal(st.st_mtim.tv_sec, before.st_mtim.tv_sec);
	assert_int_equal(st.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
	assert_int_equal(ws_dirtime(f->wsfd, f->root, "../x", &ts, f->err,
	    sizeof(f->err)), -1);
}

/* Directories of a copyin -r, and the sources of a copyout. */
static void
test_copy_dirs_sources(void **state)
{
	struct fx	*f = *state;
	struct stat	 st;
	char		 p[PATH_MAX];
	int		 fd;

	assert_int_equal(ws_mkdir(f->wsfd, f->root, "d/e", 02750, f->err,
	    sizeof(f->err)), 0);
	path_in(p, sizeof(p), f->root, "d/e");
	assert_int_equal(stat(p, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0750);
	assert_int_equal(ws_mkdir(f->wsfd, f->root, "d/e", 0, f->err,
	    sizeof(f->err)), 0);
	put_file(f->root, "d/file", "x");
	assert_int_equal(ws_mkdir(f->wsfd, f->root, "d/file", 0, f->err,
	    sizeof(f->err)), -1);

	assert_int_equal(ws_open_source(f->wsfd, f->root, "d/file", &fd, &st,
	    f->err, sizeof(f->err)), 0);
	assert_true(S_ISREG(st.st_mode));
	close(fd);
	assert_int_equal(ws_open_source(f->wsfd, f->root, "d", &fd, &st,
	    f->err, sizeof(f->err)), 0);
	assert_true(S_ISDIR(st.st_mode));
	close(fd);
	/* The workspace itself may be listed, not written. */
	assert_int_equal(ws_open_source(f->wsfd, f->root, ".", &fd, &st,
	    f->err, sizeof(f->err)), 0);
	assert_true(S_ISDIR(st.st_mode));
	close(fd);
	assert_int_equal(ws_open_source(f->wsfd, f->root, "d/file/", &fd, &st,
	    f->err, sizeof(f->err)), -1);
	assert_int_equal(ws_open_source(f->wsfd, f->root, "nope", &fd, &st,
	    f->err, sizeof(f->err)), -1);
	assert_non_null(strstr(f->err, "No such file or directory"));
	path_in(p, sizeof(p), f->root, "fifo");
	assert_int_equal(mkfifo(p, 0600), 0);
	assert_int_equal(ws_open_source(f->wsfd, f->root, "fifo", &fd, &st,
	    f->err, sizeof(f->err)), -1);
	assert_string_equal(f->err, "FileRead rejected: not a regular file");
}

/* What a copy makes belongs to the owner set (the shell's user under -u). */
static void
test_copy_owner(void **state)
{
	struct fx	*f = *state;
	struct ws_target t;
	struct stat	 st;
	char		 p[PATH_MAX];

	if (geteuid() != 0) {
		print_message("not root: not checked\n");
		return;
	}
	ws_set_owner(65534, 65534);
	assert_int_equal(ws_copy_target(f->wsfd, f->root, "nd/f", 0, &t,
	    f->err, sizeof(f->err)), 0);
	assert_int_equal(ws_commit(&t, "nd/f", f->err, sizeof(f->err)), 0);
	ws_target_close(&t);
	assert_int_equal(ws_mkdir(f->wsfd, f->root, "md", 0, f->err,
	    sizeof(f->err)), 0);
	ws_set_owner((uid_t)-1, (gid_t)-1);
	path_in(p, sizeof(p), f->root, "nd/f");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_uid, 65534);
	assert_int_equal(st.st_mode & 07777, 0644);
	path_in(p, sizeof(p), f->root, "nd");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_uid, 65534);
	path_in(p, sizeof(p), f->root, "md");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_uid, 65534);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roundtrip, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_root_slash, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_nested_parents, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mode_setid, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_hardlink, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_owner, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dotdot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outside_absolute, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_root_itself, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_symlink_final, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_symlink_intermediate,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_nonregular, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_read_maxlen, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_err_truncation, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ws_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bootfile, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_fallback_walk, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_copy_target, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_copy_hardlink, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_copy_owner, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_copy_dirs_sources, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_copy_dirtime, setup,
		    teardown),
	};

	umask(022);
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
