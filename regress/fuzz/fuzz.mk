# regress/fuzz/: libFuzzer targets over the production parsers (frame
# reader and both decoder directions, audit records, the audit log parser,
# the terminal modes of termmodes and --term-modes,
# the imsg reader, the JSON forms).  Included from the top-level Makefile;
# nothing here is part of `all` or `tests`.
#
#	make fuzz-build		build the targets and seed corpora
#	make fuzz [FUZZ_SECONDS=60]	replay the kept inputs, then
#				fuzz each target FUZZ_SECONDS
#
# Built with clang and -fsanitize=fuzzer,address,undefined under build-fuzz/
# (removed by `make clean`).  Seeds come from the golden vectors
# (FUZZ_VECTORS, default ../shared/vectors) via fuzzseed, a plain C tool.

FUZZ_B :=	build-fuzz
FUZZ_CC ?=	clang
FUZZ_SECONDS ?=	60
FUZZ_VECTORS ?=	$(or $(CAPSEM_VECTORS),../shared/vectors)
FUZZ_SAN =	-fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS =	-g -O1 $(FUZZ_SAN) $(WARNFLAGS) \
		-std=gnu11 -MMD -MP
FUZZ_CPPFLAGS =	$(CPPFLAGS) -Iagent-audit -Iregress/fuzz

FUZZ_TARGETS :=	fuzz_frame_h2g fuzz_frame_g2h fuzz_audit_record \
		fuzz_auditlog fuzz_imsg fuzz_wirejson fuzz_termmodes
FUZZ_LIB_SRCS := proto/mpack.c proto/wire.c proto/wirejson.c proto/frame.c \
		proto/imsg.c proto/imsg-buffer.c agent-audit/auditlog.c \
		proto/termmodes.c
FUZZ_LIB :=	$(FUZZ_B)/libcapsem-fuzz.a
FUZZ_BINS :=	$(FUZZ_TARGETS:%=$(FUZZ_B)/%)

$(FUZZ_B)/%.o: %.c | $(DEPS_OK)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_LIB): $(FUZZ_LIB_SRCS:%.c=$(FUZZ_B)/%.o)
	rm -f $@
	$(AR) rcs $@ $^

$(FUZZ_BINS): $(FUZZ_B)/%: $(FUZZ_B)/regress/fuzz/%.o $(FUZZ_LIB)
	$(FUZZ_CC) $(FUZZ_SAN) -o $@ $< $(FUZZ_LIB) $(LDLIBS)

# The seed generator runs on the build machine: no sanitizer, any cc.
$(FUZZ_B)/fuzzseed: regress/fuzz/fuzzseed.c proto/imsg.h | $(DEPS_OK)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARNFLAGS) -std=gnu11 -o $@ $< $(LDLIBS)

$(FUZZ_B)/corpus/.seeded: $(FUZZ_B)/fuzzseed $(FUZZ_VECTORS)/frames.jsonl \
    $(FUZZ_VECTORS)/audit-basic.log
	@mkdir -p $(@D)
	$(FUZZ_B)/fuzzseed $(FUZZ_VECTORS) $(FUZZ_B)/corpus
	@touch $@

fuzz-build: $(FUZZ_BINS) $(FUZZ_B)/corpus/.seeded

fuzz: fuzz-build
	@sh regress/fuzz/run.sh $(FUZZ_B) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

.PHONY: fuzz fuzz-build

-include $(wildcard $(FUZZ_B)/*/*.d $(FUZZ_B)/*/*/*.d)
