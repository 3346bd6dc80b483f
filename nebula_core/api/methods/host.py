"""``one.host.*`` and ``one.hostpool.*``: only admins see and manage hosts, as in OpenNebula 7.4."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from ... import hosts, vms
from ...db import Host, VirtualMachine
from ...errors import ActionError
from ...hooks.events import HostCreated, HostDeleted, HostStateChanged
from ...permissions import Level
from ...states import HostState
from ...users import Principal
from .. import views
from ..rpc import MethodTable, Param, b, i, s
from .common import require_admin, updated

if TYPE_CHECKING:
    from ...daemon import Cloud


def usage(session: Session, host_id: int | None = None) -> dict[int, views.HostUsage]:
    """What the VMs holding each host take of it (capacity is derived, never stored)."""
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


NO_USAGE = views.HostUsage(0, 0, ())


def register(table: MethodTable, cloud: Cloud) -> None:
    db = cloud.db

    @table.add("one.host.allocate", s("name"), s("im_mad"), s("vm_mad"), Param("cluster_id", int, -1, also=(str,)),
               access="admins (CREATE HOST)")
    def host_allocate(caller: Principal, name: str, im_mad: str, vm_mad: str, cluster: int | str) -> int:
        """Register a host (7.4: name, im, vmm, cluster; 1.4: name, im, vmm, tm)."""
        require_admin(caller, "CREATE", "HOST")
        tm_mad = cluster if isinstance(cluster, str) else "dummy"
        with db.write() as session:
            host = hosts.allocate(db, session, cloud.drivers, name, im_mad, vm_mad, tm_mad)
            cloud.hooks.record(session, HostCreated(host.id, host.name))
        cloud.monitor.probe_now(host.id)
        return host.id

    @table.add("one.host.info", i("id"), b("decrypt", False), access="admins (USE HOST)")
    def host_info(caller: Principal, host_id: int, _decrypt: bool) -> str:
        """One host, with its capacity and the VMs it runs."""
        require_admin(caller, Level.USE, "HOST", host_id)
        with db.read() as session:
            host = hosts.get(session, host_id)
            return views.host(host, usage(session, host_id).get(host_id, NO_USAGE))

    @table.add("one.host.delete", i("id"), access="admins (ADMIN HOST)")
    def host_delete(caller: Principal, host_id: int) -> int:
        """Remove a host that runs no VM."""
        require_admin(caller, Level.ADMIN, "HOST", host_id)
        with db.write() as session:
            host = hosts.get(session, host_id)
            hosts.remove(session, host)
            cloud.hooks.record(session, HostDeleted(host.id, host.name))
        return host_id

    @table.add("one.host.status", i("id"), i("status"), access="admins (ADMIN HOST)")
    def host_status(caller: Principal, host_id: int, status: int) -> int:
        """0 enable (monitor again), 1 disable (no new VMs), 2 offline."""
        require_admin(caller, Level.ADMIN, "HOST", host_id)
        with db.write() as session:
            host = hosts.get(session, host_id)
            hosts.set_status(host, status)
            if host.state != host.prev_state:
                cloud.hooks.record(session, HostStateChanged(host.id, host.name, HostState(host.prev_state).name,
                                                             HostState(host.state).name, "api"))
        cloud.monitor.probe_now(host_id)
        return host_id

    @table.add("one.host.enable", i("id"), b("enable"), access="admins (ADMIN HOST)")
    def host_enable(caller: Principal, host_id: int, enable: bool) -> int:
        """1.4's enable/disable."""
        return host_status(caller, host_id, 0 if enable else 1)

    @table.add("one.host.update", i("id"), s("template"), i("append", 0), access="admins (ADMIN HOST)")
    def host_update(caller: Principal, host_id: int, text: str, append: int) -> int:
        """Replace (0) or merge into (1) the admin's attributes of a host."""
        require_admin(caller, Level.ADMIN, "HOST", host_id)
        given = vms.parse_template(text)
        with db.write() as session:
            host = hosts.get(session, host_id)
            host.template = updated(host.template, given, append)
        cloud.monitor.probe_now(host_id)
        return host_id

    @table.add("one.host.rename", i("id"), s("name"), access="admins (ADMIN HOST)")
    def host_rename(caller: Principal, host_id: int, name: str) -> int:
        """Give a host another name (its drivers reach it by the new name from the next call)."""
        require_admin(caller, Level.ADMIN, "HOST", host_id)
        if not hosts.valid_name(name):
            raise ActionError(f"Invalid host name {name[:80]!r}: letters, digits and . _ : @ [ ] - only.")
        with db.write() as session:
            host = hosts.get(session, host_id)
            taken = session.scalars(select(Host.id).where(Host.name == name, Host.id != host_id)).first()
            if taken is not None:
                raise ActionError(f"NAME is already taken by HOST {taken}.")  # a rename collision is ACTION in oned
            host.name = name
        return host_id

    @table.add("one.host.monitoring", i("id"), access="admins (USE HOST)")
    def host_monitoring(caller: Principal, host_id: int) -> str:
        """The host's latest probe."""
        require_admin(caller, Level.USE, "HOST", host_id)
        with db.read() as session:
            host = hosts.get(session, host_id)
            return views.pool("MONITORING_DATA", [views.host_monitoring(host, json.loads(host.monitoring or "{}"))])

    @table.add("one.hostpool.info", access="any user (regular users see none)")
    def hostpool_info(caller: Principal) -> str:
        """Every host (regular users see none, as in 7.4)."""
        if not caller.is_admin:
            return "<HOST_POOL></HOST_POOL>"
        with db.read() as session:
            used = usage(session)
            found = list(session.scalars(select(Host).order_by(Host.id.desc())))
            return views.pool("HOST_POOL", (views.host(h, used.get(h.id, NO_USAGE)) for h in found))

    @table.add("one.hostpool.monitoring", i("seconds", -1), access="any user (regular users see none)")
    def hostpool_monitoring(caller: Principal, _seconds: int) -> str:
        """The latest probe of every host."""
        if not caller.is_admin:
            return "<MONITORING_DATA></MONITORING_DATA>"
        with db.read() as session:
            found = list(session.scalars(select(Host).order_by(Host.id)))
            return views.pool("MONITORING_DATA", (views.host_monitoring(h, json.loads(h.monitoring or "{}")) for h in found))
