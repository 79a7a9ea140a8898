# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# pyproject.toml's requires-python: a PYTHON older is refused before it makes a venv that every later run would reuse
MIN_PYTHON := 3.11
VERSION_OF := -c 'import sys; print("%d.%d" % sys.version_info[:2])'

.PHONY: install demo test lint bench clean

# An empty PYTHON (`make demo PYTHON=`, or an exported empty one, which ?= keeps) is refused first: it left the lines
# below starting with '-c' or '-m', make's ignore-errors prefix, so the version check was skipped without a word.
$(STAMP): pyproject.toml
	@if [ -z "$(strip $(PYTHON))" ]; then echo "make: PYTHON is empty: give the Python to make $(VENV) with, e.g. make demo PYTHON=python3.12, or unset PYTHON for python3" >&2; exit 1; fi
	@$(PYTHON) -c 'import sys; need = tuple(int(p) for p in "$(MIN_PYTHON)".split(".")); sys.exit(None if sys.version_info[:2] >= need else "make: $(PYTHON) is Python %d.%d, the tracker needs $(MIN_PYTHON) or newer: give make a newer one, e.g. make demo PYTHON=python3.12" % sys.version_info[:2])'
	@if [ -e $(PY) ] || [ -L $(PY) ]; then \
	    made="Python $$($(PY) $(VERSION_OF) 2>/dev/null)" || made="a Python that no longer runs"; \
	    asked="Python $$($(PYTHON) $(VERSION_OF))"; \
	    if [ "$$made" != "$$asked" ]; then \
	        echo "make: $(VENV) was made with $$made, not $(PYTHON)'s $$asked (venv keeps its Python): rm -rf $(VENV), then run make again with PYTHON=$(PYTHON)" >&2; exit 1; \
	    fi; \
	fi
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) -m tracker.demo

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

test: lint
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) tools/bench_core.py

clean:
	rm -rf $(VENV) runs .pytest_cache
