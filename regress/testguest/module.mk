# regress/testguest: capsem-testguest, the scripted adversarial guest side
# of the protocol that regress/tests/host_badguest.sh runs capsem-hostd
# against.
TEST_PROGS +=	$(B)/regress/capsem-testguest
OBJS_capsem-testguest := $(B)/regress/testguest.o
