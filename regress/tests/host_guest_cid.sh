# capsem-hostd over vsock accepts only the guest's CID (issue 13 item 1):
# the CID comes from --guest-cid or the VM's QEMU command line (--vm-pid,
# guest-cid=N), and without either it refuses to start rather than serve
# whichever VM connects first.  These are the option checks, which exit
# before any socket exists (no vsock is opened here: the refusal of a
# wrong peer is checked in the VM tier, vm/guest-test.sh "cid-refused").
# The unix transport's guard is the socket files' mode 0600.
. "$CAPSEM_TOP/regress/lib.sh"
. "$CAPSEM_TOP/regress/hostlib.sh"

# refused WHAT PATTERN ARGS...: capsem-hostd ARGS exits 1 at once with a
# message matching PATTERN.
refused() {
	what=$1 pat=$2
	shift 2
	capsem-hostd -d -S "$TESTDIR/s" "$@" >out 2>err &
	p=$!
	wait_for "$p" 10
	[ "$st" = 1 ] || fail "$what: exit $st, not 1: $(head -n 1 err)"
	grep -q -- "$pat" err || fail "$what: said '$(head -n 1 err)'"
}

refused "vsock without a CID" "the guest's CID is unknown.*--guest-cid" \
    -t vsock
refused "vsock:any without a CID" "the guest's CID is unknown" -t vsock:any
sleep 30 &
plain=$!
refused "a VM pid whose command line has no guest-cid" \
    "the VM's command line has no guest-cid=" -t vsock -k "$plain"
kill "$plain"
wait "$plain" 2>/dev/null
refused "CID 0" "--guest-cid 0: the CID is too small" -t vsock -g 0
refused "CID abc" "--guest-cid abc: the CID is invalid" -t vsock -g abc
refused "CID 2^32-1" "--guest-cid 4294967295: the CID is too large" \
    -t vsock --guest-cid 4294967295
refused "a CID for unix" "--guest-cid: only for the vsock transport" \
    -t "unix:$TESTDIR/s" -g 3

# The unix transport: every port's socket file is 0600 from its bind on.
start_session "$TESTDIR/u"
for port in 5000 5001 5004 5005 5006; do
	[ -S "$TESTDIR/u/$port.sock" ] || fail "no $port.sock"
	m=$(stat -c %a "$TESTDIR/u/$port.sock")
	[ "$m" = 600 ] || fail "$port.sock has mode $m, not 600"
done
shutdown_session "$TESTDIR/u"
session_exits 129 "after shutdown"
exit 0
