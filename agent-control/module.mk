# agent-control/: capsem-agent-control, control socket <-> parent.
CONTROL_OBJS :=	$(B)/agent-control/control.o
LIBEXEC_PROGS += $(B)/libexec/capsem-agent-control

$(B)/libexec/capsem-agent-control: $(CONTROL_OBJS) $(LIBPROTO)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(CONTROL_OBJS) $(LIBPROTO) $(LDLIBS)
