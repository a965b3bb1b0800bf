# host/shell.mk: capsem-shell, the client: attaches a terminal to a
# session, creates temporary sessions, runs exec.
SHELL_OBJS :=	$(B)/host/shell.o $(B)/host/shell-session.o
PROGS +=	$(B)/bin/capsem-shell
MANS +=		host/capsem-shell.1

$(B)/bin/capsem-shell: $(SHELL_OBJS) $(LIBPROTO)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(SHELL_OBJS) $(LIBPROTO) $(LDLIBS)
