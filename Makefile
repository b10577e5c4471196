# `make run` and `make test` work on a fresh machine: they create .venv themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: run test lint bench bench-docs clean browser nginx promtool gettext staff-guide

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

# `make run PORT=8080` serves another port than 5000 (the simulator and URLs it prints follow).
run: $(STAMP)
	$(BIN)/thusong run$(if $(PORT), --port $(PORT))

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

# The simulator's browser test drives Debian's Chromium (no browser download works offline).
browser:
	@test -x /usr/bin/chromium || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

# The slow-client test runs Debian's nginx in front of the app with deploy/nginx/thusong.conf.
nginx:
	@test -x /usr/sbin/nginx || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null)

# The alert rules in deploy/prometheus/ are checked with Prometheus's own promtool.
promtool:
	@test -x /usr/bin/promtool || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null)

# The translators' PO files are checked with GNU gettext's own msgfmt (tests/cli/test_translations_cli.py).
gettext:
	@test -x /usr/bin/msgfmt || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gettext >/dev/null)

# Bytecode is cached even where the environment says not to: the tests start worker, server
# and command processes by the hundred, and each would compile the project again.
# Two pytest processes (pytest-xdist): most of a slow test is spent waiting on the worker,
# server and browser processes it starts, so two at once fill the two cores; each has its own
# SQLite file or PostgreSQL database NAME_gwN and Redis database (tests/conftest.py).
test: lint browser nginx promtool gettext
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m pytest -n 3 --dist loadgroup

# The staff guide's screenshots (every staff page at 1366 and 390 px) and its table of each
# task's clicks and seconds, from the browser tests marked staff_guide (docs/staff.md).
staff-guide: browser $(STAMP)
	rm -f tests/artifacts/staff-tasks.jsonl
	STAFF_GUIDE_DIR=docs/img/staff env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m pytest -n 3 --dist loadgroup -m staff_guide
	$(BIN)/python -m tests.staff_guide

# Benchmarks (docs/benchmarks.md). Each script ends by writing its figures, with the date,
# commit, load average, options and database, to bench/results/<script>-<UTC time>.json
# (bench/harness.record); keep those in git. `make bench` runs every script — on past one that
# misses a goal or fails, so each run leaves its record — then makes the docs' tables again,
# and fails if any script did.
BENCH_SCRIPTS := resolve ussd sms broadcast analytics storm replies servers

bench: $(STAMP)
	@status=0; for s in $(BENCH_SCRIPTS); do \
		echo "$(BIN)/python bench/$$s.py"; $(BIN)/python bench/$$s.py || status=1; \
	done; \
	$(BIN)/python bench/tables.py && exit $$status

# The tables between the <!-- bench:NAME --> markers in docs/benchmarks.md, made from the
# records in bench/results/ (the prose around them is left alone). `bench/tables.py --check`
# only compares, exiting 1 when they differ (tests/bench/test_tables.py runs it).
bench-docs: $(STAMP)
	$(BIN)/python bench/tables.py

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache
