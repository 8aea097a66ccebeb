# Huddle's commands. The README names two: `make run` and `make test`.
# Both install what is missing first (see .ci/install-deps and .ci/apt-packages).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
export PATH := $(HOME)/.cargo/bin:$(PATH)
export CARGO_TERM_COLOR ?= never

TAURI := npx --no-install tauri
# Runs a command under a virtual display when there is no real one.
HEADLESS := $(if $(or $(DISPLAY),$(WAYLAND_DISPLAY)),,xvfb-run -a -s "-screen 0 1280x800x24")

.PHONY: run test deps deps-test app lint unit ui-test e2e fuzz bundle clean

## make run: build the app and open it (under Xvfb when there is no display).
run: deps app
	$(HEADLESS) target/debug/huddle

## make test: every check and test, as CI runs it.
test: deps-test lint ui-test unit e2e fuzz
	@echo "make test: all checks passed"

deps:
	.ci/install-deps

deps-test:
	.ci/install-deps --test

# The app with its web UI embedded (a debug build: quick to compile, same behaviour).
app:
	$(TAURI) build --debug --no-bundle

lint:
	cargo fmt --all -- --check
	npm run --silent build
	cargo clippy --workspace --all-targets --locked -- -D warnings

unit:
	tests/env/start-pulse.sh
	cargo test --workspace --locked

ui-test:
	npm run --silent check
	npm test --silent

# End to end: build the app and its .deb/.rpm, then drive the real window through
# tauri-driver + WebKitWebDriver under Xvfb and check the packaged binary.
# huddle-cli comes from the test build (`cargo test --no-run`, nothing to do after `make unit`):
# built on its own it resolves other dependency features and would compile its media stack
# a second time.
e2e:
	$(TAURI) build --debug --bundles deb,rpm
	cargo test --workspace --locked --no-run --quiet
	mkdir -p target/e2e
	tests/env/start-pulse.sh
	HUDDLE_CLI=$(CURDIR)/target/debug/huddle-cli \
	  xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- node --test --test-concurrency=1 tests/e2e/

# Coverage-guided fuzzing of what the server reads from untrusted clients, bounded in time:
# the message decoder and token verifier (decode_client), and the media port's
# pre-authentication parsers — STUN peeks, network-test probes, H.264 keyframe detection
# (udp_parsers). cargo-fuzz needs nightly-only sanitizer flags; RUSTC_BOOTSTRAP lets stable
# accept them. The targets build only the protocol, token and wire crates (not the server's
# network and media stack), into the workspace's one target dir. Longer runs by hand:
# `make fuzz FUZZ_SECONDS=600`.
FUZZ_SECONDS ?= 30
FUZZ_UDP_SECONDS ?= 15
fuzz:
	mkdir -p crates/server/fuzz/corpus/decode_client crates/server/fuzz/corpus/udp_parsers
	cd crates/server/fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run decode_client \
	  --target-dir $(CURDIR)/target/fuzz \
	  corpus/decode_client seeds/decode_client -- -max_total_time=$(FUZZ_SECONDS)
	cd crates/server/fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run udp_parsers \
	  --target-dir $(CURDIR)/target/fuzz \
	  corpus/udp_parsers seeds/udp_parsers -- -max_total_time=$(FUZZ_UDP_SECONDS)

## make bundle: release installers for this machine (.deb and .rpm on Linux).
bundle: deps
	$(TAURI) build --bundles deb,rpm

clean:
	cargo clean
	rm -rf ui/dist node_modules
