# The two commands of the README: `make serve` and `make test`.
# Each creates .venv if missing, installs the project, and installs the system packages it needs
# (PostgreSQL + PostGIS, Java for ODK Validate, a Thai font for the PDF reports) with apt-get when run as root or with sudo.

VENV := .venv
STAMP := $(VENV)/.installed
SERVE_ARGS ?=

.PHONY: serve test lint system-deps bench

serve: system-deps $(STAMP)
	$(VENV)/bin/khoknongna serve --create-admin admin $(SERVE_ARGS)

test: system-deps $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test]'
	touch $(STAMP)

# Installs only what is missing; without root or sudo it prints the command to run instead.
system-deps:
	@missing=""; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1 || missing="$$missing postgresql-postgis"; \
	command -v java >/dev/null 2>&1 || missing="$$missing default-jre-headless"; \
	test -f /usr/share/fonts/truetype/tlwg/Laksaman.ttf || missing="$$missing fonts-tlwg-laksaman-ttf"; \
	python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; \
	  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo"; \
	  else echo "Please run: sudo apt-get update && sudo apt-get install -y$$missing"; exit 1; fi; \
	  $$SUDO apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
