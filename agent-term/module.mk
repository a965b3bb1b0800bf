# agent-term/: capsem-agent-term, PTY master <-> terminal socket.
TERM_OBJS :=	$(B)/agent-term/term.o
LIBEXEC_PROGS += $(B)/libexec/capsem-agent-term

$(B)/libexec/capsem-agent-term: $(TERM_OBJS) $(LIBPROTO)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(TERM_OBJS) $(LIBPROTO) $(LDLIBS)
