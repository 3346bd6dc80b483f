"""The composition root: read the config, open the database, start every part, stop them cleanly.

``Cloud`` owns one of each service; ``serve`` runs it until SIGTERM or SIGINT. Start-up
migrates the schema, creates ``oneadmin`` on an empty database, and re-issues any step a
previous daemon left unfinished (``Engine.reconcile``).
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .api import methods
from .api.rpc import dispatch, shown_arguments
from .api.server import APIServer, RPCApp
from .api.views import Document
from .config import Config, ConfigError
from .config import load as load_config
from .db import Database
from .drivers.manager import Drivers
from .drivers.runner import Runner
from .drivers.vmm import DriverContext
from .engine import Engine
from .hooks.events import ApiCallDone, DaemonStarted
from .hooks.manager import Hooks
from .hooks.scripts import ScriptHooks, sync_config_hooks
from .monitor import Monitor
from .plugins import HOOKS_NAMESPACE, discover
from .scheduler import Scheduler
from .users import DEFAULT_AUTH, Authenticator, Principal, bootstrap

log = logging.getLogger("nebula")


class Cloud:
    """Every service of one front-end, wired together."""

    def __init__(self, config: Config) -> None:
        self.config = config
        var = config.var_path
        var.mkdir(parents=True, exist_ok=True)
        self.db = Database(config.database_url, config.database.pool_size)
        self.db.migrate()
        self.drivers = Drivers.load(DriverContext(var_dir=var))
        self.auth = Authenticator(self.db, self.drivers.auth, config.auth.session_cache_seconds)
        self.credentials = bootstrap(self.db, config.one_auth_path, lambda password: self.auth.stored_form(DEFAULT_AUTH, password))
        self.runner = Runner(config.drivers.workers, "driver")
        self.monitor_runner = Runner(config.monitor.workers, "monitor")
        for broken in (plugin for plugin in discover() if not plugin.ok and plugin.namespace != HOOKS_NAMESPACE):
            log.error("plugin %s (%s %s, %s) cannot be used: %s", broken.name, broken.distribution, broken.version,
                      broken.namespace, broken.error)
        self.hooks = Hooks(self.db, config.hooks.workers, config.hooks.timeout)
        self.hooks.load_entry_points()  # logs its own failures
        self.engine = Engine(self.db, self.drivers, self.runner, str(var), config.drivers.timeout, self.hooks)
        self.scheduler = Scheduler(self.db, self.engine, config.scheduler.interval, config.scheduler.max_dispatch,
                                   config.scheduler.max_per_host)
        self.monitor = Monitor(self.db, self.engine, self.drivers, self.monitor_runner, config.monitor.host_interval,
                               config.monitor.vm_interval, config.drivers.timeout, on_host_ready=self.scheduler.wake)
        self.table = methods.build(self)
        self.scripts = ScriptHooks(self.db, self._documents(), config.hooks.timeout, ssh=config.hooks.ssh)
        sync_config_hooks(self.db, {"VM": config.hooks.vm, "HOST": config.hooks.host})
        self.hook_objects_changed()
        app = RPCApp(self._call, config.api.max_request_bytes)
        self.api = APIServer(app, config.api)

    def _documents(self) -> dict[str, Callable[[int], str]]:
        """The XML of a VM or host as one.vm.info / one.host.info give it, for script hooks' $TEMPLATE."""
        admin = Principal(0, 0, "oneadmin", frozenset({0}))
        vm_info, host_info = self.table.methods["one.vm.info"].handler, self.table.methods["one.host.info"].handler
        return {"VM": lambda vm_id: str(vm_info(admin, vm_id, False)), "HOST": lambda host_id: str(host_info(admin, host_id, False))}

    def hook_objects_changed(self) -> None:
        """Script hooks (one.hook.*) were created, updated or deleted: run them from now on, or stop listening."""
        self.hooks.switch(self.scripts, "scripts", self.scripts.changed())

    def _call(self, name: str, params: tuple[Any, ...]) -> list[Any]:
        """One API call; the hooks hear of it when one listens (``api_call_done``)."""
        if "api_call_done" not in self.hooks.listening:
            return dispatch(self.table, self.auth.authenticate, name, params)
        start = time.perf_counter()

        def done(method: str, caller: Principal | None, code: int, value: Any) -> None:
            uid = caller.uid if caller is not None else -1
            result = "" if isinstance(value, Document) else str(value)  # a streamed pool is not repeated
            self.hooks.notify(ApiCallDone(method, uid, code, round(time.perf_counter() - start, 6),
                                          shown_arguments(self.table, method, params), result))

        return dispatch(self.table, self.auth.authenticate, name, params, done)

    def start(self) -> None:
        self.engine.start()
        resumed = self.engine.reconcile()
        if resumed:
            log.info("resuming %d VM steps left unfinished", resumed)
        self.monitor.start()
        self.scheduler.start()
        self.api.start()
        self.hooks.notify(DaemonStarted(self.api.endpoint, str(self.config.one_auth_path)))
        self.hooks.start()  # after the API: stored events may be delivered to plugins that call it
        log.info("Nebula API at %s", self.api.endpoint)

    def stop(self) -> None:
        self.api.stop()
        self.scheduler.stop()
        self.monitor.stop()
        self.engine.stop()
        self.runner.stop()
        self.monitor_runner.stop()
        self.hooks.stop()
        self.db.dispose()


M_ARENA_MAX = -8  # glibc's mallopt parameter


def limit_malloc_arenas(arenas: int = 2) -> None:
    """Keep glibc from giving each API thread its own heap arena.

    Every thread that renders a large pool reply otherwise keeps tens of MB in an arena of its
    own, so the daemon's memory grows with the number of threads that ever served one.
    """
    try:
        ctypes.CDLL("libc.so.6").mallopt(M_ARENA_MAX, arenas)
    except (OSError, AttributeError):
        pass  # not glibc: nothing to tune


def serve(config_path: str | None = None, overrides: dict[str, dict[str, object]] | None = None) -> int:
    """Run the daemon in the foreground until SIGTERM/SIGINT; the exit code."""
    try:
        config = load_config(config_path, overrides)
    except ConfigError as exc:
        print(f"nebula: configuration error: {exc}", file=sys.stderr)
        return 2
    limit_malloc_arenas()
    logging.basicConfig(level=config.daemon.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        cloud = Cloud(config)
    except ConfigError as exc:  # found only once the database is open (the hooks of the file)
        print(f"nebula: configuration error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - a start-up failure is one line, not a traceback
        reason = " ".join(str(exc).split())  # drivers' messages span lines; the admin gets one
        print(f"nebula: cannot start: {type(exc).__name__}: {reason}", file=sys.stderr)
        return 1
    if cloud.credentials:
        log.info("created oneadmin; credentials in %s", cloud.credentials)
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    cloud.start()
    pidfile = Path(config.var_path) / "nebula.pid"
    pidfile.write_text(f"{os.getpid()}\n")
    done.wait()
    log.info("stopping")
    cloud.stop()
    pidfile.unlink(missing_ok=True)
    return 0
