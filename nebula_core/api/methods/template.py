"""``one.template.*`` and ``one.templatepool.*``: VM templates users register and instantiate."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from ... import vms
from ...db import VMTemplate
from ...errors import InternalError
from ...permissions import Level
from ...template import Template
from ...users import Principal
from .. import views
from ..rpc import MethodTable, b, i, s
from . import owned
from .common import TEMPLATE, load, names, pool_query
from .vm import record_allocation

if TYPE_CHECKING:
    from ...daemon import Cloud


def register(table: MethodTable, cloud: Cloud) -> None:
    db = cloud.db

    def new_template(session: Session, caller: Principal, template: Template) -> int:
        name = template.get_str("NAME")
        if not vms.valid_name(name):
            raise InternalError(f"NAME is required: 1-{vms.MAX_NAME} characters on one line.")
        vms.check_schedule(template)
        record = VMTemplate(id=db.next_id(session, "template"), uid=caller.uid, gid=caller.gid, name=name,
                            regtime=int(time.time()), template=template.to_json())
        session.add(record)
        return record.id

    @table.add("one.template.allocate", s("template"), access="any user")
    def template_allocate(caller: Principal, text: str) -> int:
        """Register a VM template (it needs a NAME; sizes and networks are checked when it is instantiated)."""
        template = vms.parse_template(text)
        with db.write() as session:
            return new_template(session, caller, template)

    @table.add("one.template.info", i("id"), b("extended", False), b("decrypt", False), access="USE TEMPLATE")
    def template_info(caller: Principal, template_id: int, _extended: bool, _decrypt: bool) -> str:
        """One VM template."""
        with db.read() as session:
            found = load(session, caller, TEMPLATE, template_id, Level.USE, read=True)
            return views.vm_template(found, names(session, (found.uid, found.gid)))

    owned.register(table, cloud, TEMPLATE)

    @table.add("one.template.delete", i("id"), b("recursive", False), access="MANAGE TEMPLATE")
    def template_delete(caller: Principal, template_id: int, _recursive: bool) -> int:
        """Remove a VM template; the VMs made from it stay."""
        with db.write() as session:
            session.delete(load(session, caller, TEMPLATE, template_id, Level.MANAGE))
        return template_id

    @table.add("one.template.clone", i("id"), s("name"), b("recursive", False), access="USE TEMPLATE")
    def template_clone(caller: Principal, template_id: int, name: str, _recursive: bool) -> int:
        """Copy a VM template under a new name, owned by the caller."""
        with db.write() as session:
            template = Template.from_json(load(session, caller, TEMPLATE, template_id, Level.USE).template)
            template.set("NAME", name)
            return new_template(session, caller, template)

    @table.add("one.template.instantiate", i("id"), s("name", ""), b("hold", False), s("extra", ""), b("persistent", False),
               access="USE TEMPLATE (NIC networks: USE NET)")
    def template_instantiate(caller: Principal, template_id: int, name: str, hold: bool, extra: str, _persistent: bool) -> int:
        """Create a VM from a template; ``extra`` attributes override the template's."""
        given = vms.parse_template(extra) if extra else Template()
        with db.write() as session:
            found = load(session, caller, TEMPLATE, template_id, Level.USE)
            template = Template.from_json(found.template)
            template.merge(given)
            template.remove("NAME")
            if name:
                template.set("NAME", name)
            template.set("TEMPLATE_ID", str(template_id))
            cloud.hooks.check("vm_allocate_policy", template=template, owner=caller)
            vm = vms.allocate(db, session, template, caller, hold, default_name=found.name)
            record_allocation(cloud.hooks, session, vm)
        cloud.scheduler.wake()
        return vm.id

    @table.add("one.templatepool.info", i("filter"), i("start", -1), i("end", -1), access="any user (rows: USE TEMPLATE)")
    def templatepool_info(caller: Principal, flag: int, start: int, end: int) -> str:
        """VM templates, newest first."""
        with db.read() as session:
            all_names = names(session)
            found = session.scalars(pool_query(VMTemplate, caller, flag, start, end))
            return views.pool("VMTEMPLATE_POOL", [views.vm_template(t, all_names) for t in found])
