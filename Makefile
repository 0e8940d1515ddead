# Developer tasks. `make demo` and `make test` are the README's two commands.
VENV := .venv
BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: setup setup-test demo test test-fast bench force-model lint fmt

setup:
	scripts/setup.sh

setup-test:
	scripts/setup.sh --test

demo: setup
	scripts/demo.sh

test: setup-test
	$(BIN)/pytest

test-fast: setup
	$(BIN)/pytest -m "not slow"

bench: setup
	scripts/bench.sh

# A model fine-tuned on the hand-written audited records, its stacker fitted on unread blind batches (docs/model.md)
force-model: setup
	scripts/force_model.sh

lint:
	$(BIN)/ruff check src tests benchmarks training
	$(BIN)/ruff format --check src tests benchmarks training

fmt:
	$(BIN)/ruff format src tests benchmarks training
	$(BIN)/ruff check --fix src tests benchmarks training
