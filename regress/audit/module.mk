# regress/audit/: unit tests of the audit child's log parser.  The test
# links the production parser object; CAPSEM_TOP locates the golden vectors
# when CAPSEM_VECTORS is not set (run directly, outside regress/run.sh).

$(B)/regress/audit/test_auditlog: $(B)/agent-audit/auditlog.o

$(B)/regress/audit/test_auditlog.o: CPPFLAGS += -Iagent-audit \
	-DCAPSEM_TOP=\"$(CURDIR)\"
