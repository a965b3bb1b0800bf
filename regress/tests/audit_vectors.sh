#!/bin/sh
# audit_vectors: `capsem-agent-audit -n` on the golden audit log must give
# exactly the golden records (two: the failed execve is not one), as
# capsem-frame decodes them; a missing file exits 1 naming it.  Without
# SANITIZE, the same run must be clean under valgrind memcheck.

V=${CAPSEM_VECTORS:?}
AUDIT=${CAPSEM_LIBEXECDIR:?}/capsem-agent-audit
. "${CAPSEM_TOP:?}/regress/loglines.sh"
cd "${TESTDIR:-.}" || exit 1

fail() {
	echo "audit_vectors: $*"
	exit 1
}

[ -x "$AUDIT" ] || fail "no $AUDIT"
command -v capsem-frame >/dev/null || fail "capsem-frame not in PATH"

"$AUDIT" -n "$V/audit-basic.log" >frames.bin 2>stats.txt ||
    fail "-n exit $?: $(cat stats.txt)"
log_has stats.txt "$LL_AUDIT_STATS" RECORDS=2 INCOMPLETE=0 ||
    fail "unexpected stats: $(cat stats.txt)"
capsem-frame decode --dir audit <frames.bin >got.jsonl 2>err.txt ||
    fail "capsem-frame decode failed: $(cat err.txt)"
[ "$(wc -l <got.jsonl)" -eq 2 ] ||
    fail "$(wc -l <got.jsonl) frames, want 2"
cmp -s got.jsonl "$V/audit-basic.jsonl" ||
    fail "records differ: $(diff got.jsonl "$V/audit-basic.jsonl" | head -5)"

"$AUDIT" -n ./nonexistent.log >out.bin 2>err.txt
rc=$?
[ "$rc" -eq 1 ] || fail "missing file: exit $rc, want 1"
grep -q 'nonexistent.log' err.txt ||
    fail "missing file: message does not name it: $(cat err.txt)"
[ -s out.bin ] && fail "missing file: output written"

if [ "${SANITIZE:-0}" != 1 ] && command -v valgrind >/dev/null 2>&1 &&
    ! nm "$AUDIT" 2>/dev/null | grep -q __asan_init; then
	valgrind -q --vgdb=no --error-exitcode=99 --leak-check=full \
	    --errors-for-leak-kinds=definite,indirect \
	    --show-leak-kinds=definite,indirect \
	    "$AUDIT" -n "$V/audit-basic.log" >vg.bin 2>vg.txt
	rc=$?
	[ "$rc" -eq 0 ] || fail "valgrind: exit $rc: $(grep '==' vg.txt |
	    head -5)"
	cmp -s vg.bin frames.bin || fail "valgrind: different output"
fi
echo "audit_vectors: ok"
