# hostd-screen/: capsem-hostd-screen(8), the sandboxed child that keeps the
# model of the session's screen (libvterm) for capsem-hostd.
LIBEXEC_PROGS += $(B)/libexec/capsem-hostd-screen
MANS +=		hostd-screen/capsem-hostd-screen.8
OBJS_capsem-hostd-screen := $(addprefix $(B)/hostd-screen/, hostd-screen.o \
		model.o)
VTERM_CFLAGS =	$(eval VTERM_CFLAGS := $$(call pkgconf,--cflags vterm))$(VTERM_CFLAGS)
VTERM_LIBS =	$(eval VTERM_LIBS := $$(call pkgconf,--libs vterm))$(VTERM_LIBS)
$(B)/libexec/capsem-hostd-screen: LDLIBS += $(VTERM_LIBS)
$(B)/hostd-screen/%.o: CPPFLAGS += $(VTERM_CFLAGS)
