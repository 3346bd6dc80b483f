"""``one.hook.*``, ``one.hookpool.info`` and ``one.hooklog.info``: script hooks, admins' objects alone.

A hook has no owner nor permission bits (as in oned): admins do everything, other users are
refused and see an empty pool. Every change to the hooks tells the daemon
(``cloud.hook_objects_changed``), which runs them (``hooks.scripts``) from the next event on.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ... import vms
from ...db import Hook, HookExecution, existing
from ...errors import ActionError, ApiError, AuthorizationError, InternalError
from ...hooks.scripts import checked_template
from ...permissions import Level, LockLevel
from ...template import Template
from ...users import Principal
from .. import views
from ..rpc import MethodTable, b, i, s
from .common import new_name, require_admin

if TYPE_CHECKING:
    from ...daemon import Cloud

STATE_MISSING = "The STATE attribute is not defined or it's invalid."


def get(session: Session, hook_id: int) -> Hook:
    return existing(session, Hook, hook_id, "hook")


def unlocked(hook: Hook, level: Level) -> Hook:
    """The hook, unless its lock refuses an operation at ``level`` (AUTHORIZATION, as oned says it)."""
    if level in LockLevel(hook.lock_level).refuses:
        raise AuthorizationError("HOOK is locked", hook.id)
    return hook


def records(session: Session, hook_id: int) -> list[HookExecution]:
    """The hook's execution log, oldest first."""
    return list(session.scalars(select(HookExecution).where(HookExecution.hook_id == hook_id)
                                .order_by(HookExecution.execution_id)))


def replaced(hook: Hook, given: Template, append: int) -> Template:
    """The template an update leaves (merged, or replaced), before it is checked again.

    A replace of a state hook must give STATE by name (ON is not read there, as in oned). The
    hook keeps its name; a replace without TYPE keeps the hook's type.
    """
    if append:
        result = Template.from_json(hook.template)
        result.merge(given)
    else:
        result = given.copy()
        kind = (result.get_str("TYPE") or hook.type).lower()
        if kind == "state" and not (result.get_str("STATE") or "").strip():
            raise InternalError(STATE_MISSING)
        if "TYPE" not in result:
            result.set("TYPE", hook.type)
    result.set("NAME", hook.name)
    return result


def register(table: MethodTable, cloud: Cloud) -> None:
    db = cloud.db

    @table.add("one.hook.allocate", s("template"), access="admins (CREATE HOOK)")
    def hook_allocate(caller: Principal, text: str) -> int:
        """Create a hook: TYPE state (RESOURCE, ON) or api (CALL), COMMAND, ARGUMENTS; ids from 0."""
        require_admin(caller, "CREATE", "HOOK")
        template = vms.parse_template(text)
        name, kind = checked_template(template, table.methods)
        with db.write() as session:
            hook = Hook(id=db.next_id(session, "hook"), name=name, type=kind, template=template.to_json(),
                        lock_level=0, lock_time=0)
            session.add(hook)
        cloud.hook_objects_changed()
        return hook.id

    @table.add("one.hook.info", i("id"), b("decrypt", False), access="admins (USE HOOK)")
    def hook_info(caller: Principal, hook_id: int, _decrypt: bool) -> str:
        """One hook with its execution log (oldest run first)."""
        require_admin(caller, Level.USE, "HOOK", hook_id)
        with db.read() as session:
            return views.hook(get(session, hook_id), records(session, hook_id))

    @table.add("one.hook.delete", i("id"), access="admins (ADMIN HOOK)")
    def hook_delete(caller: Principal, hook_id: int) -> int:
        """Remove a hook and its execution log; it runs no more."""
        require_admin(caller, Level.ADMIN, "HOOK", hook_id)
        with db.write() as session:
            hook = unlocked(get(session, hook_id), Level.ADMIN)
            session.execute(delete(HookExecution).where(HookExecution.hook_id == hook_id))
            session.delete(hook)
        cloud.hook_objects_changed()
        return hook_id

    @table.add("one.hook.update", i("id"), s("template"), i("append", 0), access="admins (MANAGE HOOK)")
    def hook_update(caller: Principal, hook_id: int, text: str, append: int) -> int:
        """Replace (0; a state hook's must give STATE and LCM_STATE by name) or merge into (1) the hook's template."""
        require_admin(caller, Level.MANAGE, "HOOK", hook_id)
        given = vms.parse_template(text)
        with db.write() as session:
            hook = unlocked(get(session, hook_id), Level.MANAGE)
            template = replaced(hook, given, append)
            _name, kind = checked_template(template, table.methods)
            hook.type, hook.template = kind, template.to_json()
        cloud.hook_objects_changed()
        return hook_id

    @table.add("one.hook.rename", i("id"), s("name"), access="admins (MANAGE HOOK)")
    def hook_rename(caller: Principal, hook_id: int, name: str) -> int:
        """Give the hook another name."""
        require_admin(caller, Level.MANAGE, "HOOK", hook_id)
        name = new_name(name)
        with db.write() as session:
            hook = unlocked(get(session, hook_id), Level.MANAGE)
            template = Template.from_json(hook.template)
            template.set("NAME", name)
            hook.name, hook.template = name, template.to_json()
        cloud.hook_objects_changed()
        return hook_id

    @table.add("one.hook.lock", i("id"), i("level", int(LockLevel.ALL)), b("test", False), access="admins (MANAGE HOOK)")
    def hook_lock(caller: Principal, hook_id: int, level: int, _test: bool) -> int:
        """Lock the hook: operations at the level or above are refused until unlock."""
        require_admin(caller, Level.MANAGE, "HOOK", hook_id)
        if level not in range(1, 5):
            raise ActionError(f"Wrong lock level specified: {level} (1 use, 2 manage, 3 admin, 4 all)")
        with db.write() as session:
            hook = get(session, hook_id)
            hook.lock_level, hook.lock_time = (1 if level == LockLevel.ALL else level), int(time.time())
        return hook_id

    @table.add("one.hook.unlock", i("id"), access="admins (MANAGE HOOK)")
    def hook_unlock(caller: Principal, hook_id: int) -> int:
        """Unlock the hook."""
        require_admin(caller, Level.MANAGE, "HOOK", hook_id)
        with db.write() as session:
            hook = get(session, hook_id)
            hook.lock_level, hook.lock_time = 0, 0
        return hook_id

    @table.add("one.hook.retry", i("hook_id"), i("execution_id"), access="admins (MANAGE HOOK)")
    def hook_retry(caller: Principal, hook_id: int, execution_id: int) -> int:
        """Run a recorded execution again with its arguments, in the background; the new record says RETRY."""
        require_admin(caller, Level.MANAGE, "HOOK", hook_id)
        cloud.scripts.retry(hook_id, execution_id)
        return hook_id

    @table.add("one.hookpool.info", i("filter"), i("start", -1), i("end", -1), access="any user (regular users see none)")
    def hookpool_info(caller: Principal, flag: int, start: int, end: int) -> str:
        """Every hook, without its log, ID descending (regular users see none); start/end as in other pools."""
        if flag < -4:
            raise ApiError("Incorrect filter_flag")
        if not caller.is_admin:
            return "<HOOK_POOL></HOOK_POOL>"
        stmt = select(Hook).order_by(Hook.id.desc())
        if end < -1:
            stmt = stmt.offset(max(start, 0)).limit(-end)
        elif start >= 0:
            stmt = stmt.where(Hook.id >= start)
            if end >= 0:
                stmt = stmt.where(Hook.id <= end)
        with db.read() as session:
            return views.pool("HOOK_POOL", [views.hook(h) for h in session.scalars(stmt)])

    @table.add("one.hooklog.info", i("min_ts"), i("max_ts"), i("hook_id"), i("rc"), access="admins (oneadmin group)")
    def hooklog_info(caller: Principal, min_ts: int, max_ts: int, hook_id: int, rc: int) -> str:
        """Execution records: after min_ts and before max_ts (-1: no bound), of one hook (-1: all);
        rc -1 failures only, 1 successes only, 0 all."""
        require_admin(caller, Level.USE, "HOOK")
        stmt = select(HookExecution).order_by(HookExecution.timestamp, HookExecution.hook_id, HookExecution.execution_id)
        if min_ts >= 0:
            stmt = stmt.where(HookExecution.timestamp > min_ts)
        if max_ts >= 0:
            stmt = stmt.where(HookExecution.timestamp < max_ts)
        if hook_id != -1:
            stmt = stmt.where(HookExecution.hook_id == hook_id)
        if rc == -1:
            stmt = stmt.where(HookExecution.code != 0)
        elif rc == 1:
            stmt = stmt.where(HookExecution.code == 0)
        with db.read() as session:
            return views.hook_log(session.scalars(stmt))
