"""The VMM driver interface: start, watch and stop VMs on one kind of hypervisor (``VM_MAD``).

Vocabulary: ``vm_id`` is Nebula's number for a VM; ``deploy_id`` is the hypervisor's name for it,
returned by deploy() or restore() and handed back unread (1-255 printable characters, else the
core refuses the reply). ``host`` is the host's name as the admin registered it. ``spec.name``
(``one-<vm_id>``) is the domain name to use, and stays the same for the VM's whole life.

The core builds one instance per entry-point name, ``Driver(DriverContext)``, lazily on first
use, and shares it. Calls block and arrive from several worker threads at once, on different VMs
and on the same one: a call the core gave up on may still be running when the next call for
that VM (cancel() after a timed-out shutdown()) starts. So every method must be thread-safe and
the constructor cheap (no connection to a host: hosts come and go at run time).

Deadlines are the core's: each life-cycle step runs in a worker with ``drivers.timeout``; a call
that overruns counts as failed with ``DriverTimeout`` and its late result is dropped. A driver
needs no timeouts or threads of its own for that; a hung host costs one worker, not the daemon.

Contract for every method:
- raise from ``nebula_core.drivers.errors``, never return an error: ``HostUnreachable`` when the
  host does not answer, ``VMNotFound`` where a method says so, ``DriverError`` for anything else
  (its message becomes the VM's ERROR). Anything else raised counts as DriverError, with its type
  name in the message: a bug, not a contract.
- be idempotent where it says so: after a crash the daemon repeats the step it had committed, so
  a call may arrive for work the hypervisor has already done.
- leave nothing behind on failure (a failed deploy defines no domain on the host).

Optional operations are declared in ``capabilities``; the core refuses an undeclared one before
calling the driver, and the test kit skips it. A declared operation must work: raising
``NotSupported`` from it fails the test kit.
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
    """An optional VMM operation; a driver lists the ones it implements in ``capabilities``."""

    SAVE_RESTORE = "save_restore"  # save() and restore(): stop/suspend with a checkpoint, and cold migration
    LIVE_MIGRATE = "live_migrate"  # migrate()
    REBOOT = "reboot"  # reboot(): ACPI reboot and hard reset


class PowerState(enum.Enum):
    """What the hypervisor reports, as OpenNebula's poll states (a, p, e, d, -).

    The monitor acts on it: a RUNNING VM seen DELETED or ERROR goes to UNKNOWN, one seen PAUSED
    to SUSPENDED, an UNKNOWN one seen ACTIVE back to RUNNING; UNKNOWN changes nothing.
    """

    ACTIVE = "a"  # running (or booting)
    PAUSED = "p"  # paused on the hypervisor (the core itself suspends with save())
    ERROR = "e"  # the hypervisor knows the VM but it failed (crashed)
    DELETED = "d"  # the hypervisor does not know the VM, or keeps it only as a saved checkpoint
    UNKNOWN = "-"  # the driver cannot tell


@dataclass(frozen=True)
class Observation:
    """One poll of one VM. Usage figures are None when the driver cannot tell; none is negative."""

    state: PowerState
    cpu: float | None = None  # % of one CPU
    memory: int | None = None  # KB
    netrx: int | None = None  # bytes received
    nettx: int | None = None  # bytes sent
    extra: Mapping[str, str] = field(default_factory=dict)  # more monitoring attributes, UPPERCASE names


@dataclass(frozen=True)
class DeploySpec:
    """Everything needed to start one VM on one host."""

    vm_id: int
    host: str
    name: str  # the domain name to use, e.g. "one-7"
    template: Template  # the VM's system attributes (CPU, VCPU, MEMORY, DISK, NIC, OS, ...), then the user's
    vm_dir: str  # the VM's directory on the host, where the TM put its disks (disk.0, disk.1, ...)


@dataclass(frozen=True)
class DriverContext:
    """What the core hands every driver it builds."""

    var_dir: Path  # the front-end's state directory; a driver may keep files under var_dir/<kind>/<name>
    options: Mapping[str, str] = field(default_factory=dict)


class VMMDriver(abc.ABC):
    """Starts, watches and stops VMs on one kind of hypervisor (``VM_MAD``).

    The four abstract methods are the required surface; reboot, save/restore and migrate are
    optional and work only when ``capabilities`` declares them. The core calls:

    - deploy() to boot a VM (after the TM's prolog put its disks in ``spec.vm_dir``);
    - poll() every ``monitor.vm_interval`` for each RUNNING or UNKNOWN VM;
    - shutdown() for a graceful stop, and cancel() when that fails, for a hard one, and to
      clean up after a delete (cancel() then may meet a VM that never booted or is saved);
    - save() then restore() to stop/suspend and resume a VM, or to move it cold (the TM moves
      ``vm_dir`` and its checkpoint between the two); migrate() to move it live.
    """

    capabilities: ClassVar[frozenset[Capability]] = frozenset()

    def __init__(self, context: DriverContext) -> None:
        self.driver_context = context

    @abc.abstractmethod
    def deploy(self, spec: DeploySpec) -> str:
        """Define and boot the VM on ``spec.host``; return its deploy_id once the hypervisor runs it.

        Afterwards poll() reports it ACTIVE. Idempotent on ``spec.name``: deploying a name that
        already runs on the host returns its deploy_id and starts nothing (the core repeats a deploy
        interrupted by a crash). On failure, leave nothing on the host: the core may deploy the
        same name again, here or elsewhere.

        :raises HostUnreachable: the host did not answer.
        :raises DriverError: the hypervisor refused the VM, or the template is unusable (say which attribute).
        """

    @abc.abstractmethod
    def shutdown(self, host: str, deploy_id: str) -> None:
        """Ask the guest to power off (ACPI), wait until it is gone, and undefine it.

        Afterwards poll() reports it DELETED. Succeeds if the VM is already gone, was never there,
        or is only a saved checkpoint (a repeated call). The guest may ignore the request: give up
        after a while of the driver's own choosing, or let the core's deadline end the call; either
        way the core then falls back to cancel().

        :raises HostUnreachable: the host did not answer.
        :raises DriverError: the VM still runs when the driver gives up; it must still be there, for cancel().
        """

    @abc.abstractmethod
    def cancel(self, host: str, deploy_id: str) -> None:
        """Power the VM off at once (destroy) and undefine it.

        Afterwards poll() reports it DELETED. Succeeds if the VM is already gone, was never there,
        or is only a saved checkpoint: cancel is how the core cleans up whatever a VM left, so it
        must not fail for lack of something to stop.

        :raises HostUnreachable: the host did not answer.
        :raises DriverError: the hypervisor refused to stop a VM it runs.
        """

    @abc.abstractmethod
    def poll(self, host: str, deploy_id: str) -> Observation:
        """What the hypervisor sees of the VM now, with its usage when known.

        ``PowerState.DELETED`` when the hypervisor does not know the VM on that host (never
        VMNotFound). Changes nothing on the host, and is cheap: the core polls every VM of every
        host each interval. A poll that raises is logged and the VM left as it was.

        :raises HostUnreachable: the host did not answer.
        :raises DriverError: the hypervisor's answer could not be read.
        """

    def reboot(self, host: str, deploy_id: str, hard: bool) -> None:
        """Reboot the guest (ACPI), or reset it at once when ``hard``. Needs REBOOT.

        Returns once the hypervisor accepted the request; the VM stays ACTIVE throughout. A failure
        is logged and changes the VM's state in nothing.

        :raises VMNotFound: the VM does not run on ``host``.
        :raises HostUnreachable: the host did not answer.
        :raises DriverError: the hypervisor refused.
        """
        raise NotSupported(f"{type(self).__name__} does not declare this operation")

    def save(self, host: str, deploy_id: str, checkpoint: str) -> None:
        """Write the VM's memory to ``checkpoint`` (a path on the host, in its vm_dir) and stop it. Needs SAVE_RESTORE.

        Afterwards poll() reports it DELETED and restore() can start it from ``checkpoint``.
        Succeeds if the VM is gone and the checkpoint exists (a repeated call after a crash).

        :raises VMNotFound: the VM neither runs on ``host`` nor was saved to ``checkpoint``.
        :raises HostUnreachable: the host did not answer.
        :raises DriverError: the save failed; the VM must still be running.
        """
        raise NotSupported(f"{type(self).__name__} does not declare this operation")

    def restore(self, spec: DeploySpec, checkpoint: str) -> str:
        """Start the VM from ``checkpoint`` on ``spec.host``; return the deploy_id. Needs SAVE_RESTORE.

        ``checkpoint`` is ``<spec.vm_dir>/checkpoint``: after a cold migration the TM moved it there
        from the host that saved it. Afterwards poll() reports the VM ACTIVE on ``spec.host``.
        Idempotent: if the VM already runs there (restored before a crash), return its deploy_id.

        :raises HostUnreachable: the host did not answer.
        :raises DriverError: no usable checkpoint, or the hypervisor refused; leave nothing running.
        """
        raise NotSupported(f"{type(self).__name__} does not declare this operation")

    def migrate(self, host: str, deploy_id: str, destination: str) -> None:
        """Move the running VM from ``host`` to ``destination`` without stopping it. Needs LIVE_MIGRATE.

        Both hosts use this driver; the TM moves nothing for a live migration, so the hosts share
        the VM's storage or the driver copies it. Afterwards poll() reports it ACTIVE on ``destination`` and DELETED on ``host``,
        under the same deploy_id. Succeeds if the VM already runs on ``destination`` (a repeated call).

        :raises VMNotFound: the VM runs on neither host.
        :raises HostUnreachable: either host did not answer.
        :raises DriverError: the migration failed; the VM must still run on ``host``.
        """
        raise NotSupported(f"{type(self).__name__} does not declare this operation")
