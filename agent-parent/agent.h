/*
 * capsem-agent, the privileged guest parent: declarations shared by its
 * files.  Only this process holds state that outlives a connection: the
 * PTY master and the shell, the environment of the first boot, the pending
 * table of ackable responses, the exec table, the audit read position.
 */
#ifndef CAPSEM_AGENT_H
#define CAPSEM_AGENT_H

#include <sys/types.h>

#include <stdint.h>

#include "capsem_imsg.h"
#include "proc.h"
#include "transport.h"
#include "wire.h"

#define AGENT_VERSION		"0.6.0"
#define PENDING_MAX		256	/* ackable responses awaiting ackreply */
#define EXECTAB_MAX		1024	/* exec ids remembered for dedup */
#define EXEC_RUNNING_MAX	64	/* execs running at once */
#define ENV_MAX			128
#define BOOTFILES_MAX		64
#define BOOTFILES_BYTES		(10 * 1024 * 1024)

struct agent_conf {
	struct transport	 transport;
	char			**shell_argv;
	const char		*user;		/* -u, or NULL: our own */
	const char		*workspace;	/* -w */
	const char		*auditlog;	/* -a */
	const char		*freezepath;	/* -f, or NULL */
	const char		*boottiming;	/* JSONL of boot stages */
	int			 reconnect_secs; /* -r */
	int			 debug;
	int			 verbose;
};

extern struct agent_conf	 conf;

/* shell.c */
int	 shell_open_pty(void);
int	 shell_master(void);
int	 shell_setenv(const char *, const char *);
pid_t	 shell_start(void);
pid_t	 shell_pid(void);
int	 shell_hangup(int);
int	 shell_session_count(void);
void	 shell_resize(uint16_t, uint16_t);
int	 user_drop(const char *);

/* exec.c */
void	 exec_request(uint64_t, const char *, size_t);
int	 exec_reaped(pid_t, int);
void	 exec_runner_readable(int);
int	 exec_fds(int *, int);

/* pending.c */
int	 pending_add(enum msg_type, uint64_t, const struct wbuf *);
void	 pending_ack(uint64_t);
int	 pending_replay(void);
size_t	 pending_count(void);

/* agent.c */
int	 agent_send(const struct msg *);
int	 agent_send_frame(const struct wbuf *);
int	 agent_send_ackable(const struct msg *, uint64_t);
void	 agent_send_error(uint64_t, const char *);
int64_t	 now_ms(void);

#endif
