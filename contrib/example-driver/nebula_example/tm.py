"""The example TM: ``TM_MAD = "example"``. Example guests keep no files, so there is nothing to transfer.

Every host needs a TM: the core runs a transfer plan around each life-cycle step (the disks
before a boot, the VM directory after a stop or a delete). A guest here is a record in
``guests``, never a disk, so each step succeeds at once, as OpenNebula's TM does for hosts that
share their storage with the front-end. A real TM copies, links and creates files here, and
must repeat each operation safely after a crash (see ``nebula_core/drivers/tm.py``).
"""

from __future__ import annotations

from nebula_core.drivers.tm import Location, TMDriver


class ExampleTM(TMDriver):
    """Transfers for guests that have no files: all succeed, none touches a disk."""

    def clone(self, source: Location, destination: Location) -> None:
        """No disk to copy."""

    def link(self, source: Location, destination: Location) -> None:
        """No disk to link."""

    def mkswap(self, size_mb: int, destination: Location) -> None:
        """No swap to make: a guest's MEMORY is only a figure."""

    def mkimage(self, size_mb: int, fs_type: str, destination: Location) -> None:
        """No blank disk to make."""

    def context(self, files: list[Location], destination: Location) -> None:
        """No CD-ROM to build."""

    def move(self, source: Location, destination: Location) -> None:
        """The VM directory was never made, so it is already wherever it is asked to be."""

    def delete(self, target: Location) -> None:
        """Already gone: nothing was ever written."""
