# frame/: capsem-frame(1), JSON lines <-> wire frames, for test traffic and
# captured streams.
PROGS +=	$(B)/bin/capsem-frame
MANS +=		frame/capsem-frame.1
OBJS_capsem-frame := $(B)/frame/capsem-frame.o
