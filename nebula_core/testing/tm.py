"""The TM conformance suite: what ``nebula_core.drivers.tm`` promises, checked against one driver.

Subclass it in the plugin's tests and name the entry point, or override the ``driver`` fixture::

    class TestMyTM(TMConformance):
        entry_point = "mydriver"

        def exists(self, location):
            return Path(location.path).exists()  # a TM whose hosts share the test's file system

The suite talks to the driver only through ``TMDriver``, which has no way to look at files: the
plans and their repetition always run, and what they leave behind is checked when the subclass
provides ``exists()`` (skipped, with the reason, when it does not).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import ClassVar

import pytest

from ..drivers.errors import DriverError
from ..drivers.tm import Location, TMDriver
from .suite import Conformance


def inside(directory: Location, name: str) -> Location:
    """``name`` in ``directory``, on the same machine."""
    return Location(directory.host, f"{directory.path}/{name}")


class TMConformance(Conformance):
    """The contract of ``TMDriver``, one test per promise. Not collected itself (no ``Test`` prefix)."""

    kind: ClassVar[str] = "tm"
    concurrency: ClassVar[int] = 8  # VMs whose plans run at once in the thread-safety test

    # -- what a plugin may override ---------------------------------------------------------------

    @pytest.fixture
    def host(self) -> str:
        return "node1"

    @pytest.fixture
    def image(self, tmp_path: Path) -> Location:
        """An image on the front-end (this machine): 64 KiB of data."""
        path = tmp_path / "images" / "disk.img"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(bytes(range(256)) * 256)
        return Location("", str(path))

    @pytest.fixture
    def vm_dir(self, tmp_path: Path, host: str) -> Location:
        """A VM's directory on ``host``; it does not exist yet (the prolog creates it)."""
        return Location(host, str(tmp_path / "hosts" / host / "vms" / "90000"))

    @pytest.fixture
    def frontend_dir(self, tmp_path: Path) -> Location:
        """Where a stopped VM's files wait on the front-end; it does not exist yet."""
        return Location("", str(tmp_path / "frontend" / "vms" / "90000"))

    def exists(self, location: Location) -> bool:
        """Whether ``location`` exists, for the tests that check effects.

        The default skips them: override it for a TM whose results the test can see.
        """
        pytest.skip(f"{type(self).__name__} has no exists() to check what the TM did")

    def prolog(self, driver: TMDriver, image: Location, vm_dir: Location) -> list[Location]:
        """One disk of each kind, as the core's prolog writes them; the disks made."""
        disks = [inside(vm_dir, f"disk.{n}") for n in range(5)]
        driver.clone(image, disks[0])
        driver.link(image, disks[1])
        driver.mkswap(16, disks[2])
        driver.mkimage(16, "raw", disks[3])
        driver.context([image], disks[4])
        return disks

    # -- the contract -----------------------------------------------------------------------------

    def test_is_a_tm_driver(self, driver: TMDriver) -> None:
        assert isinstance(driver, TMDriver)

    def test_prolog_operations_repeat_fine(self, driver: TMDriver, image: Location, vm_dir: Location) -> None:
        """Every operation is repeated after a crash of the daemon, into a vm_dir that may not exist yet."""
        self.prolog(driver, image, vm_dir)
        self.prolog(driver, image, vm_dir)

    def test_stop_resume_and_epilog_repeat_fine(
        self, driver: TMDriver, image: Location, vm_dir: Location, frontend_dir: Location
    ) -> None:
        """The moves of stop and resume, and the epilog's delete, each twice in a row."""
        self.prolog(driver, image, vm_dir)
        for source, destination in ((vm_dir, frontend_dir), (frontend_dir, vm_dir)):
            driver.move(source, destination)
            driver.move(source, destination)
        driver.delete(vm_dir)
        driver.delete(vm_dir)

    def test_delete_of_nothing_succeeds(self, driver: TMDriver, vm_dir: Location) -> None:
        driver.delete(inside(vm_dir, "never-made"))

    def test_plans_from_many_threads_at_once(self, driver: TMDriver, image: Location, vm_dir: Location) -> None:
        """Steps of different VMs run side by side on one instance."""

        def life(n: int) -> None:
            directory = Location(vm_dir.host, f"{vm_dir.path}-{n}")
            self.prolog(driver, image, directory)
            driver.delete(directory)

        with ThreadPoolExecutor(self.concurrency) as pool:
            list(pool.map(life, range(self.concurrency)))

    # -- effects, when the subclass can see them --------------------------------------------------

    def test_prolog_makes_every_disk(self, driver: TMDriver, image: Location, vm_dir: Location) -> None:
        self.exists(image)  # skips now, before any work, when there is no exists()
        disks = self.prolog(driver, image, vm_dir)
        assert [disk for disk in disks if not self.exists(disk)] == []
        assert self.exists(image), "the prolog must leave the source image in place"

    def test_moves_and_delete_take_effect(
        self, driver: TMDriver, image: Location, vm_dir: Location, frontend_dir: Location
    ) -> None:
        self.exists(image)
        disk = self.prolog(driver, image, vm_dir)[0]
        driver.move(vm_dir, frontend_dir)
        assert (self.exists(vm_dir), self.exists(inside(frontend_dir, "disk.0"))) == (False, True)
        driver.move(frontend_dir, vm_dir)
        assert (self.exists(frontend_dir), self.exists(disk)) == (False, True)
        driver.delete(vm_dir)
        assert not self.exists(vm_dir)

    def test_clone_of_a_missing_image_fails(self, driver: TMDriver, image: Location, vm_dir: Location) -> None:
        self.exists(image)
        missing = Location(image.host, f"{image.path}.missing")
        with pytest.raises(DriverError):
            driver.clone(missing, inside(vm_dir, "disk.0"))
        assert not self.exists(inside(vm_dir, "disk.0"))


__all__ = ["TMConformance", "inside"]
