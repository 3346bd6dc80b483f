"""A host made to fail: its VMs come back on the other host, or are deleted, as the admin chose."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyone
import pytest
from nebula_core.states import HostState, LCMState, VMState

from nebula_ft import HostErrorRecovery

VM = "CPU = 0.1 MEMORY = 32"


def wait_for(predicate: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
    return value


def start(nebula_cloud: Any) -> Any:
    cloud = nebula_cloud(hooks=[HostErrorRecovery()])
    return pyone.OneServer(cloud.api.endpoint, session=Path(cloud.config.one_auth_path).read_text().strip())


def placed_on(one: Any, vm_id: int) -> int:
    return int(one.vm.info(vm_id).HISTORY_RECORDS.HISTORY[-1].HID)


def running(one: Any, vm_id: int) -> bool:
    vm = one.vm.info(vm_id)
    return (vm.STATE, vm.LCM_STATE) == (VMState.ACTIVE, LCMState.RUNNING)


def test_vms_of_a_failed_host_are_recreated_elsewhere(nebula_cloud: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEBULA_FT_MODE", "recreate")
    one = start(nebula_cloud)
    node1 = one.host.allocate("node1", "dummy", "dummy", -1)
    ids = [one.vm.allocate(VM + ' SCHED_REQUIREMENTS = "NAME = \\"node1\\""') for _ in range(2)]
    wait_for(lambda: all(running(one, i) for i in ids), "VMs RUNNING on node1")
    node2 = one.host.allocate("node2", "dummy", "dummy", -1)
    for vm_id in ids:  # let them go anywhere now
        one.vm.update(vm_id, 'SCHED_REQUIREMENTS = ""', 1)
    wait_for(lambda: one.host.info(node2).STATE == HostState.MONITORED, "node2 MONITORED")
    one.host.update(node1, 'DUMMY_FAIL = "probe"', 1)
    wait_for(lambda: all(running(one, i) and placed_on(one, i) == node2 for i in ids), "VMs RUNNING on node2")
    assert one.host.info(node1).STATE == HostState.ERROR


def test_delete_mode_and_a_healthy_host_untouched(nebula_cloud: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEBULA_FT_MODE", "delete")
    one = start(nebula_cloud)
    node1, node2 = one.host.allocate("node1", "dummy", "dummy", -1), one.host.allocate("node2", "dummy", "dummy", -1)
    lost = one.vm.allocate(VM + ' SCHED_REQUIREMENTS = "NAME = \\"node1\\""')
    kept = one.vm.allocate(VM + ' SCHED_REQUIREMENTS = "NAME = \\"node2\\""')
    wait_for(lambda: running(one, lost) and running(one, kept), "VMs RUNNING")
    one.host.update(node1, 'DUMMY_FAIL = "probe"', 1)
    wait_for(lambda: one.vm.info(lost).STATE == VMState.DONE, "the lost VM deleted")
    assert running(one, kept) and placed_on(one, kept) == node2


def test_without_a_mode_nothing_happens(nebula_cloud: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEBULA_FT_MODE", raising=False)
    one = start(nebula_cloud)
    node1 = one.host.allocate("node1", "dummy", "dummy", -1)
    one.host.allocate("node2", "dummy", "dummy", -1)
    vm_id = one.vm.allocate(VM + ' SCHED_REQUIREMENTS = "NAME = \\"node1\\""')
    wait_for(lambda: running(one, vm_id), "VM RUNNING")
    one.host.update(node1, 'DUMMY_FAIL = "probe"', 1)
    wait_for(lambda: one.vm.info(vm_id).LCM_STATE == LCMState.UNKNOWN, "VM UNKNOWN")
    time.sleep(1.5)  # several monitor and scheduler rounds: the plugin would have acted by now
    assert one.vm.info(vm_id).LCM_STATE == LCMState.UNKNOWN and placed_on(one, vm_id) == node1
