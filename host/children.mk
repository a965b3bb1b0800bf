# host/children.mk: capsem-hostd's sandboxed children, the only host code
# that decodes guest frames.  capsem-hostd-control owns the control
# connection; capsem-hostd-stream owns one exec, audit or lifecycle
# connection.
HOSTD_CONTROL_OBJS := $(B)/host/hostd-control.o
HOSTD_STREAM_OBJS := $(B)/host/hostd-stream.o
LIBEXEC_PROGS += $(B)/libexec/capsem-hostd-control \
		$(B)/libexec/capsem-hostd-stream

$(B)/libexec/capsem-hostd-control: $(HOSTD_CONTROL_OBJS) $(LIBPROTO)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(HOSTD_CONTROL_OBJS) $(LIBPROTO) $(LDLIBS)

$(B)/libexec/capsem-hostd-stream: $(HOSTD_STREAM_OBJS) $(LIBPROTO)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(HOSTD_STREAM_OBJS) $(LIBPROTO) $(LDLIBS)
