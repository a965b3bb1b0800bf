# agent-audit/: capsem-agent-audit, the audit log -> audit socket.
AUDIT_OBJS :=	$(B)/agent-audit/audit.o $(B)/agent-audit/auditlog.o
LIBEXEC_PROGS += $(B)/libexec/capsem-agent-audit
MANS +=		agent-audit/capsem-agent-audit.8

$(B)/libexec/capsem-agent-audit: $(AUDIT_OBJS) $(LIBPROTO)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(AUDIT_OBJS) $(LIBPROTO) $(LDLIBS)
