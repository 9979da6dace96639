# Every routine task has one name here. `make help` lists them.
SHELL := /bin/sh
export PATH := $(HOME)/.local/bin:$(PATH)
UV := uv run --frozen
PORT ?= 8000
FINANCE_RULES ?= finance_approval/rules.example.toml
FUZZ_EXAMPLES ?= 200

.PHONY: help setup prerequisites dev stack test unit fuzz lint format typecheck migrate asyncapi finance bench chaos dlq-list dlq-replay alerts-test kubernetes kubernetes-alerts prometheus clean

help:  ## this list
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

setup:  ## install uv (if missing) and the locked dependencies
	@./scripts/bootstrap.sh

dev: setup  ## run the embedded default on 127.0.0.1:$(PORT)
	$(UV) tollgate dev --port $(PORT)

stack: setup  ## run the distributed system (PostgreSQL, RabbitMQ, two billing replicas)
	$(UV) tollgate stack --port $(PORT)

test: setup prerequisites lint typecheck  ## lint, type-check and run the whole test suite
	$(UV) pytest

prerequisites:  ## install (as root, with apt-get) or name what the tests need: PostgreSQL, RabbitMQ, Chromium, promtool
	@./scripts/prerequisites.sh

unit: setup  ## only the unit tests (no PostgreSQL or RabbitMQ needed)
	$(UV) pytest tests/unit

fuzz: setup  ## the API fuzz tests with many more examples (FUZZ_EXAMPLES per operation and mode; FUZZ_SEED=n replays)
	TOLLGATE_TEST_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) TOLLGATE_TEST_FUZZ_SEED=$(FUZZ_SEED) $(UV) pytest tests/fuzz --timeout=0

lint: setup  ## ruff lint and format check
	$(UV) ruff check .
	$(UV) ruff format --check .

format: setup  ## apply ruff's formatting and safe fixes
	$(UV) ruff format .
	$(UV) ruff check --fix .

typecheck: setup  ## mypy, strict
	$(UV) mypy shared services tollgate finance_approval bench chaos

migrate: setup  ## apply every service's migrations
	$(UV) tollgate migrate

asyncapi: setup  ## regenerate docs/asyncapi.yaml from the event models
	$(UV) tollgate asyncapi

finance: setup  ## the reference finance approval service (needs TOLLGATE_FINANCE_AMQP_URL; FINANCE_RULES=file)
	$(UV) tollgate-finance --rules $(FINANCE_RULES) run

bench: setup  ## run every benchmark (each exits 1 when its goal is missed; the rest still run)
	-$(UV) python -m bench.bus.run --repeat 3
	-$(UV) python -m bench.auth.run
	-$(UV) python -m bench.gateway.run
	-$(UV) python -m bench.billing.run --profile
	-$(UV) python -m bench.billing.run --invoicing
	-$(UV) python -m bench.invoicing.run
	-$(UV) python -m bench.metrics.run

chaos: setup  ## faults under load on a throwaway PostgreSQL and RabbitMQ, then checks; exit 1 on loss or doubling (CHAOS_SECONDS, CHAOS_SEED, CHAOS_FAULTS)
	$(UV) python -m chaos

dlq-list: setup  ## list dead-lettered messages (needs TOLLGATE_AMQP_URL)
	$(UV) tollgate dlq list

dlq-replay: setup  ## replay every dead-lettered message (needs TOLLGATE_AMQP_URL)
	$(UV) tollgate dlq replay

alerts-test: setup  ## check the alert rules and Prometheus configs with promtool and run the rules' unit tests
	$(UV) pytest tests/unit/test_alert_rules.py tests/unit/test_dashboard.py

kubernetes: setup  ## render every deploy/kubernetes overlay with kubectl and validate it against the Kubernetes schemas and the pinned CRDs
	$(UV) pytest tests/unit/test_kubernetes.py

kubernetes-alerts: setup  ## regenerate deploy/kubernetes's PrometheusRule from deploy/observability/prometheus/alerts.yml
	$(UV) python scripts/kubernetes_prometheus_rule.py

prometheus:  ## Debian's Prometheus against `make stack` on 127.0.0.1:9090, with the alert rules (data in ./data/prometheus)
	prometheus --config.file=deploy/observability/prometheus/prometheus-stack.yml \
		--storage.tsdb.path=data/prometheus --web.listen-address=127.0.0.1:9090

clean:  ## remove caches and the embedded data folder
	rm -rf .pytest_cache .mypy_cache .ruff_cache .hypothesis data bench/results
