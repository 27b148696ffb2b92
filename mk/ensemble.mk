# A 3-process `zoolab server` ensemble on loopback with real clients. Included from the Makefile.
#   make test-ensemble   kazoo (every operation, against leader and followers), zkCli.sh, and
#                        faults (kill -9 of the leader under load, SIGSTOP of leader and follower),
#                        every acknowledged write checked afterwards (about 15 s after the build)
# Uses server-deps from mk/server.mk (kazoo, Debian's zookeeper for zkCli.sh). The script
# starts its servers on free ports in a temporary directory and stops them by their own pids.

.PHONY: test-ensemble

test-ensemble: server-deps
	$(CARGO) build -q -p zoolab-server
	python3 tests/realclients/test_ensemble.py --zoolab target/debug/zoolab
