"""Running blocking driver calls: a pool of worker threads, each call with a deadline.

A call that overruns its deadline is reported as ``DriverTimeout`` at once; its thread is
written off (its late result is dropped) and a fresh worker takes its place, so a hung
driver costs one thread, never the daemon. Anything a driver raises is caught and reported.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import DriverError, DriverTimeout

log = logging.getLogger(__name__)

Outcome = Callable[[Any, BaseException | None], None]


@dataclass
class _Job:
    call: Callable[[], Any]
    on_done: Outcome
    timeout: float
    label: str
    deadline: float = 0.0
    finished: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def finish(self, result: Any, error: BaseException | None) -> bool:
        """Report once: whichever of the worker and the watchdog comes first wins."""
        with self.lock:
            if self.finished:
                return False
            self.finished = True
        try:
            self.on_done(result, error)
        except Exception:
            log.exception("handling the outcome of %s failed", self.label)
        return True


class Runner:
    """Runs driver calls in ``workers`` threads; ``on_done(result, error)`` is called exactly once."""

    def __init__(self, workers: int, name: str = "driver") -> None:
        self.name = name
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._running: dict[int, _Job] = {}  # worker ident -> job
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._workers = workers
        self._spawned = 0
        for _ in range(workers):
            self._spawn()
        self._watchdog = threading.Thread(target=self._watch, name=f"{name}-watchdog", daemon=True)
        self._watchdog.start()

    def submit(self, call: Callable[[], Any], on_done: Outcome, timeout: float, label: str) -> None:
        self._queue.put(_Job(call, on_done, timeout, label))

    def pending(self) -> int:
        return self._queue.qsize() + len(self._running)

    def stop(self) -> None:
        self._stopping.set()
        for _ in range(self._workers):
            self._queue.put(None)

    def _spawn(self) -> None:
        self._spawned += 1
        threading.Thread(target=self._work, name=f"{self.name}-{self._spawned}", daemon=True).start()

    def _work(self) -> None:
        me = threading.get_ident()
        while not self._stopping.is_set():
            job = self._queue.get()
            if job is None:
                return
            job.deadline = time.monotonic() + job.timeout
            with self._lock:
                self._running[me] = job
            try:
                result, error = job.call(), None
            except DriverError as exc:
                result, error = None, exc
            except Exception as exc:  # noqa: BLE001 - a driver bug is a driver failure, not a daemon failure
                result, error = None, DriverError(f"{type(exc).__name__}: {exc}")
            with self._lock:
                written_off = self._running.pop(me, None) is not job
            job.finish(result, error)
            if written_off:
                return  # the watchdog already replaced this worker

    def _watch(self) -> None:
        while not self._stopping.wait(0.05):
            now = time.monotonic()
            with self._lock:
                late = [(ident, job) for ident, job in self._running.items() if job.deadline < now]
                for ident, _job in late:
                    del self._running[ident]
            for _ident, job in late:
                log.warning("%s: %s did not return within %.1fs", self.name, job.label, job.timeout)
                job.finish(None, DriverTimeout(f"{job.label} timed out after {job.timeout:g}s"))
                self._spawn()
