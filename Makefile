# The two commands of the README: `make demo` brings up a cloud and shows it placing and
# running VMs; `make test` runs the whole suite (SQLite, PostgreSQL and MariaDB).
VENV    := .venv
PY      := $(VENV)/bin/python
PLUGINS := $(wildcard plugins/*)
STAMP   := $(VENV)/.installed
# The real OpenNebula CLI, in a venv of its own: its onevm/onehost/... would shadow our aliases.
ONECLI  := .venv-onecli
ONECLI_STAMP := $(ONECLI)/.installed

.PHONY: install demo stop test bench clean

$(STAMP): pyproject.toml $(wildcard plugins/*/pyproject.toml)
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test]' $(addprefix -e ,$(PLUGINS))
	touch $@

$(ONECLI_STAMP):
	python3 -m venv $(ONECLI)
	$(ONECLI)/bin/pip install -q --disable-pip-version-check opennebula-cli==7.4.0
	touch $@

install: $(STAMP)

demo: install
	bash contrib/demo.sh

stop:
	bash contrib/demo.sh stop

test: install $(ONECLI_STAMP)
	bash scripts/system-packages.sh
	bash scripts/databases.sh
	NEBULA_ONECLI=$(CURDIR)/$(ONECLI)/bin $(PY) -m pytest -q

bench: install
	$(PY) bench/scale.py
	$(PY) bench/api.py --all
	$(PY) bench/hooks.py

clean:
	rm -rf $(VENV) $(ONECLI) var .pytest_cache .hypothesis
