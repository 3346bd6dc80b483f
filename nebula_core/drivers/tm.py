"""The TM driver interface: move VM files between the front-end and the hosts (``TM_MAD``).

The core writes a transfer plan for each step as these primitive operations, OpenNebula 1.4's
transfer-script verbs, and runs them in order, stopping at the first failure (the VM then goes
to the step's failure state with the message):

- prolog: clone, link, mkswap or mkimage for each DISK, to ``<vm_dir>/disk.<i>`` on the host;
- epilog: delete ``vm_dir`` on the host; stop: move it to the front-end; resume: move it back;
- cold migration: move ``vm_dir`` from the old host to the new one; delete: delete it wherever it is.

A ``Location`` with an empty host is the front-end, a path there is local to the daemon's machine.
Each step runs in a worker thread with the core's deadline (``drivers.timeout``, for the whole
plan), so a driver needs no timeouts of its own. Steps of different VMs run at the same time on
the one instance the core builds per entry-point name (``Driver(DriverContext)``, constructor
cheap): every operation must be thread-safe.

Every operation is idempotent (the core repeats a plan after a crash) and leaves no partial
file behind: write to a temporary name and rename. Operations that write ``destination`` create
its missing parent directories (the first disk of a prolog creates ``vm_dir``) and replace
whatever was there. Each raises ``HostUnreachable`` when a host does not answer and
``DriverError`` for any other failure (a missing source, a full disk); nothing is returned.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass

from .vmm import DriverContext


@dataclass(frozen=True)
class Location:
    """A file or directory on one machine."""

    host: str  # "" for the front-end
    path: str

    def __str__(self) -> str:
        return f"{self.host or 'frontend'}:{self.path}"


class TMDriver(abc.ABC):
    """Copies, links, creates and removes VM files for one transfer method (shared storage, ssh, ...)."""

    def __init__(self, context: DriverContext) -> None:
        self.driver_context = context

    @abc.abstractmethod
    def clone(self, source: Location, destination: Location) -> None:
        """Copy an image (a front-end file, or one already on a host) to where the VM will use it.

        A repeated call replaces ``destination`` with a fresh copy. A missing source is a DriverError.
        """

    @abc.abstractmethod
    def link(self, source: Location, destination: Location) -> None:
        """Make ``destination`` refer to ``source`` without copying (persistent disks, CLONE = NO).

        The VM's writes reach ``source``. A repeated call leaves one link to ``source``.
        """

    @abc.abstractmethod
    def mkswap(self, size_mb: int, destination: Location) -> None:
        """Create a swap disk of ``size_mb`` MB (DISK TYPE = swap), formatted as swap.

        A repeated call replaces it with a fresh one.
        """

    @abc.abstractmethod
    def mkimage(self, size_mb: int, fs_type: str, destination: Location) -> None:
        """Create a blank disk of ``size_mb`` MB (DISK TYPE = fs), formatted with ``fs_type`` unless it is "raw".

        ``fs_type`` is the DISK's FORMAT (``ext3``, ``raw``, ...); one the driver cannot make is a
        DriverError. A repeated call replaces it with a fresh one.
        """

    @abc.abstractmethod
    def context(self, files: list[Location], destination: Location) -> None:
        """Build the context CD-ROM (an ISO image) holding ``files`` at ``destination``.

        ``files`` are front-end locations, each put at the top of the image under its own name.
        A repeated call replaces the image.
        """

    @abc.abstractmethod
    def move(self, source: Location, destination: Location) -> None:
        """Move a file or directory, replacing ``destination``; the source is gone afterwards.

        Succeeds if the source is already gone and the destination exists (a repeated call).
        """

    @abc.abstractmethod
    def delete(self, target: Location) -> None:
        """Remove a file, or a directory with everything in it; succeeds if it is already gone."""
