"""Small helpers shared by the tests, and a daemon in a process of its own (to kill it for real)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any


def wait_for(predicate: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_daemon(tmp_path: Path, database_url: str, port: int, extra_config: str = "",
                 env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
    """``python -m nebula_core`` on ``database_url``, fast intervals, its log in tmp_path/daemon.log."""
    config = tmp_path / "nebula.toml"
    config.write_text(f"""
[daemon]
var_dir = "{tmp_path / 'var'}"
log_level = "WARNING"
[database]
url = "{database_url}"
[api]
port = {port}
[scheduler]
interval = 0.3
[monitor]
host_interval = 0.3
vm_interval = 0.3
[auth]
one_auth = "{tmp_path / 'one_auth'}"
{extra_config}
""")
    log = open(tmp_path / "daemon.log", "ab")  # noqa: SIM115 - the child writes to it after we return
    return subprocess.Popen([sys.executable, "-m", "nebula_core", "--config", str(config)], stdout=log, stderr=log,
                            env={**os.environ, **(env or {})})


def connect(tmp_path: Path, port: int) -> Any:
    """pyone logged in as oneadmin, once the daemon answers."""
    import pyone

    session = wait_for(lambda: (tmp_path / "one_auth").exists() and (tmp_path / "one_auth").read_text().strip(), what="one_auth")
    one = pyone.OneServer(f"http://127.0.0.1:{port}/RPC2", session=session)

    def answers() -> bool:
        try:
            return bool(one.system.version())
        except Exception:  # noqa: BLE001 - not up yet, whatever the reason
            return False

    wait_for(answers, timeout=30, what="the API")
    return one


def stop_daemon(daemon: subprocess.Popen[bytes]) -> None:
    daemon.send_signal(signal.SIGTERM)
    try:
        daemon.wait(timeout=15)
    except subprocess.TimeoutExpired:
        daemon.kill()
