"""The simulated hypervisor on disk: one JSON file per VM at ``var_dir/dummy/<host>/<deploy_id>.json``.

The files are what outlives the daemon (the core's crash test SIGKILLs it and expects its VMs
still running afterwards), so each is replaced atomically: written under a temporary name in the
same directory, then ``os.replace``d. No fsync: a killed process loses nothing the kernel already
has, and scale runs write thousands of records. Host names and deploy ids are percent-encoded
into single path components, so no name reaches outside ``var_dir/dummy``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeAlias
from urllib.parse import quote

from nebula_core.drivers.errors import DriverError

from .faults import Faults

log = logging.getLogger(__name__)

Key: TypeAlias = tuple[str, str]  # (host, deploy_id)

_SUFFIX = ".json"
_TEMP_SUFFIX = ".tmp"
_MAX_COMPONENT = 200  # file systems stop at 255 bytes; leave room for the suffixes


# Plain fields and the JSON types they take (faults has its own format); int where a float is due is fine.
_FIELDS: dict[str, type | tuple[type, ...]] = {
    "host": str,
    "deploy_id": str,
    "vm_id": int,
    "cpu": (int, float),
    "memory": int,
    "saved": bool,
    "checkpoint": str,
    "reboots": int,
    "booted": (int, float),
}


@dataclass(frozen=True)
class Record:
    """One VM the dummy hypervisor knows: running, or saved to ``checkpoint``."""

    host: str
    deploy_id: str
    vm_id: int
    cpu: float  # share of cores, as the template's CPU
    memory: int  # MB, as the template's MEMORY
    faults: Faults = field(default_factory=Faults)
    saved: bool = False
    checkpoint: str = ""  # where save() put it; a path on the simulated host
    reboots: int = 0
    booted: float = 0.0  # wall-clock time of the first boot: the network counters grow from it

    @property
    def key(self) -> Key:
        return (self.host, self.deploy_id)

    def to_json(self) -> str:
        """One line of JSON; ``from_json`` reads it back."""
        data = {name: getattr(self, name) for name in _FIELDS}
        data["faults"] = self.faults.to_json()
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Record:
        """Parse a record file; raises ValueError if it is not one we wrote."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("not an object")
        faults = data.get("faults", {})
        if not isinstance(faults, dict):
            raise ValueError("bad faults")
        values = {name: data[name] for name in _FIELDS if name in data}
        for name, value in values.items():
            kind = _FIELDS[name]
            if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
                raise ValueError(f"bad {name}: {value!r}")
        return cls(**values, faults=Faults.from_json(faults))


def component(name: str) -> str:
    """``name`` as one safe, distinct path component: no ``/``, no leading dot, never empty."""
    if not name:
        raise DriverError("dummy: empty host name or deploy id")
    safe = quote(name, safe="", errors="surrogatepass")  # keeps only A-Z a-z 0-9 _ . - ~
    if safe.startswith("."):  # ".", ".." and hidden files; "%" is always encoded, so this stays injective
        safe = "%2E" + safe[1:]
    if len(safe) > _MAX_COMPONENT:
        raise DriverError(f"dummy: name too long: {name[:40]!r}...")
    return safe


def host_dir(root: Path, host: str) -> Path:
    return root / component(host)


def path_of(root: Path, key: Key) -> Path:
    host, deploy_id = key
    return host_dir(root, host) / (component(deploy_id) + _SUFFIX)


def write(root: Path, record: Record) -> None:
    """Replace the record's file atomically; DriverError if the disk refuses."""
    path = path_of(root, record.key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=_TEMP_SUFFIX)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(record.to_json())
            os.replace(temp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
    except OSError as exc:
        raise DriverError(f"dummy: cannot write {path}: {exc}") from exc


def delete(root: Path, key: Key) -> None:
    """Remove the record's file; fine if it is already gone."""
    path = path_of(root, key)
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        raise DriverError(f"dummy: cannot remove {path}: {exc}") from exc


def _read_dir(directory: Path) -> Iterator[Record]:
    """The records in one host directory; unreadable files are logged and skipped."""
    try:
        entries = list(os.scandir(directory))
    except (FileNotFoundError, NotADirectoryError):
        return
    for entry in entries:
        if not entry.name.endswith(_SUFFIX):
            continue
        try:
            with open(entry.path, encoding="utf-8") as source:
                yield Record.from_json(source.read())
        except FileNotFoundError:  # removed since the listing: that VM is gone
            continue
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("dummy: skipping unreadable record %s: %s", entry.path, exc)


def read_host(root: Path, host: str) -> list[Record]:
    """Every record on ``host``, read from disk now (for the IM, which has no cache)."""
    return [record for record in _read_dir(host_dir(root, host)) if record.host == host]


def read_all(root: Path) -> list[Record]:
    """Every record under ``root``. A temporary file a killed daemon left mid-write is ignored."""
    try:
        hosts = [entry.path for entry in os.scandir(root) if entry.is_dir()]
    except FileNotFoundError:
        return []
    return [record for host in hosts for record in _read_dir(Path(host))]
