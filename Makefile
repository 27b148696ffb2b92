# zoolab — the two commands:
#   make play   install what is missing, build the playground, serve it (PORT=8080)
#   make test   install what is missing, run every test (native, wasm in Chromium, end-to-end)
# Other targets: web (build the wasm bundle), size (bundle size), lint, reference (re-record
# the ZooKeeper conformance goldens), clean.

PORT ?= 8080
CARGO ?= cargo
export CHROMEDRIVER ?= /usr/bin/chromedriver

.PHONY: play web size test lint test-native test-wasm test-e2e tools clean

play: web
	$(CARGO) build --release -q -p zoolab-server
	./target/release/zoolab play --port $(PORT) --www www

web:
	scripts/build-web.sh

size: web

tools:
	scripts/ensure-tools.sh wasm browser

test: tools lint test-native test-wasm test-e2e test-server test-server-conformance test-ensemble test-zkfiles test-differential test-migrate test-sweep
	@echo "make test: all suites passed"

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy -q --workspace --all-targets -- -D warnings

test-native:
	$(CARGO) test -q --workspace

test-wasm:
	scripts/wasm-cargo.sh test -p zoolab-web -p zoolab-live --lib

test-e2e: web
	$(CARGO) build -q -p zoolab-server
	$(CARGO) test -q -p zoolab-e2e -- --ignored --test-threads=1

clean:
	$(CARGO) clean
	rm -rf www/pkg tests/artifacts

-include mk/*.mk
