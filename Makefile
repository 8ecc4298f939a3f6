# The two quick-start commands (`make report`, `make test`) build everything they need
# from nothing: a virtual environment with the exact versions in requirements.lock.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
MONTH  ?=
OUT    ?= reports

.PHONY: help setup report clients test test-data browser java lint typecheck bench lab sample notebooks clean lock

help:
	@echo "make report   build the env, then the sample shop's monthly report (prints its path)"
	@echo "make clients  the sample shop as three clients (data/sample/clients.toml), one index"
	@echo "make test     build the env, then every test, ruff and mypy"
	@echo "make lab      open the notebooks in JupyterLab"
	@echo "make bench    run the benchmarks in bench/"

setup: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $@

report: $(STAMP)
	$(BIN)/aovlab report --sample --client "Sample Shop" $(if $(MONTH),--month $(MONTH)) --out $(OUT)

# Every client of a clients config (the sample shop three times), into one clients index
# whose path is the last line printed. JOBS=1 runs one client at a time.
JOBS   ?=
MONTHS ?=
clients: $(STAMP)
	$(BIN)/aovlab report --config data/sample/clients.toml --out $(OUT) $(if $(JOBS),--jobs $(JOBS)) $(if $(MONTHS),--months $(MONTHS))

# Real public data shipped inside a registry package: the CDNOW transactions in the
# lifetimes wheel (read from the wheel, never installed). Offline, its tests skip.
CDNOW := tests/.cache/Lifetimes-0.11.3-py3-none-any.whl
test-data: $(CDNOW)
$(CDNOW): | $(STAMP)
	-$(BIN)/python -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: lifetimes==0.11.3 -d tests/.cache

test: $(STAMP) test-data browser java
	$(BIN)/ruff check src tests bench tools
	$(BIN)/ruff format --check src tests bench tools
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

# tests/test_lab_offline.py drives Debian's Chromium (never `playwright install`). As root
# with apt-get, install it when missing; if that fails, go on: the test skips and says why.
browser:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing chromium for tests/test_lab_offline.py"; \
		( apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends chromium ) >/dev/null 2>&1 \
		|| echo "could not install chromium: tests/test_lab_offline.py will be skipped"; \
	fi

# tests/test_engines.py runs Spark in local mode, which needs a Java runtime (17 or later):
# Debian's, installed the same way; without it the Spark tests skip and say why.
java:
	@if ! command -v java >/dev/null && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing a Java runtime for the Spark tests in tests/test_engines.py"; \
		( apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends default-jre-headless ) >/dev/null 2>&1 \
		|| echo "could not install Java: the Spark tests in tests/test_engines.py will be skipped"; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check src tests bench tools
	$(BIN)/ruff format --check src tests bench tools

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/bench_read.py
	$(BIN)/python bench/bench_drivers.py
	$(BIN)/python bench/bench_process.py
	$(BIN)/python bench/bench_loyalty.py
	$(BIN)/python bench/bench_report.py

# Jupyter refuses to run as root unless told; containers run as root.
lab: $(STAMP)
	cd notebooks && ../$(BIN)/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root)

sample: $(STAMP)
	$(BIN)/aovlab sample --out data/sample

# Rebuild the notebooks from tools/build_notebooks.py and execute them on the sample data.
notebooks: $(STAMP)
	$(BIN)/python tools/build_notebooks.py --execute

# Regenerate the lock from the ranges in pyproject.toml (maintainers only).
lock:
	rm -rf .lockenv && $(PYTHON) -m venv .lockenv
	.lockenv/bin/pip install --quiet ".[lab,dev,spark]" hatchling
	.lockenv/bin/pip freeze --exclude-editable | grep -v '^aovlab' > requirements.lock
	rm -rf .lockenv

clean:
	rm -rf $(VENV) reports
