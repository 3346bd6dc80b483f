"""The example hypervisor's state: a directory per host, a small JSON file per guest.

``<var_dir>/example/<host>/<deploy_id>.json`` exists while the guest runs and holds what it
was given. Files, not a dict in memory, so that guests outlive a restart of the daemon as a real
hypervisor's would, and so that the VMM and the IM (separate objects) see the same guests.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from nebula_core.drivers.errors import DriverError


@dataclass(frozen=True)
class Guest:
    """One running guest, as the VMM booted it."""

    vm_id: int
    cpu: float  # the template's CPU: a share of cores
    memory: int  # the template's MEMORY, in MB


class Guests:
    """Every guest of every host under one root directory."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _host_dir(self, host: str) -> Path:
        return self.root / _plain(host)

    def _file(self, host: str, deploy_id: str) -> Path:
        return self._host_dir(host) / f"{_plain(deploy_id)}.json"

    def find(self, host: str, deploy_id: str) -> Guest | None:
        """The guest if it runs on ``host``."""
        try:
            return Guest(**json.loads(self._file(host, deploy_id).read_text()))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError) as exc:
            raise DriverError(f"example: cannot read guest {deploy_id} on {host}: {exc}") from exc

    def add(self, host: str, deploy_id: str, guest: Guest) -> None:
        """Write the guest's file in one step: a reader sees all of it or none."""
        path = self._file(host, deploy_id)
        part: Path | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".part", delete=False) as out:
                part = Path(out.name)
                json.dump(asdict(guest), out)
            part.replace(path)
        except OSError as exc:
            if part is not None:
                part.unlink(missing_ok=True)
            raise DriverError(f"example: cannot start {deploy_id} on {host}: {exc}") from exc

    def remove(self, host: str, deploy_id: str) -> None:
        """Forget the guest; fine if it is already gone."""
        try:
            self._file(host, deploy_id).unlink(missing_ok=True)
        except OSError as exc:
            raise DriverError(f"example: cannot stop {deploy_id} on {host}: {exc}") from exc

    def on_host(self, host: str) -> list[Guest]:
        """Every guest running on ``host``."""
        files = sorted(self._host_dir(host).glob("*.json"))  # none if the directory does not exist
        return [guest for path in files if (guest := self.find(host, path.stem)) is not None]


def _plain(name: str) -> str:
    """``name`` if it is safe as one path component; the core's names always are."""
    if not name or name.startswith(".") or "/" in name or "\0" in name:
        raise DriverError(f"example: unusable name {name!r}")
    return name
