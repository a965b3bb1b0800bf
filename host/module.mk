include host/frame.mk
