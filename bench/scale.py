"""Scale run: dummy hosts and VMs submitted through the API by concurrent clients.

Starts a daemon as a child process on a fresh database, then prints the figures the core
issue asks for. Times are measured, never asserted.

    .venv/bin/python bench/scale.py [--hosts 1000] [--vms 10000] [--clients 8] [--db sqlite|postgresql|mariadb]
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import xmlrpc.client
from collections.abc import Callable
from pathlib import Path

SERVERS = {
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:5432/",
    "mariadb": "mysql+pymysql://root@127.0.0.1:3306/",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_database(kind: str, workdir: Path) -> tuple[str, Callable[[], None]]:
    if kind == "sqlite":
        return f"sqlite:///{workdir}/nebula.db", lambda: None
    import sqlalchemy

    name = f"nebula_bench_{uuid.uuid4().hex[:8]}"
    admin = sqlalchemy.create_engine(SERVERS[kind] + ("postgres" if kind == "postgresql" else ""), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")

    def drop() -> None:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE {name}" + (" WITH (FORCE)" if kind == "postgresql" else ""))

    return SERVERS[kind] + name, drop


def in_parallel(clients: int, count: int, work: Callable[[xmlrpc.client.ServerProxy, int], None], endpoint: str) -> float:
    """Run work(proxy, i) for i in range(count) over ``clients`` threads; the seconds it took."""
    def worker(offset: int) -> None:
        proxy = xmlrpc.client.ServerProxy(endpoint)
        for i in range(offset, count, clients):
            work(proxy, i)

    threads = [threading.Thread(target=worker, args=(c,)) for c in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start


def latency(call: Callable[[], object], repeat: int) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.99))]


def rss_mb(pid: int, field: str = "VmHWM") -> float:
    """The daemon's resident memory: VmHWM is the peak, VmRSS the present."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_daemon(workdir: Path, url: str, port: int, api_threads: int = 8,
                 env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """``python -m nebula_core`` on ``url`` and ``port``, as every benchmark runs it: slow monitoring
    (the dummy hosts need none), big scheduler batches; its log in workdir/daemon.log."""
    config = workdir / "nebula.toml"
    config.write_text(f"""
[daemon]
var_dir = "{workdir}/var"
log_level = "WARNING"
[database]
url = "{url}"
[api]
port = {port}
threads = {api_threads}
[scheduler]
interval = 1.0
max_dispatch = 5000
max_per_host = 20
[monitor]
host_interval = 60
vm_interval = 300
[drivers]
workers = 16
[auth]
one_auth = "{workdir}/one_auth"
""")
    with open(workdir / "daemon.log", "w") as log:
        return subprocess.Popen([sys.executable, "-m", "nebula_core", "--config", str(config)], stdout=log,
                                stderr=subprocess.STDOUT, env=dict(os.environ, **(env or {})))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--vms", type=int, default=10000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "mariadb"], default="sqlite")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="nebula-bench-"))
    url, drop = make_database(args.db, workdir)
    port = free_port()
    daemon = start_daemon(workdir, url, port)
    endpoint = f"http://127.0.0.1:{port}/RPC2"
    try:
        while not (workdir / "one_auth").exists() or daemon.poll() is not None:
            if daemon.poll() is not None:
                print((workdir / "daemon.log").read_text(), file=sys.stderr)
                return 1
            time.sleep(0.1)
        session = (workdir / "one_auth").read_text().strip()
        rpc = xmlrpc.client.ServerProxy(endpoint)
        while True:
            try:
                rpc.one.system.version(session)
                break
            except OSError:
                time.sleep(0.1)
        print(f"Nebula scale run: {args.hosts} dummy hosts, {args.vms} VMs, {args.clients} clients, {args.db}")

        def add_host(proxy: xmlrpc.client.ServerProxy, i: int) -> None:
            ok = proxy.one.host.allocate(session, f"host{i:05d}", "dummy", "dummy", -1)
            assert ok[0], ok

        took = in_parallel(args.clients, args.hosts, add_host, endpoint)
        print(f"host registrations/s     {args.hosts / took:10.0f}   ({took:.1f} s)")
        start = time.perf_counter()
        while rpc.one.hostpool.info(session)[1].count("<STATE>2</STATE>") < args.hosts:
            time.sleep(0.2)
        print(f"hosts MONITORED after    {time.perf_counter() - start:10.1f} s")

        template = 'NAME = "bench" CPU = 0.1 MEMORY = 64'

        def submit(proxy: xmlrpc.client.ServerProxy, _i: int) -> None:
            ok = proxy.one.vm.allocate(session, template)
            assert ok[0], ok

        submitted = time.perf_counter()
        took = in_parallel(args.clients, args.vms, submit, endpoint)
        print(f"vm.allocate calls/s      {args.vms / took:10.0f}   ({took:.1f} s)")
        running_re = re.compile(r"<STATE>3</STATE><LCM_STATE>3</LCM_STATE>")
        first_running = None
        while True:
            pool = rpc.one.vmpool.info(session, -2, -1, -1, -1)[1]
            running = len(running_re.findall(pool))
            if running and first_running is None:
                first_running = time.perf_counter()
            if running >= args.vms:
                break
            time.sleep(1.0)  # a listing of 10,000 VMs is work for the daemon too: do not hammer it
        all_running = time.perf_counter() - submitted
        print(f"all RUNNING after        {all_running:10.1f} s from the first submit")
        print(f"placements/s             {args.vms / all_running:10.0f}   (submit to RUNNING, end to end)")

        print(f"daemon RSS, all RUNNING  {rss_mb(daemon.pid, 'VmRSS'):10.0f} MB (peak so far {rss_mb(daemon.pid):.0f} MB)")
        med, p99 = latency(lambda: rpc.one.vm.info(session, args.vms // 2), 300)
        print(f"vm.info latency          {med * 1000:10.2f} ms median, {p99 * 1000:.2f} ms p99   (peak RSS {rss_mb(daemon.pid):.0f} MB)")
        med, _ = latency(lambda: rpc.one.vmpool.info(session, -2, -1, -1, -1), 5)
        print(f"vmpool.info ({args.vms} VMs)   {med:10.3f} s median (short form, end to end; peak RSS {rss_mb(daemon.pid):.0f} MB)")
        med, _ = latency(lambda: rpc.one.vmpool.infoextended(session, -2, -1, -1, -1), 3)
        print(f"vmpool.infoextended      {med:10.3f} s median (full form)")
        print(f"daemon peak RSS          {rss_mb(daemon.pid):10.0f} MB (with the pool listings)")
    finally:
        daemon.terminate()
        try:
            daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            daemon.kill()
        drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
