# The two commands of the README:
#   make run    simulate configs/coba.toml into coba.h5 and print the summary
#   make test   the whole test suite: CPU and GPU backends (any Vulkan/Metal/DX12 adapter, or
#               Mesa's software Vulkan without a GPU), HDF5 read back from Python, the browser
#               test of the demo, formatting and lints
# Each first installs what it needs and is missing (Debian/Ubuntu packages through apt-get; on
# other systems it names what to install: see the README).

SHELL := /bin/bash
.ONESHELL:
.SHELLFLAGS := -eu -o pipefail -c

# Debian package, and the command or file that shows it is there.
HDF5 := libhdf5-dev:/usr/include/hdf5/serial/hdf5.h pkg-config:pkg-config
VULKAN := mesa-vulkan-drivers:/usr/share/vulkan/icd.d/lvp_icd.*.json
TEST_TOOLS := chromium:chromium nodejs:node npm:npm
PYTHON_PACKAGES := h5py numpy pandas matplotlib libsonata
PYENV := target/pyenv

.PHONY: run test deps-run deps-test

run: deps-run
	cargo run --release -- run configs/coba.toml -o coba.h5 --force

test: deps-test
	# GPU tests run on whatever adapter exists (lavapipe without a GPU) and fail, not skip,
	# when there is none; Python and browser checks fail, not skip, when their tools are missing.
	export LIFSIM_REQUIRE_GPU=1 NODEVICE_SELECT=1 CI=$${CI:-true}
	# Test binaries list GPUs themselves: keep libwayland's "XDG_RUNTIME_DIR is invalid" out of
	# the log where the variable is unset (lifsim sets it for itself, see src/main.rs).
	export XDG_RUNTIME_DIR="$${XDG_RUNTIME_DIR:-$${TMPDIR:-/tmp}}"
	export PATH="$(CURDIR)/$(PYENV)/bin:$$PATH"
	cargo test --all-targets
	cargo fmt --all -- --check
	cargo clippy --all-targets -- -D warnings

deps-run:
	@$(call install,$(HDF5))

deps-test:
	@$(call install,$(HDF5) $(VULKAN) $(TEST_TOOLS))
	# Python packages for the h5py/libsonata checks and examples/analysis.py, in a venv.
	if ! $(PYENV)/bin/python -c 'import h5py, pandas, matplotlib, libsonata' 2>/dev/null; then
		python3 -m venv $(PYENV) || { $(call install,python3-venv:/nonexistent); python3 -m venv $(PYENV); }
		$(PYENV)/bin/pip install --quiet --disable-pip-version-check $(PYTHON_PACKAGES)
	fi
	# playwright-core drives the system's Chromium in the demo's browser test.
	if [ -f tests/browser/package-lock.json ] && [ ! -d tests/browser/node_modules ]; then
		(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
	fi

# Install the packages of $(1) (package:probe pairs) whose probe, a command or a path, is missing.
define install
	missing=""
	for pair in $(1); do
		package="$${pair%%:*}"; probe="$${pair#*:}"
		if [ "$${probe:0:1}" = / ]; then compgen -G "$$probe" >/dev/null || missing="$$missing $$package"
		else command -v "$$probe" >/dev/null || missing="$$missing $$package"; fi
	done
	if [ -n "$$missing" ]; then
		if command -v apt-get >/dev/null; then
			sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo
			echo "installing:$$missing"
			$$sudo apt-get update -qq
			DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing >/dev/null
		else
			echo "not a Debian/Ubuntu system: make sure the equivalents of$$missing are installed (see the README)" >&2
		fi
	fi
endef
