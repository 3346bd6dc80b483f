"""What every group of methods shares: object kinds, loading with a permission check, pool filters.

An object is loaded by ``load``, which answers NO_EXISTS, AUTHORIZATION or LOCKED exactly as
oned words them; pools are filtered by ``pool_query`` with OpenNebula's filter flags, and a
regular user never sees a row the permission bits do not let it USE.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, or_, select, true
from sqlalchemy.orm import Session

from ... import vms
from ...db import Group, Owned, User, VirtualMachine, VirtualNetwork, VMTemplate
from ...errors import ActionError, ApiError, LockedError, NoExistsError
from ...permissions import GROUP, OTHER, OWNER, Level, LockLevel, allows, denial
from ...template import Template
from ...users import Principal
from .. import views

O = TypeVar("O", bound=Owned)


@dataclass(frozen=True)
class Kind(Generic[O]):
    """One kind of owned object, named as oned names it in methods and messages."""

    model: type[O]
    prefix: str  # one.<prefix>.info
    objtype: str  # the auth engine's type in AUTHORIZATION messages
    noun: str  # "Error getting <noun> [id]."
    unique_name: bool = False


VM: Kind[VirtualMachine] = Kind(VirtualMachine, "vm", "VM", "virtual machine")
NET: Kind[VirtualNetwork] = Kind(VirtualNetwork, "vn", "NET", "virtual network", unique_name=True)
TEMPLATE: Kind[VMTemplate] = Kind(VMTemplate, "template", "TEMPLATE", "virtual machine template")


def load(session: Session, caller: Principal, kind: Kind[O], obj_id: int, level: Level, read: bool = False) -> O:
    """The object, if it exists and the caller holds ``level`` on it; a lock refuses all but reads."""
    found = session.get(kind.model, obj_id)
    authorize(caller, kind, obj_id, found, level, read)
    assert found is not None  # authorize refuses a missing object
    return found


def authorize(caller: Principal, kind: Kind[Any], obj_id: int, found: Any, level: Level, read: bool = False) -> None:
    """Refuse as oned does: NO_EXISTS for nothing found, AUTHORIZATION, then LOCKED (``found`` may be a plain row)."""
    if found is None:
        raise NoExistsError(f"Error getting {kind.noun} [{obj_id}].", obj_id)
    if not allows(caller, found.uid, found.gid, found.permissions, level):
        raise denial(caller, level, kind.objtype, obj_id)
    if not read and level in LockLevel(found.lock_level).refuses:
        raise LockedError(f"The resource {kind.noun} is locked. [{obj_id}].", obj_id)


def require_admin(caller: Principal, level: Level | str, objtype: str, obj_id: int | None = None) -> None:
    if not caller.is_admin:
        raise denial(caller, level, objtype, obj_id)


def names(session: Session, owner: tuple[int, int] | None = None) -> views.Names:
    """User and group names: all of them for a pool, or just one object's (uid, gid), in one query."""
    if owner is not None:
        uid, gid = owner
        uname, gname = session.execute(select(select(User.name).where(User.id == uid).scalar_subquery(),
                                              select(Group.name).where(Group.id == gid).scalar_subquery())).one()
        return views.Names(users={uid: uname or ""}, groups={gid: gname or ""})
    users, groups = select(User.id, User.name), select(Group.id, Group.name)
    return views.Names(users=dict(session.execute(users).all()), groups=dict(session.execute(groups).all()))


def usable(model: Any, caller: Principal) -> ColumnElement[bool]:
    """SQL for "the caller may USE this row" (pool filter -2), in bit operations every engine has."""
    if caller.is_admin:
        return true()
    bit = model.permissions.op("&")
    return or_(
        (model.uid == caller.uid) & (bit(Level.USE << OWNER) != 0),
        model.gid.in_(sorted(caller.groups)) & (bit(Level.USE << GROUP) != 0),
        bit(Level.USE << OTHER) != 0,
    )


def pool_query(model: Any, caller: Principal, flag: int, start: int, end: int) -> Select[Any]:
    """OpenNebula's pool arguments: whose objects (flag), which ids (start/end), or a page (end < -1).

    Flags: -4 the caller's primary group, -3 the caller's own, -2 all, -1 the caller's and its
    groups', >= 0 that user's; always narrowed to what the caller may USE.
    """
    if flag < -4:
        raise ApiError("Incorrect filter_flag")
    stmt = select(model)
    if flag == -4:
        stmt = stmt.where(model.gid == caller.gid)
    elif flag == -3:
        stmt = stmt.where(model.uid == caller.uid)
    elif flag == -1:
        stmt = stmt.where((model.uid == caller.uid) | model.gid.in_(sorted(caller.groups)))
    elif flag >= 0:
        stmt = stmt.where(model.uid == flag)
    stmt = stmt.where(usable(model, caller)).order_by(model.id.desc())
    if end < -1:
        return stmt.offset(max(start, 0)).limit(-end)
    if start >= 0:
        stmt = stmt.where(model.id >= start)
        if end >= 0:
            stmt = stmt.where(model.id <= end)
    return stmt


def new_name(name: str) -> str:
    """The name a rename asks for, refused (ACTION) unless it is a valid object name."""
    if not vms.valid_name(name):
        raise ActionError(f"Invalid name: 1-{vms.MAX_NAME} characters on one line.")
    return name


def updated(stored_json: str, given: Template, append: int) -> str:
    """OpenNebula's update: replace the template (append 0) or merge the given attributes (1)."""
    if not append:
        return given.to_json()
    current = Template.from_json(stored_json)
    current.merge(given)
    return current.to_json()
