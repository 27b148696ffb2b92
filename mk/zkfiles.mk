# Apache ZooKeeper's on-disk formats (core/src/zkdata, `zoolab zk-import`). Included from the
# top-level Makefile.
#   make test-zkfiles      a real ZooKeeper 3.8 (standalone, then a 3-server ensemble)
#                          builds a varied tree (1 MiB node included), is killed, and
#                          `zoolab zk-import` must reproduce its `hash` digest and every
#                          node's data, Stat and ACL (about 15 s)
#   make zkfiles-fixture   re-record the small dataDirs core/tests/zkfiles.rs reads
# Installs what is missing first; the script stops the servers it starts by their pids.

.PHONY: test-zkfiles zkfiles-fixture zkfiles-deps

zkfiles-deps:
	@python3 -c 'import kazoo' 2>/dev/null || pip install 'kazoo==2.11.*'
	@if ! ls /usr/share/java/zookeeper*.jar >/dev/null 2>&1; then \
		apt-get install -y zookeeper || { apt-get update && apt-get install -y zookeeper; }; \
	fi

test-zkfiles: zkfiles-deps
	$(CARGO) build -q -p zoolab-server
	python3 tests/zkfiles/zkfiles.py --zoolab target/debug/zoolab

zkfiles-fixture: zkfiles-deps
	rm -rf core/tests/data/zkfiles
	python3 tests/zkfiles/zkfiles.py --record-fixture core/tests/data/zkfiles
