"""The example VMM: ``VM_MAD = "example"``. A guest runs while its file exists (see ``guests``).

Only the required operations are written; ``capabilities`` stays empty, so the core refuses
save, migrate and reboot for these hosts before it calls the driver.
"""

from __future__ import annotations

from nebula_core.drivers.errors import DriverError
from nebula_core.drivers.vmm import DeploySpec, DriverContext, Observation, PowerState, VMMDriver

from .guests import Guest, Guests


class ExampleVMM(VMMDriver):
    """Boots guests by writing their files and stops them by removing the files."""

    def __init__(self, context: DriverContext) -> None:
        super().__init__(context)
        self.guests = Guests(context.var_dir / "example")

    def deploy(self, spec: DeploySpec) -> str:
        """Start the guest; the deploy_id is the name the core asks for (``one-<vm_id>``)."""
        guest = Guest(vm_id=spec.vm_id, cpu=_number(spec, "CPU", 1.0), memory=int(_number(spec, "MEMORY", 0)))
        if self.guests.find(spec.host, spec.name) is None:  # deployed before a restart: leave it be
            self.guests.add(spec.host, spec.name, guest)
        return spec.name

    def shutdown(self, host: str, deploy_id: str) -> None:
        """An example guest always obeys the power button at once."""
        self.guests.remove(host, deploy_id)

    def cancel(self, host: str, deploy_id: str) -> None:
        self.guests.remove(host, deploy_id)

    def poll(self, host: str, deploy_id: str) -> Observation:
        guest = self.guests.find(host, deploy_id)
        if guest is None:
            return Observation(PowerState.DELETED)
        return Observation(PowerState.ACTIVE, cpu=guest.cpu * 100, memory=guest.memory * 1024)


def _number(spec: DeploySpec, name: str, default: float) -> float:
    """A non-negative number from the VM's template; a bad one refuses the deploy, naming it."""
    text = spec.template.get_str(name)
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:  # also refuses NaN
        raise DriverError(f"example: {name} must be a non-negative number, not {text!r}")
    return value
