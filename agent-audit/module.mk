# agent-audit/: capsem-agent-audit(8), the audit log -> audit socket.
LIBEXEC_PROGS += $(B)/libexec/capsem-agent-audit
MANS +=		agent-audit/capsem-agent-audit.8
OBJS_capsem-agent-audit := $(B)/agent-audit/audit.o $(B)/agent-audit/auditlog.o
