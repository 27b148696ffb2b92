# The native server (`zoolab server`) with real clients. Included from the top-level Makefile.
#   make test-server               kazoo and zkCli.sh against zoolab (about 15 s after the build)
#   make test-server-conformance   the 245 conformance cases over TCP against zoolab, compared
#                                  with Apache ZooKeeper's goldens (about 20 s)
# Installs what is missing first (kazoo from PyPI, Debian's zookeeper for zkCli.sh). The
# scripts start `zoolab server` themselves and stop it by its own pid.

.PHONY: test-server test-server-conformance server-deps

server-deps:
	@python3 -c 'import kazoo' 2>/dev/null || pip install 'kazoo==2.11.*'
	@if [ ! -x /usr/share/zookeeper/bin/zkCli.sh ]; then \
		apt-get install -y zookeeper || { apt-get update && apt-get install -y zookeeper; }; \
	fi

test-server: server-deps
	$(CARGO) build -q -p zoolab-server
	python3 tests/realclients/test_clients.py --zoolab target/debug/zoolab

test-server-conformance: server-deps
	$(CARGO) build -q -p zoolab-server
	python3 tests/conformance/record.py --zoolab target/debug/zoolab --jobs 2
