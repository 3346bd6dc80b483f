"""Injected failures, hangs and delays: the one parser and the one place they take effect.

``DUMMY_FAIL`` and ``DUMMY_HANG`` list operation names (``"deploy,shutdown"``), ``DUMMY_DELAY``
is seconds slept by every call. A VM's come from its template at deploy and are kept in its
record; a host's are read from the host template at each probe.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

from nebula_core.drivers.errors import DriverError

from . import attributes
from .attributes import Source

VMM_OPS = frozenset({"deploy", "shutdown", "cancel", "save", "restore", "migrate", "reboot", "poll"})
IM_OPS = frozenset({"probe"})
HANG_SECONDS = 3600.0  # far beyond any sane drivers.timeout
_NAP = 0.05


def hang(seconds: float = HANG_SECONDS) -> None:
    """Block like a host that stopped answering, so the core's deadline has to act.

    Short naps rather than one hour-long sleep: the thread keeps coming back to the interpreter,
    where a debugger or a stack dump finds it plainly in hang().
    """
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(_NAP, left))


def _operations(source: Source, name: str, known: frozenset[str]) -> frozenset[str]:
    raw = attributes.text(source, name)
    if raw is None:
        return frozenset()
    ops = frozenset(part.strip().lower() for part in raw.split(",")) - {""}
    if unknown := ops - known:
        raise DriverError(
            f"dummy: {name} names unknown operation(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}"
        )
    return ops


@dataclass(frozen=True)
class Faults:
    """What to do wrong, and when."""

    fail: frozenset[str] = frozenset()
    hang: frozenset[str] = frozenset()
    delay: float = 0.0  # seconds

    @classmethod
    def read(cls, source: Source, known: frozenset[str]) -> Faults:
        """Parse the three attributes; a bad value raises DriverError naming it."""
        return cls(
            fail=_operations(source, "DUMMY_FAIL", known),
            hang=_operations(source, "DUMMY_HANG", known),
            delay=attributes.number(source, "DUMMY_DELAY", 0.0),
        )

    def apply(self, op: str, failure: DriverError | None = None) -> None:
        """Sleep, hang or raise as injected for ``op``. Call it holding no lock: others go on."""
        if self.delay:
            time.sleep(self.delay)
        if op in self.hang:
            hang()
        if op in self.fail:
            raise failure or DriverError(f"dummy: injected failure in {op}")

    def to_json(self) -> dict[str, object]:
        return {"fail": sorted(self.fail), "hang": sorted(self.hang), "delay": self.delay}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Faults:
        """Rebuild from a record; raises ValueError on anything a record never holds."""
        fail, hang_, delay = data.get("fail", []), data.get("hang", []), data.get("delay", 0.0)
        if not (
            isinstance(fail, list)
            and isinstance(hang_, list)
            and all(isinstance(op, str) and op in VMM_OPS for op in [*fail, *hang_])
            and isinstance(delay, int | float)
            and delay >= 0
        ):
            raise ValueError(f"bad faults {data!r}")
        return cls(frozenset(fail), frozenset(hang_), float(delay))
