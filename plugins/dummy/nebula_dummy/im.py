"""The dummy IM: a host as big as its template says, as busy as the dummy VMs on it.

Usage comes from the dummy VMM's hypervisor in memory when this process has one (the daemon
does), else from the record files, which are what the VMM writes through to.
"""

from __future__ import annotations

from collections.abc import Mapping

from nebula_core.drivers.errors import HostUnreachable
from nebula_core.drivers.im import HostReport, IMDriver

from . import attributes, records
from .faults import IM_OPS, Faults
from .hypervisor import live

DEFAULT_CPU = 800  # cores x 100, as OpenNebula's dummy host
DEFAULT_MEMORY = 16_777_216  # KB


class DummyIM(IMDriver):
    """Reports ``DUMMY_CPU`` / ``DUMMY_MEMORY`` from the host template, or OpenNebula's dummy figures."""

    def probe(self, host: str, template: Mapping[str, str]) -> HostReport:
        """Capacity from the template, usage from the running dummy VMs; faults from the template."""
        faults = Faults.read(template, IM_OPS)
        total_cpu = attributes.count(template, "DUMMY_CPU", DEFAULT_CPU)
        total_memory = attributes.count(template, "DUMMY_MEMORY", DEFAULT_MEMORY)
        faults.apply("probe", HostUnreachable(f"dummy: host {host} does not answer"))
        root = self.driver_context.var_dir / "dummy"
        hypervisor = live(root)
        on_host = hypervisor.on_host(host) if hypervisor is not None else records.read_host(root, host)
        running = [vm for vm in on_host if not vm.saved]
        return HostReport(
            total_cpu=total_cpu,
            total_memory=total_memory,
            used_cpu=sum(round(vm.cpu * 100) for vm in running),
            used_memory=sum(vm.memory * 1024 for vm in running),
            attributes={
                "HYPERVISOR": "dummy",
                "ARCH": "x86_64",
                "MODELNAME": "Dummy CPU",
                "CPUSPEED": "2000",
                "HOSTNAME": host,
            },
        )
