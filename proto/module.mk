# proto/: the library every program links: framing, msgpack codec, audit
# records, validation, imsg, logging, transport and sandbox.
PROTO_SRCS +=	proto/log.c
PROTO_SRCS +=	proto/mpack.c proto/wire.c proto/wirejson.c proto/frame.c \
		proto/validate.c
PROTO_SRCS +=	proto/imsg.c proto/imsg-buffer.c
PROTO_SRCS +=	proto/transport.c proto/sandbox.c
PROTO_SRCS +=	proto/child.c proto/proc.c proto/outbuf.c proto/ev.c
PROTO_SRCS +=	proto/termmodes.c
MANS +=		proto/capsem-protocol.7
