# Two commands for a fresh machine:  `make run`  and  `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TS     := clients/typescript
# componentize-js, which builds JavaScript components against wit/ (tests, docs).
GUESTS := tools/guests
BASELINE := protos/baseline.binpb

.PHONY: run test install generate check-generated lint breaking baseline typecheck-ts pytest browser clean

# The virtualenv is rebuilt when the project's dependency files change.
$(STAMP): pyproject.toml $(TS)/package.json $(TS)/package-lock.json $(GUESTS)/package.json $(GUESTS)/package-lock.json
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	npm ci --no-audit --no-fund --loglevel=error --prefix $(TS)
	npm ci --no-audit --no-fund --loglevel=error --prefix $(GUESTS)
	touch $@

install: $(STAMP)

run: $(STAMP)
	$(BIN)/extplane up

# Regenerate every stub from protos/ (Python and TypeScript).
generate: $(STAMP)
	$(BIN)/python tools/codegen.py

check-generated: $(STAMP)
	$(BIN)/python tools/codegen.py --check

lint: $(STAMP)
	$(BIN)/python tools/codegen.py --stage
	$(BIN)/buf lint
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/mypy tools/codegen.py bench/*.py

breaking: $(STAMP)
	$(BIN)/python tools/codegen.py --stage
	$(BIN)/buf breaking protos --against $(BASELINE)

# Record the current contracts as the compatibility baseline (a release step).
baseline: $(STAMP)
	$(BIN)/python tools/codegen.py --stage
	$(BIN)/buf build protos -o $(BASELINE)

typecheck-ts: $(STAMP)
	npm run --silent --prefix $(TS) typecheck

# The console's browser tests drive Debian's Chromium and chromedriver: installed here
# when missing (apt, as root or through sudo), never downloaded by a test tool.
browser:
	sh tools/browser.sh

pytest: $(STAMP) browser
	$(BIN)/pytest

test: check-generated lint breaking typecheck-ts pytest

clean:
	rm -rf $(VENV) build $(TS)/node_modules
