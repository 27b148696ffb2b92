# The differential suite (issue 10): the same operation sequences through kazoo against a live
# Apache ZooKeeper 3.8 and a live zoolab, standalone (TTL nodes on, and extendedTypesEnabled
# at its default: off) and as 3-server ensembles. Included from the top-level Makefile.
#   make test-differential   every result, error, Stat (times normalized), watch event, node
#                            and `hash` digest compared (75-90 s on 2 cores after the build)
#   DIFF_ARGS='--target standalone --seeds 7 --ops 400' make test-differential   one target,
#                            other seeds (a difference prints its seed, step and both answers)
# Installs what is missing first; the script stops the servers it starts by their pids.

DIFF_ARGS ?=

.PHONY: test-differential

test-differential: zkfiles-deps
	$(CARGO) build -q -p zoolab-server
	python3 tests/differential/differential.py --zoolab target/debug/zoolab $(DIFF_ARGS)
