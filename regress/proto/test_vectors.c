/*
 * Checks the codec against the golden vectors: every line of
 * $CAPSEM_VECTORS/frames.jsonl must encode (from its JSON, through
 * wirejson) to exactly its hex, and its frame must decode back to its JSON,
 * and re-encode to the same bytes.  A missing vector file is a failure.
 * The frame capsem-hostd really sends at boot is checked the same way
 * against frames of its own here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "termmodes.h"
#include "wire.h"
#include "wirejson.h"

static FILE *
open_vectors(void)
{
	const char	*dir, *top;
	char		 path[1024];

	if ((dir = getenv("CAPSEM_VECTORS")) != NULL)
		snprintf(path, sizeof(path), "%s/frames.jsonl", dir);
	else if ((top = getenv("CAPSEM_TOP")) != NULL)
		snprintf(path, sizeof(path),
		    "%s/../shared/vectors/frames.jsonl", top);
	else
		snprintf(path, sizeof(path), "../shared/vectors/frames.jsonl");
	return (fopen(path, "r"));
}

static char *
hexstr(const uint8_t *p, size_t len)
{
	char	*s;
	size_t	 i;

	s = malloc(len * 2 + 1);
	assert_non_null(s);
	for (i = 0; i < len; i++)
		snprintf(s + i * 2, 3, "%02x", p[i]);
	s[len * 2] = '\0';
	return (s);
}

static uint8_t *
unhex(const char *s, size_t *len)
{
	uint8_t		*p;
	size_t		 i, n = strlen(s);
	unsigned int	 b;

	assert_int_equal(n % 2, 0);
	p = malloc(n / 2 + 1);
	assert_non_null(p);
	for (i = 0; i < n / 2; i++) {
		assert_int_equal(sscanf(s + i * 2, "%2x", &b), 1);
		p[i] = b;
	}
	*len = n / 2;
	return (p);
}

/* Encodes the JSON and checks the frame against the hex. */
static void
check_encode(int lineno, enum wire_dir dir, json_t *js, const char *hex)
{
	struct msg		m;
	struct audit_record	ar;
	struct wbuf		wb;
	struct wire_err		err;
	char			ebuf[256], *got;
	int			rc;

	wbuf_init(&wb);
	if (dir == WIRE_AUDIT) {
		rc = audit_record_from_json(js, &ar, ebuf, sizeof(ebuf));
		if (rc == -1)
			fail_msg("line %d: from_json: %s", lineno, ebuf);
		rc = audit_record_encode(&ar, &wb, &err);
		audit_record_free(&ar);
	} else {
		rc = msg_from_json(dir, js, &m, ebuf, sizeof(ebuf));
		if (rc == -1)
			fail_msg("line %d: from_json: %s", lineno, ebuf);
		rc = msg_encode(&m, &wb, &err);
		msg_free(&m);
	}
	if (rc == -1)
		fail_msg("line %d: encode: %s", lineno, err.msg);
	got = hexstr(wb.data, wb.len);
	if (strcmp(got, hex) != 0)
		fail_msg("line %d: encoded\n%s\nexpected\n%s", lineno, got,
		    hex);
	free(got);
	wbuf_free(&wb);
}

/* Decodes the frame, compares with the JSON, re-encodes to the same bytes. */
static void
check_decode(int lineno, enum wire_dir dir, json_t *js, const char *hex)
{
	struct msg		m;
	struct audit_record	ar;
	struct wbuf		wb;
	struct wire_err		err;
	json_t			*got;
	uint8_t			*frame;
	size_t			 len, blen;
	char			*s1, *s2;
	int			 rc;

	frame = unhex(hex, &len);
	assert_true(len >= FRAME_HDRLEN);
	blen = (size_t)frame[0] << 24 | frame[1] << 16 | frame[2] << 8 |
	    frame[3];
	assert_int_equal(blen, len - FRAME_HDRLEN);
	wbuf_init(&wb);
	if (dir == WIRE_AUDIT) {
		rc = audit_record_decode(frame + 4, blen, &ar, &err);
		if (rc == -1)
			fail_msg("line %d: decode: %s", lineno, err.msg);
		got = audit_record_to_json(&ar);
		assert_int_equal(audit_record_encode(&ar, &wb, &err), 0);
		audit_record_free(&ar);
	} else {
		rc = msg_decode(dir, frame + 4, blen, &m, &err);
		if (rc == -1)
			fail_msg("line %d: decode: %s", lineno, err.msg);
		got = msg_to_json(&m);
		assert_int_equal(msg_encode(&m, &wb, &err), 0);
		msg_free(&m);
	}
	assert_non_null(got);
	if (!json_equal(got, js)) {
		s1 = json_dumps(got, JSON_COMPACT);
		s2 = json_dumps(js, JSON_COMPACT);
		fail_msg("line %d: decoded\n%s\nexpected\n%s", lineno, s1, s2);
	}
	assert_int_equal(wb.len, len);
	assert_memory_equal(wb.data, frame, len);
	json_decref(got);
	wbuf_free(&wb);
	free(frame);
}

/* A frame computed outside this codec, with the JSON it stands for. */
struct vector {
	enum wire_dir	 dir;
	const char	*json;
	const char	*hex;
};

/* Each encodes from its JSON to its hex and decodes back to its JSON. */
static void
check_vectors(const struct vector *v, size_t n)
{
	json_t	*js;
	size_t	 i;

	for (i = 0; i < n; i++) {
		js = json_loads(v[i].json, 0, NULL);
		assert_non_null(js);
		check_encode(-1, v[i].dir, js, v[i].hex);
		check_decode(-1, v[i].dir, js, v[i].hex);
		json_decref(js);
	}
}

static void
test_frames_jsonl(void **state)
{
	FILE		*fp;
	json_t		*line, *js;
	json_error_t	 jerr;
	const char	*dirname, *hex;
	enum wire_dir	 dir = WIRE_H2G;
	char		*buf = NULL;
	size_t		 cap = 0;
	int		 lineno = 0, seen[3] = { 0, 0, 0 };

	if ((fp = open_vectors()) == NULL)
		fail_msg("cannot open frames.jsonl (set CAPSEM_VECTORS)");
	while (getline(&buf, &cap, fp) != -1) {
		lineno++;
		if (buf[strspn(buf, " \t\r\n")] == '\0')
			continue;
		if ((line = json_loads(buf, 0, &jerr)) == NULL)
			fail_msg("line %d: %s", lineno, jerr.text);
		dirname = json_string_value(json_object_get(line, "dir"));
		hex = json_string_value(json_object_get(line, "hex"));
		js = json_object_get(line, "json");
		assert_non_null(dirname);
		assert_non_null(hex);
		assert_non_null(js);
		if (strcmp(dirname, "h2g") == 0)
			dir = WIRE_H2G;
		else if (strcmp(dirname, "g2h") == 0)
			dir = WIRE_G2H;
		else if (strcmp(dirname, "audit") == 0)
			dir = WIRE_AUDIT;
		else
			fail_msg("line %d: bad dir %s", lineno, dirname);
		seen[dir]++;
		check_encode(lineno, dir, js, hex);
		check_decode(lineno, dir, js, hex);
		json_decref(line);
	}
	free(buf);
	fclose(fp);
	assert_true(seen[WIRE_H2G] > 0);
	assert_true(seen[WIRE_G2H] > 0);
	assert_true(seen[WIRE_AUDIT] > 0);
	print_message("%d vector lines checked\n", lineno);
}

/*
 * The bootconfig capsem-hostd sends (hostd/guest.c, built here the way it
 * builds it): the clock (0 with -C), caps HOSTD_CAPS = ["shellexited",
 * "agentcaps", "execio", "copy", "copytimes"] and no traceparent, which must go out as
 * "" and never nil: upstream capsem's
 * agent types it as a String and rejects the whole frame on nil, losing
 * the clock and the environment.  The frames were computed outside this
 * codec; each also decodes to its JSON and re-encodes to itself.
 */
static void
test_hostd_bootconfig(void **state)
{
	static const struct {
		uint64_t	 epoch;
		const char	*json;
		const char	*hex;
	} v[] = {
		{ 1764250000,
		    "{\"t\":\"bootconfig\",\"d\":{\"epoch_secs\":1764250000,"
		    "\"traceparent\":\"\",\"caps\":[\"shellexited\","
		    "\"agentcaps\",\"execio\",\"copy\",\"copytimes\"]}}",
		    "0000006082a174aa626f6f74636f6e666967a16483aa65706f63685f"
		    "73656373ce69285190ab7472616365706172656e74a0a46361707395"
		    "ab7368656c6c657869746564a96167656e7463617073a66578656369"
		    "6fa4636f7079a9636f707974696d6573" },
		{ 0,
		    "{\"t\":\"bootconfig\",\"d\":{\"epoch_secs\":0,"
		    "\"traceparent\":\"\",\"caps\":[\"shellexited\","
		    "\"agentcaps\",\"execio\",\"copy\",\"copytimes\"]}}",
		    "0000005c82a174aa626f6f74636f6e666967a16483aa65706f63685f"
		    "7365637300ab7472616365706172656e74a0a46361707395ab736865"
		    "6c6c657869746564a96167656e7463617073a665786563696fa4636f"
		    "7079a9636f707974696d6573" },
	};
	struct wire_str	 caps[CAPB_NAMES_MAX];
	struct msg	 m;
	struct wbuf	 wb;
	struct wire_err	 err;
	json_t		*js;
	char		*got;
	size_t		 i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		memset(&m, 0, sizeof(m));
		m.type = MSG_BOOTCONFIG;
		m.u.bootconfig.epoch_secs = v[i].epoch;
		m.u.bootconfig.caps = caps;
		m.u.bootconfig.ncaps = cap_names(HOSTD_CAPS, caps);
		m.u.bootconfig.has_caps = 1;
		wbuf_init(&wb);
		assert_int_equal(msg_encode(&m, &wb, &err), 0);
		got = hexstr(wb.data, wb.len);
		if (strcmp(got, v[i].hex) != 0)
			fail_msg("hostd bootconfig %zu: encoded\n%s\nexpected"
			    "\n%s", i, got, v[i].hex);
		free(got);
		wbuf_free(&wb);
		js = json_loads(v[i].json, 0, NULL);
		assert_non_null(js);
		check_encode(-1, WIRE_H2G, js, v[i].hex);
		check_decode(-1, WIRE_H2G, js, v[i].hex);
		json_decref(js);
	}
}

/* msg_to_json whose result is freed at the next call. */
static json_t *
msg_to_json_tmp(const struct msg *m)
{
	static json_t	*last;

	json_decref(last);
	last = msg_to_json(m);
	return (last);
}

static void
json_bad(enum wire_dir dir, const char *text, const char *needle)
{
	struct msg	 m;
	json_t		*js;
	char		 ebuf[256] = "";

	js = json_loads(text, 0, NULL);
	assert_non_null(js);
	assert_int_equal(msg_from_json(dir, js, &m, ebuf, sizeof(ebuf)), -1);
	if (strstr(ebuf, needle) == NULL)
		fail_msg("%s: error \"%s\" lacks \"%s\"", text, ebuf, needle);
	assert_int_equal(m.type, MSG_NONE);
	json_decref(js);
}

/* wirejson is strict and leaves nothing allocated on error. */
static void
test_json_errors(void **state)
{
	struct audit_record	 ar;
	struct msg		 m;
	json_t			*js, *d;
	char			 ebuf[256];

	json_bad(WIRE_H2G, "{\"t\":\"pong\"}", "unknown message");
	json_bad(WIRE_H2G, "{\"t\":\"resize\",\"d\":{\"cols\":1}}",
	    "d.rows: required");
	json_bad(WIRE_H2G, "{\"t\":\"resize\",\"d\":{\"cols\":70000,"
	    "\"rows\":1}}", "d.cols");
	json_bad(WIRE_H2G, "{\"t\":\"resize\",\"d\":{\"cols\":1,"
	    "\"rows\":1,\"colz\":1}}", "d.colz: unknown key");
	json_bad(WIRE_H2G, "{\"t\":\"filewrite\",\"d\":{\"id\":1,"
	    "\"path\":\"/a\",\"data\":[1,256],\"mode\":1}}", "d.data");
	json_bad(WIRE_G2H, "{\"t\":\"boottiming\",\"d\":{\"stages\":["
	    "{\"name\":\"a\",\"duration_ms\":1},{\"name\":\"b\"}]}}",
	    "d.stages[1].duration_ms");
	json_bad(WIRE_H2G, "{\"t\":\"bootconfig\",\"d\":{\"epoch_secs\":1,"
	    "\"traceparent\":\"x\",\"caps\":[\"a\",1]}}", "d.caps[1]");
	json_bad(WIRE_G2H, "{\"t\":\"ack\",\"d\":{\"id\":-1}}", "d.id");
	json_bad(WIRE_G2H, "{\"t\":\"pong\",\"x\":1}", "x: unknown key");

	js = json_loads("{\"pid\":1}", 0, NULL);
	assert_int_equal(audit_record_from_json(js, &ar, ebuf, sizeof(ebuf)),
	    -1);
	assert_non_null(strstr(ebuf, "required"));
	json_decref(js);

	/*
	 * caps survive the JSON round trip; a null traceparent is read as
	 * none and comes back as "", as it goes on the wire.
	 */
	js = json_loads("{\"t\":\"bootconfig\",\"d\":{\"epoch_secs\":1,"
	    "\"traceparent\":null,\"caps\":[\"shellexited\"]}}", 0, NULL);
	assert_int_equal(msg_from_json(WIRE_H2G, js, &m, ebuf, sizeof(ebuf)),
	    0);
	assert_int_equal(m.u.bootconfig.has_caps, 1);
	assert_null(m.u.bootconfig.traceparent.s);
	d = json_object_get(msg_to_json_tmp(&m), "d");
	assert_string_equal(json_string_value(json_object_get(d,
	    "traceparent")), "");
	assert_true(json_equal(json_object_get(d, "caps"),
	    json_object_get(json_object_get(js, "d"), "caps")));
	msg_free(&m);
	json_decref(js);

	/* A u64 past what JSON integers hold has no JSON form. */
	memset(&m, 0, sizeof(m));
	m.type = MSG_ACK;
	m.u.ack.id = UINT64_MAX;
	assert_null(msg_to_json(&m));
	msg_to_json_tmp(&m);
}

/*
 * agentcaps (capsem-protocol(7) "EXTENSIONS"), the frames computed outside
 * this codec: empty, and with one name.
 */
static void
test_agentcaps(void **state)
{
	static const struct {
		const char	*json;
		const char	*hex;
	} v[] = {
		{ "{\"t\":\"agentcaps\",\"d\":{\"caps\":[]}}",
		    "0000001682a174a96167656e7463617073a16481a46361707390" },
		{ "{\"t\":\"agentcaps\",\"d\":{\"caps\":[\"shellexited\"]}}",
		    "0000002282a174a96167656e7463617073a16481a46361707391ab7368656c6c657869746564" },
	};
	json_t	*js;
	size_t	 i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		js = json_loads(v[i].json, 0, NULL);
		assert_non_null(js);
		check_encode(-1, WIRE_G2H, js, v[i].hex);
		check_decode(-1, WIRE_G2H, js, v[i].hex);
		json_decref(js);
	}
}

/*
 * termmodes (capsem-protocol(7) "termmodes"), the frames computed outside
 * this codec: the message with VERASE ^H, and the bootconfig capsem-hostd
 * sends when it has modes to send (caps with "termmodes").  Then the
 * rules of the modes themselves: what termmodes_parse takes and refuses.
 */
static void
test_termmodes(void **state)
{
	static const struct vector v[] = {
		{ WIRE_H2G, "{\"t\":\"termmodes\",\"d\":{\"modes\":"
		    "[3,0,0,0,8,0]}}",
		    "0000001d82a174a97465726d6d6f646573a16481a56d6f64657396"
		    "030000000800" },
		{ WIRE_H2G, "{\"t\":\"bootconfig\",\"d\":{\"epoch_secs\":0,"
		    "\"traceparent\":\"\",\"caps\":[\"shellexited\","
		    "\"agentcaps\",\"execio\",\"copy\",\"copytimes\","
		    "\"termmodes\"]}}",
		    "0000006682a174aa626f6f74636f6e666967a16483aa65706f63685f"
		    "7365637300ab7472616365706172656e74a0a46361707396ab736865"
		    "6c6c657869746564a96167656e7463617073a665786563696fa4636f"
		    "7079a9636f707974696d6573a97465726d6d6f646573" },
	};
	static const struct {
		uint8_t		 p[16];
		size_t		 len;
		const char	*why;	/* NULL: accepted */
	} pv[] = {
		{ { 0 }, 1, NULL },
		{ { 3, 0, 0, 0, 8, 42, 0, 0, 0, 1, 0 }, 11, NULL },
		{ { 3, 0, 0, 0, 255, 0 }, 6, NULL },	/* disabled */
		{ { 0 }, 0, "no TTY_OP_END" },
		{ { 3, 0, 0, 0, 8 }, 5, "no TTY_OP_END" },
		{ { 3, 0, 0, 8 }, 4, "opcode 3 at byte 0 cut short" },
		{ { 3, 0, 0, 1, 0, 0 }, 6,
		    "VERASE 256 out of range (0 to 255) at byte 0" },
		{ { 42, 0, 0, 0, 2, 0 }, 6,
		    "IUTF8 2 out of range (0 to 1) at byte 0" },
		{ { 128, 0, 0, 150, 0, 0 }, 6, "unknown opcode 128 at byte 0" },
		{ { 11, 0, 0, 0, 1, 0 }, 6, "unknown opcode 11 at byte 0" },
		{ { 3, 0, 0, 0, 8, 3, 0, 0, 0, 8, 0 }, 11,
		    "VERASE given twice at byte 5" },
		{ { 0, 0 }, 2, "1 bytes after TTY_OP_END" },
	};
	struct termmodes tm, tm2;
	struct termios	 t;
	uint8_t		 buf[TERMMODES_MAX];
	char		 why[128], text[TERMMODES_TEXT_MAX];
	size_t		 i, n;

	check_vectors(v, sizeof(v) / sizeof(v[0]));
	for (i = 0; i < sizeof(pv) / sizeof(pv[0]); i++) {
		why[0] = '\0';
		if (pv[i].why == NULL) {
			assert_int_equal(termmodes_parse(pv[i].p, pv[i].len,
			    &tm, why, sizeof(why)), 0);
			assert_int_equal(termmodes_encode(&tm, buf),
			    pv[i].len);
			assert_memory_equal(buf, pv[i].p, pv[i].len);
		} else {
			assert_int_equal(termmodes_parse(pv[i].p, pv[i].len,
			    &tm, why, sizeof(why)), -1);
			assert_string_equal(why, pv[i].why);
		}
	}
	/* A terminal's modes survive text and bytes and apply back. */
	memset(&t, 0, sizeof(t));
	t.c_cc[VERASE] = 8;
	t.c_cc[VKILL] = 24;
	t.c_cc[VINTR] = _POSIX_VDISABLE;
	t.c_iflag = ICRNL | IUTF8;
	t.c_lflag = ICANON | ECHO | ECHOE;
	termmodes_from_termios(&t, &tm);
	assert_int_equal(termmodes_get(&tm, "VERASE"), 8);
	assert_int_equal(termmodes_get(&tm, "VINTR"), 255);
	assert_int_equal(termmodes_get(&tm, "IUTF8"), 1);
	assert_int_equal(termmodes_get(&tm, "IXON"), 0);
	assert_int_equal(termmodes_to_text(&tm, text, sizeof(text)), 0);
	assert_int_equal(termmodes_from_text(text, &tm2, why, sizeof(why)), 0);
	n = termmodes_encode(&tm2, buf);
	assert_true(n <= TERMMODES_MAX);
	assert_int_equal(termmodes_parse(buf, n, &tm, why, sizeof(why)), 0);
	memset(&t, 0, sizeof(t));
	t.c_iflag = IXON;
	termmodes_apply(&tm, &t);
	assert_int_equal(t.c_cc[VERASE], 8);
	assert_int_equal(t.c_cc[VKILL], 24);
	assert_int_equal(t.c_cc[VINTR], _POSIX_VDISABLE);
	assert_int_equal(t.c_iflag, ICRNL | IUTF8);
	assert_int_equal(t.c_lflag, ICANON | ECHO | ECHOE);
	assert_int_equal(termmodes_from_text("VERASE=8,BOGUS=1", &tm, why,
	    sizeof(why)), -1);
	assert_string_equal(why, "BOGUS: unknown mode");
	assert_int_equal(termmodes_from_text("VERASE=x", &tm, why,
	    sizeof(why)), -1);
	assert_string_equal(why, "VERASE=x: not a number");
}

/*
 * Extension "copy" (capsem-protocol(7) "copy"): copyin and copyout host
 * to guest, copystarted guest to host (the copy port's first frame), and
 * the agentcaps that announces it; the frames computed outside this codec
 * (a directory mode 040755, a UTF-8 path with a space, an id past 2^62, a
 * size of 2^63 - 1).
 */
static void
test_copy(void **state)
{
	static const struct vector v[] = {
		{ WIRE_H2G, "{\"t\":\"copyin\",\"d\":{\"id\":7,"
		    "\"path\":\"a b/\u00e9.txt\",\"size\":268435456,"
		    "\"mode\":16877}}",
		    "0000003382a174a6636f7079696ea16484a2696407a470617468aa61"
		    "20622fc3a92e747874a473697a65ce10000000a46d6f6465cd41ed" },
		{ WIRE_H2G, "{\"t\":\"copyout\",\"d\":{"
		    "\"id\":4611686018427387909,\"path\":\"dir\"}}",
		    "0000002382a174a7636f70796f7574a16482a26964cf400000000000"
		    "0005a470617468a3646972" },
		{ WIRE_G2H, "{\"t\":\"copystarted\",\"d\":{\"id\":7,"
		    "\"size\":5,\"mode\":420}}",
		    "0000002482a174ab636f707973746172746564a16483a2696407a473"
		    "697a6505a46d6f6465cd01a4" },
		{ WIRE_G2H, "{\"t\":\"copystarted\",\"d\":{\"id\":0,"
		    "\"size\":9223372036854775807,\"mode\":16832}}",
		    "0000002c82a174ab636f707973746172746564a16483a2696400a473"
		    "697a65cf7fffffffffffffffa46d6f6465cd41c0" },
		{ WIRE_G2H, "{\"t\":\"agentcaps\",\"d\":{\"caps\":"
		    "[\"copy\"]}}",
		    "0000001b82a174a96167656e7463617073a16481a46361707391a463"
		    "6f7079" },
	};
	struct wire_str	 names[CAPB_NAMES_MAX];

	check_vectors(v, sizeof(v) / sizeof(v[0]));
	/* The names and bits of the extension, both ways. */
	assert_int_equal(cap_names(CAPB_COPY, names), 1);
	assert_string_equal(names[0].s, "copy");
	assert_int_equal(cap_mask(names, 1), CAPB_COPY);
	assert_true((HOSTD_CAPS & CAPB_COPY) != 0);
	/* The tags belong to their direction only. */
	assert_int_equal(msg_type_from_name(WIRE_G2H, "copyin", 6), MSG_NONE);
	assert_int_equal(msg_type_from_name(WIRE_H2G, "copystarted", 11),
	    MSG_NONE);
	assert_false(msg_is_ackable(MSG_COPYIN));
	assert_false(msg_is_ackable(MSG_COPYOUT));
}

/*
 * Extension "copytimes" (capsem-protocol(7) "copy"): mtime_ns in copyin
 * and copystarted, an i64 of nanoseconds, left out unless set (the frames
 * of test_copy have none and stay as they are); computed outside this
 * codec (2001-02-03 04:05:06.789 UTC, a time before 1970, 0).
 */
static void
test_copytimes(void **state)
{
	static const struct vector v[] = {
		{ WIRE_H2G, "{\"t\":\"copyin\",\"d\":{\"id\":7,"
		    "\"path\":\"f.txt\",\"size\":5,\"mode\":420,"
		    "\"mtime_ns\":981173106789000000}}",
		    "0000003c82a174a6636f7079696ea16485a2696407a470617468a566"
		    "2e747874a473697a6505a46d6f6465cd01a4a86d74696d655f6e73cf"
		    "0d9dd3bdfd532340" },
		{ WIRE_H2G, "{\"t\":\"copyin\",\"d\":{\"id\":8,"
		    "\"path\":\"old\",\"size\":0,\"mode\":0,"
		    "\"mtime_ns\":-1500000000}}",
		    "0000003482a174a6636f7079696ea16485a2696408a470617468a36f"
		    "6c64a473697a6500a46d6f646500a86d74696d655f6e73d2a697d100" },
		{ WIRE_G2H, "{\"t\":\"copystarted\",\"d\":{\"id\":7,"
		    "\"size\":5,\"mode\":420,\"mtime_ns\":981173106789000000}}",
		    "0000003682a174ab636f707973746172746564a16484a2696407a473"
		    "697a6505a46d6f6465cd01a4a86d74696d655f6e73cf0d9dd3bdfd53"
		    "2340" },
		{ WIRE_G2H, "{\"t\":\"copystarted\",\"d\":{\"id\":9,"
		    "\"size\":0,\"mode\":420,\"mtime_ns\":0}}",
		    "0000002e82a174ab636f707973746172746564a16484a2696409a473"
		    "697a6500a46d6f6465cd01a4a86d74696d655f6e7300" },
		{ WIRE_G2H, "{\"t\":\"agentcaps\",\"d\":{\"caps\":"
		    "[\"copy\",\"copytimes\"]}}",
		    "0000002582a174a96167656e7463617073a16481a46361707392a463"
		    "6f7079a9636f707974696d6573" },
	};
	struct wire_str	 names[CAPB_NAMES_MAX];
	struct wire_err	 err;
	struct wbuf	 wb;
	struct msg	 m;

	check_vectors(v, sizeof(v) / sizeof(v[0]));
	/* Not set: no key at all, as upstream sends it. */
	memset(&m, 0, sizeof(m));
	m.type = MSG_COPYSTARTED;
	m.u.copystarted.id = 7;
	m.u.copystarted.size = 5;
	m.u.copystarted.mode = 420;
	m.u.copystarted.mtime_ns = 12345;
	wbuf_init(&wb);
	assert_int_equal(msg_encode(&m, &wb, &err), 0);
	assert_int_equal(wb.len, 0x24 + 4);
	wbuf_free(&wb);
	assert_int_equal(cap_names(CAPB_COPY | CAPB_COPYTIMES, names), 2);
	assert_string_equal(names[1].s, "copytimes");
	assert_int_equal(cap_mask(names, 2), CAPB_COPY | CAPB_COPYTIMES);
	assert_true((HOSTD_CAPS & CAPB_COPYTIMES) != 0);
}

/*
 * execio (capsem-protocol(7) "execio"): the request on control and the
 * frames of its exec connection, both ways, computed outside this codec
 * (a MessagePack packer of its own, smallest forms, data as bin).  Each
 * encodes from its JSON to its hex and decodes back; data sent as an array
 * of integers is accepted too.
 */
static void
test_execio(void **state)
{
	static const struct vector v[] = {
		{ WIRE_H2G, "{\"t\":\"execio\",\"d\":{\"id\":1764250000000001,"
		    "\"command\":\"echo $FOO\",\"env\":[\"FOO=bar\"],"
		    "\"cwd\":\"sub\",\"cols\":0,\"rows\":0,\"timeout\":5}}",
		    "0000005582a174a665786563696fa16487a26964cf00064493768b84"
		    "01a7636f6d6d616e64a96563686f2024464f4fa3656e7691a7464f4f"
		    "3d626172a3637764a3737562a4636f6c7300a4726f777300a774696d"
		    "656f757405" },
		{ WIRE_H2G, "{\"t\":\"execio\",\"d\":{\"id\":7,"
		    "\"command\":\"vim\",\"env\":[],\"cwd\":\"\",\"cols\":80,"
		    "\"rows\":24,\"timeout\":0}}",
		    "0000003c82a174a665786563696fa16487a2696407a7636f6d6d616e"
		    "64a376696da3656e7690a3637764a0a4636f6c7350a4726f777318a7"
		    "74696d656f757400" },
		{ WIRE_H2G, "{\"t\":\"execinput\",\"d\":{\"data\":[104,105,10]}}",
		    "0000001a82a174a965786563696e707574a16481a464617461c40368"
		    "690a" },
		{ WIRE_H2G, "{\"t\":\"execinputend\"}",
		    "0000001081a174ac65786563696e707574656e64" },
		{ WIRE_H2G, "{\"t\":\"execsignal\",\"d\":{\"signal\":2}}",
		    "0000001982a174aa657865637369676e616ca16481a67369676e616c"
		    "02" },
		{ WIRE_H2G, "{\"t\":\"execresize\",\"d\":{\"cols\":132,"
		    "\"rows\":43}}",
		    "0000001e82a174aa65786563726573697a65a16482a4636f6c73cc84"
		    "a4726f77732b" },
		{ WIRE_H2G, "{\"t\":\"execoutwindow\",\"d\":{\"bytes\":262144}}",
		    "0000001f82a174ad657865636f757477696e646f77a16481a5627974"
		    "6573ce00040000" },
		{ WIRE_G2H, "{\"t\":\"execoutput\",\"d\":{\"stream\":2,"
		    "\"data\":[0,255,10]}}",
		    "0000002382a174aa657865636f7574707574a16482a673747265616d"
		    "02a464617461c40300ff0a" },
		{ WIRE_G2H, "{\"t\":\"execinwindow\",\"d\":{\"bytes\":65536}}",
		    "0000001e82a174ac65786563696e77696e646f77a16481a562797465"
		    "73ce00010000" },
		{ WIRE_G2H, "{\"t\":\"agentcaps\",\"d\":{\"caps\":[\"execio\"]}}",
		    "0000001d82a174a96167656e7463617073a16481a46361707391a665"
		    "786563696f" },
	};
	/* execinput {data: [104, 105, 10]} with data as an array. */
	static const uint8_t arr[] = { 0x82, 0xa1, 0x74, 0xa9, 'e', 'x', 'e',
	    'c', 'i', 'n', 'p', 'u', 't', 0xa1, 0x64, 0x81, 0xa4, 'd', 'a',
	    't', 'a', 0x93, 104, 105, 10 };
	struct msg	 m;
	struct wire_err	 err;

	check_vectors(v, sizeof(v) / sizeof(v[0]));
	assert_int_equal(msg_decode(WIRE_H2G, arr, sizeof(arr), &m, &err), 0);
	assert_int_equal(m.type, MSG_EXECINPUT);
	assert_int_equal(m.u.execinput.data.len, 3);
	assert_memory_equal(m.u.execinput.data.p, "hi\n", 3);
	msg_free(&m);
	/* Tags are per direction: execoutput is unknown host to guest. */
	assert_int_equal(msg_type_from_name(WIRE_H2G, "execoutput", 10),
	    MSG_NONE);
	assert_int_equal(cap_mask(&(struct wire_str){ "execio", 6 }, 1),
	    CAPB_EXECIO);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frames_jsonl),
		cmocka_unit_test(test_hostd_bootconfig),
		cmocka_unit_test(test_agentcaps),
		cmocka_unit_test(test_execio),
		cmocka_unit_test(test_termmodes),
		cmocka_unit_test(test_copy),
		cmocka_unit_test(test_copytimes),
		cmocka_unit_test(test_json_errors),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
