# The two commands of the README: `make run` and `make test`.
# Both create or refresh .venv themselves; nothing needs installing by hand.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml .ci/apt-packages.txt 2>/dev/null | cksum | cut -d' ' -f1)

.PHONY: run test install system-deps bench clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check -U pip
	@$(PY) -m pip install -q --disable-pip-version-check -e '.[test]'
	@rm -f $(VENV)/.installed-*; touch $@

install: $(STAMP)

# Debian packages the test-suite drives for real (Chromium for the dashboard,
# umockdev for udev identities, ...). Installed only when missing.
system-deps:
	@sh .ci/system-deps.sh

run: install
	@$(PY) -m leakwarden.demo

test: install system-deps
	@$(PY) -m pytest -q -ra $(PYTEST_ARGS)

bench: install
	@$(PY) -m pip install -q --disable-pip-version-check -e '.[bench]'
	@for b in bench/*_bench.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
