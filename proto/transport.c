/*
 * Transports (DESIGN.md "Transports"): turn "vsock:CID", "unix:DIR" or
 * "hybrid:PATH" plus a logical port into a connected or listening socket.
 * This file and sandbox.c are the only platform code; callers never see a
 * sockaddr.  It touches only the sockets it creates and, for unix and hybrid
 * listeners, the one socket file it binds (a stale one is removed first).
 * Every fd it returns is close-on-exec.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <linux/vm_sockets.h>

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ev.h"
#include "transport.h"

#define TRANSPORT_BACKLOG	16
#define CMDLINE_KEY		"capsem.vsock_port_offset="
/* The longest port suffixes: "/4294967295.sock" and "_4294967295". */
#define UNIX_SUFFIX_MAX		(sizeof("/4294967295.sock") - 1)
#define HYBRID_SUFFIX_MAX	(sizeof("_4294967295") - 1)

union transport_addr {
	struct sockaddr		sa;
	struct sockaddr_un	sun;
	struct sockaddr_vm	svm;
};

static int	transport_error(char *, size_t, int, const char *, ...)
		    __attribute__((__format__(printf, 4, 5)));
static int	transport_parse_path(const char *, const char *, size_t,
		    struct transport *, char *, size_t);
static int	transport_addr(const struct transport *, uint32_t,
		    union transport_addr *, socklen_t *);
static int	transport_unlink_stale(const char *);
static int	transport_unix_addr(const char *, union transport_addr *);
static int	transport_listen_addr(union transport_addr *, socklen_t);
static int	transport_connect_addr(union transport_addr *, socklen_t);

static int
transport_error(char *err, size_t errlen, int errnum, const char *fmt, ...)
{
	va_list	ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	errno = errnum;
	return (-1);
}

int
transport_parse(const char *spec, struct transport *t, char *err,
    size_t errlen)
{
	const char	*arg, *errstr;

	memset(t, 0, sizeof(*t));
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (spec == NULL || *spec == '\0')
		return (transport_error(err, errlen, EINVAL,
		    "empty transport (expected vsock:CID, unix:DIR or "
		    "hybrid:PATH)"));

	if (strcmp(spec, "vsock") == 0 || strncmp(spec, "vsock:", 6) == 0) {
		t->kind = TRANSPORT_VSOCK;
		arg = spec[5] == ':' ? spec + 6 : "any";
		if (strcmp(arg, "any") == 0) {
			t->cid = VMADDR_CID_ANY;
			return (0);
		}
		/* Digits only: strtonum would also take a sign or spaces. */
		if (*arg == '\0' || strspn(arg, "0123456789") != strlen(arg))
			return (transport_error(err, errlen, EINVAL,
			    "%s: CID must be a number or \"any\"", spec));
		t->cid = strtonum(arg, 0, VMADDR_CID_ANY - 1, &errstr);
		if (errstr != NULL)
			return (transport_error(err, errlen, EINVAL,
			    "%s: CID is %s", spec, errstr));
		return (0);
	}
	if (strncmp(spec, "unix:", 5) == 0) {
		t->kind = TRANSPORT_UNIX;
		return (transport_parse_path(spec, spec + 5, UNIX_SUFFIX_MAX,
		    t, err, errlen));
	}
	if (strncmp(spec, "hybrid:", 7) == 0) {
		t->kind = TRANSPORT_HYBRID;
		return (transport_parse_path(spec, spec + 7, HYBRID_SUFFIX_MAX,
		    t, err, errlen));
	}
	return (transport_error(err, errlen, EINVAL,
	    "%s: unknown transport (expected vsock:CID, unix:DIR or "
	    "hybrid:PATH)", spec));
}

/*
 * A path must leave room for the longest port suffix, so that no port can
 * later produce a truncated (and so wrong) socket address.
 */
static int
transport_parse_path(const char *spec, const char *path, size_t suffix,
    struct transport *t, char *err, size_t errlen)
{
	size_t	len, max;

	len = strlen(path);
	max = sizeof(((struct sockaddr_un *)NULL)->sun_path) - 1 - suffix;
	if (len == 0)
		return (transport_error(err, errlen, EINVAL,
		    "%s: missing path", spec));
	if (len > max)
		return (transport_error(err, errlen, ENAMETOOLONG,
		    "%s: path too long for a unix socket (%zu bytes, at most "
		    "%zu)", spec, len, max));
	if (strlcpy(t->path, path, sizeof(t->path)) >= sizeof(t->path))
		return (transport_error(err, errlen, ENAMETOOLONG,
		    "%s: path too long", spec));
	return (0);
}

int
transport_port(const struct transport *t, uint32_t logical, uint32_t *port)
{
	/* VMADDR_PORT_ANY (UINT32_MAX) is not a port one can connect to. */
	if (t->offset > VMADDR_PORT_ANY - 1 ||
	    logical > VMADDR_PORT_ANY - 1 - t->offset) {
		errno = EOVERFLOW;
		return (-1);
	}
	*port = logical + t->offset;
	return (0);
}

static int
transport_addr(const struct transport *t, uint32_t logical,
    union transport_addr *ua, socklen_t *len)
{
	uint32_t	port;
	int		n;

	if (transport_port(t, logical, &port) == -1)
		return (-1);
	memset(ua, 0, sizeof(*ua));
	switch (t->kind) {
	case TRANSPORT_VSOCK:
		ua->svm.svm_family = AF_VSOCK;
		ua->svm.svm_cid = t->cid;
		ua->svm.svm_port = port;
		*len = sizeof(ua->svm);
		return (0);
	case TRANSPORT_UNIX:
		n = snprintf(ua->sun.sun_path, sizeof(ua->sun.sun_path),
		    "%s/%u.sock", t->path, port);
		break;
	case TRANSPORT_HYBRID:
		n = snprintf(ua->sun.sun_path, sizeof(ua->sun.sun_path),
		    "%s_%u", t->path, port);
		break;
	default:
		errno = EINVAL;
		return (-1);
	}
	if (n < 0 || (size_t)n >= sizeof(ua->sun.sun_path)) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	ua->sun.sun_family = AF_UNIX;
	*len = sizeof(ua->sun);
	return (0);
}

int
transport_connect(const struct transport *t, uint32_t logical)
{
	union transport_addr	ua;
	socklen_t		len;

	if (transport_addr(t, logical, &ua, &len) == -1)
		return (-1);
	return (transport_connect_addr(&ua, len));
}

static int
transport_connect_addr(union transport_addr *ua, socklen_t len)
{
	int			fd, saved_errno;

	if ((fd = socket(ua->sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC,
	    0)) == -1)
		return (-1);
	while (connect(fd, &ua->sa, len) == -1) {
		if (errno == EINTR)
			continue;
		saved_errno = errno;
		close(fd);
		errno = saved_errno;
		return (-1);
	}
	return (fd);
}

/*
 * Remove a socket file left by a listener that is gone, so that bind works
 * after a crash.  A file that is not a socket, or a socket somebody still
 * listens on, is left alone: that is a configuration error, not debris.
 */
static int
transport_unlink_stale(const char *path)
{
	struct sockaddr_un	sun;
	struct stat		st;
	int			fd, r;

	if (lstat(path, &st) == -1)
		return (errno == ENOENT ? 0 : -1);
	if (!S_ISSOCK(st.st_mode)) {
		errno = EEXIST;
		return (-1);
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return (-1);
	r = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	if (r == 0) {
		errno = EADDRINUSE;
		return (-1);
	}
	if (unlink(path) == -1 && errno != ENOENT)
		return (-1);
	return (0);
}

int
transport_listen(const struct transport *t, uint32_t logical)
{
	union transport_addr	ua;
	socklen_t		len;

	if (transport_addr(t, logical, &ua, &len) == -1)
		return (-1);
	return (transport_listen_addr(&ua, len));
}

/* A listening unix socket at path (mode 0600), as for a port. */
int
transport_listen_unix(const char *path)
{
	union transport_addr	ua;

	if (transport_unix_addr(path, &ua) == -1)
		return (-1);
	return (transport_listen_addr(&ua, sizeof(ua.sun)));
}

/* A connected, blocking, close-on-exec stream socket to path. */
int
transport_connect_unix(const char *path)
{
	union transport_addr	ua;

	if (transport_unix_addr(path, &ua) == -1)
		return (-1);
	return (transport_connect_addr(&ua, sizeof(ua.sun)));
}

/*
 * Remove the socket file a listener on this port left (unix and hybrid);
 * nothing for vsock.  For a session that is over: a file left behind
 * would look like a live session.
 */
void
transport_unlink(const struct transport *t, uint32_t logical)
{
	union transport_addr	ua;
	socklen_t		len;

	if (t->kind == TRANSPORT_VSOCK ||
	    transport_addr(t, logical, &ua, &len) == -1)
		return;
	(void)unlink(ua.sun.sun_path);
}

static int
transport_unix_addr(const char *path, union transport_addr *ua)
{
	memset(ua, 0, sizeof(*ua));
	ua->sun.sun_family = AF_UNIX;
	if (strlcpy(ua->sun.sun_path, path, sizeof(ua->sun.sun_path)) >=
	    sizeof(ua->sun.sun_path)) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	return (0);
}

static int
transport_listen_addr(union transport_addr *ua, socklen_t len)
{
	mode_t			omask;
	int			fd, r, saved_errno;

	if (ua->sa.sa_family == AF_UNIX &&
	    transport_unlink_stale(ua->sun.sun_path) == -1)
		return (-1);
	if ((fd = socket(ua->sa.sa_family,
	    SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) == -1)
		return (-1);
	/*
	 * A unix socket gets its mode at bind time and fchmod on the socket
	 * does not reach the file, so the umask makes it 0600 from the start:
	 * no window in which another user could connect.
	 */
	if (ua->sa.sa_family == AF_UNIX) {
		omask = umask(0177);
		r = bind(fd, &ua->sa, len);
		umask(omask);
	} else
		r = bind(fd, &ua->sa, len);
	if (r == -1 || listen(fd, TRANSPORT_BACKLOG) == -1) {
		saved_errno = errno;
		close(fd);
		errno = saved_errno;
		return (-1);
	}
	return (fd);
}

int
transport_cmdline_offset(const char *cmdline, uint32_t *offset)
{
	const char		*p, *v;
	char			 num[24];
	unsigned long long	 n;
	size_t			 len, vlen;
	int			 overflow = 0;

	*offset = 0;
	for (p = cmdline; p != NULL && *p != '\0'; p += len) {
		p += strspn(p, " \t\n");
		len = strcspn(p, " \t\n");
		if (len <= sizeof(CMDLINE_KEY) - 1 ||
		    strncmp(p, CMDLINE_KEY, sizeof(CMDLINE_KEY) - 1) != 0)
			continue;
		/* A later occurrence replaces an earlier one, as for the kernel. */
		*offset = 0;
		overflow = 0;
		v = p + sizeof(CMDLINE_KEY) - 1;
		vlen = len - (sizeof(CMDLINE_KEY) - 1);
		if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"') {
			v++;
			vlen -= 2;
		}
		if (vlen == 0 || strspn(v, "0123456789") < vlen)
			continue;	/* not a number: means 0 */
		if (vlen >= sizeof(num)) {
			overflow = 1;
			continue;
		}
		memcpy(num, v, vlen);
		num[vlen] = '\0';
		n = strtoull(num, NULL, 10);
		if (n > VMADDR_PORT_ANY - 1)
			overflow = 1;
		else
			*offset = n;
	}
	if (overflow) {
		errno = EOVERFLOW;
		return (-1);
	}
	return (0);
}

const char *
transport_describe(const struct transport *t, uint32_t logical, char *buf,
    size_t len)
{
	union transport_addr	ua;
	socklen_t		slen;

	if (transport_addr(t, logical, &ua, &slen) == -1)
		snprintf(buf, len, "%s port %u (%s)",
		    t->kind == TRANSPORT_VSOCK ? "vsock" : t->path, logical,
		    strerror(errno));
	else if (ua.sa.sa_family == AF_UNIX)
		snprintf(buf, len, "%s %s",
		    t->kind == TRANSPORT_UNIX ? "unix" : "hybrid",
		    ua.sun.sun_path);
	else if (t->cid == VMADDR_CID_ANY)
		snprintf(buf, len, "vsock cid any port %u", ua.svm.svm_port);
	else
		snprintf(buf, len, "vsock cid %u port %u", t->cid,
		    ua.svm.svm_port);
	return (buf);
}

/*
 * The end of a connection without losing what is in flight: shut it for
 * writing, then read and drop what the peer still sends until it closes
 * its end, ms at most.  Closing at once with unread input could reset the
 * connection and throw away output the peer has not read yet.
 */
void
transport_linger(int fd, int ms)
{
	struct pollfd	 pfd;
	uint8_t		 sink[4096];
	int64_t		 end = now_ms() + ms, left;
	ssize_t		 n;

	(void)shutdown(fd, SHUT_WR);
	pfd.fd = fd;
	pfd.events = POLLIN;
	while ((left = end - now_ms()) > 0) {
		if (poll(&pfd, 1, (int)left) == -1 && errno != EINTR)
			break;
		if (pfd.revents == 0)
			continue;
		n = read(fd, sink, sizeof(sink));
		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR))
			break;
	}
}
