# shebao — two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
# PostgreSQL used by `make test` when DATABASE_URL is not set.
PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/shebao

.PHONY: run test lint typecheck test-sqlite test-postgres bench messages clean chromium pdf-font

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "shebao needs Python 3.11 or newer")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

var:
	@mkdir -p var

run: $(STAMP) var pdf-font
	$(BIN)/shebao migrate --no-input
	$(BIN)/shebao demo --if-empty
	$(BIN)/shebao demo --logins --url http://$(HOST):$(PORT)/
	$(BIN)/gunicorn shebao.wsgi --bind $(HOST):$(PORT) --access-logfile - --error-logfile -

lint: $(STAMP)
	$(BIN)/ruff check shebao
	$(BIN)/ruff format --check shebao

typecheck: $(STAMP)
	$(BIN)/mypy shebao

# Browser tests drive Debian's Chromium with Playwright (which never downloads a
# browser of its own). Installed here when missing, as root; otherwise say how.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "Installing Debian's chromium for the browser tests"; \
			apt-get install -y -qq chromium >/dev/null 2>&1 || \
				{ apt-get update -qq && apt-get install -y -qq chromium; }; \
		else \
			echo "The browser tests need Debian's chromium: sudo apt-get install chromium" >&2; exit 1; \
		fi; }

# PDF statements embed a Chinese font: SHEBAO_PDF_FONT, or one of Debian's found by
# `shebao pdf_font`. When none is, fonts-wqy-microhei is installed as root; otherwise
# (or if it fails) `shebao pdf_font` says what to install and the target fails.
pdf-font: $(STAMP) var
	@$(BIN)/shebao pdf_font --quiet 2>/dev/null || { \
		if [ -z "$$SHEBAO_PDF_FONT" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "Installing a Chinese font for PDF statements (fonts-wqy-microhei)"; \
			apt-get install -y -qq fonts-wqy-microhei >/dev/null 2>&1 || \
				{ apt-get update -qq && apt-get install -y -qq fonts-wqy-microhei >/dev/null; }; \
		fi; \
		$(BIN)/shebao pdf_font; }

# The browser tests run once, here; the PostgreSQL run below repeats the rest.
test-sqlite: $(STAMP) var chromium pdf-font
	env -u DATABASE_URL $(BIN)/pytest

# PostgreSQL is production: the same suite runs against it. With
# SHEBAO_REQUIRE_POSTGRES=1 (CI) an unreachable server is a failure, never a skip.
test-postgres: $(STAMP) var pdf-font
	@url="$${DATABASE_URL:-$(PG_TEST_URL)}"; \
	if $(BIN)/python -m shebao.dbcheck "$$url"; then \
		DATABASE_URL="$$url" $(BIN)/pytest -m "not browser"; \
	elif [ "$${SHEBAO_REQUIRE_POSTGRES:-0}" = 1 ]; then \
		echo "PostgreSQL is required but $$url cannot be reached" >&2; exit 1; \
	else \
		echo "WARNING: PostgreSQL at $$url cannot be reached; the PostgreSQL run was NOT done" >&2; \
	fi

test: lint typecheck test-sqlite test-postgres

bench: $(STAMP) var
	$(BIN)/shebao bench

messages: $(STAMP)
	cd shebao && ../$(BIN)/shebao makemessages -l zh_Hans --no-obsolete --no-location && ../$(BIN)/shebao compilemessages

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache
