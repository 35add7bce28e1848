# Two commands for a fresh machine with Python >= 3.11 and make:
#   make demo   - runs the demo (kubesim + Redis + worker + beat + Flower + a local chat receiver)
#   make test   - runs lint, types, layer contracts and the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint unit bench clean

# nodewatch itself plus the simulators the tests and the demo run (kubesim/ and chatsim/ are packages of their
# own, never in nodewatch's wheel or image)
$(BIN)/nodewatch: pyproject.toml kubesim/pyproject.toml chatsim/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]' -e ./kubesim -e ./chatsim
	@touch $@

demo: $(BIN)/nodewatch
	$(BIN)/nodewatch demo $(DEMO_ARGS)

lint: $(BIN)/nodewatch
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy worker tasks kubesim chatsim beat_schedule.py
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest $(PYTEST_ARGS)

unit: $(BIN)/nodewatch
	$(BIN)/pytest tests/unit -q

bench: $(BIN)/nodewatch
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
