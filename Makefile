# make demo: serve the demo application on http://127.0.0.1:8080/ (data in
#            var/Data.fs); make test: run the tests; make clean.
# Both create a virtual environment in .venv first.

PYTHON ?= python3
VENV ?= .venv
DB ?= file://var/Data.fs
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: demo test clean

demo: $(VENV)/.installed-app
	$(VENV)/bin/python -m cybertools.tracking.demo.server --db $(DB) --host $(HOST) --port $(PORT)

test: $(VENV)/.installed-test
	$(VENV)/bin/zope-testrunner --test-path=src

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip setuptools

# reinstall when the project metadata changes
$(VENV)/.installed-%: pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/pip install -q -e '.[$*]'
	touch $@

clean:
	rm -rf $(VENV) build dist src/*.egg-info .coverage htmlcov
	find src benchmarks -name __pycache__ -type d -prune -exec rm -rf {} +
