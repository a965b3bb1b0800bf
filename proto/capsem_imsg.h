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
	IMSG_CHILD_SECCOMP = 6,	/* child -> parent: int32_t number of the
				   system call the filter just refused; the
				   child dies by SIGSYS right after */
	IMSG_CHILD_LOG = 7,	/* child -> parent: struct imsg_child_log +
				   the line (NUL-ended, at most
				   CHILD_LOG_LINE_MAX bytes with the NUL);
				   only the parent writes to syslog/stderr */

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
	IMSG_CTL_COPYIN = 70,	/* struct imsg_copy + path (extension copy) */
	IMSG_CTL_COPYOUT = 71,	/* struct imsg_copy + path (size, mode 0) */
	IMSG_CTL_EXECIO = 60,	/* struct imsg_execio + command + cwd + env */

	/* guest: agent parent <-> agent-audit (80-99) */
	IMSG_AUDIT_SOCKET = 80,	/* fd: the audit socket */
	IMSG_AUDIT_LOG = 81,	/* fd: the audit log + struct imsg_audit_pos */
	IMSG_AUDIT_POS = 82,	/* audit -> parent: struct imsg_audit_pos */
	IMSG_AUDIT_REOPEN = 83,	/* audit -> parent: the log was rotated */
	IMSG_AUDIT_NOLOG = 84,	/* parent -> audit: no log file (yet) */
	IMSG_CTL_TERMMODES = 85, /* control -> parent: termmodes' bytes, RFC
				 * 4254 encoding (validated again by parent) */
	IMSG_AUDIT_NOTIFY = 90,	/* fd: inotify on the log and its directory
				   + struct imsg_audit_notify */

	/* host: capsem-hostd parent <-> its children (100-199) */
	IMSG_HOST_FIRST = 100,
	IMSG_HOST_SOCKET = 101,	/* parent -> child: fd of one guest connection
				   + uint32_t logical port (5000, 5004-5006) */
	IMSG_HOST_SEND = 102,	/* parent -> control: one encoded h2g frame */
	IMSG_HOST_AUDITLOG = 103, /* parent -> stream: fd of audit.jsonl */
	IMSG_HOST_GUESTREADY = 110, /* control: "ready", the version (NUL-ended) */
	IMSG_HOST_BOOTREADY = 111, /* control: bootready */
	IMSG_HOST_BOOTTIMING = 112, /* control: "name=ms ..." (NUL-ended) */
	IMSG_HOST_PONG = 113,	/* control: a pong (solicited or not) */
	IMSG_HOST_ACK = 114,	/* control: uint64_t id */
	IMSG_HOST_EXECDONE = 115, /* control: struct imsg_host_execdone */
	IMSG_HOST_FILECONTENT = 116, /* control: struct imsg_file + path + data */
	IMSG_HOST_FILEOPDONE = 117, /* control: uint64_t id */
	IMSG_HOST_ERROR = 118,	/* control: struct imsg_host_error */
	IMSG_HOST_SNAPSHOTREADY = 119, /* control: snapshotready */
	IMSG_HOST_SHELLEXITED = 120, /* control: struct imsg_host_shellexited */
	IMSG_HOST_AGENTCAPS = 121, /* control: uint32_t CAPB_* of agentcaps */
	IMSG_HOST_EXECSTARTED = 130, /* stream: uint64_t id of this exec */
	IMSG_HOST_EXECOUTPUT = 131, /* stream: raw exec output bytes */
	IMSG_HOST_LIFECYCLE = 132, /* stream: int32_t MSG_SHUTDOWNREQUEST or
				   MSG_SUSPENDREQUEST (enum msg_type) */
	IMSG_HOST_AUDITED = 133, /* stream: uint64_t records written so far */
	IMSG_HOST_COPYSTARTED = 150, /* stream: struct imsg_copy (pathlen 0),
				   copystarted of a copy connection */
	IMSG_HOST_EXECSTDERR = 140, /* stream: execio stderr bytes */
	IMSG_HOST_EXECINWINDOW = 141, /* stream: uint32_t execinwindow bytes */
	IMSG_HOST_EXECFRAMED = 142, /* parent -> stream: int32_t, after
				   execstarted: 1 execio frames, 0 raw */
	IMSG_HOST_EXECSEND = 143, /* parent -> stream: one encoded h2g frame
				   for the exec connection */

	/*
	 * capsem-hostd <-> capsem-hostd-screen (160-169).  Offsets count the
	 * terminal output bytes of the session; a resize or a snapshot
	 * request takes effect when the child's model has read up to its
	 * offset, so it is ordered with the output the parent still queues.
	 */
	IMSG_SCREEN_OUTPUT = 160, /* parent: terminal output (1..65536 bytes) */
	IMSG_SCREEN_RESIZE = 161, /* parent: struct imsg_screen_resize */
	IMSG_SCREEN_SNAPSHOT = 162, /* parent: struct imsg_screen_snapshot */
	IMSG_SCREEN_RESET = 163, /* parent: uint64_t offset of the next output
				   byte: output before it was dropped, start
				   over from a blank screen */
	IMSG_SCREEN_SNAPDATA = 164, /* child: uint32_t id + 1..65536 bytes of
				   the snapshot */
	IMSG_SCREEN_SNAPDONE = 165, /* child: uint32_t id: snapshot complete */

	/* capsem-shell <-> capsem-hostd, over attach.sock (200-249) */
	IMSG_ATTACH_HELLO = 200, /* client: struct attach_hello, first */
	IMSG_ATTACH_WELCOME = 201, /* hostd: struct attach_welcome */
	IMSG_ATTACH_INPUT = 202, /* client: keystrokes (1..ATTACH_CHUNK bytes) */
	IMSG_ATTACH_RESIZE = 203, /* client: struct imsg_resize */
	IMSG_ATTACH_EXEC = 204,	/* client: the command (no NUL), exec mode */
	IMSG_ATTACH_SHUTDOWN = 205, /* client: ask the guest to shut down */
	IMSG_ATTACH_OUTPUT = 206, /* hostd: terminal or exec output */
	IMSG_ATTACH_EXIT = 207,	/* hostd: struct attach_exit, the shell ended */
	IMSG_ATTACH_EXECDONE = 208, /* hostd: int32_t exit code of the exec */
	IMSG_ATTACH_ERROR = 209, /* hostd: reason (NUL-ended); it then closes */
	IMSG_ATTACH_DETACH = 210, /* client: leaving (the session goes on
				   unless it is temporary) */
	IMSG_ATTACH_NOTICE = 211, /* hostd: a line for the user (NUL-ended):
				   why the session is ending, or waiting */
	IMSG_ATTACH_CONNECTED = 212, /* hostd: the guest has booted */
	IMSG_ATTACH_COPY = 225,	/* client: struct attach_copy + path */
	IMSG_ATTACH_COPYSTREAM = 226, /* hostd: struct attach_copystream, with
				   the fd of the copy connection */
	IMSG_ATTACH_COPYDONE = 227, /* hostd: struct attach_copydone +
				   message (NUL-ended) when it failed */
	IMSG_ATTACH_COPYDATA = 228, /* both: bytes of a copy without a copy
				   connection (upstream agent), 1..ATTACH_CHUNK */
	IMSG_ATTACH_COPYEND = 229, /* client: end of a COPYDATA copy in */
	IMSG_ATTACH_EXECIO = 213, /* client: struct attach_execio + command +
				   cwd + env (exec mode, instead of EXEC) */
	IMSG_ATTACH_STDIN = 214, /* client: 1..ATTACH_CHUNK bytes of stdin,
				   within the window hostd gave */
	IMSG_ATTACH_STDINEND = 215, /* client: the end of its stdin */
	IMSG_ATTACH_SIGNAL = 216, /* client: int32_t signal for the command */
	IMSG_ATTACH_STDERR = 217, /* hostd: the command's stderr bytes */
	IMSG_ATTACH_STDINWINDOW = 218, /* hostd: uint32_t more stdin bytes
				   the client may send */
};

/* Why a child stopped (IMSG_CHILD_DONE). */
enum child_reason {
	CHILD_EOF = 1,		/* the peer closed its socket */
	CHILD_IOERR = 2,	/* read/write error on the socket */
	CHILD_PROTO = 3,	/* the peer broke the protocol beyond one frame */
	CHILD_STOPPED = 4,	/* asked to stop by the parent */
	CHILD_DRAINED = 5,	/* term: drain finished */
};

/* IMSG_CHILD_LOG: one log line of a child, which the parent writes as
 * "procname[pid]: line" with the child's pid from its own table. */
#define CHILD_LOG_NAME_MAX	64	/* "capsem-agent: control", NUL-ended */
#define CHILD_LOG_LINE_MAX	1024	/* the text, NUL included: log.h's
					   LOG_MSG_MAX */
struct imsg_child_log {
	int32_t		pri;		/* LOG_CRIT .. LOG_DEBUG */
	char		procname[CHILD_LOG_NAME_MAX];
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
	uint32_t	caps;		/* CAPB_* the host announced */
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
 * IMSG_CTL_EXECIO: followed by cmdlen bytes of command, cwdlen of cwd (no
 * NUL), then nenv entries, each a uint32_t length and that many bytes.
 */
struct imsg_execio {
	uint64_t	id;
	uint32_t	timeout;	/* seconds, 0: none */
	uint16_t	cols;		/* 0, 0: no terminal */
	uint16_t	rows;
	uint32_t	cmdlen;
	uint32_t	cwdlen;
	uint32_t	nenv;
	uint32_t	pad;
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

/*
 * IMSG_CTL_COPYIN, IMSG_CTL_COPYOUT: followed by pathlen bytes of path
 * (no NUL).  IMSG_HOST_COPYSTARTED: the copystarted fields, pathlen 0.
 */
struct imsg_copy {
	uint64_t	id;
	uint64_t	size;
	uint32_t	mode;
	uint32_t	pathlen;
	uint32_t	flags;		/* COPY_MTIME */
	uint32_t	pad;
	int64_t		mtime_ns;
};

/* IMSG_HOST_EXECDONE */
struct imsg_host_execdone {
	uint64_t	id;
	int32_t		exit_code;
	int32_t		pad;
};

/* IMSG_HOST_ERROR: followed by the message (NUL-terminated, <= 4 KiB). */
struct imsg_host_error {
	uint64_t	id;
};

/* IMSG_HOST_SHELLEXITED */
struct imsg_host_shellexited {
	int32_t		exit_code;
	int32_t		signal;		/* 0: not killed by a signal (nil) */
};

/*
 * The attach protocol: imsg over the session's attach.sock.  A client sends
 * IMSG_ATTACH_HELLO first; capsem-hostd answers IMSG_ATTACH_WELCOME or
 * IMSG_ATTACH_ERROR (then closes).  Terminal clients then send INPUT and
 * RESIZE and get OUTPUT (first the current screen if asked),
 * CONNECTED once the guest has booted (at once if it had), NOTICE lines
 * for the user, and finally EXIT.  An exec client sends one EXEC and gets OUTPUT, then
 * EXECDONE.  A control client sends SHUTDOWN and gets EXIT when the session
 * ends.  Any message longer than ATTACH_IMSG_MAX ends the connection.
 */
#define ATTACH_VERSION		1
#define ATTACH_CHUNK		65536	/* largest INPUT / OUTPUT payload */
#define ATTACH_IMSG_MAX		(ATTACH_CHUNK + 1024)
#define EXEC_COMMAND_MAX	ATTACH_CHUNK	/* bytes of an exec command */
#define ATTACH_SOCKET		"attach.sock"

enum attach_mode {
	ATTACH_TERMINAL = 1,	/* interactive: input, output, resize */
	ATTACH_EXEC = 2,	/* one command through exec */
	ATTACH_CONTROL = 3,	/* commands only (shutdown), no output */
	ATTACH_COPY = 4		/* file copies, one at a time */
};

/*
 * A copy client sends one COPY at a time and waits for its COPYDONE.
 * Through a copy connection (the guest announced "copy"), hostd first
 * passes the connection in COPYSTREAM: for ATTACH_COPY_IN the client
 * writes size bytes to it and shuts it down for writing; for
 * ATTACH_COPY_OUT it reads size bytes (or a listing, mode & COPY_MODE_DIR,
 * up to EOF).  Without one (upstream agent), a copy in sends COPYDATA
 * chunks then COPYEND, a copy out gets COPYDATA chunks, and size is
 * bounded by ATTACH_COPY_SMALL.  A copy in of a directory (mode &
 * COPY_MODE_DIR) has no data at all.
 */
#define ATTACH_COPY_IN		1
#define ATTACH_COPY_OUT		2
#define ATTACH_COPY_SMALL	1044480	/* upstream filewrite/fileread */
#define ATTACH_COPY_PATH_MAX	4095

/*
 * COPY_MTIME: mtime_ns holds a modification time (nanoseconds since the
 * epoch): in a request, the time a file copied in is to get (cp -p); in
 * a copystream, the time of the guest's file copied out (copytimes).  The
 * flags and pad words come before it, so that a peer of the layout before
 * them finds a NUL where it looks for the path and refuses the message.
 */
#define COPY_MTIME		0x1

struct attach_copy {
	uint32_t	dir;		/* ATTACH_COPY_IN or ATTACH_COPY_OUT */
	uint32_t	mode;		/* in: bits & 01777 | COPY_MODE_DIR */
	uint64_t	size;		/* in: bytes that follow */
	uint32_t	flags;		/* COPY_MTIME */
	uint32_t	pad;		/* 0 */
	int64_t		mtime_ns;
};

struct attach_copystream {
	uint64_t	size;
	uint32_t	mode;		/* out: the file's, | COPY_MODE_DIR */
	int32_t		stream;		/* 1: fd attached; 0: COPYDATA */
	uint32_t	flags;		/* COPY_MTIME */
	uint32_t	pad;
	int64_t		mtime_ns;
};

struct attach_copydone {
	int32_t		ok;		/* 1: done; 0: message follows */
	int32_t		pad;
};

#define ATTACH_SCREEN		0x1	/* hello flag: draw the current screen
					   first (a snapshot of the model) */

/*
 * IMSG_ATTACH_EXECIO: an exec with the options of execio
 * (capsem-protocol(7)), followed by cmdlen bytes of command, cwdlen of cwd
 * and envlen of KEY=VALUE entries, each ended by a NUL.  hostd sends
 * execio to an agent that supports it; to another it sends exec when
 * only the command is asked (EXECIO_STDIN alone: input from a terminal
 * is then not passed, as before), and refuses the rest with the reason.
 */
#define EXECIO_STDIN		0x1	/* the client has input to pass */
#define EXECIO_FORCE_TTY	0x2	/* -tt */
#define EXECIO_STDIN_DATA	0x4	/* stdin is a pipe or a file: refuse
					   rather than lose it */
struct attach_execio {
	uint32_t	flags;		/* EXECIO_* */
	uint32_t	timeout;	/* seconds, 0: none */
	uint16_t	cols;		/* 0, 0: no terminal */
	uint16_t	rows;
	uint32_t	cmdlen;
	uint32_t	cwdlen;
	uint32_t	envlen;
	uint32_t	nenv;
	uint32_t	pad;
};

struct attach_hello {
	uint32_t	version;	/* ATTACH_VERSION */
	uint32_t	mode;		/* enum attach_mode */
	uint16_t	cols;		/* 0: unknown */
	uint16_t	rows;
	uint32_t	flags;		/* ATTACH_SCREEN */
};

struct attach_welcome {
	uint32_t	version;
	uint32_t	client;		/* this client's number, for logs */
	int32_t		connected;	/* 1: the guest has booted */
	int32_t		pad;
};

struct attach_exit {
	int32_t		exit_code;	/* 128 + N when signal N killed it */
	int32_t		signal;		/* 0: none */
};

/* IMSG_SCREEN_RESIZE */
struct imsg_screen_resize {
	uint64_t	offset;
	uint16_t	cols;
	uint16_t	rows;
	uint32_t	pad;
};

/* IMSG_SCREEN_SNAPSHOT */
struct imsg_screen_snapshot {
	uint64_t	offset;
	uint32_t	id;
	uint32_t	pad;
};

#define SCREEN_CHUNK		65536	/* largest OUTPUT / SNAPDATA bytes */

/* IMSG_TERM_DRAINED */
struct imsg_term_drained {
	uint64_t	bytes;
	int32_t		eio;		/* 1: ended on EIO, 0: on EAGAIN/deadline */
	int32_t		timedout;
};

/*
 * IMSG_AUDIT_LOG (with the log fd) and IMSG_AUDIT_POS: where reading
 * resumes.  offset is the last line boundary at which no event was open;
 * last_* is the id (sec, msec, serial) of the last record sent that
 * completed after it, or all 0 when none did.  Reading again from offset
 * completes the same events in the same order, so the records up to and
 * including that one are skipped (agent-audit/audit.c).
 */
/*
 * IMSG_AUDIT_NOTIFY: an inotify descriptor watching the log (IN_MODIFY and
 * its going away; the parent adds a watch for every new file it passes)
 * and, as dirwd, the log's directory for name being created or moved in.
 * The child reads the log when told, not on a timer.
 */
struct imsg_audit_notify {
	int32_t		dirwd;		/* -1: no directory watch */
	int32_t		pad;
	char		name[256];	/* the log's name in that directory */
};

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
