"""The dummy drivers against the core's driver test kit; its failure injection drives the error cases."""

from __future__ import annotations

from collections.abc import Mapping

from nebula_core.drivers.vmm import DeploySpec
from nebula_core.testing import IMConformance, TMConformance, VMMConformance
from nebula_core.testing.vmm import with_template


class TestDummyVMM(VMMConformance):
    entry_point = "dummy"

    def failing_spec(self, spec: DeploySpec, operation: str) -> DeploySpec:
        return with_template(spec, DUMMY_FAIL=operation)


class TestDummyIM(IMConformance):
    entry_point = "dummy"

    def unreachable_host(self) -> tuple[str, Mapping[str, str]]:
        return "node9", {"DUMMY_FAIL": "probe"}


class TestDummyTM(TMConformance):
    """The dummy TM moves nothing, so the kit's effect checks are skipped: there is no exists() to give."""

    entry_point = "dummy"

