"""The monitor: probes hosts (IM) and polls running VMs (VMM) on an interval, in bounded parallel.

A host that raises or does not answer in time goes to ERROR (its VMs to UNKNOWN, as in 7.4)
and is probed again next round; a good probe brings it back to MONITORED. A VM the hypervisor
no longer reports goes to UNKNOWN and back to RUNNING when seen again (see ``engine.Observed``).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from functools import partial

from sqlalchemy import select
from sqlalchemy.orm import Session

from .db import Database, History, Host, VirtualMachine
from .drivers import replies
from .drivers.im import HostReport
from .drivers.manager import Drivers
from .drivers.runner import Runner
from .drivers.vmm import Observation
from .engine import Engine, HostLost, Observed
from .hooks.events import HostStateChanged
from .states import HostState, LCMState, VMState
from .template import Template

log = logging.getLogger(__name__)

PROBED = (HostState.INIT, HostState.MONITORED, HostState.ERROR, HostState.DISABLED)


class Monitor:
    def __init__(self, db: Database, engine: Engine, drivers: Drivers, runner: Runner,
                 host_interval: float, vm_interval: float, timeout: float, on_host_ready: Callable[[], None]) -> None:
        self.db = db
        self.engine = engine
        self.drivers = drivers
        self.runner = runner
        self.host_interval = host_interval
        self.vm_interval = vm_interval
        self.timeout = timeout
        self.on_host_ready = on_host_ready
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._every, args=(host_interval, self.probe_hosts), name="monitor-hosts", daemon=True),
            threading.Thread(target=self._every, args=(vm_interval, self.poll_vms), name="monitor-vms", daemon=True),
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()

    def probe_now(self, host_id: int) -> None:
        """Probe one host at once (it was just added, enabled or changed)."""
        self.probe_hosts(only=host_id)

    def _every(self, interval: float, work: Callable[[], None]) -> None:
        while not self._stop.is_set():
            try:
                work()
            except Exception:
                log.exception("monitoring round failed")
            self._stop.wait(interval)

    # -- hosts ---------------------------------------------------------------------------

    def probe_hosts(self, only: int | None = None) -> None:
        with self.db.read() as session:
            stmt = select(Host.id, Host.name, Host.im_mad, Host.template).where(Host.state.in_([int(s) for s in PROBED]))
            if only is not None:
                stmt = stmt.where(Host.id == only)
            hosts = list(session.execute(stmt))
        for host_id, name, im_mad, template_json in hosts:
            variables = {k: v for k, v in Template.from_json(template_json) if isinstance(v, str)}
            self.runner.submit(partial(self._probe, im_mad, name, variables), partial(self._host_probed, host_id),
                               self.timeout, f"probe of host {name}")

    def _probe(self, im_mad: str, name: str, variables: dict[str, str]) -> HostReport:
        return replies.host_report(self.drivers.im.get(im_mad).probe(name, variables), f"{im_mad} probe")

    def _host_probed(self, host_id: int, report: HostReport | None, error: BaseException | None) -> None:
        now = int(time.time())
        with self.db.write() as session:
            host = session.get(Host, host_id)
            if host is None or host.state not in [int(s) for s in PROBED]:
                return
            template = Template.from_json(host.template)
            if error is not None or report is None:
                template.set("ERROR", f"{time.strftime('%a %b %d %H:%M:%S %Y')}: {error}")
                host.template = template.to_json()
                if host.state != HostState.ERROR and host.state != HostState.DISABLED:
                    self._move(session, host, HostState.ERROR, f"monitor: {error}")
                    log.warning("host %s is in ERROR: %s", host.name, error)
                    self._host_lost(host_id)
                return
            if template.get("ERROR") is not None:
                template.remove("ERROR")
                host.template = template.to_json()
            host.total_cpu, host.total_mem, host.last_mon_time = report.total_cpu, report.total_memory, now
            monitoring = dict(report.attributes) | {
                "TOTALCPU": report.total_cpu, "TOTALMEMORY": report.total_memory, "USEDCPU": report.used_cpu,
                "USEDMEMORY": report.used_memory, "FREECPU": report.free_cpu, "FREEMEMORY": report.free_memory,
                "TIMESTAMP": now,
            }
            host.monitoring = json.dumps(monitoring)
            if host.state in (HostState.INIT, HostState.ERROR):
                self._move(session, host, HostState.MONITORED, "monitor: probed")
        self.on_host_ready()

    def _move(self, session: Session, host: Host, state: HostState, reason: str) -> None:
        self.engine.hooks.record(session, HostStateChanged(host.id, host.name, HostState(host.state).name, state.name, reason))
        host.prev_state, host.state = host.state, int(state)

    def _host_lost(self, host_id: int) -> None:
        """A host in ERROR: its running VMs can no longer be seen, so they are UNKNOWN."""
        with self.db.read() as read:
            ids = list(read.scalars(select(VirtualMachine.id).where(
                VirtualMachine.host_id == host_id, VirtualMachine.state == VMState.ACTIVE,
                VirtualMachine.lcm_state == LCMState.RUNNING,
            )))
        for vm_id in ids:
            self.engine.deliver(HostLost(vm_id))

    # -- VMs -----------------------------------------------------------------------------

    def poll_vms(self) -> None:
        with self.db.read() as session:
            rows = list(session.execute(
                select(VirtualMachine.id, VirtualMachine.step, VirtualMachine.deploy_id, History.hostname, History.vm_mad, Host.state)
                .join(History, (History.vm_id == VirtualMachine.id) & (History.seq == VirtualMachine.seq))
                .join(Host, Host.id == VirtualMachine.host_id)
                .where(VirtualMachine.state == VMState.ACTIVE,
                       VirtualMachine.lcm_state.in_([int(LCMState.RUNNING), int(LCMState.UNKNOWN)]))
            ))
        for vm_id, step, deploy_id, hostname, vm_mad, host_state in rows:
            if host_state not in (HostState.MONITORED, HostState.DISABLED):
                continue  # its host is down: the VM stays as the host monitor left it
            self.runner.submit(partial(self._poll, vm_mad, hostname, deploy_id), partial(self._vm_polled, vm_id, step),
                               self.timeout, f"poll of VM {vm_id}")

    def _poll(self, vm_mad: str, host: str, deploy_id: str) -> Observation:
        return replies.observation(self.drivers.vmm.get(vm_mad).poll(host, deploy_id), f"{vm_mad} poll")

    def _vm_polled(self, vm_id: int, step: int, observation: Observation | None, error: BaseException | None) -> None:
        if error is not None or observation is None:
            log.info("poll of VM %d failed: %s", vm_id, error)
            return
        self.engine.deliver(Observed(vm_id, step, observation, int(time.time())))
