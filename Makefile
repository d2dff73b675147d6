# The two commands a newcomer needs:
#   make demo   -- set up, then ship sanitized logs to an embedded CloudWatch and read them back
#   make test   -- set up, then every check CI runs
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python

.PHONY: demo test quick lint typecheck pytest check-logs docs bench clean test-pythons

# pip 25.1 or newer reads the development tools ([dependency-groups]).
$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Everything the checks need. The distribution was called `safelog` before it
# became `safelog-structlog`: an old editable install of it would register
# the pytest plugin twice, so it goes first.
$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	-$(PY) -m pip uninstall --quiet --yes safelog 2>/dev/null
	$(PY) -m pip install --quiet -e . --group dev
	touch $@

# The demo needs the library and a local CloudWatch (moto), nothing else.
$(VENV)/.demo-installed: pyproject.toml | $(VENV)/bin/python
	-$(PY) -m pip uninstall --quiet --yes safelog 2>/dev/null
	$(PY) -m pip install --quiet -e '.[moto]'
	touch $@

demo: $(VENV)/.demo-installed
	$(PY) examples/quickstart.py

test: lint typecheck check-logs pytest test-pythons docs

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check src tests examples benchmarks
	$(VENV)/bin/ruff format --check src

# safelog's own static check over its code and examples (issue 6).
check-logs: $(VENV)/.installed
	$(VENV)/bin/safelog check src examples

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy

# The suite on every core (pytest-xdist). --dist loadfile keeps a test
# module on one worker, so a module's servers start once.
PYTEST_WORKERS ?= auto
PYTEST_PARALLEL = -n $(PYTEST_WORKERS) --dist loadfile

pytest: $(VENV)/.installed
	$(PY) -m pytest $(PYTEST_PARALLEL)

# The inner loop: lint, then the suite on one Python, in parallel, stopping
# at the first failure. `make test` runs everything CI runs.
quick: $(VENV)/.installed
	$(VENV)/bin/ruff check src tests examples benchmarks
	$(PY) -m pytest -q -x -p no:cacheprovider $(PYTEST_PARALLEL)

docs: $(VENV)/.installed
	$(VENV)/bin/mkdocs build --strict

bench: $(VENV)/.installed
	$(PY) benchmarks/bench_chain.py

# The test suite on the other Pythons the metadata claims, each in its own
# .venv-<version> with the `test` extra; a version not on the machine is
# skipped. Every version runs; the target fails if any of them failed.
TEST_PYTHONS ?= 3.10 3.12 3.13
PYENV_ROOT   ?= $(HOME)/.pyenv
# The interpreter for version $(1): a pyenv build, else python$(1) on PATH if it runs.
pyenv_python = $(lastword $(sort $(wildcard $(PYENV_ROOT)/versions/$(1).*/bin/python)))
path_python  = $(shell python$(1) -c 'import sys; print(sys.executable)' 2>/dev/null)
python_for   = $(or $(call pyenv_python,$(1)),$(call path_python,$(1)))

.venv-%/.installed: pyproject.toml
	$(call python_for,$*) -m venv .venv-$*
	.venv-$*/bin/python -m pip install --quiet --upgrade pip
	-.venv-$*/bin/python -m pip uninstall --quiet --yes safelog 2>/dev/null
	.venv-$*/bin/python -m pip install --quiet -e . --group test
	touch $@

test-python-%:
	@if [ -z "$(call python_for,$*)" ]; then \
	  echo "test-pythons: Python $* not found, skipped"; \
	else \
	  $(MAKE) --no-print-directory .venv-$*/.installed && \
	  echo "test-pythons: Python $*" && \
	  .venv-$*/bin/python -m pytest -q -p no:cacheprovider $(PYTEST_PARALLEL); \
	fi

test-pythons:
	@failed=; for v in $(TEST_PYTHONS); do \
	  $(MAKE) --no-print-directory test-python-$$v || failed="$$failed $$v"; \
	done; \
	if [ -n "$$failed" ]; then echo "test-pythons: failed on$$failed"; exit 1; fi

clean:
	rm -rf $(VENV) .venv-*/ .pytest_cache .mypy_cache .ruff_cache .hypothesis site
