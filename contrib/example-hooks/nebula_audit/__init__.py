"""An example hook plugin: append every VM and host event to a JSON-lines audit file, and cap MEMORY.

Install it beside the daemon (``pip install contrib/example-hooks``) and restart: the daemon
finds it by its ``nebula.hooks`` entry point. ``NEBULA_AUDIT_LOG`` names the file
(default ``/var/log/nebula/audit.jsonl``); ``NEBULA_AUDIT_MAX_MEMORY`` the largest MEMORY (MB)
a regular user may ask for (default 8192).
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path
from typing import Any

from nebula_core.hooks import HookRefusal, hookimpl


def _append(event: Any) -> None:
    path = Path(os.environ.get("NEBULA_AUDIT_LOG", "/var/log/nebula/audit.jsonl"))
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"time": time.time(), "event": event.kind, **dataclasses.asdict(event)}
    with path.open("a", encoding="utf-8") as log:
        log.write(json.dumps(record) + "\n")


@hookimpl
def vm_state_changed(event: Any) -> None:
    """Observer: runs after the change is committed; may see an event twice after a crash."""
    _append(event)


@hookimpl
def host_state_changed(event: Any) -> None:
    _append(event)


@hookimpl
def vm_allocate_policy(template: Any, owner: Any) -> None:
    """Policy: runs before the VM exists; raising HookRefusal refuses it with this message."""
    limit = int(os.environ.get("NEBULA_AUDIT_MAX_MEMORY", "8192"))
    memory = int(template.get_str("MEMORY") or 0)
    if memory > limit and not owner.is_admin:
        raise HookRefusal(f"MEMORY {memory} MB is above the {limit} MB users may ask for")
