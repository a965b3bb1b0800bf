/*
 * JSON <-> struct conversion of every wire message and of audit records,
 * with jansson.  The JSON form is the one of shared/vectors/frames.jsonl:
 * {"t": NAME, "d": {FIELD: VALUE, ...}} (no "d" for a message without
 * fields), byte fields as arrays of integers 0..255, nil as null.  Audit
 * records are flat objects with the wire keys.
 *
 * The *_from_json functions are strict (types, ranges, required fields,
 * no unknown keys, tag known for the direction) so that hand-written JSON
 * with a typo fails loudly; on error they return -1, leave nothing allocated
 * and put a message in err.  The *_to_json functions return a new reference
 * (keys in wire order) or NULL on allocation failure or when a u64 is
 * larger than a JSON integer (int64) can hold.
 */
#ifndef CAPSEM_WIREJSON_H
#define CAPSEM_WIREJSON_H

#include <stddef.h>

#include <jansson.h>

#include "wire.h"

int	 msg_from_json(enum wire_dir, json_t *, struct msg *, char *,
	    size_t);
json_t	*msg_to_json(const struct msg *);
int	 audit_record_from_json(json_t *, struct audit_record *, char *,
	    size_t);
json_t	*audit_record_to_json(const struct audit_record *);

#endif
