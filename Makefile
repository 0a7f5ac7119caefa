# Puhui — `make` alone prints this help. The two commands that matter:
#   make run    a local node on embedded defaults (starts local Kafka first)
#   make test   sets up everything on a fresh machine, then runs the whole suite

SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
UV_VERSION := 0.13.9
VENV := .venv
PY := $(VENV)/bin/python
UV := $(PYTHON) -m uv
INFRA := $(PYTHON) deploy/local/infra.py
export UV_PYTHON_DOWNLOADS := never

.PHONY: help setup tools gateway docs proto proto-check api-check up down status run test test-unit lint fmt bench fuzz clean

help: ## show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(PY): pyproject.toml uv.lock setup.py
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet "uv==$(UV_VERSION)" \
		|| $(PYTHON) -m pip install --quiet --break-system-packages "uv==$(UV_VERSION)"
	$(UV) sync --frozen
	@touch $(PY)

setup: $(PY) ## create .venv from uv.lock (installs uv if missing)

tools: setup gateway ## build pinned kustomize and the gateway (Go module proxy) into .state/bin
	$(PY) tools/kustomize.py

gateway: setup ## build the HTTP gateway (gateway/, Go) and its OpenAPI and reference pages into .state
	$(PY) -m puhui.kit.gateway build

docs: setup ## regenerate the config reference, metrics catalogue and generated deploy files
	$(PY) tools/configdoc.py
	$(PY) tools/metricsdoc.py
	$(PY) deploy/compose/generate.py
	$(PY) deploy/k8s/generate.py

proto: setup ## regenerate Python code from proto/ into services/
	$(PY) tools/protogen.py

proto-check: setup ## fail if committed generated code drifted from proto/
	$(PY) tools/protogen.py --check

api-check: setup ## buf lint, and buf breaking against the previous main (PUHUI_API_BASE overrides)
	$(PY) tools/api_check.py

up: ## start Kafka 4 (Maven jars), PostgreSQL 15 and Redis 7 on loopback (idempotent)
	$(INFRA) up

down: ## stop what `make up` started
	$(INFRA) down

status: ## show the local infrastructure
	$(INFRA) status

run: setup ## run the local federation (hub 000000 + 440000 + 320000, SQLite, local Kafka); Ctrl-C stops
	$(INFRA) up --only kafka
	$(VENV)/bin/puhui run

test: setup up tools lint ## set up, start infrastructure, lint, run the whole suite
	$(PY) tools/protogen.py --check
	$(PY) tools/api_check.py
	$(VENV)/bin/pytest

test-unit: setup ## unit tests only (no infrastructure)
	$(VENV)/bin/pytest -m "not integration"

lint: setup ## ruff (lint + format check) and mypy, generated code excluded
	$(VENV)/bin/ruff check services bench tools tests deploy
	$(VENV)/bin/ruff format --check services bench tools tests deploy
	@mkdir -p .state/mypy && ln -sfn ../../services .state/mypy/puhui
	MYPYPATH=.state/mypy $(VENV)/bin/mypy -p puhui

fmt: setup ## apply ruff fixes and formatting
	$(VENV)/bin/ruff check --fix services bench tools tests deploy
	$(VENV)/bin/ruff format services bench tools tests deploy

fuzz: setup up ## fuzz every RPC of the four services (>= 10,000 generated requests each) into bench/results/fuzz.json
	$(PY) -m tests.fuzz --per-service 10000

bench: setup up ## run every benchmark (long: the data bench loads 1,000,000 records); results in bench/results/
	$(PY) -m bench.grpc_read
	$(PY) -m bench.telemetry_overhead
	$(PY) -m bench.gateway_read
	$(PY) bench/identity_tokens.py
	$(PY) bench/catalog_search.py
	$(PY) bench/feedback_ratings.py
	$(PY) bench/data_patents.py
	$(PY) bench/federation_lag.py
	$(PY) bench/revocation_propagation.py

clean: ## remove the venv and local state (stop infrastructure first: make down)
	rm -rf $(VENV) .state
