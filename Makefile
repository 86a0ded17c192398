# One-command entry points. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV        ?= .venv
PY          := $(VENV)/bin/python
BIN         := $(VENV)/bin
export PATH := $(abspath $(BIN)):$(PATH)
export ANSIBLE_CONFIG := $(abspath ansible.cfg)
SYSTEM_PACKAGES := podman runc debootstrap iproute2 chromium tmux
STAMP       := $(VENV)/.installed
# The inventory make clean-keys checks the keys against (inventory/local: the local cloud).
INVENTORY   ?= inventory/aws
LOAD_SECONDS ?= 300
# pytest-xdist workers for the tests; each runs its own local cloud (TEST_WORKERS=0: one process).
# PYTEST_ARGS: more pytest options for make test and make integration (say -k deploy, or --junitxml=FILE).
TEST_WORKERS ?= 2
PYTEST      := $(BIN)/pytest -q --durations=25 $(if $(filter-out 0,$(TEST_WORKERS)),-n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder) $(PYTEST_ARGS)

.PHONY: help setup system-packages venv lock image lint unit integration molecule test demo load bench up down clean clean-keys

help: ## List the targets.
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

setup: system-packages venv image ## Install everything the project needs (idempotent).

system-packages: ## Install podman, runc, debootstrap, chromium, tmux with apt-get when missing.
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then echo "System packages: all present."; \
	elif [ "$$(id -u)" != 0 ]; then echo "Missing system packages:$$missing. Install them as root: sudo apt-get install -y$$missing" >&2; exit 1; \
	else echo "Installing system packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends$$missing >/dev/null; fi

venv: $(STAMP) ## Create .venv with the pinned Python requirements.

$(STAMP): requirements/dev.txt pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --require-hashes -r requirements/dev.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -e .
	@touch $@

# The locks: every package the pins in requirements/*.in pull in, with hashes (pip-tools in a venv of
# its own, so that it is not one of the project's packages).
LOCK_VENV := .state/pip-tools
PIP_COMPILE := $(LOCK_VENV)/bin/pip-compile -q --generate-hashes --strip-extras --allow-unsafe \
	--no-emit-index-url --no-emit-find-links --annotation-style line
lock: ## Lock requirements/runtime.txt and dev.txt (with hashes) from the pins in requirements/*.in.
	@test -x $(LOCK_VENV)/bin/pip-compile || { python3 -m venv $(LOCK_VENV) && \
	  $(LOCK_VENV)/bin/pip install -q --disable-pip-version-check pip-tools==7.6.2; }
	cd requirements && ../$(PIP_COMPILE) -o runtime.txt runtime.in && ../$(PIP_COMPILE) -o dev.txt dev.in

image: venv ## Build the local cloud's instance image (reused when it exists).
	$(BIN)/localcloud image build

lint: venv ## yamllint, ansible-lint (production profile) and ruff.
	$(BIN)/yamllint --strict .
	$(BIN)/ansible-lint --profile production
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

unit: venv ## Module unit tests (real boto3 against moto, real local HTTP origin).
	$(BIN)/pytest -q tests/unit

integration: setup ## The local cloud and the playbooks, for real.
	$(PYTEST) tests/integration

molecule: setup ## The webserver role's Molecule scenario, on a private local cloud.
	$(PY) tests/run_molecule.py

test: setup lint ## The whole suite: lint, unit, integration, molecule.
	$(PYTEST) tests/unit tests/integration
	$(MAKE) --no-print-directory molecule

up: setup ## Start the local cloud.
	$(BIN)/localcloud up

down: ## Stop the local cloud and remove its instances.
	@if [ -x $(BIN)/localcloud ]; then $(BIN)/localcloud down; fi

demo: up ## Start the local cloud and deploy the web server on it (ARGS='-e ...' adds settings).
	$(BIN)/ansible-playbook -i inventory/local playbooks/deploy.yml $(ARGS)

load: venv ## Busy loops on every vCPU of the deployment's instance for LOAD_SECONDS (300; 0 stops them), to see the high-CPU alarm act (INVENTORY=inventory/local on the local cloud).
	$(BIN)/ansible-playbook -i $(INVENTORY) playbooks/load.yml -e monitoring_load_seconds=$(LOAD_SECONDS) $(ARGS)

bench: setup ## Benchmarks (figures, not pass/fail).
	$(PY) tests/bench/run.py

clean: down ## Remove the venv, local-cloud state, logs and reports; keeps .ssh (private keys AWS never hands out again).
	rm -rf $(VENV) .state logs reports
	@if [ -n "$$(ls -A .ssh 2>/dev/null)" ]; then echo "Kept .ssh/: the private keys of your deployments (remove a deployment with teardown.yml; make clean-keys deletes keys no deployment uses)."; fi

clean-keys: venv ## Delete the private keys in .ssh/ after asking; refuses while a key pair or instance in INVENTORY's region uses one (ARGS='-e deployment_region=...').
	$(BIN)/ansible-playbook -i $(INVENTORY) playbooks/clean_keys.yml $(ARGS)
