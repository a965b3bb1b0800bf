# `make reliability`: the fault injection scenarios (regress/reliability/)
# against the real programs; prints the table, writes $(B)/reliability.md
# and, after a full run (not RELIABILITY_QUICK=1), puts the table in the
# README's "Reliability" section (even when a scenario failed: the table
# says so, and make still fails).

RELIABILITY_QUICK ?= 0

reliability: all
	@st=0; RELIABILITY_QUICK=$(RELIABILITY_QUICK) \
	    sh regress/reliability/run.sh $(B) || st=$$?; \
	if [ "$(RELIABILITY_QUICK)" != 1 ]; then \
		sh regress/reliability/readme.sh $(B)/reliability.md \
		    README.md || st=1; \
	fi; \
	exit $$st

.PHONY: reliability
