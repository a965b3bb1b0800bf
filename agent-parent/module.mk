# agent-parent/: capsem-agent(8), the privileged guest parent.
PROGS +=	$(B)/sbin/capsem-agent
MANS +=		agent-parent/capsem-agent.8
OBJS_capsem-agent := $(addprefix $(B)/agent-parent/, agent.o boot.o auditside.o hostreq.o \
		shell.o exec.o copy.o pending.o fileops.o ptree.o)
