# Quick start: `make test` (install + test suite), `make demo` (install + run the main job).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: test demo install lint clean

install: $(STAMP)

# The venv is (re)built when the package's dependencies change; torch/torchaudio come pinned from
# constraints.txt (the pair that imports and runs on the CPU and GPU machines).
$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q

demo: $(STAMP)
	$(PY) -m affectcodec.demo

lint: $(STAMP)
	$(VENV)/bin/ruff check affectcodec tests

clean:
	rm -rf $(VENV) demo_out .pytest_cache
