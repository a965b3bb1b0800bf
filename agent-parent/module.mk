# agent-parent/: capsem-agent, the privileged guest parent.
AGENT_OBJS :=	$(B)/agent-parent/agent.o $(B)/agent-parent/shell.o \
		$(B)/agent-parent/exec.o $(B)/agent-parent/pending.o \
		$(B)/agent-parent/fileops.o
PROGS +=	$(B)/sbin/capsem-agent
MANS +=		agent-parent/capsem-agent.8

$(B)/sbin/capsem-agent: $(AGENT_OBJS) $(LIBPROTO)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(AGENT_OBJS) $(LIBPROTO) $(LDLIBS)
