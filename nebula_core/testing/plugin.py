"""The pytest plugin of the driver test kit (entry point ``pytest11``: ``nebula``).

It loads in every pytest session of the environment, so it imports nothing but pytest at import
time; the core's driver modules are imported when a fixture first runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ..drivers.vmm import DriverContext

# The suite's plain asserts should explain themselves, as a test module's do.
pytest.register_assert_rewrite("nebula_core.testing.vmm", "nebula_core.testing.im", "nebula_core.testing.tm")

LoadDriver = Callable[[str, str], Any]
MakeCloud = Callable[..., Any]


@pytest.fixture
def driver_options() -> Mapping[str, str]:
    """``DriverContext.options`` for the drivers under test; override it to pass your own."""
    return {}


@pytest.fixture
def driver_context(tmp_path: Path, driver_options: Mapping[str, str]) -> DriverContext:
    """What the core hands a driver it builds, with ``var_dir`` in the test's temporary directory."""
    from ..drivers.vmm import DriverContext

    return DriverContext(var_dir=tmp_path / "var", options=dict(driver_options))


@pytest.fixture
def load_driver(driver_context: DriverContext) -> LoadDriver:
    """``load_driver(kind, name)``: build driver ``name`` of ``kind`` (vmm, im, tm, auth) as the daemon does.

    Through the entry point and the core's own manager, with ``driver_context``: a plugin that is
    not installed, fails to import or is not a driver of that kind fails the test, saying why.
    """
    from ..drivers.manager import NAMESPACES as KINDS
    from ..drivers.manager import DriverManager, UnknownDriver
    from ..plugins import BASES

    def load(kind: str, name: str) -> Any:
        if kind not in KINDS:
            raise ValueError(f"unknown driver kind {kind!r}; one of {', '.join(KINDS)}")
        manager: DriverManager[Any] = DriverManager(kind, BASES[KINDS[kind]], driver_context)
        try:
            return manager.get(name)
        except UnknownDriver as exc:
            failures = "".join(f"\n  {f.namespace} {f.name}: {f.error}" for f in manager.failures)
            pytest.fail(f"{exc}{failures}", pytrace=False)

    return load


@pytest.fixture
def nebula_cloud(tmp_path: Path) -> Iterator[MakeCloud]:
    """``nebula_cloud(hooks=[plugin, ...], **sections)``: a running daemon on SQLite in ``tmp_path``,
    with dummy-speed intervals and the given hook plugins registered; stopped after the test.

    ``sections`` override the configuration (``hooks={"timeout": 2}``). The daemon's API is at
    ``cloud.api.endpoint``; oneadmin's ``user:password`` is in ``cloud.config.one_auth_path``.
    """
    from ..config import load
    from ..daemon import Cloud

    started: list[Any] = []

    def make(hooks: Sequence[Any] = (), **sections: dict[str, Any]) -> Any:
        config: dict[str, dict[str, Any]] = {
            "daemon": {"var_dir": str(tmp_path / "var"), "log_level": "WARNING"},
            "database": {"url": f"sqlite:///{tmp_path}/nebula.db"},
            "api": {"port": 0},
            "scheduler": {"interval": 0.3},
            "monitor": {"host_interval": 0.3, "vm_interval": 0.3},
            "auth": {"one_auth": str(tmp_path / "one_auth")},
        }
        for name, values in sections.items():
            config.setdefault(name, {}).update(values)
        cloud = Cloud(load(None, config))
        for plugin in hooks:
            cloud.hooks.register(plugin)
        cloud.start()
        started.append(cloud)
        return cloud

    yield make
    for cloud in started:
        cloud.stop()
