# regress/fileops/: unit tests of the guest parent's workspace file
# operations, linked with the production object.
$(B)/regress/fileops/test_fileops: $(B)/agent-parent/fileops.o
$(B)/regress/fileops/test_fileops.o: CPPFLAGS += -Iagent-parent
