# regress/: cmocka unit tests (regress/<area>/test_*.c, one binary each,
# linked against the production objects) and the integration tests
# (regress/tests/*.sh) run by regress/run.sh.
#
# A unit test that needs objects outside libcapsem.a names them as extra
# prerequisites in its area's module.mk, for example
#   $(B)/regress/audit/test_auditlog: $(B)/agent-audit/auditlog.o
#
# Every unit test links regress/testutil.o, the helpers they share
# (regress/testutil.h).

UNIT_TEST_SRCS :=	$(wildcard regress/*/test_*.c)
UNIT_TESTS +=		$(UNIT_TEST_SRCS:%.c=$(B)/%)

$(foreach t,$(UNIT_TESTS),$(eval OBJS_$(notdir $(t)) := $(t).o))
$(UNIT_TESTS): LDLIBS += $(CMOCKA_LIBS)
$(UNIT_TESTS): $(B)/regress/testutil.o

$(UNIT_TEST_SRCS:%.c=$(B)/%.o): CPPFLAGS += $(CMOCKA_CFLAGS) -Iregress
$(B)/regress/testutil.o: CPPFLAGS += $(CMOCKA_CFLAGS)

-include $(wildcard regress/*/module.mk)
