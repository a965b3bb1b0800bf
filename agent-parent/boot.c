/*
 * The boot sequence, the parent's side: what the host sends between
 * `ready` and `bootconfigdone` arrives here as typed imsgs from
 * agent-control (still untrusted: the child decodes, this file validates).
 * It sets the clock, keeps the environment for the shell (first boot only:
 * a running shell keeps what it has), writes boot files, and after the
 * first boot reports the image's boot stages (boottiming).
 *
 * It may touch: the clock (clock_settime), the files the host names under
 * the boot path rules of validate.c, the boot timing file.  Nothing else.
 */
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "fileops.h"
#include "log.h"
#include "validate.h"

static size_t		 boot_nenv;
static size_t		 boot_nfiles;
static uint64_t		 boot_bytes;
static int		 clock_eperm;

static int	 count_dir(const char *);
static int	 count_children(void);

/* A new connection: a fresh boot sequence with fresh limits. */
void
boot_begin(void)
{
	boot_nenv = 0;
	boot_nfiles = 0;
	boot_bytes = 0;
}

void
boot_setenv(struct proc *p, struct imsg *imsg)
{
	char		 buf[ENV_KEY_MAX + ENV_VALUE_MAX + 2];
	const char	*why, *key, *value;
	size_t		 len = imsg_get_len(imsg), klen;

	/* "KEY\0VALUE\0", as agent-control composes it. */
	if (len < 2 || len > sizeof(buf) ||
	    imsg_get_data(imsg, buf, len) == -1 || buf[len - 1] != '\0' ||
	    (klen = strlen(buf)) + 1 >= len) {
		proc_malformed(p, imsg, "setenv");
		return;
	}
	key = buf;
	value = buf + klen + 1;
	if (agent_first_boot_done()) {
		log_debug("boot: setenv %s ignored: the shell keeps its "
		    "environment", key);
		return;
	}
	if (valid_env_key(key, klen, &why) == -1 ||
	    valid_env_value(value, strlen(value), &why) == -1 ||
	    valid_env_count(boot_nenv + 1, &why) == -1) {
		log_warnx("boot: setenv %.64s rejected: %s", key, why);
		return;
	}
	if (shell_setenv(key, value) == -1) {
		log_warn("boot: setenv %.64s", key);
		return;
	}
	boot_nenv++;
}

void
boot_file(struct proc *p, struct imsg *imsg)
{
	struct imsg_file f;
	char		 err[256], *path;
	const char	*why;
	uint8_t		*data;
	size_t		 len;

	if (file_imsg(p, imsg, &f, &path, &data, &len) == -1)
		return;
	if (agent_first_boot_done())
		log_debug("boot: file %s ignored on reconnect", path);
	else if (valid_boot_path(path, strlen(path), &why) == -1 ||
	    valid_boot_files(boot_nfiles + 1, boot_bytes + len, &why) == -1)
		log_warnx("boot: file %.200s rejected: %s", path, why);
	else if (bootfile_write(path, data, len, f.mode, err,
	    sizeof(err)) == -1)
		log_warnx("boot: %s", err);
	else {
		boot_nfiles++;
		boot_bytes += len;
		log_debug("boot: wrote %s (%zu bytes)", path, len);
	}
	free(path);
	free(data);
}

/* First boot only: the boot stages recorded by the image, if any. */
void
boot_timing(void)
{
	struct boot_stage stages[64];
	struct msg	 m;
	json_t		*j, *name, *dur;
	FILE		*fp;
	char		 line[1024];
	size_t		 n = 0, i;

	if (conf.boottiming == NULL ||
	    (fp = fopen(conf.boottiming, "re")) == NULL)
		return;
	while (n < 64 && fgets(line, sizeof(line), fp) != NULL) {
		if ((j = json_loads(line, 0, NULL)) == NULL)
			continue;
		name = json_object_get(j, "name");
		dur = json_object_get(j, "duration_ms");
		if (json_is_string(name) && json_is_integer(dur) &&
		    json_integer_value(dur) >= 0) {
			stages[n].name.s = strdup(json_string_value(name));
			stages[n].name.len = stages[n].name.s ?
			    strlen(stages[n].name.s) : 0;
			stages[n].duration_ms = json_integer_value(dur);
			if (stages[n].name.s != NULL)
				n++;
		}
		json_decref(j);
	}
	fclose(fp);
	if (n > 0) {
		memset(&m, 0, sizeof(m));
		m.type = MSG_BOOTTIMING;
		m.u.boottiming.stages = stages;
		m.u.boottiming.nstages = n;
		(void)agent_send(&m);
	}
	for (i = 0; i < n; i++)
		free(stages[i].name.s);
}

/* The log line of a finished boot: what this process holds now. */
void
boot_report(uint64_t nconnects)
{
	log_info("boot sequence done: session running (connection %llu, "
	    "%d fds open, %d child processes)", (unsigned long long)nconnects,
	    count_dir("/proc/self/fd") - 1, count_children());
}

/* Entries in a directory, or -1: our open fds, for the boot log line. */
static int
count_dir(const char *path)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	if ((d = opendir(path)) == NULL)
		return (-1);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return (n);
}

/* Our live children (channel children, the shell, exec runners). */
static int
count_children(void)
{
	char	 path[64], buf[64];
	FILE	*fp;
	int	 n = 0;

	snprintf(path, sizeof(path), "/proc/self/task/%d/children",
	    (int)getpid());
	if ((fp = fopen(path, "re")) == NULL)
		return (-1);
	while (fscanf(fp, "%63s", buf) == 1)
		n++;
	fclose(fp);
	return (n);
}

void
clock_set(uint64_t epoch)
{
	struct timespec	 ts;

	if (epoch > INT64_MAX)
		return;
	/*
	 * The host's time has whole seconds only: a clock already within a
	 * second of it is left alone rather than set back by up to a second
	 * at every boot and ping (and a local agent never moves the clock of
	 * the machine it shares with its host).
	 */
	if (clock_gettime(CLOCK_REALTIME, &ts) == 0 &&
	    ts.tv_sec >= (time_t)epoch - 1 && ts.tv_sec <= (time_t)epoch + 1)
		return;
	ts.tv_sec = (time_t)epoch;
	ts.tv_nsec = 0;
	if (clock_settime(CLOCK_REALTIME, &ts) == -1) {
		if (errno == EPERM) {
			if (!clock_eperm)
				log_info("clock not set: not permitted "
				    "(logged once)");
			clock_eperm = 1;
		} else
			log_warn("clock_settime");
	} else
		log_debug("clock set to %llu", (unsigned long long)epoch);
}
