/*
 * Requests from the host that act on the guest outside the shell: file
 * operations confined to the workspace (fileops.c does the confining) and
 * the snapshot freeze and thaw.  They arrive as typed imsgs from
 * agent-control, from an untrusted process: every field is checked here
 * before it is used.  Each answer is an ackable response (filecontent,
 * fileopdone, error), kept in the pending table until acknowledged.
 */
#include <sys/types.h>
#include <sys/ioctl.h>

#include <fcntl.h>
#include <linux/fs.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "fileops.h"
#include "log.h"

#define READFILE_MAX		(FRAME_MAX / 2 - 4096) /* bytes as int array */

static int	 wsfd = -1;

/* The workspace, opened once: every file request is relative to it. */
void
hostreq_init(void)
{
	struct passwd	*pw;

	if ((wsfd = ws_open(conf.workspace)) == -1)
		log_warn("workspace %s: file operations will fail",
		    conf.workspace);
	/* The shell runs as another user (-u): what the host writes is its. */
	if (conf.user != NULL && geteuid() == 0 &&
	    (pw = getpwnam(conf.user)) != NULL && pw->pw_uid != 0)
		ws_set_owner(pw->pw_uid, pw->pw_gid);
}

/* The workspace fd (O_PATH), for the copies of copy.c. */
int
hostreq_wsfd(void)
{
	return (wsfd);
}

/*
 * Split a file imsg into its header, path (a NUL-terminated copy) and
 * data; -1, and the child stopped, if it is malformed.
 */
int
file_imsg(struct proc *p, struct imsg *imsg, struct imsg_file *f,
    char **path, uint8_t **data, size_t *datalen)
{
	size_t	 len = imsg_get_len(imsg);
	uint8_t	*buf = NULL;

	*path = NULL;
	*data = NULL;
	if (len < sizeof(*f) || len > CAPSEM_IMSG_MAX ||
	    (buf = malloc(len + 1)) == NULL)
		goto bad;
	if (imsg_get_data(imsg, buf, len) == -1)
		goto bad;
	memcpy(f, buf, sizeof(*f));
	if (f->pathlen > len - sizeof(*f))
		goto bad;
	if ((*path = strndup((char *)buf + sizeof(*f), f->pathlen)) == NULL)
		goto bad;
	if (strlen(*path) != f->pathlen) {
		free(*path);
		*path = NULL;
		goto bad;
	}
	*datalen = len - sizeof(*f) - f->pathlen;
	memmove(buf, buf + sizeof(*f) + f->pathlen, *datalen);
	*data = buf;
	return (0);
 bad:
	free(buf);
	proc_malformed(p, imsg, "file request");
	return (-1);
}

void
hostreq_file(struct proc *p, struct imsg *imsg)
{
	struct imsg_file f;
	struct msg	 m;
	char		 err[512], *path;
	uint8_t		*data, *rdata = NULL;
	size_t		 len, rlen = 0;
	uint32_t	 type = imsg_get_type(imsg);
	int		 r;

	if (file_imsg(p, imsg, &f, &path, &data, &len) == -1)
		return;
	memset(&m, 0, sizeof(m));
	if (type == IMSG_CTL_FILEWRITE)
		r = ws_write(wsfd, conf.workspace, path, data, len, f.mode,
		    err, sizeof(err));
	else if (type == IMSG_CTL_FILEREAD)
		r = ws_read(wsfd, conf.workspace, path, READFILE_MAX, &rdata,
		    &rlen, err, sizeof(err));
	else
		r = ws_delete(wsfd, conf.workspace, path, err, sizeof(err));
	if (r == -1) {
		log_info("file request %llu: %s", (unsigned long long)f.id,
		    err);
		agent_send_error(f.id, err);
	} else if (type == IMSG_CTL_FILEREAD) {
		m.type = MSG_FILECONTENT;
		m.u.filecontent.id = f.id;
		m.u.filecontent.path.s = path;
		m.u.filecontent.path.len = strlen(path);
		m.u.filecontent.data.p = rdata;
		m.u.filecontent.data.len = rlen;
		if (agent_send_ackable(&m, f.id) == -1)
			agent_send_error(f.id, "failed to read: the answer "
			    "does not fit in a frame");
	} else {
		m.type = MSG_FILEOPDONE;
		m.u.fileopdone.id = f.id;
		(void)agent_send_ackable(&m, f.id);
	}
	free(rdata);
	free(path);
	free(data);
}

/* preparesnapshot: sync, freeze the configured filesystem, say so. */
void
hostreq_snapshot(void)
{
	struct msg	 m;
	int		 fd;

	sync();
	if (conf.freezepath != NULL) {
		if ((fd = open(conf.freezepath, O_RDONLY | O_CLOEXEC)) == -1) {
			log_warn("preparesnapshot: open %s", conf.freezepath);
			return;
		}
		if (ioctl(fd, FIFREEZE, 0) == -1) {
			log_warn("preparesnapshot: freeze %s",
			    conf.freezepath);
			close(fd);
			return;
		}
		close(fd);
		log_info("froze %s for a snapshot", conf.freezepath);
	}
	memset(&m, 0, sizeof(m));
	m.type = MSG_SNAPSHOTREADY;
	(void)agent_send(&m);
}

void
hostreq_unfreeze(void)
{
	int	 fd;

	if (conf.freezepath == NULL)
		return;
	if ((fd = open(conf.freezepath, O_RDONLY | O_CLOEXEC)) == -1) {
		log_warn("unfreeze: open %s", conf.freezepath);
		return;
	}
	if (ioctl(fd, FITHAW, 0) == -1)
		log_warn("unfreeze: thaw %s", conf.freezepath);
	else
		log_info("thawed %s", conf.freezepath);
	close(fd);
}
