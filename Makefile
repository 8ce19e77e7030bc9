# Two commands on a fresh machine:
#   make run    build the index from seeds/ (if needed) and start the chat UI on http://127.0.0.1:7860
#   make test   install everything the tests need (with Debian's chromium for the UI tests), then run all of them
# Both create .venv when it is missing. torch is pinned to the local CPU wheel and
# installed first, so nothing pulls the CUDA build. The local-llm extra compiles
# llama-cpp-python once (~13 min on 2 cores, portable CPU build); pip's wheel cache
# makes every later install reuse that build.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
TORCH  := torch==2.13.0
# portable build (AVX2, no -march=native), so a cached wheel runs on any machine of this kind
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF
PYTEST_ARGS ?=
# apt-get needs root (CI runs as root); otherwise sudo
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test install install-test browser bench clean-index

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# stamp files: re-install only when pyproject.toml changes
$(VENV)/.stamp-run: pyproject.toml | $(PY)
	$(PIP) install $(TORCH)
	$(PIP) install -e ".[local-llm]"
	touch $@

$(VENV)/.stamp-test: pyproject.toml | $(PY)
	$(PIP) install $(TORCH)
	$(PIP) install -e ".[test,local-llm]"
	touch $@

# the browser the UI tests drive: Debian's chromium (never `playwright install`, which downloads)
browser:
	@command -v chromium >/dev/null 2>&1 || ($(SUDO) apt-get update && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y chromium)

install: $(VENV)/.stamp-run
install-test: $(VENV)/.stamp-test browser

run: install
	$(VENV)/bin/assistant ingest
	$(VENV)/bin/assistant serve

test: install-test
	$(PY) -m pytest $(PYTEST_ARGS)

# the quality and speed claims of the README: retrieval, every engine on every question set (with the
# LangChain RAG tutorial's row), what each rule is worth (about 2 hours on 2 cores in all)
bench: install-test
	$(PY) bench/retrieval_eval.py
	$(PY) bench/three_sets.py --engines extractive,local,tutorial
	$(PY) bench/ablation.py --engine extractive
	$(PY) bench/ablation.py --engine local --llm-cache .bench-llm-cache.json

clean-index:
	rm -rf index
