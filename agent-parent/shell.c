/*
 * The interactive shell and its PTY.  The parent opens the PTY once and
 * keeps the master for the whole life of the agent, so a dropped transport
 * never hangs up the shell: channel children only ever get a dup of it.
 * The shell starts after the first bootconfigdone, in its own session with
 * the PTY as its controlling terminal, with the boot environment, all other
 * fds closed and default signal dispositions.
 */
#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "agent.h"
#include "log.h"
#include "termmodes.h"

#define DEFAULT_PATH	"/usr/local/sbin:/usr/local/bin:/usr/sbin:" \
			"/usr/bin:/sbin:/bin"

static int	 master = -1;
static char	 slave_name[PATH_MAX];
static pid_t	 pid;
static char	*env[ENV_MAX + 8];	/* boot variables + our defaults */
static size_t	 nenv;
static struct termmodes client_modes;	/* termmodes, before the start */
static int	 have_modes;

int
shell_open_pty(void)
{
	struct winsize	 ws = { .ws_row = 24, .ws_col = 80 };
	char		*name;

	if ((master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1)
		return (-1);
	if (grantpt(master) == -1 || unlockpt(master) == -1 ||
	    (name = ptsname(master)) == NULL)
		return (-1);
	if (strlcpy(slave_name, name, sizeof(slave_name)) >=
	    sizeof(slave_name)) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	(void)ioctl(master, TIOCSWINSZ, &ws);
	return (master);
}

int
shell_master(void)
{
	return (master);
}

pid_t
shell_pid(void)
{
	return (pid);
}

/* A boot variable, already validated.  A later value replaces an earlier. */
int
shell_setenv(const char *key, const char *value)
{
	size_t	 i, klen = strlen(key);
	char	*kv;

	if (asprintf(&kv, "%s=%s", key, value) == -1)
		return (-1);
	for (i = 0; i < nenv; i++) {
		if (strncmp(env[i], key, klen) == 0 && env[i][klen] == '=') {
			free(env[i]);
			env[i] = kv;
			return (0);
		}
	}
	if (nenv >= ENV_MAX) {
		free(kv);
		errno = E2BIG;
		return (-1);
	}
	env[nenv++] = kv;
	return (0);
}

static int
env_has(const char *key)
{
	size_t	 i, klen = strlen(key);

	for (i = 0; i < nenv; i++)
		if (strncmp(env[i], key, klen) == 0 && env[i][klen] == '=')
			return (1);
	return (0);
}

static void
env_default(const char *key, const char *value)
{
	if (value != NULL && !env_has(key))
		(void)shell_setenv(key, value);
}

/*
 * Become the shell user (-u).  Without -u, or when it names us already,
 * nothing changes.  Returns -1 if the user does not exist or the drop fails.
 */
int
user_drop(const char *user)
{
	struct passwd	*pw;

	if (user == NULL)
		return (0);
	if ((pw = getpwnam(user)) == NULL) {
		errno = ENOENT;
		return (-1);
	}
	if (pw->pw_uid == getuid() && pw->pw_uid == geteuid())
		return (0);
	if (initgroups(pw->pw_name, pw->pw_gid) == -1 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1)
		return (-1);
	return (0);
}

static const char *env_ctype(void);
static void	 pty_modes(void);

/*
 * The environment of the shell and of every exec: the boot variables plus
 * what a login gives, never the agent's own.  The defaults fill only what
 * the host did not set, so every call gives the same for the same boot.
 */
char **
shell_env(void)
{
	struct passwd	*pw;

	pw = conf.user ? getpwnam(conf.user) : getpwuid(getuid());
	if (pw != NULL) {
		env_default("HOME", pw->pw_dir);
		env_default("USER", pw->pw_name);
		env_default("LOGNAME", pw->pw_name);
		env_default("SHELL", conf.shell_argv[0]);
	}
	env_default("TERM", "xterm-256color");
	env_default("PATH", DEFAULT_PATH);
	env[nenv] = NULL;
	return (env);
}

pid_t
shell_start(void)
{
	struct passwd	*pw;
	const char	*home = NULL;
	char		**envp;
	int		 slave;

	envp = shell_env();
	pw = conf.user ? getpwnam(conf.user) : getpwuid(getuid());
	if (pw != NULL)
		home = pw->pw_dir;
	pty_modes();

	switch ((pid = fork())) {
	case -1:
		return (-1);
	case 0:
		break;
	default:
		log_info("shell %s started (pid %d) on %s", conf.shell_argv[0],
		    (int)pid, slave_name);
		return (pid);
	}

	/* The shell: a new session with the PTY as controlling terminal. */
	proc_reset_signals();
	if (setsid() == -1)
		_exit(127);
	if ((slave = open(slave_name, O_RDWR)) == -1)
		_exit(127);
	if (ioctl(slave, TIOCSCTTY, 0) == -1)
		_exit(127);
	if (dup2(slave, 0) == -1 || dup2(slave, 1) == -1 ||
	    dup2(slave, 2) == -1)
		_exit(127);
	closefrom(3);
	if (user_drop(conf.user) == -1) {
		dprintf(2, "capsem-agent: cannot become %s: %s\r\n",
		    conf.user, strerror(errno));
		_exit(126);
	}
	if (chdir(conf.workspace) == -1 && (home == NULL || chdir(home) == -1))
		(void)chdir("/");
	execve(conf.shell_argv[0], conf.shell_argv, envp);
	dprintf(2, "capsem-agent: exec %s: %s\r\n", conf.shell_argv[0],
	    strerror(errno));
	_exit(127);
}

/* The variable the C library takes the character set from, or NULL. */
static const char *
env_ctype(void)
{
	static const char *const keys[] = { "LC_ALL", "LC_CTYPE", "LANG" };
	size_t	 i, j, klen;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		klen = strlen(keys[i]);
		for (j = 0; j < nenv; j++)
			if (strncmp(env[j], keys[i], klen) == 0 &&
			    env[j][klen] == '=' && env[j][klen + 1] != '\0')
				return (env[j] + klen + 1);
	}
	return (NULL);
}

/*
 * The client's terminal modes (termmodes), kept for the first start of the
 * shell.  -1: invalid (why says it); 1: the shell runs already and keeps
 * its terminal, the modes are not applied; 0: kept.
 */
int
shell_termmodes(const uint8_t *p, size_t len, char *why, size_t whylen)
{
	struct termmodes	 tm;

	if (termmodes_parse(p, len, &tm, why, whylen) == -1)
		return (-1);
	if (pid != 0)
		return (1);
	client_modes = tm;
	have_modes = 1;
	return (0);
}

int
shell_has_termmodes(void)
{
	return (have_modes);
}

/*
 * The PTY's modes before the shell starts: the client's (termmodes) over
 * the defaults, and a UTF-8 line discipline (IUTF8) whenever the locale is
 * UTF-8, as a local terminal has: erase then takes back a whole
 * character, not one byte.
 */
static void
pty_modes(void)
{
	struct termios	 t;
	const char	*ct = env_ctype();
	int		 utf8;

	utf8 = ct != NULL && (strcasestr(ct, "utf-8") != NULL ||
	    strcasestr(ct, "utf8") != NULL);
	if (!utf8 && !have_modes)
		return;
	if (tcgetattr(master, &t) == -1) {
		log_warn("PTY: tcgetattr");
		return;
	}
	if (have_modes)
		termmodes_apply(&client_modes, &t);
	if (utf8)
		t.c_iflag |= IUTF8;
	if (tcsetattr(master, TCSANOW, &t) == -1) {
		log_warn("PTY: terminal modes");
		return;
	}
	if (have_modes)
		log_info("PTY: the client's terminal modes (%zu, erase %lld)%s",
		    client_modes.n, termmodes_get(&client_modes, "VERASE"),
		    utf8 ? ", IUTF8 for the UTF-8 locale" : "");
}

/* How many processes of the shell's session are still there. */
int
shell_session_count(void)
{
	if (pid <= 0)
		return (0);
	return (ptree_signal_session(pid, 0));
}

/*
 * Hang up the shell's session: SIGHUP (and SIGCONT so stopped jobs see it)
 * to every process of the session, or SIGKILL when killit is set.  Returns
 * how many processes were still there.
 */
int
shell_hangup(int killit)
{
	int	 n;

	if (pid <= 0)
		return (0);
	if (killit)
		return (ptree_signal_session(pid, SIGKILL));
	n = ptree_signal_session(pid, SIGHUP);
	(void)ptree_signal_session(pid, SIGCONT);
	return (n);
}

/* Set the window size; the kernel signals the foreground group, and so do we. */
void
shell_resize(uint16_t cols, uint16_t rows)
{
	struct winsize	 ws;
	pid_t		 pgrp;

	memset(&ws, 0, sizeof(ws));
	ws.ws_col = cols;
	ws.ws_row = rows;
	if (ioctl(master, TIOCSWINSZ, &ws) == -1) {
		log_warn("resize %ux%u", cols, rows);
		return;
	}
	if ((pgrp = tcgetpgrp(master)) > 0)
		(void)kill(-pgrp, SIGWINCH);
	log_debug("resized to %ux%u", cols, rows);
}
