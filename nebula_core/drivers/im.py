"""The IM driver interface: tell the core what a host has (``IM_MAD``).

The monitor calls probe() for every host every ``monitor.host_interval``, each call in a worker
thread with the core's deadline (``drivers.timeout``), so a driver needs no timeouts of its own.
Probes of different hosts run at the same time on the one instance the core builds per
entry-point name (``Driver(DriverContext)``, constructor cheap, no connection yet): probe() must
be thread-safe. A host whose probe raises, or overruns the deadline (``DriverTimeout``), goes to
ERROR with the message recorded and its RUNNING VMs to UNKNOWN; it is probed again next interval
and comes back to MONITORED on the first probe that answers.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field

from .vmm import DriverContext


@dataclass(frozen=True)
class HostReport:
    """One probe of one host, in OpenNebula's units; figures are non-negative ``int``s, attributes strings.

    The core refuses (as a DriverError) a report that is not a HostReport or breaks those rules.
    """

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
    """Probes one kind of host for capacity and usage; the scheduler places VMs by what it reports."""

    def __init__(self, context: DriverContext) -> None:
        self.driver_context = context

    @abc.abstractmethod
    def probe(self, host: str, template: Mapping[str, str]) -> HostReport:
        """Measure ``host`` now and report its capacity, usage and attributes.

        ``template`` holds the host's single-valued attributes as the admin set them (vectors left
        out). Only reads: a probe changes nothing on the host, so repeating it is always safe, and
        two probes in a row report the same capacity unless the host itself changed. The
        ``attributes`` (HYPERVISOR, ARCH, MODELNAME, ...) join the host's monitoring, where
        REQUIREMENTS and RANK can name them.

        :raises HostUnreachable: the host did not answer (network, daemon down, refused credentials).
        :raises DriverError: any other failure, e.g. an attribute of ``template`` the driver cannot use.
        """
