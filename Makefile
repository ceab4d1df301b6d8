# dialroom: `make run` to try it, `make test` to test everything.
# Both install the Debian packages they need (apt-get; sudo when not root).

# Go 1.26 lives in /usr/local/go on the project's machines.
# tsc (TypeScript, for checking the client's JSDoc types) is installed into .tools.
export PATH := /usr/local/go/bin:$(CURDIR)/.tools/node_modules/.bin:$(PATH)
TYPESCRIPT := typescript@5.9.3

RUN_PKGS  := libopus-dev libopusfile-dev libspandsp-dev pkg-config gcc
TEST_PKGS := $(RUN_PKGS) sip-tester baresip-core chromium chromium-driver tshark sox nginx systemd slapd ldap-utils iproute2

BIN := bin/dialroom

.PHONY: run build test test-bwcap deps-run deps-test fuzz fuzz-sip fuzz-sfu bench clean

run: build
	./$(BIN) serve

build: deps-run
	go build -o $(BIN) ./cmd/dialroom

test: deps-test
	go vet -tags netns ./...
	# -p 1: packages one after another. The e2e servers, sipp and the sip tests all
	# bind UDP ports in overlapping ranges; in parallel they raced for them.
	# -tags netns: with the bandwidth-cap test (root, iproute2, Chromium).
	go test -race -count=1 -p 1 -tags netns -timeout 30m ./...
	$(MAKE) fuzz-sip
	$(MAKE) fuzz-sfu

# Each sip fuzz target (parsers of what carriers send) for 10,000 inputs (a few
# seconds each); part of `make test`. A count, not a duration: Go 1.26's fuzz
# coordinator can fail a run with "context deadline exceeded" when a -fuzztime
# duration ends while a worker is busy (go.dev/issue/75804, fixed in Go 1.27).
fuzz-sip:
	@for f in $$(go test -list 'Fuzz.*' ./sip | grep ^Fuzz); do \
	  go test -run XXX -fuzz "^$$f$$" -fuzztime 10000x ./sip || exit 1; \
	done

# Each sfu fuzz target (parsers of what browsers send) for 10,000 inputs; part
# of `make test`.
fuzz-sfu:
	@for f in $$(go test -list 'Fuzz.*' ./sfu | grep ^Fuzz); do \
	  go test -run XXX -fuzz "^$$f$$" -fuzztime 10000x ./sfu || exit 1; \
	done

# The headless-Chromium bandwidth-cap test in a network namespace alone (root;
# also part of `make test`, see web/browser_bwcap_test.go).
test-bwcap: deps-test
	go test -tags netns -count=1 -run TestBrowserBandwidthCap -v ./web/

# A longer run of every fuzz target, 200,000 inputs each (not part of `make test`).
fuzz:
	@for pkg in $$(go list ./...); do \
	  for f in $$(go test -list 'Fuzz.*' $$pkg | grep ^Fuzz); do \
	    go test -run XXX -fuzz "^$$f$$" -fuzztime 200000x $$pkg || exit 1; \
	  done; \
	done

bench:
	go test -run XXX -bench . -benchmem ./mixer/

deps-run:
	@scripts/apt-install.sh $(RUN_PKGS)

deps-test:
	@scripts/apt-install.sh $(TEST_PKGS)
	@command -v npm >/dev/null || scripts/apt-install.sh nodejs npm
	@[ -x .tools/node_modules/.bin/tsc ] || npm install --no-save --no-audit --no-fund --prefix .tools $(TYPESCRIPT)

clean:
	rm -rf bin .tools
