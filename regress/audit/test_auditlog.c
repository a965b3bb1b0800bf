/*
 * Unit tests of the auditd log parser (agent-audit/auditlog.c): the golden
 * vector (shared/vectors/audit-basic.{log,jsonl}) fed whole, byte by byte
 * and split at every offset; chunked and hex arguments; the enriched
 * format; interleaved events, before and after the first EOE, and events
 * without EOE; the bound after which an open event is taken as complete;
 * the parent_exe table and its bound; the pending, line and argv bounds;
 * invalid UTF-8; garbage.
 *
 * The records are borrowed by the callback, so the tests deep-copy them
 * and free their copies here (no audit_record_free needed).
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "auditlog.h"
#include "wire.h"

#ifndef CAPSEM_TOP
#define CAPSEM_TOP	"."
#endif

struct result {
	struct audit_record	*v;
	size_t			 n;
};

static void
str_copy(struct wire_str *dst, const struct wire_str *src)
{
	dst->len = src->len;
	dst->s = NULL;
	if (src->s == NULL)
		return;
	dst->s = malloc(src->len + 1);
	assert_non_null(dst->s);
	memcpy(dst->s, src->s, src->len + 1);
	/* Every string handed out is NUL-terminated at len. */
	assert_int_equal(src->s[src->len], '\0');
	assert_int_equal(strlen(src->s), src->len);
}

static void
collect(const struct audit_record *r, void *arg)
{
	struct result		*res = arg;
	struct audit_record	*c;

	res->v = reallocarray(res->v, res->n + 1, sizeof(*res->v));
	assert_non_null(res->v);
	c = &res->v[res->n++];
	*c = *r;
	str_copy(&c->exe, &r->exe);
	str_copy(&c->comm, &r->comm);
	str_copy(&c->argv, &r->argv);
	str_copy(&c->cwd, &r->cwd);
	str_copy(&c->tty, &r->tty);
	str_copy(&c->parent_exe, &r->parent_exe);
	str_copy(&c->audit_id, &r->audit_id);
	assert_non_null(c->exe.s);
	assert_non_null(c->argv.s);
	assert_non_null(c->audit_id.s);
}

static void
result_free(struct result *res)
{
	size_t	 i;

	for (i = 0; i < res->n; i++) {
		free(res->v[i].exe.s);
		free(res->v[i].comm.s);
		free(res->v[i].argv.s);
		free(res->v[i].cwd.s);
		free(res->v[i].tty.s);
		free(res->v[i].parent_exe.s);
		free(res->v[i].audit_id.s);
	}
	free(res->v);
	memset(res, 0, sizeof(*res));
}

static void
feed(struct auditlog *al, const char *s, struct result *res)
{
	assert_int_equal(auditlog_feed(al, s, strlen(s), collect, res), 0);
}

static void
assert_str(const struct wire_str *s, const char *want)
{
	if (want == NULL) {
		assert_null(s->s);
		return;
	}
	assert_non_null(s->s);
	assert_string_equal(s->s, want);
	assert_int_equal(s->len, strlen(want));
}

static char *
slurp(const char *name, size_t *lenp)
{
	const char	*dir;
	char		 path[1024];
	char		*buf;
	FILE		*f;
	struct stat	 st;

	if ((dir = getenv("CAPSEM_VECTORS")) == NULL)
		dir = CAPSEM_TOP "/../shared/vectors";
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "r")) == NULL || fstat(fileno(f), &st) == -1)
		fail_msg("vector %s missing", path);
	buf = malloc(st.st_size + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, st.st_size, f), (size_t)st.st_size);
	buf[st.st_size] = '\0';
	fclose(f);
	*lenp = st.st_size;
	return (buf);
}

static void
json_str(json_t *o, const char *key, const struct wire_str *s)
{
	json_t	*v = json_object_get(o, key);

	assert_non_null(v);
	if (json_is_null(v)) {
		assert_null(s->s);
		return;
	}
	assert_true(json_is_string(v));
	assert_int_equal(s->len, json_string_length(v));
	assert_memory_equal(s->s, json_string_value(v), s->len);
}

static void
json_int(json_t *o, const char *key, uint64_t n)
{
	json_t	*v = json_object_get(o, key);

	assert_true(json_is_integer(v));
	assert_int_equal((uint64_t)json_integer_value(v), n);
}

/* The records must be exactly the lines of audit-basic.jsonl. */
static void
check_vector(const struct result *res)
{
	char		*text, *line, *next;
	size_t		 len, i = 0;
	json_t		*o, *ses;
	json_error_t	 jerr;

	text = slurp("audit-basic.jsonl", &len);
	for (line = text; *line != '\0'; line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		else
			next = line + strlen(line);
		if (*line == '\0')
			continue;
		o = json_loads(line, 0, &jerr);
		assert_non_null(o);
		assert_true(i < res->n);
		json_int(o, "timestamp_us", res->v[i].timestamp_us);
		json_int(o, "pid", res->v[i].pid);
		json_int(o, "ppid", res->v[i].ppid);
		json_int(o, "uid", res->v[i].uid);
		json_str(o, "exe", &res->v[i].exe);
		json_str(o, "comm", &res->v[i].comm);
		json_str(o, "argv", &res->v[i].argv);
		json_str(o, "cwd", &res->v[i].cwd);
		json_str(o, "tty", &res->v[i].tty);
		ses = json_object_get(o, "session_id");
		assert_non_null(ses);
		if (json_is_null(ses))
			assert_false(res->v[i].has_session_id);
		else {
			assert_true(res->v[i].has_session_id);
			json_int(o, "session_id", res->v[i].session_id);
		}
		json_str(o, "parent_exe", &res->v[i].parent_exe);
		json_str(o, "audit_id", &res->v[i].audit_id);
		json_decref(o);
		i++;
	}
	assert_int_equal(i, 2);
	assert_int_equal(res->n, i);
	free(text);
}

static void
check_vector_stats(struct auditlog *al)
{
	const struct auditlog_stats *st = auditlog_stats(al);

	assert_int_equal(st->records, 2);
	assert_int_equal(st->dropped_incomplete, 0);
	assert_int_equal(st->dropped_oversize, 0);
	assert_int_equal(st->bad_lines, 0);
	assert_int_equal(st->open_events, 0);
}

static void
test_vector_whole(void **state)
{
	struct auditlog	*al;
	struct result	 res = { 0 };
	char		*log;
	size_t		 len;

	log = slurp("audit-basic.log", &len);
	assert_non_null(al = auditlog_new());
	assert_int_equal(auditlog_feed(al, log, len, collect, &res), 0);
	/* EOE completes each event: nothing waits for the flush. */
	assert_int_equal(res.n, 2);
	auditlog_flush(al, collect, &res);
	check_vector(&res);
	check_vector_stats(al);
	auditlog_free(al);
	result_free(&res);
	free(log);
}

static void
test_vector_bytewise(void **state)
{
	struct auditlog	*al;
	struct result	 res = { 0 };
	char		*log;
	size_t		 len, i;

	log = slurp("audit-basic.log", &len);
	assert_non_null(al = auditlog_new());
	for (i = 0; i < len; i++)
		assert_int_equal(auditlog_feed(al, log + i, 1, collect, &res),
		    0);
	auditlog_flush(al, collect, &res);
	check_vector(&res);
	check_vector_stats(al);
	auditlog_free(al);
	result_free(&res);
	free(log);
}

static void
test_vector_every_split(void **state)
{
	struct auditlog	*al;
	struct result	 res = { 0 };
	char		*log;
	size_t		 len, k;

	log = slurp("audit-basic.log", &len);
	for (k = 0; k <= len; k++) {
		assert_non_null(al = auditlog_new());
		assert_int_equal(auditlog_feed(al, log, k, collect, &res), 0);
		assert_int_equal(auditlog_feed(al, log + k, len - k, collect,
		    &res), 0);
		auditlog_flush(al, collect, &res);
		check_vector(&res);
		check_vector_stats(al);
		auditlog_free(al);
		result_free(&res);
	}
	free(log);
}

#define SC(id, pid, ppid, rest) \
	"type=SYSCALL msg=audit(" id "): arch=c000003e syscall=59 " \
	"success=yes exit=0 ppid=" #ppid " pid=" #pid " auid=0 uid=0 " rest "\n"
#define EOE(id)	"type=EOE msg=audit(" id "): \n"

/* One whole exec event: pid exec'd exe, child of ppid. */
static void
exec_event(struct auditlog *al, struct result *res, unsigned serial,
    unsigned pid, unsigned ppid, const char *exe)
{
	char	 buf[512];

	snprintf(buf, sizeof(buf),
	    "type=SYSCALL msg=audit(10.000:%u): success=yes ppid=%u pid=%u "
	    "uid=0 exe=\"%s\"\n"
	    "type=EXECVE msg=audit(10.000:%u): argc=1 a0=\"x\"\n"
	    "type=EOE msg=audit(10.000:%u): \n",
	    serial, ppid, pid, exe, serial, serial);
	feed(al, buf, res);
}

static void
test_split_args(void **state)
{
	struct auditlog	*al;
	struct result	 res = { 0 };

	assert_non_null(al = auditlog_new());
	feed(al, SC("5.000:1", 10, 1,
	    "tty=pts0 ses=1 comm=\"sh\" exe=\"/bin/sh\""), &res);
	/* a1 is split in three chunks, quoted and hex, over two lines;
	 * a2 splits a two-byte UTF-8 character between chunks. */
	feed(al, "type=EXECVE msg=audit(5.000:1): argc=4 a0=\"sh\" a1_len=10 "
	    "a1[0]=\"abcd\" a1[1]=6566\n", &res);
	feed(al, "type=EXECVE msg=audit(5.000:1): a1[2]=\"ghij\" a2_len=2 "
	    "a2[0]=C3 a2[1]=A9 a3=\"z\"\n", &res);
	feed(al, "type=CWD msg=audit(5.000:1): cwd=\"/\"\n", &res);
	feed(al, EOE("5.000:1"), &res);
	assert_int_equal(res.n, 1);
	assert_str(&res.v[0].argv, "sh abcdefghij \xc3\xa9 z");
	assert_int_equal(res.v[0].timestamp_us, 5000000);

	/* A chunk out of order breaks the event. */
	feed(al, SC("5.000:2", 11, 1, "exe=\"/bin/sh\""), &res);
	feed(al, "type=EXECVE msg=audit(5.000:2): argc=1 a0_len=4 "
	    "a0[1]=\"ab\" a0[0]=\"cd\"\n", &res);
	feed(al, EOE("5.000:2"), &res);
	assert_int_equal(res.n, 1);
	assert_int_equal(auditlog_stats(al)->dropped_incomplete, 1);
	assert_int_equal(auditlog_stats(al)->bad_lines, 1);
	auditlog_free(al);
	result_free(&res);
}

static void
test_hex_fields(void **state)
{
	struct auditlog	*al;
	struct result	 res = { 0 };

	assert_non_null(al = auditlog_new());
	feed(al, SC("6.123:1", 10, 1, "tty=(none) ses=2 comm=6D7920636D64 "
	    "exe=2F62696E2F612062"), &res);
	feed(al, "type=EXECVE msg=audit(6.123:1): argc=2 a0=\"a b\" a1=\"\"\n",
	    &res);
	feed(al, "type=CWD msg=audit(6.123:1): cwd=2F746D702F612062\n", &res);
	feed(al, EOE("6.123:1"), &res);
	assert_int_equal(res.n, 1);
	assert_str(&res.v[0].exe, "/bin/a b");
	assert_str(&res.v[0].comm, "my cmd");
	assert_str(&res.v[0].cwd, "/tmp/a b");
	assert_str(&res.v[0].argv, "a b ");
	assert_str(&res.v[0].tty, NULL);
	assert_int_equal(res.v[0].timestamp_us, 6123000);
	assert_str(&res.v[0].audit_id, "6.123:1");
	auditlog_free(al);
	result_free(&res);
}

static void
test_enriched(void **state)
{
	struct auditlog	*al;
	struct result	 res = { 0 };
	char		*log, *in, *p, *q;
	size_t		 len;

	/* The vector in the enriched format, with a node= prefix. */
	log = slurp("audit-basic.log", &len);
	assert_non_null(in = malloc(len * 3 + 1024));
	in[0] = '\0';
	for (p = log; (q = strchr(p, '\n')) != NULL; p = q + 1) {
		strcat(in, "node=guest ");
		strncat(in, p, q - p);
		strcat(in, "\x1d" "ARCH=x86_64 SYSCALL=execve AUID=\"unset\" "
		    "UID=\"root\" exe=\"/evil\" junk=\"unterminated a9=x\n");
	}
	assert_non_null(al = auditlog_new());
	feed(al, in, &res);
	auditlog_flush(al, collect, &res);
	check_vector(&res);
	check_vector_stats(al);
	auditlog_free(al);
	result_free(&res);
	free(in);
	free(log);
}

static void
test_interleaved(void **state)
{
	struct auditlog	*al;
	struct result	 res = { 0 };

	assert_non_null(al = auditlog_new());
	/* A log that has shown EOE: events are assembled by id. */
	feed(al, SC("7.000:1", 1, 0, "exe=\"/sbin/init\""), &res);
	feed(al, "type=EXECVE msg=audit(7.000:1): argc=1 a0=\"init\"\n", &res);
	feed(al, EOE("7.000:1"), &res);
	feed(al, SC("7.000:2", 20, 1, "exe=\"/bin/a\""), &res);
	feed(al, SC("7.000:3", 30, 1, "exe=\"/bin/b\""), &res);
	feed(al, "type=EXECVE msg=audit(7.000:2): argc=1 a0=\"a\"\n", &res);
	feed(al, "type=EXECVE msg=audit(7.000:3): argc=1 a0=\"b\"\n", &res);
	feed(al, "type=CWD msg=audit(7.000:3): cwd=\"/b\"\n", &res);
	feed(al, "type=CWD msg=audit(7.000:2): cwd=\"/a\"\n", &res);
	feed(al, "type=PROCTITLE msg=audit(7.000:2): proctitle=61\n", &res);
	assert_int_equal(res.n, 1);
	assert_int_equal(auditlog_stats(al)->open_events, 2);
	feed(al, EOE("7.000:3"), &res);
	feed(al, EOE("7.000:2"), &res);
	assert_int_equal(res.n, 3);
	assert_str(&res.v[1].exe, "/bin/b");
	assert_str(&res.v[1].argv, "b");
	assert_str(&res.v[1].cwd, "/b");
	assert_str(&res.v[2].exe, "/bin/a");
	assert_str(&res.v[2].argv, "a");
	assert_str(&res.v[2].cwd, "/a");
	assert_str(&res.v[2].parent_exe, "/sbin/init");
	assert_int_equal(auditlog_stats(al)->open_events, 0);
	auditlog_free(al);
	result_free(&res);
}

/*
 * The issue 13 case: two events whose lines alternate at the start of
 * tailing, before any EOE was seen, then the first EOE lines.  Both are
 * assembled whole, and the next record finds its parent.
 */
static void
test_interleaved_before_eoe(void **state)
{
	struct auditlog	*al;
	struct result	 res = { 0 };

	assert_non_null(al = auditlog_new());
	feed(al, SC("7.500:1", 20, 1, "exe=\"/bin/a\""), &res);
	feed(al, SC("7.500:2", 30, 1, "exe=\"/bin/b\""), &res);
	feed(al, "type=EXECVE msg=audit(7.500:1): argc=1 a0=\"a\"\n", &res);
	feed(al, "type=EXECVE msg=audit(7.500:2): argc=1 a0=\"b\"\n", &res);
	feed(al, "type=CWD msg=audit(7.500:1): cwd=\"/a\"\n", &res);
	feed(al, "type=CWD msg=audit(7.500:2): cwd=\"/b\"\n", &res);
	assert_int_equal(res.n, 0);
	feed(al, EOE("7.500:2"), &res);
	feed(al, EOE("7.500:1"), &res);
	assert_int_equal(res.n, 2);
	assert_str(&res.v[0].argv, "b");
	assert_str(&res.v[0].cwd, "/b");
	assert_str(&res.v[1].argv, "a");
	assert_str(&res.v[1].cwd, "/a");
	exec_event(al, &res, 3, 40, 20, "/bin/c");
	assert_int_equal(res.n, 3);
	assert_str(&res.v[2].parent_exe, "/bin/a");
	assert_int_equal(auditlog_stats(al)->dropped_incomplete, 0);
	assert_int_equal(auditlog_stats(al)->open_events, 0);
	auditlog_free(al);
	result_free(&res);
}

/*
 * A log without EOE: interleaved events are never taken for the end of
 * one another; each is complete once the log has gone on for
 * AUDITLOG_STALE_LINES lines without it (or at the flush).
 */
static void
test_no_eoe(void **state)
{
	struct auditlog	*al;
	struct result	 res = { 0 };
	char		 buf[128];
	unsigned	 i;

	assert_non_null(al = auditlog_new());
	feed(al, SC("8.000:1", 10, 1, "exe=\"/bin/a\""), &res);
	feed(al, SC("8.000:2", 11, 1, "success=no exe=\"/bin/b\""), &res);
	feed(al, "type=EXECVE msg=audit(8.000:1): argc=1 a0=\"a\"\n", &res);
	feed(al, SC("8.000:3", 12, 10, "exe=\"/bin/c\""), &res);
	feed(al, "type=CWD msg=audit(8.000:1): cwd=\"/a\"\n", &res);
	feed(al, "type=EXECVE msg=audit(8.000:3): argc=1 a0=\"c\"\n", &res);
	feed(al, "type=CWD msg=audit(8.000:3): cwd=\"/c\"\n", &res);
	assert_int_equal(res.n, 0);
	/* Two lines have gone by since 8.000:1's last; 253 more. */
	for (i = 0; i < AUDITLOG_STALE_LINES - 3; i++) {
		snprintf(buf, sizeof(buf), "type=PROCTITLE msg=audit(8.500:%u)"
		    ": proctitle=78\n", i);
		feed(al, buf, &res);
	}
	assert_int_equal(res.n, 0);
	feed(al, "type=PROCTITLE msg=audit(8.600:1): proctitle=78\n", &res);
	assert_int_equal(res.n, 1);
	assert_str(&res.v[0].argv, "a");
	assert_str(&res.v[0].cwd, "/a");
	auditlog_flush(al, collect, &res);
	assert_int_equal(res.n, 2);
	assert_str(&res.v[1].argv, "c");
	assert_str(&res.v[1].cwd, "/c");
	assert_str(&res.v[1].parent_exe, "/bin/a");
	/* The failed execve (success=no) is no loss. */
	assert_int_equal(auditlog_stats(al)->dropped_incomplete, 0);
	assert_int_equal(auditlog_stats(al)->records, 2);
	auditlog_free(al);
	result_free(&res);
}

/*
 * In a log with EOE, an event whose EOE never comes does not stay open
 * for ever (which would also keep the audit child from ever reaching a
 * point to resume from): AUDITLOG_STALE_LINES lines later it is sent, or
 * counted as lost when a part is missing.
 */
static void
test_stale_bound(void **state)
{
	struct auditlog	*al;
	struct result	 res = { 0 };
	unsigned	 i;

	assert_non_null(al = auditlog_new());
	exec_event(al, &res, 1, 100, 1, "/bin/init");
	feed(al, SC("9.500:1", 101, 100, "exe=\"/bin/x\""), &res);
	feed(al, "type=EXECVE msg=audit(9.500:1): argc=1 a0=\"x\"\n", &res);
	feed(al, SC("9.500:2", 102, 100, "exe=\"/bin/y\""), &res);
	feed(al, "type=EXECVE msg=audit(9.500:2): argc=2 a0=\"y\"\n", &res);
	/* Two lines since 9.500:1's last; whole events go by, 3 lines each. */
	for (i = 0; i < (AUDITLOG_STALE_LINES - 2) / 3; i++)
		exec_event(al, &res, 10 + i, 200 + i, 1, "/bin/z");
	assert_int_equal(res.n, 1 + (AUDITLOG_STALE_LINES - 2) / 3);
	assert_int_equal(auditlog_stats(al)->open_events, 2);
	for (; i < AUDITLOG_STALE_LINES; i++)
		exec_event(al, &res, 10 + i, 200 + i, 1, "/bin/z");
	assert_int_equal(auditlog_stats(al)->open_events, 0);
	assert_int_equal(res.n, 2 + AUDITLOG_STALE_LINES);
	assert_str(&res.v[1 + (AUDITLOG_STALE_LINES - 2) / 3].argv, "x");
	assert_str(&res.v[1 + (AUDITLOG_STALE_LINES - 2) / 3].parent_exe,
	    "/bin/init");
	/* 9.500:2 never got its a1. */
	assert_int_equal(auditlog_stats(al)->dropped_incomplete, 1);
	auditlog_free(al);
	result_free(&res);
}

static void
test_optional_fields(void **state)
{
	struct auditlog	*al;
	struct result	 res = { 0 };

	assert_non_null(al = auditlog_new());
	feed(al, SC("9.000:1", 10, 1, "tty=(none) ses=4294967295 exe=\"/a\""),
	    &res);
	feed(al, "type=EXECVE msg=audit(9.000:1): argc=0\n", &res);
	feed(al, EOE("9.000:1"), &res);
	feed(al, SC("9.000:2", 11, 1, "tty=ttyS0 ses=7 comm=\"b\" exe=\"/b\""),
	    &res);
	feed(al, "type=EXECVE msg=audit(9.000:2): argc=1 a0=\"b\"\n", &res);
	feed(al, EOE("9.000:2"), &res);
	assert_int_equal(res.n, 2);
	assert_false(res.v[0].has_session_id);
	assert_str(&res.v[0].tty, NULL);
	assert_str(&res.v[0].comm, NULL);
	assert_str(&res.v[0].cwd, NULL);
	assert_str(&res.v[0].argv, "");
	assert_true(res.v[1].has_session_id);
	assert_int_equal(res.v[1].session_id, 7);
	assert_str(&res.v[1].tty, "ttyS0");
	assert_str(&res.v[1].comm, "b");
	auditlog_free(al);
	result_free(&res);
}

static void
test_parent_chain(void **state)
{
	struct auditlog	*al;
	struct result	 res = { 0 };

	assert_non_null(al = auditlog_new());
	exec_event(al, &res, 1, 100, 1, "/bin/a");
	exec_event(al, &res, 2, 101, 100, "/bin/b");
	exec_event(al, &res, 3, 102, 101, "/bin/c");
	exec_event(al, &res, 4, 100, 1, "/bin/a2");
	exec_event(al, &res, 5, 103, 100, "/bin/d");
	exec_event(al, &res, 6, 104, 999, "/bin/e");
	assert_int_equal(res.n, 6);
	assert_str(&res.v[0].parent_exe, NULL);
	assert_str(&res.v[1].parent_exe, "/bin/a");
	assert_str(&res.v[2].parent_exe, "/bin/b");
	assert_str(&res.v[4].parent_exe, "/bin/a2");
	assert_str(&res.v[5].parent_exe, NULL);
	auditlog_free(al);
	result_free(&res);
}

static void
test_pid_table_bound(void **state)
{
	struct auditlog	*al;
	struct result	 res = { 0 };
	char		 exe[32];
	unsigned	 i;

	assert_non_null(al = auditlog_new());
	for (i = 0; i < AUDITLOG_PIDS_MAX; i++) {
		snprintf(exe, sizeof(exe), "/bin/p%u", i);
		exec_event(al, &res, i, 1000 + i, 1, exe);
	}
	/* Full: a lookup of p0 makes p1 the least recently used. */
	exec_event(al, &res, 90001, 900001, 1000, "/c1");
	exec_event(al, &res, 90002, 900002, 1001, "/c2");
	exec_event(al, &res, 90003, 900003, 1000, "/c3");
	exec_event(al, &res, 90004, 900004, 1000 + AUDITLOG_PIDS_MAX - 1,
	    "/c4");
	assert_int_equal(res.n, AUDITLOG_PIDS_MAX + 4);
	assert_str(&res.v[AUDITLOG_PIDS_MAX].parent_exe, "/bin/p0");
	assert_str(&res.v[AUDITLOG_PIDS_MAX + 1].parent_exe, NULL);
	assert_str(&res.v[AUDITLOG_PIDS_MAX + 2].parent_exe, "/bin/p0");
	assert_str(&res.v[AUDITLOG_PIDS_MAX + 3].parent_exe, "/bin/p4095");
	auditlog_free(al);
	result_free(&res);
}

static void
test_pending_bound(void **state)
{
	struct auditlog	*al;
	struct result	 res = { 0 };
	char		 buf[256];
	unsigned	 i;

	assert_non_null(al = auditlog_new());
	exec_event(al, &res, 1, 10, 1, "/bin/a");
	for (i = 0; i < 100; i++) {
		snprintf(buf, sizeof(buf), "type=SYSCALL msg=audit(11.000:%u): "
		    "success=yes ppid=1 pid=%u uid=0 exe=\"/x\"\n", 100 + i, i);
		feed(al, buf, &res);
		assert_true(auditlog_stats(al)->open_events <=
		    AUDITLOG_PENDING_MAX);
	}
	assert_int_equal(auditlog_stats(al)->open_events, AUDITLOG_PENDING_MAX);
	assert_int_equal(auditlog_stats(al)->dropped_incomplete,
	    100 - AUDITLOG_PENDING_MAX);
	auditlog_flush(al, collect, &res);
	assert_int_equal(auditlog_stats(al)->open_events, 0);
	assert_int_equal(auditlog_stats(al)->dropped_incomplete, 100);
	assert_int_equal(res.n, 1);

	/* The oldest pending event, when complete, is emitted, not lost. */
	snprintf(buf, sizeof(buf), SC("12.000:1", 5, 1, "exe=\"/old\"")
	    "type=EXECVE msg=audit(12.000:1): argc=1 a0=\"old\"\n");
	feed(al, buf, &res);
	for (i = 0; i < AUDITLOG_PENDING_MAX; i++) {
		snprintf(buf, sizeof(buf), "type=CWD msg=audit(12.000:%u): "
		    "cwd=\"/\"\n", 2 + i);
		feed(al, buf, &res);
	}
	assert_int_equal(res.n, 2);
	assert_str(&res.v[1].argv, "old");
	auditlog_free(al);
	result_free(&res);
}

static void
test_long_lines(void **state)
{
	struct auditlog	*al;
	struct result	 res = { 0 };
	const char	*hdr =
	    "type=PROCTITLE msg=audit(13.000:1): proctitle=";
	size_t		 len = 1024 * 1024, i;
	char		*line;

	assert_non_null(line = malloc(len + 1));
	memset(line, 'A', len);
	memcpy(line, hdr, strlen(hdr));
	line[len - 1] = '\n';
	line[len] = '\0';
	assert_non_null(al = auditlog_new());
	/* Whole, then in chunks. */
	feed(al, line, &res);
	for (i = 0; i < len; i += 4096)
		assert_int_equal(auditlog_feed(al, line + i, 4096, collect,
		    &res), 0);
	assert_int_equal(auditlog_stats(al)->dropped_oversize, 2);
	/* Exactly AUDITLOG_LINE_MAX bytes before the newline is fine. */
	line[AUDITLOG_LINE_MAX] = '\n';
	assert_int_equal(auditlog_feed(al, line, AUDITLOG_LINE_MAX + 1, collect,
	    &res), 0);
	for (i = 0; i <= AUDITLOG_LINE_MAX; i += 1000)
		assert_int_equal(auditlog_feed(al, line + i,
		    i + 1000 > AUDITLOG_LINE_MAX + 1 ?
		    AUDITLOG_LINE_MAX + 1 - i : 1000, collect, &res), 0);
	assert_int_equal(auditlog_stats(al)->dropped_oversize, 2);
	/* One more byte is too long. */
	line[AUDITLOG_LINE_MAX] = 'A';
	line[AUDITLOG_LINE_MAX + 1] = '\n';
	assert_int_equal(auditlog_feed(al, line, AUDITLOG_LINE_MAX + 2, collect,
	    &res), 0);
	assert_int_equal(auditlog_stats(al)->dropped_oversize, 3);
	/* And the line after is parsed. */
	exec_event(al, &res, 1, 10, 1, "/bin/a");
	assert_int_equal(res.n, 1);
	assert_int_equal(auditlog_stats(al)->bad_lines, 0);
	auditlog_free(al);
	result_free(&res);
	free(line);
}

static void
test_argv_truncated(void **state)
{
	struct auditlog	*al;
	struct result	 res = { 0 };
	char		*line;
	size_t		 n = 8000;
	int		 i, off;

	assert_non_null(line = malloc(n + 128));
	assert_non_null(al = auditlog_new());
	feed(al, SC("14.000:1", 10, 1, "exe=\"/bin/a\""), &res);
	for (i = 0; i < 8; i++) {
		off = snprintf(line, 128, "type=EXECVE msg=audit(14.000:1): "
		    "%sa%d=\"", i == 0 ? "argc=8 " : "", i);
		memset(line + off, 'a' + i, n);
		strcpy(line + off + n, "\"\n");
		feed(al, line, &res);
	}
	feed(al, "type=CWD msg=audit(14.000:1): cwd=\"/tmp\"\n", &res);
	feed(al, EOE("14.000:1"), &res);
	assert_int_equal(res.n, 1);
	assert_int_equal(res.v[0].argv.len, AUDITLOG_ARGV_MAX);
	assert_int_equal(res.v[0].argv.s[n], ' ');
	assert_int_equal(res.v[0].argv.s[n + 1], 'b');
	assert_str(&res.v[0].cwd, "/tmp");
	assert_int_equal(auditlog_stats(al)->truncated, 1);
	auditlog_free(al);
	result_free(&res);
	free(line);
}

static void
test_missing_args(void **state)
{
	struct auditlog	*al;
	struct result	 res = { 0 };

	assert_non_null(al = auditlog_new());
	feed(al, SC("15.000:1", 10, 1, "exe=\"/bin/a\""), &res);
	feed(al, "type=EXECVE msg=audit(15.000:1): argc=3 a0=\"a\" a1=\"b\"\n",
	    &res);
	feed(al, EOE("15.000:1"), &res);
	/* EXECVE without SYSCALL */
	feed(al, "type=EXECVE msg=audit(15.000:2): argc=1 a0=\"a\"\n", &res);
	feed(al, EOE("15.000:2"), &res);
	assert_int_equal(res.n, 0);
	assert_int_equal(auditlog_stats(al)->dropped_incomplete, 2);
	auditlog_free(al);
	result_free(&res);
}

static void
test_utf8(void **state)
{
	struct auditlog	*al;
	struct result	 res = { 0 };

	assert_non_null(al = auditlog_new());
	feed(al, SC("16.000:1", 10, 1, "exe=2F62696E2FFF"), &res);
	/* FF; C3 then '('; U+D7FF ok; a surrogate; NUL; U+1F600 ok; a
	 * truncated 4-byte sequence. */
	feed(al, "type=EXECVE msg=audit(16.000:1): argc=5 a0=FF41C328ED9FBF "
	    "a1=EDA080 a2=610062 a3=F09F9880 a4=F09F98\n", &res);
	feed(al, EOE("16.000:1"), &res);
	assert_int_equal(res.n, 1);
	assert_str(&res.v[0].exe, "/bin/\xef\xbf\xbd");
	assert_str(&res.v[0].argv,
	    "\xef\xbf\xbd" "A" "\xef\xbf\xbd" "(" "\xed\x9f\xbf" " "
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" " "
	    "a\xef\xbf\xbd" "b" " "
	    "\xf0\x9f\x98\x80" " "
	    "\xef\xbf\xbd");
	auditlog_free(al);
	result_free(&res);
}

static void
test_parse_line(void **state)
{
	struct audit_line	 l;
	const char		*s;

	s = "type=SYSCALL msg=audit(1713100000.001:42): arch=c000003e "
	    "comm=\"bash\" exe=\"/usr/bin/bash\"";
	assert_int_equal(auditlog_parse_line(s, strlen(s), &l), 0);
	assert_int_equal(l.type, AUDIT_LINE_SYSCALL);
	assert_int_equal(l.idlen, strlen("1713100000.001:42"));
	assert_memory_equal(l.id, "1713100000.001:42", l.idlen);
	assert_int_equal(l.timestamp_us, 1713100000001000ULL);
	s = "node=h1 type=EOE msg=audit(1.999:7): ";
	assert_int_equal(auditlog_parse_line(s, strlen(s), &l), 0);
	assert_int_equal(l.type, AUDIT_LINE_EOE);
	assert_int_equal(l.timestamp_us, 1999000);
	s = "type=USER_CMD msg=audit(1.000:8): pid=1 msg='cwd=\"/\" cmd=6C73 "
	    "res=success'";
	assert_int_equal(auditlog_parse_line(s, strlen(s), &l), 0);
	assert_int_equal(l.type, AUDIT_LINE_OTHER);
	s = "type=UNKNOWN[1334] "
	    "msg=audit(18446744073709.551:18446744073709551615): x";
	assert_int_equal(auditlog_parse_line(s, strlen(s), &l), 0);
	assert_int_equal(l.timestamp_us, 18446744073709551000ULL);
	s = "type=CWD msg=audit(18446744073710.000:1): cwd=\"/\"";
	assert_int_equal(auditlog_parse_line(s, strlen(s), &l), -1);
	s = "type=CWD msg=audit(1.000:18446744073709551616): cwd=\"/\"";
	assert_int_equal(auditlog_parse_line(s, strlen(s), &l), -1);
	/* Only the raw part, before GS, is parsed. */
	s = "type=CWD msg=audit(1.000:1): cwd=\"/\"\x1d" "CWD=\"x";
	assert_int_equal(auditlog_parse_line(s, strlen(s), &l), 0);
	assert_int_equal(l.fieldslen, strlen(" cwd=\"/\""));
	/* A NUL inside is just a byte; the length rules. */
	assert_int_equal(auditlog_parse_line("type=EOE msg=audit(1.000:1):\0",
	    29, &l), 0);
	assert_int_equal(auditlog_parse_line("", 0, &l), -1);
}

static const char *garbage[] = {
	"",
	"garbage",
	"type=SYSCALL",
	"type= msg=audit(1.000:1): ",
	"node=x",
	"type=SYSCALL msg=audit(abc:1): pid=1",
	"type=SYSCALL msg=audit(1.00:1): pid=1",
	"type=SYSCALL msg=audit(1.0000:1): pid=1",
	"type=SYSCALL msg=audit(1.000:): pid=1",
	"type=SYSCALL msg=audit(1.000:1) pid=1",
	"type=SYSCALL msg=audit(1.000:1",
	"type=SYSCALL msg=audit(99999999999999999999999.000:1): pid=1",
	"type=SYSCALL msg=audit(1.000:1): comm=\"unterminated",
	"type=SYSCALL msg=audit(1.000:1): comm=\"a\"b pid=1",
	"type=SYSCALL msg=audit(1.000:1): novalue",
	"type=SYSCALL msg=audit(1.000:1): =x",
	"type=SYSCALL msg=audit(1.000:2): pid=x ppid=1 uid=0 exe=\"/a\"",
	"type=SYSCALL msg=audit(1.000:3): pid=1 uid=0 exe=\"/a\"",
	"type=SYSCALL msg=audit(1.000:4): pid=4294967296 ppid=1 uid=0 "
	    "exe=\"/a\"",
	"type=SYSCALL msg=audit(1.000:4): pid=-1 ppid=1 uid=0 exe=\"/a\"",
	"type=SYSCALL msg=audit(1.000:4): pid=\"1\" ppid=1 uid=0 exe=\"/a\"",
	"type=CWD msg=audit(1.000:5): nocwd=1",
	"type=EXECVE msg=audit(1.000:6): a0=\"x\"",
	"type=EXECVE msg=audit(1.000:7): argc=1 a1=\"x\"",
	"type=EXECVE msg=audit(1.000:8): argc=2 a1=\"x\"",
	"type=EXECVE msg=audit(1.000:9): argc=x",
	"type=EXECVE msg=audit(1.000:10): argc=1 a0[1]=\"x\"",
	"\x1dtype=EOE msg=audit(1.000:1): ",
};

static uint32_t
xorshift(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return (*s);
}

static void
test_garbage(void **state)
{
	struct auditlog	*al;
	struct result	 res = { 0 };
	size_t		 i, n, len, off;
	uint32_t	 seed = 12345;
	char		*buf, *log;

	assert_non_null(al = auditlog_new());
	for (i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		assert_int_equal(auditlog_feed(al, garbage[i],
		    strlen(garbage[i]), collect, &res), 0);
		feed(al, "\n", &res);
		assert_int_equal(auditlog_stats(al)->bad_lines, i + 1);
	}
	/* Random bytes in random chunks. */
	assert_non_null(buf = malloc(256 * 1024));
	for (i = 0; i < 256 * 1024; i++)
		buf[i] = xorshift(&seed) % 7 == 0 ? '\n' : xorshift(&seed);
	for (i = 0; i < 256 * 1024; i += n) {
		n = 1 + xorshift(&seed) % 5000;
		if (n > 256 * 1024 - i)
			n = 256 * 1024 - i;
		auditlog_feed(al, buf + i, n, collect, &res);
	}
	feed(al, "\n", &res);
	exec_event(al, &res, 77, 10, 1, "/bin/ok");
	assert_int_equal(res.n, 1);
	assert_str(&res.v[0].exe, "/bin/ok");
	auditlog_flush(al, collect, &res);
	auditlog_free(al);
	result_free(&res);

	/* The vector with random bytes changed, many times. */
	log = slurp("audit-basic.log", &len);
	for (i = 0; i < 2000; i++) {
		memcpy(buf, log, len);
		for (n = 0; n < 1 + i % 8; n++) {
			off = xorshift(&seed) % len;
			buf[off] = "\"= :()\n\x1d" "A0a_[]"
			    [xorshift(&seed) % 14];
			if (xorshift(&seed) % 3 == 0)
				buf[off] = xorshift(&seed);
		}
		assert_non_null(al = auditlog_new());
		auditlog_feed(al, buf, len, collect, &res);
		auditlog_flush(al, collect, &res);
		assert_true(res.n <= 3);
		auditlog_free(al);
		result_free(&res);
	}
	free(log);
	free(buf);
}

static void
test_flush_partial(void **state)
{
	struct auditlog	*al;
	struct result	 res = { 0 };

	assert_non_null(al = auditlog_new());
	feed(al, SC("17.000:1", 10, 1, "exe=\"/bin/a\""), &res);
	feed(al, "type=EXECVE msg=audit(17.000:1): argc=1 a0=\"a\"\n", &res);
	feed(al, "type=CWD msg=audit(17.000:1): cwd=\"/ro", &res);
	auditlog_flush(al, collect, &res);
	/* The torn CWD line is lost, the event is not. */
	assert_int_equal(res.n, 1);
	assert_str(&res.v[0].cwd, NULL);
	assert_int_equal(auditlog_stats(al)->bad_lines, 1);
	auditlog_free(al);
	result_free(&res);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vector_whole),
		cmocka_unit_test(test_vector_bytewise),
		cmocka_unit_test(test_vector_every_split),
		cmocka_unit_test(test_split_args),
		cmocka_unit_test(test_hex_fields),
		cmocka_unit_test(test_enriched),
		cmocka_unit_test(test_interleaved),
		cmocka_unit_test(test_interleaved_before_eoe),
		cmocka_unit_test(test_no_eoe),
		cmocka_unit_test(test_stale_bound),
		cmocka_unit_test(test_optional_fields),
		cmocka_unit_test(test_parent_chain),
		cmocka_unit_test(test_pid_table_bound),
		cmocka_unit_test(test_pending_bound),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_argv_truncated),
		cmocka_unit_test(test_missing_args),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_parse_line),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_flush_partial),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
