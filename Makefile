# casebox: `make run` to try it, `make test` to test it. Needs only Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?= -n auto

.PHONY: run test lint format bench translations clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall whenever pyproject.toml changes (the stamp is older than it).
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(BIN)/casebox db upgrade
	$(BIN)/casebox demo
	$(BIN)/casebox serve

# Browser tests drive the system Chromium (Debian's package); browsers are never downloaded.
/usr/bin/chromium:
	@if [ "$$(id -u)" = 0 ]; then apt-get install -y -q chromium chromium-driver >/dev/null; \
	else echo "Browser tests need Debian's chromium: sudo apt-get install chromium chromium-driver" >&2; exit 1; fi

test: $(VENV)/.installed-test /usr/bin/chromium
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(VENV)/.installed-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# review_reads needs a PostgreSQL server (default: the local one; see its --help).
bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/case_reads.py
	$(BIN)/python benchmarks/review_reads.py
	$(BIN)/python benchmarks/pipeline_throughput.py
	$(BIN)/python benchmarks/prescription_documents.py
	$(BIN)/python benchmarks/upload_resume.py
	$(BIN)/python benchmarks/patient_pages.py

# English is in the code; French is casebox/translations/fr. Extract the marked strings
# (babel.cfg), merge them into the French catalogue, translate the new or fuzzy entries
# there, and run this again to compile it (the .mo is committed, so no build step runs
# at install). tests/domain/test_translations.py fails on anything left to do.
TRANSLATIONS := casebox/translations
BABEL_KEYWORDS := -k lazy_gettext -k _l
translations: $(VENV)/.installed-test
	$(BIN)/pybabel extract -F babel.cfg $(BABEL_KEYWORDS) --sort-by-file --add-comments=TRANSLATORS: \
		--project=casebox --copyright-holder="casebox contributors" --no-wrap \
		-o $(TRANSLATIONS)/messages.pot .
	$(BIN)/pybabel update -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) -D messages \
		--ignore-obsolete --no-wrap --init-missing -l fr
	$(BIN)/pybabel compile -d $(TRANSLATIONS) -D messages --statistics

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
