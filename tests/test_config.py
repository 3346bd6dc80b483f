"""The configuration file: defaults without one, one clear line for each kind of mistake."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nebula_core.config import ConfigError, load


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "nebula.toml"
    path.write_text(text)
    return path


def test_defaults_without_a_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEBULA_CONFIG", raising=False)
    config = load(None)
    assert config.api.port == 2633 and config.database.url == "sqlite:///nebula.db"


def test_relative_sqlite_path_goes_under_var_dir(tmp_path: Path) -> None:
    config = load(write(tmp_path, f'[daemon]\nvar_dir = "{tmp_path}"\n'))
    assert config.database_url == f"sqlite:///{tmp_path}/nebula.db"


def test_environment_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEBULA_CONFIG", str(write(tmp_path, "[api]\nport = 3000\n")))
    assert load(None).api.port == 3000


@pytest.mark.parametrize("text, message", [
    ("[api]\nport = 70000\n", "api.port: must be a port number"),
    ("[api]\nport = \"x\"\n", "api.port: must be int"),
    ("[scheduler]\ninterval = -1\n", "scheduler.interval: must be a number > 0"),
    ("[scheduler]\nintervall = 1\n", "scheduler.intervall: unknown key"),
    ("[nosuch]\na = 1\n", "nosuch: unknown section"),
    ("api = 3\n", "api: must be a table"),
    ("[api\n", "not valid TOML"),
    ("[network]\nmac_prefix = \"zz:00\"\n", "network.mac_prefix"),
    ("[daemon]\nlog_level = \"LOUD\"\n", "daemon.log_level"),
    ("[drivers]\nworkers = true\n", "drivers.workers: must be int"),
    ("[hooks]\nvm = 3\n", "hooks.vm: must be a list of tables"),
    ("[[hooks.vm]]\nname = \"a\"\non = \"RUNNING\"\n", "hooks.vm[0]: command required"),
    ("[[hooks.host]]\nname = \"a\"\non = \"ERROR\"\ncommand = \"/bin/true\"\nshell = 1\n", "hooks.host[0].shell: unknown key"),
])
def test_mistakes_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        load(write(tmp_path, text))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load(tmp_path / "nope.toml")


def test_script_hooks_of_the_file(tmp_path: Path) -> None:
    config = load(write(tmp_path, '[[hooks.vm]]\nname = "a"\non = "RUNNING"\ncommand = "/bin/true"\narguments = "$VMID"\n'
                                  '[[hooks.vm]]\nname = "b"\non = "DONE"\ncommand = "/bin/echo"\ntimeout = 3\n'))
    assert [(h.name, h.on, h.arguments, h.timeout) for h in config.hooks.vm] == [("a", "RUNNING", "$VMID", 0.0),
                                                                                 ("b", "DONE", "", 3.0)]
    assert config.hooks.host == ()
