/*
 * capsem-hostd: what its files share.
 *
 *	hostd.c		main, the loop, signals, the session's state (the one
 *			writer) and the end of the session
 *	guest.c		listeners, pairing, boot, ping, the control child's
 *			messages, how the guest's side ends
 *	term.c		the terminal relay (raw bytes, never parsed)
 *	children.c	the sandboxed decoder children, one per connection
 *	exec.c		the exec table (requests kept until acked, replayed)
 *	copy.c		file copies (capsem-shell cp)
 *	client.c	the attach clients
 *	screen.c	the screen child: the model a late client is drawn
 *	session.c	the session directory (lock, session.json, pty.log,
 *			audit.jsonl, removal)
 */
#ifndef CAPSEM_HOSTD_H
#define CAPSEM_HOSTD_H

#include <sys/types.h>
#include <sys/queue.h>

#include <stdint.h>

#include "capsem_imsg.h"
#include "ev.h"
#include "imsg.h"
#include "proc.h"
#include "transport.h"
#include "termmodes.h"
#include "wire.h"

#define HOSTD_ENV_MAX		128	/* -e entries (capsem-protocol(7)) */
#define PTYLOG_ROTATE		(20 * 1024 * 1024)

struct hconf {
	const char	*dir;		/* session directory, absolute */
	struct transport transport;
	char		 tspec[TRANSPORT_PATH_MAX + 16];
	int		 temp;		/* remove dir and stop VM at the end */
	int		 no_clock;	/* epoch 0: the guest keeps its clock */
	pid_t		 vm_pid;	/* 0: none */
	uint32_t	 guest_cid;	/* vsock: the only peer accepted */
	int		 guest_cid_any;	/* --guest-cid any: every peer */
	const char	*vm_stop;	/* command that stops the VM */
	int		 ready_fd;	/* -1: none */
	int		 ping_secs;
	int		 max_missed;
	int		 boot_secs;	/* first boot deadline, 0: none */
	long long	 audit_max;	/* audit.jsonl rotated past this */
	int		 debug;
	int		 verbose;
	char		*env[HOSTD_ENV_MAX];	/* "KEY=VALUE" */
	size_t		 nenv;
	uid_t		 owner;		/* uid allowed to attach (and root) */
	uint8_t		 termmodes[TERMMODES_MAX]; /* --term-modes, encoded */
	size_t		 termmodes_len;	/* 0: none */
};

enum hstate {
	HS_STARTING = 0,	/* no guest yet */
	HS_CONNECTED,		/* control child booted */
	HS_DISCONNECTED,	/* waiting for the guest to reconnect */
	HS_DRAINING,		/* shellexited: reading the terminal to EOF */
	HS_ENDING,		/* exit code delivered, clients flushing */
	HS_EXITED
};

/* The session; state changes only through hostd_state{,_soon}(). */
struct hsession {
	enum hstate	 state;
	int		 exited;	/* shellexited (or equivalent) seen */
	int		 over;		/* over for the guest too (exited,
					   temporary, shut down) */
	int		 exit_code;
	int		 exit_signal;
	uint64_t	 connections;	/* boots completed */
	char		 agent_version[64];
	uint32_t	 agent_caps;	/* CAPB_* of this connection's agentcaps */
	int		 agent_caps_known; /* that agentcaps arrived */
	char		 reason[160];	/* why it ended (or is ending) */
	char		 warning[96];	/* what is wrong while it runs */
};

/* A decoder child: one framed connection from the guest. */
struct hchild {
	TAILQ_ENTRY(hchild)	 entry;
	struct proc		 p;
	uint32_t		 port;
	int			 reaped;
	int			 waitst;
	int			 reported;	/* CHILD_DONE seen */
	char			 why[128];
	uint64_t		 exec_id;	/* exec: from execstarted */
	int			 has_exec;
	int			 stopped;	/* closed by us, on purpose */
	int			 copy_fd;	/* copy: our duplicate, or -1 */
};

extern struct hconf	 conf;
extern struct hsession	 sess;

/* hostd.c */
void		 hostd_state(enum hstate);
void		 hostd_state_soon(enum hstate);
const char	*state_name(enum hstate);
void		 hostd_reason(const char *, ...)
		    __attribute__((__format__(printf, 1, 2)));
void		 hostd_end(const char *);
void		 hostd_fault(const char *, ...)
		    __attribute__((__format__(printf, 1, 2)));
void		 hostd_orphaned(void);
void		 hostd_shutdown(pid_t);

/* guest.c */
void		 guest_init(void);
void		 guest_close_listeners(void);
void		 guest_stop_all(void);
void		 guest_resize(uint16_t, uint16_t);
int		 guest_shutdown(void);
int		 guest_booted_once(void);
int		 guest_is_booted(void);
int		 guest_send_frame(const void *, size_t);
void		 guest_exited(int, int);
void		 guest_drain_done(const char *);
void		 guest_ctl_imsg(struct hchild *, struct imsg *);
void		 guest_ctl_gone(struct hchild *);

/* term.c */
void		 term_init(void);
void		 term_accept(int);
void		 term_pair(void);
void		 term_unpaired(void);
void		 term_exited(void);
int		 term_write(const void *, size_t);
void		 term_close_all(void);

/* children.c */
void		 children_init(void);
struct hchild	*child_start(int, uint32_t);
void		 child_stop(struct hchild *);
void		 children_sigchld(void);
void		 children_stop_all(void);
size_t		 children_running(void);

/* exec.c */
void		 execs_init(void);
int		 exec_request(uint32_t, const char *, size_t, const char **);
void		 exec_client_gone(uint32_t);
int		 exec_client_blocked(uint64_t);
void		 exec_replay(void);
void		 exec_acked(uint64_t);
void		 exec_done(uint64_t, int);
void		 exec_failed(uint64_t, const char *);
void		 exec_stream_started(struct hchild *, uint64_t);
void		 exec_stream_output(struct hchild *, const void *, size_t);
void		 exec_stream_done(struct hchild *);
int		 exec_request_io(uint32_t, const struct attach_execio *,
		    const char *, const char *, const char *, const char **);
void		 exec_stream_stderr(struct hchild *, const void *, size_t);
void		 exec_stream_inwindow(struct hchild *, uint32_t);
int		 exec_client_input(uint32_t, const void *, size_t,
		    const char **);
void		 exec_client_inputend(uint32_t);
void		 exec_client_signal(uint32_t, int32_t);
void		 exec_client_resize(uint32_t, uint16_t, uint16_t);
void		 execs_free(void);

/* copy.c (capsem-shell cp) */
struct attach_copy;
struct imsg_copy;
void		 copies_init(void);
int		 copy_request(uint32_t, const struct attach_copy *,
		    const char *, const char **);
int		 copy_client_data(uint32_t, const void *, size_t);
int		 copy_client_end(uint32_t);
void		 copy_accept(int);
void		 copy_stream_started(struct hchild *, const struct imsg_copy *);
int		 copy_content(uint64_t, const void *, size_t);
int		 copy_done(uint64_t);
int		 copy_failed(uint64_t, const char *);
void		 copies_lost(void);
void		 copy_client_gone(uint32_t);
void		 copies_free(void);

/* client.c */
int		 client_copy_send(uint32_t, uint32_t, int, const void *,
		    size_t);
void		 clients_init(void);
void		 clients_output(const void *, size_t);
void		 client_snapshot_data(uint32_t, const void *, size_t);
void		 client_snapshot_done(uint32_t);
void		 clients_snapshot_failed(const char *);
int		 clients_blocked(void);
int		 client_exec_output(uint32_t, const void *, size_t);
int		 client_exec_blocked(uint32_t);
void		 client_exec_done(uint32_t, int);
void		 client_exec_error(uint32_t, const char *);
int		 client_exec_stderr(uint32_t, const void *, size_t);
void		 client_exec_window(uint32_t, uint32_t);
size_t		 client_exec_queued(uint32_t);
void		 clients_exit(void);
void		 clients_notice(const char *);
void		 clients_connected(void);
void		 clients_error(const char *);
int		 clients_flushed(void);
void		 clients_close(void);
size_t		 clients_count(void);

/* screen.c */
void		 screen_init(void);
void		 screen_output(const void *, size_t);
void		 screen_seed(const void *, size_t);
void		 screen_resize(uint16_t, uint16_t);
int		 screen_snapshot(uint32_t, int *);
void		 screen_stuck(const char *);
void		 screen_late(void);
int		 screen_reaped(pid_t, int);
void		 screen_stop(void);
int		 screen_running(void);

/* session.c */
void		 session_open(void);
void		 session_changed(void);
void		 session_json(void);
void		 ptylog_write(int, const void *, size_t);
void		 ptylog_resize(uint16_t, uint16_t);
int		 session_auditfd(void);
int		 session_audit_rotate(void);
void		 session_remove(void);

#endif
