/*
 * Transports: how the guest reaches the host for each logical port
 * (capsem-protocol(7)).  The only place that knows about AF_VSOCK and the socket
 * file naming of local mode and of Firecracker/Cloud Hypervisor "hybrid"
 * vsock; everything else asks for a connected or listening fd.
 *
 *   vsock:CID     guest: connect to CID; host: bind CID ("vsock" or
 *                 "vsock:any" binds VMADDR_CID_ANY)
 *   unix:DIR      DIR/PORT.sock, e.g. DIR/5000.sock (local mode, tests)
 *   hybrid:PATH   host side of a VMM's vsock: the VMM turns a guest stream
 *                 to PORT into a connection to the unix socket PATH_PORT
 */
#ifndef CAPSEM_TRANSPORT_H
#define CAPSEM_TRANSPORT_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#define TRANSPORT_PATH_MAX	108	/* sizeof(sun_path) on Linux */

enum transport_kind {
	TRANSPORT_VSOCK = 1,
	TRANSPORT_UNIX,
	TRANSPORT_HYBRID
};

struct transport {
	enum transport_kind	kind;
	uint32_t		cid;	/* vsock: peer to connect / CID to bind */
	uint32_t		offset;	/* physical port = logical + offset */
	char			path[TRANSPORT_PATH_MAX]; /* unix DIR, hybrid PATH */
};

/*
 * Parse spec into *t (offset 0).  Returns 0, or -1 with a one-line reason in
 * err (which may be NULL) and errno EINVAL or ENAMETOOLONG.
 */
int	transport_parse(const char *, struct transport *, char *, size_t);

/*
 * Physical port for a logical one: 0, or -1 with errno EOVERFLOW when
 * logical + offset does not fit in a port (VMADDR_PORT_ANY is reserved).
 */
int	transport_port(const struct transport *, uint32_t, uint32_t *);

/* A connected, blocking, close-on-exec stream socket, or -1 with errno. */
int	transport_connect(const struct transport *, uint32_t);

/* A listening, non-blocking, close-on-exec stream socket, or -1 with errno. */
int	transport_listen(const struct transport *, uint32_t);

/* Remove the socket file of a port's listener (unix, hybrid). */
void	transport_unlink(const struct transport *, uint32_t);

/*
 * The same for a named unix socket outside the port scheme (a session's
 * attach.sock): listening with mode 0600, or connected.
 */
int	transport_listen_unix(const char *);
int	transport_connect_unix(const char *);

/* Shut for writing, drop what the peer sends until its end, ms at most. */
void	transport_linger(int, int);

/*
 * The port offset given on a kernel command line (capsem.vsock_port_offset=N,
 * the last one wins).  Absent or not a number: 0 (capsem-protocol(7)).  Returns -1
 * with errno EOVERFLOW only for a number too large to be a port offset.
 */
int	transport_cmdline_offset(const char *, uint32_t *);

/* "vsock cid 2 port 5000", "unix /dir/5000.sock" for log lines. */
const char *transport_describe(const struct transport *, uint32_t, char *,
	    size_t);

#endif
