"""Checking what drivers return: a reply of the wrong shape is a driver failure, not a crash later.

Drivers are third-party code; the core trusts nothing they hand back.
"""

from __future__ import annotations

from typing import Any

from .errors import DriverError
from .im import HostReport
from .vmm import Observation

MAX_DEPLOY_ID = 255


def deploy_id(value: Any, call: str) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_DEPLOY_ID or not value.isprintable():
        raise DriverError(f"{call} returned {str(value)[:80]!r}, not a deploy id (1-{MAX_DEPLOY_ID} printable characters)")
    return value


def host_report(value: Any, call: str) -> HostReport:
    if not isinstance(value, HostReport):
        raise DriverError(f"{call} returned a {type(value).__name__}, not a HostReport")
    figures = (value.total_cpu, value.total_memory, value.used_cpu, value.used_memory)
    if not all(isinstance(f, int) and not isinstance(f, bool) and f >= 0 for f in figures):
        raise DriverError(f"{call} returned capacity figures that are not non-negative integers: {figures}")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in value.attributes.items()):
        raise DriverError(f"{call} returned host attributes that are not strings")
    return value


def observation(value: Any, call: str) -> Observation:
    if not isinstance(value, Observation):
        raise DriverError(f"{call} returned a {type(value).__name__}, not an Observation")
    return value
