"""A third-party driver plugin, built as a wheel and installed beside the core in a fresh venv.

``contrib/example-driver`` is built as its author would publish it, then installed with a wheel
of the core (no editable installs, no nebula-dummy) into a virtual environment of its own. The
plugin's own tests run there, and a daemon started from that venv's ``nebula serve`` runs a VM
on a host naming the plugin's drivers, found by entry point and nothing else.

Dependencies come from the package index pip is configured with, as for ``make install``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
import xmlrpc.client
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import pytest

from nebula_core.states import HostState, LCMState, VMState

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
PLUGIN = ROOT / "contrib" / "example-driver"
INSTALL_TIMEOUT = 600  # seconds for one pip or venv command; a cold pip cache takes a minute or two
T = TypeVar("T")

# Working-tree clutter that is no part of a distribution (and could be large): left out of the copies.
_SKIP_ANYWHERE = shutil.ignore_patterns("__pycache__", "*.egg-info", ".*_cache", ".hypothesis", "build", "dist")
_CORE_ONLY = frozenset({".git", ".venv", ".venv-onecli", "var", "tests", "plugins", "contrib", "bench"})


@dataclass(frozen=True)
class Venv:
    path: Path
    plugin_source: Path  # a copy of contrib/example-driver, tests included

    def bin(self, name: str) -> str:
        return str(self.path / "bin" / name)


def clean_env() -> dict[str, str]:
    """The environment for the venv's commands, less what would reach back into ours."""
    leaks = {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTEST_ADDOPTS", "NEBULA_CONFIG", "ONE_AUTH", "ONE_XMLRPC"}
    return {key: value for key, value in os.environ.items() if key not in leaks}


def run(*command: str | Path, cwd: Path, timeout: float = INSTALL_TIMEOUT) -> str:
    """Run a command in ``cwd`` to the end; fail the test with its output if it fails or hangs.

    Never in the working tree: ``python -c`` puts its directory first on sys.path, and ours holds nebula_core.
    """
    args = [str(part) for part in command]
    try:
        done = subprocess.run(args, check=False, cwd=cwd, env=clean_env(), capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        so_far = [out.decode(errors="replace") if isinstance(out, bytes) else out or "" for out in (exc.stdout, exc.stderr)]
        pytest.fail(f"{' '.join(args)} did not finish in {timeout:g} s; output so far:\n" + "\n".join(so_far))
    if done.returncode != 0:
        pytest.fail(f"{' '.join(args)} exited {done.returncode}:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    return done.stdout


def copy_source(source: Path, destination: Path, skip_at_root: frozenset[str] = frozenset()) -> Path:
    """Build from a copy: an in-tree build would write build/ and *.egg-info into the shared working tree."""

    def ignore(directory: str, names: list[str]) -> set[str]:
        skipped = set(_SKIP_ANYWHERE(directory, names))
        if Path(directory) == source:
            skipped |= skip_at_root & set(names)
        return skipped

    shutil.copytree(source, destination, ignore=ignore)
    return destination


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """A fresh venv holding the core's and the plugin's wheels, their dependencies, and pytest."""
    work = tmp_path_factory.mktemp("external-plugin")
    core = copy_source(ROOT, work / "core-src", skip_at_root=_CORE_ONLY)
    plugin = copy_source(PLUGIN, work / "plugin-src")
    pip = ("-m", "pip", "--disable-pip-version-check")
    run(sys.executable, *pip, "wheel", "-q", "--no-deps", "-w", work / "wheels", core, plugin, cwd=work)
    wheels = sorted((work / "wheels").glob("*.whl"))
    assert [wheel.name.split("-")[0] for wheel in wheels] == ["nebula_core", "nebula_example"], wheels
    run(sys.executable, "-m", "venv", work / "venv", cwd=work)
    python = work / "venv" / "bin" / "python"
    # The pytest that runs this test: a version the configured index is known to serve.
    run(python, *pip, "install", "-q", *wheels, f"pytest=={pytest.__version__}", cwd=work)
    return Venv(work / "venv", plugin)


def test_the_venv_holds_wheels_not_the_working_tree(venv: Venv) -> None:
    script = (
        "import importlib.metadata as m, nebula_core, nebula_example\n"
        "print(nebula_core.__file__); print(nebula_example.__file__)\n"
        "print(sorted(d.metadata['Name'] for d in m.distributions() if d.metadata['Name'].startswith('nebula')))\n"
    )
    core, plugin, names = run(venv.bin("python"), "-c", script, cwd=venv.path).splitlines()
    assert Path(core).is_relative_to(venv.path) and Path(plugin).is_relative_to(venv.path), (core, plugin)
    assert names == "['nebula-core', 'nebula-example']"


def test_the_plugin_passes_its_own_tests(venv: Venv) -> None:
    # The venv's pytest script, not `python -m pytest`, which would import the plugin from the source copy.
    out = run(venv.bin("pytest"), "-q", "-p", "no:cacheprovider", cwd=venv.plugin_source, timeout=120)
    assert " passed" in out and "failed" not in out, out


# --- the daemon ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class TimeoutTransport(xmlrpc.client.Transport):
    """xmlrpc.client's transport, with a socket timeout so a stuck daemon fails the test instead of hanging it."""

    def make_connection(self, host: Any) -> Any:
        connection = super().make_connection(host)
        connection.timeout = 10
        return connection


class One:
    """The OpenNebula XML-RPC API as a client sees it: ``[ok, value, error code]`` replies."""

    def __init__(self, endpoint: str, session: str) -> None:
        self.server = xmlrpc.client.ServerProxy(endpoint, transport=TimeoutTransport())
        self.session = session

    def reply(self, method: str, *args: Any) -> list[Any]:
        result: list[Any] = getattr(self.server, method)(self.session, *args)
        return result

    def call(self, method: str, *args: Any) -> Any:
        ok, value, *_ = self.reply(method, *args)
        assert ok, f"{method}{args} refused: {value}"
        return value

    def info(self, method: str, object_id: int) -> ET.Element:
        return ET.fromstring(self.call(method, object_id))


def vm_state(one: One, vm_id: int) -> tuple[VMState, LCMState]:
    vm = one.info("one.vm.info", vm_id)
    return VMState(int(vm.findtext("STATE", "-1"))), LCMState(int(vm.findtext("LCM_STATE", "-1")))


def _running(daemon: Daemon, vm_id: int) -> bool | None:
    """True once the VM runs; a failure state (which it would never leave) fails the test at once."""
    state, lcm = vm_state(daemon.one, vm_id)
    if state == VMState.DONE or lcm.name.endswith("_FAILURE"):
        daemon.fail(f"VM {vm_id} is {state.name}/{lcm.name}: {daemon.one.call('one.vm.info', vm_id)}")
    return (state, lcm) == (VMState.ACTIVE, LCMState.RUNNING) or None


@dataclass
class Daemon:
    """``nebula serve`` from the venv, and a client logged in as oneadmin."""

    process: subprocess.Popen[bytes]
    log: Path
    var: Path  # the daemon's var_dir
    one: One

    def wait_for(self, what: str, check: Callable[[], T | None], timeout: float = 60.0) -> T:
        """Poll ``check`` until it returns something; fail with the daemon's log on timeout or if it died."""
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                self.fail(f"the daemon exited ({self.process.returncode}) while waiting for {what}")
            value = check()
            if value is not None:
                return value
            if time.monotonic() > deadline:
                self.fail(f"timed out after {timeout:g} s waiting for {what}")
            time.sleep(0.2)

    def fail(self, message: str) -> NoReturn:
        pytest.fail(f"{message}\n--- daemon log ({self.log}), last lines ---\n{self.log.read_text(errors='replace')[-6000:]}")


@pytest.fixture
def daemon(venv: Venv, tmp_path: Path) -> Iterator[Daemon]:
    """``nebula serve`` from the venv on SQLite and a free port; stopped (killed if need be) afterwards."""
    var, port = tmp_path / "var", free_port()
    config = tmp_path / "nebula.toml"
    config.write_text(
        f'[daemon]\nvar_dir = "{var}"\nlog_level = "INFO"\n'
        f'[database]\nurl = "sqlite:///{tmp_path / "nebula.db"}"\n'
        f'[api]\nhost = "127.0.0.1"\nport = {port}\n'
        "[scheduler]\ninterval = 0.3\n"
        "[monitor]\nhost_interval = 0.5\nvm_interval = 0.5\n"
        "[drivers]\ntimeout = 10.0\n"
        f'[auth]\none_auth = "{tmp_path / "one_auth"}"\n'
    )
    log = tmp_path / "daemon.log"
    with log.open("wb") as out:
        process = subprocess.Popen([venv.bin("nebula"), "serve", "--config", str(config)], stdout=out,
                                   stderr=subprocess.STDOUT, env=clean_env(), cwd=tmp_path)
    try:
        running = Daemon(process, log, var, One(f"http://127.0.0.1:{port}/RPC2", session=""))
        running.one.session = running.wait_for("oneadmin's credentials", lambda: _text(tmp_path / "one_auth"))
        running.wait_for("the API to answer", lambda: _answers(running.one))
        yield running
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            running.fail("the daemon did not stop within 30 s of SIGTERM")
        if code != 0:
            running.fail(f"the daemon exited {code} on SIGTERM")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)


def _text(path: Path) -> str | None:
    try:
        return path.read_text().strip() or None
    except FileNotFoundError:
        return None


def _answers(one: One) -> bool | None:
    try:
        return bool(one.server.one.system.version(one.session)) or None
    except (OSError, xmlrpc.client.Error):
        return None


def test_the_daemon_runs_a_vm_with_the_plugin(daemon: Daemon) -> None:
    one, var = daemon.one, daemon.var
    # 1.4's form names the TM too; the 7.x form (a cluster id) would pick the "dummy" TM, not installed here.
    host_id = one.call("one.host.allocate", "node1", "example", "example", "example")
    host = daemon.wait_for("node1 to be MONITORED", lambda: _monitored(daemon, host_id))
    assert host.findtext("VM_MAD") == "example" and host.findtext("IM_MAD") == "example"
    assert host.findtext("TEMPLATE/HYPERVISOR") == "example", ET.tostring(host, encoding="unicode")

    vm_id = one.call("one.vm.allocate", 'NAME = "web" CPU = 0.1 MEMORY = 32', False)
    daemon.wait_for(f"VM {vm_id} to be RUNNING", lambda: _running(daemon, vm_id))
    vm = one.info("one.vm.info", vm_id)
    assert vm.findtext("HISTORY_RECORDS/HISTORY[last()]/HOSTNAME") == "node1"
    assert vm.findtext("DEPLOY_ID") == f"one-{vm_id}"
    guest = var / "example" / "node1" / f"one-{vm_id}.json"  # the plugin's own record of its guest
    assert guest.is_file(), sorted(str(p) for p in var.rglob("*"))

    one.call("one.vm.action", "terminate", vm_id)
    daemon.wait_for(f"VM {vm_id} to be DONE", lambda: vm_state(one, vm_id)[0] == VMState.DONE or None)
    assert not guest.exists()


def _monitored(daemon: Daemon, host_id: int) -> ET.Element | None:
    host = daemon.one.info("one.host.info", host_id)
    state = HostState(int(host.findtext("STATE", "-1")))
    if state == HostState.ERROR:
        daemon.fail(f"host {host_id} in ERROR: {ET.tostring(host, encoding='unicode')}")
    return host if state == HostState.MONITORED else None


def test_a_driver_not_installed_is_refused(daemon: Daemon) -> None:
    one = daemon.one
    ok, message, *_ = one.reply("one.host.allocate", "node2", "example", "kvm", "example")
    assert not ok
    assert "unknown vmm driver 'kvm'; installed: example" in message  # only what this venv holds
    ok, message, *_ = one.reply("one.host.allocate", "node2", "nosuch", "example", "example")
    assert not ok
    assert "unknown im driver 'nosuch'; installed: example" in message
