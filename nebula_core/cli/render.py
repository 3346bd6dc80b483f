"""Plain-text views for the CLI: one table renderer, key/value blocks, templates, units.

Output is for people; scripts use ``--json``. Still, every table cell holds something (``-``
when empty), so that ``awk`` sees the same columns on every line.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TypeVar

from ..client import VM, Host, TemplateDict, enum_name
from ..permissions import LockLevel
from ..states import HostState, LCMState, VMState
from ..template import Template

T = TypeVar("T")
Column = tuple[str, Callable[[T], object]]

# OpenNebula's short state strings (OPENNEBULA.md 4.1-4.3), as onevm/onehost list print them.
VM_SHORT: Mapping[int, str] = {
    VMState.INIT: "init", VMState.PENDING: "pend", VMState.HOLD: "hold", VMState.STOPPED: "stop",
    VMState.SUSPENDED: "susp", VMState.DONE: "done", VMState.FAILED: "fail", VMState.POWEROFF: "poff",
    VMState.UNDEPLOYED: "unde", VMState.CLONING: "clon", VMState.CLONING_FAILURE: "fail",
}
LCM_SHORT: Mapping[int, str] = {
    LCMState.LCM_INIT: "init", LCMState.PROLOG: "prol", LCMState.BOOT: "boot", LCMState.RUNNING: "runn",
    LCMState.MIGRATE: "migr", LCMState.SAVE_STOP: "save", LCMState.SAVE_SUSPEND: "save",
    LCMState.SAVE_MIGRATE: "save", LCMState.PROLOG_MIGRATE: "migr", LCMState.PROLOG_RESUME: "prol",
    LCMState.EPILOG_STOP: "epil", LCMState.EPILOG: "epil", LCMState.SHUTDOWN: "shut",
    LCMState.CLEANUP_RESUBMIT: "clea", LCMState.UNKNOWN: "unkn", LCMState.SHUTDOWN_POWEROFF: "shut",
    LCMState.BOOT_UNKNOWN: "boot", LCMState.BOOT_POWEROFF: "boot", LCMState.BOOT_SUSPENDED: "boot",
    LCMState.BOOT_STOPPED: "boot", LCMState.CLEANUP_DELETE: "clea", LCMState.SHUTDOWN_UNDEPLOY: "shut",
    LCMState.EPILOG_UNDEPLOY: "epil", LCMState.PROLOG_UNDEPLOY: "prol", LCMState.BOOT_UNDEPLOY: "boot",
    LCMState.BOOT_MIGRATE: "boot", LCMState.BOOT_FAILURE: "fail", LCMState.BOOT_MIGRATE_FAILURE: "fail",
    LCMState.PROLOG_MIGRATE_FAILURE: "fail", LCMState.PROLOG_FAILURE: "fail", LCMState.EPILOG_FAILURE: "fail",
    LCMState.EPILOG_STOP_FAILURE: "fail", LCMState.EPILOG_UNDEPLOY_FAILURE: "fail",
    LCMState.BOOT_UNDEPLOY_FAILURE: "fail", LCMState.BOOT_STOPPED_FAILURE: "fail",
    LCMState.PROLOG_RESUME_FAILURE: "fail", LCMState.PROLOG_UNDEPLOY_FAILURE: "fail",
}
HOST_SHORT: Mapping[int, str] = {
    HostState.INIT: "init", HostState.MONITORING_MONITORED: "update", HostState.MONITORED: "on",
    HostState.ERROR: "err", HostState.DISABLED: "dsbl", HostState.OFFLINE: "off",
}


def vm_short(vm: VM) -> str:
    """The STAT column: the LCM string while ACTIVE, else the VM state's (the number if unknown)."""
    if vm.state == VMState.ACTIVE:
        return LCM_SHORT.get(vm.lcm_state, vm.state_name.lower()[:4])
    return VM_SHORT.get(vm.state, vm.state_name.lower()[:4])


def host_short(host: Host) -> str:
    return HOST_SHORT.get(host.state, host.state_name.lower()[:4])


def table(columns: Sequence[Column[T]], rows: Iterable[T]) -> str:
    """Left-aligned columns under an upper-case header, two blanks apart."""
    cells = [[name.upper() for name, _ in columns]]
    cells += [[str(get(row)) or "-" for _, get in columns] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in cells)


def fields(title: str, pairs: Sequence[tuple[str, object]]) -> str:
    """A titled ``KEY : value`` block, keys padded to one width."""
    width = max(len(key) for key, _ in pairs)
    return "\n".join([title, *(f"{key.ljust(width)} : {value}" for key, value in pairs)])


def section(title: str, body: str) -> str:
    """A titled block; nothing at all when there is nothing to show under the title."""
    body = body.rstrip("\n")
    return f"{title}\n{body}" if body else ""


def permissions(octal: str) -> str:
    """The PERMISSIONS block of a show as OpenNebula prints it (``OWNER : um-``); "" when unknown."""
    if len(octal) != 3:
        return ""
    rights = (("u", 4), ("m", 2), ("a", 1))
    return fields("PERMISSIONS", [
        (who, "".join(letter if int(digit) & bit else "-" for letter, bit in rights))
        for who, digit in zip(("OWNER", "GROUP", "OTHER"), octal)
    ])


def lock(level: int) -> list[tuple[str, object]]:
    """The LOCK line of a show's information, only while the object is locked."""
    return [("LOCK", enum_name(LockLevel, level))] if level else []


def monitoring(title: str, sample: TemplateDict) -> str:
    """A monitoring sample as a ``KEY : value`` block, vectors (CAPACITY) flattened; "" when there is none."""
    pairs: list[tuple[str, object]] = []
    for name, values in sample.items():
        for value in values if isinstance(values, list) else [values]:
            if isinstance(value, dict):
                pairs += value.items()
            else:
                pairs.append((name, timestamp(int(value)) if name == "TIMESTAMP" and value.isdigit() else value))
    return fields(title, pairs) if pairs else ""


def template_text(template: TemplateDict) -> str:
    """A template dict (as the client reads it) back in OpenNebula's template syntax."""
    pairs = ((name, value) for name, values in template.items()
             for value in (values if isinstance(values, list) else [values]))
    return Template(pairs).to_text()


def size(kb: int) -> str:
    """Memory the way OpenNebula's CLI prints it: 512M, 1.5G, 16G."""
    amount, unit = float(kb), "K"
    for bigger in "MGT":
        if amount < 1024:
            break
        amount, unit = amount / 1024, bigger
    return f"{amount:.1f}".removesuffix(".0") + unit


def number(value: float) -> str:
    """A CPU amount without a useless ``.0``."""
    return f"{value:g}"


def timestamp(epoch: int) -> str:
    """Local time as ``11/25 06:00:00``; ``-`` for OpenNebula's 0 (not yet / never)."""
    return time.strftime("%m/%d %H:%M:%S", time.localtime(epoch)) if epoch else "-"


def duration(start: int, end: int) -> str:
    """``3d 04h05`` from start to end (to now while end is 0), as the TIME columns show it."""
    if not start:
        return "-"
    seconds = max(0, (end or int(time.time())) - start)
    days, rest = divmod(seconds, 86400)
    return f"{days}d {rest // 3600:02d}h{rest % 3600 // 60:02d}"
