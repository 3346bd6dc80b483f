"""The life-cycle engine: moves VMs between positions, committing before any driver runs.

Every change of position happens in a database transaction. When the new position names a
step, the step's ``Order`` is issued only after the commit, and its outcome comes back through
one queue that an applier thread drains in batches (one transaction per batch), so thousands
of VMs moving at once cost a few commits, not thousands. On start, ``reconcile`` re-issues the
step of every VM found mid-step: a daemon killed at any moment loses nothing.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import lifecycle, network
from .db import Database, History, Host, VirtualMachine
from .drivers.manager import Drivers
from .drivers.runner import Runner
from .drivers.vmm import Capability, Observation, PowerState
from .errors import ActionError, NoExistsError
from .hooks.events import LeaseReleased, VMStateChanged
from .hooks.manager import Hooks
from .lifecycle import Op, Position
from .states import HistoryAction as HA
from .states import LCMState as L
from .states import VMState as S
from .states import vm_state_name
from .steps import Order, Placement, execute
from .template import Template

log = logging.getLogger(__name__)

DEFAULT_VM_DIR = "/var/lib/nebula/vms"
# Outcomes applied in one transaction: large enough to spare commits, small enough that API
# writers waiting on SQLite's single write lock are not kept waiting long.
APPLY_BATCH = 200
FRONTEND_VM_DIR = "vms"


class Outcome(Protocol):
    """Something that arrived for a VM and changes it in the applier's transaction."""

    @property
    def vm_id(self) -> int: ...  # read-only: outcomes are frozen dataclasses

    def apply(self, engine: Engine, session: Session, vm: VirtualMachine) -> Order | None: ...


@dataclass(frozen=True)
class StepDone:
    order: Order
    deploy_id: str | None
    error: BaseException | None

    @property
    def vm_id(self) -> int:
        return self.order.vm_id

    def apply(self, engine: Engine, session: Session, vm: VirtualMachine) -> Order | None:
        if vm.step != self.order.step or vm.lcm_state != self.order.lcm or vm.state != S.ACTIVE:
            return None  # the VM moved on (deleted, overridden) while the driver worked
        step = lifecycle.STEPS[self.order.lcm]
        if self.error is None:
            if self.deploy_id:
                vm.deploy_id = self.deploy_id
            return engine.enter(session, vm, step.success, f"driver:{step.op.value}")
        message = f"{step.op.value} failed: {self.error}"
        set_error(vm, message)
        if step.op is Op.SHUTDOWN and not vm.hard:  # graceful shutdown failed: power off instead
            vm.hard = True
            return engine.enter(session, vm, (S(vm.state), L(vm.lcm_state)), "driver:shutdown-fallback", force=True)
        if self.order.lcm in lifecycle.MIGRATION_STEPS:
            engine.undo_migration(session, vm)
        return engine.enter(session, vm, step.failure, f"driver:{step.op.value}-failed")


@dataclass(frozen=True)
class Observed:
    """A monitor poll of a VM that was RUNNING or UNKNOWN when the poll was sent."""

    vm_id: int
    step: int
    observation: Observation
    at: int

    def apply(self, engine: Engine, session: Session, vm: VirtualMachine) -> Order | None:
        if vm.step != self.step:
            return None
        position = (S(vm.state), L(vm.lcm_state))
        obs = self.observation
        vm.last_poll = self.at
        vm.monitoring = _monitoring_json(obs, self.at)
        if position == lifecycle.RUNNING and obs.state in (PowerState.DELETED, PowerState.ERROR):
            return engine.enter(session, vm, lifecycle.UNKNOWN, f"monitor:{obs.state.name.lower()}")
        if position in (lifecycle.RUNNING, lifecycle.UNKNOWN) and obs.state is PowerState.PAUSED:
            return engine.enter(session, vm, lifecycle.SUSPENDED, "monitor:paused")
        if position == lifecycle.UNKNOWN and obs.state is PowerState.ACTIVE:
            return engine.enter(session, vm, lifecycle.RUNNING, "monitor:seen")
        return None


@dataclass(frozen=True)
class HostLost:
    """The VM's host went to ERROR: a VM it was running can no longer be seen."""

    vm_id: int

    def apply(self, engine: Engine, session: Session, vm: VirtualMachine) -> Order | None:
        if (vm.state, vm.lcm_state) != lifecycle.RUNNING:
            return None
        vm.step += 1  # a poll sent before the host was lost must not bring the VM back to RUNNING
        set_error(vm, "host in ERROR: the VM cannot be monitored")
        return engine.enter(session, vm, lifecycle.UNKNOWN, "monitor:host-error")


def _monitoring_json(obs: Observation, at: int) -> str:
    values = {"CPU": obs.cpu, "MEMORY": obs.memory, "NETRX": obs.netrx, "NETTX": obs.nettx}
    data = {k: v for k, v in values.items() if v is not None} | dict(obs.extra) | {"TIMESTAMP": at}
    return json.dumps(data)


def set_error(vm: VirtualMachine, message: str) -> None:
    """Record why the VM is where it is, as OpenNebula does: USER_TEMPLATE/ERROR."""
    user = Template.from_json(vm.user_template)
    user.set("ERROR", f"{time.strftime('%a %b %d %H:%M:%S %Y')}: {message}")
    vm.user_template = user.to_json()


class Engine:
    """Moves VMs through the life-cycle; the only code that changes a VM's position."""

    def __init__(self, db: Database, drivers: Drivers, runner: Runner, var_dir: str, timeout: float, hooks: Hooks) -> None:
        self.db = db
        self.hooks = hooks
        self.drivers = drivers
        self.runner = runner
        self.var_dir = var_dir
        self.timeout = timeout
        self._outcomes: queue.Queue[Outcome | None] = queue.Queue()
        self._applier = threading.Thread(target=self._apply_loop, name="applier", daemon=True)

    def start(self) -> None:
        self._applier.start()

    def stop(self) -> None:
        self._outcomes.put(None)
        self._applier.join(timeout=10)

    # -- changes asked for through the API ------------------------------------------------

    def act(self, vm_id: int, action: str, reason: str = "api") -> None:
        """Apply a ``one.vm.action`` (or recover delete) to one VM."""
        orders: list[Order] = []
        with self.db.write() as session:
            vm = self.load(session, vm_id)
            position = (S(vm.state), L(vm.lcm_state))
            move = lifecycle.resolve(action, position)
            if move is None:
                return
            if move.needs is not None:
                self._require(session, vm, move.needs, action)
            if move.history in (HA.RESCHED, HA.UNRESCHED):
                vm.resched = int(move.history is HA.RESCHED)
                return
            if move.history in (HA.REBOOT, HA.REBOOT_HARD):
                order = self._order(session, vm)
                self._reboot(order, hard=move.hard)
                return
            vm.hard = move.hard
            self._close_history_action(session, vm, move.history)
            step = self.enter(session, vm, move.target, f"{reason}:{action}", force=True)
            if step:
                orders.append(step)
        self.issue(orders)

    def deploy(self, placements: Iterable[tuple[int, int]], reason: str = "scheduler") -> list[int]:
        """Start each (vm_id, host_id) placement; return the VMs placed (others moved meanwhile)."""
        pairs = list(placements)
        placed: list[int] = []
        for start in range(0, len(pairs), APPLY_BATCH):
            placed += self._deploy_batch(pairs[start:start + APPLY_BATCH], reason)
        return placed

    def _deploy_batch(self, pairs: list[tuple[int, int]], reason: str) -> list[int]:
        orders: list[Order] = []
        placed: list[int] = []
        with self.db.write() as session:
            vms = self._load_many(session, [vm_id for vm_id, _ in pairs])
            self._preload_histories(session, vms.values())
            hosts = {h.id: h for h in session.scalars(select(Host).where(Host.id.in_({h for _, h in pairs})))}
            for vm_id, host_id in pairs:
                vm, host = vms.get(vm_id), hosts.get(host_id)
                if vm is None or host is None or (S(vm.state), L(vm.lcm_state)) not in lifecycle.DEPLOYABLE:
                    continue
                previous = self._current_history(session, vm)
                self._place(session, vm, host)
                if "SCHED_MESSAGE" in vm.user_template:
                    user = Template.from_json(vm.user_template)
                    user.remove("SCHED_MESSAGE")
                    vm.user_template = user.to_json()
                target = lifecycle.deploy_target(HA(previous.action) if previous else None)
                order = self.enter(session, vm, target, reason)
                placed.append(vm_id)
                if order:
                    orders.append(order)
        self.issue(orders)
        return placed

    def migrate(self, vm_id: int, host_id: int, live: bool, reason: str = "api:migrate") -> None:
        with self.db.write() as session:
            vm = self.load(session, vm_id)
            position = (S(vm.state), L(vm.lcm_state))
            if position not in lifecycle.MIGRATABLE:
                where = L(vm.lcm_state).name if vm.state == S.ACTIVE else S(vm.state).name
                raise ActionError(f'Error performing action "migrate": This action is not available for state {where}')
            host = session.get(Host, host_id)
            if host is None:
                raise NoExistsError(f"Error getting host [{host_id}].", host_id)
            if host.id == vm.host_id:
                raise ActionError(f"VM is already running on host [{host_id}] and datastore [0]")
            self._require(session, vm, Capability.LIVE_MIGRATE if live else Capability.SAVE_RESTORE, "migrate")
            self._close_history_action(session, vm, HA.LIVE_MIGRATE if live else HA.MIGRATE)
            self._place(session, vm, host)
            vm.resched = 0
            order = self.enter(session, vm, (S.ACTIVE, L.MIGRATE if live else L.SAVE_MIGRATE), reason, force=True)
        self.issue([order] if order else [])

    def recover(self, vm_id: int, op: int) -> None:
        """``one.vm.recover``: 0 failure, 1 success, 2 retry, 3 delete, 4 delete-recreate."""
        if op == 3:
            return self.act(vm_id, "delete")
        if op == 4:
            return self.act(vm_id, "delete-recreate")
        orders: list[Order] = []
        with self.db.write() as session:
            vm = self.load(session, vm_id)
            lcm = L(vm.lcm_state)
            step = lifecycle.STEPS.get(lcm) if vm.state == S.ACTIVE else None
            failed = vm.state == S.ACTIVE and lcm.is_failure
            if op == 2 and failed:
                origin = next(k for k, v in lifecycle.STEPS.items() if v.failure == (S.ACTIVE, lcm))
                order = self.enter(session, vm, (S.ACTIVE, origin), "api:recover-retry", force=True)
            elif op in (0, 1, 2) and step is not None:
                target = step.success if op == 1 else (step.failure if op == 0 else (S.ACTIVE, lcm))
                order = self.enter(session, vm, target, f"api:recover-{op}", force=True)
            else:
                raise ActionError(f"Error performing action \"recover\": VM is not in a state that can be recovered ({lcm.name})")
            if order:
                orders.append(order)
        self.issue(orders)

    # -- positions -----------------------------------------------------------------------

    def enter(self, session: Session, vm: VirtualMachine, target: Position, reason: str, force: bool = False) -> Order | None:
        """Put ``vm`` at ``target`` with every side effect; return the step to issue after commit."""
        now = int(time.time())
        old: Position = (S(vm.state), L(vm.lcm_state))
        state, lcm = target
        if old == target and not force:
            return None
        vm.prev_state, vm.prev_lcm_state = vm.state, vm.lcm_state
        vm.state, vm.lcm_state = int(state), int(lcm)
        log.debug("VM %d: %s -> %s (%s)", vm.id, vm_state_name(*old), vm_state_name(state, lcm), reason)
        self.hooks.record(session, VMStateChanged(vm.id, old[0].name, old[1].name, state.name, lcm.name, reason))
        history = self._current_history(session, vm) if vm.seq >= 0 else None
        if history is not None and vm.host_id is not None:
            _stamp(history, lcm, old, now)
        if state not in lifecycle.ON_HOST_STATES and vm.host_id is not None:
            vm.host_id = None
            if history is not None and not history.etime:
                history.etime = now
                if lcm == L.LCM_INIT and old[1] in (L.EPILOG, L.EPILOG_STOP, L.EPILOG_UNDEPLOY, L.CLEANUP_DELETE):
                    history.eetime = now
        if state == S.DONE:
            vm.etime = now
            for vnet_id, ip, mac in network.release_vm(session, vm.id, report="lease_released" in self.hooks.listening):
                self.hooks.record(session, LeaseReleased(vnet_id, vm.id, ip, mac))
        if state == S.PENDING:
            vm.deploy_id = "" if old[1] == L.CLEANUP_RESUBMIT else vm.deploy_id
        if state != S.ACTIVE or lcm not in lifecycle.STEPS:
            return None
        vm.step += 1
        return self._order(session, vm, history)

    def _place(self, session: Session, vm: VirtualMachine, host: Host) -> None:
        """Open a new history record on ``host`` and take its capacity."""
        vm.seq += 1
        vm.host_id = host.id
        record = History(
            vm_id=vm.id, seq=vm.seq, host_id=host.id, hostname=host.name, vm_mad=host.vm_mad,
            tm_mad=host.tm_mad, stime=int(time.time()),
        )
        session.add(record)
        _history_cache(session)[(vm.id, vm.seq)] = record

    def undo_migration(self, session: Session, vm: VirtualMachine) -> None:
        """A migration failed before the VM left its host: it is back on the previous placement."""
        current = self._current_history(session, vm)
        if current is None or vm.seq < 1:
            return
        current.etime = int(time.time())
        current.reason = "migration failed"
        previous = self._history(session, vm.id, vm.seq - 1)
        assert previous is not None, "a migration always has a previous placement"
        vm.host_id = previous.host_id
        vm.seq += 1  # a fresh record on the old host keeps the history append-only
        record = History(
            vm_id=vm.id, seq=vm.seq, host_id=previous.host_id, hostname=previous.hostname,
            vm_mad=previous.vm_mad, tm_mad=previous.tm_mad, stime=current.etime, rstime=current.etime,
        )
        session.add(record)
        _history_cache(session)[(vm.id, vm.seq)] = record

    def _close_history_action(self, session: Session, vm: VirtualMachine, action: HA) -> None:
        history = self._current_history(session, vm) if vm.seq >= 0 else None
        if history is not None and not history.etime:
            history.action = int(action)

    def _current_history(self, session: Session, vm: VirtualMachine) -> History | None:
        return self._history(session, vm.id, vm.seq)

    def _history(self, session: Session, vm_id: int, seq: int) -> History | None:
        """One placement record, from the session's cache when a batch preloaded it."""
        if seq < 0:
            return None
        cache = _history_cache(session)
        if (vm_id, seq) not in cache:
            with session.no_autoflush:
                cache[(vm_id, seq)] = session.scalars(
                    select(History).where(History.vm_id == vm_id, History.seq == seq)).one_or_none()
        return cache[(vm_id, seq)]

    def _preload_histories(self, session: Session, vms: Iterable[VirtualMachine]) -> None:
        """Read the current and previous records of many VMs in one query."""
        wanted = {(vm.id, seq) for vm in vms for seq in (vm.seq, vm.seq - 1) if seq >= 0}
        cache = _history_cache(session)
        if wanted:
            stmt = select(History).where(History.vm_id.in_({vm_id for vm_id, _ in wanted}))
            for record in session.scalars(stmt):
                if (record.vm_id, record.seq) in wanted:
                    cache[(record.vm_id, record.seq)] = record
            for key in wanted:
                cache.setdefault(key, None)
            self._load_vm_dirs(session, {record.host_id for record in cache.values() if record is not None})

    def _order(self, session: Session, vm: VirtualMachine, history: History | None = None) -> Order:
        history = history or self._current_history(session, vm)
        if history is None:
            raise ActionError(f"VM {vm.id} has never been placed on a host")
        prior = self._history(session, vm.id, vm.seq - 1)
        previous = self._placement(session, prior, vm.id) if prior is not None else None
        return Order(
            vm_id=vm.id, step=vm.step, lcm=L(vm.lcm_state), op=_op_of(L(vm.lcm_state)),
            hard=vm.hard, name=f"one-{vm.id}", deploy_id=vm.deploy_id, template=_driver_template(vm),
            here=self._placement(session, history, vm.id), previous=previous,
            frontend_dir=f"{self.var_dir}/{FRONTEND_VM_DIR}/{vm.id}",
        )

    def _placement(self, session: Session, history: History, vm_id: int) -> Placement:
        dirs = _vm_dir_cache(session)
        if history.host_id not in dirs:
            self._load_vm_dirs(session, {history.host_id})
        return Placement(history.hostname, history.vm_mad, history.tm_mad, f"{dirs[history.host_id]}/{vm_id}")

    def _load_vm_dirs(self, session: Session, host_ids: set[int]) -> None:
        """Where each host keeps VM directories (its VM_DIR attribute), read in one query."""
        dirs = _vm_dir_cache(session)
        with session.no_autoflush:  # a read here must not write the batch's changes one by one
            for host_id, template in session.execute(select(Host.id, Host.template).where(Host.id.in_(host_ids))):
                dirs[host_id] = Template.from_json(template).get_str("VM_DIR") or DEFAULT_VM_DIR
        for host_id in host_ids:
            dirs.setdefault(host_id, DEFAULT_VM_DIR)

    def _require(self, session: Session, vm: VirtualMachine, capability: Capability, action: str) -> None:
        history = self._current_history(session, vm)
        if history is None:
            return
        driver = self.drivers.vmm.get(history.vm_mad)
        if capability not in driver.capabilities:
            raise ActionError(f'Error performing action "{action}": VM_MAD "{history.vm_mad}" does not support {capability.value}')

    def load(self, session: Session, vm_id: int) -> VirtualMachine:
        # FOR UPDATE locks the row on PostgreSQL/MariaDB; SQLite renders none (its writers are serialised)
        vm = session.execute(select(VirtualMachine).where(VirtualMachine.id == vm_id).with_for_update()).scalar_one_or_none()
        if vm is None:
            raise NoExistsError(f"Error getting virtual machine [{vm_id}].", vm_id)
        return vm

    def _load_many(self, session: Session, ids: list[int]) -> dict[int, VirtualMachine]:
        stmt = select(VirtualMachine).where(VirtualMachine.id.in_(ids)).order_by(VirtualMachine.id).with_for_update()
        return {vm.id: vm for vm in session.scalars(stmt)}

    # -- running steps -------------------------------------------------------------------

    def issue(self, orders: Iterable[Order]) -> None:
        for order in orders:

            def call(order: Order = order) -> str | None:
                return execute(self.drivers, order)

            def done(result: str | None, error: BaseException | None, order: Order = order) -> None:
                self.deliver(StepDone(order, result, error))

            self.runner.submit(call, done, self.timeout, order.label)

    def _reboot(self, order: Order, hard: bool) -> None:
        def call() -> None:
            self.drivers.vmm.get(order.here.vm_mad).reboot(order.here.host, order.deploy_id, hard)

        def done(_result: object, error: BaseException | None) -> None:
            if error is not None:
                log.warning("VM %d: reboot failed: %s", order.vm_id, error)

        self.runner.submit(call, done, self.timeout, f"VM {order.vm_id} reboot")

    def deliver(self, outcome: Outcome) -> None:
        """Hand an outcome to the applier (any thread)."""
        self._outcomes.put(outcome)

    def _apply_loop(self) -> None:
        while True:
            first = self._outcomes.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < APPLY_BATCH:
                try:
                    item = self._outcomes.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._outcomes.put(None)
                    break
                batch.append(item)
            try:
                self._apply(batch)
            except Exception:
                log.exception("applying %d outcomes failed; retrying one by one", len(batch))
                for item in batch:
                    try:
                        self._apply([item])
                    except Exception:
                        log.exception("dropping outcome for VM %d", item.vm_id)

    def _apply(self, batch: list[Outcome]) -> None:
        orders: list[Order] = []
        with self.db.write() as session:
            vms = self._load_many(session, sorted({o.vm_id for o in batch}))
            self._preload_histories(session, vms.values())
            for outcome in batch:
                vm = vms.get(outcome.vm_id)
                if vm is not None:
                    order = outcome.apply(self, session, vm)
                    if order:
                        orders.append(order)
        self.issue(orders)

    def reconcile(self) -> int:
        """Re-issue the step of every VM the database shows mid-step (after a crash)."""
        orders: list[Order] = []
        with self.db.write() as session:
            transient = [int(lcm) for lcm in lifecycle.STEPS]
            stmt = select(VirtualMachine).where(VirtualMachine.state == S.ACTIVE, VirtualMachine.lcm_state.in_(transient))
            for vm in session.scalars(stmt):
                vm.step += 1
                orders.append(self._order(session, vm))
        self.issue(orders)
        return len(orders)


def _history_cache(session: Session) -> dict[tuple[int, int], History | None]:
    """Placement records by (vm_id, seq), kept for the life of one session."""
    cache: dict[tuple[int, int], History | None] = session.info.setdefault("nebula_history", {})
    return cache


def _vm_dir_cache(session: Session) -> dict[int, str]:
    """Hosts' VM_DIR by host id, kept for the life of one session."""
    cache: dict[int, str] = session.info.setdefault("nebula_vm_dirs", {})
    return cache


def _driver_template(vm: VirtualMachine) -> Template:
    """What drivers see: the system attributes, then the user's (as a deployment file carries both)."""
    return Template([*Template.from_json(vm.template), *Template.from_json(vm.user_template)])


def _op_of(lcm: L) -> Op | None:
    step = lifecycle.STEPS.get(lcm)
    return step.op if step else None


def _stamp(history: History, lcm: L, old: Position, now: int) -> None:
    """Keep the placement's phase times (prolog, running, epilog) as OpenNebula reports them."""
    name = lcm.name
    if name.startswith("PROLOG") and not lcm.is_failure:
        history.pstime = history.pstime or now
    elif name.startswith("BOOT") and not lcm.is_failure:
        history.petime = history.petime or (now if history.pstime else 0)
    elif lcm == L.RUNNING:
        history.rstime = history.rstime or now
    elif name.startswith("EPILOG") and not lcm.is_failure:
        history.estime = history.estime or now
    if old[1] == L.RUNNING and lcm != L.RUNNING:
        history.retime = now


__all__ = ["Engine", "HostLost", "Observed", "Outcome", "StepDone", "set_error"]
