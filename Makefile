# The two commands of the README: `make demo` brings up a cloud and shows it placing and
# running VMs; `make test` runs the whole suite (SQLite, PostgreSQL and MariaDB).
VENV    := .venv
PY      := $(VENV)/bin/python
PLUGINS := $(wildcard plugins/*)
STAMP   := $(VENV)/.installed

.PHONY: install demo stop test bench clean

$(STAMP): pyproject.toml $(wildcard plugins/*/pyproject.toml)
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test]' $(addprefix -e ,$(PLUGINS))
	touch $@

install: $(STAMP)

demo: install
	bash contrib/demo.sh

stop:
	bash contrib/demo.sh stop

test: install
	bash scripts/databases.sh
	$(PY) -m pytest -q

bench: install
	$(PY) bench/scale.py

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis
