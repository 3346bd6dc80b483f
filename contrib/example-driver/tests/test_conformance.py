"""The core's driver test kit against the example drivers: the contract every plugin must keep.

``nebula_core.testing`` ships with the core, and its pytest plugin (the fixtures
``load_driver`` and ``driver_context``) loads by itself wherever nebula-core is installed.
"""

from __future__ import annotations

import dataclasses

import pytest
from nebula_core.drivers.vmm import DeploySpec
from nebula_core.testing import IMConformance, TMConformance, VMMConformance


class TestExampleVMM(VMMConformance):
    entry_point = "example"

    def failing_spec(self, spec: DeploySpec, operation: str) -> DeploySpec:
        """A deploy fails on a template it cannot use; an example guest never refuses to stop."""
        if operation != "deploy":
            pytest.skip(f"an example guest cannot be made to fail {operation}")
        template = spec.template.copy()
        template.set("MEMORY", "plenty")
        return dataclasses.replace(spec, template=template)


class TestExampleIM(IMConformance):
    entry_point = "example"  # every example host is this machine: none is ever unreachable


class TestExampleTM(TMConformance):
    entry_point = "example"  # no exists(): the example TM makes no files, so the effect checks skip
