# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test test-sqlite lint bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

run: $(BIN)/.installed
	$(BIN)/sdbot run

test: $(BIN)/.installed
	bash .ci/system-deps.sh
	bash .ci/test-suite.sh $(BIN)

# The suite on SQLite only: the quick loop while developing.
test-sqlite: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	env -u TEST_DATABASE_URL $(BIN)/pytest -q

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) data .pytest_cache
