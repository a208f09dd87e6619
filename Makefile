# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

run: $(BIN)/.installed
	$(BIN)/sdbot run

test: $(BIN)/.installed
	$(BIN)/ruff check .
	env -u TEST_DATABASE_URL $(BIN)/pytest -q
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "== the suite again on PostgreSQL (TEST_DATABASE_URL) =="; \
		$(BIN)/pytest -q; \
	fi

lint: $(BIN)/.installed
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) data .pytest_cache
