# agent-term/: capsem-agent-term(8), PTY master <-> terminal socket.
LIBEXEC_PROGS += $(B)/libexec/capsem-agent-term
MANS +=		agent-term/capsem-agent-term.8
OBJS_capsem-agent-term := $(B)/agent-term/term.o
