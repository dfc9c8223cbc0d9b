# Stratus — every target a newcomer or CI needs. `make help` lists them.
.DEFAULT_GOAL := help
SHELL := /bin/bash

GO      ?= go
BIN     := bin/stratus
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
# The benchmarks measure MariaDB; this machine kind runs one on 127.0.0.1.
BENCH_MYSQL_DSN ?= $(or $(STRATUS_TEST_MYSQL_DSN),root@tcp(127.0.0.1:3306)/test)

.PHONY: help run build test test-go e2e deps lint generate verify-generated bench clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# The binary, not `go run`: Ctrl-C then ends it cleanly (go run exits 1).
run: build ## start Stratus all-in-one on an embedded SQLite file (prints the URL and the logins)
	$(BIN) dev

build: ## build bin/stratus (static, no cgo)
	CGO_ENABLED=0 $(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/stratus

# The browser test runs beside the Go tests: the system tests spend most of
# their 12 minutes waiting on guests, one lab at a time.
test: deps ## the whole suite: Go tests (SQLite; MariaDB too when STRATUS_TEST_MYSQL_DSN is set) and the browser test, side by side
	@$(MAKE) --no-print-directory -j2 test-go e2e

test-go: ## Go unit, model, handler and system tests only
	$(GO) test -count=1 -timeout 30m ./...

e2e: build node_modules ## browser test: Playwright drives Debian's chromium against `stratus dev`
	STRATUS_BIN=$(abspath $(BIN)) node e2e/run.mjs

deps: ## check (and, as root, install) what the tests need: Debian packages, npm modules
	@.ci/deps

node_modules: package-lock.json
	npm ci --no-audit --no-fund
	@touch node_modules

lint: ## gofmt, go vet and staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '_templ.go$$')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

generate: node_modules ## rebuild templ views (*_templ.go) and front-end assets (static/dist)
	$(GO) tool templ generate
	npm run build

verify-generated: generate ## fail when the committed generated files are stale
	@if ! git diff --quiet -- '*_templ.go' static/dist; then git --no-pager diff --stat -- '*_templ.go' static/dist; echo "generated files are stale: run make generate and commit"; exit 1; fi
	@new=$$(git ls-files --others --exclude-standard -- '*_templ.go' static/dist); if [ -n "$$new" ]; then echo "generated files not committed:"; echo "$$new"; exit 1; fi
	@echo "generated files are up to date"

bench: ## benchmarks (queue jobs/s on MariaDB and SQLite, …): figures, not pass/fail
	STRATUS_TEST_MYSQL_DSN='$(BENCH_MYSQL_DSN)' $(GO) test -run '^$$' -bench . -benchtime 1x -count 1 ./...

clean: ## remove build output (keeps ./data)
	rm -rf bin
