# Quick start: `make test` (install + test suite), `make demo` (install + run the main job).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: test demo install lint clean

install: $(STAMP)

# The venv is (re)built when the package's dependencies change; torch/torchaudio come pinned from
# constraints.txt (the pair that imports and runs on the CPU and GPU machines).
# The reference codecs of `affectcodec eval --reference` and `bench` (Opus, Codec2) are Debian's
# command-line tools, installed when make runs as root; without them those rows are skipped.
$(STAMP): pyproject.toml constraints.txt
	@command -v opusenc >/dev/null 2>&1 && command -v c2enc >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] \
	  && command -v apt-get >/dev/null 2>&1 && { apt-get install -y -qq opus-tools codec2 >/dev/null 2>&1 \
	     || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq opus-tools codec2 >/dev/null 2>&1; }; }; } \
	  || echo "opus-tools / codec2 could not be installed: the reference-codec rows will be skipped"
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev]"
	@# numba compiles the kernels of ViSQOL and librosa on first use (about a minute) and caches
	@# them in the venv: do it once here rather than in the first evaluation or test run.
	OMP_NUM_THREADS=1 $(PY) -c "import numpy as np; from affectcodec import metrics; \
	  from affectcodec.judges.utterance_functionals import utterance_functionals as f; \
	  t = np.arange(32000) / 16000; x = (0.3 * np.sin(2 * np.pi * 150 * t) * (1 + np.sin(2 * np.pi * 3 * t)) \
	  + 0.01 * np.random.default_rng(0).standard_normal(t.size)).astype(np.float32); \
	  metrics.visqol(x, x); metrics.speaker_similarity(x, x); f(x)"
	touch $(STAMP)

# Two test processes, one per core; a test file's tests stay in one process (--dist loadfile), so
# its module fixtures (a fitted debug run, a trained tiny model) are built once.
test: $(STAMP)
	$(PY) -m pytest -q -n 2 --dist loadfile

# The demo speaks with espeak-ng (Debian package) when it can install it; without it, the demo
# falls back to its built-in formant voice.
demo: $(STAMP)
	@command -v espeak-ng >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	  && { apt-get install -y -qq espeak-ng >/dev/null 2>&1 \
	       || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq espeak-ng >/dev/null 2>&1; }; }; } \
	  || echo "espeak-ng could not be installed: the demo uses its built-in voice"
	$(VENV)/bin/affectcodec demo

lint: $(STAMP)
	$(VENV)/bin/ruff check affectcodec tests

clean:
	rm -rf $(VENV) demo_out .pytest_cache
