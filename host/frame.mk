# host/frame.mk: capsem-frame, the JSON <-> wire frame converter for test
# traffic and captured streams.  Included from host/module.mk.
FRAME_OBJS :=	$(B)/host/capsem-frame.o
PROGS +=	$(B)/bin/capsem-frame
MANS +=		host/capsem-frame.1

$(B)/bin/capsem-frame: $(FRAME_OBJS) $(LIBPROTO)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(FRAME_OBJS) $(LIBPROTO) $(LDLIBS)
