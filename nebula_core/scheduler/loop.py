"""The scheduler's cycle: read the DB, plan, dispatch through the engine, record why not.

Runs in its own thread every ``scheduler.interval`` seconds, and sooner when woken (a VM was
submitted or released), waiting a moment so that a burst of submits is placed in one batch.
"""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session

from ..db import Database, Host, VirtualMachine
from ..engine import Engine
from ..errors import NebulaError
from ..hooks import HookRefusal
from ..states import HostState, LCMState, VMState
from ..template import Template
from .placement import HostSlot, PendingVM, host_variables, plan, stamp

log = logging.getLogger(__name__)
VETO_SECONDS = 60.0  # a host a policy hook vetoed for a VM is not proposed again for it meanwhile

BATCH_WAIT = 0.2  # seconds to let a burst of submits gather before a woken cycle


class Scheduler:
    def __init__(self, db: Database, engine: Engine, interval: float, max_dispatch: int, max_per_host: int) -> None:
        self.db = db
        self.engine = engine
        self.interval = interval
        self.max_dispatch = max_dispatch
        self.max_per_host = max_per_host
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)
        self._vetoes: dict[int, dict[int, float]] = {}  # vm -> host -> until when a policy hook's veto holds

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            woken = self._wake.wait(self.interval)
            if self._stop.is_set():
                return
            if woken:
                self._stop.wait(BATCH_WAIT)
            self._wake.clear()
            try:
                while self.cycle() >= self.max_dispatch and not self._stop.is_set():
                    pass  # a full batch: more may be waiting
            except Exception:
                log.exception("scheduler cycle failed")

    def cycle(self) -> int:
        """One round of placement; returns how many VMs were placed (or moved, for RESCHED)."""
        with self.db.read() as session:
            pending = self._wanting(session, VirtualMachine.state == VMState.PENDING)
            moving = self._wanting(session, (VirtualMachine.state == VMState.ACTIVE)
                                   & (VirtualMachine.lcm_state == LCMState.RUNNING) & (VirtualMachine.resched == 1))
            if not pending and not moving:
                return 0
            hosts = self._hosts(session)
        result = plan(pending + moving, hosts, self.max_dispatch, self.max_per_host)
        placements = self._allowed(result.placements, result.why, {host.id: host.name for host in hosts})
        moved = {vm.id for vm in moving}
        placed = self.engine.deploy([p for p in placements if p[0] not in moved]) if placements else []
        for vm_id, host_id in (p for p in placements if p[0] in moved):
            try:
                self.engine.migrate(vm_id, host_id, live=False, reason="scheduler:resched")
                placed.append(vm_id)
            except NebulaError as exc:
                log.warning("rescheduling VM %d failed: %s", vm_id, exc.message)
        self._record_why({vm_id: why for vm_id, why in result.why.items() if vm_id not in moved})
        return len(placed)

    def _allowed(self, placements: list[tuple[int, int]], why: dict[int, str], names: dict[int, str]) -> list[tuple[int, int]]:
        """The placements no ``vm_placement_policy`` hook vetoes; a vetoed VM waits, its reason in ``why``."""
        hooks = self.engine.hooks
        if "vm_placement_policy" not in hooks.listening:
            return placements
        allowed = []
        for vm_id, host_id in placements:
            try:
                hooks.check("vm_placement_policy", vm_id=vm_id, host_id=host_id, host_name=names[host_id])
            except HookRefusal as refusal:
                why[vm_id] = refusal.message
                self._vetoes.setdefault(vm_id, {})[host_id] = time.monotonic() + VETO_SECONDS
            else:
                allowed.append((vm_id, host_id))
                self._vetoes.pop(vm_id, None)
        return allowed

    def _vetoed_hosts(self, vm_id: int) -> str:
        """REQUIREMENTS that keep the VM off the hosts a policy hook vetoed for it lately ("" if none)."""
        now = time.monotonic()
        hosts = sorted(host for host, until in self._vetoes.get(vm_id, {}).items() if until > now)
        if not hosts:
            self._vetoes.pop(vm_id, None)
        return " & ".join(f"ID != {host}" for host in hosts)

    def _wanting(self, session: Session, condition: ColumnElement[bool]) -> list[PendingVM]:
        """VMs that need a host: PENDING ones, or RUNNING ones flagged RESCHED (they must leave theirs)."""
        rows = session.execute(
            select(VirtualMachine.id, VirtualMachine.cpu, VirtualMachine.memory, VirtualMachine.user_template,
                   VirtualMachine.host_id).where(condition).order_by(VirtualMachine.id).limit(self.max_dispatch * 2)
        )
        wanting = []
        for vm_id, cpu, memory, user_json, host_id in rows:
            requirements = rank = ""
            if "SCHED_" in user_json:  # most VMs name neither: spare parsing their templates
                user = Template.from_json(user_json)
                requirements, rank = user.get_str("SCHED_REQUIREMENTS") or "", user.get_str("SCHED_RANK") or ""
            if vm_id in self._vetoes:
                vetoed = self._vetoed_hosts(vm_id)
                requirements = f"({requirements}) & {vetoed}" if requirements and vetoed else requirements or vetoed
            wanting.append(PendingVM(vm_id, cpu, memory, requirements, rank, host_id))
        return wanting

    def _hosts(self, session: Session) -> list[HostSlot]:
        """MONITORED hosts with what their VMs hold now."""
        usage = {
            row.host_id: row for row in session.execute(
                select(VirtualMachine.host_id, func.sum(VirtualMachine.cpu).label("cpu"),
                       func.sum(VirtualMachine.memory).label("mem"), func.count().label("n"))
                .where(VirtualMachine.host_id.is_not(None)).group_by(VirtualMachine.host_id)
            )
        }
        hosts = []
        for host in session.scalars(select(Host).where(Host.state == HostState.MONITORED).order_by(Host.id)):
            used = usage.get(host.id)
            hosts.append(HostSlot(
                host.id, host.name, host.total_cpu, host.total_mem,
                round((used.cpu or 0) * 100) if used else 0, int(used.mem or 0) * 1024 if used else 0,
                used.n if used else 0,
                host_variables(host.id, host.name, host.cluster_id, host.template, host.monitoring,
                               host.total_cpu, host.total_mem),
            ))
        return hosts

    def _record_why(self, why: dict[int, str]) -> None:
        """Write SCHED_MESSAGE on VMs left PENDING, only where the reason changed."""
        if not why:
            return
        with self.db.write() as session:
            rows = session.execute(
                select(VirtualMachine.id, VirtualMachine.user_template).where(VirtualMachine.id.in_(list(why)))
            )
            for vm_id, user_json in rows:
                user = Template.from_json(user_json)
                old = user.get_str("SCHED_MESSAGE") or ""
                if old.partition(": ")[2] == why[vm_id]:
                    continue
                user.set("SCHED_MESSAGE", stamp(why[vm_id]))
                session.execute(
                    update(VirtualMachine).where(VirtualMachine.id == vm_id, VirtualMachine.user_template == user_json)
                    .values(user_template=user.to_json())
                )
