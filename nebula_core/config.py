"""The daemon's configuration: one TOML file, every key optional, every value checked.

A bad file stops start-up with one line that names the key and the problem
(``ConfigError: scheduler.interval: must be a number > 0, got -1``).
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """The configuration cannot be used; the message names the key."""


@dataclass(frozen=True)
class DatabaseConfig:
    url: str = "sqlite:///nebula.db"  # relative paths are resolved against daemon.var_dir
    pool_size: int = 10


@dataclass(frozen=True)
class DaemonConfig:
    var_dir: str = "~/.nebula"
    log_level: str = "INFO"


@dataclass(frozen=True)
class ApiConfig:
    host: str = "127.0.0.1"
    port: int = 2633
    threads: int = 4  # request workers; more contend for the GIL: 8 served vm.info ~30% slower than 4 (bench/api.py)
    max_request_bytes: int = 4 * 1024 * 1024
    max_connections: int = 500  # open client connections; beyond it new ones wait
    idle_timeout: float = 15.0  # seconds a connection may sit idle (oned's KEEPALIVE_TIMEOUT 15)


@dataclass(frozen=True)
class SchedulerConfig:
    interval: float = 5.0
    max_dispatch: int = 1000  # VMs placed per cycle
    max_per_host: int = 10  # VMs placed on one host per cycle


@dataclass(frozen=True)
class MonitorConfig:
    host_interval: float = 60.0
    vm_interval: float = 60.0
    workers: int = 8


@dataclass(frozen=True)
class DriversConfig:
    workers: int = 16
    timeout: float = 120.0  # seconds a driver call may take before it counts as hung


@dataclass(frozen=True)
class AuthConfig:
    one_auth: str = ""  # where the first start writes oneadmin's credentials; "" = $ONE_AUTH or ~/.one/one_auth
    session_cache_seconds: float = 60.0


@dataclass(frozen=True)
class NetworkConfig:
    mac_prefix: str = "02:00"


@dataclass(frozen=True)
class ScriptHookConfig:
    """A VM_HOOK / HOST_HOOK of the configuration file (``[[hooks.vm]]``, ``[[hooks.host]]``)."""

    name: str
    on: str
    command: str
    arguments: str = ""
    timeout: float = 0.0  # seconds the command may run; 0: hooks.timeout
    remote: bool = False  # run it over SSH on the VM's host (or the host itself)


@dataclass(frozen=True)
class HooksConfig:
    workers: int = 4  # threads observers run in; a hung one costs a thread, replaced
    timeout: float = 10.0  # seconds one observer may take per event
    ssh: str = "ssh -o BatchMode=yes -o ConnectTimeout=10"  # how REMOTE = YES hooks reach a host
    vm: tuple[ScriptHookConfig, ...] = ()  # OpenNebula's VM_HOOK, as [[hooks.vm]] tables
    host: tuple[ScriptHookConfig, ...] = ()  # HOST_HOOK, as [[hooks.host]] tables


@dataclass(frozen=True)
class Config:
    daemon: DaemonConfig = field(default_factory=DaemonConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    api: ApiConfig = field(default_factory=ApiConfig)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    monitor: MonitorConfig = field(default_factory=MonitorConfig)
    drivers: DriversConfig = field(default_factory=DriversConfig)
    auth: AuthConfig = field(default_factory=AuthConfig)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    hooks: HooksConfig = field(default_factory=HooksConfig)

    @property
    def var_path(self) -> Path:
        return Path(self.daemon.var_dir).expanduser()

    @property
    def database_url(self) -> str:
        """The URL with a relative SQLite path placed under var_dir."""
        url = self.database.url
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url[len(prefix):].startswith("/") and url != "sqlite://":
            return prefix + str(self.var_path / url[len(prefix):])
        return url

    @property
    def one_auth_path(self) -> Path:
        path = self.auth.one_auth or os.environ.get("ONE_AUTH") or "~/.one/one_auth"
        return Path(path).expanduser()


_POSITIVE = {
    "database.pool_size", "api.threads", "api.max_request_bytes", "api.max_connections", "api.idle_timeout", "scheduler.interval",
    "scheduler.max_dispatch", "scheduler.max_per_host", "monitor.host_interval",
    "monitor.vm_interval", "monitor.workers", "drivers.workers", "drivers.timeout", "hooks.workers", "hooks.timeout",
}


def _check_value(key: str, expected: type[Any], value: Any) -> Any:
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, expected) or isinstance(value, bool) != (expected is bool):
        raise ConfigError(f"{key}: must be {expected.__name__}, got {value!r}")
    if key in _POSITIVE and value <= 0:
        raise ConfigError(f"{key}: must be a number > 0, got {value!r}")
    if key == "api.port" and not 0 <= value <= 65535:
        raise ConfigError(f"{key}: must be a port number 0-65535, got {value!r}")
    if key == "daemon.log_level" and value.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ConfigError(f"{key}: must be DEBUG, INFO, WARNING or ERROR, got {value!r}")
    if key == "network.mac_prefix":
        parts = value.split(":")
        if len(parts) != 2 or not all(len(p) == 2 and all(c in "0123456789abcdefABCDEF" for c in p) for p in parts):
            raise ConfigError(f"{key}: must be two hex bytes like \"02:00\", got {value!r}")
    return value


def _section(name: str, cls: type, data: Any) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{name}: must be a table, got {data!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values = {}
    for key, value in data.items():
        if key not in fields:
            raise ConfigError(f"{name}.{key}: unknown key (known: {', '.join(fields)})")
        kind = str(fields[key].type)
        if kind in _TABLE_LISTS:
            if not isinstance(value, list):
                raise ConfigError(f"{name}.{key}: must be a list of tables ([[{name}.{key}]]), got {value!r}")
            values[key] = tuple(_section(f"{name}.{key}[{i}]", _TABLE_LISTS[kind], item) for i, item in enumerate(value))
        else:
            values[key] = _check_value(f"{name}.{key}", _TYPES[kind], value)
    missing = [f.name for f in fields.values() if f.name not in values and f.default is dataclasses.MISSING
               and f.default_factory is dataclasses.MISSING]
    if missing:
        raise ConfigError(f"{name}: {', '.join(missing)} required")
    return cls(**values)


_TYPES: dict[str, type[Any]] = {"str": str, "int": int, "float": float, "bool": bool}
_TABLE_LISTS: dict[str, type[Any]] = {"tuple[ScriptHookConfig, ...]": ScriptHookConfig}


def load(path: str | os.PathLike[str] | None = None, overrides: dict[str, dict[str, Any]] | None = None) -> Config:
    """Read the TOML file at ``path`` (or $NEBULA_CONFIG); no file means all defaults."""
    path = path or os.environ.get("NEBULA_CONFIG")
    data: dict[str, Any] = {}
    if path:
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    for section, values in (overrides or {}).items():
        data.setdefault(section, {}).update(values)
    sections = {f.name: f for f in dataclasses.fields(Config)}
    built = {}
    for name, value in data.items():
        if name not in sections:
            raise ConfigError(f"{name}: unknown section (known: {', '.join(sections)})")
        built[name] = _section(name, _SECTION_TYPES[name], value)
    return Config(**built)


_SECTION_TYPES: dict[str, type] = {
    "daemon": DaemonConfig, "database": DatabaseConfig, "api": ApiConfig,
    "scheduler": SchedulerConfig, "monitor": MonitorConfig, "drivers": DriversConfig,
    "auth": AuthConfig, "network": NetworkConfig, "hooks": HooksConfig,
}
