# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test test-sqlite test-timeshift lint bench clean constraints

$(BIN)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]" -c constraints.txt
	touch $@

# Pin what is installed now (run after changing dependencies in pyproject.toml).
constraints: $(BIN)/.installed
	$(BIN)/pip install --quiet -e ".[dev]"
	{ sed -n '1,2p' constraints.txt; $(BIN)/pip freeze --exclude-editable | grep -vi '^servicedesk-bot'; } > constraints.new
	mv constraints.new constraints.txt

run: $(BIN)/.installed
	$(BIN)/sdbot run

test: $(BIN)/.installed
	bash .ci/system-deps.sh
	bash .ci/test-suite.sh $(BIN)

# The suite on SQLite only: the quick loop while developing.
test-sqlite: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	env -u TEST_DATABASE_URL $(BIN)/pytest -q

# The SQLite suite with the machine's clock a year ahead (libfaketime): no test may depend on
# today's date. FAKETIME_DONT_FAKE_MONOTONIC stays unset: with it every time.sleep fails.
test-timeshift: $(BIN)/.installed
	bash .ci/system-deps.sh
	env -u TEST_DATABASE_URL faketime -f +365d $(BIN)/pytest -q -p no:cacheprovider

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy

clean:
	rm -rf $(VENV) data .pytest_cache
