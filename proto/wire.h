/*
 * The capsem wire protocol (capsem-protocol(7)): every control message of
 * both directions, the audit record of port 5006, and their MessagePack
 * codec.  Decoders take untrusted input: they are strict (type, range,
 * UTF-8, required fields, known tag, no trailing bytes) and never allocate
 * from a declared length before checking it against the bytes left.
 *
 * Every decoded string and byte array is an owned copy; free a message with
 * msg_free() and a record with audit_record_free().
 */
#ifndef CAPSEM_WIRE_H
#define CAPSEM_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define FRAME_MAX		2097152		/* largest frame body, bytes */
#define FRAME_HDRLEN		4

/* Logical ports (capsem-protocol(7) "Transport and ports"). */
#define PORT_CONTROL		5000
#define PORT_TERMINAL		5001
#define PORT_LIFECYCLE		5004
#define PORT_EXEC		5005
#define PORT_AUDIT		5006
#define PORT_COPY		5008	/* extension "copy" */

enum wire_dir {
	WIRE_H2G,		/* host to guest, control port */
	WIRE_G2H,		/* guest to host, control, exec and lifecycle */
	WIRE_AUDIT,		/* audit records, port 5006 */
};

enum msg_type {
	MSG_NONE = 0,
	/* host to guest */
	MSG_BOOTCONFIG,
	MSG_SETENV,
	MSG_BOOTCONFIGDONE,
	MSG_RESIZE,
	MSG_EXEC,
	MSG_PING,
	MSG_ACKREPLY,
	MSG_FILEWRITE,
	MSG_FILEREAD,
	MSG_FILEDELETE,
	MSG_SHUTDOWN,
	MSG_PREPARESNAPSHOT,
	MSG_UNFREEZE,
	/* guest to host */
	MSG_READY,
	MSG_BOOTREADY,
	MSG_BOOTTIMING,
	MSG_EXECSTARTED,
	MSG_EXECDONE,
	MSG_PONG,
	MSG_ACK,
	MSG_FILECREATED,
	MSG_FILEMODIFIED,
	MSG_FILEDELETED,
	MSG_FILECONTENT,
	MSG_FILEOPDONE,
	MSG_ERROR,
	MSG_SHUTDOWNREQUEST,
	MSG_SUSPENDREQUEST,
	MSG_SNAPSHOTREADY,
	MSG_SHELLEXITED,
	MSG_AGENTCAPS,
	MSG_TERMMODES,		/* host to guest, extension */
	/* extension "copy", both directions */
	MSG_COPYIN,
	MSG_COPYOUT,
	MSG_COPYSTARTED,
	/* execio (capsem-protocol(7) "execio"): control, host to guest */
	MSG_EXECIO,
	/* execio, exec port only, host to guest */
	MSG_EXECINPUT,
	MSG_EXECINPUTEND,
	MSG_EXECSIGNAL,
	MSG_EXECRESIZE,
	MSG_EXECOUTWINDOW,
	/* execio, exec port only, guest to host */
	MSG_EXECOUTPUT,
	MSG_EXECINWINDOW,
	MSG_NTYPES
};

/* An owned string: s is NUL-terminated, len excludes the NUL (a msgpack str
 * may itself hold NUL bytes; validation rejects them where it matters).
 * s == NULL means nil or absent for optional fields. */
struct wire_str {
	char		*s;
	size_t		 len;
};

/* An owned byte array (the `data` fields). */
struct wire_bytes {
	uint8_t		*p;
	size_t		 len;
};

struct boot_stage {
	struct wire_str	 name;
	uint64_t	 duration_ms;
};

/*
 * Capability names (capsem-protocol(7) "EXTENSIONS"): the host's in
 * bootconfig's `caps`, the agent's in `agentcaps`.  In memory a set of them
 * is a mask of CAPB_* bits; names not in the table are ignored.
 */
#define CAP_SHELLEXITED		"shellexited"
#define CAP_AGENTCAPS		"agentcaps"
#define CAP_TERMMODES		"termmodes"
#define CAP_COPY		"copy"
#define CAP_EXECIO		"execio"
#define CAP_COPYTIMES		"copytimes"

#define CAPB_SHELLEXITED	0x00000001U	/* host understands shellexited */
#define CAPB_AGENTCAPS		0x00000002U	/* host understands agentcaps */
#define CAPB_EXECIO		0x00000010U	/* execio (both sides) */
#define CAPB_COPY		0x00000100U	/* copy port, copyin/copyout */
#define CAPB_COPYTIMES		0x00000200U	/* mtime_ns in copyin and
						 * copystarted (both sides) */
#define CAPB_TERMMODES		0x00001000U	/* host: sends termmodes; agent:
						 * applies them */
#define CAPB_NAMES_MAX		32		/* one per bit */

/* What capsem-hostd announces in every bootconfig. */
#define HOSTD_CAPS		(CAPB_SHELLEXITED | CAPB_AGENTCAPS | \
				    CAPB_EXECIO | CAPB_COPY | CAPB_COPYTIMES)

/* copyin/copystarted: mode bit of a directory (S_IFDIR); sizes below 2^63. */
#define COPY_MODE_DIR		0040000U
#define COPY_SIZE_MAX		0x7fffffffffffffffULL

/* execio limits (capsem-protocol(7) "execio", "LIMITS"). */
#define EXECIO_DATA_MAX		65536		/* data bytes per frame */
#define EXECIO_ENV_MAX		128		/* env entries */
#define EXECIO_OUT_WINDOW	1048576		/* output grant at start */
#define EXECIO_IN_WINDOW	262144		/* input grant at start */
#define EXECIO_WINDOW_MAX	16777216	/* grant outstanding, at most */
#define EXECIO_STDOUT		1
#define EXECIO_STDERR		2

/* The bits of the known names among caps[0..n). */
uint32_t	 cap_mask(const struct wire_str *, size_t);

/* copytimes: a time as mtime_ns (saturated to the i64 range), and back. */
int64_t		 timespec_ns(const struct timespec *);
struct timespec	 ns_timespec(int64_t);
void		 mtime_only(struct timespec[2], struct timespec);
/* Fills out[] (room for CAPB_NAMES_MAX) with the names of the bits of mask,
 * in bit order; returns how many.  The strings are static. */
size_t		 cap_names(uint32_t, struct wire_str *);
/* "shellexited agentcaps", or "none", for log lines; static storage. */
const char	*cap_string(uint32_t);

struct msg {
	enum msg_type	 type;
	union {
		struct {
			uint64_t	 epoch_secs;
			struct wire_str	 traceparent;	/* NULL: sent as "" */
			struct wire_str	*caps;		/* optional */
			size_t		 ncaps;
			int		 has_caps;	/* key present */
		} bootconfig;
		struct {
			struct wire_str	 key;
			struct wire_str	 value;
		} setenv;
		struct {
			uint16_t	 cols;
			uint16_t	 rows;
		} resize;
		struct {
			uint64_t	 id;
			struct wire_str	 command;
		} exec;
		struct {
			uint64_t	 epoch_secs;
		} ping;
		struct {
			uint64_t	 id;
		} ackreply, ack, execstarted, fileopdone;
		struct {
			uint64_t	 id;
			struct wire_str	 path;
			struct wire_bytes data;
			uint32_t	 mode;
		} filewrite;
		struct {
			uint64_t	 id;
			struct wire_str	 path;
		} fileread, filedelete, copyout;
		struct {
			struct wire_str	 version;
		} ready;
		struct {
			struct boot_stage *stages;
			size_t		 nstages;
		} boottiming;
		struct {
			uint64_t	 id;
			int32_t		 exit_code;
		} execdone;
		struct {
			struct wire_str	 path;
			uint64_t	 size;
		} filecreated, filemodified;
		struct {
			struct wire_str	 path;
		} filedeleted;
		struct {
			uint64_t	 id;
			struct wire_str	 path;
			struct wire_bytes data;
		} filecontent;
		struct {
			uint64_t	 id;
			struct wire_str	 message;
		} error;
		struct {
			int32_t		 exit_code;
			int32_t		 signal;
			int		 has_signal;	/* 0: nil */
		} shellexited;
		struct {
			struct wire_str	*caps;		/* absent: none */
			size_t		 ncaps;
			int		 has_caps;
		} agentcaps;
		struct {
			struct wire_bytes modes;	/* RFC 4254 encoding */
		} termmodes;
		struct {
			uint64_t	 id;
			struct wire_str	 path;
			uint64_t	 size;
			uint32_t	 mode;
			int64_t		 mtime_ns;	/* copytimes */
			int		 has_mtime;
		} copyin;
		struct {
			uint64_t	 id;
			uint64_t	 size;
			uint32_t	 mode;
			int64_t		 mtime_ns;	/* copytimes */
			int		 has_mtime;
		} copystarted;
		struct {
			uint64_t	 id;
			struct wire_str	 command;
			struct wire_str	*env;		/* KEY=VALUE */
			size_t		 nenv;
			struct wire_str	 cwd;		/* "": workspace */
			uint16_t	 cols;		/* 0, 0: no tty */
			uint16_t	 rows;
			uint32_t	 timeout;	/* seconds, 0: none */
		} execio;
		struct {
			struct wire_bytes data;
		} execinput;
		struct {
			int32_t		 signal;
		} execsignal;
		struct {
			uint32_t	 bytes;
		} execwindow;			/* execoutwindow, execinwindow */
		struct {
			uint16_t	 stream;	/* EXECIO_STDOUT, _STDERR */
			struct wire_bytes data;
		} execoutput;
	} u;
};

/* An audit record (port 5006): a bare map, keys in this order. */
struct audit_record {
	uint64_t	 timestamp_us;
	uint32_t	 pid;
	uint32_t	 ppid;
	uint32_t	 uid;
	struct wire_str	 exe;
	struct wire_str	 comm;		/* optional */
	struct wire_str	 argv;
	struct wire_str	 cwd;		/* optional */
	struct wire_str	 tty;		/* optional */
	uint32_t	 session_id;
	int		 has_session_id;
	struct wire_str	 parent_exe;	/* optional */
	struct wire_str	 audit_id;
};

enum wire_errcode {
	WERR_OK = 0,
	WERR_TRUNCATED,		/* input ends inside a value */
	WERR_LENGTH,		/* declared str/bin/array/map length > bytes left */
	WERR_TYPE,		/* value of the wrong msgpack type */
	WERR_RANGE,		/* integer does not fit the field */
	WERR_UTF8,		/* str is not valid UTF-8 */
	WERR_MISSING,		/* required field absent */
	WERR_UNKNOWN_TAG,	/* `t` names no message of this direction */
	WERR_TRAILING,		/* bytes after the message */
	WERR_TOOBIG,		/* frame longer than FRAME_MAX */
	WERR_DEPTH,		/* nesting deeper than the decoder allows */
	WERR_DUPLICATE,		/* a key given twice */
	WERR_NOMEM,
	WERR_NCODES
};

struct wire_err {
	enum wire_errcode code;
	size_t		 offset;	/* byte offset in the body */
	char		 msg[160];	/* "field d.cols: 70000 out of range ..." */
};

/* A growable output buffer for encoders. */
struct wbuf {
	uint8_t		*data;
	size_t		 len;
	size_t		 cap;
};

void		 wbuf_init(struct wbuf *);
void		 wbuf_reset(struct wbuf *);
void		 wbuf_free(struct wbuf *);

const char	*wire_errstr(enum wire_errcode);
const char	*msg_type_name(enum msg_type);
enum msg_type	 msg_type_from_name(enum wire_dir, const char *, size_t);
enum wire_dir	 msg_type_dir(enum msg_type);
int		 msg_is_ackable(enum msg_type);
uint64_t	 msg_ack_id(const struct msg *);

/*
 * Encoders append one whole frame (4-byte big-endian length + body) to the
 * buffer and return 0; on error (body over FRAME_MAX, bad argument) they
 * return -1, leave the buffer as it was and fill err.
 */
int	 msg_encode(const struct msg *, struct wbuf *, struct wire_err *);
int	 audit_record_encode(const struct audit_record *, struct wbuf *,
	    struct wire_err *);

/*
 * Decoders take one frame body (without the length prefix), return 0 and
 * fill the struct, or return -1 with nothing allocated and err filled.
 */
int	 msg_decode(enum wire_dir, const uint8_t *, size_t, struct msg *,
	    struct wire_err *);
int	 audit_record_decode(const uint8_t *, size_t, struct audit_record *,
	    struct wire_err *);

void	 msg_free(struct msg *);
void	 audit_record_free(struct audit_record *);

#endif
