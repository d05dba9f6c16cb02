# The two commands a user needs: `make demo` and `make test`. Both install first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# A CPU build that pip finds locally on Linux; on a Mac PyPI's default wheel has MPS.
TORCH_SPEC ?= torch==2.13.0
STAMP := $(VENV)/.installed

.PHONY: install demo test bench clean

install: $(STAMP)

$(STAMP): pyproject.toml Makefile web/package-lock.json
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH_SPEC)"
	$(BIN)/python -m pip install -q -e '.[train,dev,web]'
	# bytecode now, as a regular install writes it (an editable one leaves it to the first run,
	# and with PYTHONDONTWRITEBYTECODE set every run would compile intone again)
	$(BIN)/python -m compileall -q src
	# transformers.js for the ONNX export's chat page (web/package-lock.json); no install scripts run
	if command -v npm >/dev/null; then npm ci --prefix web --ignore-scripts --no-audit --no-fund --loglevel=error; \
	else echo "npm not found: the ONNX chat page will lack web/ (install Node.js, then make install)"; fi
	touch $(STAMP)

demo: install
	bash scripts/demo.sh

test: install
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python bench/lint_speed.py

clean:
	rm -rf $(VENV) .intone_cache .pytest_cache build *.egg-info src/*.egg-info
