# make demo      serve the demo application on http://$(HOST):$(PORT)/
#                (database $(DB))
# make test      run the tests, naming each test as it runs
# make coverage  run the tests measuring line coverage of src/ (the
#                processes they start included); fails below the floor
# make clean     remove the virtual environment and what the tests leave
#
# Each creates the virtual environment $(VENV) first, with the extra it
# needs. Variables: make demo PORT=8081 DB=file://other/Data.fs, etc.

PYTHON ?= python3
VENV ?= .venv
DB ?= file://var/Data.fs
HOST ?= 127.0.0.1
PORT ?= 8080

# pip prefers an older binary wheel to building a newer release from
# source; setuptools' notes on editable installs are not for newcomers
PIP_INSTALL = PYTHONWARNINGS=ignore::UserWarning $(VENV)/bin/pip install \
    -q --prefer-binary

.PHONY: demo test coverage clean optional-tools

demo: $(VENV)/.installed-app
	@$(VENV)/bin/python -m cybertools.tracking.demo.server --db '$(DB)' \
	    --host '$(HOST)' --port '$(PORT)'

test: $(VENV)/.installed-test optional-tools
	$(VENV)/bin/zope-testrunner --test-path=src -vv

coverage: $(VENV)/.installed-test optional-tools
	$(VENV)/bin/coverage erase
	$(VENV)/bin/coverage run -m zope.testrunner --test-path=src -vv
	@$(VENV)/bin/coverage combine -q
	$(VENV)/bin/coverage report

# What the Makefile cannot install: a Python with venv and ensurepip.
$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
	    2>/dev/null || { echo "make: needs Python 3.10 or newer as" \
	    "$(PYTHON) (Debian package python3), or make PYTHON=..." >&2; \
	    exit 1; }
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { echo "make:" \
	    "$(PYTHON) cannot create virtual environments: install Debian's" \
	    "python3-venv package (apt-get install python3-venv)" >&2; exit 1; }
	@echo "make: creating the virtual environment $(VENV)"
	@$(PYTHON) -m venv $(VENV) && $(VENV)/bin/pip install -q --upgrade \
	    pip setuptools || { rm -rf $(VENV); exit 1; }

# Installs the extra again when the project metadata changes. Every
# package with C code has binary wheels for x86-64 Linux, so no compiler
# is needed there; should pip build one from source, its messages say so.
$(VENV)/.installed-%: pyproject.toml | $(VENV)/bin/python
	@echo "make: installing the package with its $* extra into $(VENV)"
	@$(PIP_INSTALL) -e '.[$*]' || { echo "make: installing the $* extra" \
	    "failed (pip's messages above); a package built from source needs" \
	    "Debian's build-essential and python3-dev" >&2; exit 1; }
	@touch $@

# The suite skips the tests whose servers are missing, and says why.
optional-tools:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
	    || command -v initdb >/dev/null || echo "make: no PostgreSQL" \
	    "server (Debian package postgresql): the RelStorage test will be" \
	    "skipped"
	@command -v chromium >/dev/null && command -v chromedriver \
	    >/dev/null || echo "make: no Chromium (Debian packages chromium" \
	    "and chromium-driver): the real-browser test will be skipped"

clean:
	rm -rf $(VENV) build dist src/*.egg-info .coverage .coverage.* htmlcov
	find src benchmarks -name __pycache__ -type d -prune -exec rm -rf {} +
