# hostd-stream/: capsem-hostd-stream(8), the sandboxed child that decodes
# one exec, audit or lifecycle connection for capsem-hostd.
LIBEXEC_PROGS += $(B)/libexec/capsem-hostd-stream
MANS +=		hostd-stream/capsem-hostd-stream.8
OBJS_capsem-hostd-stream := $(B)/hostd-stream/hostd-stream.o
