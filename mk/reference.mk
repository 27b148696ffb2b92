# `make reference`: re-record the conformance goldens against a real Apache ZooKeeper 3.8
# (Debian's package) through kazoo. Included from the top-level Makefile.
# Installs what is missing first; everything else is in tests/conformance/record.py.

.PHONY: reference reference-deps

reference: reference-deps
	python3 tests/conformance/record.py

reference-deps:
	@if ! ls /usr/share/java/zookeeper*.jar >/dev/null 2>&1; then \
		apt-get install -y zookeeper || { apt-get update && apt-get install -y zookeeper; }; \
	fi
	@python3 -c 'import kazoo' 2>/dev/null || pip install 'kazoo==2.11.*'
