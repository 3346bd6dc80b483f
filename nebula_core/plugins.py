"""Which plugins are installed: every entry point in Nebula's namespaces, whose it is, and whether it loads.

Read from the installed distributions' metadata with ``importlib.metadata``, not through stevedore:
stevedore's entry-point cache drops the distribution an entry point came from, and this listing
is about exactly that. Loading imports the plugin's module; whatever it raises is caught and
reported as ``TypeName: message``, so a broken plugin is listed, never fatal. ``nebula plugin
list`` shows the result; the daemon can log the failures at start-up the same way.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points

from .drivers.auth import AuthDriver
from .drivers.im import IMDriver
from .drivers.tm import TMDriver
from .drivers.vmm import VMMDriver

HOOKS_NAMESPACE = "nebula.hooks"

# Every namespace a Nebula plugin may register in, in the order they are listed.
NAMESPACES: tuple[str, ...] = ("nebula.vmm", "nebula.im", "nebula.tm", "nebula.auth", HOOKS_NAMESPACE)

# What an entry point of a driver namespace must name, as the core's DriverManager checks it.
BASES: Mapping[str, type] = {
    "nebula.vmm": VMMDriver,
    "nebula.im": IMDriver,
    "nebula.tm": TMDriver,
    "nebula.auth": AuthDriver,
}


@dataclass(frozen=True)
class Plugin:
    """One entry point: ``name`` in ``namespace``, pointing at ``target`` (``module:attribute``)."""

    namespace: str
    name: str
    target: str
    distribution: str  # "?" when the entry point comes from no distribution's metadata
    version: str
    error: str | None = None  # why it cannot be used: "TypeName: message"; None when it loads

    @property
    def ok(self) -> bool:
        return self.error is None


def _load_error(entry_point: EntryPoint, namespace: str) -> str | None:
    """Import the entry point's target; what went wrong, or None."""
    try:
        target = entry_point.load()
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - a plugin's import may raise anything; it is reported
        return f"{type(exc).__name__}: {exc}"
    base = BASES.get(namespace)
    if base is not None and not (isinstance(target, type) and issubclass(target, base)):
        return f"TypeError: {entry_point.value} is not a {base.__name__}"
    return None


def discover(namespaces: Iterable[str] = NAMESPACES, load: bool = True) -> list[Plugin]:
    """Every installed plugin of ``namespaces``, in namespace then name order.

    With ``load`` each is imported (as the daemon would) and its failure recorded in ``error``;
    a name two distributions claim is an error for both, as the daemon refuses it.
    """
    found: list[Plugin] = []
    for namespace in namespaces:
        points = sorted(entry_points(group=namespace), key=lambda ep: ep.name)
        claims: defaultdict[str, list[str]] = defaultdict(list)
        for entry_point in points:
            claims[entry_point.name].append(_distribution(entry_point)[0])
        for entry_point in points:
            distribution, version = _distribution(entry_point)
            error = _load_error(entry_point, namespace) if load else None
            if len(claims[entry_point.name]) > 1:
                error = f"claimed by several distributions: {', '.join(claims[entry_point.name])}"
            found.append(Plugin(namespace, entry_point.name, entry_point.value, distribution, version, error))
    return found


def _distribution(entry_point: EntryPoint) -> tuple[str, str]:
    dist = entry_point.dist
    if dist is None:
        return "?", "?"
    return dist.name, dist.version


__all__ = ["BASES", "HOOKS_NAMESPACE", "NAMESPACES", "Plugin", "discover"]
