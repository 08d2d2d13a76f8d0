# The README's commands. Each installs what it needs first: a fresh clone needs nothing but python3.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint bench e2e system-deps clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev,ray]'
	touch $(STAMP)

system-deps:
	bash scripts/install-system-deps.sh

run: $(STAMP)
	$(VENV)/bin/normscope serve $(ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: $(STAMP) system-deps lint
	$(VENV)/bin/pytest

e2e: $(STAMP) system-deps
	$(VENV)/bin/pytest tests/e2e

bench: $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev,ray,bench]'
	$(PY) bench/probe.py
	$(PY) bench/gpu.py
	$(PY) bench/launch.py
	$(PY) bench/fanout.py --clients 200
	$(PY) bench/landscape.py
	$(PY) bench/watch.py
	$(PY) bench/follow.py
	$(PY) bench/export.py
	$(PY) bench/sweep.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
