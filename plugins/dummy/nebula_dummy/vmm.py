"""The dummy VMM: VMs that exist only as records, for tests and scale runs of the core.

deploy_id is the domain name the core asks for (``one-7``). Every call for a known VM first
suffers the faults injected by its template (see ``faults``), holding no lock, then changes its
record under the hypervisor's lock, re-reading it since another thread may have got there first.
"""

from __future__ import annotations

import dataclasses
import time
from typing import ClassVar

from nebula_core.drivers.errors import DriverError, VMNotFound
from nebula_core.drivers.vmm import Capability, DeploySpec, DriverContext, Observation, PowerState, VMMDriver

from . import attributes
from .faults import VMM_OPS, Faults
from .hypervisor import Hypervisor
from .records import Record

NETRX_RATE = 12_500  # bytes per second since boot: counters that grow, like a quiet 100 kbit/s link
NETTX_RATE = 6_250


def _boot(spec: DeploySpec) -> Record:
    """A running record for ``spec``; DriverError naming the attribute if the template is bad."""
    return Record(
        host=spec.host,
        deploy_id=spec.name,
        vm_id=spec.vm_id,
        cpu=attributes.number(spec.template, "CPU", 1.0),
        memory=attributes.count(spec.template, "MEMORY", 0),
        faults=Faults.read(spec.template, VMM_OPS),
        booted=time.time(),
    )


class DummyVMM(VMMDriver):
    """A hypervisor that always obliges, unless its VMs' templates ask it not to."""

    capabilities: ClassVar[frozenset[Capability]] = frozenset(Capability)

    def __init__(self, context: DriverContext) -> None:
        super().__init__(context)
        self.hypervisor = Hypervisor(context.var_dir / "dummy")

    def _need(self, host: str, deploy_id: str) -> Record:
        record = self.hypervisor.running(host, deploy_id)
        if record is None:
            raise VMNotFound(f"dummy: no VM {deploy_id} on {host}")
        return record

    def deploy(self, spec: DeploySpec) -> str:
        """Record the VM as running; nothing is written if the template or an injected fault says no."""
        fresh = _boot(spec)
        fresh.faults.apply("deploy")
        with self.hypervisor.lock:
            if self.hypervisor.running(spec.host, spec.name) is None:
                self.hypervisor.put(fresh)
        return spec.name

    def shutdown(self, host: str, deploy_id: str) -> None:
        self._stop("shutdown", host, deploy_id)

    def cancel(self, host: str, deploy_id: str) -> None:
        self._stop("cancel", host, deploy_id)

    def _stop(self, op: str, host: str, deploy_id: str) -> None:
        """Shutdown and cancel alike drop the record; a VM already gone (or saved) is fine."""
        record = self.hypervisor.running(host, deploy_id)
        if record is None:
            return
        record.faults.apply(op)
        with self.hypervisor.lock:
            if self.hypervisor.running(host, deploy_id) is not None:
                self.hypervisor.drop((host, deploy_id))

    def poll(self, host: str, deploy_id: str) -> Observation:
        """ACTIVE with the template's allocation as usage, DELETED if not running here."""
        record = self.hypervisor.running(host, deploy_id)
        if record is None:
            return Observation(PowerState.DELETED)
        record.faults.apply("poll")
        up = max(0.0, time.time() - record.booted)
        return Observation(
            PowerState.ACTIVE,
            cpu=record.cpu * 100,  # a dummy guest keeps its whole CPU share busy
            memory=record.memory * 1024,
            netrx=int(up * NETRX_RATE),
            nettx=int(up * NETTX_RATE),
        )

    def reboot(self, host: str, deploy_id: str, hard: bool) -> None:
        """Count the reboot in the record: that is all a dummy guest can show of one."""
        self._need(host, deploy_id).faults.apply("reboot")
        with self.hypervisor.lock:
            record = self._need(host, deploy_id)
            self.hypervisor.put(dataclasses.replace(record, reboots=record.reboots + 1))

    def save(self, host: str, deploy_id: str, checkpoint: str) -> None:
        """Mark the record saved to ``checkpoint``; poll then says DELETED. Repeating it is fine."""
        record = self.hypervisor.get(host, deploy_id)
        if record is None or (record.saved and record.checkpoint != checkpoint):
            raise VMNotFound(f"dummy: no VM {deploy_id} on {host}")
        record.faults.apply("save")
        with self.hypervisor.lock:
            record = self.hypervisor.get(host, deploy_id)
            if record is not None and record.saved and record.checkpoint == checkpoint:
                return
            record = self._need(host, deploy_id)
            self.hypervisor.put(dataclasses.replace(record, saved=True, checkpoint=checkpoint))

    def restore(self, spec: DeploySpec, checkpoint: str) -> str:
        """Run the saved VM again on ``spec.host``, whichever host saved it.

        The checkpoint is looked up by path, else by name: the dummy TM moves no files, so after a
        cold migration the path the core gives is not the one save() was handed.
        """
        fresh = _boot(spec)
        fresh.faults.apply("restore")
        with self.hypervisor.lock:
            if self.hypervisor.running(spec.host, spec.name) is not None:
                return spec.name  # restored before a crash of the daemon
            candidates = self.hypervisor.saved(spec.name)
            exact = [record for record in candidates if record.checkpoint == checkpoint]
            if not (exact or candidates):
                raise DriverError(f"dummy: no checkpoint {checkpoint} for {spec.name}")
            saved = (exact or candidates)[0]
            self.hypervisor.put(dataclasses.replace(fresh, booted=saved.booted, reboots=saved.reboots))
            if saved.key != fresh.key:
                self.hypervisor.drop(saved.key)
        return spec.name

    def migrate(self, host: str, deploy_id: str, destination: str) -> None:
        """Move the record to ``destination``; fine if a crashed earlier call already did."""
        record = self._to_move(host, deploy_id, destination)
        if record is None:
            return
        record.faults.apply("migrate")
        with self.hypervisor.lock:
            record = self._to_move(host, deploy_id, destination)
            if record is not None and destination != host:
                self.hypervisor.put(dataclasses.replace(record, host=destination))
                self.hypervisor.drop(record.key)

    def _to_move(self, host: str, deploy_id: str, destination: str) -> Record | None:
        """The VM on ``host``, or None if it already runs on ``destination``."""
        record = self.hypervisor.running(host, deploy_id)
        if record is None and self.hypervisor.running(destination, deploy_id) is None:
            raise VMNotFound(f"dummy: no VM {deploy_id} on {host}")
        return record
