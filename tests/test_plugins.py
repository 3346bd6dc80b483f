"""Plugin discovery (nebula_core.plugins) and ``nebula plugin list``, with broken plugins among the good.

A broken plugin needs no installation: a ``*.dist-info`` folder on sys.path (here, PYTHONPATH)
is a distribution to importlib.metadata, and its ``entry_points.txt`` names modules beside it.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from nebula_core import plugins
from nebula_core.cli import main as cli

NEBULA = Path(shutil.which("nebula") or Path(sys.executable).with_name("nebula"))

ENTRY_POINTS = """\
[nebula.vmm]
kaput = nebula_kit_kaput:Driver
plain = nebula_kit_plain:NotADriver
[nebula.tm]
dummy = nebula_kit_plain:NotADriver
[nebula.hooks]
shouty = nebula_kit_kaput
"""


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A directory holding distribution ``nebula-kit-broken`` 0.0.1: one plugin that cannot import, one
    that names no driver class, one that claims the dummy's TM name, and a hook plugin that cannot import."""
    site = tmp_path / "site"
    info = site / "nebula_kit_broken-0.0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: nebula-kit-broken\nVersion: 0.0.1\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    (site / "nebula_kit_kaput.py").write_text('raise ImportError("libkaput.so.1: cannot open shared object file")\n')
    (site / "nebula_kit_plain.py").write_text("class NotADriver:\n    pass\n")
    return site


@pytest.fixture
def on_path(site: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.syspath_prepend(str(site))
    yield site
    for name in ("nebula_kit_kaput", "nebula_kit_plain"):
        sys.modules.pop(name, None)


def run_cli(*args: str, pythonpath: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The installed ``nebula`` with no usable credentials or endpoint: a local command must not need them."""
    env = dict(os.environ, ONE_AUTH="/nonexistent/one_auth", ONE_XMLRPC="bogus://nowhere")
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run([str(NEBULA), *args], check=False, env=env, capture_output=True, text=True, timeout=60)


def test_discover_lists_the_installed_plugins() -> None:
    found = {(p.namespace, p.name): p for p in plugins.discover()}
    assert found[("nebula.vmm", "dummy")] == plugins.Plugin(
        "nebula.vmm", "dummy", "nebula_dummy.vmm:DummyVMM", "nebula-dummy", "0.1.0"
    )
    assert found[("nebula.auth", "core")].distribution == "nebula-core"
    assert all(p.ok for p in found.values())
    namespaces = [p.namespace for p in plugins.discover()]
    assert namespaces == sorted(namespaces, key=plugins.NAMESPACES.index)


def test_discover_reports_what_fails_and_goes_on(on_path: Path) -> None:
    found = {(p.namespace, p.name): p for p in plugins.discover()}
    kaput = found[("nebula.vmm", "kaput")]
    assert (kaput.distribution, kaput.version, kaput.target) == ("nebula-kit-broken", "0.0.1", "nebula_kit_kaput:Driver")
    assert kaput.error == "ImportError: libkaput.so.1: cannot open shared object file"
    assert found[("nebula.vmm", "plain")].error == "TypeError: nebula_kit_plain:NotADriver is not a VMMDriver"
    assert found[("nebula.hooks", "shouty")].error == "ImportError: libkaput.so.1: cannot open shared object file"
    claimed = found[("nebula.tm", "dummy")]
    assert claimed.error is not None and claimed.error.startswith("claimed by several distributions")
    assert {"nebula-dummy", "nebula-kit-broken"} <= set(claimed.error.split(": ")[1].split(", "))
    assert found[("nebula.vmm", "dummy")].ok  # the others still load


def test_discover_without_loading_imports_nothing(on_path: Path) -> None:
    assert all(p.error is None for p in plugins.discover(["nebula.vmm"], load=False))
    assert "nebula_kit_plain" not in sys.modules


def test_the_hooks_namespace_is_the_one_hooks_load_from() -> None:
    from nebula_core.hooks import manager

    assert plugins.HOOKS_NAMESPACE == manager.NAMESPACE


def test_plugin_list_runs_without_a_front_end(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONE_AUTH", "/nonexistent/one_auth")
    assert cli.main(["plugin", "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["NAMESPACE", "NAME", "DISTRIBUTION", "VERSION", "STATUS"]
    assert ["nebula.vmm", "dummy", "nebula-dummy", "0.1.0", "ok"] in [line.split() for line in out]


def test_plugin_list_shows_a_broken_plugin_and_exits_1(site: Path) -> None:
    done = run_cli("plugin", "list", pythonpath=site)
    rows = [line.split() for line in done.stdout.splitlines()]
    assert ["nebula.vmm", "kaput", "nebula-kit-broken", "0.0.1", "error"] in rows
    assert ["nebula.vmm", "dummy", "nebula-dummy", "0.1.0", "ok"] in rows
    assert ["nebula.hooks", "shouty", "nebula-kit-broken", "0.0.1", "error"] in rows
    assert (
        "nebula: nebula.vmm kaput (nebula-kit-broken 0.0.1): ImportError: libkaput.so.1: cannot open shared object file"
        in done.stderr.splitlines()
    )
    assert "Traceback" not in done.stderr
    assert done.returncode == 1


def test_plugin_list_json(site: Path) -> None:
    done = run_cli("plugin", "list", "--json", pythonpath=site)
    listed = {(p["namespace"], p["name"]): p for p in json.loads(done.stdout)}
    assert listed[("nebula.vmm", "kaput")] == {
        "namespace": "nebula.vmm", "name": "kaput", "target": "nebula_kit_kaput:Driver",
        "distribution": "nebula-kit-broken", "version": "0.0.1",
        "error": "ImportError: libkaput.so.1: cannot open shared object file",
    }
    assert listed[("nebula.auth", "core")]["error"] is None
    assert done.returncode == 1


def test_plugin_list_of_a_healthy_installation_exits_0() -> None:
    done = run_cli("--json", "plugin", "list")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert all(p["error"] is None for p in json.loads(done.stdout))


def test_the_daemon_logs_broken_plugins_and_serves(on_path: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A plugin that cannot load is one error line at start-up, never a daemon that does not start."""
    import xmlrpc.client

    from conftest import make_config

    from nebula_core.daemon import Cloud

    caplog.set_level(logging.ERROR)
    cloud = Cloud(make_config(tmp_path, f"sqlite:///{tmp_path}/n.db"))
    cloud.start()
    try:
        session = Path(cloud.config.one_auth_path).read_text().strip()
        assert xmlrpc.client.ServerProxy(cloud.api.endpoint).one.system.version(session)[0] is True
    finally:
        cloud.stop()
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("plugin kaput (nebula-kit-broken 0.0.1, nebula.vmm) cannot be used: ImportError: libkaput.so.1" in e
               for e in errors), errors
    assert any(e.startswith("hook plugin shouty (nebula-kit-broken) not loaded: ImportError") for e in errors), errors
