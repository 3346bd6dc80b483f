"""Reading the dummy's settings from a template; a bad value is a DriverError naming its attribute.

The VMM reads a VM's system template (a Template), the IM a host's attributes (a Mapping); both
go through here so a typo is reported the same way wherever it is made.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import TypeAlias

from nebula_core.drivers.errors import DriverError
from nebula_core.template import Template

Source: TypeAlias = Template | Mapping[str, str]

_DIGITS = re.compile(r"[0-9]+")  # ASCII digits only: int() would also take "+3", " 3" and other scripts' digits


def text(source: Source, name: str) -> str | None:
    """The stripped single value of ``name``; None when absent or blank."""
    value: object
    if isinstance(source, Template):
        value = source.get(name)
    else:
        value = source.get(name)
        if value is None:  # host attributes are UPPERCASE by convention, not by guarantee
            value = next((v for k, v in source.items() if k.upper() == name), None)
    if value is None:
        return None
    if not isinstance(value, str):
        raise DriverError(f"dummy: {name} must be a single value, not a vector")
    return value.strip() or None


def number(source: Source, name: str, default: float) -> float:
    """A finite, non-negative float (seconds, CPU shares)."""
    raw = text(source, name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise DriverError(f"dummy: {name} must be a non-negative number, not {raw!r}")
    return value


def count(source: Source, name: str, default: int) -> int:
    """A non-negative integer written in plain decimal digits (KB, cores x 100, MB)."""
    raw = text(source, name)
    if raw is None:
        return default
    if not _DIGITS.fullmatch(raw):
        raise DriverError(f"dummy: {name} must be a non-negative integer, not {raw!r}")
    return int(raw)
