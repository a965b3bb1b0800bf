# hostd-control/: capsem-hostd-control(8), the sandboxed child that decodes
# the guest's control connection for capsem-hostd.
LIBEXEC_PROGS += $(B)/libexec/capsem-hostd-control
MANS +=		hostd-control/capsem-hostd-control.8
OBJS_capsem-hostd-control := $(B)/hostd-control/hostd-control.o
