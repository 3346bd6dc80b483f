"""The cloud end to end through the real OpenNebula client (pyone) on the dummy drivers."""

from __future__ import annotations

from typing import Any

import pyone
import pytest
from helpers import wait_for

from nebula_core.states import HostState, LCMState, VMState

VM = 'NAME = "web" CPU = 0.5 MEMORY = 128'


def add_host(one: Any, name: str = "node1", **attrs: str) -> int:
    host_id = one.host.allocate(name, "dummy", "dummy", -1)
    if attrs:
        one.host.update(host_id, "\n".join(f'{k} = "{v}"' for k, v in attrs.items()), 1)
    wait_for(lambda: one.host.info(host_id).STATE == HostState.MONITORED, what=f"host {name} MONITORED")
    return host_id


def position(one: Any, vm_id: int) -> tuple[int, int]:
    vm = one.vm.info(vm_id)
    return vm.STATE, vm.LCM_STATE


def wait_position(one: Any, vm_id: int, state: VMState, lcm: LCMState = LCMState.LCM_INIT) -> None:
    wait_for(lambda: position(one, vm_id) == (state, lcm), what=f"VM {vm_id} at {state.name}/{lcm.name}")


RUNNING = (VMState.ACTIVE, LCMState.RUNNING)


def test_vm_runs_and_goes_through_every_action(one: Any) -> None:
    host_id = add_host(one)
    vm_id = one.vm.allocate(VM)
    wait_position(one, vm_id, *RUNNING)
    vm = one.vm.info(vm_id)
    assert vm.NAME == "web" and vm.DEPLOY_ID == f"one-{vm_id}"
    assert vm.HISTORY_RECORDS.HISTORY[0].HID == host_id
    assert one.host.info(host_id).HOST_SHARE.CPU_USAGE == 50

    for action, target in [
        ("poweroff", (VMState.POWEROFF, LCMState.LCM_INIT)), ("resume", RUNNING),
        ("suspend", (VMState.SUSPENDED, LCMState.LCM_INIT)), ("resume", RUNNING),
        ("stop", (VMState.STOPPED, LCMState.LCM_INIT)), ("resume", RUNNING),
        ("undeploy", (VMState.UNDEPLOYED, LCMState.LCM_INIT)), ("resume", RUNNING),
        ("reboot", RUNNING), ("poweroff-hard", (VMState.POWEROFF, LCMState.LCM_INIT)), ("resume", RUNNING),
    ]:
        one.vm.action(action, vm_id)
        wait_position(one, vm_id, *target)
    assert one.host.info(host_id).HOST_SHARE.CPU_USAGE == 50  # held once, whatever the path

    one.vm.action("terminate", vm_id)
    wait_position(one, vm_id, VMState.DONE)
    assert one.host.info(host_id).HOST_SHARE.CPU_USAGE == 0
    assert one.vm.info(vm_id).ETIME > 0


def test_hold_release_and_wrong_state(one: Any) -> None:
    add_host(one)
    vm_id = one.vm.allocate(VM, True)
    assert position(one, vm_id) == (VMState.HOLD, LCMState.LCM_INIT)
    with pytest.raises(pyone.OneActionException, match="not available for state HOLD"):
        one.vm.action("suspend", vm_id)
    one.vm.action("release", vm_id)
    wait_position(one, vm_id, *RUNNING)
    with pytest.raises(pyone.OneActionException, match='Action "bogus" is not supported'):
        one.vm.action("bogus", vm_id)


def test_one_four_action_names(one: Any) -> None:
    add_host(one)
    first, second = one.vm.allocate(VM), one.vm.allocate(VM)
    wait_position(one, first, *RUNNING)
    wait_position(one, second, *RUNNING)
    one.vm.action("shutdown", first)
    one.vm.action("cancel", second)
    wait_position(one, first, VMState.DONE)
    wait_position(one, second, VMState.DONE)
    third = one.vm.allocate(VM)
    wait_position(one, third, *RUNNING)
    one.vm.action("finalize", third)
    wait_position(one, third, VMState.DONE)


def test_delete_and_recreate_from_any_state(one: Any) -> None:
    add_host(one)
    held = one.vm.allocate(VM, True)
    one.vm.recover(held, 3)
    assert position(one, held) == (VMState.DONE, LCMState.LCM_INIT)
    vm_id = one.vm.allocate(VM)
    wait_position(one, vm_id, *RUNNING)
    one.vm.recover(vm_id, 4)
    wait_for(lambda: len(one.vm.info(vm_id).HISTORY_RECORDS.HISTORY) == 2, what="a second placement")
    wait_position(one, vm_id, *RUNNING)
    one.vm.action("stop", vm_id)
    wait_position(one, vm_id, VMState.STOPPED)
    one.vm.recover(vm_id, 3)
    wait_position(one, vm_id, VMState.DONE)


def test_migrations(one: Any) -> None:
    first, second = add_host(one, "node1"), add_host(one, "node2")
    vm_id = one.vm.allocate(VM + ' SCHED_REQUIREMENTS = "NAME = node1"')
    wait_position(one, vm_id, *RUNNING)
    one.vm.migrate(vm_id, second, False)
    wait_position(one, vm_id, *RUNNING)
    assert one.vm.info(vm_id).HISTORY_RECORDS.HISTORY[-1].HID == second
    one.vm.migrate(vm_id, first, True)
    wait_position(one, vm_id, *RUNNING)
    records = one.vm.info(vm_id).HISTORY_RECORDS.HISTORY
    assert [r.HID for r in records] == [first, second, first]
    assert one.host.info(second).HOST_SHARE.RUNNING_VMS == 0
    assert one.host.info(first).HOST_SHARE.RUNNING_VMS == 1


def test_pending_vm_says_why(one: Any) -> None:
    host_id = add_host(one, DUMMY_CPU="100")
    # the probe started by allocate may report the default 800 first: wait for the one with DUMMY_CPU
    wait_for(lambda: one.host.info(host_id).HOST_SHARE.MAX_CPU == 100, what="the host's new capacity")
    vm_id = one.vm.allocate('CPU = 4 MEMORY = 64')
    wait_for(lambda: "SCHED_MESSAGE" in one.vm.info(vm_id).USER_TEMPLATE, what="SCHED_MESSAGE")
    assert "Not enough CPU on hosts: 0" in one.vm.info(vm_id).USER_TEMPLATE["SCHED_MESSAGE"]
    other = one.vm.allocate('CPU = 0.1 MEMORY = 64 SCHED_REQUIREMENTS = "HYPERVISOR = kvm"')
    wait_for(lambda: "SCHED_MESSAGE" in one.vm.info(other).USER_TEMPLATE, what="SCHED_MESSAGE")
    assert "Requirements not met on hosts: 0" in one.vm.info(other).USER_TEMPLATE["SCHED_MESSAGE"]
    assert position(one, other) == (VMState.PENDING, LCMState.LCM_INIT)


def test_driver_failure_puts_vm_in_failure_state(one: Any) -> None:
    add_host(one)
    vm_id = one.vm.allocate(VM + ' DUMMY_FAIL = "deploy"')
    wait_position(one, vm_id, VMState.ACTIVE, LCMState.BOOT_FAILURE)
    assert "deploy failed" in one.vm.info(vm_id).USER_TEMPLATE["ERROR"]
    one.vm.action("terminate", vm_id)
    wait_position(one, vm_id, VMState.DONE)


def test_hung_driver_times_out_and_daemon_goes_on(one: Any) -> None:
    add_host(one)
    hung = one.vm.allocate(VM + ' DUMMY_HANG = "shutdown,cancel"')
    fine = one.vm.allocate(VM)
    wait_position(one, hung, *RUNNING)
    one.vm.action("terminate", hung)
    wait_position(one, fine, *RUNNING)
    one.vm.action("poweroff", fine)
    wait_position(one, fine, VMState.POWEROFF)
    # graceful shutdown times out, the hard fallback times out too: back to RUNNING with the reason
    wait_for(lambda: "timed out" in one.vm.info(hung).USER_TEMPLATE.get("ERROR", ""), timeout=20, what="timeout error")
    wait_position(one, hung, *RUNNING)


def test_vanished_vm_goes_unknown_and_back(one: Any, cloud: Any) -> None:
    add_host(one)
    vm_id = one.vm.allocate(VM)
    wait_position(one, vm_id, *RUNNING)
    vmm = cloud.drivers.vmm.get("dummy")
    vmm.cancel("node1", f"one-{vm_id}")  # behind Nebula's back
    wait_position(one, vm_id, VMState.ACTIVE, LCMState.UNKNOWN)
    one.vm.action("resume", vm_id)  # restart in place
    wait_position(one, vm_id, *RUNNING)


def test_host_error_and_recovery(one: Any) -> None:
    host_id = add_host(one)
    vm_id = one.vm.allocate(VM)
    wait_position(one, vm_id, *RUNNING)
    one.host.update(host_id, 'DUMMY_FAIL = "probe"', 1)
    wait_for(lambda: one.host.info(host_id).STATE == HostState.ERROR, what="host ERROR")
    wait_position(one, vm_id, VMState.ACTIVE, LCMState.UNKNOWN)
    one.host.update(host_id, 'DUMMY_FAIL = ""', 1)
    wait_for(lambda: one.host.info(host_id).STATE == HostState.MONITORED, what="host back")
    wait_position(one, vm_id, *RUNNING)


def test_resched_moves_the_vm_to_another_host(one: Any) -> None:
    first = add_host(one, "node1")
    vm_id = one.vm.allocate(VM + ' SCHED_REQUIREMENTS = "NAME = \\"node*\\""')
    wait_position(one, vm_id, *RUNNING)
    assert one.vm.info(vm_id).HISTORY_RECORDS.HISTORY[-1].HID == first
    second = add_host(one, "node2")
    one.vm.action("resched", vm_id)
    assert one.vm.info(vm_id).RESCHED == 1
    wait_for(lambda: one.vm.info(vm_id).HISTORY_RECORDS.HISTORY[-1].HID == second, what="the VM moved")
    wait_position(one, vm_id, *RUNNING)
    assert one.vm.info(vm_id).RESCHED == 0
