# vpim-milter: build and test targets. `make test` is the README's test
# command and what CI runs: it installs the tools the tests need (root, apt),
# then runs the formatting check, go vet, the unit tests and the integration
# tests against a real Postfix, a real Sendmail, miltertest and the SIP and
# audio tools. `make check` also runs staticcheck (pinned in test-deps.sh).

GO ?= go
SHELL := /bin/bash
# staticcheck, pinned and installed by tools/test-deps.sh.
STATICCHECK ?= $(shell $(GO) env GOPATH)/bin/staticcheck

.PHONY: build run test deps check unit race integration fuzz bench clean

# The release build: static (no cgo; the code is pure Go and the resolver
# is Go's own), which also starts ~4 ms faster than a dynamically linked one.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -buildvcs=auto -o vpim-milter ./cmd/vpim-milter

run: build
	./vpim-milter serve

test: deps check unit race integration

deps:
	bash tools/test-deps.sh

check:
	bash tools/check-tree.sh
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags integration ./...
	$(STATICCHECK) ./...
	$(STATICCHECK) -tags integration ./...

unit:
	$(GO) test -count=1 -shuffle=on ./...

# Every unit package under the race detector (the integration packages run
# in the integration target).
race:
	$(GO) test -count=1 -race ./...

integration:
	$(GO) test -count=1 -tags integration -timeout 40m ./integration/...

fuzz:
	bash tools/fuzz/fuzz.sh $(FUZZTIME)

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# Build outputs only (the list .gitignore names); test and bench runs clean up after themselves.
clean:
	rm -f vpim-milter cmd/vpim-milter/vpim-milter integration.log
	rm -f gsmdec gsmenc resample8k smtpload g726ref *.test *.prof cover.out coverage.out
