# Shipment Tracking: developer entry points.
#   make setup      system packages check, Odoo 18.0 source, Python 3.11 virtualenv
#   make test       all tests (Odoo tests + upgrade + end-to-end), throw-away database
#   make run        demo server on http://localhost:$(HTTP_PORT) (database shipment_demo)
#   make lint       ruff (lint + format check) and pylint-odoo mandatory checks
#   make clean-db   drop the demo database and leftover test databases
#   make stop       stop the private PostgreSQL cluster that run/test started, if any
#   make readme     rebuild each add-on's README.rst from its readme/*.md
#   make screenshots  README images into docs/screenshots (start `make run` in another terminal first)
# Override on the command line, e.g. `make test ODOO_SRC=/opt/odoo PGPORT=5433`:
# ODOO_SRC, VENV, PGHOST, PGPORT, PGUSER, PG_PRIVATE_DIR, PG_PRIVATE_PORT (defaults
# in scripts/env.sh), HTTP_PORT, MAIL_HTTP_PORT, MAIL_SMTP_PORT.

SHELL := /bin/bash
.DEFAULT_GOAL := help

HTTP_PORT ?= 8069
DEMO_DB ?= shipment_demo
export HTTP_PORT DEMO_DB
# ODOO_SRC, VENV, PGHOST, PGPORT, PGUSER reach the scripts when set on the command
# line or in the environment (make passes both on); their defaults live in one
# place, scripts/env.sh.

ADDON_DIRS := $(patsubst %/__manifest__.py,%,$(wildcard */__manifest__.py))
LINT_DIRS := $(ADDON_DIRS) $(wildcard tests bench)
# Run a command with the settings of scripts/env.sh.
WITH_ENV := here="$(CURDIR)" && source scripts/env.sh &&

.PHONY: help setup test run stop lint clean-db readme screenshots

help:
	@sed -n 's/^#   //p' $(MAKEFILE_LIST)

setup:
	@bash scripts/setup.sh

test: setup
	@bash scripts/run_tests.sh

run: setup
	@bash scripts/run_demo.sh

# The private PostgreSQL cluster only (scripts/pg_private.sh); `make run` stops
# its own servers on Ctrl-C.
stop:
	@bash scripts/pg_private.sh stop

# Runs every linter even when one fails; fails when any of them did.
lint: setup
	@$(WITH_ENV) rc=0; \
	if [ -z "$(strip $(LINT_DIRS))" ]; then echo "lint: nothing to lint"; exit 0; fi; \
	echo "==> ruff check $(LINT_DIRS)"; \
	"$$VENV/bin/ruff" check --no-fix $(LINT_DIRS) || rc=1; \
	echo "==> ruff format --check $(LINT_DIRS)"; \
	"$$VENV/bin/ruff" format --check $(LINT_DIRS) || rc=1; \
	echo "==> pylint --rcfile=.pylintrc-mandatory $(LINT_DIRS)"; \
	fmt=text; [ -t 1 ] && fmt=colorized; \
	"$$VENV/bin/pylint" --rcfile=.pylintrc-mandatory --output-format=$$fmt \
	  --recursive=y $(LINT_DIRS) || rc=1; \
	exit $$rc

clean-db: setup
	@$(WITH_ENV) source scripts/pg_private.sh && pg_ensure && py="$$VENV/bin/python"; \
	data_dir=$$("$$py" -c 'from odoo.tools import config; print(config["data_dir"])' 2>/dev/null); \
	for db in "$(DEMO_DB)" $$("$$py" scripts/pgtool.py list shipment_test_); do \
	  pid=$${db#shipment_test_}; \
	  if [ "$$db" != "$(DEMO_DB)" ] && kill -0 "$$pid" 2>/dev/null; then \
	    echo "keeping $$db (its test run, pid $$pid, is still going)"; continue; \
	  fi; \
	  "$$py" scripts/pgtool.py exists "$$db" || continue; \
	  echo "dropping $$db"; \
	  "$$py" scripts/pgtool.py drop "$$db" || exit 1; \
	  [ -z "$$data_dir" ] || rm -rf "$$data_dir/filestore/$$db"; \
	done

readme:
	@python3 scripts/gen_readme.py

# Dispatches a few demo deliveries and gives the portal user "customer" a password
# of this run only; refuses a database without demo data (scripts/screenshots.py).
screenshots: setup
	@$(WITH_ENV) "$$VENV/bin/python" scripts/screenshots.py --create-portal-user \
	  --url http://localhost:$(HTTP_PORT) --db $(DEMO_DB)
