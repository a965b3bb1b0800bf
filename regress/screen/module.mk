# regress/screen/: unit tests of the screen model (hostd-screen/model.c,
# linked as it is) and of the real capsem-hostd-screen child.

$(B)/regress/screen/test_screen: $(B)/hostd-screen/model.o
$(B)/regress/screen/test_screen: LDLIBS += $(VTERM_LIBS)
$(B)/regress/screen/test_screen.o: CPPFLAGS += -Ihostd-screen $(VTERM_CFLAGS)
