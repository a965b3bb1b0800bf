# capsem: guest agent and host supervisor for a VM shell over vsock.
#
# GNU make, non-recursive: every directory contributes a module.mk that
# appends to the lists below.  Objects live under $(B)/, mirroring the source
# tree, so a sanitizer build (SANITIZE=1) never mixes with a normal one.

PREFIX ?=	/usr/local
BINDIR ?=	$(PREFIX)/bin
SBINDIR ?=	$(PREFIX)/sbin
LIBEXECDIR ?=	$(PREFIX)/libexec/capsem
MANDIR ?=	$(PREFIX)/share/man
DESTDIR ?=

ifeq ($(SANITIZE),1)
B ?=		build-san
SANFLAGS =	-fsanitize=address,undefined -fno-omit-frame-pointer \
		-fno-sanitize-recover=undefined
else
B ?=		build
SANFLAGS =
endif

CC ?=		cc
PKGS =		libbsd-overlay msgpack libseccomp jansson
# Asked of pkg-config once, when first used: on a fresh machine that is
# after the dependency step ($(DEPS_OK) below) has installed the packages.
pkgconf =	$(shell pkg-config $(1) 2>/dev/null)
PKG_CFLAGS =	$(eval PKG_CFLAGS := $$(call pkgconf,--cflags $$(PKGS)))$(PKG_CFLAGS)
PKG_LIBS =	$(eval PKG_LIBS := $$(call pkgconf,--libs $$(PKGS)))$(PKG_LIBS)
CMOCKA_CFLAGS =	$(eval CMOCKA_CFLAGS := $$(call pkgconf,--cflags cmocka))$(CMOCKA_CFLAGS)
CMOCKA_LIBS =	$(eval CMOCKA_LIBS := $$(call pkgconf,--libs cmocka))$(CMOCKA_LIBS)

WARNFLAGS =	-Wall -Wextra -Wshadow -Wpointer-arith -Wcast-qual \
		-Wstrict-prototypes -Wmissing-prototypes -Wmissing-declarations \
		-Wformat=2 -Wno-unused-parameter -Wvla -Werror=implicit-function-declaration
CFLAGS ?=	-O2 -g
CPPFLAGS +=	-D_GNU_SOURCE -Iproto $(PKG_CFLAGS) \
		-DLIBEXECDIR=\"$(LIBEXECDIR)\"
ALL_CFLAGS =	$(CFLAGS) $(WARNFLAGS) $(SANFLAGS) -std=gnu11 -MMD -MP
LDFLAGS +=	$(SANFLAGS) -Wl,--as-needed
LDLIBS =	$(PKG_LIBS)

LIBPROTO =	$(B)/proto/libcapsem.a

# Filled in by the module.mk files.
PROTO_SRCS :=
PROGS :=
LIBEXEC_PROGS :=
MANS :=
UNIT_TESTS :=
TEST_PROGS :=
BENCH_PROGS :=

all:

# One directory per program, each with its module.mk naming the program,
# its objects (OBJS_<program>) and its man page.
PROG_DIRS =	agent-parent agent-term agent-control agent-audit hostd \
		hostd-control hostd-stream hostd-screen shell frame

include proto/module.mk
include $(PROG_DIRS:%=%/module.mk)
include regress/module.mk
include bench/bench.mk
-include regress/fuzz/fuzz.mk
-include vm/vm.mk

PROTO_OBJS :=	$(PROTO_SRCS:%.c=$(B)/%.o)

all: $(LIBPROTO) $(PROGS) $(LIBEXEC_PROGS)

# Every compile first makes sure the dependencies are there, so any target
# works as the first command on a fresh machine.
DEPS_OK =	$(B)/.deps-ok

$(DEPS_OK): tools/deps.sh
	@sh tools/deps.sh
	@mkdir -p $(@D)
	@touch $@

$(B)/%.o: %.c | $(DEPS_OK)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

# The one link rule: a program is its OBJS_<name> (and any further objects
# a module.mk names as prerequisites) linked with the proto library.
LINKED_PROGS =	$(PROGS) $(LIBEXEC_PROGS) $(TEST_PROGS) $(UNIT_TESTS) \
		$(BENCH_PROGS)
.SECONDEXPANSION:
$(LINKED_PROGS): $$(OBJS_$$(@F)) $(LIBPROTO)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LIBPROTO) $(LDLIBS)

$(LIBPROTO): $(PROTO_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

deps:
	@sh tools/deps.sh
	@mkdir -p $(B)
	@touch $(DEPS_OK)

check: deps
	@$(MAKE) --no-print-directory all tests
	@sh regress/run.sh $(B)

tests: $(UNIT_TESTS) $(TEST_PROGS)

install: all install-vm
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) \
	    $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(MANDIR)/man8
	for p in $(filter $(B)/bin/%,$(PROGS)); do \
		install -m 755 $$p $(DESTDIR)$(BINDIR)/; done
	for p in $(filter $(B)/sbin/%,$(PROGS)); do \
		install -m 755 $$p $(DESTDIR)$(SBINDIR)/; done
	for p in $(LIBEXEC_PROGS); do \
		install -m 755 $$p $(DESTDIR)$(LIBEXECDIR)/; done
	for m in $(MANS); do \
		s=$${m##*.}; install -m 644 $$m $(DESTDIR)$(MANDIR)/man$$s/; done

clean:
	rm -rf build build-san build-fuzz

.PHONY: all deps check tests install clean

-include $(shell find $(B) -name '*.d' 2>/dev/null)

# The README's "run it" command: a temporary local session.
shell: all
	@if [ -x $(B)/bin/capsem-shell ]; then \
		CAPSEM_LIBEXECDIR=$(CURDIR)/$(B)/libexec \
		PATH=$(CURDIR)/$(B)/sbin:$(CURDIR)/$(B)/bin:$$PATH \
		$(B)/bin/capsem-shell --temp --local; \
	else \
		echo "capsem-shell is not built yet (see the open issues)"; \
		exit 1; \
	fi

.PHONY: shell
-include regress/reliability/reliability.mk
