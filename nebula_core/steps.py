"""Running one life-cycle step against the drivers: what each ``Op`` means in driver calls.

An ``Order`` is a snapshot taken when the step was committed; the code here never touches the
database, so it can run in any worker thread and be repeated after a crash.
"""

from __future__ import annotations

from dataclasses import dataclass

from .drivers import replies
from .drivers.errors import DriverError
from .drivers.manager import Drivers
from .drivers.tm import Location, TMDriver
from .drivers.vmm import DeploySpec
from .lifecycle import Op
from .states import LCMState
from .template import Template


@dataclass(frozen=True)
class Placement:
    """Where a VM is (or was): the host and the drivers it named."""

    host: str
    vm_mad: str
    tm_mad: str
    vm_dir: str


@dataclass(frozen=True)
class Order:
    """One step to run for one VM, as committed."""

    vm_id: int
    step: int  # the VM's step counter when committed: a result for another step is stale
    lcm: LCMState
    op: Op | None  # None for a VM not mid-step (a reboot)
    hard: bool
    name: str
    deploy_id: str
    template: Template
    here: Placement
    previous: Placement | None  # the host a migration comes from
    frontend_dir: str  # where a stopped VM's files wait on the front-end

    @property
    def label(self) -> str:
        return f"VM {self.vm_id} {self.op.value if self.op else 'call'} on {self.here.host}"


def execute(drivers: Drivers, order: Order) -> str | None:
    """Run the order's step; return the new deploy_id for boots. Raises DriverError on failure."""
    here, prev = order.here, order.previous
    vmm, tm = drivers.vmm.get(here.vm_mad), drivers.tm.get(here.tm_mad)
    spec = DeploySpec(order.vm_id, here.host, order.name, order.template, here.vm_dir)
    checkpoint = f"{here.vm_dir}/checkpoint"
    match order.op:
        case Op.PROLOG:
            _prolog(tm, order)
        case Op.PROLOG_RESUME:
            tm.move(Location("", order.frontend_dir), Location(here.host, here.vm_dir))
        case Op.PROLOG_MIGRATE:
            assert prev is not None
            tm.move(Location(prev.host, prev.vm_dir), Location(here.host, here.vm_dir))
        case Op.DEPLOY:
            return replies.deploy_id(vmm.deploy(spec), f"{here.vm_mad} deploy")
        case Op.RESTORE:
            return replies.deploy_id(vmm.restore(spec, checkpoint), f"{here.vm_mad} restore")
        case Op.SHUTDOWN if order.hard:
            vmm.cancel(here.host, order.deploy_id)
        case Op.SHUTDOWN:
            vmm.shutdown(here.host, order.deploy_id)
        case Op.SAVE:
            where = prev if order.lcm == LCMState.SAVE_MIGRATE and prev else here
            drivers.vmm.get(where.vm_mad).save(where.host, order.deploy_id, f"{where.vm_dir}/checkpoint")
        case Op.MIGRATE:
            assert prev is not None
            drivers.vmm.get(prev.vm_mad).migrate(prev.host, order.deploy_id, here.host)
        case Op.EPILOG:
            tm.delete(Location(here.host, here.vm_dir))
        case Op.EPILOG_STOP:
            tm.move(Location(here.host, here.vm_dir), Location("", order.frontend_dir))
        case Op.CLEANUP:
            _cleanup(drivers, order)
    return None


def _prolog(tm: TMDriver, order: Order) -> None:
    """Put each DISK where the VM will use it, as 1.4's prolog script did (disk.<i> in the VM dir)."""
    host, vm_dir = order.here.host, order.here.vm_dir
    for index, disk in enumerate(order.template.vectors("DISK")):
        target = Location(host, f"{vm_dir}/disk.{index}")
        kind = disk.get("TYPE", "").lower()
        size = int(disk.get("SIZE", "0") or 0)
        if kind == "swap":
            tm.mkswap(size, target)
        elif kind == "fs":
            tm.mkimage(size, disk.get("FORMAT", "raw"), target)
        elif "SOURCE" in disk:
            source = _location(disk["SOURCE"])
            if disk.get("CLONE", "YES").upper() == "NO":
                tm.link(source, target)
            else:
                tm.clone(source, target)


def _location(source: str) -> Location:
    """A DISK SOURCE is a front-end path, or ``host:path`` for a file already on a host."""
    host, sep, path = source.partition(":")
    if sep and not source.startswith("/") and "/" not in host:
        return Location(host, path)
    return Location("", source)


def _cleanup(drivers: Drivers, order: Order) -> None:
    """Destroy whatever is left of the VM, wherever it may be; missing pieces are fine."""
    errors: list[str] = []
    places = [p for p in (order.here, order.previous) if p is not None]
    for place in places:
        try:
            if order.deploy_id:
                drivers.vmm.get(place.vm_mad).cancel(place.host, order.deploy_id)
            drivers.tm.get(place.tm_mad).delete(Location(place.host, place.vm_dir))
        except DriverError as exc:
            errors.append(f"{place.host}: {exc}")
    drivers.tm.get(order.here.tm_mad).delete(Location("", order.frontend_dir))
    if errors:
        raise DriverError("; ".join(errors))
