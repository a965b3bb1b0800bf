# `make bench` (not part of `make check`): capsem side by side with a bare
# PTY and OpenSSH on this machine (bench/run.sh): prints the markdown table
# and writes bench-results.csv and bench-ratios.png in $(B)/; only with
# BENCH_UPDATE=1 after a full run (not BENCH_QUICK=1) are they copied to
# the tree and the table put in the README's "Performance" section.
# The C helpers live in bench/ and are built into $(B)/bench/.

BENCH_QUICK ?=	0
BENCH_UPDATE ?=	0

BENCH_PROGS +=	$(B)/bench/ptybench $(B)/bench/codecbench $(B)/bench/screenbench
OBJS_ptybench := $(B)/bench/ptybench.o
OBJS_codecbench := $(B)/bench/codecbench.o
OBJS_screenbench := $(B)/bench/screenbench.o $(B)/hostd-screen/model.o
$(B)/bench/ptybench: LDLIBS += -lutil
$(B)/bench/screenbench: LDLIBS += $(VTERM_LIBS)
$(B)/bench/screenbench.o: CPPFLAGS += -Ihostd-screen $(VTERM_CFLAGS)

bench: all $(B)/bench/ptybench $(B)/bench/codecbench $(B)/bench/screenbench
	@BENCH_QUICK=$(BENCH_QUICK) BENCH_UPDATE=$(BENCH_UPDATE) \
	    sh bench/run.sh $(B)

.PHONY: bench
