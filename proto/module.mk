# proto/: the library every program links: framing, msgpack codec, audit
# records, validation, imsg, logging, transport and sandbox.
PROTO_SRCS +=	proto/log.c
