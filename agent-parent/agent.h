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
#include "ev.h"
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

/*
 * The extensions this agent announces in agentcaps (CAPB_* bits of wire.h)
 * to a host that announced "agentcaps" (capsem-protocol(7) "EXTENSIONS").
 */
#define AGENT_CAPS		(CAPB_EXECIO | CAPB_COPY | CAPB_COPYTIMES | \
				    CAPB_TERMMODES)

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

/* agent.c: the phases, and what the other files ask of them */
int	 agent_running(void);
int	 agent_first_boot_done(void);
uint32_t agent_caps(void);
uint32_t agent_host_caps(void);
int	 agent_deaths_exceeded(void);
int	 agent_common_imsg(struct proc *, struct imsg *);
int	 agent_child_done(struct proc *, struct imsg *, char *, size_t);
int	 agent_child_reaped(struct proc *, pid_t, int);
int	 agent_child_start(struct proc *);
void	 agent_child_stop(struct proc *);
void	 agent_check_program(const struct proc *);
__attribute__((__noreturn__)) void agent_fail(const char *, ...)
	    __attribute__((__format__(printf, 1, 2)));
int	 agent_send(const struct msg *);
int	 agent_send_frame(const struct wbuf *);
int	 agent_send_ackable(const struct msg *, uint64_t);
void	 agent_send_error(uint64_t, const char *);

/* boot.c */
void	 boot_begin(void);
void	 boot_setenv(struct proc *, struct imsg *);
void	 boot_file(struct proc *, struct imsg *);
void	 boot_timing(void);
void	 boot_report(uint64_t);
void	 clock_set(uint64_t);

/* auditside.c */
void	 audit_init(void);
void	 audit_check_program(void);
void	 audit_begin(void);
void	 audit_cancel(void);
void	 audit_stop(void);
int	 audit_reaped(pid_t, int);

/* hostreq.c */
void	 hostreq_init(void);
int	 file_imsg(struct proc *, struct imsg *, struct imsg_file *, char **,
	    uint8_t **, size_t *);
void	 hostreq_file(struct proc *, struct imsg *);
int	 hostreq_wsfd(void);

/* copy.c (extension "copy") */
void	 copy_request(struct proc *, struct imsg *);
int	 copy_reaped(pid_t, int);
void	 copy_cancel_all(const char *);
void	 hostreq_snapshot(void);
void	 hostreq_unfreeze(void);

/* shell.c */
int	 shell_open_pty(void);
int	 shell_master(void);
int	 shell_setenv(const char *, const char *);
int	 shell_termmodes(const uint8_t *, size_t, char *, size_t);
int	 shell_has_termmodes(void);
char	**shell_env(void);
pid_t	 shell_start(void);
pid_t	 shell_pid(void);
int	 shell_hangup(int);
int	 shell_session_count(void);
void	 shell_resize(uint16_t, uint16_t);
int	 user_drop(const char *);

/* exec.c */
void	 exec_request(uint64_t, const char *, size_t);
void	 exec_request_io(const void *, size_t);
int	 exec_reaped(pid_t, int);
int	 exec_is_runner(pid_t);
void	 exec_hangup(void);
void	 exec_wait(void);

/* ptree.c */
int	 ptree_signal_session(pid_t, int);
int	 ptree_signal_descendants(pid_t, int);
int	 ptree_subreaper(void);
int	 ptree_other_children(int (*)(pid_t));

/* pending.c */
int	 pending_add(enum msg_type, uint64_t, const struct wbuf *);
void	 pending_ack(uint64_t);
int	 pending_replay(void);
size_t	 pending_count(void);

#endif
