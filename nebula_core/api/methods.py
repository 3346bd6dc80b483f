"""The API's methods: OpenNebula's names and argument lists, over the core's services.

Each handler is declared with its parameters (the types xmlrpc-c would check) and takes the
authenticated caller first. The 1.4 names that differ (``one.host.enable``, the action names
``shutdown``, ``cancel``, ``finalize``...) map onto the same life-cycle.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, false, func, select
from sqlalchemy.orm import Session

from .. import hosts, network, users, vms
from ..db import AddressRange, Group, History, Host, Lease, User, VirtualMachine, VirtualNetwork, VMTemplate
from ..errors import ActionError, ApiError, AuthorizationError, InternalError, NoExistsError
from ..states import HostState, VMState
from ..template import Template
from ..users import Principal
from . import views
from .rpc import MethodTable, Param

if TYPE_CHECKING:
    from ..daemon import Cloud

VERSION = "7.4.0"  # opennebula-cli refuses servers that do not say 7.0 or 7.4
ADMIN_VM_ACTIONS = frozenset({"delete", "delete-recreate", "finalize", "resubmit"})


def _i(name: str, default: Any = ...) -> Param:
    return Param(name, int) if default is ... else Param(name, int, default)


def _s(name: str, default: Any = ...) -> Param:
    return Param(name, str) if default is ... else Param(name, str, default)


def _b(name: str, default: Any = ...) -> Param:
    return Param(name, bool) if default is ... else Param(name, bool, default)


def _deny(caller: Principal, level: str, kind: str, obj_id: int | None = None) -> AuthorizationError:
    target = f"{kind} [{obj_id}]" if obj_id is not None else kind
    return AuthorizationError(f"User [{caller.uid}] : Not authorized to perform {level} {target}.")


def _require_admin(caller: Principal, level: str, kind: str, obj_id: int | None = None) -> None:
    if not caller.is_admin:
        raise _deny(caller, level, kind, obj_id)


def _require_owner(caller: Principal, owner: int, level: str, kind: str, obj_id: int) -> None:
    if not caller.is_admin and caller.uid != owner:
        raise _deny(caller, level, kind, obj_id)


def _names(session: Session, owner: tuple[int, int] | None = None) -> views.Names:
    """User and group names: all of them for a pool, or just one object's (uid, gid)."""
    users, groups = select(User.id, User.name), select(Group.id, Group.name)
    if owner is not None:
        users, groups = users.where(User.id == owner[0]), groups.where(Group.id == owner[1])
    return views.Names(users=dict(session.execute(users).all()), groups=dict(session.execute(groups).all()))


def pool_filter(stmt: Select[Any], model: Any, caller: Principal, flag: int, start: int, end: int) -> Select[Any]:
    """OpenNebula's pool arguments: who (flag), which ids (start/end), or a page (end < -1)."""
    if flag < -4:
        raise ApiError("Incorrect filter_flag")
    if flag >= 0:
        stmt = stmt.where(model.uid == flag)
        if not caller.is_admin and flag != caller.uid:
            stmt = stmt.where(false())
    elif flag == -2 and caller.is_admin:
        pass
    elif flag == -4:
        stmt = stmt.where(model.gid == caller.gid, model.uid == caller.uid)
    else:
        stmt = stmt.where(model.uid == caller.uid)
    stmt = stmt.order_by(model.id.desc())
    if end < -1:
        return stmt.offset(max(start, 0)).limit(-end)
    if start >= 0:
        stmt = stmt.where(model.id >= start)
        if end >= 0:
            stmt = stmt.where(model.id <= end)
    return stmt


def state_filter(stmt: Select[Any], state: int) -> Select[Any]:
    if state == -1:
        return stmt.where(VirtualMachine.state != VMState.DONE)
    if state == -2:
        return stmt
    if state not in {int(s) for s in VMState}:
        raise ApiError(f"Incorrect state filter {state}")
    return stmt.where(VirtualMachine.state == state)


def _host_usage(session: Session, host_id: int | None = None) -> dict[int, views.HostUsage]:
    stmt = select(VirtualMachine.host_id, VirtualMachine.id, VirtualMachine.cpu, VirtualMachine.memory).where(
        VirtualMachine.host_id.is_not(None))
    if host_id is not None:
        stmt = stmt.where(VirtualMachine.host_id == host_id)
    cpu: dict[int, float] = defaultdict(float)
    mem: dict[int, int] = defaultdict(int)
    vms_on: dict[int, list[int]] = defaultdict(list)
    for hid, vm_id, vm_cpu, vm_mem in session.execute(stmt):
        assert hid is not None  # the query keeps placed VMs only
        cpu[hid] += vm_cpu
        mem[hid] += vm_mem
        vms_on[hid].append(vm_id)
    return {hid: views.HostUsage(round(cpu[hid] * 100), mem[hid] * 1024, tuple(sorted(vms_on[hid]))) for hid in vms_on}


def _new_name(name: str) -> str:
    """The name a rename asks for, refused (ACTION) unless it is a valid VM or template name."""
    if not vms.valid_name(name):
        raise ActionError(f"Invalid name: 1-{vms.MAX_NAME} characters on one line.")
    return name


def _updated(stored_json: str, given: Template, append: int) -> str:
    """OpenNebula's update: replace the template (append 0) or merge the given attributes (1)."""
    if not append:
        return given.to_json()
    current = Template.from_json(stored_json)
    current.merge(given)
    return current.to_json()


def _current_records(session: Session, vm_ids: list[int], chunk: int = 5000) -> dict[int, Any]:
    """The current placement record of each VM, as plain rows (pools render thousands)."""
    records: dict[int, Any] = {}
    for start in range(0, len(vm_ids), chunk):
        ids = vm_ids[start:start + chunk]
        records.update((row.vm_id, row) for row in session.execute(
            select(*History.__table__.c)
            .join(VirtualMachine, (History.vm_id == VirtualMachine.id) & (History.seq == VirtualMachine.seq))
            .where(VirtualMachine.id.in_(ids))
        ))
    return records


def _vnet_xml(session: Session, vnet: VirtualNetwork, names: views.Names, full: bool = True) -> str:
    ranges = list(session.scalars(select(AddressRange).where(AddressRange.vnet_id == vnet.id).order_by(AddressRange.ar_id)))
    leases: dict[int, list[tuple[int, int | None]]] = defaultdict(list)
    for ar_id, idx, vm_id in session.execute(select(Lease.ar_id, Lease.idx, Lease.vm_id).where(Lease.vnet_id == vnet.id)):
        leases[ar_id].append((idx, vm_id))
    return views.vnet(vnet, names, ranges, leases, full)


def build(cloud: Cloud) -> MethodTable:
    """The method table for one daemon."""
    table = MethodTable()
    db, engine = cloud.db, cloud.engine

    # -- system ------------------------------------------------------------------------------

    @table.add("one.system.version")
    def system_version(caller: Principal) -> str:
        """The OpenNebula version this API speaks."""
        return VERSION

    @table.add("one.system.config")
    def system_config(caller: Principal) -> str:
        """The daemon's configuration (admins only see the database URL)."""
        cfg = cloud.config
        items = {"PORT": cfg.api.port, "SCHED_INTERVAL": cfg.scheduler.interval, "MONITORING_INTERVAL_HOST": cfg.monitor.host_interval,
                 "MONITORING_INTERVAL_VM": cfg.monitor.vm_interval, "MAC_PREFIX": cfg.network.mac_prefix, "VERSION": VERSION}
        if caller.is_admin:
            items["DB"] = cfg.database_url.split("@")[-1]
        return views.pool("OPENNEBULA_CONFIGURATION", (views.element(k, v if isinstance(v, str) else str(v)) for k, v in items.items()))

    # -- VMs ---------------------------------------------------------------------------------

    @table.add("one.vm.allocate", _s("template"), _b("hold", False))
    def vm_allocate(caller: Principal, text: str, hold: bool) -> int:
        """Create a VM from a template; it is PENDING (or HOLD) and its leases are taken."""
        template = vms.parse_template(text)
        with db.write() as session:
            vm = vms.allocate(db, session, template, caller.uid, caller.gid, hold)
        cloud.scheduler.wake()
        return vm.id

    def load_vm(session: Session, caller: Principal, vm_id: int, level: str) -> VirtualMachine:
        vm = session.get(VirtualMachine, vm_id)
        if vm is None:
            raise NoExistsError(f"Error getting virtual machine [{vm_id}].", vm_id)
        _require_owner(caller, vm.uid, level, "VM", vm_id)
        return vm

    @table.add("one.vm.info", _i("id"), _b("decrypt", False))
    def vm_info(caller: Principal, vm_id: int, _decrypt: bool) -> str:
        """The full VM document with every history record."""
        with db.read() as session:
            vm = load_vm(session, caller, vm_id, "USE")
            records = list(session.scalars(select(History).where(History.vm_id == vm_id).order_by(History.seq)))
            return views.vm(vm, _names(session, (vm.uid, vm.gid)), records)

    @table.add("one.vm.action", _s("action"), _i("id"))
    def vm_action(caller: Principal, action: str, vm_id: int) -> int:
        """Apply a life-cycle action (7.4 names, and 1.4's shutdown/cancel/restart/finalize/resubmit)."""
        with db.read() as session:
            load_vm(session, caller, vm_id, "ADMIN" if action in ADMIN_VM_ACTIONS else "MANAGE")
        if action == "delete":  # 7.4 moved it to one.vm.recover; 1.4 clients say finalize
            raise ActionError('Action "delete" is not supported')
        engine.act(vm_id, action)
        if action in ("release", "resume", "resubmit"):
            cloud.scheduler.wake()
        return vm_id

    @table.add("one.vm.deploy", _i("id"), _i("host_id"), _b("enforce", False), _i("ds_id", -1), _s("extra", ""))
    def vm_deploy(caller: Principal, vm_id: int, host_id: int, enforce: bool, _ds: int, _extra: str) -> int:
        """Place a PENDING or HOLD VM on a host now, bypassing the scheduler."""
        with db.read() as session:
            load_vm(session, caller, vm_id, "ADMIN")
            _require_admin(caller, "ADMIN", "VM", vm_id)
            host = hosts.get(session, host_id)
            if host.state in (HostState.OFFLINE,):
                raise ActionError(f"Host [{host_id}] is offline")
        if not engine.deploy([(vm_id, host_id)], reason="api:deploy"):
            raise ActionError('Error performing action "deploy": This action is not available for the VM\'s state')
        return vm_id

    @table.add("one.vm.migrate", _i("id"), _i("host_id"), _b("live", False), _b("enforce", False), _i("ds_id", -1), _i("type", 0))
    def vm_migrate(caller: Principal, vm_id: int, host_id: int, live: bool, _enforce: bool, _ds: int, _type: int) -> int:
        """Move a RUNNING VM to another host: cold (save, move, restore) or live."""
        with db.read() as session:
            load_vm(session, caller, vm_id, "ADMIN")
            _require_admin(caller, "ADMIN", "VM", vm_id)
        engine.migrate(vm_id, host_id, live)
        return vm_id

    @table.add("one.vm.recover", _i("id"), _i("operation"))
    def vm_recover(caller: Principal, vm_id: int, op: int) -> int:
        """Settle a VM stuck in a failure or transient state: 0 fail, 1 succeed, 2 retry, 3 delete, 4 recreate."""
        with db.read() as session:
            load_vm(session, caller, vm_id, "ADMIN")
            _require_admin(caller, "ADMIN", "VM", vm_id)
        if op not in range(5):
            raise ApiError(f"Wrong recover operation code {op}")
        engine.recover(vm_id, op)
        if op == 4:
            cloud.scheduler.wake()
        return vm_id

    @table.add("one.vm.update", _i("id"), _s("template"), _i("append", 0))
    def vm_update(caller: Principal, vm_id: int, text: str, append: int) -> int:
        """Replace (0) or merge into (1) the VM's USER_TEMPLATE."""
        given = vms.parse_template(text)
        vms.check_schedule(given)
        with db.write() as session:
            vm = load_vm(session, caller, vm_id, "MANAGE")
            vm.user_template = _updated(vm.user_template, given, append)
        return vm_id

    @table.add("one.vm.rename", _i("id"), _s("name"))
    def vm_rename(caller: Principal, vm_id: int, name: str) -> int:
        """Give the VM another name."""
        name = _new_name(name)
        with db.write() as session:
            load_vm(session, caller, vm_id, "MANAGE").name = name
        return vm_id

    def vm_pool(caller: Principal, flag: int, start: int, end: int, state: int, full: bool) -> views.Document:
        with db.read() as session:
            stmt = state_filter(pool_filter(select(VirtualMachine), VirtualMachine, caller, flag, start, end), state)
            found = list(session.execute(stmt.with_only_columns(*VirtualMachine.__table__.c)))
            records = _current_records(session, [vm.id for vm in found])
            names = _names(session)
            return views.Document("VM_POOL", (views.vm(vm, names, [records[vm.id]] if vm.id in records else [], full)
                                              for vm in found))

    @table.add("one.vmpool.info", _i("filter"), _i("start"), _i("end"), _i("state"), _s("query", ""))
    def vmpool_info(caller: Principal, flag: int, start: int, end: int, state: int, _query: str) -> views.Document:
        """VMs in the short form."""
        return vm_pool(caller, flag, start, end, state, full=False)

    @table.add("one.vmpool.infoextended", _i("filter"), _i("start"), _i("end"), _i("state"), _s("query", ""))
    def vmpool_infoextended(caller: Principal, flag: int, start: int, end: int, state: int, _query: str) -> views.Document:
        """VMs in the full form, with the current history record."""
        return vm_pool(caller, flag, start, end, state, full=True)

    # -- hosts -------------------------------------------------------------------------------

    @table.add("one.host.allocate", _s("name"), _s("im_mad"), _s("vm_mad"), Param("cluster_id", int, -1, also=(str,)))
    def host_allocate(caller: Principal, name: str, im_mad: str, vm_mad: str, cluster: int | str) -> int:
        """Register a host (7.4: name, im, vmm, cluster; 1.4: name, im, vmm, tm)."""
        _require_admin(caller, "CREATE", "HOST")
        tm_mad = cluster if isinstance(cluster, str) else "dummy"
        with db.write() as session:
            host = hosts.allocate(db, session, cloud.drivers, name, im_mad, vm_mad, tm_mad)
        cloud.monitor.probe_now(host.id)
        return host.id

    @table.add("one.host.info", _i("id"), _b("decrypt", False))
    def host_info(caller: Principal, host_id: int, _decrypt: bool) -> str:
        """One host, with its capacity and the VMs it runs."""
        with db.read() as session:
            host = hosts.get(session, host_id)
            usage = _host_usage(session, host_id).get(host_id, views.HostUsage(0, 0, ()))
            return views.host(host, usage)

    @table.add("one.host.delete", _i("id"))
    def host_delete(caller: Principal, host_id: int) -> int:
        """Remove a host that runs no VM."""
        _require_admin(caller, "ADMIN", "HOST", host_id)
        with db.write() as session:
            hosts.remove(session, hosts.get(session, host_id))
        return host_id

    @table.add("one.host.status", _i("id"), _i("status"))
    def host_status(caller: Principal, host_id: int, status: int) -> int:
        """0 enable, 1 disable, 2 offline."""
        _require_admin(caller, "ADMIN", "HOST", host_id)
        with db.write() as session:
            hosts.set_status(hosts.get(session, host_id), status)
        cloud.monitor.probe_now(host_id)
        return host_id

    @table.add("one.host.enable", _i("id"), _b("enable"))
    def host_enable(caller: Principal, host_id: int, enable: bool) -> int:
        """1.4's enable/disable."""
        return host_status(caller, host_id, 0 if enable else 1)

    @table.add("one.host.update", _i("id"), _s("template"), _i("append", 0))
    def host_update(caller: Principal, host_id: int, text: str, append: int) -> int:
        """Replace (0) or merge into (1) the admin's attributes of a host."""
        _require_admin(caller, "ADMIN", "HOST", host_id)
        given = vms.parse_template(text)
        with db.write() as session:
            host = hosts.get(session, host_id)
            host.template = _updated(host.template, given, append)
        cloud.monitor.probe_now(host_id)
        return host_id

    @table.add("one.hostpool.info")
    def hostpool_info(caller: Principal) -> str:
        """Every host (regular users see none, as in 7.4)."""
        with db.read() as session:
            if not caller.is_admin:
                return "<HOST_POOL></HOST_POOL>"
            usage = _host_usage(session)
            empty = views.HostUsage(0, 0, ())
            found: Sequence[Host] = list(session.scalars(select(Host).order_by(Host.id.desc())))
            return views.pool("HOST_POOL", (views.host(h, usage.get(h.id, empty)) for h in found))

    # -- virtual networks --------------------------------------------------------------------

    @table.add("one.vn.allocate", _s("template"), _i("cluster_id", -1))
    def vn_allocate(caller: Principal, text: str, _cluster: int) -> int:
        """Create a virtual network (1.4 RANGED/FIXED, or modern address ranges)."""
        template = vms.parse_template(text)
        with db.write() as session:
            vnet = network.create(session, db.next_id(session, "vnet"), caller.uid, caller.gid, template,
                                  cloud.config.network.mac_prefix)
        return vnet.id

    def load_vnet(session: Session, caller: Principal, vnet_id: int, level: str) -> VirtualNetwork:
        vnet = session.get(VirtualNetwork, vnet_id)
        if vnet is None:
            raise NoExistsError(f"Error getting virtual network [{vnet_id}].", vnet_id)
        if level != "USE":
            _require_owner(caller, vnet.uid, level, "NET", vnet_id)
        return vnet

    @table.add("one.vn.info", _i("id"), _b("decrypt", False))
    def vn_info(caller: Principal, vnet_id: int, _decrypt: bool) -> str:
        """One network with its address ranges and leases."""
        with db.read() as session:
            return _vnet_xml(session, load_vnet(session, caller, vnet_id, "USE"), _names(session))

    @table.add("one.vn.delete", _i("id"))
    def vn_delete(caller: Principal, vnet_id: int) -> int:
        """Remove a network none of whose leases is held by a VM."""
        with db.write() as session:
            network.remove(session, load_vnet(session, caller, vnet_id, "MANAGE"))
        return vnet_id

    @table.add("one.vnpool.info", _i("filter"), _i("start", -1), _i("end", -1))
    def vnpool_info(caller: Principal, flag: int, start: int, end: int) -> str:
        """Networks; every user may see every network (and use it), as in 1.4."""
        with db.read() as session:
            stmt = pool_filter(select(VirtualNetwork), VirtualNetwork, Principal(caller.uid, 0, caller.name) if flag == -2 else caller,
                               flag, start, end)
            names = _names(session)
            return views.pool("VNET_POOL", (_vnet_xml(session, n, names, full=False) for n in session.scalars(stmt)))

    # -- VM templates ------------------------------------------------------------------------

    def load_template(session: Session, caller: Principal, template_id: int, level: str) -> VMTemplate:
        found = session.get(VMTemplate, template_id)
        if found is None:
            raise NoExistsError(f"Error getting virtual machine template [{template_id}].", template_id)
        _require_owner(caller, found.uid, level, "TEMPLATE", template_id)
        return found

    def new_template(session: Session, caller: Principal, template: Template) -> int:
        name = template.get_str("NAME")
        if not vms.valid_name(name):
            raise InternalError(f"NAME is required: 1-{vms.MAX_NAME} characters on one line.")
        vms.check_schedule(template)
        record = VMTemplate(id=db.next_id(session, "template"), uid=caller.uid, gid=caller.gid, name=name,
                            regtime=int(time.time()), template=template.to_json())
        session.add(record)
        return record.id

    @table.add("one.template.allocate", _s("template"))
    def template_allocate(caller: Principal, text: str) -> int:
        """Register a VM template (it needs a NAME; nothing is checked until it is instantiated)."""
        template = vms.parse_template(text)
        with db.write() as session:
            return new_template(session, caller, template)

    @table.add("one.template.info", _i("id"), _b("extended", False), _b("decrypt", False))
    def template_info(caller: Principal, template_id: int, _extended: bool, _decrypt: bool) -> str:
        """One VM template."""
        with db.read() as session:
            found = load_template(session, caller, template_id, "USE")
            return views.vm_template(found, _names(session, (found.uid, found.gid)))

    @table.add("one.template.update", _i("id"), _s("template"), _i("append", 0))
    def template_update(caller: Principal, template_id: int, text: str, append: int) -> int:
        """Replace (0) or merge into (1) a VM template."""
        given = vms.parse_template(text)
        with db.write() as session:
            found = load_template(session, caller, template_id, "MANAGE")
            found.template = _updated(found.template, given, append)
        return template_id

    @table.add("one.template.rename", _i("id"), _s("name"))
    def template_rename(caller: Principal, template_id: int, name: str) -> int:
        """Give a VM template another name."""
        name = _new_name(name)
        with db.write() as session:
            load_template(session, caller, template_id, "MANAGE").name = name
        return template_id

    @table.add("one.template.delete", _i("id"), _b("recursive", False))
    def template_delete(caller: Principal, template_id: int, _recursive: bool) -> int:
        """Remove a VM template; the VMs made from it stay."""
        with db.write() as session:
            session.delete(load_template(session, caller, template_id, "MANAGE"))
        return template_id

    @table.add("one.template.clone", _i("id"), _s("name"), _b("recursive", False))
    def template_clone(caller: Principal, template_id: int, name: str, _recursive: bool) -> int:
        """Copy a VM template under a new name, owned by the caller."""
        with db.write() as session:
            template = Template.from_json(load_template(session, caller, template_id, "USE").template)
            template.set("NAME", name)
            return new_template(session, caller, template)

    @table.add("one.template.instantiate", _i("id"), _s("name", ""), _b("hold", False), _s("extra", ""),
               _b("persistent", False))
    def template_instantiate(caller: Principal, template_id: int, name: str, hold: bool, extra: str,
                             _persistent: bool) -> int:
        """Create a VM from a template; ``extra`` attributes override the template's."""
        given = vms.parse_template(extra) if extra else Template()
        with db.write() as session:
            found = load_template(session, caller, template_id, "USE")
            template = Template.from_json(found.template)
            template.merge(given)
            template.remove("NAME")
            if name:
                template.set("NAME", name)
            template.set("TEMPLATE_ID", str(template_id))
            vm = vms.allocate(db, session, template, caller.uid, caller.gid, hold, default_name=found.name)
        cloud.scheduler.wake()
        return vm.id

    @table.add("one.templatepool.info", _i("filter"), _i("start", -1), _i("end", -1))
    def templatepool_info(caller: Principal, flag: int, start: int, end: int) -> str:
        """VM templates, newest first."""
        with db.read() as session:
            stmt = pool_filter(select(VMTemplate), VMTemplate, caller, flag, start, end)
            names = _names(session)
            return views.pool("VMTEMPLATE_POOL", [views.vm_template(t, names) for t in session.scalars(stmt)])

    # -- groups ------------------------------------------------------------------------------

    @table.add("one.group.allocate", _s("name"))
    def group_allocate(caller: Principal, name: str) -> int:
        """Create a group (admins only)."""
        _require_admin(caller, "CREATE", "GROUP")
        if not name or len(name) > 128 or any(c in name for c in " :\t\n\r"):
            raise InternalError("Invalid NAME: group names are 1-128 characters without blanks or ':'.")
        with db.write() as session:
            taken = session.scalars(select(Group.id).where(Group.name == name)).first()
            if taken is not None:
                raise InternalError(f"NAME is already taken by GROUP {taken}.")
            group = Group(id=db.next_id(session, "group"), name=name)
            session.add(group)
            return group.id

    def members(session: Session, gid: int) -> list[int]:
        return list(session.scalars(select(User.id).where(User.gid == gid).order_by(User.id)))

    @table.add("one.group.info", _i("id"), _b("decrypt", False))
    def group_info(caller: Principal, gid: int, _decrypt: bool) -> str:
        """One group (-1: the caller's) with its members."""
        gid = caller.gid if gid == -1 else gid
        if not caller.is_admin and gid != caller.gid:
            raise _deny(caller, "USE", "GROUP", gid)
        with db.read() as session:
            group = session.get(Group, gid)
            if group is None:
                raise NoExistsError(f"Error getting group [{gid}].", gid)
            return views.group(group, members(session, gid))

    @table.add("one.group.delete", _i("id"))
    def group_delete(caller: Principal, gid: int) -> int:
        """Remove an empty group; the built-in oneadmin and users groups stay."""
        _require_admin(caller, "ADMIN", "GROUP", gid)
        if gid in (users.ONEADMIN_GROUP, users.USERS_GROUP):
            raise ActionError("The oneadmin and users groups cannot be deleted")
        with db.write() as session:
            group = session.get(Group, gid)
            if group is None:
                raise NoExistsError(f"Error getting group [{gid}].", gid)
            if members(session, gid):
                raise ActionError(f"Group [{gid}] still has users")
            session.delete(group)
        return gid

    @table.add("one.grouppool.info")
    def grouppool_info(caller: Principal) -> str:
        """Every group for admins; the caller's otherwise."""
        with db.read() as session:
            stmt = select(Group).order_by(Group.id.desc())
            if not caller.is_admin:
                stmt = stmt.where(Group.id == caller.gid)
            return views.pool("GROUP_POOL", [views.group(g, members(session, g.id)) for g in session.scalars(stmt)])

    # -- users -------------------------------------------------------------------------------

    @table.add("one.user.allocate", _s("name"), _s("password"), _s("driver", ""), Param("groups", list, [], also=(bool,)),
               Param("cli_groups", list, []))
    def user_allocate(caller: Principal, name: str, password: str, _driver: str, groups: list[Any] | bool,
                      cli_groups: list[Any]) -> int:
        """Create a user (opennebula-cli's extra boolean before the group list is tolerated)."""
        _require_admin(caller, "CREATE", "USER")
        gids = groups if isinstance(groups, list) else cli_groups
        if not all(type(g) is int for g in gids):
            raise ApiError("Group ids must be integers")
        with db.write() as session:
            gid = gids[0] if gids else users.USERS_GROUP
            if session.get(Group, gid) is None:
                raise NoExistsError(f"Error getting group [{gid}].", gid)
            return users.create(db, session, name, password, gid).id

    def load_user(session: Session, caller: Principal, user_id: int, level: str) -> User:
        user_id = caller.uid if user_id == -1 else user_id
        user = session.get(User, user_id)
        if user is None:
            raise NoExistsError(f"Error getting user [{user_id}].", user_id)
        if not caller.is_admin and caller.uid != user_id:
            raise _deny(caller, level, "USER", user_id)
        return user

    @table.add("one.user.info", _i("id"), _b("decrypt", False))
    def user_info(caller: Principal, user_id: int, _decrypt: bool) -> str:
        """One user (-1: the caller)."""
        with db.read() as session:
            return views.user(load_user(session, caller, user_id, "USE"), _names(session))

    @table.add("one.user.delete", _i("id"))
    def user_delete(caller: Principal, user_id: int) -> int:
        """Remove a user that owns nothing alive; oneadmin cannot be removed."""
        _require_admin(caller, "ADMIN", "USER", user_id)
        if user_id == 0:
            raise ActionError("oneadmin cannot be deleted")
        with db.write() as session:
            user = load_user(session, caller, user_id, "ADMIN")
            alive = session.scalar(select(func.count()).select_from(VirtualMachine).where(
                VirtualMachine.uid == user_id, VirtualMachine.state != VMState.DONE))
            if alive:
                raise ActionError(f"User [{user_id}] owns {alive} VMs that are not DONE")
            session.delete(user)
        cloud.auth.forget(user_id)
        return user_id

    @table.add("one.user.passwd", _i("id"), _s("password"))
    def user_passwd(caller: Principal, user_id: int, password: str) -> int:
        """Change a password; sessions with the old one stop working at once."""
        if not password:
            raise ActionError("Invalid password: it must not be empty.")
        with db.write() as session:
            load_user(session, caller, user_id, "MANAGE").password = users.hash_password(password)
        cloud.auth.forget(caller.uid if user_id == -1 else user_id)
        return user_id

    @table.add("one.userpool.info")
    def userpool_info(caller: Principal) -> str:
        """Every user for admins; yourself otherwise."""
        with db.read() as session:
            stmt = select(User).order_by(User.id.desc())
            if not caller.is_admin:
                stmt = stmt.where(User.id == caller.uid)
            names = _names(session)
            return views.pool("USER_POOL", (views.user(u, names) for u in session.scalars(stmt)))

    return table
