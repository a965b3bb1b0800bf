#!/bin/sh
# vmcheck.sh OUT: `make vm-check`.  Boots OUT/vmlinuz + OUT/initramfs.cpio.gz
# (vm/mkimage.sh) with qemu-system-x86_64, KVM when /dev/kvm is usable and
# TCG otherwise, with capsem.test=1 so that vm/init runs vm/guest-test.sh;
# the serial console goes to OUT/console.log.  Passes when the guest
# reported every planned check ok ("VMCHECK done N passed 0 failed" with N
# the plan) and then powered itself off, within VMCHECK_TIMEOUT seconds
# (default 170).  VMCHECK_ACCEL=tcg|kvm forces the accelerator.
# Touches only OUT/console.log and OUT/vmcheck.out.
set -u
OUT=${1:?usage: vmcheck.sh OUT}
TOP=$(cd "$(dirname "$0")/.." && pwd)
TIMEOUT=${VMCHECK_TIMEOUT:-170}
LOG=$OUT/console.log

sh "$TOP/tools/deps.sh" vm-check cmd:qemu-system-x86_64:qemu-system-x86 ||
    exit 1
for f in vmlinuz initramfs.cpio.gz; do
	[ -f "$OUT/$f" ] || { echo "vm-check: no $OUT/$f (make guest-image)" >&2
	    exit 1; }
done

accel=${VMCHECK_ACCEL:-}
if [ -z "$accel" ]; then
	# Usable: it opens read-write; a guest that then does not start
	# (broken nested KVM) falls back to TCG below.
	if [ -c /dev/kvm ] && (exec 3<>/dev/kvm) 2>/dev/null; then
		accel=kvm
	else
		accel=tcg
	fi
fi
start=$(date +%s)
deadline=$((start + TIMEOUT))

# boot ACCEL STARTLIMIT: run the VM until it powers off (status in $qrc,
# 0 = it powered itself off) or the deadline (qrc=timeout); with
# STARTLIMIT the guest must print its plan within that many seconds, else
# qrc=nostart (nested KVM that hangs in the kernel's first instructions).
boot() {
	case $1 in
	kvm)	aflags="-enable-kvm -cpu host,-arch-capabilities" ;;
	*)	aflags="-accel tcg,thread=multi -cpu max" ;;
	esac
	rm -f "$LOG"
	: >"$LOG"
	echo "vm-check: booting $OUT/vmlinuz with $1 (console in $LOG)"
	qemu-system-x86_64 $aflags -m 512 -smp 2 \
	    -nographic -monitor none -no-reboot -nodefaults \
	    -serial "file:$LOG" \
	    -kernel "$OUT/vmlinuz" -initrd "$OUT/initramfs.cpio.gz" \
	    -append "console=ttyS0 quiet panic=-1 audit=1 capsem.test=1" \
	    </dev/null &
	qpid=$!
	bstart=$(date +%s)
	while kill -0 "$qpid" 2>/dev/null; do
		now=$(date +%s)
		if [ "$now" -ge "$deadline" ]; then
			kill -9 "$qpid" 2>/dev/null
			wait "$qpid" 2>/dev/null
			qrc=timeout
			return
		fi
		if [ -n "$2" ] && [ $((now - bstart)) -ge "$2" ] &&
		    ! grep -aq 'VMCHECK plan' "$LOG"; then
			kill -9 "$qpid" 2>/dev/null
			wait "$qpid" 2>/dev/null
			qrc=nostart
			return
		fi
		sleep 0.2
	done
	wait "$qpid"
	qrc=$?
}

if [ "$accel" = kvm ]; then
	boot kvm "${VMCHECK_KVM_START:-15}"
	if [ "$qrc" = nostart ]; then
		echo "vm-check: the KVM guest did not start in" \
		    "${VMCHECK_KVM_START:-15} s: falling back to TCG"
		accel=tcg
		boot tcg ""
	fi
else
	accel=tcg
	boot tcg ""
fi
secs=$(($(date +%s) - start))

# The guest's lines, without the firmware's escapes before the first one.
tr -d '\r' <"$LOG" 2>/dev/null | sed -n 's/.*\(VM\(CHECK\|LOG\) .*\)/\1/p' \
    >"$OUT/vmcheck.out"
sed 's/^/  /' "$OUT/vmcheck.out"
plan=$(sed -n 's/^VMCHECK plan \([0-9]*\)$/\1/p' "$OUT/vmcheck.out" |
    head -n 1)
done_line=$(grep '^VMCHECK done ' "$OUT/vmcheck.out" | tail -n 1)
if [ "$qrc" = timeout ]; then
	echo "vm-check: FAILED: timeout after $TIMEOUT s ($accel); last" \
	    "console lines:" >&2
	tail -n 15 "$LOG" >&2
	exit 1
fi
if [ "$qrc" != 0 ]; then
	echo "vm-check: FAILED: qemu exited $qrc after $secs s" >&2
	tail -n 15 "$LOG" >&2
	exit 1
fi
if [ -z "$plan" ] || [ "$done_line" != "VMCHECK done $plan passed 0 failed" ]
then
	echo "vm-check: FAILED ($accel, $secs s): plan '${plan:-none}'," \
	    "result '${done_line:-none}'" >&2
	[ -n "$done_line" ] || tail -n 15 "$LOG" >&2
	exit 1
fi
echo "vm-check: ok: $plan checks passed, VM powered off ($accel, $secs s)"
