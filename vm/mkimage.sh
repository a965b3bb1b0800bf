#!/bin/sh
# mkimage.sh BUILD OUT: the guest image of `make guest-image`.
#
# Builds OUT/vmlinuz (Debian's linux-image, fetched with `apt-get download`
# and unpacked with dpkg-deb, never installed on this machine) and
# OUT/initramfs.cpio.gz: busybox (static), bash, auditd and auditctl with
# their shared libraries, the agent and the host programs from BUILD, the
# vsock modules, and vm/init as /init.  Touches only OUT.
#
# Reproducible: the file list is sorted, every mtime is SOURCE_DATE_EPOCH
# (default: the last commit's time), owners are 0:0 and gzip stores no name
# or time, so the same packages and binaries give the same bytes.
#
# Host packages needed: as root the missing ones are installed with apt-get,
# otherwise the exact command is printed (by tools/deps.sh).
set -eu

B=${1:?usage: mkimage.sh BUILD OUT}
OUT=${2:?usage: mkimage.sh BUILD OUT}
TOP=$(cd "$(dirname "$0")/.." && pwd)
export LC_ALL=C

# The programs the image is made of, and the packages that hold them;
# busybox must be the static one: the image has no libraries for it.
sh "$TOP/tools/deps.sh" guest-image cmd:busybox:busybox-static \
    deb:busybox-static cmd:bash:bash cmd:auditd:auditd cmd:auditctl:auditd \
    cmd:cpio:cpio cmd:gzip:gzip cmd:dpkg-deb:dpkg cmd:apt-get:apt
PATH=$PATH:/usr/sbin:/sbin

for p in sbin/capsem-agent sbin/capsem-hostd bin/capsem-shell \
    libexec/capsem-agent-term libexec/capsem-agent-control \
    libexec/capsem-agent-audit libexec/capsem-hostd-control \
    libexec/capsem-hostd-stream; do
	[ -x "$B/$p" ] || { echo "guest-image: no $B/$p (make all)" >&2; exit 1; }
done

if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
	SOURCE_DATE_EPOCH=$(git -C "$TOP" log -1 --format=%ct 2>/dev/null ||
	    echo 1700000000)
fi

# The kernel: the package linux-image-amd64 points to, downloaded once.
mkdir -p "$OUT/deb"
kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
    awk '/Depends: linux-image-/ { print $2; exit }')
if [ -z "$kpkg" ] && [ "$(id -u)" = 0 ]; then
	apt-get update -qq >/dev/null
	kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
	    awk '/Depends: linux-image-/ { print $2; exit }')
fi
[ -n "$kpkg" ] || { echo "guest-image: apt-cache knows no linux-image-amd64 \
(run as root: apt-get update)" >&2; exit 1; }
kdeb=$(ls "$OUT/deb/${kpkg}"_*.deb 2>/dev/null | tail -n 1)
if [ -z "$kdeb" ]; then
	echo "guest-image: apt-get download $kpkg"
	(cd "$OUT/deb" && apt-get download "$kpkg" 2>&1 |
	    grep -v 'unsandboxed' >&2 || true)
	kdeb=$(ls "$OUT/deb/${kpkg}"_*.deb 2>/dev/null | tail -n 1)
	[ -n "$kdeb" ] || { echo "guest-image: apt-get download $kpkg \
failed" >&2; exit 1; }
fi
kver=${kpkg#linux-image-}
kx=$OUT/kernel
if [ ! -f "$kx/stamp" ] || [ "$(cat "$kx/stamp")" != "$kdeb" ]; then
	rm -rf "$kx"
	mkdir -p "$kx"
	dpkg-deb --fsys-tarfile "$kdeb" | tar -x -C "$kx" \
	    "./boot/vmlinuz-$kver" \
	    "./lib/modules/$kver/kernel/net/vmw_vsock" \
	    "./lib/modules/$kver/kernel/drivers/virtio"
	printf '%s\n' "$kdeb" >"$kx/stamp"
fi
cp "$kx/boot/vmlinuz-$kver" "$OUT/vmlinuz"

# The root file system.  No name in it may end in .d: the top-level
# Makefile includes every *.d file under build/.
R=$OUT/root
rm -rf "$R"
mkdir -p "$R"
for d in bin sbin usr/bin usr/sbin usr/libexec/capsem usr/share/capsem \
    lib/x86_64-linux-gnu lib64 etc/audit/plugins proc sys dev run tmp \
    root var/log/audit var/empty "lib/modules/$kver"; do
	mkdir -p "$R/$d"
done
chmod 1777 "$R/tmp"
ln -s /run "$R/var/run"
chmod 700 "$R/root"

# busybox and its applets; bash stays the real bash.
cp /bin/busybox "$R/bin/busybox"
busybox --list-full | while read -r a; do
	case $a in
	bin/busybox|*/bash) continue ;;
	esac
	[ -e "$R/$a" ] || [ -L "$R/$a" ] || ln -s /bin/busybox "$R/$a"
done

# copy_bin SRC DST: a program and every library it loads.
copy_bin() {
	cp "$1" "$R/$2"
	ldd "$1" 2>/dev/null | awk '$3 ~ /^\// { print $3 } $1 ~ /^\// \
	    { print $1 }' | while read -r lib; do
		case $lib in
		*/ld-linux-x86-64.so.2) dst=lib64/ld-linux-x86-64.so.2 ;;
		*) dst=lib/x86_64-linux-gnu/${lib##*/} ;;
		esac
		[ -e "$R/$dst" ] || cp -L "$lib" "$R/$dst"
	done
}
copy_bin /bin/bash bin/bash
# glibc loads it at run time (pthread_cancel, used by auditd): ldd misses it.
cp -L "$(ldconfig -p | awk '/libgcc_s.so.1 .*x86-64/ { print $NF; exit }')" \
    "$R/lib/x86_64-linux-gnu/libgcc_s.so.1"
copy_bin "$(command -v auditd)" sbin/auditd
copy_bin "$(command -v auditctl)" sbin/auditctl
copy_bin "$B/sbin/capsem-agent" usr/sbin/capsem-agent
copy_bin "$B/sbin/capsem-hostd" usr/sbin/capsem-hostd
copy_bin "$B/bin/capsem-shell" usr/bin/capsem-shell
for p in capsem-agent-term capsem-agent-control capsem-agent-audit \
    capsem-hostd-control capsem-hostd-stream; do
	copy_bin "$B/libexec/$p" "usr/libexec/capsem/$p"
done
for m in "$kx/lib/modules/$kver/kernel/net/vmw_vsock/vsock.ko" \
    "$kx/lib/modules/$kver/kernel/net/vmw_vsock/vmw_vsock_virtio_transport_common.ko" \
    "$kx/lib/modules/$kver/kernel/net/vmw_vsock/vmw_vsock_virtio_transport.ko" \
    "$kx/lib/modules/$kver/kernel/net/vmw_vsock/vsock_loopback.ko" \
    "$kx/lib/modules/$kver/kernel/drivers/virtio/virtio.ko" \
    "$kx/lib/modules/$kver/kernel/drivers/virtio/virtio_ring.ko" \
    "$kx/lib/modules/$kver/kernel/drivers/virtio/virtio_pci_legacy_dev.ko" \
    "$kx/lib/modules/$kver/kernel/drivers/virtio/virtio_pci_modern_dev.ko" \
    "$kx/lib/modules/$kver/kernel/drivers/virtio/virtio_pci.ko"; do
	[ -f "$m" ] || { echo "guest-image: no module $m" >&2; exit 1; }
	case $m in
	*.ko.xz) xz -dc "$m" >"$R/lib/modules/$kver/$(basename "$m" .xz)" ;;
	*) cp "$m" "$R/lib/modules/$kver/" ;;
	esac
done

# Users: root, the sandbox user the children drop to, nobody.
cat >"$R/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/bash
_capsem:x:999:999:capsem sandbox:/nonexistent:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
EOF
cat >"$R/etc/group" <<'EOF'
root:x:0:
tty:x:5:
adm:x:4:
_capsem:x:999:
nogroup:x:65534:
EOF
printf 'passwd: files\ngroup: files\nshadow: files\n' >"$R/etc/nsswitch.conf"
printf 'capsem\n' >"$R/etc/hostname"
: >"$R/etc/fstab"
cp "$TOP/vm/auditd.conf" "$R/etc/audit/auditd.conf"
chmod 640 "$R/etc/audit/auditd.conf"
cp "$TOP/vm/init" "$R/init"
cp "$TOP/vm/guest-test.sh" "$R/usr/share/capsem/guest-test.sh"
sed 's|@SBINDIR@|/usr/sbin|g; s|@LIBEXECDIR@|/usr/libexec/capsem|g' \
    "$TOP/vm/capsem-agent.init" >"$R/usr/share/capsem/capsem-agent.init"
chmod 755 "$R/init" "$R/usr/share/capsem/guest-test.sh"

# Reproducible archive.
find "$R" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
(cd "$R" && find . -mindepth 1 | sort |
    cpio --quiet -o -H newc -R 0:0 --reproducible) |
    gzip -n -9 >"$OUT/initramfs.cpio.gz.tmp"
mv "$OUT/initramfs.cpio.gz.tmp" "$OUT/initramfs.cpio.gz"
printf '%s\n' "$kver" >"$OUT/kernel-version"
ksz=$(wc -c <"$OUT/vmlinuz")
isz=$(wc -c <"$OUT/initramfs.cpio.gz")
echo "guest-image: $OUT/vmlinuz ($kver, $((ksz / 1024)) KiB)" \
    "$OUT/initramfs.cpio.gz ($((isz / 1024)) KiB)," \
    "total $(((ksz + isz) / 1024)) KiB"
