"""The VMM driver interface: start, watch and stop VMs on one kind of hypervisor.

Vocabulary: ``vm_id`` is Nebula's number for a VM; ``deploy_id`` is the hypervisor's name for it,
returned by deploy() or restore() and handed back unread. ``host`` is the host's name as the
admin registered it. Every call blocks; the core runs each in a worker thread with a deadline
(``drivers.timeout``), so a driver needs no threads or timeouts of its own for that.

Contract for every method:
- raise from ``nebula_core.drivers.errors`` (DriverError and its kin); never return an error.
- be idempotent where it says so: the core may repeat a call after a crash of the daemon.
- leave nothing behind on failure (a failed deploy defines no domain on the host).

Optional operations are declared in ``capabilities``; the core refuses an undeclared one before
calling the driver, and the test kit skips it.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from ..template import Template
from .errors import NotSupported


class Capability(enum.Enum):
    SAVE_RESTORE = "save_restore"  # stop/suspend with a checkpoint, and cold migration
    LIVE_MIGRATE = "live_migrate"
    REBOOT = "reboot"  # ACPI reboot and hard reset


class PowerState(enum.Enum):
    """What the hypervisor reports, as OpenNebula's poll states (a, p, e, d, -)."""

    ACTIVE = "a"
    PAUSED = "p"
    ERROR = "e"
    DELETED = "d"  # the hypervisor does not know the VM
    UNKNOWN = "-"


@dataclass(frozen=True)
class Observation:
    """One poll of one VM. Usage figures are None when the driver cannot tell."""

    state: PowerState
    cpu: float | None = None  # % of one CPU
    memory: int | None = None  # KB
    netrx: int | None = None  # bytes received
    nettx: int | None = None  # bytes sent
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DeploySpec:
    """Everything needed to start one VM on one host."""

    vm_id: int
    host: str
    name: str  # the domain name to use, e.g. "one-7"
    template: Template  # the VM's system attributes (CPU, VCPU, MEMORY, DISK, NIC, OS, ...), then the user's
    vm_dir: str  # the VM's directory on the host, where the TM put its disks


@dataclass(frozen=True)
class DriverContext:
    """What the core hands every driver it builds."""

    var_dir: Path  # the front-end's state directory; a driver may keep files under var_dir/<kind>/<name>
    options: Mapping[str, str] = field(default_factory=dict)


class VMMDriver(abc.ABC):
    """Starts, watches and stops VMs on one kind of hypervisor (``VM_MAD``)."""

    capabilities: ClassVar[frozenset[Capability]] = frozenset()

    def __init__(self, context: DriverContext) -> None:
        self.driver_context = context

    @abc.abstractmethod
    def deploy(self, spec: DeploySpec) -> str:
        """Define and boot the VM; return its deploy_id. On failure, leave nothing on the host.

        Idempotent on the name: deploying a name that already runs returns its deploy_id.
        """

    @abc.abstractmethod
    def shutdown(self, host: str, deploy_id: str) -> None:
        """Ask the guest to power off (ACPI) and wait until it is gone.

        Raise DriverError if it is still running when the driver gives up; the core then
        falls back to cancel(). Succeeds if the VM is already gone.
        """

    @abc.abstractmethod
    def cancel(self, host: str, deploy_id: str) -> None:
        """Power the VM off at once and undefine it. Succeeds if the VM is already gone."""

    @abc.abstractmethod
    def poll(self, host: str, deploy_id: str) -> Observation:
        """What the hypervisor sees now; ``PowerState.DELETED`` if it does not know the VM."""

    def reboot(self, host: str, deploy_id: str, hard: bool) -> None:
        """Reboot the guest (ACPI), or reset it at once when ``hard``. Needs REBOOT."""
        raise NotSupported(f"{type(self).__name__} does not declare this operation")

    def save(self, host: str, deploy_id: str, checkpoint: str) -> None:
        """Write the VM's memory to ``checkpoint`` (a path on the host) and stop it. Needs SAVE_RESTORE.

        Succeeds if the VM is gone and the checkpoint exists (a repeated call after a crash).
        """
        raise NotSupported(f"{type(self).__name__} does not declare this operation")

    def restore(self, spec: DeploySpec, checkpoint: str) -> str:
        """Start the VM from ``checkpoint`` on ``spec.host``; return the deploy_id. Needs SAVE_RESTORE."""
        raise NotSupported(f"{type(self).__name__} does not declare this operation")

    def migrate(self, host: str, deploy_id: str, destination: str) -> None:
        """Move the running VM to ``destination`` without stopping it. Needs LIVE_MIGRATE."""
        raise NotSupported(f"{type(self).__name__} does not declare this operation")
