# `zoolab migrate` between real ensembles (issues 7 and 10). Included from the Makefile.
#   make test-migrate   Apache ZooKeeper 3.8 (3 servers) -> zoolab (3 servers) under a kazoo
#                       write load, the migrate process killed once and resumed from its
#                       journal, every acknowledged write and every Stat checked on the
#                       target; then zoolab -> zoolab with the real write fence (NOTREADONLY
#                       after the freeze), an abort, a stale controller, the import path
#                       refused without the super-user, a --logical copy, aborts after the
#                       cut-over copying the target's writes back (into zoolab and into
#                       ZooKeeper, every acknowledged write checked on the source); the whole tree
#                       between two standalone servers (80 to 110 s after the build on a busy 2-core machine)
# Uses server-deps from mk/server.mk (kazoo, Debian's zookeeper). The script starts its
# servers on free ports in a temporary directory and stops them by their own pids.

.PHONY: test-migrate

test-migrate: server-deps
	$(CARGO) build -q -p zoolab-server
	python3 tests/migrate/migrate.py --zoolab target/debug/zoolab
