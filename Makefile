# NovaOps — the two commands a fresh machine needs are `make up` and `make test`.
STACK ?= dev
PY := .venv/bin/python

.PHONY: up provision configure down destroy test unit bench inventory setup lint drills runbooks

setup:                ## install what the machine lacks (docker engine, venv, base image)
	tools/setup-host.sh

up: provision configure   ## bring the stack up and apply backup, failover and alerting configuration

provision: setup      ## only the Pulumi program (pulumi up, or the local realizer without the CLI)
	$(PY) -m tools.stackctl up --stack $(STACK)

configure:            ## ansible-playbook site.yml against the stack's inventory
	cd ansible && PATH=$(CURDIR)/.venv/bin:$$PATH ansible-playbook -i ../inventories/$(STACK)/hosts.yml site.yml

lint:                 ## ansible-lint (production profile) and yamllint over ansible/
	cd ansible && PATH=$(CURDIR)/.venv/bin:$$PATH ansible-lint && PATH=$(CURDIR)/.venv/bin:$$PATH yamllint -c .yamllint .

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

inventory:            ## regenerate inventories/ from the catalog and stack config
	$(PY) -m components.inventory

drills:               ## resilience drills under load (stack up and configured): results in .novaops/$(STACK)/drills/
	$(PY) -m tools.drills --stack $(STACK) $(if $(ONLY),--only $(ONLY))

runbooks:             ## regenerate the dependency map and failure-mode table of runbooks/README.md
	$(PY) -m tools.runbooks
