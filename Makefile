# NovaOps — the two commands a fresh machine needs are `make up` and `make test`.
STACK ?= dev
PY := .venv/bin/python

.PHONY: up provision configure down destroy test unit bench bench-converge inventory setup lint status bench-health diagram dashboards drills runbooks

setup:                ## install what the machine lacks (docker engine, venv, base image)
	tools/setup-host.sh

up: provision configure   ## bring the stack up and apply backup, failover and alerting configuration

provision: setup      ## only the Pulumi program (pulumi up, or the local realizer without the CLI)
	$(PY) -m tools.stackctl up --stack $(STACK)

configure:            ## ansible-playbook site.yml against the stack's inventory
	cd ansible && PATH=$(CURDIR)/.venv/bin:$$PATH ansible-playbook -i ../inventories/$(STACK)/hosts.yml site.yml

lint:                 ## ruff (check, format --check) over the Python, ansible-lint (production profile) and yamllint over ansible/
	$(CURDIR)/.venv/bin/ruff check . && $(CURDIR)/.venv/bin/ruff format --check . && cd ansible && PATH=$(CURDIR)/.venv/bin:$$PATH ansible-lint && PATH=$(CURDIR)/.venv/bin:$$PATH yamllint -c .yamllint .

down: setup           ## remove containers and networks, keep data volumes
	$(PY) -m tools.stackctl down --stack $(STACK)

destroy: setup        ## remove everything including data volumes
	$(PY) -m tools.stackctl down --stack $(STACK) --delete-data

test: setup           ## all tests: unit, realizer mapping, end-to-end stack
	$(PY) -m pytest

unit: setup           ## tests that need no docker engine
	$(PY) -m pytest tests/unit -q

bench: setup          ## prints stack up/re-up/teardown times, unit-test wall time, peak memory
	$(PY) -m tests.bench.stack_bench

bench-converge: setup ## prints first converge and idempotent re-run time of site.yml, changed counts (fresh e2e stack)
	$(PY) -m tests.bench.converge_bench

inventory:            ## regenerate inventories/ from the catalog and stack config
	$(PY) -m components.inventory

status:               ## one table of every tier and service: role, health, probe latency, lag, backup age, alerts (--json: ARGS=--json)
	$(PY) -m tools.status --stack $(STACK) $(ARGS)

bench-health:         ## health-check (probe) latency p50/p99 per tier over the last 5 minutes; ARGS='--during "CMD"' under a workload
	$(PY) -m tests.bench.health_bench --stack $(STACK) $(ARGS)

diagram:              ## regenerate README.md's topology picture from the catalog
	$(PY) -m tools.topology_diagram

dashboards:           ## write the Grafana dashboards generated from the catalog to build/dashboards/
	$(PY) -m components.dashboards --stack $(STACK) --out build/dashboards

drills:               ## resilience drills under load (stack up and configured): results in .novaops/$(STACK)/drills/
	$(PY) -m tools.drills --stack $(STACK) $(if $(ONLY),--only $(ONLY))

runbooks:             ## regenerate the dependency map and failure-mode table of runbooks/README.md
	$(PY) -m tools.runbooks
