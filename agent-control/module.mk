# agent-control/: capsem-agent-control(8), control socket <-> parent.
LIBEXEC_PROGS += $(B)/libexec/capsem-agent-control
MANS +=		agent-control/capsem-agent-control.8
OBJS_capsem-agent-control := $(B)/agent-control/control.o
