"""The driver test kit: fixtures and a conformance suite any VMM, IM or TM plugin runs against itself.

A plugin's test module subclasses one class per driver kind and names its entry point::

    from nebula_core.testing import VMMConformance

    class TestMyVMM(VMMConformance):
        entry_point = "mydriver"

The fixtures (``driver_context``, ``driver_options``, ``load_driver``) come from the pytest plugin
``nebula_core.testing.plugin``, registered under ``pytest11`` so that every pytest session of an
environment with nebula-core has them. Imports here are lazy: loading the plugin costs a session
that tests no driver nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .im import IMConformance
    from .tm import TMConformance
    from .vmm import VMMConformance

_HOMES = {"VMMConformance": ".vmm", "IMConformance": ".im", "TMConformance": ".tm"}

__all__ = ["IMConformance", "TMConformance", "VMMConformance"]


def __getattr__(name: str) -> Any:
    """Import a conformance class on first use (PEP 562)."""
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
