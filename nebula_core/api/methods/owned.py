"""The methods every owned object has alike: rename, update, chmod, chown, lock, unlock.

Registered once per kind (``one.vm.chmod``, ``one.vn.chmod``, ``one.template.chmod`` ...), with
OpenNebula's rules: MANAGE to change anything, ADMIN to touch an ``*_A`` bit, admins alone give
an object to another user, and a regular user moves it only into a group it belongs to.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from ... import users, vms
from ...errors import ActionError
from ...permissions import ADMIN_BITS, Level, LockLevel, chmod, denial
from ...template import Template
from ...users import Principal
from ..rpc import MethodTable, b, i, s
from .common import Kind, load, new_name, updated

if TYPE_CHECKING:
    from ...daemon import Cloud

CHMOD_PARAMS = tuple(i(name.lower()) for name in ("OWNER_U", "OWNER_M", "OWNER_A", "GROUP_U", "GROUP_M", "GROUP_A",
                                                   "OTHER_U", "OTHER_M", "OTHER_A"))


def register(table: MethodTable, cloud: Cloud, kind: Kind[Any], update_column: str = "template",
             check: Callable[[Template], None] | None = None) -> None:
    """Add one.<prefix>.rename/update/chmod/chown/lock/unlock for ``kind``."""
    db, prefix, what = cloud.db, kind.prefix, kind.noun

    @table.add(f"one.{prefix}.rename", i("id"), s("name"), access=f"MANAGE {kind.objtype}", doc=f"Give the {what} another name.")
    def rename(caller: Principal, obj_id: int, name: str) -> int:
        name = new_name(name)
        with db.write() as session:
            found = load(session, caller, kind, obj_id, Level.MANAGE)
            if kind.unique_name:
                taken = session.scalars(select(kind.model.id).where(kind.model.name == name, kind.model.id != obj_id)).first()
                if taken is not None:
                    raise ActionError(f"NAME is already taken by {kind.objtype} {taken}.")
            found.name = name
        return obj_id

    @table.add(f"one.{prefix}.update", i("id"), s("template"), i("append", 0), access=f"MANAGE {kind.objtype}",
               doc=f"Replace (append 0) or merge into (1) the {what}'s {update_column.upper()}.")
    def update(caller: Principal, obj_id: int, text: str, append: int) -> int:
        given = vms.parse_template(text)
        if check is not None:
            check(given)
        with db.write() as session:
            found = load(session, caller, kind, obj_id, Level.MANAGE)
            setattr(found, update_column, updated(getattr(found, update_column), given, append))
        return obj_id

    @table.add(f"one.{prefix}.chmod", i("id"), *CHMOD_PARAMS, access=f"MANAGE {kind.objtype} (ADMIN for the *_A bits)",
               doc=f"Set the {what}'s nine permission bits (-1 keeps a bit).")
    def chmod_(caller: Principal, obj_id: int, *changes: int) -> int:
        with db.write() as session:
            # one check, as oned: ADMIN when an *_A bit changes (MANAGE is then not needed), else MANAGE
            current = session.get(kind.model, obj_id)
            admin = current is not None and bool((chmod(current.permissions, changes) ^ current.permissions) & ADMIN_BITS)
            found = load(session, caller, kind, obj_id, Level.ADMIN if admin else Level.MANAGE)
            found.permissions = chmod(found.permissions, changes)
        return obj_id

    @table.add(f"one.{prefix}.chown", i("id"), i("uid"), i("gid"), access=f"MANAGE {kind.objtype} (admins: to any user)",
               doc=f"Give the {what} another owner and/or group (-1 keeps it).")
    def chown(caller: Principal, obj_id: int, uid: int, gid: int) -> int:
        with db.write() as session:
            found = load(session, caller, kind, obj_id, Level.MANAGE)
            uid, gid = (-1 if uid == found.uid else uid), (-1 if gid == found.gid else gid)  # no change, no check (oned)
            if uid != -1:
                users.get(session, uid)
                if not caller.is_admin and uid != caller.uid:
                    raise denial(caller, Level.MANAGE, "USER", uid)
                found.uid = uid
            if gid != -1:
                users.get_group(session, gid)
                if not caller.is_admin and gid not in caller.groups:
                    raise denial(caller, Level.USE, "GROUP", gid)
                found.gid = gid
        return obj_id

    @table.add(f"one.{prefix}.lock", i("id"), i("level", int(LockLevel.ALL)), b("test", False), access=f"MANAGE {kind.objtype}",
               doc=f"Lock the {what}: operations at the level or above are refused until unlock.")
    def lock(caller: Principal, obj_id: int, level: int, _test: bool) -> int:
        if level not in range(1, 5):
            raise ActionError(f"Wrong lock level specified: {level} (1 use, 2 manage, 3 admin, 4 all)")  # ACTION, as oned
        with db.write() as session:
            found = load(session, caller, kind, obj_id, Level.MANAGE, read=True)
            found.lock_level, found.lock_time = (1 if level == LockLevel.ALL else level), int(time.time())
        return obj_id

    @table.add(f"one.{prefix}.unlock", i("id"), access=f"MANAGE {kind.objtype}", doc=f"Unlock the {what}.")
    def unlock(caller: Principal, obj_id: int) -> int:
        with db.write() as session:
            found = load(session, caller, kind, obj_id, Level.MANAGE, read=True)
            found.lock_level, found.lock_time = 0, 0
        return obj_id

