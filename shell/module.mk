# shell/: capsem-shell(1), the client a person types: attaches a terminal
# to a session, creates temporary sessions, runs exec.
PROGS +=	$(B)/bin/capsem-shell
MANS +=		shell/capsem-shell.1
OBJS_capsem-shell := $(B)/shell/shell.o $(B)/shell/session.o \
		$(B)/shell/log.o $(B)/shell/cp.o
