"""VM templates (onetemplate) and groups through pyone."""

from __future__ import annotations

from typing import Any

import pyone
import pytest
from helpers import wait_for

from nebula_core.daemon import Cloud


def test_template_life(one: Any) -> None:
    one.host.allocate("node1", "dummy", "dummy", -1)
    template_id = one.template.allocate('NAME = "web"\nCPU = 0.5\nMEMORY = 128\nDESCRIPTION = "front"')
    info = one.template.info(template_id)
    assert info.NAME == "web" and info.TEMPLATE["MEMORY"] == "128" and info.REGTIME > 0
    one.template.update(template_id, 'VCPU = 2', 1)
    assert one.template.info(template_id).TEMPLATE["VCPU"] == "2"

    vm_id = one.template.instantiate(template_id, "", False, "MEMORY = 256", False)
    vm = one.vm.info(vm_id)
    assert vm.NAME == f"web-{vm_id}" and vm.TEMPLATE["MEMORY"] == "256" and vm.TEMPLATE["TEMPLATE_ID"] == str(template_id)
    wait_for(lambda: one.vm.info(vm_id).LCM_STATE == 3, what="instantiated VM RUNNING")
    named = one.template.instantiate(template_id, "api-1")
    assert one.vm.info(named).NAME == "api-1"

    copy = one.template.clone(template_id, "web-copy")
    assert [t.NAME for t in one.templatepool.info(-2, -1, -1).VMTEMPLATE] == ["web-copy", "web"]
    one.template.rename(copy, "web-2")
    one.template.delete(copy)
    with pytest.raises(pyone.OneNoExistsException, match="virtual machine template"):
        one.template.info(copy)
    assert one.vm.info(vm_id).TEMPLATE["TEMPLATE_ID"] == str(template_id)  # VMs outlive their template


def test_template_bad_input(one: Any) -> None:
    with pytest.raises(pyone.OneException, match="NAME is required"):
        one.template.allocate("CPU = 1 MEMORY = 1")
    template_id = one.template.allocate('NAME = "broken" CPU = 1')
    with pytest.raises(pyone.OneInternalException, match="MEMORY attribute must be a positive integer"):
        one.template.instantiate(template_id, "", False, "", False)
    assert one.vmpool.info(-2, -1, -1, -1).VM == []


def test_groups(one: Any, cloud: Cloud) -> None:
    assert [g.NAME for g in one.grouppool.info().GROUP] == ["users", "oneadmin"]
    gid = one.group.allocate("devs")
    uid = one.user.allocate("carol", "pw", "core", [gid])
    assert one.user.info(uid).GNAME == "devs"
    assert one.group.info(gid).USERS.ID == [uid]
    with pytest.raises(pyone.OneActionException, match="Group [0-9]+ is not empty"):
        one.group.delete(gid)
    carol = pyone.OneServer(cloud.api.endpoint, session="carol:pw")
    assert [g.ID for g in carol.grouppool.info().GROUP] == [gid]
    with pytest.raises(pyone.OneAuthorizationException):
        carol.group.allocate("mine")
    one.user.delete(uid)
    one.group.delete(gid)
    with pytest.raises(pyone.OneActionException, match=r"System Groups \(ID < 100\) cannot be deleted"):
        one.group.delete(1)
