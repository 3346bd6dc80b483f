"""The TM driver interface: move VM files between the front-end and the hosts (``TM_MAD``).

The core writes a transfer plan for each step (prolog, epilog, stop, resume, migrate, delete)
as a list of these primitive operations, OpenNebula 1.4's transfer-script verbs, and runs them
in order, stopping at the first failure. A ``Location`` with an empty host is the front-end.

Every operation is idempotent (the core repeats a plan after a crash) and leaves no partial
file behind: write to a temporary name and rename.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass

from .vmm import DriverContext


@dataclass(frozen=True)
class Location:
    host: str  # "" for the front-end
    path: str

    def __str__(self) -> str:
        return f"{self.host or 'frontend'}:{self.path}"


class TMDriver(abc.ABC):
    """Copies, links, creates and removes VM files for one transfer method."""

    def __init__(self, context: DriverContext) -> None:
        self.driver_context = context

    @abc.abstractmethod
    def clone(self, source: Location, destination: Location) -> None:
        """Copy an image to where the VM will use it."""

    @abc.abstractmethod
    def link(self, source: Location, destination: Location) -> None:
        """Make ``destination`` refer to ``source`` without copying (persistent disks)."""

    @abc.abstractmethod
    def mkswap(self, size_mb: int, destination: Location) -> None:
        """Create a swap disk of ``size_mb``."""

    @abc.abstractmethod
    def mkimage(self, size_mb: int, fs_type: str, destination: Location) -> None:
        """Create a blank disk of ``size_mb``, formatted with ``fs_type`` unless it is "raw"."""

    @abc.abstractmethod
    def context(self, files: list[Location], destination: Location) -> None:
        """Build the context CD-ROM holding ``files`` at ``destination``."""

    @abc.abstractmethod
    def move(self, source: Location, destination: Location) -> None:
        """Move a file or directory; succeeds if the source is gone and the destination exists."""

    @abc.abstractmethod
    def delete(self, target: Location) -> None:
        """Remove a file or directory; succeeds if it is already gone."""
