# `make bench` (not part of `make check`): capsem side by side with a bare
# PTY and OpenSSH on this machine (bench/run.sh): prints the markdown table,
# writes bench-results.csv and bench-ratios.png, and after a full run (not
# BENCH_QUICK=1) puts the table in the README's "Performance" section.
# The C helpers live in bench/ and are built into $(B)/bench/.

BENCH_QUICK ?=	0

BENCH_PROGS +=	$(B)/bench/ptybench $(B)/bench/codecbench
OBJS_ptybench := $(B)/bench/ptybench.o
OBJS_codecbench := $(B)/bench/codecbench.o
$(B)/bench/ptybench: LDLIBS += -lutil

bench: all $(B)/bench/ptybench $(B)/bench/codecbench
	@BENCH_QUICK=$(BENCH_QUICK) sh bench/run.sh $(B)

.PHONY: bench
