# Two commands on a fresh machine:
#   make run    build the index from seeds/ (if needed) and start the assistant
#   make test   install everything the tests need, then run all of them
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

.PHONY: run test install install-test bench clean-index

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

install: $(VENV)/.stamp-run
install-test: $(VENV)/.stamp-test

run: install
	$(VENV)/bin/assistant ingest
	$(VENV)/bin/assistant chat

test: install-test
	$(PY) -m pytest $(PYTEST_ARGS)

bench: install-test
	$(PY) bench/retrieval_eval.py
	$(PY) bench/abstention_sweep.py
	$(PY) bench/llm_vs_tutorial.py

clean-index:
	rm -rf index
