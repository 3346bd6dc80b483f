"""Fixtures: a real daemon (in-process, on a free port) over each database engine.

The engines come from ``NEBULA_TEST_DBS`` (default ``sqlite,postgresql,mariadb``); each test
gets a database of its own, dropped afterwards. PostgreSQL and MariaDB are the machine's
servers at 127.0.0.1 (``.ci/run`` starts them when they are down).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy

from nebula_core.config import load
from nebula_core.daemon import Cloud

ENGINES = [e.strip() for e in os.environ.get("NEBULA_TEST_DBS", "sqlite,postgresql,mariadb").split(",") if e.strip()]
SERVERS = {
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:5432/",
    "mariadb": "mysql+pymysql://root@127.0.0.1:3306/",
}


@pytest.fixture(params=ENGINES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database on one engine."""
    engine = request.param
    if engine == "sqlite":
        yield f"sqlite:///{tmp_path}/nebula.db"
        return
    name = f"nebula_test_{uuid.uuid4().hex[:12]}"
    admin_db = "postgres" if engine == "postgresql" else ""
    admin = sqlalchemy.create_engine(SERVERS[engine] + admin_db, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        yield SERVERS[engine] + name
    finally:
        with admin.connect() as conn:
            if engine == "postgresql":
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            else:
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
        admin.dispose()


def make_config(tmp_path: Path, database_url: str, **sections: dict[str, Any]) -> Any:
    base: dict[str, dict[str, Any]] = {
        "daemon": {"var_dir": str(tmp_path / "var"), "log_level": "WARNING"},
        "database": {"url": database_url},
        "api": {"port": 0, "threads": 4},
        "scheduler": {"interval": 0.3},
        "monitor": {"host_interval": 0.3, "vm_interval": 0.3},
        "drivers": {"timeout": 3.0, "workers": 8},
        "auth": {"one_auth": str(tmp_path / "one_auth")},
    }
    for name, values in sections.items():
        base.setdefault(name, {}).update(values)
    return load(None, base)


@pytest.fixture
def cloud(tmp_path: Path, database_url: str) -> Iterator[Cloud]:
    """A running daemon; ``cloud.api.endpoint`` and the credentials in ``tmp_path/one_auth``."""
    running = Cloud(make_config(tmp_path, database_url))
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def admin_session(cloud: Cloud) -> str:
    return Path(cloud.config.one_auth_path).read_text().strip()


@pytest.fixture
def one(cloud: Cloud, admin_session: str) -> Any:
    """pyone, the real OpenNebula client, logged in as oneadmin."""
    import pyone

    return pyone.OneServer(cloud.api.endpoint, session=admin_session)


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[str]:
    """A real OpenSSH server on 127.0.0.1 and a free port, for this test alone (``make test`` installs
    openssh-server); yields the ``ssh`` command line that reaches it with a key made here."""
    import shutil
    import subprocess
    import time

    from helpers import free_port

    binary = shutil.which("sshd") or "/usr/sbin/sshd"
    if not Path(binary).exists():
        if "CI" in os.environ:
            pytest.fail("sshd is missing: make test installs openssh-server (scripts/system-packages.sh)")
        pytest.skip("sshd is not installed: run make test")
    home = tmp_path / "sshd"
    home.mkdir()
    for key in ("host_key", "client_key"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(home / key)], check=True)
    (home / "authorized_keys").write_text((home / "client_key.pub").read_text())
    Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege-separation directory
    port = free_port()
    (home / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {home / 'host_key'}\nPidFile {home / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {home / 'authorized_keys'}\nStrictModes no\nUsePAM no\nPasswordAuthentication no\n"
        "PermitRootLogin prohibit-password\nLogLevel ERROR\n")
    log = open(home / "sshd.log", "wb")  # noqa: SIM115 - sshd writes to it until the test ends
    server = subprocess.Popen([binary, "-D", "-e", "-f", str(home / "sshd_config")], stderr=log)
    command = (f"ssh -i {home / 'client_key'} -p {port} -o BatchMode=yes -o StrictHostKeyChecking=no "
               "-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=5")
    try:
        deadline = time.monotonic() + 10
        while subprocess.run([*command.split(), "127.0.0.1", "true"], capture_output=True, check=False).returncode != 0:
            assert server.poll() is None, (home / "sshd.log").read_text()
            assert time.monotonic() < deadline, "sshd did not let the test's key in"
            time.sleep(0.2)
        yield command
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()
