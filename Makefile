# The README's commands. Each installs what it needs first: a fresh clone needs nothing but python3.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# Two workers for two cores; tests that share a Ray cluster go to one worker (xdist_group), and a test
# marked `alone` (timing against a bound) runs with no other beside it (tests/conftest.py). Groups keep
# the collection's order (browser tests last), not xdist's largest-first. With workers forked from a fork
# server, the full suite waits more than it computes: two workers took 1034 s against ~1450 s in one
# process with spawned workers; four took 908 s but missed timing bounds (four browsers on two cores).
PARALLEL := -n 2 --dist loadgroup --no-loadscope-reorder

.PHONY: run test check lint bench e2e system-deps clean

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
	$(VENV)/bin/pytest $(PARALLEL)

# The edit-test loop's quick tier: lint and the unit tests that do not train for tens of seconds.
check: $(STAMP) lint
	$(VENV)/bin/pytest $(PARALLEL) -q -m "not slow" tests/unit

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
	$(PY) bench/room.py
	$(PY) bench/export.py
	$(PY) bench/sweep.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
