/*
 * The auditd log parser of the guest audit child: bytes of
 * /var/log/audit/audit.log in, one struct audit_record per successful
 * execve out (capsem-protocol(7) "Audit records").  Pure: no I/O, no
 * logging, only malloc; the child tails the log and feeds whatever read(2)
 * returned, in chunks of any size.
 *
 * Input: the audit log, written by root but holding strings chosen by any
 * user of the guest (arguments, paths, comm): untrusted.  Every line, event
 * and table is bounded; a malformed line is counted and skipped.
 *
 * Output strings are valid UTF-8 without NUL bytes (msgpack str): a byte
 * sequence that is not UTF-8, and a NUL byte, each become U+FFFD.
 */
#ifndef CAPSEM_AUDITLOG_H
#define CAPSEM_AUDITLOG_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define AUDITLOG_LINE_MAX	65536	/* longer lines are discarded */
#define AUDITLOG_EVENT_MAX	65536	/* bytes kept per event */
#define AUDITLOG_ARGV_MAX	49152	/* of it argv; the rest is cut */
#define AUDITLOG_PENDING_MAX	64	/* events open at once */
#define AUDITLOG_STALE_LINES	256	/* lines without one of its own: an
					   open event is complete */
#define AUDITLOG_PIDS_MAX	4096	/* pid -> exe entries, LRU */
#define AUDITLOG_ID_MAX		64	/* "SECONDS.MILLIS:SERIAL" */

struct auditlog_stats {
	uint64_t	records;		/* records emitted */
	uint64_t	dropped_incomplete;	/* event lost a part */
	uint64_t	dropped_oversize;	/* lines over LINE_MAX; events
						   over EVENT_MAX, not argv */
	uint64_t	bad_lines;		/* malformed, skipped */
	uint64_t	truncated;		/* argv cut at ARGV_MAX */
	size_t		open_events;		/* pending now */
};

enum audit_line_type {
	AUDIT_LINE_OTHER = 0,	/* a type this parser does not use */
	AUDIT_LINE_SYSCALL,
	AUDIT_LINE_EXECVE,
	AUDIT_LINE_CWD,
	AUDIT_LINE_EOE,
};

/* One parsed line; the pointers point into the caller's line. */
struct audit_line {
	enum audit_line_type type;
	const char	*id;		/* "SECONDS.MILLIS:SERIAL" */
	size_t		 idlen;		/* < AUDITLOG_ID_MAX */
	uint64_t	 timestamp_us;
	const char	*fields;	/* "key=value ...", raw part only */
	size_t		 fieldslen;
};

struct auditlog;

/*
 * Called once per completed record.  The record and its strings are
 * borrowed: they live until the callback returns; copy what you keep and
 * never pass the record to audit_record_free().  The callback must not
 * call auditlog_feed() or auditlog_flush() on the same parser.
 */
typedef void	(*auditlog_emit_cb)(const struct audit_record *, void *);

struct auditlog	*auditlog_new(void);
void		 auditlog_free(struct auditlog *);

/*
 * Feed the next bytes of the log.  Records are emitted as their events
 * complete: at the event's EOE line; once AUDITLOG_STALE_LINES lines have
 * gone by without a line of the event (auditd without EOE, or an EOE that
 * never came); when the pending table is full (the least recently active
 * event); at auditlog_flush().  Interleaved events are each assembled
 * whole, before and after the log has shown an EOE line.  Fed from a point
 * where no event is open, the same bytes complete the same events in the
 * same order, whatever the chunks.  Returns 0, or -1 when memory ran out
 * (an event was lost and counted).
 */
int		 auditlog_feed(struct auditlog *, const char *, size_t,
		    auditlog_emit_cb, void *);

/*
 * End of input (or log rotation): complete every pending event.  A last
 * line without its newline is a torn write: discarded as a bad line.
 */
void		 auditlog_flush(struct auditlog *, auditlog_emit_cb,
		    void *);

const struct auditlog_stats *auditlog_stats(struct auditlog *);

/*
 * Parse one line (without its newline): the header and, for the types this
 * parser uses, the syntax of every field.  Returns 0, or -1 if malformed.
 */
int		 auditlog_parse_line(const char *, size_t,
		    struct audit_line *);

#endif
