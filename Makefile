# The two commands of the README: `make serve` and `make test`.
# Each creates .venv if missing, installs the project, and installs the system packages it needs
# (PostgreSQL + PostGIS, Java for ODK Validate, a Thai font for the PDF reports, Node.js and npm for the map's
# browser library; chromium for the browser tests) with apt-get when run as root or with sudo.
# The browser libraries (package.json, package-lock.json) are installed into node_modules/ with `npm ci` when it
# is missing or older than the lock file; the app serves them from there (settings.vendor_dir).

VENV := .venv
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
SERVE_ARGS ?=

.PHONY: serve test lint system-deps browser-deps bench

serve: system-deps $(STAMP) $(NODE_STAMP)
	$(VENV)/bin/khoknongna serve --create-admin admin $(SERVE_ARGS)

test: browser-deps $(STAMP) $(NODE_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Quiet: the first screen of `make serve` is the server's own; pip and the build print only errors.
$(STAMP): pyproject.toml setup.py
	@echo "installing the project into $(VENV) ..."
	@test -x $(VENV)/bin/python || python3 -m venv $(VENV)
	@$(VENV)/bin/pip install --quiet --upgrade pip
	@$(VENV)/bin/pip install --quiet -e '.[test]'
	@touch $(STAMP)

$(NODE_STAMP): package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

# Installs only the Debian packages that are missing (tools/system-deps.sh says how).
system-deps:
	@sh tools/system-deps.sh

browser-deps:
	@sh tools/system-deps.sh --browser
