/*
 * Every imsg type spoken between capsem processes, guest and host, in one
 * enum.  Each number is assigned once and never reused: append new types at
 * the end of their block, never renumber.
 *
 * Convention: the child is the untrusted side.  A parent validates every
 * imsg it receives (exact length, NUL-terminated strings, ranges) before it
 * acts; a child never calls exit on its peer's error, it reports IMSG_*_DONE
 * with the reason and lets the parent decide.
 */
#ifndef CAPSEM_IMSG_H
#define CAPSEM_IMSG_H

#include <stdint.h>

/* A child's imsg socket to its parent. */
#define CHILD_IMSG_FD		3

enum imsg_type {
	IMSG_NONE = 0,

	/* any child <-> its parent (1-19) */
	IMSG_CHILD_READY = 1,	/* child -> parent: sandboxed, send fds */
	IMSG_CHILD_DONE = 2,	/* child -> parent: struct imsg_child_done */
	IMSG_CHILD_STOP = 3,	/* parent -> child: finish and exit */
	IMSG_CHILD_VERBOSE = 4,	/* parent -> child: int verbosity */
	IMSG_CHILD_SELFTEST = 5, /* parent -> child: try a forbidden syscall */

	/* guest: agent parent <-> agent-term (20-39) */
	IMSG_TERM_SOCKET = 20,	/* fd: the terminal socket */
	IMSG_TERM_PTY = 21,	/* fd: a dup of the PTY master */
	IMSG_TERM_DRAIN = 22,	/* shell reaped: drain the PTY, end the stream */
	IMSG_TERM_DRAINED = 23,	/* term -> parent: uint64_t bytes drained */

	/* guest: agent parent <-> agent-control (40-79) */
	IMSG_CTL_SOCKET = 40,	/* fd: the control socket */
	IMSG_CTL_SEND = 41,	/* parent -> control: one encoded g2h frame */
	IMSG_CTL_BOOTCONFIG = 42, /* struct imsg_bootconfig */
	IMSG_CTL_SETENV = 43,	/* "KEY\0VALUE" (validated again by parent) */
	IMSG_CTL_BOOTFILE = 44,	/* struct imsg_file + path + data */
	IMSG_CTL_BOOTDONE = 45,
	IMSG_CTL_RESIZE = 46,	/* struct imsg_resize */
	IMSG_CTL_EXEC = 47,	/* struct imsg_exec + command */
	IMSG_CTL_PING = 48,	/* uint64_t epoch_secs */
	IMSG_CTL_ACKREPLY = 49,	/* uint64_t id */
	IMSG_CTL_FILEWRITE = 50, /* struct imsg_file + path + data */
	IMSG_CTL_FILEREAD = 51,	/* struct imsg_file + path */
	IMSG_CTL_FILEDELETE = 52, /* struct imsg_file + path */
	IMSG_CTL_SHUTDOWN = 53,
	IMSG_CTL_SNAPSHOT = 54,
	IMSG_CTL_UNFREEZE = 55,
	IMSG_CTL_SENT = 56,	/* control -> parent: frames flushed */

	/* guest: agent parent <-> agent-audit (80-99) */
	IMSG_AUDIT_SOCKET = 80,	/* fd: the audit socket */
	IMSG_AUDIT_LOG = 81,	/* fd: the audit log + struct imsg_audit_pos */
	IMSG_AUDIT_POS = 82,	/* audit -> parent: struct imsg_audit_pos */
	IMSG_AUDIT_REOPEN = 83,	/* audit -> parent: the log was rotated */
	IMSG_AUDIT_NOLOG = 84,	/* parent -> audit: no log file (yet) */

	/* host: capsem-hostd parent <-> its children (100-199) */
	IMSG_HOST_FIRST = 100,
};

/* Why a child stopped (IMSG_CHILD_DONE). */
enum child_reason {
	CHILD_EOF = 1,		/* the peer closed its socket */
	CHILD_IOERR = 2,	/* read/write error on the socket */
	CHILD_PROTO = 3,	/* the peer broke the protocol beyond one frame */
	CHILD_STOPPED = 4,	/* asked to stop by the parent */
	CHILD_DRAINED = 5,	/* term: drain finished */
};

struct imsg_child_done {
	int32_t		reason;		/* enum child_reason */
	int32_t		error;		/* errno, or 0 */
	char		detail[128];	/* NUL-terminated */
};

/*
 * Largest imsg any capsem process accepts: a whole frame plus room for the
 * fixed part of the message that carries it.
 */
#define CAPSEM_IMSG_MAX		(2097152 + 4096)

/* IMSG_CTL_BOOTCONFIG */
struct imsg_bootconfig {
	uint64_t	epoch_secs;
	int32_t		cap_shellexited;	/* host announced "shellexited" */
	int32_t		pad;
};

/* IMSG_CTL_RESIZE */
struct imsg_resize {
	uint16_t	cols;
	uint16_t	rows;
};

/* IMSG_CTL_EXEC: followed by the command bytes (no NUL; len = rest). */
struct imsg_exec {
	uint64_t	id;
};

/*
 * IMSG_CTL_FILEWRITE, IMSG_CTL_FILEREAD, IMSG_CTL_FILEDELETE,
 * IMSG_CTL_BOOTFILE: followed by pathlen bytes of path (no NUL), then for
 * writes the data (the rest of the message).
 */
struct imsg_file {
	uint64_t	id;
	uint32_t	mode;
	uint32_t	pathlen;
};

/* IMSG_TERM_DRAINED */
struct imsg_term_drained {
	uint64_t	bytes;
	int32_t		eio;		/* 1: ended on EIO, 0: on EAGAIN/deadline */
	int32_t		timedout;
};

/*
 * IMSG_AUDIT_LOG (with the log fd) and IMSG_AUDIT_POS: where reading
 * resumes.  offset is the start of the first line not yet fully turned into
 * sent records; records with (sec, msec, serial) <= last_* were already sent
 * and are skipped when re-read.
 */
struct imsg_audit_pos {
	uint64_t	dev;
	uint64_t	ino;
	uint64_t	offset;
	uint64_t	last_sec;
	uint32_t	last_msec;
	uint32_t	last_serial;
	int32_t		from_end;	/* IMSG_AUDIT_LOG: start at end of file */
	int32_t		pad;
};

#endif
