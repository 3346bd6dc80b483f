"""Creating VMs from templates: validate, split the template as oned does, take the leases.

Nothing is half-written: the VM row, its template and its leases are added in the caller's
transaction, and any refusal raises before that transaction commits.
"""

from __future__ import annotations

import time

from sqlalchemy.orm import Session

from . import network
from .db import Database, VirtualMachine
from .errors import InternalError
from .scheduler.expr import ExpressionError, compile_rank, compile_requirements
from .states import VMState
from .template import Template, TemplateSyntaxError, parse
from .users import Principal

# Attributes oned keeps in TEMPLATE; every other one goes to USER_TEMPLATE.
SYSTEM_ATTRIBUTES = frozenset({
    "CPU", "VCPU", "MEMORY", "DISK", "NIC", "CONTEXT", "OS", "GRAPHICS", "VIDEO", "INPUT", "RAW", "FEATURES",
    "TOPOLOGY", "NUMA_NODE", "EMULATOR", "VMID", "TEMPLATE_ID", "CPU_COST", "MEMORY_COST", "DISK_COST",
})
MAX_MEMORY_MB = 64 * 1024 * 1024  # 64 TiB: anything larger is a typo or an attack
MAX_CPU = 4096.0
MAX_VCPU = 4096
MAX_NAME = 128
MAX_TEMPLATE = 1 << 20  # characters; stored templates must fit MariaDB's MEDIUMTEXT with room to spare


def valid_name(name: str | None) -> bool:
    """A name for a VM or template: 1 to MAX_NAME characters, on one line."""
    return name is not None and 0 < len(name) <= MAX_NAME and not any(c in name for c in "\n\r\t")


def parse_template(text: str) -> Template:
    """Parse a template given to the API; a syntax error is INTERNAL, as in oned."""
    if len(text) > MAX_TEMPLATE:
        raise InternalError(f"Template too large: {len(text)} characters, at most {MAX_TEMPLATE}.")
    try:
        return parse(text)
    except TemplateSyntaxError as exc:
        raise InternalError(f"Parse error: {exc}") from None


def _positive_int(template: Template, name: str, limit: int, required: bool) -> int | None:
    text = template.get_str(name)
    if text is None and not required:
        return None
    try:
        value = int((text or "").strip())
    except ValueError:
        value = 0
    if not 0 < value <= limit:
        raise InternalError(f"{name} attribute must be a positive integer value.")
    return value


def _positive_float(template: Template, name: str, limit: float) -> float:
    text = template.get_str(name) or ""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value <= limit:  # also refuses nan
        raise InternalError(f"{name} attribute must be a positive float or integer value.")
    return value


def check_schedule(user: Template) -> None:
    """Compile SCHED_REQUIREMENTS and SCHED_RANK now, so a typo fails the allocate, not the scheduler."""
    for name, compile_ in (("SCHED_REQUIREMENTS", compile_requirements), ("SCHED_RANK", compile_rank)):
        text = user.get_str(name)
        if text is not None:
            try:
                compile_(text)
            except ExpressionError as exc:
                raise InternalError(f"{name}: {exc}") from None


def allocate(db: Database, session: Session, template: Template, owner: Principal, hold: bool,
             default_name: str = "one") -> VirtualMachine:
    """Create a VM of ``owner`` (and its primary group) from a parsed template; PENDING (or HOLD) and leased.

    Without NAME the VM is called ``<default_name>-<id>`` (``one-7``, or ``web-7`` from template web).
    """
    memory = _positive_int(template, "MEMORY", MAX_MEMORY_MB, required=True)
    cpu = _positive_float(template, "CPU", MAX_CPU)
    vcpu = _positive_int(template, "VCPU", MAX_VCPU, required=False) or 1
    vm_id = db.next_id(session, "vm")
    name = template.get_str("NAME") or f"{default_name}-{vm_id}"
    if not valid_name(name):
        raise InternalError(f"NAME must be at most {MAX_NAME} characters on one line.")
    system, user = Template(), Template()
    for key, value in template:
        if key in ("REQUIREMENTS", "RANK"):
            key = f"SCHED_{key}"
        if key == "NAME":
            continue
        (system if key in SYSTEM_ATTRIBUTES else user).add(key, value)
    check_schedule(user)
    for index, disk in enumerate(system.vectors("DISK")):
        disk["DISK_ID"] = str(index)
    nics = [network.lease_nic(session, owner, vm_id, index, nic) for index, nic in enumerate(system.vectors("NIC"))]
    for attr in ("NIC", "VMID", "CPU", "MEMORY"):
        system.remove(attr)
    for nic in nics:
        system.add("NIC", nic)
    system.set("CPU", template.get_str("CPU") or "")
    system.set("MEMORY", str(memory))
    system.set("VMID", str(vm_id))
    vm = VirtualMachine(
        id=vm_id, uid=owner.uid, gid=owner.gid, name=name, state=int(VMState.HOLD if hold else VMState.PENDING), lcm_state=0,
        stime=int(time.time()), cpu=cpu, vcpu=vcpu, memory=memory, template=system.to_json(),
        user_template=user.to_json(),
    )
    session.add(vm)
    return vm


def size(given: Template, cpu: float, vcpu: int, memory: int) -> tuple[float, int, int]:
    """The CPU, VCPU and MEMORY a resize asks for; an attribute not given keeps its value."""
    new_cpu = _positive_float(given, "CPU", MAX_CPU) if given.get_str("CPU") is not None else cpu
    new_vcpu = _positive_int(given, "VCPU", MAX_VCPU, required=False) or vcpu
    new_memory = _positive_int(given, "MEMORY", MAX_MEMORY_MB, required=False) or memory
    return new_cpu, new_vcpu, new_memory


def resized(system_json: str, given: Template) -> str:
    """The VM's TEMPLATE with the sizes a resize gave."""
    system = Template.from_json(system_json)
    for name in ("CPU", "VCPU", "MEMORY"):
        value = given.get_str(name)
        if value is not None:
            system.set(name, value.strip())
    return system.to_json()
