# The client sweep (issue 6): random client workloads under random faults on the
# simulator, every history judged by the history checker. Included from the Makefile.
#   make test-sweep     2,000 seeds with the debug build (about 2 minutes on 2 cores)
#   SWEEP_SEEDS=100000 make test-sweep    a long run
# A failing seed is printed with its replay command; `zoolab fuzz --state clients
# --from SEED --print-scenario` writes its scenario (keep it in core/tests/regressions/).

SWEEP_SEEDS ?= 2000

.PHONY: test-sweep

test-sweep:
	$(CARGO) build -q -p zoolab-server
	./target/debug/zoolab fuzz --state clients --seeds $(SWEEP_SEEDS) --jobs 2
