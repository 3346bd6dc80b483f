"""Loading hook plugins and delivering events to them: stored with the change, delivered after.

``record`` adds an event to the caller's transaction (only when some hook listens to its kind),
so it exists exactly when the change was committed. A delivery thread takes stored events in
order, runs each listening observer in a worker with a deadline, then deletes the event: a
daemon killed before the delete delivers it again after restart (at least once).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from functools import partial
from importlib.metadata import entry_points
from typing import Any

import pluggy
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..db import Database, HookEvent
from ..drivers.manager import LoadFailure
from ..drivers.runner import Runner
from . import specs
from .events import KINDS, Event, from_json

log = logging.getLogger(__name__)

NAMESPACE = "nebula.hooks"
BATCH = 200


class Hooks:
    """The hook plugins of one daemon."""

    def __init__(self, db: Database, workers: int, timeout: float, poll_interval: float = 0.5) -> None:
        self.db = db
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.plugins = pluggy.PluginManager(specs.PROJECT)
        self.plugins.add_hookspecs(specs)
        self.failures: list[LoadFailure] = []
        self.listening: frozenset[str] = frozenset()
        self._runner = Runner(workers, "hook")
        self._memory: queue.SimpleQueue[Event] = queue.SimpleQueue()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._deliver_loop, name="hooks", daemon=True)

    # -- plugins -------------------------------------------------------------------------

    def load_entry_points(self) -> None:
        """Register every ``nebula.hooks`` plugin; one that fails to load is logged and skipped."""
        for entry_point in entry_points(group=NAMESPACE):
            try:
                self.register(entry_point.load(), entry_point.name)
            except Exception as exc:  # noqa: BLE001 - a broken plugin must not stop the daemon
                dist = entry_point.dist.name if entry_point.dist else "?"
                self.failures.append(LoadFailure(NAMESPACE, entry_point.name, dist, f"{type(exc).__name__}: {exc}"))
                log.error("hook plugin %s (%s) not loaded: %s: %s", entry_point.name, dist, type(exc).__name__, exc)

    def register(self, plugin: Any, name: str | None = None) -> None:
        """Add a hook plugin (an object with ``@hookimpl`` functions named as in specs.py); the name shows in logs."""
        self.plugins.register(plugin, name or getattr(plugin, "__name__", None) or type(plugin).__name__)
        self.listening = frozenset(name for name in (*KINDS, *specs.POLICIES) if getattr(self.plugins.hook, name).get_hookimpls())

    def switch(self, plugin: Any, name: str, on: bool) -> None:
        """Register ``plugin`` under ``name`` when ``on``, unregister it otherwise (idempotent both ways)."""
        registered = self.plugins.get_plugin(name) is not None
        if on and not registered:
            self.register(plugin, name)
        elif not on and registered:
            self.plugins.unregister(name=name)
            self.listening = frozenset(n for n in (*KINDS, *specs.POLICIES) if getattr(self.plugins.hook, n).get_hookimpls())

    # -- events --------------------------------------------------------------------------

    def record(self, session: Session, event: Event) -> None:
        """Store ``event`` with the change being made in ``session``: delivered once that commits."""
        if event.kind in self.listening:
            session.add(HookEvent(kind=event.kind, payload=event.to_json(), created=int(time.time())))
            self._wake.set()

    def notify(self, event: Event) -> None:
        """Deliver an event that is no committed change (an API call), from memory, best effort."""
        if event.kind in self.listening:
            self._memory.put(event)
            self._wake.set()

    def check(self, policy: str, **arguments: Any) -> None:
        """Run the ``policy`` hooks in turn, each within the deadline; raise HookRefusal if one refuses,
        fails or does not answer (fail closed)."""
        if policy not in self.listening:
            return
        for impl in getattr(self.plugins.hook, policy).get_hookimpls():
            refusal, error = self._ask(impl, policy, arguments)
            if refusal is not None:
                raise specs.HookRefusal(f"Refused by hook {impl.plugin_name}: {refusal.message}")
            if error is not None:
                log.warning("policy hook %s.%s failed: %s", impl.plugin_name, policy, error)
                raise specs.HookRefusal(f"Refused: policy hook {impl.plugin_name} failed ({error})")

    def _ask(self, impl: pluggy.HookImpl, policy: str, arguments: dict[str, Any]) -> tuple[Any, BaseException | None]:
        """One policy hook's answer: (its HookRefusal or None, the error it raised or its timeout)."""
        def attempt() -> specs.HookRefusal | None:
            try:
                impl.function(**arguments)
            except specs.HookRefusal as refusal:
                return refusal
            return None

        return self._call(attempt, f"hook {impl.plugin_name}.{policy}")

    def _call(self, function: Callable[[], Any], label: str) -> tuple[Any, BaseException | None]:
        """``function()`` in a worker, waited for at most the deadline: (result, error or timeout)."""
        answer: list[tuple[Any, BaseException | None]] = []
        done = threading.Event()

        def finished(result: Any, error: BaseException | None) -> None:
            answer.append((result, error))
            done.set()

        self._runner.submit(function, finished, self.timeout, label)
        done.wait()
        return answer[0]

    # -- delivery ------------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=self.timeout + 5)
        self._runner.stop()

    def _deliver_loop(self) -> None:
        while not self._stop.is_set():
            try:
                delivered = self.deliver_pending()
            except Exception:
                log.exception("hook delivery failed; retrying")
                delivered = 0
            if not delivered:
                self._wake.wait(self.poll_interval)
                self._wake.clear()

    def deliver_pending(self) -> int:
        """Deliver what waits (events in memory, then a batch of stored ones, oldest first); how many."""
        count = 0
        while not self._memory.empty():
            self._run_observers(self._memory.get())
            count += 1
        with self.db.read() as session:
            oldest = select(HookEvent.id, HookEvent.kind, HookEvent.payload).order_by(HookEvent.id).limit(BATCH)
            stored = list(session.execute(oldest))
        for _, kind, payload in stored:
            if self._stop.is_set():
                return count
            try:
                event = from_json(kind, payload)
            except (KeyError, TypeError, ValueError) as exc:
                log.error("dropping an unreadable hook event %s: %s", kind, exc)
            else:
                self._run_observers(event)
            count += 1
        if stored:
            with self.db.write() as session:
                session.execute(delete(HookEvent).where(HookEvent.id.in_([row[0] for row in stored])))
        return count

    def _run_observers(self, event: Event) -> None:
        """Each observer of the event in turn, each within the deadline; failures are logged, never raised."""
        for impl in getattr(self.plugins.hook, event.kind).get_hookimpls():
            self._run_observer(impl, event)

    def _run_observer(self, impl: pluggy.HookImpl, event: Event) -> None:
        _, error = self._call(partial(impl.function, event=event), f"hook {impl.plugin_name}.{event.kind}")
        if error is not None:
            log.warning("hook %s.%s failed on %s: %s: %s", impl.plugin_name, event.kind, event, type(error).__name__, error)
