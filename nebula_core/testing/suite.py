"""What the three conformance suites share: the driver under test, built as the daemon builds it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import pytest

if TYPE_CHECKING:
    from .plugin import LoadDriver


class Conformance:
    """A suite for one driver kind; a plugin's subclass names its ``entry_point`` (or overrides ``driver``)."""

    kind: ClassVar[str]  # vmm, im or tm
    entry_point: ClassVar[str] = ""  # the name under nebula.<kind>

    @pytest.fixture
    def driver(self, load_driver: LoadDriver) -> Any:
        """The driver under test: by entry point, with ``driver_context``, checked to be of the suite's kind."""
        if not self.entry_point:
            pytest.fail(f"{type(self).__name__}: set entry_point or override the driver fixture", pytrace=False)
        return load_driver(self.kind, self.entry_point)
