# The guest image, its VM test and the Debian package (included by the
# top-level Makefile with -include vm/vm.mk).
#
#   make guest-image   build/vm/vmlinuz + build/vm/initramfs.cpio.gz
#   make vm-check      boot it in qemu and run the in-guest session test
#   make deb           build/deb/capsem_VERSION_amd64.deb (dpkg-buildpackage)
#   make install-vm    the systemd unit and the busybox init fragment
#
# The image is built from the normal build ($(B) must not be a sanitizer
# build: the guest has no sanitizer runtime).

VMDIR ?=	build/vm
DEBDIR ?=	build/deb
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
# Where the busybox-style fragment goes (sourced or copied by an image's
# /init or /etc/init.d/rcS).
INITFRAGDIR ?=	$(PREFIX)/share/capsem

VM_PROGS =	$(B)/sbin/capsem-agent $(B)/sbin/capsem-hostd \
		$(B)/bin/capsem-shell $(B)/libexec/capsem-agent-term \
		$(B)/libexec/capsem-agent-control \
		$(B)/libexec/capsem-agent-audit \
		$(B)/libexec/capsem-hostd-control \
		$(B)/libexec/capsem-hostd-stream

guest-image: $(VM_PROGS)
	@sh vm/mkimage.sh $(B) $(VMDIR)

vm-check: guest-image
	@sh vm/vmcheck.sh $(VMDIR)

# The package is built from a clean copy of the tree in its own build
# directory (B=build-deb), because LIBEXECDIR is compiled in.
deb:
	@sh vm/mkdeb.sh $(DEBDIR)

install-vm:
	install -d $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(INITFRAGDIR)
	sed 's|@SBINDIR@|$(SBINDIR)|g; s|@LIBEXECDIR@|$(LIBEXECDIR)|g' \
	    vm/capsem-agent.service >$(DESTDIR)$(SYSTEMDUNITDIR)/capsem-agent.service
	chmod 644 $(DESTDIR)$(SYSTEMDUNITDIR)/capsem-agent.service
	sed 's|@SBINDIR@|$(SBINDIR)|g; s|@LIBEXECDIR@|$(LIBEXECDIR)|g' \
	    vm/capsem-agent.init >$(DESTDIR)$(INITFRAGDIR)/capsem-agent.init
	chmod 644 $(DESTDIR)$(INITFRAGDIR)/capsem-agent.init

.PHONY: guest-image vm-check deb install-vm
