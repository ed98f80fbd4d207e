# mpm-h101: two commands do everything on a machine with Python 3.11 -- `make report`, `make test`.
# The environment (.venv, from the pinned requirements.lock) is created on first use.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
MPM := $(VENV)/bin/mpm
PARAMS ?= params/demo.yaml
STAMP := $(VENV)/.installed

# Keep HOME clean and everything offline-friendly: Jupyter, IPython and matplotlib state lives
# in the project (ignored by git).
LOCAL := $(CURDIR)/.jupyter
export JUPYTER_CONFIG_DIR := $(LOCAL)/config
export JUPYTER_DATA_DIR := $(LOCAL)/data
export JUPYTER_RUNTIME_DIR := $(LOCAL)/runtime
export JUPYTER_PLATFORM_DIRS := 1
export IPYTHONDIR := $(LOCAL)/ipython
export MPLCONFIGDIR := $(LOCAL)/matplotlib
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: report test lab data derive notebooks lock pin clean distclean env help dirs

help:
	@echo "make report [PARAMS=params/demo.yaml]  run the whole pipeline -> outputs/<params>/report/index.html"
	@echo "make test                              run the test suite"
	@echo "make lab                               JupyterLab on notebooks/ with the project environment"
	@echo "make lock [PARAMS=...]                 lock a run: later reports refuse changed inputs/parameters/packages"
	@echo "make data                              regenerate the synthetic demo SDTM in data/demo"
	@echo "make clean                             remove generated outputs"

env: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (Python 3.11 is required)"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' || \
	  { echo "error: Python 3.11 is required, found $$($(PYTHON) --version)"; exit 1; }
	@echo "Creating $(VENV) from requirements.lock (about a minute, once)..."
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --progress-bar off --no-input -r requirements.lock > $(VENV)/install.log 2>&1 || \
	  { grep -v "is ignored: it is neither" $(VENV)/install.log; echo "error: installing requirements.lock failed"; exit 1; }
	@$(PY) -m pip check >/dev/null || { $(PY) -m pip check; exit 1; }
	@$(PY) -m pip install --progress-bar off --no-input --no-deps -e . >> $(VENV)/install.log 2>&1 || \
	  { grep -v "is ignored: it is neither" $(VENV)/install.log; echo "error: installing mpmlib failed"; exit 1; }
	@$(PY) -c 'import mpmlib, pandas, lifelines, great_expectations, papermill' || { echo "error: environment incomplete"; exit 1; }
	@mkdir -p $(JUPYTER_CONFIG_DIR) $(JUPYTER_DATA_DIR) $(JUPYTER_RUNTIME_DIR) $(IPYTHONDIR) $(MPLCONFIGDIR)
	@touch $(STAMP)

dirs:
	@mkdir -p $(JUPYTER_CONFIG_DIR) $(JUPYTER_DATA_DIR) $(JUPYTER_RUNTIME_DIR) $(IPYTHONDIR) $(MPLCONFIGDIR)

# Incremental: `mpm report` writes outputs/<run>/report.d listing everything the report depends on
# (parameters, lock, inputs, notebooks, code, requirements.lock), so a rerun with nothing changed does
# nothing; inside a run, notebooks whose own inputs are unchanged are carried over, not executed.
RUN := $(basename $(notdir $(PARAMS)))
REPORT_INDEX := outputs/$(RUN)/report/index.html

report: $(REPORT_INDEX)

$(REPORT_INDEX): $(STAMP) | dirs
	MPLBACKEND=Agg $(MPM) report --params $(PARAMS)

-include outputs/$(RUN)/report.d

derive: $(STAMP) dirs
	$(MPM) derive --params $(PARAMS)

# the suite on every core (pytest-xdist); a module's tests stay in one worker, so module fixtures
# (one full report per module) run once. TEST_JOBS=1 runs it in one process.
TEST_JOBS ?= auto
test: $(STAMP) dirs
	MPLBACKEND=Agg $(PY) -m pytest -q -n $(TEST_JOBS) --dist loadfile

lab: $(STAMP) dirs
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks --ServerApp.open_browser=False

data: $(STAMP)
	$(MPM) synth --n 40 --seed 20261124 --out data/demo

# Notebooks are edited as .py (jupytext percent format) or in JupyterLab; keep the pair in step.
notebooks: $(STAMP)
	$(VENV)/bin/jupytext --sync notebooks/*.py

# Lock an analysis: input hashes, parameters, packages and commit into params/<run>.lock.json;
# `make report PARAMS=...` then refuses to run on anything different.
lock: $(STAMP) dirs
	$(MPM) lock --params $(PARAMS)

# Re-pin requirements.lock from pyproject.toml (needs network; uv is installed into the venv).
pin: $(STAMP)
	$(PY) -m pip install --quiet uv
	$(VENV)/bin/uv pip compile --python-version 3.11 pyproject.toml --extra dev \
	  -o requirements.lock --no-header --annotation-style line

clean:
	find outputs -mindepth 1 -maxdepth 1 ! -name .gitkeep -exec rm -rf {} +
	rm -rf .pytest_cache

distclean: clean
	rm -rf $(VENV) $(LOCAL)
