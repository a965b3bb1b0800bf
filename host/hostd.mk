# host/hostd.mk: capsem-hostd, the per-session supervisor (privileged
# parent; it never parses what the guest sends, its children do).
HOSTD_OBJS :=	$(B)/host/hostd.o $(B)/host/hostd-guest.o \
		$(B)/host/hostd-client.o $(B)/host/hostd-session.o
PROGS +=	$(B)/sbin/capsem-hostd
MANS +=		host/capsem-hostd.8

$(B)/sbin/capsem-hostd: $(HOSTD_OBJS) $(LIBPROTO)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(HOSTD_OBJS) $(LIBPROTO) $(LDLIBS)
