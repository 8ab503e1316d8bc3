# Two entry points: `make demo` and `make test`. Both build the virtual
# environment and resolve the JVM jars on first use.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
JARS_STAMP := $(VENV)/.jars
CONF ?= conf/local.yaml
PRESET ?= demo
PYTEST_ARGS ?=

.PHONY: demo test install jars browser bench clean

install: $(STAMP)

$(STAMP): setup.py
	@deploy/check-requirements.sh
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip wheel
	$(PY) -m pip install --quiet -e ".[dev,ml,gnn]"
	@touch $(STAMP)

# Ivy resolves the Delta (and, where served, GraphFrames) jars from Maven
# Central into ~/.cache/campaign-revenue/ivy, once per machine.
jars: $(JARS_STAMP)

$(JARS_STAMP): $(STAMP) $(CONF)
	$(PY) -m campaign_revenue.spark --conf $(CONF)
	@touch $(JARS_STAMP)

demo: jars
	$(VENV)/bin/campaign-revenue demo --conf $(CONF) --preset $(PRESET)

# The report test drives Debian's Chromium (installed here when run as root).
browser:
	@deploy/check-browser.sh

test: jars browser
	$(PY) -m pytest $(PYTEST_ARGS)

bench: jars
	$(PY) bench/ingest.py

clean:
	rm -rf lakehouse .pytest_cache
