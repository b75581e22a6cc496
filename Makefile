# vidsage: `make demo` runs the offline demo, `make test` runs the test suite.
# Both do their own set-up on a fresh machine: Debian packages, a virtualenv, the locked dependencies.

PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | sha1sum | cut -c1-12)
APT_PACKAGES := espeak-ng ffmpeg opencv-doc
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test test-all setup system-packages lock clean

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
	touch $@

# Re-lock base + test dependencies (pip-tools sees the local torch wheels; uv and poetry do not).
lock: $(STAMP)
	$(PY) -m pip install --quiet pip-tools
	$(VENV)/bin/pip-compile --quiet --extra test --strip-extras --no-emit-index-url --no-emit-find-links \
		--output-file requirements.lock pyproject.toml

clean:
	rm -rf $(VENV) build .pytest_cache
