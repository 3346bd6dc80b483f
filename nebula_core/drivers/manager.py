"""Finding drivers by name: stevedore over the ``nebula.vmm``, ``nebula.im``, ``nebula.tm`` and ``nebula.auth`` namespaces.

The entry-point name is the word an admin writes (``VM_MAD = "kvm"``). A host names its drivers
at creation, so an unknown name is refused there, with the names that are installed. Each
driver is built once and shared; drivers are called from several worker threads at once.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from importlib.metadata import EntryPoint
from typing import Any, Generic, TypeVar

from stevedore import ExtensionManager

from .auth import AuthDriver
from .im import IMDriver
from .tm import TMDriver
from .vmm import DriverContext, VMMDriver

NAMESPACES = {"vmm": "nebula.vmm", "im": "nebula.im", "tm": "nebula.tm", "auth": "nebula.auth"}

D = TypeVar("D")


class UnknownDriver(LookupError):
    """No installed plugin provides the name; the message lists those that do."""


@dataclass(frozen=True)
class LoadFailure:
    namespace: str
    name: str
    distribution: str
    error: str


class DriverManager(Generic[D]):
    """The drivers of one kind: loaded lazily by name, one instance per name."""

    def __init__(self, kind: str, base: type[Any], context: DriverContext) -> None:
        self.kind = kind
        self.namespace = NAMESPACES[kind]
        self.base = base  # type[Any], not type[D]: the driver bases are abstract classes
        self.context = context
        self.failures: list[LoadFailure] = []
        self._extensions: ExtensionManager[Any] = ExtensionManager(
            self.namespace, invoke_on_load=False, on_load_failure_callback=self._record_failure
        )
        self._instances: dict[str, D] = {}
        self._lock = threading.Lock()

    def _record_failure(self, _manager: ExtensionManager[Any], entry_point: EntryPoint, error: BaseException) -> None:
        dist = getattr(getattr(entry_point, "dist", None), "name", "?")
        self.failures.append(LoadFailure(self.namespace, entry_point.name, dist, f"{type(error).__name__}: {error}"))

    def names(self) -> list[str]:
        return sorted(self._extensions.names())

    def check(self, name: str) -> None:
        """Refuse a name no installed plugin provides (or that several claim)."""
        matches = [ext for ext in self._extensions.extensions if ext.name == name]
        if not matches:
            known = ", ".join(self.names()) or "none"
            broken = [f.name for f in self.failures if f.name == name]
            hint = " (its plugin failed to load)" if broken else ""
            raise UnknownDriver(f"unknown {self.kind} driver {name!r}{hint}; installed: {known}")
        if len(matches) > 1:
            raise UnknownDriver(f"{self.kind} driver {name!r} is provided by several plugins")

    def get(self, name: str) -> D:
        with self._lock:
            driver = self._instances.get(name)
            if driver is None:
                self.check(name)
                plugin = self._extensions[name].plugin
                if not (isinstance(plugin, type) and issubclass(plugin, self.base)):
                    raise UnknownDriver(f"{self.kind} driver {name!r} is not a {self.base.__name__}")
                driver = self._instances[name] = plugin(self.context)
            return driver


@dataclass
class Drivers:
    """The three kinds a host names, and the authentication drivers users name."""

    vmm: DriverManager[VMMDriver]
    im: DriverManager[IMDriver]
    tm: DriverManager[TMDriver]
    auth: DriverManager[AuthDriver]

    @classmethod
    def load(cls, context: DriverContext) -> Drivers:
        return cls(
            vmm=DriverManager("vmm", VMMDriver, context),
            im=DriverManager("im", IMDriver, context),
            tm=DriverManager("tm", TMDriver, context),
            auth=DriverManager("auth", AuthDriver, context),
        )


__all__ = ["DriverManager", "Drivers", "LoadFailure", "UnknownDriver"]
