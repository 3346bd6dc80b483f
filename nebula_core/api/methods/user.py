"""``one.user.*`` and ``one.userpool.*``: accounts, passwords, groups and login tokens.

A user may read and change itself (password, template, tokens, its primary group among its
own groups); everything else about users is for admins. Whatever changes who a user is drops
its cached sessions at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ... import users, vms
from ...db import LoginToken, User, VirtualMachine, VirtualNetwork, VMTemplate
from ...errors import ActionError, ApiError, NoExistsError
from ...hooks.events import UserCreated, UserDeleted
from ...permissions import Level, denial
from ...states import VMState
from ...users import Principal
from .. import views
from ..rpc import MethodTable, Param, b, i, s
from .common import names, require_admin, updated

if TYPE_CHECKING:
    from ...daemon import Cloud

OWNED = ((VMTemplate, "templates"), (VirtualNetwork, "networks"))


def _refuse_if_owner(session: Session, user_id: int) -> None:
    """A user is deleted only once nothing alive is its own; finished VMs go with it."""
    alive = session.scalar(select(func.count()).select_from(VirtualMachine).where(
        VirtualMachine.uid == user_id, VirtualMachine.state != VMState.DONE))
    if alive:
        raise ActionError(f"User [{user_id}] owns {alive} VMs that are not DONE")
    for model, what in OWNED:
        count = session.scalar(select(func.count()).select_from(model).where(model.uid == user_id))
        if count:
            raise ActionError(f"User [{user_id}] owns {count} {what}; chown or delete them first")


def register(table: MethodTable, cloud: Cloud) -> None:
    db, auth = cloud.db, cloud.auth

    def load_user(session: Session, caller: Principal, user_id: int, level: Level) -> User:
        user_id = caller.uid if user_id == -1 else user_id
        user = users.get(session, user_id)
        if not caller.is_admin and caller.uid != user_id:
            raise denial(caller, level, "USER", user_id)
        return user

    def user_xml(session: Session, user: User, all_names: views.Names) -> str:
        tokens = list(session.scalars(select(LoginToken).where(LoginToken.user_id == user.id).order_by(LoginToken.id)))
        return views.user(user, all_names, sorted(users.group_ids(session, user.id)), tokens)

    @table.add("one.user.allocate", s("name"), s("password"), s("driver", ""), Param("groups", list, [], also=(bool,)),
               Param("cli_groups", list, []), access="admins (CREATE USER)")
    def user_allocate(caller: Principal, name: str, password: str, driver: str, groups: list[Any] | bool,
                      cli_groups: list[Any]) -> int:
        """Create a user in the given groups (the first is primary; none: ``users``). opennebula-cli's
        extra boolean before the group list is tolerated."""
        require_admin(caller, "CREATE", "USER")
        gids = groups if isinstance(groups, list) else cli_groups
        if not all(type(g) is int and 0 <= g < 2**31 for g in gids):
            raise ApiError("Group ids must be integers from 0 to 2147483647")
        driver = driver or users.DEFAULT_AUTH
        stored = auth.stored_form(driver, password)
        with db.write() as session:
            user = users.create(db, session, name, stored, driver, gids)
            cloud.hooks.record(session, UserCreated(user.id, user.name))
            return user.id

    @table.add("one.user.info", i("id"), b("decrypt", False), access="the user itself and admins (USE USER)")
    def user_info(caller: Principal, user_id: int, _decrypt: bool) -> str:
        """One user (-1: the caller) with its groups and login tokens."""
        with db.read() as session:
            return user_xml(session, load_user(session, caller, user_id, Level.USE), names(session))

    @table.add("one.user.delete", i("id"), access="admins (ADMIN USER)")
    def user_delete(caller: Principal, user_id: int) -> int:
        """Remove a user that owns nothing alive; its finished VMs go with it; oneadmin stays."""
        require_admin(caller, Level.ADMIN, "USER", user_id)
        if user_id == 0:
            raise ActionError("oneadmin cannot be deleted")
        with db.write() as session:
            user = users.get(session, user_id)
            _refuse_if_owner(session, user_id)
            session.execute(delete(VirtualMachine).where(VirtualMachine.uid == user_id))
            session.delete(user)
            cloud.hooks.record(session, UserDeleted(user.id, user.name))
        auth.forget(user_id)
        return user_id

    @table.add("one.user.passwd", i("id"), s("password"), access="the user itself and admins (MANAGE USER)")
    def user_passwd(caller: Principal, user_id: int, password: str) -> int:
        """Change a password; sessions with the old one stop working at once."""
        with db.write() as session:
            user = load_user(session, caller, user_id, Level.MANAGE)
            user.password = auth.stored_form(user.auth_driver, password)
        auth.forget(user.id)
        return user_id

    @table.add("one.user.chauth", i("id"), s("driver"), s("password", ""), access="admins (ADMIN USER)")
    def user_chauth(caller: Principal, user_id: int, driver: str, password: str) -> int:
        """Move a user to another auth driver (with a new password for it, or the stored one kept)."""
        require_admin(caller, Level.ADMIN, "USER", user_id)
        driver = driver or users.DEFAULT_AUTH
        stored = auth.stored_form(driver, password) if password else None
        auth.installed(driver)
        with db.write() as session:
            user = users.get(session, user_id)
            user.auth_driver = driver
            if stored is not None:
                user.password = stored
        auth.forget(user_id)
        return user_id

    @table.add("one.user.update", i("id"), s("template"), i("append", 0), access="the user itself and admins (MANAGE USER)")
    def user_update(caller: Principal, user_id: int, text: str, append: int) -> int:
        """Replace (0) or merge into (1) the user's template (SSH_PUBLIC_KEY and the like)."""
        given = vms.parse_template(text)
        with db.write() as session:
            user = load_user(session, caller, user_id, Level.MANAGE)
            user.template = updated(user.template, given, append)
        return user_id

    @table.add("one.user.enable", i("id"), b("enable"), access="admins (ADMIN USER)")
    def user_enable(caller: Principal, user_id: int, enable: bool) -> int:
        """Let a user log in again, or stop it (its sessions end at once)."""
        require_admin(caller, Level.ADMIN, "USER", user_id)
        if user_id == 0 and not enable:
            raise ActionError("oneadmin cannot be disabled")
        with db.write() as session:
            users.get(session, user_id).enabled = enable
        auth.forget(user_id)
        return user_id

    @table.add("one.user.chgrp", i("id"), i("gid"), access="admins; a user into one of its own groups")
    def user_chgrp(caller: Principal, user_id: int, gid: int) -> int:
        """Change the primary group; the old one is left."""
        with db.write() as session:
            user = load_user(session, caller, user_id, Level.MANAGE)
            if not caller.is_admin and gid not in caller.groups:
                raise denial(caller, Level.USE, "GROUP", gid)
            users.change_group(session, user, gid)
        auth.forget(user.id)
        return user_id

    @table.add("one.user.addgroup", i("id"), i("gid"), access="admins (MANAGE USER, MANAGE GROUP)")
    def user_addgroup(caller: Principal, user_id: int, gid: int) -> int:
        """Add a secondary group."""
        require_admin(caller, Level.MANAGE, "GROUP", gid)
        with db.write() as session:
            users.add_group(session, users.get(session, user_id), gid)
        auth.forget(user_id)
        return user_id

    @table.add("one.user.delgroup", i("id"), i("gid"), access="admins (MANAGE USER, MANAGE GROUP)")
    def user_delgroup(caller: Principal, user_id: int, gid: int) -> int:
        """Remove a secondary group (never the primary one)."""
        require_admin(caller, Level.MANAGE, "GROUP", gid)
        with db.write() as session:
            users.remove_group(session, users.get(session, user_id), gid)
        auth.forget(user_id)
        return user_id

    @table.add("one.user.login", s("username"), s("token", ""), i("valid", 0), i("egid", -1),
               access="the user itself and admins (MANAGE USER)")
    def user_login(caller: Principal, username: str, token: str, valid: int, egid: int) -> str:
        """Make a login token (token "" → a random one) valid ``valid`` seconds (-1: no expiry), or
        revoke one (valid 0; token "" revokes all). ``username:token`` then works as a session."""
        with db.write() as session:
            user = session.scalars(select(User).where(User.name == username)).first()
            if user is None:
                raise NoExistsError("Error getting user Pool.")
            if not caller.is_admin and user.id != caller.uid:
                raise denial(caller, Level.MANAGE, "USER", user.id)
            if user.id != caller.uid and valid != 0 and egid == -1:  # an admin never gets another user's full rights
                raise ApiError("Cannot create a full token with a specific group token")
            issued = users.issue_token(session, user, token, valid, egid)
        auth.forget(user.id)
        return issued

    @table.add("one.userpool.info", access="any user (rows: itself, all for admins)")
    def userpool_info(caller: Principal) -> str:
        """Every user for admins; the caller alone otherwise."""
        with db.read() as session:
            stmt = select(User).order_by(User.id.desc())
            if not caller.is_admin:
                stmt = stmt.where(User.id == caller.uid)
            all_names = names(session)
            return views.pool("USER_POOL", [user_xml(session, u, all_names) for u in session.scalars(stmt)])
