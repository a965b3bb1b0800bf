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
PKG_CFLAGS :=	$(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS :=	$(shell pkg-config --libs $(PKGS) 2>/dev/null)
CMOCKA_CFLAGS := $(shell pkg-config --cflags cmocka 2>/dev/null)
CMOCKA_LIBS :=	$(shell pkg-config --libs cmocka 2>/dev/null)

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

all:

include proto/module.mk
include $(wildcard agent-parent/module.mk agent-term/module.mk \
	agent-control/module.mk agent-audit/module.mk host/module.mk)
include regress/module.mk
-include regress/fuzz/fuzz.mk
-include vm/vm.mk

PROTO_OBJS :=	$(PROTO_SRCS:%.c=$(B)/%.o)

all: $(LIBPROTO) $(PROGS) $(LIBEXEC_PROGS)

$(B)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(LIBPROTO): $(PROTO_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

deps:
	@sh tools/deps.sh

check: deps
	@$(MAKE) --no-print-directory all tests
	@sh regress/run.sh $(B)

tests: $(UNIT_TESTS) $(TEST_PROGS)

install: all install-vm
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) \
	    $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(MANDIR)/man8
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
-include bench/bench.mk
