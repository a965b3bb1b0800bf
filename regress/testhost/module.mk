# regress/testhost: capsem-testhost, the scripted host side of the protocol
# that the integration tests (regress/tests/*.sh) run capsem-agent against.
TEST_PROGS +=	$(B)/regress/capsem-testhost

$(B)/regress/capsem-testhost: $(B)/regress/testhost.o $(LIBPROTO)
	$(CC) $(LDFLAGS) -o $@ $(B)/regress/testhost.o $(LIBPROTO) $(LDLIBS)
