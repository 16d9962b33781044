# Every target makes .venv if it is missing, so a fresh clone needs only Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test

.PHONY: demo test test-fast lint bench soak clean systemd-tools mosquitto-tools browser-tools sparkplug-proto ns0 arm64-tools arm64-check

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUN_STAMP): $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(TEST_STAMP): $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(RUN_STAMP)

demo: $(RUN_STAMP)
	$(BIN)/edge-agent demo

# node-opcua for the interop tests (tests/interop): reinstalled whenever its lock file changes.
INTEROP_STAMP := tests/interop/node_modules/.installed

$(INTEROP_STAMP): tests/interop/package.json tests/interop/package-lock.json
	cd tests/interop && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# systemd-analyze, systemd-sysusers and systemd-tmpfiles for the service's tests (tests/systemd), from the
# distribution's systemd package when they are missing (Debian/Ubuntu; as root, else through sudo).
systemd-tools:
	@command -v systemd-analyze >/dev/null || { \
		sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$sudo apt-get update -qq && \
		$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd; }

# mosquitto, the MQTT broker the Sparkplug tests (tests/sparkplug) start on free loopback ports, from the
# distribution's package when it is missing (Debian/Ubuntu; as root, else through sudo). Debian installs
# it as /usr/sbin/mosquitto, which a normal user's PATH often lacks.
mosquitto-tools:
	@command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || { \
		sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$sudo apt-get update -qq && \
		$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mosquitto; }

# Chromium, the browser the page tests (tests/support/browser.py) drive through Playwright, from the
# distribution's package when it is missing (Debian/Ubuntu; as root, else through sudo). Playwright's own
# browser download is never used: it needs a host that the CI's network does not reach.
browser-tools:
	@[ -x /usr/bin/chromium ] || { \
		sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$sudo apt-get update -qq && \
		$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; }

# debootstrap, qemu's user-mode emulators and systemd-nspawn for `make arm64-check`, from the distribution's
# packages when they are missing (Debian/Ubuntu; as root, else through sudo).
arm64-tools:
	@command -v debootstrap >/dev/null && [ -e /usr/lib/binfmt.d/qemu-aarch64.conf ] && \
		command -v systemd-nspawn >/dev/null || { \
		sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$sudo apt-get update -qq && \
		$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			debootstrap qemu-user-static systemd-container; }

# The agent on Debian arm64 (Raspberry Pi OS's base) under qemu's emulation: install, check, demo, smoke
# tests, an image's first boot (image/arm64_check.py). Root file systems are cached in .cache/arm64
# (ARM64_CACHE); ARM64_SUITES="bookworm trixie" checks Debian 13 too.
ARM64_SUITES ?= bookworm
arm64-check: $(TEST_STAMP) arm64-tools
	sudo=$$([ "$$(id -u)" = 0 ] || echo "sudo --preserve-env=ARM64_CACHE"); \
		$$sudo $(BIN)/python -m image.arm64_check $(addprefix --suite ,$(ARM64_SUITES))

test: $(TEST_STAMP) $(INTEROP_STAMP) systemd-tools mosquitto-tools browser-tools
	$(BIN)/python -m pytest -n 2 --dist loadfile

# The inner loop: everything but the interop, systemd and slow tests (tests/conftest.py marks them).
test-fast: $(TEST_STAMP)
	$(BIN)/python -m pytest -n 4 --dist loadfile -m "not interop and not systemd and not slow"

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(TEST_STAMP) mosquitto-tools
	$(BIN)/python bench/run_all.py

soak: $(TEST_STAMP)
	$(BIN)/python bench/soak.py --minutes 10

# Derives the namespace-0 node lists of opcua.address_space micro and standard from the installed asyncua
# (edge_agent/opcua/ns0_keep_*.json) and the micro nodes' items (ns0_items_micro.pickle); again after every change of asyncua's version.
ns0: $(RUN_STAMP)
	$(BIN)/python -m edge_agent.opcua.ns0_subset

# Regenerates edge_agent/sparkplug/sparkplug_b_pb2.py(i) from sparkplug_b.proto with protoc 35, in a throwaway venv.
sparkplug-proto:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(PYTHON) -m venv "$$tmp/venv" && \
	"$$tmp/venv/bin/python" -m pip install --quiet 'grpcio-tools>=1.85,<1.86' && \
	"$$tmp/venv/bin/python" -m grpc_tools.protoc -I . --python_out=. --pyi_out=. \
		edge_agent/sparkplug/sparkplug_b.proto

clean:
	rm -rf $(VENV) build *.egg-info tests/interop/node_modules
