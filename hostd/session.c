/*
 * The session directory: one capsem-hostd at a time holds it (flock on the
 * directory itself, released by the kernel when the process dies, so a
 * SIGKILLed hostd never leaves a stale lock), session.json describing the
 * session (rewritten atomically: temporary file, fsync-free rename),
 * pty.log recording the terminal in both directions, audit.jsonl written by
 * the audit children through an O_APPEND descriptor opened here.
 *
 * pty.log record: 1 byte direction (0 output from the guest, 1 input sent
 * to the guest), u64 little-endian microseconds since the epoch, u32
 * little-endian length, then the bytes.  At 20 MiB the file is renamed to
 * pty.log.1 (replacing an older one) and a new one is started.
 *
 * The directory may belong to another user (a root hostd serving it): every
 * file is opened relative to the directory's descriptor, never through a
 * symbolic link (O_NOFOLLOW), and the temporary session.json is always a
 * new file (O_EXCL), so nothing here can be turned onto another file.
 */
#include <sys/types.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "hostd.h"
#include "log.h"

#define PTYLOG_SCAN	(1024 * 1024)

static int	 dirfd_ = -1;
static int	 ptyfd = -1;
static off_t	 ptysize;
static int	 auditfd = -1;
static int64_t	 started_us;
static int64_t	 ended_us;

static int	 json_dirty;

static void	 session_prepare(void *);
static const char *session_term(void);
static const char *session_state_name(void);
static json_t	*session_caps(uint32_t);
static int	 ptylog_open(void);
static void	 ptylog_replay(void);
static void	 iso8601(int64_t, char *, size_t);
static int	 rm_tree(int, const char *);

void
session_open(void)
{
	json_t		*old;
	json_error_t	 jerr;
	const char	*s;
	struct tm	 tm;
	int		 fd;

	if (mkdir(conf.dir, 0700) == -1 && errno != EEXIST)
		fatal("%s", conf.dir);
	if ((dirfd_ = open(conf.dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		fatal("%s", conf.dir);
	if (flock(dirfd_, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK)
			fatalx("%s: another capsem-hostd serves this session",
			    conf.dir);
		fatal("%s: flock", conf.dir);
	}
	started_us = now_us_real();
	/* A restarted hostd keeps the session's history. */
	if ((fd = openat(dirfd_, "session.json", O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) != -1) {
		old = json_loadfd(fd, 0, &jerr);
		close(fd);
		if (old != NULL) {
			if ((s = json_string_value(json_object_get(old,
			    "started"))) != NULL) {
				memset(&tm, 0, sizeof(tm));
				if (strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm) !=
				    NULL)
					started_us = (int64_t)timegm(&tm) *
					    1000000;
			}
			sess.connections = json_integer_value(json_object_get(
			    old, "connections"));
			log_info("%s: taking over the session (started %s)",
			    conf.dir, s ? s : "?");
			json_decref(old);
		}
	}
	ptylog_replay();
	if (ptylog_open() == -1)
		fatal("%s/pty.log", conf.dir);
	if ((auditfd = openat(dirfd_, "audit.jsonl", O_WRONLY | O_APPEND |
	    O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600)) == -1)
		fatal("%s/audit.jsonl", conf.dir);
	ev_prepare(session_prepare, NULL);
}

/*
 * Something session.json shows changed (clients, boots): it is rewritten
 * once, before the next poll.  State changes write it at once
 * (hostd_state()).
 */
void
session_changed(void)
{
	json_dirty = 1;
}

static void
session_prepare(void *arg)
{
	if (json_dirty)
		session_json();
}

/* The TERM given to the guest (-e TERM=...), for recordings. */
static const char *
session_term(void)
{
	const char	*t = NULL;
	size_t		 i;

	/* The last one wins, as in the guest. */
	for (i = 0; i < conf.nenv; i++)
		if (strncmp(conf.env[i], "TERM=", 5) == 0)
			t = conf.env[i] + 5;
	return (t);
}

/* A set of capability bits as the array of their names. */
static json_t *
session_caps(uint32_t mask)
{
	struct wire_str	 names[CAPB_NAMES_MAX];
	json_t		*a;
	size_t		 i, n;

	if ((a = json_array()) == NULL)
		fatalx("json_array");
	n = cap_names(mask, names);
	for (i = 0; i < n; i++)
		json_array_append_new(a, json_string(names[i].s));
	return (a);
}

/*
 * The state as session.json names it.  A session that is over for this
 * hostd but not for the guest (no exit status, not temporary) is
 * "disconnected": its shell runs on and a new hostd may take it over.
 */
static const char *
session_state_name(void)
{
	if (sess.state == HS_ENDING && !sess.over)
		return ("disconnected");
	return (state_name(sess.state));
}

int
session_auditfd(void)
{
	return (auditfd);
}

/*
 * audit.jsonl is rotated as pty.log is: once it is over conf.audit_max
 * bytes it becomes audit.jsonl.1 (replacing an older one) and a new one
 * is started, so a guest cannot grow the disk without bound.  1 if it was
 * rotated (the audit children then need the new descriptor).
 */
int
session_audit_rotate(void)
{
	struct stat	 sb;
	int		 fd;

	if (auditfd == -1 || fstat(auditfd, &sb) == -1 ||
	    sb.st_size < (off_t)conf.audit_max)
		return (0);
	if (renameat(dirfd_, "audit.jsonl", dirfd_, "audit.jsonl.1") == -1 ||
	    (fd = openat(dirfd_, "audit.jsonl", O_WRONLY | O_APPEND |
	    O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600)) == -1) {
		log_warn("%s/audit.jsonl: rotate", conf.dir);
		return (0);
	}
	close(auditfd);
	auditfd = fd;
	log_info("%s/audit.jsonl: rotated at %lld bytes", conf.dir,
	    (long long)sb.st_size);
	return (1);
}

/*
 * Rewrite session.json: write a temporary file, rename it over.  Called
 * by hostd_state() and before a poll after session_changed() only.
 */
void
session_json(void)
{
	json_t	*o;
	char	 when[32], tmp[64];
	int	 fd;

	if (dirfd_ == -1)
		return;
	json_dirty = 0;
	if (sess.state >= HS_EXITED && ended_us == 0)
		ended_us = now_us_real();
	o = json_object();
	json_object_set_new(o, "state", json_string(session_state_name()));
	json_object_set_new(o, "hostd_pid", json_integer(getpid()));
	json_object_set_new(o, "vm_pid", conf.vm_pid > 0 ?
	    json_integer(conf.vm_pid) : json_null());
	json_object_set_new(o, "transport", json_string(conf.tspec));
	json_object_set_new(o, "temporary", json_boolean(conf.temp));
	iso8601(started_us, when, sizeof(when));
	json_object_set_new(o, "started", json_string(when));
	if (ended_us != 0) {
		iso8601(ended_us, when, sizeof(when));
		json_object_set_new(o, "ended", json_string(when));
	} else
		json_object_set_new(o, "ended", json_null());
	json_object_set_new(o, "exit_code", sess.exited ?
	    json_integer(sess.exit_code) : json_null());
	json_object_set_new(o, "signal", sess.exited && sess.exit_signal ?
	    json_integer(sess.exit_signal) : json_null());
	json_object_set_new(o, "connections", json_integer(sess.connections));
	json_object_set_new(o, "agent_version", sess.agent_version[0] ?
	    json_string(sess.agent_version) : json_null());
	json_object_set_new(o, "agent_caps", sess.agent_caps_known ?
	    session_caps(sess.agent_caps) : json_null());
	json_object_set_new(o, "clients", json_integer(clients_count()));
	json_object_set_new(o, "term", session_term() ?
	    json_string(session_term()) : json_null());
	json_object_set_new(o, "reason", sess.reason[0] ?
	    json_string(sess.reason) : json_null());
	json_object_set_new(o, "warning", sess.warning[0] ?
	    json_string(sess.warning) : json_null());

	/*
	 * Relative to the directory, never following a link, a new file
	 * every time: the directory may belong to another user (root hostd).
	 */
	snprintf(tmp, sizeof(tmp), ".session.json.%d", (int)getpid());
	(void)unlinkat(dirfd_, tmp, 0);
	if ((fd = openat(dirfd_, tmp, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) == -1)
		log_warn("%s/%s", conf.dir, tmp);
	else if (json_dumpfd(o, fd, JSON_INDENT(2) | JSON_PRESERVE_ORDER) ==
	    -1) {
		log_warnx("%s/%s: cannot write", conf.dir, tmp);
		(void)unlinkat(dirfd_, tmp, 0);
	} else if (renameat(dirfd_, tmp, dirfd_, "session.json") == -1)
		log_warn("rename %s/session.json", conf.dir);
	if (fd != -1)
		close(fd);
	json_decref(o);
}

/*
 * A hostd taking over a session seeds the replay with the output recorded
 * so far, so a client attaching again sees where it was.  A torn last
 * record (the previous hostd killed mid-write) ends the scan.
 */
static void
ptylog_replay(void)
{
	uint8_t		*buf;
	size_t		 have = 0, off, len;
	uint32_t	 l32;
	ssize_t		 n;
	int		 fd;

	if ((fd = openat(dirfd_, "pty.log", O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return;
	if ((buf = malloc(PTYLOG_SCAN)) == NULL)
		fatal("malloc");
	for (;;) {
		n = read(fd, buf + have, PTYLOG_SCAN - have);
		if (n <= 0)
			break;
		have += n;
		for (off = 0; off + 13 <= have; off += 13 + len) {
			memcpy(&l32, buf + off + 9, 4);
			len = le32toh(l32);
			if (len > PTYLOG_SCAN - 13) {
				log_warnx("%s/pty.log: record of %zu bytes at "
				    "the end: not replayed", conf.dir, len);
				goto done;
			}
			if (off + 13 + len > have)
				break;
			if (buf[off] == 0)
				clients_seed(buf + off + 13, len);
		}
		memmove(buf, buf + off, have - off);
		have -= off;
	}
 done:
	free(buf);
	close(fd);
}

static int
ptylog_open(void)
{
	struct stat	 sb;

	if (ptyfd != -1)
		close(ptyfd);
	ptyfd = openat(dirfd_, "pty.log", O_WRONLY | O_APPEND | O_CREAT |
	    O_NOFOLLOW | O_CLOEXEC, 0600);
	if (ptyfd == -1)
		return (-1);
	ptysize = fstat(ptyfd, &sb) == 0 ? sb.st_size : 0;
	return (0);
}

/* One record; a failing log never stops the session, it is reported. */
void
ptylog_write(int dir, const void *data, size_t len)
{
	static int	 warned;
	uint8_t		 hdr[13];
	uint64_t	 us;
	uint32_t	 l32;
	struct iovec	 iov[2];
	ssize_t		 n;

	if (ptyfd == -1 || len == 0)
		return;
	if (ptysize + (off_t)len + 13 > PTYLOG_ROTATE && ptysize > 0) {
		(void)renameat(dirfd_, "pty.winsize", dirfd_, "pty.winsize.1");
		if (renameat(dirfd_, "pty.log", dirfd_, "pty.log.1") == -1 ||
		    ptylog_open() == -1) {
			log_warn("%s/pty.log: rotate", conf.dir);
			return;
		}
	}
	hdr[0] = dir;
	us = htole64((uint64_t)now_us_real());
	memcpy(hdr + 1, &us, 8);
	l32 = htole32((uint32_t)len);
	memcpy(hdr + 9, &l32, 4);
	iov[0].iov_base = hdr;
	iov[0].iov_len = sizeof(hdr);
	iov[1].iov_base = (void *)(uintptr_t)data;
	iov[1].iov_len = len;
	n = writev(ptyfd, iov, 2);
	if (n != (ssize_t)(len + sizeof(hdr))) {
		if (!warned)
			log_warn("%s/pty.log: write", conf.dir);
		warned = 1;
		return;
	}
	ptysize += n;
}

/*
 * The window size, beside pty.log (whose upstream format has no place for
 * it): pty.winsize, records of u64 little-endian microseconds since the
 * epoch, u16 little-endian columns and rows; it goes to pty.winsize.1
 * with pty.log.  For recordings (capsem-shell log).
 */
void
ptylog_resize(uint16_t cols, uint16_t rows)
{
	uint8_t		 rec[12];
	uint64_t	 us;
	uint16_t	 v;
	int		 fd;

	if (dirfd_ == -1)
		return;
	us = htole64((uint64_t)now_us_real());
	memcpy(rec, &us, 8);
	v = htole16(cols);
	memcpy(rec + 8, &v, 2);
	v = htole16(rows);
	memcpy(rec + 10, &v, 2);
	if ((fd = openat(dirfd_, "pty.winsize", O_WRONLY | O_APPEND |
	    O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600)) == -1)
		return;
	(void)write(fd, rec, sizeof(rec));
	close(fd);
}

/* The end of a temporary session: the whole directory goes. */
void
session_remove(void)
{
	if (dirfd_ == -1)
		return;
	if (rm_tree(dirfd_, conf.dir) == -1 || rmdir(conf.dir) == -1)
		log_warn("%s: not removed", conf.dir);
	close(dirfd_);
	dirfd_ = -1;
}

/* Remove everything below fd, never following a symlink. */
static int
rm_tree(int fd, const char *name)
{
	DIR		*d;
	struct dirent	*de;
	int		 sub, rc = 0;

	if ((sub = dup(fd)) == -1 || (d = fdopendir(sub)) == NULL) {
		if (sub != -1)
			close(sub);
		return (-1);
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(fd, de->d_name, 0) == 0)
			continue;
		if (errno != EISDIR) {
			rc = -1;
			continue;
		}
		if ((sub = openat(fd, de->d_name, O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC)) == -1 ||
		    rm_tree(sub, de->d_name) == -1 ||
		    unlinkat(fd, de->d_name, AT_REMOVEDIR) == -1)
			rc = -1;
		if (sub != -1)
			close(sub);
	}
	closedir(d);
	(void)name;
	return (rc);
}

static void
iso8601(int64_t us, char *buf, size_t len)
{
	struct tm	 tm;
	time_t		 t = us / 1000000;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
