/*
 * capsem-hostd: what its four files share.  hostd.c has main, the event
 * loop and the end of the session; hostd-guest.c everything facing the
 * guest (listeners, the terminal connection, the decoder children, boot,
 * ping, exec); hostd-client.c the attach clients; hostd-session.c the
 * session directory (lock, session.json, pty.log, audit.jsonl, removal).
 */
#ifndef CAPSEM_HOSTD_H
#define CAPSEM_HOSTD_H

#include <sys/types.h>

#include <poll.h>
#include <stdint.h>

#include "transport.h"

#define HOSTD_ENV_MAX		128	/* -e entries (PROTOCOL.md) */
#define REPLAY_MAX		65536	/* recent output a late client gets */
#define PTYLOG_ROTATE		(20 * 1024 * 1024)

struct hconf {
	const char	*dir;		/* session directory, absolute */
	struct transport transport;
	char		 tspec[TRANSPORT_PATH_MAX + 16];
	int		 temp;		/* remove dir and stop VM at the end */
	int		 no_clock;	/* epoch 0: the guest keeps its clock */
	pid_t		 vm_pid;	/* 0: none */
	const char	*vm_stop;	/* command that stops the VM */
	int		 ready_fd;	/* -1: none */
	int		 ping_secs;
	int		 max_missed;
	int		 debug;
	int		 verbose;
	char		*env[HOSTD_ENV_MAX];	/* "KEY=VALUE" */
	size_t		 nenv;
	uid_t		 owner;		/* uid allowed to attach (and root) */
};

enum hstate {
	HS_STARTING = 0,	/* no guest yet */
	HS_CONNECTED,		/* control child booted */
	HS_DISCONNECTED,	/* waiting for the guest to reconnect */
	HS_DRAINING,		/* shellexited: reading the terminal to EOF */
	HS_ENDING,		/* exit code delivered, clients flushing */
	HS_EXITED
};

struct hstatus {
	enum hstate	 state;
	int		 exited;	/* shellexited (or equivalent) seen */
	int		 exit_code;
	int		 exit_signal;
	uint64_t	 connections;	/* boots completed */
	char		 agent_version[64];
};

extern struct hconf	 conf;
extern struct hstatus	 st;

/* The loop: each module adds its fds every iteration. */
typedef void	(*poll_cb)(short, void *);
void		 poll_add(int, short, poll_cb, void *);
int64_t		 now_ms(void);
int64_t		 now_us_real(void);
const char	*state_name(enum hstate);

/* hostd.c: the session is over (shell exited, VM gone, signal). */
void		 session_finish(const char *);

/* hostd-guest.c */
void		 guest_init(void);
void		 guest_poll(void);
int64_t		 guest_timers(int64_t);
void		 guest_sigchld(void);
void		 guest_close_listeners(void);
void		 guest_stop_all(void);
int		 guest_term_write(const void *, size_t);
void		 guest_resize(uint16_t, uint16_t);
void		 guest_shutdown(void);
int		 guest_exec(uint32_t, const char *, size_t, const char **);
void		 guest_client_gone(uint32_t);
size_t		 guest_children(void);

/* hostd-client.c */
void		 clients_init(void);
void		 clients_poll(void);
int64_t		 clients_timers(int64_t);
void		 clients_output(const void *, size_t);
void		 clients_seed(const void *, size_t);
int		 clients_blocked(void);
int		 client_exec_output(uint32_t, const void *, size_t);
int		 client_exec_blocked(uint32_t);
void		 client_exec_done(uint32_t, int);
void		 client_exec_error(uint32_t, const char *);
void		 clients_exit(void);
void		 clients_error(const char *);
int		 clients_flushed(void);
void		 clients_close(void);
size_t		 clients_count(void);

/* hostd-session.c */
void		 session_open(void);
void		 session_json(void);
void		 ptylog_write(int, const void *, size_t);
int		 session_auditfd(void);
void		 session_remove(void);

#endif
