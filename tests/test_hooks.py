"""Hook plugins hear every committed event, after the commit, at least once, even across SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pyone
import pytest
from conftest import make_config
from helpers import connect, free_port, start_daemon, stop_daemon, wait_for

from nebula_core.daemon import Cloud
from nebula_core.hooks import HookRefusal, hookimpl
from nebula_core.hooks.events import ApiCallDone, Event, HostStateChanged, VMStateChanged
from nebula_core.states import LCMState, VMState

VM = "CPU = 0.1 MEMORY = 32"


class Recorder:
    """A hook plugin that keeps what it hears."""

    def __init__(self) -> None:
        self.heard: list[Event] = []
        self.lock = threading.Lock()

    def _keep(self, event: Event) -> None:
        with self.lock:
            self.heard.append(event)

    @hookimpl
    def vm_allocated(self, event: Event) -> None:
        self._keep(event)

    @hookimpl
    def vm_state_changed(self, event: Event) -> None:
        self._keep(event)

    @hookimpl
    def host_created(self, event: Event) -> None:
        self._keep(event)

    @hookimpl
    def host_state_changed(self, event: Event) -> None:
        self._keep(event)

    @hookimpl
    def api_call_done(self, event: Event) -> None:
        self._keep(event)

    @hookimpl
    def lease_taken(self, event: Event) -> None:
        self._keep(event)

    @hookimpl
    def lease_released(self, event: Event) -> None:
        self._keep(event)

    def of(self, kind: type[Event]) -> list[Any]:
        with self.lock:
            return [e for e in self.heard if isinstance(e, kind)]

    def path_of(self, vm_id: int) -> list[str]:
        return [e.lcm_state if e.state == "ACTIVE" else e.state for e in self.of(VMStateChanged) if e.vm_id == vm_id]


@pytest.fixture
def hooked(tmp_path: Path, database_url: str) -> Any:
    """A daemon with a Recorder, and a slow and a failing observer beside it (observers cannot block the core)."""

    class Broken:
        @hookimpl
        def vm_state_changed(self, event: Event) -> None:
            raise RuntimeError("this hook is broken")

    class Slow:
        @hookimpl
        def host_state_changed(self, event: Event) -> None:
            time.sleep(5)  # beyond hooks.timeout: cut off, the others still hear the event

    cloud = Cloud(make_config(tmp_path, database_url, hooks={"timeout": 0.5}))
    recorder = Recorder()
    for plugin in (Broken(), recorder, Slow()):
        cloud.hooks.register(plugin)
    cloud.start()
    try:
        yield cloud, recorder
    finally:
        cloud.stop()


def test_every_vm_transition_and_host_event_reaches_the_hooks(hooked: Any) -> None:
    cloud, recorder = hooked
    one = pyone.OneServer(cloud.api.endpoint, session=Path(cloud.config.one_auth_path).read_text().strip())
    host_id = one.host.allocate("node1", "dummy", "dummy", -1)
    vnet_id = one.vn.allocate('NAME = "lan" AR = [ TYPE = "IP4", IP = "10.0.0.1", SIZE = "4" ]', -1)
    vm_id = one.vm.allocate(VM + f' NIC = [ NETWORK_ID = "{vnet_id}" ]')
    wait_for(lambda: recorder.path_of(vm_id)[-1:] == ["RUNNING"], what="RUNNING heard")
    one.vm.action("terminate", vm_id)
    wait_for(lambda: recorder.path_of(vm_id)[-1:] == ["DONE"], what="DONE heard")
    lease = (vnet_id, vm_id, "10.0.0.1", "02:00:0a:00:00:01")
    assert [(e.vnet_id, e.vm_id, e.ip, e.mac) for e in recorder.heard if e.kind == "lease_taken"] == [lease]
    wait_for(lambda: [(e.vnet_id, e.vm_id, e.ip, e.mac) for e in recorder.heard if e.kind == "lease_released"] == [lease],
             what="the lease released")
    assert recorder.path_of(vm_id) == ["PROLOG", "BOOT", "RUNNING", "SHUTDOWN", "EPILOG", "DONE"]
    assert [(e.vm_id, e.uid) for e in recorder.heard if e.kind == "vm_allocated"] == [(vm_id, 0)]
    assert [e.host_id for e in recorder.heard if e.kind == "host_created"] == [host_id]
    monitored = [e for e in recorder.of(HostStateChanged) if e.host_id == host_id]
    assert (monitored[0].old_state, monitored[0].state) == ("INIT", "MONITORED")
    reasons = [e.reason for e in recorder.of(VMStateChanged) if e.vm_id == vm_id]
    assert reasons == ["scheduler", "driver:prolog", "driver:deploy", "api:terminate", "driver:shutdown", "driver:epilog"]

    with pytest.raises(pyone.OneNoExistsException):
        one.vm.info(9999)
    calls = wait_for(lambda: [(e.method, e.uid, e.code) for e in recorder.of(ApiCallDone) if e.method == "one.vm.info"],
                     what="the API call heard")
    assert ("one.vm.info", 0, 1024) in calls
    assert all(e.seconds >= 0 for e in recorder.of(ApiCallDone))
    with cloud.db.read() as session:  # delivered events leave the outbox
        from nebula_core.db import HookEvent

        wait_for(lambda: session.query(HookEvent).count() == 0, what="the outbox drained")


def test_monitor_caused_transitions_reach_the_hooks(hooked: Any) -> None:
    cloud, recorder = hooked
    one = pyone.OneServer(cloud.api.endpoint, session=Path(cloud.config.one_auth_path).read_text().strip())
    host_id = one.host.allocate("node1", "dummy", "dummy", -1)
    vm_id = one.vm.allocate(VM)
    wait_for(lambda: recorder.path_of(vm_id)[-1:] == ["RUNNING"], what="RUNNING heard")
    one.host.update(host_id, 'DUMMY_FAIL = "probe"', 1)
    wait_for(lambda: recorder.path_of(vm_id)[-1:] == ["UNKNOWN"], what="UNKNOWN heard")
    error = [e for e in recorder.of(HostStateChanged) if e.state == "ERROR"]
    assert error and "does not answer" in error[0].reason
    assert [e.reason for e in recorder.of(VMStateChanged) if e.state == "ACTIVE" and e.lcm_state == "UNKNOWN"] == [
        "monitor:host-error"]


HOOK_MODULE = '''
import json, os, time
from nebula_core.hooks import HookRefusal, hookimpl

@hookimpl
def vm_state_changed(event):
    time.sleep(0.15)  # slow: events pile up undelivered, so that a kill leaves some behind
    with open(os.environ["NEBULA_TEST_HOOK_LOG"], "a") as log:
        log.write(json.dumps([event.vm_id, event.state, event.lcm_state]) + "\\n")
'''


def install_hook_plugin(where: Path) -> None:
    """A hook plugin distribution found by entry point (``nebula.hooks``) on PYTHONPATH, as pip would leave it."""
    (where / "nebula_test_hook.py").write_text(HOOK_MODULE)
    dist = where / "nebula_test_hook-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: nebula-test-hook\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[nebula.hooks]\nlogger = nebula_test_hook\n")


def test_events_committed_before_sigkill_are_delivered_after_restart(tmp_path: Path, database_url: str) -> None:
    plugin_dir, log = tmp_path / "plugin", tmp_path / "hook.log"
    plugin_dir.mkdir()
    install_hook_plugin(plugin_dir)
    env = {"PYTHONPATH": os.pathsep.join([str(plugin_dir), os.environ.get("PYTHONPATH", "")]), "NEBULA_TEST_HOOK_LOG": str(log)}
    port = free_port()
    daemon = start_daemon(tmp_path, database_url, port, env=env)
    try:
        one = connect(tmp_path, port)
        one.host.allocate("node1", "dummy", "dummy", -1)
        ids = [one.vm.allocate(VM) for _ in range(6)]
        running = (VMState.ACTIVE, LCMState.RUNNING)
        wait_for(lambda: all((one.vm.info(i).STATE, one.vm.info(i).LCM_STATE) == running for i in ids), what="VMs RUNNING")
        heard_before = log.read_text().count("\n") if log.exists() else 0
        assert heard_before < 3 * len(ids), "the hook kept up: the kill would prove nothing"
        os.kill(daemon.pid, signal.SIGKILL)
        daemon.wait(timeout=10)

        daemon = start_daemon(tmp_path, database_url, port, env=env)
        connect(tmp_path, port)

        def heard() -> set[tuple[int, str]]:
            lines = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
            return {(vm_id, lcm) for vm_id, _, lcm in lines}

        expected = {(i, lcm) for i in ids for lcm in ("PROLOG", "BOOT", "RUNNING")}
        wait_for(lambda: expected <= heard(), timeout=30, what="every transition heard after the restart")
    finally:
        stop_daemon(daemon)


class Quota:
    """Policies: cap MEMORY at 256, refuse names starting with "big", veto host node1."""

    @hookimpl
    def vm_allocate_policy(self, template: Any, owner: Any) -> None:
        if (template.get_str("NAME") or "").startswith("big"):
            raise HookRefusal(f"user {owner.uid} may not run big VMs")
        if int(template.get_str("MEMORY") or 0) > 256:
            template.set("MEMORY", "256")

    @hookimpl
    def vm_placement_policy(self, vm_id: int, host_id: int, host_name: str) -> None:
        if host_name == "node1":
            raise HookRefusal("node1 is kept for the database")


def test_policy_hooks_amend_refuse_and_veto(tmp_path: Path, database_url: str) -> None:
    cloud = Cloud(make_config(tmp_path, database_url, hooks={"timeout": 0.5}))
    cloud.hooks.register(Quota())
    cloud.start()
    try:
        one = pyone.OneServer(cloud.api.endpoint, session=Path(cloud.config.one_auth_path).read_text().strip())
        with pytest.raises(pyone.OneActionException, match="Refused by hook Quota: user 0 may not run big VMs"):
            one.vm.allocate('NAME = "big-1" CPU = 1 MEMORY = 64')
        assert one.vmpool.info(-2, -1, -1, -1).VM == []  # nothing half-made
        template_id = one.template.allocate('NAME = "big" CPU = 1 MEMORY = 64')
        with pytest.raises(pyone.OneActionException, match="may not run big VMs"):
            one.template.instantiate(template_id, "big-2", False, "", False)
        vm_id = one.vm.allocate('NAME = "web" CPU = 0.1 MEMORY = 4096')
        assert one.vm.info(vm_id).TEMPLATE["MEMORY"] == "256"  # amended before it was stored

        one.host.allocate("node1", "dummy", "dummy", -1)
        wait_for(lambda: "node1 is kept for the database" in one.vm.info(vm_id).USER_TEMPLATE.get("SCHED_MESSAGE", ""),
                 what="the veto in SCHED_MESSAGE")
        assert one.vm.info(vm_id).STATE == VMState.PENDING
        node2 = one.host.allocate("node2", "dummy", "dummy", -1)
        wait_for(lambda: one.vm.info(vm_id).LCM_STATE == LCMState.RUNNING, what="VM RUNNING elsewhere")
        assert one.vm.info(vm_id).HISTORY_RECORDS.HISTORY[-1].HID == node2
    finally:
        cloud.stop()


def test_a_policy_that_hangs_or_fails_refuses(tmp_path: Path, database_url: str) -> None:
    """Fail closed, within the deadline: a policy that cannot answer does not let changes through."""

    class Hangs:
        @hookimpl
        def vm_allocate_policy(self, template: Any, owner: Any) -> None:
            time.sleep(10)

    cloud = Cloud(make_config(tmp_path, database_url, hooks={"timeout": 0.5}))
    cloud.hooks.register(Hangs())
    cloud.start()
    try:
        one = pyone.OneServer(cloud.api.endpoint, session=Path(cloud.config.one_auth_path).read_text().strip())
        start = time.monotonic()
        with pytest.raises(pyone.OneActionException, match="policy hook Hangs failed .*timed out after 0.5s"):
            one.vm.allocate(VM)
        assert time.monotonic() - start < 3
        assert one.vmpool.info(-2, -1, -1, -1).VM == []
    finally:
        cloud.stop()


def test_the_example_hook_plugin(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """contrib/example-hooks does what its docstring says: an audit trail, and a cap for regular users."""
    monkeypatch.syspath_prepend(str(Path(__file__).parents[1] / "contrib" / "example-hooks"))
    monkeypatch.setenv("NEBULA_AUDIT_LOG", str(tmp_path / "audit.jsonl"))
    monkeypatch.setenv("NEBULA_AUDIT_MAX_MEMORY", "512")
    import nebula_audit

    cloud = Cloud(make_config(tmp_path, database_url))
    cloud.hooks.register(nebula_audit, "audit")
    cloud.start()
    try:
        one = pyone.OneServer(cloud.api.endpoint, session=Path(cloud.config.one_auth_path).read_text().strip())
        one.user.allocate("alice", "pw", "core", [])
        alice = pyone.OneServer(cloud.api.endpoint, session="alice:pw")
        with pytest.raises(pyone.OneActionException, match="Refused by hook audit: MEMORY 1024 MB is above the 512 MB"):
            alice.vm.allocate("CPU = 0.1 MEMORY = 1024")
        one.vm.allocate("CPU = 0.1 MEMORY = 1024")  # admins are not capped
        one.host.allocate("node1", "dummy", "dummy", -1)

        def audited() -> list[Any]:
            path = tmp_path / "audit.jsonl"
            return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

        wait_for(lambda: any(r["event"] == "vm_state_changed" and r["lcm_state"] == "RUNNING" for r in audited()),
                 what="RUNNING in the audit trail")
        assert any(r["event"] == "host_state_changed" and r["state"] == "MONITORED" for r in audited())
    finally:
        cloud.stop()
