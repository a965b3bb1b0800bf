# regress/testhost: capsem-testhost, the scripted host side of the protocol
# that the integration tests (regress/tests/*.sh) run capsem-agent against.
TEST_PROGS +=	$(B)/regress/capsem-testhost
OBJS_capsem-testhost := $(B)/regress/testhost.o
