"""The VMM conformance suite: what ``nebula_core.drivers.vmm`` promises, checked against one driver.

Subclass it in the plugin's tests and name the entry point, or override the ``driver`` fixture::

    class TestMyVMM(VMMConformance):
        entry_point = "mydriver"

The suite talks to the driver only through ``VMMDriver``. Optional operations are tested when
``capabilities`` declares them and skipped, with the reason, when it does not. Error cases that
need the driver's help to happen (a deploy the hypervisor refuses, a guest that ignores ACPI) run
when the subclass provides ``failing_spec()``. Every VM a test deploys is cancelled afterwards.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import ClassVar

import pytest

from ..drivers import replies
from ..drivers.errors import DriverError, NotSupported, VMNotFound
from ..drivers.vmm import Capability, DeploySpec, Observation, PowerState, VMMDriver
from ..template import Template
from .suite import Conformance

FIRST_VM_ID = 90_000  # far from the VMs a development host may already run under OpenNebula's names

MakeSpec = Callable[..., DeploySpec]


def checked_observation(value: object, call: str) -> Observation:
    """An Observation the monitor accepts, with figures of the documented types and signs."""
    observation = replies.observation(value, call)
    for name in ("cpu", "memory", "netrx", "nettx"):
        figure = getattr(observation, name)
        assert figure is None or (isinstance(figure, int | float) and not isinstance(figure, bool) and figure >= 0), (
            f"{call}: {name} = {figure!r}, not None or a non-negative number"
        )
    for name in ("memory", "netrx", "nettx"):
        assert not isinstance(getattr(observation, name), float), f"{call}: {name} must be an int"
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in observation.extra.items()), (
        f"{call}: extra must map strings to strings: {observation.extra!r}"
    )
    return observation


class VMMConformance(Conformance):
    """The contract of ``VMMDriver``, one test per promise. Not collected itself (no ``Test`` prefix)."""

    kind: ClassVar[str] = "vmm"
    concurrency: ClassVar[int] = 8  # VMs run through their whole life at once by the thread-safety test

    # -- what a plugin may override ---------------------------------------------------------------

    @pytest.fixture
    def host(self) -> str:
        """The host VMs are deployed on."""
        return "node1"

    @pytest.fixture
    def other_host(self) -> str | None:
        """A second host of the same driver, where migrate() moves VMs; None skips migration."""
        return "node2"

    @pytest.fixture
    def vm_template(self) -> Template:
        """The system template of the test VMs; a real hypervisor will want DISK, OS, ... too."""
        return Template([("CPU", "0.1"), ("VCPU", "1"), ("MEMORY", "64")])

    @pytest.fixture
    def make_spec(self, host: str, vm_template: Template, tmp_path: Path) -> MakeSpec:
        """``make_spec(vm_id, host=None)``: a DeploySpec as the core builds one (name ``one-<vm_id>``)."""

        def make(vm_id: int, on: str | None = None) -> DeploySpec:
            return DeploySpec(vm_id, on or host, f"one-{vm_id}", vm_template.copy(), str(tmp_path / "vms" / str(vm_id)))

        return make

    @pytest.fixture
    def spec(self, make_spec: MakeSpec) -> DeploySpec:
        return make_spec(FIRST_VM_ID)

    def failing_spec(self, spec: DeploySpec, operation: str) -> DeploySpec:
        """A spec whose VM will fail ``operation`` ("deploy" or "shutdown") with a DriverError.

        The default skips the test that asks: override it to drive the error cases (the dummy
        returns ``spec`` with ``DUMMY_FAIL = <operation>`` in its template).
        """
        pytest.skip(f"{type(self).__name__} has no failing_spec() to make {operation} fail")

    # -- bookkeeping ------------------------------------------------------------------------------

    @pytest.fixture(autouse=True)
    def _cancel_afterwards(self, driver: VMMDriver, host: str, other_host: str | None) -> Iterator[None]:
        """Cancel every VM the test deployed, on every host it may have reached; ignore failures."""
        self._deployed: set[str] = set()
        self._lock = threading.Lock()
        yield
        for deploy_id in sorted(self._deployed):
            for where in filter(None, (host, other_host)):
                with contextlib.suppress(Exception):  # tidying up: the test already said what failed
                    driver.cancel(where, deploy_id)

    def deploy(self, driver: VMMDriver, spec: DeploySpec) -> str:
        """Deploy ``spec``, remember it for cleanup, and check the reply as the core does."""
        with self._lock:
            self._deployed.add(spec.name)
        deploy_id = replies.deploy_id(driver.deploy(spec), "deploy")
        with self._lock:
            self._deployed.add(deploy_id)
        return deploy_id

    def restore(self, driver: VMMDriver, spec: DeploySpec, checkpoint: str) -> str:
        deploy_id = replies.deploy_id(driver.restore(spec, checkpoint), "restore")
        with self._lock:
            self._deployed.add(deploy_id)
        return deploy_id

    def state(self, driver: VMMDriver, host: str, deploy_id: str) -> PowerState:
        return checked_observation(driver.poll(host, deploy_id), "poll").state

    @staticmethod
    @contextlib.contextmanager
    def declared(driver: VMMDriver, capability: Capability) -> Iterator[None]:
        """Skip unless ``driver`` declares ``capability``; if it does, NotSupported inside is a failure."""
        if capability not in driver.capabilities:
            pytest.skip(f"{type(driver).__name__} does not declare {capability.name}")
        try:
            yield
        except NotSupported as exc:
            pytest.fail(f"{type(driver).__name__} declares {capability.name}, then raises NotSupported: {exc}")

    # -- the required surface ---------------------------------------------------------------------

    def test_is_a_vmm_driver_with_declared_capabilities(self, driver: VMMDriver) -> None:
        assert isinstance(driver, VMMDriver)
        assert isinstance(driver.capabilities, frozenset)
        assert all(isinstance(c, Capability) for c in driver.capabilities), driver.capabilities

    def test_deploy_runs_the_vm(self, driver: VMMDriver, spec: DeploySpec) -> None:
        """deploy() returns a deploy id the core accepts; poll() then reports the VM ACTIVE."""
        deploy_id = self.deploy(driver, spec)
        assert self.state(driver, spec.host, deploy_id) is PowerState.ACTIVE

    def test_deploy_twice_runs_one_vm(self, driver: VMMDriver, spec: DeploySpec) -> None:
        """Idempotent on the name: the second deploy returns the same id, and one cancel stops it all."""
        deploy_id = self.deploy(driver, spec)
        assert self.deploy(driver, spec) == deploy_id
        driver.cancel(spec.host, deploy_id)
        assert self.state(driver, spec.host, deploy_id) is PowerState.DELETED

    @pytest.mark.parametrize("operation", ["shutdown", "cancel"])
    def test_stopping_removes_the_vm_and_repeating_is_fine(self, driver: VMMDriver, spec: DeploySpec, operation: str) -> None:
        stop = getattr(driver, operation)
        deploy_id = self.deploy(driver, spec)
        stop(spec.host, deploy_id)
        assert self.state(driver, spec.host, deploy_id) is PowerState.DELETED
        stop(spec.host, deploy_id)  # repeated after a crash of the daemon: the VM is already gone
        assert self.state(driver, spec.host, deploy_id) is PowerState.DELETED

    @pytest.mark.parametrize("operation", ["shutdown", "cancel"])
    def test_stopping_an_unknown_vm_succeeds(self, driver: VMMDriver, spec: DeploySpec, operation: str) -> None:
        getattr(driver, operation)(spec.host, f"{spec.name}-never-deployed")

    def test_poll_of_an_unknown_vm_is_deleted_not_an_error(self, driver: VMMDriver, spec: DeploySpec) -> None:
        assert self.state(driver, spec.host, f"{spec.name}-never-deployed") is PowerState.DELETED

    def test_vms_are_independent(self, driver: VMMDriver, make_spec: MakeSpec) -> None:
        """Stopping one VM leaves another on the same host running."""
        first, second = make_spec(FIRST_VM_ID), make_spec(FIRST_VM_ID + 1)
        first_id, second_id = self.deploy(driver, first), self.deploy(driver, second)
        assert first_id != second_id
        driver.cancel(first.host, first_id)
        assert self.state(driver, second.host, second_id) is PowerState.ACTIVE
        assert self.state(driver, first.host, first_id) is PowerState.DELETED

    def test_calls_from_many_threads_at_once(self, driver: VMMDriver, make_spec: MakeSpec) -> None:
        """The core calls one instance from several workers: whole VM lives, side by side."""

        def life(spec: DeploySpec) -> PowerState:
            deploy_id = self.deploy(driver, spec)
            assert self.state(driver, spec.host, deploy_id) is PowerState.ACTIVE
            driver.cancel(spec.host, deploy_id)
            return self.state(driver, spec.host, deploy_id)

        specs = [make_spec(FIRST_VM_ID + n) for n in range(self.concurrency)]
        with ThreadPoolExecutor(self.concurrency) as pool:
            assert list(pool.map(life, specs)) == [PowerState.DELETED] * len(specs)

    # -- error cases the subclass makes happen ----------------------------------------------------

    def test_failed_deploy_leaves_nothing_in_the_way(self, driver: VMMDriver, spec: DeploySpec) -> None:
        """A refused deploy raises DriverError and leaves nothing that stops the same VM deploying later."""
        failing = self.failing_spec(spec, "deploy")
        with self._lock:
            self._deployed.add(failing.name)
        with pytest.raises(DriverError):
            driver.deploy(failing)
        deploy_id = self.deploy(driver, spec)
        assert self.state(driver, spec.host, deploy_id) is PowerState.ACTIVE

    def test_failed_shutdown_leaves_the_vm_for_cancel(self, driver: VMMDriver, spec: DeploySpec) -> None:
        """A shutdown that gives up raises DriverError with the VM still there; the core's cancel() then stops it."""
        deploy_id = self.deploy(driver, self.failing_spec(spec, "shutdown"))
        with pytest.raises(DriverError):
            driver.shutdown(spec.host, deploy_id)
        assert self.state(driver, spec.host, deploy_id) is PowerState.ACTIVE
        driver.cancel(spec.host, deploy_id)
        assert self.state(driver, spec.host, deploy_id) is PowerState.DELETED

    # -- SAVE_RESTORE -----------------------------------------------------------------------------

    def test_save_stops_the_vm_and_restore_runs_it_again(self, driver: VMMDriver, spec: DeploySpec) -> None:
        with self.declared(driver, Capability.SAVE_RESTORE):
            checkpoint = f"{spec.vm_dir}/checkpoint"  # where the core puts it
            deploy_id = self.deploy(driver, spec)
            driver.save(spec.host, deploy_id, checkpoint)
            assert self.state(driver, spec.host, deploy_id) is PowerState.DELETED
            restored = self.restore(driver, spec, checkpoint)
            assert self.state(driver, spec.host, restored) is PowerState.ACTIVE

    def test_save_and_restore_repeat_fine(self, driver: VMMDriver, spec: DeploySpec) -> None:
        """Both are repeated after a crash of the daemon: the second call finds its work done."""
        with self.declared(driver, Capability.SAVE_RESTORE):
            checkpoint = f"{spec.vm_dir}/checkpoint"
            deploy_id = self.deploy(driver, spec)
            driver.save(spec.host, deploy_id, checkpoint)
            driver.save(spec.host, deploy_id, checkpoint)
            restored = self.restore(driver, spec, checkpoint)
            assert self.restore(driver, spec, checkpoint) == restored
            driver.cancel(spec.host, restored)
            assert self.state(driver, spec.host, restored) is PowerState.DELETED  # one VM, not two

    def test_save_of_an_unknown_vm_is_vm_not_found(self, driver: VMMDriver, spec: DeploySpec) -> None:
        with self.declared(driver, Capability.SAVE_RESTORE), pytest.raises(VMNotFound):
            driver.save(spec.host, f"{spec.name}-never-deployed", f"{spec.vm_dir}/checkpoint")

    def test_restore_without_a_checkpoint_fails_and_runs_nothing(self, driver: VMMDriver, spec: DeploySpec) -> None:
        with self.declared(driver, Capability.SAVE_RESTORE):
            with self._lock:
                self._deployed.add(spec.name)
            with pytest.raises(DriverError) as raised:
                driver.restore(spec, f"{spec.vm_dir}/checkpoint")
            if isinstance(raised.value, NotSupported):
                raise raised.value  # not the failure this test is about
            assert self.state(driver, spec.host, spec.name) is PowerState.DELETED  # telling where deploy_id is the name

    # -- LIVE_MIGRATE -----------------------------------------------------------------------------

    def test_migrate_moves_the_vm_and_repeating_is_fine(
        self, driver: VMMDriver, spec: DeploySpec, other_host: str | None
    ) -> None:
        with self.declared(driver, Capability.LIVE_MIGRATE):
            if other_host is None:
                pytest.skip("no other_host to migrate to")
            deploy_id = self.deploy(driver, spec)
            driver.migrate(spec.host, deploy_id, other_host)
            assert self.state(driver, other_host, deploy_id) is PowerState.ACTIVE
            assert self.state(driver, spec.host, deploy_id) is PowerState.DELETED
            driver.migrate(spec.host, deploy_id, other_host)  # repeated: already there
            assert self.state(driver, other_host, deploy_id) is PowerState.ACTIVE

    def test_migrate_of_an_unknown_vm_is_vm_not_found(self, driver: VMMDriver, spec: DeploySpec, other_host: str | None) -> None:
        with self.declared(driver, Capability.LIVE_MIGRATE):
            if other_host is None:
                pytest.skip("no other_host to migrate to")
            with pytest.raises(VMNotFound):
                driver.migrate(spec.host, f"{spec.name}-never-deployed", other_host)

    # -- REBOOT -----------------------------------------------------------------------------------

    @pytest.mark.parametrize("hard", [False, True], ids=["acpi", "hard"])
    def test_reboot_keeps_the_vm_running(self, driver: VMMDriver, spec: DeploySpec, hard: bool) -> None:
        with self.declared(driver, Capability.REBOOT):
            deploy_id = self.deploy(driver, spec)
            driver.reboot(spec.host, deploy_id, hard)
            assert self.state(driver, spec.host, deploy_id) is PowerState.ACTIVE

    def test_reboot_of_an_unknown_vm_is_vm_not_found(self, driver: VMMDriver, spec: DeploySpec) -> None:
        with self.declared(driver, Capability.REBOOT), pytest.raises(VMNotFound):
            driver.reboot(spec.host, f"{spec.name}-never-deployed", False)


def with_template(spec: DeploySpec, **attributes: str) -> DeploySpec:
    """``spec`` with ``attributes`` set in a copy of its template: a helper for ``failing_spec()``."""
    template = spec.template.copy()
    for name, value in attributes.items():
        template.set(name, value)
    return dataclasses.replace(spec, template=template)


__all__ = ["FIRST_VM_ID", "VMMConformance", "checked_observation", "with_template"]
