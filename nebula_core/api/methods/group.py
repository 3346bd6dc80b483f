"""``one.group.*`` and ``one.grouppool.*``: groups are made and removed by admins only."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from ... import users, vms
from ...db import Group, Membership
from ...errors import ActionError, InternalError
from ...hooks.events import GroupCreated, GroupDeleted
from ...permissions import Level, denial
from ...users import Principal
from .. import views
from ..rpc import MethodTable, b, i, s
from .common import require_admin, updated

if TYPE_CHECKING:
    from ...daemon import Cloud


def members(session: Session, gid: int) -> list[int]:
    return list(session.scalars(select(Membership.user_id).where(Membership.group_id == gid).order_by(Membership.user_id)))


def register(table: MethodTable, cloud: Cloud) -> None:
    db = cloud.db

    @table.add("one.group.allocate", s("name"), access="admins (CREATE GROUP)")
    def group_allocate(caller: Principal, name: str) -> int:
        """Create a group; ids start at 100, below are the system groups."""
        require_admin(caller, "CREATE", "GROUP")
        if not users.valid_name(name):
            raise InternalError(f"Invalid NAME: group names are 1-{users.MAX_NAME} characters without blanks or ':'.")
        with db.write() as session:
            taken = session.scalars(select(Group.id).where(Group.name == name)).first()
            if taken is not None:
                raise InternalError(f"NAME is already taken by GROUP {taken}.")
            group = Group(id=db.next_id(session, "group"), name=name)
            session.add(group)
            cloud.hooks.record(session, GroupCreated(group.id, group.name))
            return group.id

    @table.add("one.group.info", i("id"), b("decrypt", False), access="members and admins (USE GROUP)")
    def group_info(caller: Principal, gid: int, _decrypt: bool) -> str:
        """One group (-1: the caller's) with its members."""
        gid = caller.gid if gid == -1 else gid
        if not caller.is_admin and gid not in caller.groups:
            raise denial(caller, Level.USE, "GROUP", gid)
        with db.read() as session:
            return views.group(users.get_group(session, gid), members(session, gid))

    @table.add("one.group.update", i("id"), s("template"), i("append", 0), access="admins (MANAGE GROUP)")
    def group_update(caller: Principal, gid: int, text: str, append: int) -> int:
        """Replace (0) or merge into (1) the group's template."""
        require_admin(caller, Level.MANAGE, "GROUP", gid)
        given = vms.parse_template(text)
        with db.write() as session:
            group = users.get_group(session, gid)
            group.template = updated(group.template, given, append)
        return gid

    @table.add("one.group.delete", i("id"), access="admins (ADMIN GROUP)")
    def group_delete(caller: Principal, gid: int) -> int:
        """Remove an empty group; the system groups (ids below 100) stay."""
        require_admin(caller, Level.ADMIN, "GROUP", gid)
        with db.write() as session:
            group = users.get_group(session, gid)
            if gid < users.FIRST_USER_GROUP:
                raise ActionError(f"System Groups (ID < {users.FIRST_USER_GROUP}) cannot be deleted.")
            if members(session, gid):
                raise ActionError(f"Cannot delete group. Group {gid} is not empty.")
            session.delete(group)
            cloud.hooks.record(session, GroupDeleted(group.id, group.name))
        return gid

    @table.add("one.grouppool.info", access="any user (rows: its own groups)")
    def grouppool_info(caller: Principal) -> str:
        """Every group for admins; the caller's groups otherwise."""
        with db.read() as session:
            stmt = select(Group).order_by(Group.id.desc())
            if not caller.is_admin:
                stmt = stmt.where(Group.id.in_(sorted(caller.groups)))
            return views.pool("GROUP_POOL", [views.group(g, members(session, g.id)) for g in session.scalars(stmt)])
