"""The IM driver interface: tell the core what a host has (``IM_MAD``).

probe() blocks; the core runs it in a worker with a deadline. A host that raises, or does not
answer in time, goes to ERROR with the reason recorded, and is probed again next interval.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field

from .vmm import DriverContext


@dataclass(frozen=True)
class HostReport:
    """One probe of one host, in OpenNebula's units."""

    total_cpu: int  # cores x 100
    total_memory: int  # KB
    used_cpu: int = 0  # same scale as total_cpu
    used_memory: int = 0  # KB
    attributes: Mapping[str, str] = field(default_factory=dict)  # HYPERVISOR, ARCH, MODELNAME, ...

    @property
    def free_cpu(self) -> int:
        return self.total_cpu - self.used_cpu

    @property
    def free_memory(self) -> int:
        return self.total_memory - self.used_memory


class IMDriver(abc.ABC):
    """Probes one kind of host for capacity and usage."""

    def __init__(self, context: DriverContext) -> None:
        self.driver_context = context

    @abc.abstractmethod
    def probe(self, host: str, template: Mapping[str, str]) -> HostReport:
        """Measure ``host`` now. ``template`` holds the admin's attributes for the host.

        Raise HostUnreachable when the host does not answer, DriverError for any other failure.
        """
