# Palabre — the two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo
NPM ?= npm
WEB_SOURCES := $(shell find web/src web/sw web/public web/index.html web/package.json web/vite.config.ts web/svelte.config.js web/tsconfig.json -type f 2>/dev/null)

.PHONY: run test test-rust test-web lint web bench bench-full bench-cluster fuzz clean-data

## Build what is missing (web client, release server) and serve with the embedded storage.
run: web/dist/index.html
	$(CARGO) run --release -p palabre -- serve

web/node_modules/.package-lock.json: web/package-lock.json
	cd web && $(NPM) ci --no-audit --no-fund
	@touch $@

web/dist/index.html: web/node_modules/.package-lock.json $(WEB_SOURCES)
	cd web && $(NPM) run build

web: web/dist/index.html

tests/node/node_modules/.package-lock.json: tests/node/package-lock.json
	cd tests/node && $(NPM) ci --no-audit --no-fund
	@touch $@

## Every test: formatting, lints, Rust unit + integration tests, web type-check, unit and browser tests.
test: lint test-rust test-web

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

test-rust: tests/node/node_modules/.package-lock.json
	$(CARGO) build -p palabre
	$(CARGO) test --workspace

test-web: web/dist/index.html
	$(CARGO) build -p palabre
	cd web && $(NPM) run check
	cd web && $(NPM) run test:unit
	cd web && $(NPM) run test:e2e

## Benchmarks against the peers (quick sizes, a few minutes); bench-full uses the issue's sizes.
bench:
	scripts/bench.sh

bench-full:
	scripts/bench.sh --full

## Issue 14: W1 over a 3-node cluster (one PostgreSQL, one Redis) beside one node, W4 on PostgreSQL.
bench-cluster:
	scripts/bench-cluster.sh

## Fuzz the protocol decoders for a bounded time (needs cargo-fuzz; see scripts/fuzz.sh).
fuzz:
	scripts/fuzz.sh
