# host/: the host side.  capsem-hostd (session supervisor) and its sandboxed
# decoder children, capsem-shell (the client a person types), capsem-frame.
include host/frame.mk host/hostd.mk host/children.mk host/shell.mk
