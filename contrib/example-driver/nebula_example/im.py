"""The example IM: ``IM_MAD = "example"``. Every example host is this machine, so measure it."""

from __future__ import annotations

import os
import platform
from collections.abc import Mapping

from nebula_core.drivers.im import HostReport, IMDriver
from nebula_core.drivers.vmm import DriverContext

from .guests import Guests


class ExampleIM(IMDriver):
    """Capacity from the front-end's cores and memory, usage from the guests on the host."""

    def __init__(self, context: DriverContext) -> None:
        super().__init__(context)
        self.guests = Guests(context.var_dir / "example")  # the same directory as the VMM's

    def probe(self, host: str, template: Mapping[str, str]) -> HostReport:
        running = self.guests.on_host(host)
        return HostReport(
            total_cpu=(os.cpu_count() or 1) * 100,
            total_memory=os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 1024,
            used_cpu=round(sum(guest.cpu for guest in running) * 100),
            used_memory=sum(guest.memory for guest in running) * 1024,
            attributes={"HYPERVISOR": "example", "ARCH": platform.machine(), "HOSTNAME": host},
        )
