"""The dummy TM, as OpenNebula's: every operation succeeds and touches nothing.

It still checks its arguments, so a core that builds a wrong transfer plan fails with the dummy
as it would with a real TM.
"""

from __future__ import annotations

from nebula_core.drivers.errors import DriverError
from nebula_core.drivers.tm import Location, TMDriver


def _check(*locations: Location) -> None:
    for location in locations:
        if not (isinstance(location, Location) and isinstance(location.host, str) and isinstance(location.path, str)):
            raise DriverError(f"dummy: expected a Location, got {location!r}")
        if not location.path:
            raise DriverError(f"dummy: empty path in {location}")


def _size(size_mb: int) -> None:
    if isinstance(size_mb, bool) or not isinstance(size_mb, int) or size_mb < 0:
        raise DriverError(f"dummy: size must be a non-negative integer of MB, not {size_mb!r}")


class DummyTM(TMDriver):
    """Transfers that always succeed and leave no trace."""

    def clone(self, source: Location, destination: Location) -> None:
        _check(source, destination)

    def link(self, source: Location, destination: Location) -> None:
        _check(source, destination)

    def mkswap(self, size_mb: int, destination: Location) -> None:
        _size(size_mb)
        _check(destination)

    def mkimage(self, size_mb: int, fs_type: str, destination: Location) -> None:
        _size(size_mb)
        if not (isinstance(fs_type, str) and fs_type):
            raise DriverError(f"dummy: fs_type must be a non-empty string, not {fs_type!r}")
        _check(destination)

    def context(self, files: list[Location], destination: Location) -> None:
        if not isinstance(files, list):
            raise DriverError(f"dummy: files must be a list of Location, not {files!r}")
        _check(*files, destination)

    def move(self, source: Location, destination: Location) -> None:
        _check(source, destination)

    def delete(self, target: Location) -> None:
        _check(target)
