"""The dummy hypervisor in memory: a thread-safe cache in front of the record files.

The files are read once, when the driver is built (they are the truth after a restart); from
then on every change is written through to its file before the cache takes it, so the cache
never holds what the disk lacks, and poll() of 10,000 VMs is 10,000 dict lookups. One driver
instance owns a ``var_dir`` at a time, as the core builds one per name; the newest hypervisor of
each ``var_dir`` is also published (``live``) so that the IM reads usage from memory, not disk.
"""

from __future__ import annotations

import threading
from pathlib import Path

from . import records
from .records import Key, Record

_LIVE: dict[Path, Hypervisor] = {}
_LIVE_LOCK = threading.Lock()


def live(root: Path) -> Hypervisor | None:
    """The hypervisor a VMM driver of this process keeps for ``root``, if any."""
    with _LIVE_LOCK:
        return _LIVE.get(root)


class Hypervisor:
    """Every dummy VM on every host. Hold ``lock`` around a read-modify-write of one VM."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.lock = threading.RLock()
        self._vms: dict[Key, Record] = {}
        self._saved: dict[str, set[Key]] = {}  # deploy_id -> keys of saved records, for restore
        self._hosts: dict[str, set[Key]] = {}  # host -> keys of its records, for the IM
        for record in records.read_all(root):
            self._remember(record)
        with _LIVE_LOCK:
            _LIVE[root] = self

    def get(self, host: str, deploy_id: str) -> Record | None:
        with self.lock:
            return self._vms.get((host, deploy_id))

    def running(self, host: str, deploy_id: str) -> Record | None:
        """The VM if it runs on ``host``; a saved one does not."""
        record = self.get(host, deploy_id)
        return record if record is not None and not record.saved else None

    def saved(self, deploy_id: str) -> list[Record]:
        """Saved records of that name on any host, in host order."""
        with self.lock:
            return sorted((self._vms[key] for key in self._saved.get(deploy_id, ())), key=lambda r: r.host)

    def on_host(self, host: str) -> list[Record]:
        """Every record on ``host``, running or saved."""
        with self.lock:
            return [self._vms[key] for key in self._hosts.get(host, ())]

    def put(self, record: Record) -> None:
        """Write the record to disk, then to the cache (a failed write changes neither)."""
        with self.lock:
            records.write(self.root, record)
            self._forget(record.key)
            self._remember(record)

    def drop(self, key: Key) -> None:
        """Remove the record from disk and cache; fine if it is not there."""
        with self.lock:
            if key in self._vms:
                records.delete(self.root, key)
                self._forget(key)

    def _remember(self, record: Record) -> None:
        self._vms[record.key] = record
        self._hosts.setdefault(record.host, set()).add(record.key)
        if record.saved:
            self._saved.setdefault(record.deploy_id, set()).add(record.key)

    def _forget(self, key: Key) -> None:
        record = self._vms.pop(key, None)
        if record is not None:
            self._hosts[record.host].discard(key)
        if record is not None and record.saved:
            keys = self._saved[record.deploy_id]
            keys.discard(key)
            if not keys:
                del self._saved[record.deploy_id]
