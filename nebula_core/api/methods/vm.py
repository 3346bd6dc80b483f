"""``one.vm.*`` and ``one.vmpool.*``: VMs through their life-cycle, with oned's operation levels.

Actions need MANAGE on the VM, except oned's VM_ADMIN_OPERATIONS (deploy, migrate, recover,
resched and the 1.4 deletes), which need ADMIN. Reads need USE.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from ... import hosts, vms
from ...db import Group, History, Host, User, VirtualMachine
from ...errors import ActionError, ApiError
from ...hooks.events import LeaseTaken, VMAllocated
from ...hooks.manager import Hooks
from ...permissions import Level
from ...states import HostState, VMState
from ...template import Template
from ...users import Principal
from .. import views
from ..rpc import MethodTable, b, i, s
from . import owned
from .common import VM, authorize, load, names, pool_query

if TYPE_CHECKING:
    from ...daemon import Cloud

ADMIN_ACTIONS = frozenset({"delete", "delete-recreate", "finalize", "resubmit", "resched", "unresched"})
RESIZABLE = frozenset({VMState.PENDING, VMState.HOLD, VMState.POWEROFF, VMState.UNDEPLOYED})


def state_filter(stmt: Any, state: int) -> Any:
    if state == -1:
        return stmt.where(VirtualMachine.state != VMState.DONE)
    if state == -2:
        return stmt
    if state not in {int(s) for s in VMState}:
        raise ApiError(f"Incorrect state filter {state}")
    return stmt.where(VirtualMachine.state == state)


VM_WITH_NAMES = select(
    *VirtualMachine.__table__.c,
    select(User.name).where(User.id == VirtualMachine.uid).scalar_subquery().label("uname"),
    select(Group.name).where(Group.id == VirtualMachine.gid).scalar_subquery().label("gname"),
).where(VirtualMachine.id == bindparam("vm_id"))
HISTORY_OF = select(*History.__table__.c).where(History.vm_id == bindparam("vm_id")).order_by(History.seq)
POOL_COLUMNS = (*VirtualMachine.__table__.c, *(c.label(f"h_{c.name}") for c in History.__table__.c))


class CurrentRecord:
    """The current history record of a pool row, read from its ``h_`` columns (one query per pool)."""

    __slots__ = ("row",)

    def __init__(self, row: Any) -> None:
        self.row = row

    def __getattr__(self, name: str) -> Any:
        return getattr(self.row, "h_" + name)


def _check_host_room(session: Session, vm: VirtualMachine, cpu: float, memory: int) -> None:
    """A placed VM grows only into what its host has free (``enforce``)."""
    host = session.get(Host, vm.host_id)
    if host is None:
        return
    used_cpu, used_mem = session.execute(
        select(func.coalesce(func.sum(VirtualMachine.cpu), 0), func.coalesce(func.sum(VirtualMachine.memory), 0))
        .where(VirtualMachine.host_id == host.id, VirtualMachine.id != vm.id)).one()
    if (used_cpu + cpu) * 100 > host.total_cpu or (used_mem + memory) * 1024 > host.total_mem:
        raise ActionError(f"Host [{host.id}] does not have enough capacity for the new size.")


def record_allocation(hooks: Hooks, session: Session, vm: VirtualMachine) -> None:
    """The events of a new VM: allocated, and a lease taken per NIC."""
    hooks.record(session, VMAllocated(vm.id, vm.uid, vm.name))
    if "lease_taken" in hooks.listening:
        for nic in Template.from_json(vm.template).vectors("NIC"):
            hooks.record(session, LeaseTaken(int(nic["NETWORK_ID"]), vm.id, nic.get("IP", ""), nic["MAC"]))


def register(table: MethodTable, cloud: Cloud) -> None:
    db, engine = cloud.db, cloud.engine

    @table.add("one.vm.allocate", s("template"), b("hold", False), access="any user (NIC networks: USE NET)")
    def vm_allocate(caller: Principal, text: str, hold: bool) -> int:
        """Create a VM from a template; it is PENDING (or HOLD) and its leases are taken."""
        template = vms.parse_template(text)
        cloud.hooks.check("vm_allocate_policy", template=template, owner=caller)
        with db.write() as session:
            vm = vms.allocate(db, session, template, caller, hold)
            record_allocation(cloud.hooks, session, vm)
        cloud.scheduler.wake()
        return vm.id

    info_cache = views.RenderCache()

    @table.add("one.vm.info", i("id"), b("decrypt", False), access="USE VM")
    def vm_info(caller: Principal, vm_id: int, _decrypt: bool) -> str:
        """The full VM document with every history record."""
        with db.rows() as conn:  # the most frequent call: prepared Core statements, plain rows, two round trips
            vm = conn.execute(VM_WITH_NAMES, {"vm_id": vm_id}).first()
            authorize(caller, VM, vm_id, vm, Level.USE, read=True)
            assert vm is not None
            records = conn.execute(HISTORY_OF, {"vm_id": vm_id}).all()
        owner = views.Names(users={vm.uid: vm.uname or ""}, groups={vm.gid: vm.gname or ""})
        return info_cache.text(vm_id, (tuple(vm), tuple(map(tuple, records))), lambda: views.vm(vm, owner, records))

    @table.add("one.vm.action", s("action"), i("id"), access="MANAGE VM (ADMIN for resched and the 1.4 deletes)")
    def vm_action(caller: Principal, action: str, vm_id: int) -> int:
        """Apply a life-cycle action (7.4 names, and 1.4's shutdown/cancel/restart/finalize/resubmit)."""
        with db.read() as session:
            load(session, caller, VM, vm_id, Level.ADMIN if action in ADMIN_ACTIONS else Level.MANAGE)
        if action == "delete":  # 7.4 moved it to one.vm.recover; 1.4 clients say finalize
            raise ActionError('Action "delete" is not supported')
        engine.act(vm_id, action)
        if action in ("release", "resume", "resubmit"):
            cloud.scheduler.wake()
        return vm_id

    @table.add("one.vm.deploy", i("id"), i("host_id"), b("enforce", False), i("ds_id", -1), s("extra", ""), access="ADMIN VM")
    def vm_deploy(caller: Principal, vm_id: int, host_id: int, _enforce: bool, _ds: int, _extra: str) -> int:
        """Place a PENDING or HOLD VM on a host now, bypassing the scheduler."""
        with db.read() as session:
            load(session, caller, VM, vm_id, Level.ADMIN)
            if hosts.get(session, host_id).state == HostState.OFFLINE:
                raise ActionError(f"Host [{host_id}] is offline")
        if not engine.deploy([(vm_id, host_id)], reason="api:deploy"):
            raise ActionError('Error performing action "deploy": This action is not available for the VM\'s state')
        return vm_id

    @table.add("one.vm.migrate", i("id"), i("host_id"), b("live", False), b("enforce", False), i("ds_id", -1), i("type", 0),
               access="ADMIN VM")
    def vm_migrate(caller: Principal, vm_id: int, host_id: int, live: bool, _enforce: bool, _ds: int, _type: int) -> int:
        """Move a RUNNING VM to another host: cold (save, move, restore) or live."""
        with db.read() as session:
            load(session, caller, VM, vm_id, Level.ADMIN)
        engine.migrate(vm_id, host_id, live)
        return vm_id

    @table.add("one.vm.recover", i("id"), i("operation"), access="ADMIN VM")
    def vm_recover(caller: Principal, vm_id: int, op: int) -> int:
        """Settle a VM stuck in a failure or transient state: 0 fail, 1 succeed, 2 retry, 3 delete, 4 recreate."""
        with db.read() as session:
            load(session, caller, VM, vm_id, Level.ADMIN)
        if op not in range(5):
            raise ApiError(f"Wrong recover operation code {op}")
        engine.recover(vm_id, op)
        if op == 4:
            cloud.scheduler.wake()
        return vm_id

    owned.register(table, cloud, VM, update_column="user_template", check=vms.check_schedule)

    @table.add("one.vm.resize", i("id"), s("template"), b("enforce", True), access="MANAGE VM")
    def vm_resize(caller: Principal, vm_id: int, text: str, enforce: bool) -> int:
        """Change CPU, VCPU and MEMORY of a VM that is not running (PENDING, HOLD, POWEROFF, UNDEPLOYED)."""
        given = vms.parse_template(text)
        with db.write() as session:
            vm = load(session, caller, VM, vm_id, Level.MANAGE)
            session.refresh(vm, with_for_update=True)
            if vm.state not in RESIZABLE:
                raise ActionError(f"Error performing action \"resize\": This action is not available for state "
                                  f"{VMState(vm.state).name}")
            cpu, vcpu, memory = vms.size(given, vm.cpu, vm.vcpu, vm.memory)
            if enforce and vm.host_id is not None:
                _check_host_room(session, vm, cpu, memory)
            vm.cpu, vm.vcpu, vm.memory = cpu, vcpu, memory
            vm.template = vms.resized(vm.template, given)
        return vm_id

    @table.add("one.vm.monitoring", i("id"), access="USE VM")
    def vm_monitoring(caller: Principal, vm_id: int) -> str:
        """The VM's latest monitoring sample (CPU, MEMORY, NETRX, NETTX, ...)."""
        with db.read() as session:
            vm = load(session, caller, VM, vm_id, Level.USE, read=True)
            sample = json.loads(vm.monitoring or "{}")
        if not sample:
            return "<MONITORING_DATA></MONITORING_DATA>"
        body = "".join(views.element(k, v if isinstance(v, str) else str(v)) for k, v in sorted(sample.items()))
        return f"<MONITORING_DATA><MONITORING><ID>{vm_id}</ID>{body}</MONITORING></MONITORING_DATA>"

    rendered = {True: views.RenderCache(), False: views.RenderCache()}  # pools, by full/short form (escaped)

    def pool_entry(row: Any, all_names: views.Names, full: bool) -> str:
        """One VM of a pool, escaped; rendered again only when its row or owner's names changed."""
        records = [CurrentRecord(row)] if row.h_id is not None else []
        owner = (all_names.users.get(row.uid), all_names.groups.get(row.gid))
        return rendered[full].text(row.id, (tuple(row), owner), lambda: escape(views.vm(row, all_names, records, full)))

    def vm_pool(caller: Principal, flag: int, start: int, end: int, state: int, full: bool) -> views.Document:
        with db.read() as session:
            stmt = state_filter(pool_query(VirtualMachine, caller, flag, start, end), state).with_only_columns(*POOL_COLUMNS)
            current = (History.vm_id == VirtualMachine.id) & (History.seq == VirtualMachine.seq)
            found = session.connection().execute(stmt.outerjoin(History, current)).all()  # plain rows: no ORM
            all_names = names(session)
            return views.Document("VM_POOL", (pool_entry(row, all_names, full) for row in found))

    @table.add("one.vmpool.info", i("filter"), i("start"), i("end"), i("state"), s("query", ""), access="any user (rows: USE VM)")
    def vmpool_info(caller: Principal, flag: int, start: int, end: int, state: int, _query: str) -> views.Document:
        """VMs in the short form."""
        return vm_pool(caller, flag, start, end, state, full=False)

    @table.add("one.vmpool.infoextended", i("filter"), i("start"), i("end"), i("state"), s("query", ""),
               access="any user (rows: USE VM)")
    def vmpool_infoextended(caller: Principal, flag: int, start: int, end: int, state: int, _query: str) -> views.Document:
        """VMs in the full form, with the current history record."""
        return vm_pool(caller, flag, start, end, state, full=True)
