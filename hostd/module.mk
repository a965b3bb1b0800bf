# hostd/: capsem-hostd(8), the per-session supervisor.  The privileged
# parent: it never parses what the guest sends, its decoder children do.
PROGS +=	$(B)/sbin/capsem-hostd
MANS +=		hostd/capsem-hostd.8
OBJS_capsem-hostd := $(addprefix $(B)/hostd/, hostd.o guest.o term.o \
		children.o exec.o copy.o client.o session.o)
