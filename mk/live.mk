# The playground attached to a real ensemble (`zoolab play --attach`, issue 10). Included
# from the Makefile.
#   make test-live   three `zoolab server` processes, `zoolab play --attach`, headless Chromium
#                    on /#live: roles and zxids, a console write read back from every member,
#                    watch events, a member's tree and a comparison, kill -9 of the leader and
#                    its restart, the console's session resumed when its member dies (about
#                    15 s after the build). `make test-e2e` runs it too (it is one of
#                    zoolab-e2e's ignored tests).

.PHONY: test-live

test-live: web
	$(CARGO) build -q -p zoolab-server
	$(CARGO) test -q -p zoolab-e2e --test live -- --ignored
