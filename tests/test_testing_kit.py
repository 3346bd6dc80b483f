"""The driver test kit (nebula_core.testing) tested: it fails drivers that break the contract,
passes the dummy, tidies up after itself, and costs unrelated pytest sessions nothing.

The kit's own suite runs in an inner pytest session (pytester), against drivers defined there.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

INNER = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest")  # hypothesis alone costs an inner session 0.7 s

CARELESS = '''
import pytest
from nebula_core.drivers.errors import VMNotFound
from nebula_core.drivers.vmm import Capability, Observation, PowerState, VMMDriver
from nebula_core.testing import VMMConformance


class Careless(VMMDriver):
    """Breaks the contract the ways plugins do: an unknown VM is an error, reboot declared but missing."""

    capabilities = frozenset({Capability.REBOOT})

    def __init__(self, context):
        super().__init__(context)
        self.vms = set()

    def deploy(self, spec):
        self.vms.add((spec.host, spec.name))
        return spec.name

    def shutdown(self, host, deploy_id):
        self.vms.remove((host, deploy_id))  # KeyError when gone

    def cancel(self, host, deploy_id):
        if (host, deploy_id) not in self.vms:
            raise VMNotFound(deploy_id)
        self.vms.discard((host, deploy_id))

    def poll(self, host, deploy_id):
        if (host, deploy_id) not in self.vms:
            raise VMNotFound(deploy_id)
        return Observation(PowerState.ACTIVE, memory=-1)


class TestCareless(VMMConformance):
    @pytest.fixture
    def driver(self, driver_context):
        return Careless(driver_context)
'''


def outcomes(pytester: pytest.Pytester, source: str) -> dict[str, str]:
    """Run ``source`` as a test module in an inner session; each test's name (with parameters) -> outcome."""
    pytester.makepyfile(test_inner=source)
    reports = pytester.inline_run(*INNER).getreports("pytest_runtest_logreport")
    result: dict[str, str] = {}
    for report in reports:
        name = report.nodeid.split("::")[-1]
        if report.when == "call" or report.outcome != "passed":
            result[name] = report.outcome
    return result


def test_the_kit_fails_a_careless_driver(pytester: pytest.Pytester) -> None:
    seen = outcomes(pytester, CARELESS)
    failed = {name for name, outcome in seen.items() if outcome == "failed"}
    assert {
        "test_poll_of_an_unknown_vm_is_deleted_not_an_error",
        "test_stopping_an_unknown_vm_succeeds[shutdown]",
        "test_stopping_an_unknown_vm_succeeds[cancel]",
        "test_stopping_removes_the_vm_and_repeating_is_fine[shutdown]",
        "test_deploy_runs_the_vm",  # memory=-1: a figure the monitor must not get
        "test_reboot_keeps_the_vm_running[acpi]",  # declared, then NotSupported
        "test_reboot_of_an_unknown_vm_is_vm_not_found",
    } <= failed
    assert seen["test_is_a_vmm_driver_with_declared_capabilities"] == "passed"
    assert seen["test_save_stops_the_vm_and_restore_runs_it_again"] == "skipped"  # not declared
    assert seen["test_failed_deploy_leaves_nothing_in_the_way"] == "skipped"  # no failing_spec()


def test_the_kit_says_what_to_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_inner="""
        from nebula_core.testing import IMConformance, TMConformance

        class TestNothingNamed(IMConformance):
            pass

        class TestNotInstalled(TMConformance):
            entry_point = "nosuch"
    """)
    result = pytester.runpytest(*INNER, "-k", "is_a")
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines_random([
        "*TestNothingNamed: set entry_point or override the driver fixture*",
        "*unknown tm driver 'nosuch'; installed: dummy*",
    ])


def test_the_kit_passes_the_dummy_and_leaves_nothing_behind(pytester: pytest.Pytester, tmp_path: Path) -> None:
    var_dir = tmp_path / "shared-var"
    seen = outcomes(pytester, f"""
import pytest
from pathlib import Path
from nebula_core.drivers.vmm import DriverContext
from nebula_core.testing import VMMConformance

class TestDummy(VMMConformance):
    entry_point = "dummy"

    @pytest.fixture
    def driver_context(self):
        return DriverContext(Path({str(var_dir)!r}))
""")
    assert set(seen.values()) == {"passed", "skipped"}
    assert list(var_dir.rglob("*.json")) == []  # every VM the suite deployed was cancelled


def test_loading_the_plugin_imports_nothing_of_the_core() -> None:
    """pytest11 plugins load in every session of the environment: this one must cost nothing there."""
    script = (
        "import sys, nebula_core.testing.plugin\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('nebula_core', 'sqlalchemy', 'stevedore')))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.strip() == "['nebula_core', 'nebula_core.testing', 'nebula_core.testing.plugin']"
