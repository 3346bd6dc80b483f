"""``one.vn.*`` and ``one.vnpool.*``: networks, their address ranges, holds and reservations.

Changing a network's ranges needs ADMIN on it, as in oned; holding and releasing an address
MANAGE; reserving a block of it for oneself USE.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from ... import network, vms
from ...db import AddressRange, Lease, VirtualNetwork
from ...permissions import Level
from ...users import Principal
from .. import views
from ..rpc import MethodTable, b, i, s
from . import owned
from .common import NET, load, names, pool_query

if TYPE_CHECKING:
    from ...daemon import Cloud


def vnet_xml(session: Session, vnet: VirtualNetwork, all_names: views.Names, full: bool = True) -> str:
    ranges = list(session.scalars(select(AddressRange).where(AddressRange.vnet_id == vnet.id).order_by(AddressRange.ar_id)))
    leases: dict[int, list[views.LeaseRow]] = defaultdict(list)
    for ar_id, idx, vm_id, reservation in session.execute(
            select(Lease.ar_id, Lease.idx, Lease.vm_id, Lease.reservation_id).where(Lease.vnet_id == vnet.id)):
        leases[ar_id].append((idx, vm_id, reservation))
    return views.vnet(vnet, all_names, ranges, leases, full)


def register(table: MethodTable, cloud: Cloud) -> None:
    db, mac_prefix = cloud.db, cloud.config.network.mac_prefix

    @table.add("one.vn.allocate", s("template"), i("cluster_id", -1), access="any user")
    def vn_allocate(caller: Principal, text: str, _cluster: int) -> int:
        """Create a virtual network (1.4 RANGED/FIXED, or modern address ranges)."""
        template = vms.parse_template(text)
        with db.write() as session:
            return network.create(session, db.next_id(session, "vnet"), caller.uid, caller.gid, template, mac_prefix).id

    @table.add("one.vn.info", i("id"), b("decrypt", False), access="USE NET")
    def vn_info(caller: Principal, vnet_id: int, _decrypt: bool) -> str:
        """One network with its address ranges and leases."""
        with db.read() as session:
            vnet = load(session, caller, NET, vnet_id, Level.USE, read=True)
            return vnet_xml(session, vnet, names(session))

    @table.add("one.vn.delete", i("id"), access="MANAGE NET")
    def vn_delete(caller: Principal, vnet_id: int) -> int:
        """Remove a network no VM and no reservation uses; a reservation's addresses go back to its parent."""
        with db.write() as session:
            network.remove(session, load(session, caller, NET, vnet_id, Level.MANAGE))
        return vnet_id

    owned.register(table, cloud, NET)

    @table.add("one.vn.add_ar", i("id"), s("template"), access="ADMIN NET")
    def vn_add_ar(caller: Principal, vnet_id: int, text: str) -> int:
        """Add an address range given as ``AR = [ TYPE = IP4, IP = ..., SIZE = ... ]``."""
        given = vms.parse_template(text)
        with db.write() as session:
            network.add_range(session, load(session, caller, NET, vnet_id, Level.ADMIN), given, mac_prefix)
        return vnet_id

    @table.add("one.vn.rm_ar", i("id"), i("ar_id"), b("force", False), access="ADMIN NET")
    def vn_rm_ar(caller: Principal, vnet_id: int, ar_id: int, force: bool) -> int:
        """Remove an address range no VM uses (held addresses go with it only when forced)."""
        with db.write() as session:
            network.remove_range(session, load(session, caller, NET, vnet_id, Level.ADMIN), ar_id, force)
        return vnet_id

    @table.add("one.vn.update_ar", i("id"), s("template"), access="MANAGE NET")
    def vn_update_ar(caller: Principal, vnet_id: int, text: str) -> int:
        """Resize an address range: ``AR = [ AR_ID = 0, SIZE = 100 ]``."""
        given = vms.parse_template(text)
        with db.write() as session:
            network.update_range(session, load(session, caller, NET, vnet_id, Level.MANAGE), given)
        return vnet_id

    @table.add("one.vn.hold", i("id"), s("template"), access="MANAGE NET")
    def vn_hold(caller: Principal, vnet_id: int, text: str) -> int:
        """Keep an address out of use: ``LEASES = [ IP = ... ]`` (or MAC)."""
        given = vms.parse_template(text)
        with db.write() as session:
            network.hold(session, load(session, caller, NET, vnet_id, Level.MANAGE), given)
        return vnet_id

    @table.add("one.vn.release", i("id"), s("template"), access="MANAGE NET")
    def vn_release(caller: Principal, vnet_id: int, text: str) -> int:
        """Give back an address on hold: ``LEASES = [ IP = ... ]`` (or MAC)."""
        given = vms.parse_template(text)
        with db.write() as session:
            network.release(session, load(session, caller, NET, vnet_id, Level.MANAGE), given)
        return vnet_id

    @table.add("one.vn.reserve", i("id"), s("template"), access="USE NET")
    def vn_reserve(caller: Principal, vnet_id: int, text: str) -> int:
        """Carve ``SIZE`` free addresses (``AR_ID`` optional) into a new network ``NAME`` the caller owns."""
        given = vms.parse_template(text)
        with db.write() as session:
            parent = load(session, caller, NET, vnet_id, Level.USE)
            return network.reserve(session, parent, db.next_id(session, "vnet"), caller, given).id

    @table.add("one.vnpool.info", i("filter"), i("start", -1), i("end", -1), access="any user (rows: USE NET)")
    def vnpool_info(caller: Principal, flag: int, start: int, end: int) -> str:
        """Networks the caller may use, by OpenNebula's filter flags."""
        with db.read() as session:
            all_names = names(session)
            found = session.scalars(pool_query(VirtualNetwork, caller, flag, start, end))
            return views.pool("VNET_POOL", (vnet_xml(session, n, all_names, full=False) for n in found))
